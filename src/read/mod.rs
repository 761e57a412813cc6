//! Reading a backup back, the stage restore and verify share: the container and the codec are
//! detected from the bytes, never from the file name, and the SQL is streamed (a file is never
//! loaded whole).
//!
//! This module opens a file (decrypts, decompresses) and recognises a dump; `split` cuts its
//! SQL into statements the way the `mariadb` client does, `classify` tells what each one is,
//! `confine` which databases it writes into by name, `subject` which tables it is about.

pub mod classify;
pub mod confine;
pub mod source;
pub mod split;
mod sql_mode;
pub mod subject;

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::compress::{DecompressReader, open_detect};
use crate::encrypt::{DecryptReader, Passphrase, sniff};
use crate::error::{Error, Result};
use source::Source;

/// Read buffer over the file: large reads, few syscalls.
const FILE_READ_BUFFER: usize = 1 << 20;

/// The decryption slot: plain bytes, or the `.enc` container opened with the passphrase.
pub enum Decrypted<R: Read> {
    Plain(R),
    Sealed(Box<DecryptReader<R>>),
}

impl<R: BufRead> Read for Decrypted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decrypted::Plain(r) => r.read(buf),
            Decrypted::Sealed(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> BufRead for Decrypted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Decrypted::Plain(r) => r.fill_buf(),
            Decrypted::Sealed(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amt: usize) {
        match self {
            Decrypted::Plain(r) => r.consume(amt),
            Decrypted::Sealed(r) => r.consume(amt),
        }
    }
}

/// The SQL of a backup file.
pub type SqlReader = DecompressReader<Decrypted<BufReader<Source>>>;

/// Opens a backup file or object (ours, the old tool's, or plain mysqldump output, each
/// compressed and/or encrypted or not) and returns a reader of its SQL.
pub fn open(path: &Path, pass: Option<&Passphrase>) -> Result<SqlReader> {
    let file = source::open(path).map_err(|e| Error::file("opening", path.to_owned(), e))?;
    open_from(file, path, pass)
}

/// [`open`] over any byte source (`path` only names it in messages), e.g. a [`Metered`] file.
pub fn open_from<R: Read>(
    source: R,
    path: &Path,
    pass: Option<&Passphrase>,
) -> Result<DecompressReader<Decrypted<BufReader<R>>>> {
    let file_err = |action: &'static str, e: io::Error| Error::file(action, path.to_owned(), e);
    let mut reader = BufReader::with_capacity(FILE_READ_BUFFER, source);
    let encrypted = sniff(reader.fill_buf().map_err(|e| file_err("reading", e))?);
    let decrypted = match (encrypted, pass) {
        (false, _) => Decrypted::Plain(reader),
        (true, None) => {
            return Err(Error::Usage(format!(
                "{} is encrypted: pass its key with -K/--backup-key or SFDB_BACKUP_ENCRYPTION_KEY",
                path.display()
            )));
        }
        (true, Some(p)) => {
            let mut sealed = DecryptReader::new(reader, p)
                .map_err(|e| file_err("decrypting", io::Error::other(e)))?;
            // A container of only a header and an end marker opens with any key (there is no
            // tag to check) as an empty file: legal for `crypto encrypt-file` of an empty
            // file, never a backup.
            if sealed
                .fill_buf()
                .map_err(|e| file_err("decrypting", e))?
                .is_empty()
            {
                return Err(file_err(
                    "decrypting",
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the encrypted container holds no data, only its header and end \
                         marker: no key can be checked against it, and a backup is never \
                         empty; the file was cut before anything was written, or replaced",
                    ),
                ));
            }
            Decrypted::Sealed(Box::new(sealed))
        }
    };
    open_detect(decrypted).map_err(|e| file_err("detecting the compression of", e))
}

/// Bytes of SQL looked at to tell a dump from any other file.
pub const RECOGNISE_BYTES: usize = 64 << 10;

/// The first keywords of the statements a dump or a hand-written SQL script starts with.
const FIRST_KEYWORDS: &[&str] = &[
    "ALTER",
    "BEGIN",
    "COMMIT",
    "CREATE",
    "DELETE",
    "DELIMITER",
    "DROP",
    "FLUSH",
    "GRANT",
    "INSERT",
    "LOCK",
    "RENAME",
    "REPLACE",
    "REVOKE",
    "ROLLBACK",
    "SELECT",
    "SET",
    "START",
    "TRUNCATE",
    "UNLOCK",
    "UPDATE",
    "USE",
];

/// Reads the start of the SQL and refuses what is not a SQL dump (see [`not_a_dump`]), before
/// anything is done with it; returns a reader of the whole SQL again.
pub fn recognise<R: Read>(mut reader: R, path: &Path) -> Result<io::Chain<io::Cursor<Vec<u8>>, R>> {
    let mut head = Vec::new();
    (&mut reader)
        .take(RECOGNISE_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::file("reading the SQL of", path.to_owned(), e))?;
    if let Some(why) = not_a_dump(&head, head.len() < RECOGNISE_BYTES) {
        return Err(Error::Usage(format!(
            "{} is not a SQL dump: {why}. Nothing was changed: pass a dump file \
             (.sql, compressed and/or encrypted or not)",
            path.display()
        )));
    }
    Ok(io::Cursor::new(head).chain(reader))
}

/// Why `head` (the first [`RECOGNISE_BYTES`] of a file's SQL, `whole` when that is all of it)
/// is not a SQL dump; None when it is one.
///
/// A dump is text (no NUL byte) that starts, after an optional UTF-8 byte order mark, with the
/// header of ours, of mysqldump or of mariadb-dump (the old tool's files are mysqldump's), or
/// with blank space and comments (`-- `, `#`, `/* */`, MariaDB's `/*M!999999\- enable the
/// sandbox mode */`) followed by a statement that begins with a keyword of [`FIRST_KEYWORDS`],
/// possibly inside a versioned comment (`/*!40101 SET …`). That takes a hand-written script
/// too; an empty file, a binary file, or a text file such as `/etc/passwd` is refused.
pub fn not_a_dump(head: &[u8], whole: bool) -> Option<String> {
    if head.is_empty() {
        return Some("it is empty".into());
    }
    if let Some(at) = memchr::memchr(0, head) {
        return Some(format!(
            "byte {at} of its content is a NUL: binary data, not SQL text"
        ));
    }
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    const HEADERS: [&[u8]; 3] = [b"-- sfdbtools ", b"-- MySQL dump ", b"-- MariaDB dump "];
    if HEADERS.iter().any(|h| rest.starts_with(h)) {
        return None;
    }
    let no_statement = || {
        Some(if whole {
            "it holds no SQL statement, only comments".to_owned()
        } else {
            format!(
                "its first {} KiB hold no SQL statement",
                RECOGNISE_BYTES >> 10
            )
        })
    };
    loop {
        rest = rest.trim_ascii_start();
        if rest.is_empty() {
            return no_statement();
        }
        let line_comment = rest[0] == b'#'
            || (rest.starts_with(b"--") && rest.get(2).is_none_or(|c| c.is_ascii_whitespace()));
        if line_comment {
            rest = memchr::memchr(b'\n', rest).map_or(&[], |i| &rest[i + 1..]);
            continue;
        }
        if let Some(body) = rest.strip_prefix(b"/*") {
            let version = body
                .strip_prefix(b"!")
                .or_else(|| body.strip_prefix(b"M!"))
                .map(|v| v.trim_ascii_start());
            if let Some(v) = version {
                let v = &v[v.iter().take_while(|c| c.is_ascii_digit()).count()..];
                // The sandbox line is a command to the mariadb client, not a statement.
                if !v.starts_with(b"\\-") {
                    return first_keyword(v);
                }
            }
            match memchr::memmem::find(body, b"*/") {
                Some(i) => rest = &body[i + 2..],
                None if whole => return Some("it starts with a comment that never ends".into()),
                None => return no_statement(),
            }
            continue;
        }
        return first_keyword(rest);
    }
}

/// None when `text` begins with a statement keyword that starts a dump, else what it begins
/// with instead (escaped: it may be anything).
fn first_keyword(text: &[u8]) -> Option<String> {
    let text = text.trim_ascii_start();
    let word = text.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let ends = text
        .get(word)
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80));
    if word > 0 && ends {
        let keyword = std::str::from_utf8(&text[..word]).unwrap_or_default();
        if FIRST_KEYWORDS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(keyword))
        {
            return None;
        }
    }
    let line = text.split(|c| *c == b'\n').next().unwrap_or_default();
    let shown: String = String::from_utf8_lossy(&line[..line.len().min(40)])
        .escape_debug()
        .collect();
    Some(format!(
        "it starts with \"{shown}\", neither a SQL statement nor a comment"
    ))
}

/// Header lines looked at for the database a dump names.
const HEADER_LINES: usize = 8;

/// The database a dump's header comment names (`-- Host: h    Database: shop` as mysqldump
/// and mariadb-dump write it, `` Database: `shop` `` as ours does), from the first bytes of its
/// SQL: for a single-database file, the only place the file itself names its database. None
/// when the header names none (a combined file of ours) or there is no such header.
pub fn header_database(head: &[u8]) -> Option<String> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let line = head
        .split(|b| *b == b'\n')
        .take(HEADER_LINES)
        .find(|l| l.starts_with(b"-- Host: "))?;
    let line = String::from_utf8_lossy(line);
    let (_, db) = line.split_once("    Database: ")?;
    let db = db.trim_end_matches('\r').trim();
    let db = match db.strip_prefix('`').and_then(|d| d.strip_suffix('`')) {
        Some(quoted) => quoted.replace("``", "`"),
        None => db.to_owned(),
    };
    (!db.is_empty()).then_some(db)
}

/// A reader that counts the bytes passing through it (for progress, shared with other
/// threads) and optionally hashes them (for verify).
pub struct Metered<R> {
    inner: R,
    read: Arc<AtomicU64>,
    digest: Option<Arc<Mutex<Sha256>>>,
}

impl<R: Read> Metered<R> {
    pub fn new(inner: R, read: Arc<AtomicU64>, digest: Option<Arc<Mutex<Sha256>>>) -> Self {
        Metered {
            inner,
            read,
            digest,
        }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(d) = &self.digest
            && let Ok(mut d) = d.lock()
        {
            d.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Completes the SHA-256 of a whole file whose first `consumed` bytes went through `digest`
/// (a [`Metered`] reader): the bytes the reader did not get to (after a failure, or past the
/// end of what the decoders read) are read here, so the sum is the file's, comparable with
/// the metadata's.
pub fn finish_digest(path: &Path, digest: &Mutex<Sha256>, consumed: u64) -> Result<String> {
    let mut d = digest
        .lock()
        .map_err(|_| Error::Internal("the file digest was poisoned".into()))?
        .clone();
    let mut f =
        source::open_at(path, consumed).map_err(|e| Error::file("opening", path.to_owned(), e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::file("reading", path.to_owned(), e))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    Ok(hex::encode(d.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_database_of_a_single_database_file() {
        let ours = b"-- sfdbtools 0.1.0 native dump\n-- Host: vm    Database: `a``b`\n-- Server";
        assert_eq!(header_database(ours).as_deref(), Some("a`b"));
        let stock = b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n--\n\
                      -- Host: 127.0.0.1    Database: shop\r\n-- ---";
        assert_eq!(header_database(stock).as_deref(), Some("shop"));
        // A combined file of ours, mysqldump --all-databases, a script without a header.
        assert_eq!(
            header_database(b"-- sfdbtools x\n-- Host: vm    Database: \n"),
            None
        );
        assert_eq!(header_database(b"-- Host: h    Database:\n"), None);
        assert_eq!(header_database(b"CREATE TABLE t (a INT);\n"), None);
    }

    fn accepted(text: &[u8]) -> bool {
        not_a_dump(text, true).is_none()
    }

    #[test]
    fn dumps_and_sql_scripts_are_recognised() {
        for text in [
            &b"-- sfdbtools 0.1.0 native dump\n"[..],
            b"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n",
            b"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n--\n",
            b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19-11.4.2\n/*!40101 SET NAMES utf8mb4 */;\n",
            b"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n",
            b"\xEF\xBB\xBF-- notes\n\n# more\n/* a block\ncomment */\ncreate table t (id int);\n",
            b"INSERT INTO t VALUES (1);",
            b"  \r\n--\nUSE `shop`;\n",
            b"SET\tNAMES utf8mb4;",
            b"DELIMITER ;;\nCREATE PROCEDURE p() BEGIN END;;\n",
            b"-- sfdbtools user grants\n-- Server: x\nCREATE USER 'a'@'%';\n",
        ] {
            assert!(accepted(text), "{}: {:?}", String::from_utf8_lossy(text), not_a_dump(text, true));
        }
    }

    #[test]
    fn other_files_are_refused_saying_why() {
        let why = |t: &[u8]| not_a_dump(t, true).unwrap();
        assert_eq!(why(b""), "it is empty");
        assert!(why(b"CREATE\0\x01").contains("byte 6 of its content is a NUL"));
        let passwd =
            why(b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n");
        assert!(
            passwd.contains("\"root:x:0:0:root:/root:/bin/bash\""),
            "{passwd}"
        );
        assert!(why(b"-- only\n# comments\n").contains("no SQL statement"));
        assert!(why(b"/* never ends").contains("never ends"));
        // A word that only begins like a keyword, and text that is no statement.
        assert!(why(b"SETTINGS=1\n").contains("SETTINGS=1"));
        assert!(why(b"Hello, world\n").contains("Hello"));
        assert!(why(b"--not a comment\n").contains("--not"));
        // Control characters are shown escaped, never sent to the terminal.
        assert!(why(b"\x1b[2J\x07bell").contains("\\u{1b}[2J"));
        assert!(
            not_a_dump(b"-- long comment", false)
                .unwrap()
                .contains("first 64 KiB")
        );
    }
}
