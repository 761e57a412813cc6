//! Backups into an S3 bucket (`-o s3://…`, issue #22) against a real S3 API server the harness
//! starts (`common::s3_server`: moto, authentication on), a bucket per test: a dump in several
//! parts restores with zero differences; an interrupted run leaves no object (and, for SIGINT,
//! no incomplete upload); a missing bucket, wrong keys and an unreachable endpoint fail before
//! any lock, each with its own message.

use crate::common;

use common::{TestDb, assert_success, out_dir, output_text, s3_server, wait_for_rows};
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};

/// A dump of about 15 MB of SQL, uncompressed, in 5 MiB parts: three parts and the object
/// completed from them; its metadata and accounts file beside it under the prefix. Downloaded,
/// it is the file the metadata describes (size and SHA-256) and restores with zero differences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_in_several_parts_restores_with_zero_differences() {
    let s3 = s3_server();
    let db = TestDb::new("s3parts").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(255), note VARCHAR(20) NULL);
         INSERT INTO t SELECT seq, REPEAT(MD5(seq), 7), IF(seq % 7 = 0, NULL, 'ü€ ''x''')
           FROM seq_1_to_60000;
         CREATE TABLE small (id INT PRIMARY KEY, d DATETIME(6), b BLOB);
         INSERT INTO small VALUES (1, '2024-02-29 23:59:59.123456', 0x00FF0A5C27);",
    )
    .await;
    let bucket = s3.new_bucket("parts");
    let dest = format!("s3://{bucket}/nightly/run1");
    let out = s3
        .backup_command(
            &[
                "single",
                "--database",
                &db.name,
                "-C",
                "--skip-encrypt",
                "--s3-part-size",
                "5M",
                "--s3-endpoint",
                &s3.endpoint(),
            ],
            &dest,
        )
        .output()
        .unwrap();
    assert_success(&out, "backup to s3");

    let keys = s3.keys(&bucket).await;
    assert!(
        keys.iter().all(|k| k.starts_with("nightly/run1/")),
        "{keys:?}"
    );
    let dump = keys
        .iter()
        .find(|k| k.ends_with(".sql"))
        .unwrap_or_else(|| panic!("no dump among {keys:?}"));
    let meta = format!("{dump}.meta.json");
    assert!(keys.contains(&meta), "no metadata among {keys:?}");
    assert!(
        keys.iter().any(|k| k.ends_with("_users.sql")),
        "no accounts file among {keys:?}"
    );
    assert_eq!(keys.len(), 3, "{keys:?}");

    // A multipart object's ETag ends in -<parts>.
    let head = s3
        .store(&bucket)
        .head(&object_store::path::Path::from(dump.as_str()))
        .await
        .unwrap();
    let parts: usize = head
        .e_tag
        .as_deref()
        .and_then(|e| e.trim_matches('"').rsplit_once('-'))
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_else(|| panic!("not a multipart ETag: {:?}", head.e_tag));
    assert_eq!(head.size.div_ceil(5 << 20), parts as u64);
    assert!(parts >= 3, "{} bytes in {parts} parts", head.size);

    let local = out_dir();
    let file = s3.download(&bucket, dump, local.path()).await;
    s3.download(&bucket, &meta, local.path()).await;
    let metadata = common::metadata_of(&file);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(metadata["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(metadata["file"]["size_bytes"], bytes.len() as u64);
    assert_eq!(metadata["backup"]["file"], format!("s3://{bucket}/{dump}"));

    let target = TestDb::new("s3parts_back").await;
    let out = common::restore_single(&file, &target.name, &[]);
    assert_success(&out, "restore of the downloaded dump");
    common::assert_same(&db.name, &target.name).await;
}

/// `db-backup single` of `db` (its big table: about 15 parts), uncompressed, one worker, 5 MiB
/// parts, into `s3://bucket/p`: long enough to be stopped mid-upload. `extra`: more flags.
fn streaming_backup(
    s3: &common::S3Server,
    db: &str,
    bucket: &str,
    extra: &[&str],
) -> std::process::Command {
    let mut args = vec![
        "single",
        "--database",
        db,
        "-C",
        "-j",
        "1",
        "--s3-part-size",
        "5M",
    ];
    args.extend_from_slice(extra);
    s3.backup_command(&args, &format!("s3://{bucket}/p"))
}

/// SIGINT while the dump streams (the endpoint from AWS_ENDPOINT_URL this time): exit 130,
/// nothing under a final key, and the open upload aborted (no parts left stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_upload_leaves_no_object_and_no_upload() {
    let s3 = s3_server();
    let db = TestDb::new("s3int").await;
    common::create_big_table(&db).await;
    let bucket = s3.new_bucket("sigint");
    let child = streaming_backup(s3, &db.name, &bucket, &[])
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The upload starts before the first row is read: it is open from here on.
    wait_for_rows(&db.name).await;
    let out = common::interrupt(child, "-INT").await;
    assert_eq!(out.status.code(), Some(130), "{}", output_text(&out));
    assert_eq!(s3.keys(&bucket).await, Vec::<String>::new());
    assert_eq!(s3.incomplete_uploads(&bucket), Vec::<String>::new());
    common::assert_no_lock_left(&db.name, "big").await;
}

/// SIGKILL while the dump streams: nothing can run any more, yet no object appears, since only
/// CompleteMultipartUpload makes one. The upload itself stays (a bucket's lifecycle rule
/// AbortIncompleteMultipartUpload is the remedy for that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_upload_leaves_no_object() {
    let s3 = s3_server();
    let db = TestDb::new("s3kill").await;
    common::create_big_table(&db).await;
    let bucket = s3.new_bucket("sigkill");
    let endpoint = s3.endpoint();
    let child = streaming_backup(s3, &db.name, &bucket, &["--s3-endpoint", &endpoint])
        .spawn()
        .unwrap();
    wait_for_rows(&db.name).await;
    let out = common::interrupt(child, "-KILL").await;
    assert_eq!(out.status.code(), None, "killed by the signal");
    assert_eq!(s3.keys(&bucket).await, Vec::<String>::new());
    // What the SIGINT test's empty list of uploads is up against: one was open.
    assert_eq!(s3.incomplete_uploads(&bucket).len(), 1);
}

/// Runs a backup of a small database to `dest` with `env` on top of the server's keys; its
/// output, which must be a failure (exit 1) before anything was dumped.
async fn failed_backup(dest: &str, extra: &[&str], env: &[(&str, &str)]) -> String {
    let db = TestDb::new("s3err").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);")
        .await;
    let mut args = vec!["single", "--database", &db.name];
    args.extend_from_slice(extra);
    let mut cmd = s3_server().backup_command(&args, dest);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    text
}

#[tokio::test]
async fn a_missing_bucket_is_named() {
    let s3 = s3_server();
    let name = format!("sfdb-missing-{}", std::process::id());
    let text = failed_backup(
        &format!("s3://{name}/x"),
        &["--s3-endpoint", &s3.endpoint()],
        &[],
    )
    .await;
    let expected = format!("the bucket {name} does not exist at {}", s3.endpoint());
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains(&format!("s3://{name}/x/")), "{text}");
}

#[tokio::test]
async fn wrong_credentials_are_refused_as_such_and_not_shown() {
    let s3 = s3_server();
    let bucket = s3.new_bucket("creds");
    let wrong = "not-the-secret-Xy9";
    let text = failed_backup(
        &format!("s3://{bucket}/x"),
        &["--s3-endpoint", &s3.endpoint()],
        &[("AWS_SECRET_ACCESS_KEY", wrong)],
    )
    .await;
    let expected = format!("access denied by {} (SignatureDoesNotMatch)", s3.endpoint());
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains(&bucket), "{text}");
    assert!(!text.contains(wrong), "the secret was shown: {text}");
    let text = failed_backup(
        &format!("s3://{bucket}/x"),
        &["--s3-endpoint", &s3.endpoint()],
        &[("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000000")],
    )
    .await;
    assert!(text.contains("(InvalidAccessKeyId)"), "{text}");
    // A dry run tries the keys too (its probe upload is aborted: nothing is left).
    let text = failed_backup(
        &format!("s3://{bucket}/x"),
        &["--s3-endpoint", &s3.endpoint(), "--dry-run"],
        &[("AWS_SECRET_ACCESS_KEY", wrong)],
    )
    .await;
    assert!(text.contains(&expected), "{text}");
    assert_eq!(s3.keys(&bucket).await, Vec::<String>::new());
    assert_eq!(s3.incomplete_uploads(&bucket), Vec::<String>::new());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named() {
    // Port 1 on loopback: nothing listens there; the connection is refused at once, and
    // refused again on each bounded retry.
    let endpoint = "http://127.0.0.1:1";
    let text = failed_backup("s3://any-bucket/x", &["--s3-endpoint", endpoint], &[]).await;
    assert!(
        text.contains(&format!("cannot reach the S3 endpoint {endpoint}")),
        "{text}"
    );
}

/// The S3 flags are checked like any other: a part size S3 would refuse, S3 flags for a
/// directory, and the mysqldump engine (which cannot stream into a bucket) are usage errors.
#[test]
fn s3_flags_are_checked_before_anything_runs() {
    let s3 = s3_server();
    let dir = out_dir();
    let local = dir.path().to_str().unwrap();
    for (args, dest, says) in [
        (vec!["--s3-part-size", "1M"], "s3://b/x", "5M"),
        (
            vec!["--s3-region", "eu-west-1"],
            local,
            "for an s3:// destination",
        ),
        (
            vec!["--engine", "mysqldump"],
            "s3://b/x",
            "only the native engine",
        ),
    ] {
        let mut all = vec!["single", "--database", "whatever"];
        all.extend_from_slice(&args);
        let out = s3.backup_command(&all, dest).output().unwrap();
        let text = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(text.contains(says), "{args:?}: {text}");
    }
}

/// Keys, region and endpoint from the AWS CLI's files (`~/.aws/credentials`, `~/.aws/config`)
/// of the profile AWS_PROFILE names, when the environment holds no keys; a profile that
/// neither file has is a configuration error.
#[tokio::test]
async fn keys_and_endpoint_come_from_the_aws_profile_files() {
    let s3 = s3_server();
    let db = TestDb::new("s3profile").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
        .await;
    let bucket = s3.new_bucket("profile");
    let home = out_dir();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = AKIAWRONGDEFAULT0000\naws_secret_access_key = x\n\n\
             [nightly]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            s3.key_id, s3.secret
        ),
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile nightly]\nregion = eu-west-1\nendpoint_url = {}\n",
            s3.endpoint()
        ),
    )
    .unwrap();
    let run = |profile: &str| {
        s3.backup_command(
            &["single", "--database", &db.name, "--skip-encrypt"],
            &format!("s3://{bucket}/from-profile"),
        )
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("HOME", home.path())
        .env("AWS_PROFILE", profile)
        .output()
        .unwrap()
    };
    assert_success(&run("nightly"), "backup with the profile's keys");
    let keys = s3.keys(&bucket).await;
    assert!(
        keys.iter()
            .any(|k| k.starts_with("from-profile/") && k.ends_with(".sql.zst")),
        "{keys:?}"
    );
    let out = run("nosuch");
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(output_text(&out).contains("AWS_PROFILE=nosuch"));
}

/// A run that fails mid-upload (its worker's connection killed on the server) aborts the open
/// upload on its way out: exit 1, no object, no incomplete upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_aborts_its_upload() {
    use mysql_async::prelude::Queryable;
    let s3 = s3_server();
    let db = TestDb::new("s3fail").await;
    common::create_big_table(&db).await;
    let bucket = s3.new_bucket("failed");
    let endpoint = s3.endpoint();
    let mut cmd = streaming_backup(s3, &db.name, &bucket, &["--s3-endpoint", &endpoint]);
    let dump = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    let id = wait_for_rows(&db.name).await;
    let mut conn = common::server().conn(None).await;
    conn.query_drop(format!("KILL CONNECTION {id}"))
        .await
        .unwrap();
    let out = dump.await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert_eq!(s3.keys(&bucket).await, Vec::<String>::new());
    assert_eq!(s3.incomplete_uploads(&bucket), Vec::<String>::new());
}

/// A part that the store keeps refusing (its upload aborted behind the run's back, as a
/// lifecycle rule may do) fails the run after the retries, naming the object, the part and
/// its first byte: exit 1, and no object under the final key. The dump is held before its
/// rows (the table locked by another session; no snapshot lock to wait on) while the upload
/// is aborted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_part_names_the_object_and_the_byte_offset() {
    use mysql_async::prelude::Queryable;
    let s3 = s3_server();
    let db = TestDb::new("s3part").await;
    common::create_big_table(&db).await;
    let bucket = s3.new_bucket("part");
    let mut lock = db.conn().await;
    lock.query_drop("LOCK TABLES big WRITE").await.unwrap();
    let endpoint = s3.endpoint();
    let mut cmd = streaming_backup(
        s3,
        &db.name,
        &bucket,
        &["--consistency", "none", "--s3-endpoint", &endpoint],
    );
    let dump = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    common::wait_for_statement_on_big(
        &db.name,
        "STATE LIKE '%metadata lock%'",
        "the dump never waited for the locked table",
    )
    .await;
    assert!(
        !s3.upload_parts(&bucket).is_empty(),
        "the dump's upload is not open"
    );
    s3.abort_uploads(&bucket);
    lock.query_drop("UNLOCK TABLES").await.unwrap();
    let out = dump.await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(text.contains(&format!("s3://{bucket}/p/")), "{text}");
    // moto answers 500 for a part of an aborted upload (S3: 404 NoSuchUpload), which is
    // retried as any server error is, then fails the run.
    assert!(
        text.contains("uploading part 1 (from byte 0)") && text.contains("after 6 retries"),
        "{text}"
    );
    assert!(
        !text.contains("<html"),
        "a server's HTML page in the message: {text}"
    );
    assert_eq!(s3.keys(&bucket).await, Vec::<String>::new());
}
