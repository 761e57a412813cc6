//! A restore proves the file it reads: a size other than the metadata's refuses before the
//! server is touched, a SHA-256 other than the metadata's fails the run, a dump of ours cut
//! short (even at a statement boundary, even encrypted and cut at a chunk boundary with an end
//! marker appended) fails without its footer, and an encrypted container with no content is
//! refused whatever the key. `--no-verify` restores such files anyway, saying so.

use crate::common;

use std::path::{Path, PathBuf};

use common::{
    TestDb, assert_success, backup, copy_with, count_rows, database_exists, dump_file_in, out_dir,
    output_text, restore_single,
};

/// A table of 5 000 rows (about 300 KiB of SQL: several chunks of the encrypted container),
/// dumped with `extra`; the dump's path.
async fn dumped(db: &TestDb, dir: &Path, extra: &[&str]) -> PathBuf {
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(80))")
        .await;
    db.exec("INSERT INTO t SELECT seq, CONCAT('value ', seq, REPEAT('x', 40)) FROM seq_1_to_5000")
        .await;
    let mut args = vec!["single", "--database", db.name.as_str()];
    args.extend_from_slice(extra);
    assert_success(&backup(&args, dir), "backup");
    dump_file_in(dir)
}

fn target_name(db: &TestDb, tag: &str) -> String {
    format!("{}_{tag}", db.name)
}

#[tokio::test]
async fn a_file_changed_after_the_dump_fails_the_restore_unless_no_verify() {
    let db = TestDb::new("ri_sha").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "none", "--skip-encrypt"]).await;
    // Same size, one value changed: only the SHA-256 tells.
    let bad_dir = out_dir();
    let bad = copy_with(&file, bad_dir.path(), true, |b| {
        let at = b
            .windows(10)
            .position(|w| w == b"'value 77x")
            .expect("the row is in the file");
        b[at + 7] = b'8';
    });
    let target = target_name(&db, "a");
    let out = restore_single(&bad, &target, &[]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("SHA-256") && t.contains("changed after it was written"),
        "{t}"
    );
    assert!(t.contains("--no-verify"), "{t}");
    assert!(
        t.contains(&format!(
            "`{target}` is restored from that damaged file, all of it"
        )),
        "{t}"
    );

    let target_b = target_name(&db, "b");
    let out = restore_single(&bad, &target_b, &["--no-verify"]);
    assert_success(&out, "restore --no-verify of a changed file");
    assert_eq!(count_rows(&target_b, "t").await, 5000);
    super::drop_database(&target).await;
    super::drop_database(&target_b).await;
}

#[tokio::test]
async fn a_file_of_another_size_than_recorded_changes_nothing() {
    let db = TestDb::new("ri_size").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "zstd", "--skip-encrypt"]).await;
    let bad_dir = out_dir();
    let bad = copy_with(&file, bad_dir.path(), true, |b| {
        let n = b.len() / 2;
        b.truncate(n)
    });
    let target = target_name(&db, "cut");
    let out = restore_single(&bad, &target, &[]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("nothing was restored: the target is as it was") && t.contains("records"),
        "{t}"
    );
    assert!(
        !database_exists(&target).await,
        "a refused file created its target database"
    );
}

/// Cut at the last statement: the SQL is whole and parses, only the footer is missing.
#[tokio::test]
async fn our_dump_without_its_footer_fails_unless_no_verify() {
    let db = TestDb::new("ri_footer").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "none", "--skip-encrypt"]).await;
    let cut_dir = out_dir();
    let cut = copy_with(&file, cut_dir.path(), false, |b| {
        let text = String::from_utf8_lossy(b).into_owned();
        let at = text.rfind("/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE").unwrap();
        b.truncate(at);
    });
    let target = target_name(&db, "a");
    let out = restore_single(&cut, &target, &[]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("Dump completed") && t.contains("cut short"),
        "{t}"
    );

    let target_b = target_name(&db, "b");
    let out = server_restore_warns(&cut, &target_b);
    assert!(out.contains("Dump completed"), "{out}");
    super::drop_database(&target).await;
    super::drop_database(&target_b).await;
}

/// `--no-verify` without -q: the run succeeds and warns, saying what was skipped.
fn server_restore_warns(file: &Path, target: &str) -> String {
    let out = common::server()
        .sfdbtools()
        .args(["db-restore", "single", "--no-verify", "--file"])
        .arg(file)
        .args(["--target-db", target])
        .args(common::server().connection_args())
        .args(["-t", "TEST"])
        .output()
        .expect("run sfdbtools");
    assert_success(&out, "restore --no-verify");
    let t = output_text(&out);
    assert!(
        t.contains("--no-verify: the files' size and SHA-256"),
        "{t}"
    );
    t
}

/// The old container format accepts a file cut at a chunk boundary with an end marker
/// appended: the decryption cannot tell, the footer and the metadata do.
#[tokio::test]
async fn an_encrypted_dump_cut_at_a_chunk_boundary_is_refused() {
    let db = TestDb::new("ri_chunk").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "none", "-K", "rikey"]).await;
    // Header (28 bytes), then the first chunk: its length and 64 KiB + tag.
    let first_chunk_end = 28 + 4 + 65536 + 16;
    let forge = |b: &mut Vec<u8>| {
        assert!(
            b.len() > first_chunk_end + 100,
            "the dump is one chunk only"
        );
        assert_eq!(
            u32::from_be_bytes(b[28..32].try_into().unwrap()) as usize,
            65536 + 16
        );
        b.truncate(first_chunk_end);
        b.extend_from_slice(&[0; 4]);
    };
    for with_metadata in [false, true] {
        let cut_dir = out_dir();
        let cut = copy_with(&file, cut_dir.path(), with_metadata, forge);
        let target = target_name(&db, if with_metadata { "m" } else { "n" });
        let out = restore_single(&cut, &target, &["-K", "rikey"]);
        let t = output_text(&out);
        assert_eq!(out.status.code(), Some(1), "{t}");
        // Without metadata: the missing footer, or, when the cut falls inside a quoted
        // value (where depends on the names and times in the dump), the open quote; both say
        // the file was cut short.
        let why = if with_metadata {
            "nothing was restored: the target is as it was"
        } else {
            "cut short"
        };
        assert!(t.contains(why), "{t}");
        super::drop_database(&target).await;
    }
}

#[tokio::test]
async fn an_encrypted_container_without_content_is_refused_whatever_the_key() {
    let dir = out_dir();
    let empty = dir.path().join("empty.sql.enc");
    let mut bytes = b"Salted__".to_vec();
    bytes.extend_from_slice(&[7; 8 + 12]);
    bytes.extend_from_slice(&[0; 4]);
    std::fs::write(&empty, bytes).unwrap();
    let target = format!("t_ri_empty_{}", std::process::id());
    let out = restore_single(&empty, &target, &["-K", "any key at all"]);
    let t = output_text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("holds no data"), "{t}");
    assert!(!database_exists(&target).await);
    let out = common::server()
        .sfdbtools()
        .args(["-q", "verify", "-K", "whatever", "--file"])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("holds no data"),
        "{}",
        output_text(&out)
    );
}

/// A damaged first chunk fails its tag as a wrong key would: the metadata's SHA-256 tells the
/// operator that the file, not the key, is the problem.
#[tokio::test]
async fn a_damaged_encrypted_file_is_not_blamed_on_the_key() {
    let db = TestDb::new("ri_tag").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY)").await;
    db.exec("INSERT INTO t VALUES (1), (2), (3)").await;
    let dir = out_dir();
    let args = [
        "single",
        "--database",
        db.name.as_str(),
        "-c",
        "zstd",
        "-K",
        "tagkey",
    ];
    assert_success(&backup(&args, dir.path()), "backup");
    let file = dump_file_in(dir.path());
    let bad_dir = out_dir();
    let bad = copy_with(&file, bad_dir.path(), true, |b| {
        let n = b.len() - 10;
        b[n] ^= 0x20;
    });
    let target = target_name(&db, "x");
    let out = restore_single(&bad, &target, &["-K", "tagkey"]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("damaged or altered after it was written"), "{t}");
    assert!(!database_exists(&target).await);
}

/// A dump of ours restored without its metadata restores, and says what could not be
/// checked.
#[tokio::test]
async fn a_dump_without_its_metadata_says_what_was_not_checked() {
    let db = TestDb::new("ri_nometa").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "zstd", "--skip-encrypt"]).await;
    std::fs::remove_file(format!("{}.meta.json", file.display())).unwrap();
    let target = target_name(&db, "n");
    let out = common::server()
        .sfdbtools()
        .args(["db-restore", "single", "--file"])
        .arg(&file)
        .args(["--target-db", &target])
        .args(common::server().connection_args())
        .args(["-t", "TEST"])
        .output()
        .expect("run sfdbtools");
    assert_success(&out, "restore without metadata");
    let t = output_text(&out);
    assert!(
        t.contains("has no metadata") && t.contains("SHA-256 could not be compared"),
        "{t}"
    );
    assert_eq!(count_rows(&target, "t").await, 5000);
    super::drop_database(&target).await;
}

/// `--drop-target` of a database that holds the good copy, from a file damaged late: the file
/// is read to its end first, so the damage stops the restore before the drop, the target as
/// it was (a sample-database trial lost its good copy this way). Encrypted (a chunk's tag) and
/// plain (the SHA-256).
#[tokio::test]
async fn a_damaged_file_never_drops_the_good_copy() {
    let db = TestDb::new("ri_keep").await;
    // Rows zstd cannot shrink, before `t`: the encrypted file is many chunks.
    db.exec(
        "CREATE TABLE r (id INT PRIMARY KEY, b VARBINARY(200));
         INSERT INTO r SELECT seq, RANDOM_BYTES(200) FROM seq_1_to_20000",
    )
    .await;
    let dir = out_dir();
    let enc = dumped(&db, dir.path(), &["-c", "zstd", "-K", "keepkey"]).await;
    let plain_dir = out_dir();
    let plain = {
        let args = [
            "single",
            "--database",
            db.name.as_str(),
            "-c",
            "none",
            "--skip-encrypt",
        ];
        assert_success(&backup(&args, plain_dir.path()), "plain backup");
        dump_file_in(plain_dir.path())
    };
    let target = target_name(&db, "good");
    assert_success(
        &restore_single(&plain, &target, &[]),
        "the good copy's restore",
    );
    let bad_dir = out_dir();
    let bad_enc = copy_with(&enc, bad_dir.path(), true, |b| {
        let at = b.len() * 7 / 10;
        b[at] ^= 0x01;
    });
    let bad_plain = copy_with(&plain, bad_dir.path(), true, |b| {
        let at = b
            .windows(12)
            .position(|w| w == b"'value 4990x")
            .expect("a late row is in the file");
        b[at + 7] = b'8';
    });
    for (bad, extra) in [(&bad_enc, &["-K", "keepkey"][..]), (&bad_plain, &[][..])] {
        let mut args = vec!["--drop-target"];
        args.extend_from_slice(extra);
        let out = restore_single(bad, &target, &args);
        let t = output_text(&out);
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(
            t.contains("nothing was restored: the target is as it was"),
            "{t}"
        );
        assert!(!t.contains("dropped database"), "{t}");
        common::assert_same(&db.name, &target).await;
    }
    // A sound file still replaces it.
    let out = restore_single(&enc, &target, &["--drop-target", "-K", "keepkey"]);
    assert_success(&out, "--drop-target from the sound file");
    assert!(output_text(&out).contains("dropped database"));
    common::assert_same(&db.name, &target).await;
    super::drop_database(&target).await;
}

/// Another tool's dump cut short at a statement's end has no proof but its missing
/// "-- Dump completed" line: under `--drop-target` that refuses it before the drop (a trial's
/// cut mariadb-dump file replaced the good copy with part of itself, exit 0); with the line,
/// it replaces the database.
#[tokio::test]
async fn a_foreign_dump_without_its_footer_never_replaces_a_database() {
    let target = TestDb::new("ri_foreign").await;
    target
        .exec("CREATE TABLE keep (a INT); INSERT INTO keep VALUES (42)")
        .await;
    let dir = out_dir();
    let body = "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n\
                CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1),(2);\n";
    let cut = dir.path().join("cut.sql");
    std::fs::write(&cut, body).unwrap();
    let out = restore_single(&cut, &target.name, &["--drop-target"]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("does not end with a \"-- Dump completed\" line") && t.contains("--no-verify"),
        "{t}"
    );
    assert_eq!(count_rows(&target.name, "keep").await, 1, "{t}");

    let whole = dir.path().join("whole.sql");
    std::fs::write(
        &whole,
        format!("{body}-- Dump completed on 2026-12-04 22:00:00\n"),
    )
    .unwrap();
    assert_success(
        &restore_single(&whole, &target.name, &["--drop-target"]),
        "a whole foreign dump",
    );
    assert_eq!(count_rows(&target.name, "t").await, 2);
}
