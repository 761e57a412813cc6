//! Files read whole (metadata, profiles, the config file, list and key files) are read only up
//! to a bound that no genuine one comes near: a length taken from the file system sizes no
//! allocation unchecked, and a path that names a device or a pipe (`/dev/zero`) ends with an
//! error instead of exhausting memory.

use std::io::{self, Read};
use std::path::Path;

/// `<dump>.meta.json`: a few hundred bytes per table; 64 MiB is 200 000 tables and more.
pub const METADATA_FILE: u64 = 64 << 20;
/// An encrypted connection profile: a few hundred bytes.
pub const PROFILE_FILE: u64 = 1 << 20;
/// The YAML config file, include and exclude lists inline.
pub const CONFIG_FILE: u64 = 16 << 20;
/// A list of database names, one a line (`--db-file`, the config's include and exclude files).
pub const LIST_FILE: u64 = 64 << 20;
/// A PEM public key (`--server-public-key-path`).
pub const KEY_FILE: u64 = 1 << 20;
/// `<dump>.verify.json`: a few hundred bytes, its list of problems capped.
pub const VERIFY_RECORD: u64 = 1 << 20;
/// The Prometheus metrics file of a backup: a few lines per database.
pub const METRICS_FILE: u64 = 16 << 20;
/// The AWS CLI's `~/.aws/credentials` or `~/.aws/config`: a few lines per profile.
pub const AWS_FILE: u64 = 16 << 20;

/// The whole of `path`, refused (`InvalidData`, saying the limit) when it holds more than
/// `limit` bytes: at most `limit + 1` bytes are ever read. `what` names the kind of file.
pub fn read_file(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let hint = file.metadata().map_or(0, |m| m.len());
    read_limited(file, hint, limit, what)
}

/// [`read_file`] of any reader, whose length is said to be `hint` (an object's size).
pub fn read_limited(source: impl Read, hint: u64, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    // The size is a hint for the allocation only when it is within the bound.
    let mut out = Vec::with_capacity(usize::try_from(hint.min(limit)).unwrap_or(0));
    source.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it holds more than {} bytes, more than any {what}: it is not one, or it is \
                 damaged",
                limit
            ),
        ));
    }
    Ok(out)
}

/// [`read_file`] as UTF-8 text.
pub fn read_text(path: &Path, limit: u64, what: &str) -> io::Result<String> {
    String::from_utf8(read_file(path, limit, what)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_within_the_bound_is_read_and_a_larger_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_file(&path, 10, "thing").unwrap(), b"0123456789");
        let e = read_file(&path, 9, "thing").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string()
                .contains("more than 9 bytes, more than any thing"),
            "{e}"
        );
        assert_eq!(read_text(&path, 10, "thing").unwrap(), "0123456789");
    }

    #[test]
    fn an_endless_device_ends_at_the_bound() {
        let e = read_file(Path::new("/dev/zero"), 1 << 20, "profile").unwrap_err();
        assert!(e.to_string().contains("more than 1048576 bytes"), "{e}");
    }
}
