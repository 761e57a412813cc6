#!/usr/bin/env python3
"""What the object storage tests ask of the test S3 server that the crate under test has no call
for: creating buckets, listing incomplete multipart uploads, setting up authentication. boto3
(a dependency of moto) talks to the server at 127.0.0.1:$S3_PORT with the keys in
$AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY.

  s3tool.py setup-auth       create an account allowed everything, print "KEY_ID SECRET", then
                             turn authentication on (every later request must be signed)
  s3tool.py mb BUCKET        create a bucket
  s3tool.py uploads BUCKET   print the incomplete multipart uploads, one "KEY UPLOAD_ID PARTS"
                             a line (PARTS: how many parts it holds so far)
  s3tool.py abort-uploads BUCKET
                             abort every incomplete multipart upload, as a lifecycle rule or
                             another tool may do behind a running backup's back
  s3tool.py du BUCKET PREFIX print "BYTES OBJECTS PARTS" of the objects under PREFIX (for
                             scripts/bench.sh; PARTS from the ETags, 1 for a single PUT)
  s3tool.py rm BUCKET PREFIX delete the objects under PREFIX
  s3tool.py put BUCKET KEY FILE PART_MIB TIMES
                             upload FILE in parts of PART_MIB, four in flight, as sfdbtools does
                             (the bench's measure of the server's own cost for the same bytes);
                             writes "PARTS_SECONDS COMPLETE_SECONDS PARTS" to the file TIMES
"""
import json
import os
import sys
import time
import urllib.request

import boto3


def client(service):
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{os.environ['S3_PORT']}",
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "setup"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "setup"),
    )


def setup_auth():
    iam = client("iam")
    iam.create_user(UserName="sfdbtools-test")
    iam.put_user_policy(
        UserName="sfdbtools-test",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="sfdbtools-test")["AccessKey"]
    # From now on moto checks every request's signature and the account's policy.
    port = os.environ["S3_PORT"]
    urllib.request.urlopen(
        urllib.request.Request(
            f"http://127.0.0.1:{port}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            # As text: a form body would not reach the handler as its data.
            headers={"Content-Type": "text/plain"},
        ),
        timeout=10,
    )
    print(key["AccessKeyId"], key["SecretAccessKey"])


def objects(bucket, prefix):
    # A Prefix holding "/" is signed as S3 checks it: scripts/moto_s3.py makes moto agree.
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        yield from page.get("Contents", [])


def du(bucket, prefix):
    size = count = parts = 0
    for o in objects(bucket, prefix):
        size += o["Size"]
        count += 1
        # A multipart object's ETag is "<md5 of the parts' md5s>-<parts>".
        tail = o["ETag"].strip('"').rpartition("-")[2]
        parts += int(tail) if "-" in o["ETag"] else 1
    print(size, count, parts)


def rm(bucket, prefix):
    s3 = client("s3")
    for o in list(objects(bucket, prefix)):
        s3.delete_object(Bucket=bucket, Key=o["Key"])


def put(bucket, key, path, part_mib, times):
    """The multipart upload as sfdbtools does it (parts of PART_MIB, four in flight, then the
    completion), timed in two: the parts, and CompleteMultipartUpload alone, which a store may
    make cost as much as the data (moto copies every part into the object)."""
    from concurrent.futures import ThreadPoolExecutor

    s3 = client("s3")
    size = int(float(part_mib) * (1 << 20))
    start = time.monotonic()
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]

    def send(number):
        with open(path, "rb") as f:
            f.seek((number - 1) * size)
            body = f.read(size)
        r = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": r["ETag"]}

    count = max(1, -(-os.path.getsize(path) // size))
    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(send, range(1, count + 1)))
    sent = time.monotonic()
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )
    done = time.monotonic()
    with open(times, "w") as f:
        print(f"{sent - start:.3f} {done - sent:.3f} {count}", file=f)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "setup-auth":
        setup_auth()
    elif cmd == "mb":
        client("s3").create_bucket(Bucket=args[0])
    elif cmd == "uploads":
        s3 = client("s3")
        listed = s3.list_multipart_uploads(Bucket=args[0])
        for u in listed.get("Uploads", []):
            parts = s3.list_parts(Bucket=args[0], Key=u["Key"], UploadId=u["UploadId"])
            print(u["Key"], u["UploadId"], len(parts.get("Parts", [])))
    elif cmd == "abort-uploads":
        s3 = client("s3")
        listed = s3.list_multipart_uploads(Bucket=args[0])
        for u in listed.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=args[0], Key=u["Key"], UploadId=u["UploadId"])
    elif cmd == "du":
        du(*args)
    elif cmd == "rm":
        rm(*args)
    elif cmd == "put":
        put(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
