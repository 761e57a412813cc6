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
"""
import json
import os
import sys
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
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
