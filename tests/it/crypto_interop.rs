//! Interoperability of the `.enc` container with an independent Python implementation
//! (`tests/interop/sfdb_container.py`, on the `cryptography` package), in both directions, for
//! the current (600 000) and legacy (100 000) PBKDF2 iteration counts.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sfdbtools::encrypt::{
    ContainerFormat, DecryptReader, EncryptWriter, LEGACY_ITERATIONS, Passphrase, WRITE_ITERATIONS,
    decrypt_any, open_oneshot, seal_oneshot, seal_oneshot_with_params,
};
use tempfile::TempDir;

/// Surrounding whitespace (trimmed by both sides) and non-ASCII (UTF-8 on both sides).
const PASSPHRASE: &str = "  interop pässphrase ✓ \n";

fn pass() -> Passphrase {
    Passphrase::from(PASSPHRASE)
}

/// Several chunks, the last one short.
fn payload() -> Vec<u8> {
    (0..3 * 65536 + 4567)
        .map(|i: usize| (i * 131 + i / 977) as u8)
        .collect()
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sfdb_container.py")
}

/// A missing `cryptography` package must fail the run, not skip it: a skipped interop test
/// would let a format regression through unnoticed.
fn require_python_cryptography() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| {
        match Command::new("python3")
            .args(["-c", "import cryptography"])
            .output()
        {
            Ok(out) if out.status.success() => Ok(()),
            Ok(_) => Err("the Python package `cryptography` is missing; run \
                          `pip install cryptography` (scripts/test.sh installs it)"
                .to_string()),
            Err(e) => Err(format!(
                "cannot run python3 ({e}); install Python 3 and run `pip install cryptography`"
            )),
        }
    });
    if let Err(msg) = check {
        panic!("{msg}");
    }
}

fn python(args: &[&str], input: &Path, output: &Path) {
    require_python_cryptography();
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .arg(input)
        .arg(output)
        .env("SFDB_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "sfdb_container.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn py_decrypt(format: &str, iterations: u32, data: &[u8], dir: &TempDir) -> Vec<u8> {
    let input = dir.path().join(format!("rust-{format}-{iterations}.enc"));
    let output = dir.path().join(format!("rust-{format}-{iterations}.plain"));
    fs::write(&input, data).unwrap();
    let iterations = iterations.to_string();
    python(
        &["decrypt", "--format", format, "--iterations", &iterations],
        &input,
        &output,
    );
    fs::read(output).unwrap()
}

fn py_encrypt(
    format: &str,
    iterations: u32,
    plain: &[u8],
    extra: &[&str],
    dir: &TempDir,
) -> Vec<u8> {
    let input = dir.path().join(format!("py-{format}-{iterations}.plain"));
    let output = dir.path().join(format!("py-{format}-{iterations}.enc"));
    fs::write(&input, plain).unwrap();
    let iterations = iterations.to_string();
    let mut args = vec!["encrypt", "--format", format, "--iterations", &iterations];
    args.extend_from_slice(extra);
    python(&args, &input, &output);
    fs::read(output).unwrap()
}

fn rust_chunked(plain: &[u8], iterations: u32) -> Vec<u8> {
    let mut w = if iterations == WRITE_ITERATIONS {
        EncryptWriter::new(Vec::new(), &pass()).unwrap()
    } else {
        EncryptWriter::with_params(
            Vec::new(),
            &pass(),
            rand::random(),
            rand::random(),
            iterations,
        )
        .unwrap()
    };
    w.write_all(plain).unwrap();
    w.finish().unwrap().0
}

#[test]
fn chunked_600000_both_directions() {
    let dir = TempDir::new().unwrap();
    let plain = payload();

    let ours = rust_chunked(&plain, WRITE_ITERATIONS);
    assert_eq!(py_decrypt("chunked", WRITE_ITERATIONS, &ours, &dir), plain);

    let theirs = py_encrypt("chunked", WRITE_ITERATIONS, &plain, &[], &dir);
    let mut r = DecryptReader::new(Cursor::new(&theirs), &pass()).unwrap();
    assert_eq!(r.iterations(), Some(WRITE_ITERATIONS));
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, plain);
}

#[test]
fn chunked_100000_both_directions() {
    let dir = TempDir::new().unwrap();
    let plain = payload();

    let ours = rust_chunked(&plain, LEGACY_ITERATIONS);
    assert_eq!(py_decrypt("chunked", LEGACY_ITERATIONS, &ours, &dir), plain);

    // Read back through the content-detecting path that `crypto decrypt-file` uses.
    let theirs = py_encrypt("chunked", LEGACY_ITERATIONS, &plain, &[], &dir);
    let mut out = Vec::new();
    let summary = decrypt_any(Cursor::new(&theirs), &mut out, &pass()).unwrap();
    assert_eq!(out, plain);
    assert_eq!(summary.format, ContainerFormat::Chunked);
    assert_eq!(summary.iterations, Some(LEGACY_ITERATIONS));
}

#[test]
fn oneshot_600000_both_directions() {
    let dir = TempDir::new().unwrap();
    let plain = payload();

    let ours = seal_oneshot(&plain, &pass()).unwrap();
    assert_eq!(py_decrypt("oneshot", WRITE_ITERATIONS, &ours, &dir), plain);

    let theirs = py_encrypt("oneshot", WRITE_ITERATIONS, &plain, &[], &dir);
    assert_eq!(*open_oneshot(&theirs, &pass()).unwrap(), plain);
}

#[test]
fn oneshot_100000_both_directions() {
    let dir = TempDir::new().unwrap();
    let plain = b"[profile]\nhost=db1\npassword=s3cret\n".to_vec();

    let ours = seal_oneshot_with_params(
        &plain,
        &pass(),
        rand::random(),
        rand::random(),
        LEGACY_ITERATIONS,
    )
    .unwrap();
    assert_eq!(py_decrypt("oneshot", LEGACY_ITERATIONS, &ours, &dir), plain);

    let theirs = py_encrypt("oneshot", LEGACY_ITERATIONS, &plain, &[], &dir);
    let mut out = Vec::new();
    let summary = decrypt_any(Cursor::new(&theirs), &mut out, &pass()).unwrap();
    assert_eq!(out, plain);
    assert_eq!(summary.format, ContainerFormat::OneShot);
    assert_eq!(summary.iterations, Some(LEGACY_ITERATIONS));
}

/// With the same salt and nonce both implementations must produce the same bytes, including the
/// edge cases of chunking (empty input, exact multiples of the chunk size).
#[test]
fn identical_bytes_for_fixed_salt_and_nonce() {
    let dir = TempDir::new().unwrap();
    let salt = [0x5a, 0x17, 0x00, 0xff, 0x01, 0x02, 0x03, 0x04];
    let nonce = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xfe, 0xed];
    let (salt_hex, nonce_hex) = (hex::encode(salt), hex::encode(nonce));
    let fixed = ["--salt", salt_hex.as_str(), "--nonce", nonce_hex.as_str()];
    // The iteration count is not under test here; a small one keeps the test fast.
    let iterations = 1000;
    let full = payload();
    for len in [0, 1, 65536, 2 * 65536, full.len()] {
        let plain = &full[..len];
        let mut w =
            EncryptWriter::with_params(Vec::new(), &pass(), salt, nonce, iterations).unwrap();
        w.write_all(plain).unwrap();
        let ours = w.finish().unwrap().0;
        let theirs = py_encrypt("chunked", iterations, plain, &fixed, &dir);
        assert!(ours == theirs, "chunked output differs for {len} bytes");

        let ours = seal_oneshot_with_params(plain, &pass(), salt, nonce, iterations).unwrap();
        let theirs = py_encrypt("oneshot", iterations, plain, &fixed, &dir);
        assert!(ours == theirs, "one-shot output differs for {len} bytes");
    }
}

/// A file the Go tool's `crypto encrypt-file` wrote with `SFDB_ENCRYPTION_KEY=" golden pass
/// 600k "`, which it did not trim (`tests/fixtures/go`): `crypto decrypt-file` with the same
/// environment opens it, byte for byte; the trimmed key alone cannot, and says wrong key.
#[test]
fn go_s_encrypt_file_with_an_untrimmed_environment_key_opens() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go");
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("text1000.txt");
    let decrypt = |key: &str| {
        Command::new(env!("CARGO_BIN_EXE_sfdbtools"))
            .env("SFDB_ENCRYPTION_KEY", key)
            .args(["-q", "crypto", "decrypt-file", "-i"])
            .arg(fixtures.join("o600_filecmd_envkey_untrimmed.enc"))
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap()
    };
    let ok = decrypt(" golden pass 600k ");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        fs::read(&out).unwrap(),
        fs::read(fixtures.join("text1000.txt")).unwrap()
    );
    fs::remove_file(&out).unwrap();
    let trimmed = decrypt("golden pass 600k");
    assert!(!trimmed.status.success());
    let err = String::from_utf8_lossy(&trimmed.stderr);
    assert!(err.to_lowercase().contains("wrong key"), "{err}");
    assert!(!out.exists(), "nothing written under the output's name");
}

/// A backup sealed whole as one GCM message, as pre-release builds of the old tool wrote them
/// (the one-shot layout, over the 1 MiB below which released builds use it): `verify` and
/// `db-restore` stream chunks and cannot open it, and say what it is and what opens it;
/// `crypto decrypt-file` does.
#[test]
fn a_backup_sealed_as_one_gcm_message_is_named_and_decrypt_file_opens_it() {
    let dir = TempDir::new().unwrap();
    let plain: Vec<u8> = b"INSERT INTO t VALUES (1,'a row of a pre-release backup');\n"
        .iter()
        .copied()
        .cycle()
        .take(3 << 20)
        .collect();
    let sealed = dir.path().join("prerelease.sql.enc");
    fs::write(
        &sealed,
        seal_oneshot(&plain, &Passphrase::from("pre key")).unwrap(),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sfdbtools"))
            .env("SFDB_APPS_CONFIG", "/dev/null")
            .env_remove("SFDB_ENCRYPTION_KEY")
            .env_remove("SFDB_BACKUP_ENCRYPTION_KEY")
            .args(args)
            .output()
            .unwrap()
    };
    let file = sealed.to_str().unwrap();
    let out = run(&["-q", "verify", "--file", file, "-K", "pre key"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for part in [
        "prerelease.sql.enc",
        "single GCM message",
        "pre-release",
        "crypto decrypt-file",
        "256 MiB",
    ] {
        assert!(err.contains(part), "no {part:?} in {err}");
    }
    let opened = dir.path().join("prerelease.sql");
    let args = [
        "-q",
        "crypto",
        "decrypt-file",
        "-k",
        "pre key",
        "-i",
        file,
        "-o",
    ];
    let out = run(&[&args[..], &[opened.to_str().unwrap()]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read(&opened).unwrap(), plain);
}

/// A container of only a header and an end marker is what encrypting an empty file gives,
/// and it opens with any key (no tag to check): `crypto decrypt-file` writes the empty file
/// and says so, rather than pass it off as a checked decryption.
#[test]
fn an_empty_container_decrypts_to_nothing_with_a_warning() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("empty.enc");
    let mut bytes = b"Salted__".to_vec();
    bytes.extend_from_slice(&[3; 20]);
    bytes.extend_from_slice(&[0; 4]);
    std::fs::write(&input, bytes).unwrap();
    let out = dir.path().join("empty.txt");
    let run = Command::new(env!("CARGO_BIN_EXE_sfdbtools"))
        .args(["-q", "crypto", "decrypt-file", "-k", "any key", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains("holds no data") && err.contains("could not be checked"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"");
}

/// `crypto encrypt-file` without a key asks for it twice on a terminal (a typo would make
/// the file unrecoverable); two different entries write nothing. The terminal is the pty of
/// util-linux's `script`, which passes the typed lines on.
#[test]
fn encrypt_file_asks_for_the_key_twice() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, b"hello").unwrap();
    let out = dir.path().join("out.enc");
    let run = |typed: &str| {
        let command = format!(
            "{} crypto encrypt-file -i {} -o {}",
            env!("CARGO_BIN_EXE_sfdbtools"),
            input.display(),
            out.display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env_remove("SFDB_ENCRYPTION_KEY")
            .env_remove("SFDB_BACKUP_ENCRYPTION_KEY")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run script (util-linux)");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(typed.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let differ = run("abc\nabd\n");
    let text = String::from_utf8_lossy(&differ.stdout);
    assert_eq!(differ.status.code(), Some(2), "{text}");
    assert!(
        text.contains("Encryption key again") && text.contains("differ"),
        "{text}"
    );
    assert!(!out.exists(), "a file was written with a mistyped key");

    let same = run("abc\nabc\n");
    assert!(
        same.status.success(),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    let back = dir.path().join("back.txt");
    let opened = Command::new(env!("CARGO_BIN_EXE_sfdbtools"))
        .args(["-q", "crypto", "decrypt-file", "-k", "abc", "-i"])
        .arg(&out)
        .arg("-o")
        .arg(&back)
        .output()
        .unwrap();
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    assert_eq!(std::fs::read(&back).unwrap(), b"hello");
}

/// The crypto commands' key: `-k`, else `SFDB_ENCRYPTION_KEY` (the old tool's), else
/// `SFDB_BACKUP_ENCRYPTION_KEY`, the key backups are written with (said in a note, since the
/// old tool asked instead).
#[test]
fn crypto_takes_the_backup_key_after_its_own() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in.txt");
    fs::write(&input, b"a line of a dump").unwrap();
    let crypto = |action: &str, from: &Path, to: &Path, env: &[(&str, &str)], key: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sfdbtools"));
        c.env_remove("SFDB_ENCRYPTION_KEY")
            .env_remove("SFDB_BACKUP_ENCRYPTION_KEY")
            .args(["crypto", action])
            .args(key)
            .arg("-i")
            .arg(from)
            .arg("-o")
            .arg(to);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{action} {env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let opens_with = |file: &Path, key: &str| {
        let back = dir.path().join(format!("back-{key}"));
        crypto("decrypt-file", file, &back, &[], &["-k", key]);
        assert_eq!(fs::read(&back).unwrap(), b"a line of a dump");
    };
    let by_backup_key = dir.path().join("b.enc");
    let said = crypto(
        "encrypt-file",
        &input,
        &by_backup_key,
        &[("SFDB_BACKUP_ENCRYPTION_KEY", "backups' key")],
        &[],
    );
    assert!(
        said.contains("using the key in SFDB_BACKUP_ENCRYPTION_KEY"),
        "{said}"
    );
    opens_with(&by_backup_key, "backups' key");
    let by_own_key = dir.path().join("o.enc");
    let said = crypto(
        "encrypt-file",
        &input,
        &by_own_key,
        &[
            ("SFDB_BACKUP_ENCRYPTION_KEY", "backups' key"),
            ("SFDB_ENCRYPTION_KEY", "crypto's key"),
        ],
        &[],
    );
    assert!(!said.contains("using the key"), "{said}");
    opens_with(&by_own_key, "crypto's key");
}
