//! Backups read straight from an S3 bucket (`db-restore`/`verify --file s3://…`, issue #22)
//! against the harness's S3 API server (moto, authentication on): no download first, the same
//! checks as for a file (size and SHA-256 against the metadata, content, zero differences),
//! and errors that say whether the object or the bucket is missing.

use crate::common;

use common::{TestDb, assert_success, output_text, s3_server};
use mysql_async::prelude::*;

/// A compressed and encrypted dump of a few MB in 5 MiB parts, restored and verified from the
/// bucket directly, over several ranges of the object: zero differences; verify's record
/// lands beside it as an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_and_verify_read_straight_from_the_bucket() {
    let s3 = s3_server();
    let db = TestDb::new("s3read").await;
    // SHA-512 hex is poorly compressible: the zstd file is still several MB.
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, h VARCHAR(128), note VARCHAR(20) NULL);
         INSERT INTO t SELECT seq, SHA2(seq, 512), IF(seq % 7 = 0, NULL, 'ü€ ''x''')
           FROM seq_1_to_80000;
         CREATE TABLE small (id INT PRIMARY KEY, d DATETIME(6), b BLOB);
         INSERT INTO small VALUES (1, '2024-02-29 23:59:59.123456', 0x00FF0A5C27);",
    )
    .await;
    let bucket = s3.new_bucket("read");
    let endpoint = s3.endpoint();
    let out = s3
        .backup_command(
            &[
                "single",
                "--database",
                &db.name,
                "-c",
                "zstd",
                "-K",
                "s3 read key",
                "--s3-part-size",
                "5M",
                "--s3-endpoint",
                &endpoint,
            ],
            &format!("s3://{bucket}/nightly"),
        )
        .output()
        .unwrap();
    assert_success(&out, "backup to s3");
    let keys = s3.keys(&bucket).await;
    let dump = keys
        .iter()
        .find(|k| k.ends_with(".sql.zst.enc"))
        .unwrap_or_else(|| panic!("no dump among {keys:?}"));
    let url = format!("s3://{bucket}/{dump}");

    let target = TestDb::new("s3read_back").await;
    let out = s3
        .command()
        .args(["-q", "db-restore", "single", "--file", &url])
        .args(["-K", "s3 read key", "--s3-endpoint", &endpoint])
        .args(["--target-db", &target.name, "-t", "TEST"])
        .args(common::server().connection_args())
        .output()
        .unwrap();
    assert_success(&out, "restore from s3");
    common::assert_same(&db.name, &target.name).await;

    let out = s3
        .command()
        .args(["verify", "--file", &url])
        .args(["-K", "s3 read key", "--s3-endpoint", &endpoint])
        .output()
        .unwrap();
    assert_success(&out, "verify from s3");
    let text = output_text(&out);
    assert!(text.contains("verified: ok"), "{text}");
    assert!(
        text.contains("sha256"),
        "the SHA-256 was not checked: {text}"
    );
    let keys = s3.keys(&bucket).await;
    assert!(
        keys.contains(&format!("{dump}.verify.json")),
        "no verify record among {keys:?}"
    );

    let out = s3
        .command()
        .args(["verify", "--file", &url, "--against", &db.name])
        .args(["-K", "s3 read key", "--s3-endpoint", &endpoint])
        .args(common::server().connection_args())
        .output()
        .unwrap();
    assert_success(&out, "verify --against from s3");
}

/// A missing object, a missing bucket and S3 flags given for a path on disk each say so, and
/// nothing is restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_or_bucket_is_named() {
    let s3 = s3_server();
    let bucket = s3.new_bucket("missing");
    let endpoint = s3.endpoint();
    let target = TestDb::new("s3missing").await;
    let restore = |url: &str| {
        s3.command()
            .args(["-q", "db-restore", "single", "--file", url])
            .args(["--s3-endpoint", &endpoint])
            .args(["--target-db", &target.name, "-t", "TEST"])
            .args(common::server().connection_args())
            .output()
            .unwrap()
    };
    let out = restore(&format!("s3://{bucket}/nope/db.sql.zst"));
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(
        text.contains(&format!("s3://{bucket}/nope/db.sql.zst")) && text.contains("no such object"),
        "{text}"
    );

    let out = restore("s3://sfdb-no-such-bucket/db.sql");
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(
        text.contains("sfdb-no-such-bucket") && text.contains("does not exist"),
        "{text}"
    );
    let mut conn = target.conn().await;
    let tables: Vec<String> = conn
        .query(format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '{}'",
            target.name
        ))
        .await
        .unwrap();
    assert!(tables.is_empty(), "{tables:?}");

    let out = s3
        .command()
        .args(["verify", "--file", "/tmp/x.sql", "--s3-endpoint", &endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(output_text(&out).contains("path on disk"));
}

/// `list` and `cleanup` on a prefix, on the S3 server whose clock runs days behind (its
/// objects are old): the set is listed with its size and databases; `cleanup --days` removes
/// its objects when older, not when younger, and never an object that is not part of a set.
/// A backup whose config cleans the same prefix afterwards removes the old set, not itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_cleanup_work_on_a_prefix() {
    use object_store::{ObjectStoreExt, PutPayload};
    let s3 = common::s3_server_in_the_past();
    let db = TestDb::new("s3clean").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        .await;
    let bucket = s3.new_bucket("clean");
    let endpoint = s3.endpoint();
    let base = format!("s3://{bucket}/base");
    let out = s3
        .backup_command(
            &["single", "--database", &db.name, "--s3-endpoint", &endpoint],
            &format!("{base}/day1"),
        )
        .env("SFDB_BACKUP_ENCRYPTION_KEY", "clean key")
        .output()
        .unwrap();
    assert_success(&out, "backup to s3");
    let old_set = s3.keys(&bucket).await;
    assert_eq!(old_set.len(), 3, "{old_set:?}");
    // Not backups: a .sql without metadata, and something else entirely.
    let store = s3.store(&bucket);
    for key in ["base/day1/notes.sql", "base/keep.txt"] {
        store
            .put(&key.into(), PutPayload::from_static(b"not a backup"))
            .await
            .unwrap();
    }

    let command = |args: &[&str]| {
        s3.command()
            .args(args)
            .args(["--s3-endpoint", &endpoint])
            .output()
            .unwrap()
    };
    let out = command(&["list", &base, "--json"]);
    assert_success(&out, "list s3://");
    let sets: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sets = sets.as_array().unwrap();
    assert_eq!(sets.len(), 1, "{sets:?}");
    let dump = old_set
        .iter()
        .find(|k| k.ends_with(".sql.zst.enc"))
        .unwrap();
    assert_eq!(sets[0]["file"], format!("s3://{bucket}/{dump}"));
    assert_eq!(sets[0]["databases"][0], db.name.as_str());
    let size = store.head(&dump.as_str().into()).await.unwrap().size;
    assert_eq!(sets[0]["size_bytes"], size);

    let all = s3.keys(&bucket).await;
    let out = command(&["cleanup", "-o", &base, "--days", "3", "--dry-run"]);
    assert_success(&out, "cleanup --dry-run");
    assert!(output_text(&out).contains(dump.as_str()));
    assert_eq!(s3.keys(&bucket).await, all, "a dry run removed objects");
    let younger = (common::S3_PAST_DAYS + 20).to_string();
    let out = command(&["cleanup", "-o", &base, "--days", &younger]);
    assert_success(&out, "cleanup of younger sets");
    assert_eq!(s3.keys(&bucket).await, all, "a younger set was removed");

    // The next night's backup, with the cleanup in the config: the old set goes, the new one
    // (as old, by this server's clock) stays.
    let config = common::out_dir();
    let config_file = config.path().join("config.yaml");
    std::fs::write(
        &config_file,
        format!(
            "backup:\n  output:\n    base_directory: {base}\n  cleanup:\n    enabled: true\n    \
             days: 3\n"
        ),
    )
    .unwrap();
    let out = s3
        .command()
        .env("SFDB_APPS_CONFIG", &config_file)
        .env("SFDB_BACKUP_ENCRYPTION_KEY", "clean key")
        .args(["db-backup", "single", "--database", &db.name, "-t", "TEST"])
        .args(["--s3-endpoint", &endpoint])
        .args(common::server().connection_args())
        .output()
        .unwrap();
    assert_success(&out, "backup with cleanup after it");
    let now = s3.keys(&bucket).await;
    for k in &old_set {
        assert!(!now.contains(k), "{k} was not removed: {now:?}");
    }
    for k in ["base/day1/notes.sql", "base/keep.txt"] {
        assert!(now.contains(&k.to_owned()), "{k} was removed: {now:?}");
    }
    let new_sets: Vec<&String> = now.iter().filter(|k| !old_set.contains(k)).collect();
    assert_eq!(
        new_sets.len(),
        5,
        "the new set (3) and the two others: {now:?}"
    );
    assert!(
        output_text(&out).contains(dump.as_str()),
        "the removal is not reported: {}",
        output_text(&out)
    );
}

/// An endpoint that is a web server but not S3 (a wrong port, say) answers "404 Not Found"
/// without S3's error code: said as such, not as a missing backup.
#[test]
fn a_web_server_that_is_not_s3_is_not_taken_for_a_missing_object() {
    let s3 = s3_server();
    let dir = common::out_dir();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut web = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "http.server did not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = s3
        .command()
        .args(["verify", "--file", "s3://bucket/nightly/db.sql.zst"])
        .args(["--s3-endpoint", &endpoint])
        .output()
        .unwrap();
    let _ = web.kill();
    let _ = web.wait();
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("does not look like an S3 endpoint"), "{text}");
    assert!(!text.contains("no such object"), "{text}");
}
