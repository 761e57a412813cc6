//! `verify`: a good file passes; every kind of damage (a flipped byte under encryption, a
//! cut compressed stream, a changed value in plain SQL, a missing footer) is refused with a
//! message saying what and where; `--against` compares a live database table by table.

use crate::common;

use std::path::{Path, PathBuf};

use common::{
    TestDb, assert_success, backup, copy_with, dump_file_in, out_dir, output_text, restore_single,
    server, verify,
};

/// A small database dumped with the given extra flags; returns the dump's path.
async fn dumped(db: &TestDb, dir: &Path, extra: &[&str]) -> PathBuf {
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40), b BLOB)")
        .await;
    db.exec(
        "INSERT INTO t SELECT seq, CONCAT('value ', seq, ' it''s'), RANDOM_BYTES(40) FROM seq_1_to_20000",
    )
    .await;
    db.exec("CREATE TABLE empty_one (x INT)").await;
    let mut args = vec!["single", "--database", db.name.as_str()];
    args.extend_from_slice(extra);
    assert_success(&backup(&args, dir), "backup");
    dump_file_in(dir)
}

#[tokio::test]
async fn a_good_encrypted_file_verifies_and_a_flipped_byte_is_refused() {
    let db = TestDb::new("vf_enc").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "zstd", "-K", "vkey"]).await;
    let out = verify(&file, &["-K", "vkey"]);
    assert_success(&out, "verify of a good file");
    let t = output_text(&out);
    assert!(t.contains("verified: ok") && t.contains("sha256"), "{t}");
    assert!(t.contains("match"), "the per-table check did not run:\n{t}");

    let bad_dir = out_dir();
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    let bad = copy_with(&file, bad_dir.path(), true, |b| b[len / 2] ^= 0x01);
    let out = verify(&bad, &["-K", "vkey"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let t = output_text(&out);
    assert!(t.contains("content") && t.contains("authentication"), "{t}");
    assert!(t.contains("the file changed after it was written"), "{t}");

    // A wrong key on an intact file is no verdict on it: exit 2, saying the file is intact,
    // and the record of the good verify stays (list would otherwise show a good backup as bad).
    let out = verify(&file, &["-K", "wrong key"]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    let t = output_text(&out);
    assert!(
        t.contains("does not open the file, and the file is intact"),
        "{t}"
    );
    let record = std::path::PathBuf::from(format!("{}.verify.json", file.display()));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(record["passed"], true, "{record}");
}

#[tokio::test]
async fn a_cut_compressed_file_is_refused() {
    let db = TestDb::new("vf_cut").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "gzip"]).await;
    assert_success(&verify(&file, &[]), "verify of a good gzip file");
    let bad_dir = out_dir();
    let bad = copy_with(&file, bad_dir.path(), true, |b| {
        let n = b.len() - 100;
        b.truncate(n)
    });
    let out = verify(&bad, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let t = output_text(&out);
    assert!(t.contains("content") && t.contains("size"), "{t}");
}

/// In plain SQL a changed byte breaks nothing structural: the SHA-256 and the table's own
/// checksum catch it, naming the table.
#[tokio::test]
async fn a_changed_value_is_caught_by_hash_and_table_checksum() {
    let db = TestDb::new("vf_plain").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "none"]).await;
    assert_success(&verify(&file, &[]), "verify of a good plain file");
    let bad_dir = out_dir();
    let bad = copy_with(&file, bad_dir.path(), true, |b| {
        let at = b
            .windows(11)
            .position(|w| w == b"'value 777 ")
            .expect("the row is in the file");
        b[at + 7] = b'8';
    });
    let out = verify(&bad, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let t = output_text(&out);
    assert!(t.contains("sha256") && t.contains("FAIL"), "{t}");
    assert!(
        t.contains(&format!("`{}`.`t`: content differs", db.name)),
        "{t}"
    );

    // Cut at a statement boundary: the SQL parses, only the missing footer shows it.
    let cut_dir = out_dir();
    let cut = copy_with(&file, cut_dir.path(), true, |b| {
        let text = String::from_utf8_lossy(b).into_owned();
        let at = text.rfind("/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE").unwrap();
        b.truncate(at);
    });
    let out = verify(&cut, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("Dump completed"),
        "{}",
        output_text(&out)
    );
}

#[tokio::test]
async fn against_compares_a_live_database_table_by_table() {
    let db = TestDb::new("vf_live").await;
    let dir = out_dir();
    let file = dumped(&db, dir.path(), &["-c", "zstd"]).await;
    let copy = TestDb::new("vf_live_copy").await;
    assert_success(&restore_single(&file, &copy.name, &[]), "restore");
    let against = |db: &str| {
        let mut args = vec!["--against".to_owned(), db.to_owned()];
        args.extend(server().connection_args());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        verify(&file, &args)
    };
    let out = against(&copy.name);
    assert_success(&out, "verify --against the restored copy");
    assert!(output_text(&out).contains("match"), "{}", output_text(&out));

    copy.exec("UPDATE t SET s = 'changed' WHERE id = 5").await;
    copy.exec("DELETE FROM empty_one").await;
    copy.exec("CREATE TABLE extra (x INT)").await;
    let out = against(&copy.name);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let t = output_text(&out);
    assert!(t.contains("content differs"), "{t}");
    assert!(t.contains("not in the backup"), "{t}");
    copy.exec("DELETE FROM t WHERE id = 6").await;
    assert!(output_text(&against(&copy.name)).contains("row count differs"));
}

/// An encrypted dump's metadata sits in clear next to it: its table checksums are keyed with
/// the passphrase, so they match no plain checksum of the same rows; with the key, `verify`
/// and `verify --against` still check them, and without it `--against` says what to pass.
#[tokio::test]
async fn an_encrypted_dump_records_keyed_checksums_that_verify_checks_with_the_key() {
    let db = TestDb::new("vf_keyed").await;
    let plain_dir = out_dir();
    let plain = dumped(&db, plain_dir.path(), &["-c", "none", "--skip-encrypt"]).await;
    let enc_dir = out_dir();
    let enc = dumped_again(&db, enc_dir.path(), &["-c", "zstd", "-K", "keyed pass"]);
    let meta = |f: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(format!("{}.meta.json", f.display())).unwrap())
            .unwrap()
    };
    let checksum = |m: &serde_json::Value| {
        m["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "t")
            .map(|t| t["checksum"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let (pm, em) = (meta(&plain), meta(&enc));
    assert!(
        pm.get("checksum_key").is_none(),
        "a plain dump keyed its checksums"
    );
    assert_eq!(em["checksum_key"]["algorithm"], "hmac-sha256", "{em}");
    assert_eq!(em["checksum_key"]["iterations"], 600000, "{em}");
    assert_eq!(checksum(&pm).len(), 32);
    assert_eq!(checksum(&em).len(), 64);
    assert_ne!(checksum(&em), checksum(&pm));
    let definitions = |m: &serde_json::Value| m["definitions"][&db.name]["table t"].clone();
    assert_ne!(
        definitions(&em),
        definitions(&pm),
        "definition digests are not keyed"
    );

    let out = verify(&enc, &["-K", "keyed pass"]);
    assert_success(&out, "verify of an encrypted dump with keyed checksums");
    assert!(output_text(&out).contains("match"), "{}", output_text(&out));

    let against = |extra: &[&str]| {
        let mut args = vec!["--against".to_owned(), db.name.clone()];
        args.extend(server().connection_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        verify(&enc, &args)
    };
    let out = against(&["-K", "keyed pass"]);
    assert_success(&out, "verify --against with the key");
    let t = output_text(&out);
    assert!(t.contains("match") && !t.contains("differs"), "{t}");
    let out = against(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("-K/--backup-key"),
        "{}",
        output_text(&out)
    );
    // A wrong key is said to be one, not read as every table differing.
    let out = against(&["-K", "not the pass"]);
    let t = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("does not open the file") && !t.contains("differs"),
        "{t}"
    );

    // A keyed checksum changed in the metadata is caught, the key being right.
    let bad_dir = out_dir();
    let bad = copy_with(&enc, bad_dir.path(), true, |_| {});
    let mut m = meta(&bad);
    for t in m["tables"].as_array_mut().unwrap() {
        if t["table"] == "t" {
            t["checksum"] = serde_json::Value::String(checksum(&pm));
        }
    }
    std::fs::write(format!("{}.meta.json", bad.display()), m.to_string()).unwrap();
    let out = verify(&bad, &["-K", "keyed pass"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("content differs"),
        "{}",
        output_text(&out)
    );
}

/// Another dump of a database [`dumped`] filled.
fn dumped_again(db: &TestDb, dir: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["single", "--database", db.name.as_str()];
    args.extend_from_slice(extra);
    assert_success(&backup(&args, dir), "backup");
    dump_file_in(dir)
}
