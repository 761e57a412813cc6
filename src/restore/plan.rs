//! Which files a restore reads and where their databases go: from the flags and each dump's
//! metadata, its `_dmart` companion and its accounts file, all looked for next to the dump.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::run::{GrantsSource, RestoreConfig, RestoreMode};
use crate::error::{Error, Result};
use crate::metadata::Recorded;
use crate::output::pipe::TablesDone;
use crate::progress::{Event, Progress};
use crate::quote::ident;

/// Where the databases of a script go.
#[derive(Clone, Debug)]
pub enum Placement {
    /// Everything into `target`; the script's own database statements are dropped.
    Single { target: String },
    /// Each database under its own name, except `exclude`; `drop` replaces existing ones.
    All { exclude: Vec<String>, drop: bool },
}

/// One file to restore and where its databases go.
#[derive(Clone, Debug)]
pub struct FilePlan {
    pub path: PathBuf,
    pub placement: Placement,
    pub recorded: Option<Recorded>,
    /// The database the file was dumped from, when its metadata says.
    pub source: Option<String>,
    /// SQL arriving as it is made (`db-copy`), not a file: it can't be read twice, so what a
    /// restore would find by reading ahead is not looked for.
    pub stream: Option<Stream>,
}

/// What a restore knows of a stream (`db-copy`) besides its SQL: what a file's metadata
/// would tell.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Its tables (target database, table) that the source reports at least
    /// `--keys-after-rows` in size.
    pub large_tables: Vec<(String, String)>,
    /// The rows of each table the dump has finished, by the source's names.
    pub done: Arc<TablesDone>,
    /// The source's name of each target database.
    pub sources: HashMap<String, String>,
}

impl Stream {
    /// The rows of target table `db`.`table`, once the dump has finished it.
    pub fn rows(&self, db: &str, table: &str) -> Option<u64> {
        self.done.rows(self.sources.get(db)?, table)
    }
}

/// What a restore will do: the files in order, then the accounts file (`--grants`).
#[derive(Clone, Debug)]
pub struct Plan {
    pub files: Vec<FilePlan>,
    pub grants: Option<PathBuf>,
}

impl Plan {
    /// The files' paths joined with "and", for the messages that name them all.
    pub fn file_names(&self) -> String {
        self.files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// Works out which files go where, from the flags and the dump's metadata.
pub fn plan(cfg: &RestoreConfig, progress: &dyn Progress) -> Result<Plan> {
    let recorded = read_recorded(&cfg.file, progress);
    let mut files = Vec::new();
    match &cfg.mode {
        RestoreMode::Single { target } => {
            if let Some(r) = &recorded
                && r.databases().len() > 1
            {
                return Err(Error::Usage(format!(
                    "{} holds {} databases ({}): restore it with `db-restore all`",
                    cfg.file.display(),
                    r.databases().len(),
                    r.databases().join(", ")
                )));
            }
            let source = recorded.as_ref().and_then(recorded_name);
            files.push(FilePlan {
                stream: None,
                path: cfg.file.clone(),
                placement: Placement::Single {
                    target: target.clone(),
                },
                recorded,
                source,
            });
        }
        RestoreMode::All { exclude } => {
            if let Some(kind) = recorded.as_ref().and_then(|r| r.kind())
                && matches!(kind, "single" | "separated" | "primary" | "secondary")
            {
                return Err(Error::Usage(format!(
                    "{} holds one database without its name (backup type {kind}): restore it \
                     with `db-restore single --target-db NAME`",
                    cfg.file.display()
                )));
            }
            files.push(FilePlan {
                stream: None,
                path: cfg.file.clone(),
                placement: Placement::All {
                    exclude: exclude.clone(),
                    drop: cfg.drop_target,
                },
                recorded,
                source: None,
            });
        }
        RestoreMode::Primary { target, companion } => {
            let recorded_name = recorded.as_ref().and_then(recorded_name);
            let target = match (target, recorded_name.clone()) {
                (Some(t), _) => t.clone(),
                (None, Some(n)) => n,
                (None, None) => {
                    return Err(Error::Usage(format!(
                        "{} has no metadata naming its database ({}): pass --target-db NAME",
                        cfg.file.display(),
                        no_metadata_reason(&cfg.file, recorded.is_some())
                    )));
                }
            };
            if *companion && recorded.is_none() {
                return Err(Error::Usage(format!(
                    "{} has no metadata ({}), and only the metadata's database_details name \
                     its _dmart companion: pass --skip-dmart to restore this file alone, then \
                     the companion with `db-restore single --file <its dump> --target-db \
                     {target}_dmart`",
                    cfg.file.display(),
                    no_metadata_reason(&cfg.file, false),
                )));
            }
            let details = recorded
                .as_ref()
                .map(|r| r.database_details())
                .unwrap_or_default();
            files.push(FilePlan {
                stream: None,
                path: cfg.file.clone(),
                placement: Placement::Single {
                    target: target.clone(),
                },
                recorded,
                source: recorded_name,
            });
            if *companion {
                match details
                    .iter()
                    .find(|(db, _)| db.to_ascii_lowercase().ends_with("_dmart"))
                {
                    Some((db, file)) => {
                        let path = resolve_sibling(&cfg.file, file).ok_or_else(|| {
                            Error::Usage(format!(
                                "the metadata of {} names the companion {} in {file}, which is \
                                 not next to the dump (only its name is used): put it there, or pass \
                                 --skip-dmart",
                                cfg.file.display(),
                                ident(db)
                            ))
                        })?;
                        let recorded = read_recorded(&path, progress);
                        files.push(FilePlan {
                            stream: None,
                            path,
                            placement: Placement::Single {
                                target: format!("{target}_dmart"),
                            },
                            recorded,
                            source: Some(db.clone()),
                        });
                    }
                    None => progress.event(&Event::Warning(&format!(
                        "the metadata of {} records no _dmart companion (database_details); \
                         restoring the primary only",
                        cfg.file.display()
                    ))),
                }
            }
        }
    }
    let grants = match &cfg.grants {
        GrantsSource::Skip => None,
        GrantsSource::File(p) => Some(p.clone()),
        GrantsSource::Sibling => Some(grants_sibling(&cfg.file, files[0].recorded.as_ref())?),
    };
    Ok(Plan { files, grants })
}

/// The database a file was dumped from, by its metadata.
fn recorded_name(r: &Recorded) -> Option<String> {
    r.databases()
        .into_iter()
        .next()
        .or_else(|| r.database_details().into_iter().map(|(d, _)| d).next())
}

/// The accounts file of `dump` for `--grants`. It is trusted only as the dump's sibling: the
/// name its metadata records (the name alone; a directory there is not followed, since
/// whoever can edit the metadata could point it anywhere), else the docs/compat.md §3 names. For an
/// encrypted dump only an encrypted file is accepted (by its bytes): a plaintext one may have
/// been put there by someone without the key.
fn grants_sibling(dump: &Path, recorded: Option<&Recorded>) -> Result<PathBuf> {
    let dir = dump.parent().unwrap_or(Path::new(""));
    let candidates: Vec<PathBuf> = match recorded.and_then(|r| r.user_grants()) {
        Some(named) => {
            let file_name = Path::new(named).file_name().ok_or_else(|| {
                Error::Usage(format!(
                    "--grants: the metadata of {} names the accounts file {named:?}, which is \
                     not a file name: name the file with --grants-file, or restore without \
                     --grants",
                    dump.display()
                ))
            })?;
            vec![dir.join(file_name)]
        }
        None => grants_siblings(dump),
    };
    let found: Vec<&PathBuf> = candidates
        .iter()
        .filter(|p| crate::read::source::is_file(p))
        .collect();
    let Some(first) = found.first() else {
        return Err(Error::Usage(format!(
            "--grants: no accounts file next to {} (looked for {}); nothing was restored. Name \
             it with --grants-file, or restore without --grants",
            dump.display(),
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    if !is_encrypted(dump)? {
        return Ok((*first).clone());
    }
    for p in &found {
        if p.to_string_lossy().ends_with(".enc") && is_encrypted(p)? {
            return Ok((*p).clone());
        }
    }
    Err(Error::Usage(format!(
        "--grants: {} is encrypted but its accounts file {} is not; nothing was restored. A \
         plaintext accounts file next to an encrypted dump is not trusted (whoever can write \
         the directory could have put it there without the key): encrypt it with the dump's \
         key as {}.enc (`sfdbtools crypto encrypt-file`), or name it with --grants-file if you \
         vouch for its content",
        dump.display(),
        first.display(),
        first.display().to_string().trim_end_matches(".enc")
    )))
}

/// Whether a file is in the `.enc` container, by its first bytes.
fn is_encrypted(path: &Path) -> Result<bool> {
    let head = crate::read::source::head(path, crate::encrypt::MAGIC.len())
        .map_err(|e| Error::file("reading the first bytes of", path.to_owned(), e))?;
    Ok(crate::encrypt::sniff(&head))
}

/// The metadata of a dump, or None (with a warning when it exists but cannot be read).
fn read_recorded(path: &Path, progress: &dyn Progress) -> Option<Recorded> {
    match Recorded::read(path) {
        Ok(r) => r,
        Err(e) => {
            progress.event(&Event::Warning(&format!("{e}; going on without it")));
            None
        }
    }
}

/// Why a dump has no usable metadata, for messages.
fn no_metadata_reason(dump: &Path, read: bool) -> String {
    let path = Recorded::path_for(dump);
    if read {
        format!("{} names no database", path.display())
    } else if path.exists() {
        format!(
            "{} could not be read, see the warning above",
            path.display()
        )
    } else {
        format!(
            "{} does not exist: the backup was made with backup.output.save_backup_info: \
             false, or the file was moved without it",
            path.display()
        )
    }
}

/// A file named in metadata, looked for next to `dump` by its name only. A package's files
/// are written side by side and moved as a whole; the directory the metadata records is never
/// followed, so a metadata file cannot send a restore to read (and load) another file.
fn resolve_sibling(dump: &Path, named: &str) -> Option<PathBuf> {
    let name = Path::new(named).file_name()?;
    let dir = dump.parent().unwrap_or(Path::new(""));
    let beside = dir.join(name);
    beside.is_file().then_some(beside)
}

/// The grants files a dump may have next to it (docs/compat.md §3): `<name>_users.sql`, encrypted
/// or not, where `<name>` is the dump's name without `.enc`, the codec's extension and `.sql`.
pub fn grants_siblings(dump: &Path) -> Vec<PathBuf> {
    let name = dump
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut base = name.as_str();
    base = base.strip_suffix(".enc").unwrap_or(base);
    for ext in [".gz", ".zst", ".xz", ".zlib"] {
        if let Some(b) = base.strip_suffix(ext) {
            base = b;
            break;
        }
    }
    base = base.strip_suffix(".sql").unwrap_or(base);
    let dir = dump.parent().unwrap_or(Path::new(""));
    vec![
        dir.join(format!("{base}_users.sql")),
        dir.join(format!("{base}_users.sql.enc")),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_companion_is_found_only_next_to_the_dump_by_its_name() {
        let here = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let dump = here.path().join("p_20260101_000000_h.sql");
        std::fs::write(&dump, "-- x").unwrap();
        let other = elsewhere.path().join("p_dmart_20260101_000000_h.sql");
        std::fs::write(&other, "-- y").unwrap();
        let named = other.display().to_string();
        assert_eq!(super::resolve_sibling(&dump, &named), None);
        let beside = here.path().join("p_dmart_20260101_000000_h.sql");
        std::fs::write(&beside, "-- z").unwrap();
        assert_eq!(super::resolve_sibling(&dump, &named), Some(beside.clone()));
        assert_eq!(
            super::resolve_sibling(&dump, "../../p_dmart_20260101_000000_h.sql"),
            Some(beside)
        );
    }

    use super::*;

    #[test]
    fn grants_files_are_named_after_the_dump() {
        let names = |p: &str| -> Vec<String> {
            grants_siblings(Path::new(p))
                .into_iter()
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(
            names("/b/db_20260101_000000_h.sql.zst.enc"),
            [
                "/b/db_20260101_000000_h_users.sql",
                "/b/db_20260101_000000_h_users.sql.enc"
            ]
        );
        assert_eq!(names("x.sql"), ["x_users.sql", "x_users.sql.enc"]);
    }
}
