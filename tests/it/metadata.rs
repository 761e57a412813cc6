//! The metadata as a reader of the old tool's files reads it (docs/compat.md §4): its keys with
//! the old tool's types, and the old tool's texts for sizes, durations and times; the host of
//! a socket connection; the server's name in the file name.

use crate::common;

use common::{TestDb, assert_success, dump_file_in, metadata_of, out_dir, server};
use mysql_async::prelude::*;
use serde::Deserialize;

/// The old tool's reader (its `BackupMetadata.UnmarshalJSON`, grouped form), with Go's types:
/// a key of another type fails the whole file there, and the old restore then has no metadata.
#[derive(Deserialize)]
#[allow(dead_code)]
struct OldReader {
    backup: OldBackup,
    time: OldTime,
    file: OldFile,
    source: OldSource,
    generator: OldGenerator,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct OldBackup {
    file: String,
    #[serde(rename = "type")]
    kind: String,
    status: String,
    databases: Vec<String>,
    excluded_databases: Vec<String>,
    exclude_data: bool,
}

#[derive(Deserialize)]
struct OldTime {
    start_time: String,
    end_time: String,
    duration: String,
}

#[derive(Deserialize)]
struct OldFile {
    size_bytes: i64,
    size_human: String,
}

#[derive(Deserialize)]
struct OldSource {
    hostname: String,
    host: String,
    port: i32,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct OldGenerator {
    generated_by: String,
    generated_at: String,
}

/// Over the server's socket: `source.host` is `localhost` (a path is no host to connect to),
/// the path is `source.socket`; the file is named after `@@hostname`; sizes, durations and
/// times have the old tool's shapes.
#[tokio::test]
async fn metadata_reads_as_the_old_tools() {
    let Some(dir) = &server().dir else {
        return; // an external server's socket is not ours to know
    };
    let socket = dir.join("mysqld.sock");
    let db = TestDb::new("meta_old").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s TEXT); INSERT INTO t VALUES (1, REPEAT('x', 5000))",
    )
    .await;
    let out_dir = out_dir();
    let out = server()
        .sfdbtools()
        .args(["-q", "db-backup", "single", "--database", &db.name])
        .args(["-c", "none", "-t", "TEST", "--user", &server().user])
        .arg("--socket")
        .arg(&socket)
        .arg("-o")
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_success(&out, "dump over the socket");
    let file = dump_file_in(out_dir.path());
    let meta = metadata_of(&file);
    let old: OldReader = serde_json::from_value(meta.clone())
        .unwrap_or_else(|e| panic!("the old reader cannot read it: {e}\n{meta:#}"));

    let hostname: String = server()
        .conn(None)
        .await
        .query_first("SELECT @@hostname")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.source.hostname, hostname);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(&format!("_{hostname}.sql")), "{name}");
    assert_eq!(old.source.host, "localhost");
    assert!(old.source.port > 0);
    assert_eq!(meta["source"]["socket"], socket.display().to_string());

    // go-humanize: powers of 1000, `kB`, one decimal below 10.
    let size = (old.file.size_bytes as f64 / 1000.0 * 10.0 + 0.5).floor() / 10.0;
    assert!((5.0..10.0).contains(&size), "{size}");
    assert_eq!(old.file.size_human, format!("{size:.1} kB"));
    let words: Vec<&str> = old.time.duration.split(' ').collect();
    assert!(
        words.len() == 6
            && [words[1], words[3], words[5]] == ["jam", "menit", "detik"]
            && [words[0], words[2], words[4]]
                .iter()
                .all(|n| n.parse::<u64>().is_ok()),
        "{}",
        old.time.duration
    );
    assert!(meta["duration_ms"].is_u64(), "{meta:#}");
    for t in [&old.time.start_time, &old.time.end_time] {
        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap();
    }
    // Go's RFC 3339: a fraction without trailing zeros, `Z` for UTC.
    let at = &old.generator.generated_at;
    chrono::DateTime::parse_from_rfc3339(at).unwrap_or_else(|e| panic!("{at}: {e}"));
    let zone_at = at.rfind(['Z', '+', '-']).unwrap();
    let seconds = &at[..zone_at];
    assert!(!seconds.ends_with('0') || !seconds.contains('.'), "{at}");
    assert!(!at.ends_with("+00:00"), "{at}");
}
