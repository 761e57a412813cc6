//! What a file proves as a restore reads it (unless `--no-verify`): its size before the
//! server is touched, its SHA-256 at the end, both against its metadata, and for a dump of
//! ours the completion footer.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Sha256;

use crate::error::{Error, Result};
use crate::metadata::Recorded;
use crate::read;

/// What a file must prove as it is read (unless `--no-verify`): its size and SHA-256 as its
/// metadata records them, and, for a dump of ours, the completion footer. A file cut at a
/// chunk boundary of the encrypted container, or a copy damaged in storage, reads as a
/// plausible script; only these tell.
#[derive(Clone, Debug, Default)]
pub(super) struct Proof {
    size: Option<u64>,
    pub(super) sha256: Option<String>,
    /// The metadata file, for messages.
    metadata: PathBuf,
    footer: bool,
}

impl Proof {
    /// Nothing to prove: `--no-verify`, or an accounts file (which has no metadata or footer).
    pub(super) fn none() -> Proof {
        Proof::default()
    }

    /// The checks for a dump and its metadata, when it has some.
    pub(super) fn of(dump: &Path, recorded: Option<&Recorded>) -> Proof {
        Proof {
            size: recorded.and_then(Recorded::file_size),
            sha256: recorded.and_then(|r| r.sha256()).map(str::to_owned),
            metadata: Recorded::path_for(dump),
            footer: true,
        }
    }

    /// Before anything is read: the size, so a cut file changes nothing on the server.
    pub(super) fn check_size(&self, path: &Path, size: u64) -> Result<()> {
        match self.size {
            Some(want) if want != size => Err(Error::Integrity {
                file: path.to_owned(),
                problem: format!(
                    "the file is {size} byte(s), its metadata ({}) records {want}: it was cut \
                     short or changed after it was written. Use a good copy (`sfdbtools verify` \
                     checks one), or pass --no-verify to restore this one as it is",
                    self.metadata.display()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// A file that could not be opened (a failed tag reads as a wrong key, a damaged
    /// compressed header as an unknown format): when its SHA-256 is not the recorded one, the
    /// error says so, since the cause is then the file, not the key or the format.
    pub(super) fn explain(
        &self,
        path: &Path,
        e: Error,
        digest: &Mutex<Sha256>,
        consumed: u64,
    ) -> Error {
        match self.sha256_mismatch(path, digest, consumed) {
            Ok(Some((found, want))) => Error::Integrity {
                file: path.to_owned(),
                problem: format!(
                    "{e}; but its SHA-256 is {found} and its metadata ({}) records {want}: \
                     the file was damaged or altered after it was written, which is the likely \
                     cause. Use a good copy (`sfdbtools verify` checks one)",
                    self.metadata.display()
                ),
            },
            _ => e,
        }
    }

    /// The file's SHA-256 and the recorded one, when they differ; the bytes the reader did
    /// not get to are hashed here (see `read::finish_digest`).
    fn sha256_mismatch(
        &self,
        path: &Path,
        digest: &Mutex<Sha256>,
        consumed: u64,
    ) -> Result<Option<(String, &str)>> {
        let Some(want) = &self.sha256 else {
            return Ok(None);
        };
        let found = read::finish_digest(path, digest, consumed)?;
        Ok((!found.eq_ignore_ascii_case(want)).then_some((found, want.as_str())))
    }

    /// At the end of the SQL: the footer of our dumps, then the SHA-256 of the whole file.
    pub(super) fn check_end(
        &self,
        path: &Path,
        ours: bool,
        completed: bool,
        sql_bytes: u64,
        hashed: Option<(&Mutex<Sha256>, u64)>,
    ) -> Result<()> {
        if let Some((digest, consumed)) = hashed
            && let Some((found, want)) = self.sha256_mismatch(path, digest, consumed)?
        {
            return Err(Error::Integrity {
                file: path.to_owned(),
                problem: format!(
                    "its SHA-256 is {found}, its metadata ({}) records {want}: the file \
                     changed after it was written (damaged in storage or in a copy, or \
                     altered); restore a good copy (`sfdbtools verify` checks one), or pass \
                     --no-verify to accept this one",
                    self.metadata.display()
                ),
            });
        }
        if self.footer && ours && !completed {
            return Err(Error::Integrity {
                file: path.to_owned(),
                problem: format!(
                    "the dump ends after {sql_bytes} byte(s) of SQL without the \"-- Dump \
                     completed\" footer every sfdbtools dump ends with: it was cut short (a \
                     full disk, an interrupted copy); restore a complete copy (`sfdbtools \
                     verify` checks one), or pass --no-verify to accept a cut dump"
                ),
            });
        }
        Ok(())
    }
}
