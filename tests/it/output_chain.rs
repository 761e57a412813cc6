//! The output chain end to end: damaged encrypted dumps refused, and the crypto commands'
//! round trip. (Every codec × encryption through a dump of the fidelity corpus is in
//! `serial/corpus.rs`.)

use crate::common;

use std::io::Read;
use std::path::Path;

use common::{TestDb, assert_success, backup, dump_file_in, out_dir};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;

const KEY: &str = "correct horse battery staple";

fn read_sql(file: &Path, key: Option<&str>) -> std::io::Result<Vec<u8>> {
    let pass = key.map(|k| Passphrase::new(Secret::new(k)));
    let mut reader = sfdbtools::read::open(file, pass.as_ref()).map_err(std::io::Error::other)?;
    let mut sql = Vec::new();
    reader.read_to_end(&mut sql)?;
    Ok(sql)
}

#[tokio::test]
async fn damaged_encrypted_dumps_are_refused() {
    let src = TestDb::new("damage").await;
    src.exec("CREATE TABLE t (id INT PRIMARY KEY, pad TEXT); INSERT INTO t SELECT seq, REPEAT(MD5(seq), 20) FROM seq_1_to_5000").await;
    let dir = out_dir();
    let out = backup(
        &["single", "--database", &src.name, "-c", "none", "-K", KEY],
        dir.path(),
    );
    assert_success(&out, "encrypted dump");
    let file = dump_file_in(dir.path());
    let bytes = std::fs::read(&file).unwrap();
    assert!(read_sql(&file, Some(KEY)).is_ok());

    let wrong = read_sql(&file, Some("wrong key")).unwrap_err().to_string();
    assert!(
        wrong.contains("wrong key or not an sfdbtools file"),
        "{wrong}"
    );
    let missing = read_sql(&file, None).unwrap_err().to_string();
    assert!(missing.contains("encrypted"), "{missing}");

    let damaged = dir.path().join("damaged.enc");
    let check = |content: &[u8], expect: &str| {
        std::fs::write(&damaged, content).unwrap();
        let err = read_sql(&damaged, Some(KEY)).expect_err(expect).to_string();
        assert!(
            err.to_lowercase().contains(expect),
            "expected {expect:?} in: {err}"
        );
    };
    // Cut the end marker off: the file looks complete at a chunk boundary but is not.
    check(&bytes[..bytes.len() - 4], "end marker");
    let mut garbage = bytes.clone();
    garbage.extend_from_slice(b"trailing");
    check(&garbage, "after");
    let mut flipped = bytes.clone();
    let middle = bytes.len() / 2;
    flipped[middle] ^= 1;
    check(&flipped, "chunk");
}

#[test]
fn crypto_commands_round_trip_a_file() {
    let dir = out_dir();
    let plain = dir.path().join("plain.txt");
    let content: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(&plain, &content).unwrap();
    let enc = dir.path().join("plain.txt.enc");
    let back = dir.path().join("back.txt");
    let bin = env!("CARGO_BIN_EXE_sfdbtools");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .env("SFDB_ENCRYPTION_KEY", "k3y")
            .args(args)
            .output()
            .unwrap()
    };
    let p = |p: &Path| p.to_string_lossy().into_owned();
    assert_success(
        &run(&[
            "-q",
            "crypto",
            "encrypt-file",
            "-i",
            &p(&plain),
            "-o",
            &p(&enc),
        ]),
        "encrypt-file",
    );
    assert_eq!(&std::fs::read(&enc).unwrap()[..8], b"Salted__");
    assert_success(
        &run(&[
            "-q",
            "crypto",
            "decrypt-file",
            "-i",
            &p(&enc),
            "-o",
            &p(&back),
        ]),
        "decrypt-file",
    );
    assert_eq!(std::fs::read(&back).unwrap(), content);
    let wrong = std::process::Command::new(bin)
        .env("SFDB_ENCRYPTION_KEY", "nope")
        .args([
            "-q",
            "crypto",
            "decrypt-file",
            "-i",
            &p(&enc),
            "-o",
            &p(&dir.path().join("x")),
        ])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong key"));
    assert!(
        !dir.path().join("x").exists(),
        "no output may be left after a failure"
    );
}
