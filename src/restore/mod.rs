//! Restore: a dump file (ours, the old tool's, or plain mysqldump output; compressed and/or
//! encrypted or not, told from the bytes) back into a server, its data loaded over several
//! connections at once.
//!
//! `split` cuts the SQL into statements, `classify` tells what each one is, `apply` runs them:
//! definitions in order on one connection, data over N, post-data objects after the data;
//! `loads` follows each table's data to tell when its load is over.

pub mod apply;
pub mod classify;
pub mod load;
pub mod loads;
pub mod split;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::config::{GrantsSource, RestoreConfig, RestoreMode};
use crate::connect;
use crate::encrypt::Passphrase;
use crate::error::{DbError, Error, Result};
use crate::input::{self, Metered};
use crate::metadata::Recorded;
use crate::progress::{Event, Progress};
use crate::sql::ident::ident;
use apply::{Applied, Applier, Item, Options, Placement, Survey};

/// The server's answer to CREATE USER for an account that exists.
const ER_CANNOT_USER: u16 = 1396;

/// One file to restore and where its databases go.
#[derive(Clone, Debug)]
pub struct FilePlan {
    pub path: PathBuf,
    pub placement: Placement,
    pub recorded: Option<Recorded>,
}

/// What a restore will do: the files in order, then the grants file.
#[derive(Clone, Debug)]
pub struct Plan {
    pub files: Vec<FilePlan>,
    pub grants: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub applied: Applied,
    pub elapsed: Duration,
}

/// `--dry-run`: what one file holds and the state of its targets.
#[derive(Clone, Debug)]
pub struct DryRunFile {
    pub path: PathBuf,
    pub survey: Survey,
    /// Target database, and how many objects it holds now (None: it does not exist).
    pub targets: Vec<(String, Option<u64>)>,
}

#[derive(Clone, Debug, Default)]
pub struct RestoreReport {
    pub ticket: String,
    pub files: Vec<FileReport>,
    pub grants: Option<FileReport>,
    pub dry_run: Vec<DryRunFile>,
}

impl RestoreReport {
    /// The databases written to, in order.
    pub fn databases(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for f in &self.files {
            for d in &f.applied.databases {
                if !all.contains(d) {
                    all.push(d.clone());
                }
            }
        }
        all
    }

    /// Statements that failed under `--continue-on-error`.
    pub fn failures(&self) -> usize {
        self.files
            .iter()
            .chain(&self.grants)
            .map(|f| f.applied.failures.len())
            .sum()
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
            files.push(FilePlan {
                path: cfg.file.clone(),
                placement: Placement::Single {
                    target: target.clone(),
                },
                recorded,
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
                path: cfg.file.clone(),
                placement: Placement::All {
                    exclude: exclude.clone(),
                    drop: cfg.drop_target,
                },
                recorded,
            });
        }
        RestoreMode::Primary { target, companion } => {
            let recorded_name = recorded.as_ref().and_then(|r| {
                r.databases()
                    .into_iter()
                    .next()
                    .or_else(|| r.database_details().into_iter().map(|(d, _)| d).next())
            });
            let target = match (target, recorded_name) {
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
                path: cfg.file.clone(),
                placement: Placement::Single {
                    target: target.clone(),
                },
                recorded,
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
                                 not there: put it next to the dump, or pass --skip-dmart",
                                cfg.file.display(),
                                ident(db)
                            ))
                        })?;
                        let recorded = read_recorded(&path, progress);
                        files.push(FilePlan {
                            path,
                            placement: Placement::Single {
                                target: format!("{target}_dmart"),
                            },
                            recorded,
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
        GrantsSource::Sibling => {
            let recorded = files[0]
                .recorded
                .as_ref()
                .and_then(|r| r.user_grants())
                .and_then(|g| resolve_sibling(&cfg.file, g));
            recorded.or_else(|| grants_siblings(&cfg.file).into_iter().find(|p| p.is_file()))
        }
    };
    Ok(Plan { files, grants })
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

/// A file named in metadata: as written if it exists, else the same name next to `dump`
/// (backup sets get moved as a whole).
fn resolve_sibling(dump: &Path, named: &str) -> Option<PathBuf> {
    let as_written = PathBuf::from(named);
    if as_written.is_absolute() && as_written.is_file() {
        return Some(as_written);
    }
    let dir = dump.parent().unwrap_or(Path::new(""));
    let beside = dir.join(as_written.file_name()?);
    beside.is_file().then_some(beside)
}

/// The grants files a dump may have next to it (compat §3): `<name>_users.sql`, encrypted
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

/// The target databases a configuration names, for messages.
pub fn targets_note(cfg: &RestoreConfig) -> String {
    match &cfg.mode {
        RestoreMode::Single { target } => {
            format!("database {} may be partially restored", ident(target))
        }
        RestoreMode::Primary {
            target: Some(t), ..
        } => format!(
            "databases {} and {} may be partially restored",
            ident(t),
            ident(&format!("{t}_dmart"))
        ),
        _ => "the databases of the file may be partially restored".into(),
    }
}

/// A script being read: its statements, the bytes of the file read so far and in all, and
/// whether row statements come with their LOAD DATA form (see [`apply::start_reader`]).
struct Script {
    rx: tokio::sync::mpsc::Receiver<Item>,
    read: Arc<AtomicU64>,
    bytes: u64,
    rows_as_load: Arc<AtomicBool>,
}

/// Opens a file's SQL on a blocking thread (the key derivation takes a while) and starts
/// the splitter over it.
async fn open_script(
    path: &Path,
    pass: Option<&Passphrase>,
    rows_as_load: bool,
    no_backslash_escapes: bool,
) -> Result<Script> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::file("opening", path.to_owned(), e))?
        .len();
    let read = Arc::new(AtomicU64::new(0));
    let (p, pass, c) = (path.to_owned(), pass.cloned(), read.clone());
    let reader = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&p).map_err(|e| Error::file("opening", p.clone(), e))?;
        input::open_from(Metered::new(file, c, None), &p, pass.as_ref())
    })
    .await
    .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))??;
    let rows_as_load = Arc::new(AtomicBool::new(rows_as_load));
    Ok(Script {
        rx: apply::start_reader(reader, path, rows_as_load.clone(), no_backslash_escapes)?,
        read,
        bytes,
        rows_as_load,
    })
}

/// Runs a restore as configured.
pub async fn run(cfg: &RestoreConfig, progress: Arc<dyn Progress>) -> Result<RestoreReport> {
    let plan = plan(cfg, progress.as_ref())?;
    if let GrantsSource::File(p) = &cfg.grants
        && !p.is_file()
    {
        return Err(Error::Usage(format!(
            "the grants file {} does not exist",
            p.display()
        )));
    }
    let (mut main, _) =
        connect::open_with(&cfg.connection, "restore", connect::restore_setup_sql).await?;
    let result = run_plan(cfg, &plan, &mut main, progress).await;
    let _ = main.disconnect().await;
    result
}

async fn run_plan(
    cfg: &RestoreConfig,
    plan: &Plan,
    main: &mut Conn,
    progress: Arc<dyn Progress>,
) -> Result<RestoreReport> {
    check_packet_size(main, plan).await?;
    let nbe = server_no_backslash_escapes(main).await?;
    check_function_creators(main, cfg, plan, nbe).await?;
    let mut report = RestoreReport {
        ticket: cfg.ticket.clone(),
        ..Default::default()
    };
    let opts = Options {
        threads: cfg.threads,
        skip_binlog: cfg.skip_binlog,
        strict: cfg.strict,
        continue_on_error: cfg.continue_on_error,
    };
    // Databases written so far, for the message when a later step fails.
    let mut touched: Vec<String> = Vec::new();
    for f in &plan.files {
        let Script {
            rx,
            read: counter,
            bytes,
            rows_as_load,
        } = open_script(&f.path, cfg.passphrase.as_ref(), !cfg.dry_run, nbe).await?;
        if cfg.dry_run {
            report.dry_run.push(dry_run_file(main, f, rx).await?);
            continue;
        }
        let started = Instant::now();
        let targets = match &f.placement {
            Placement::Single { target } => vec![target.clone()],
            Placement::All { .. } => {
                let mut dbs = f
                    .recorded
                    .as_ref()
                    .map(|r| r.databases())
                    .unwrap_or_default();
                if let RestoreMode::All { exclude } = &cfg.mode {
                    dbs.retain(|d| !exclude.iter().any(|e| e.eq_ignore_ascii_case(d)));
                }
                dbs
            }
        };
        progress.event(&Event::RestoreStarted {
            file: &f.path,
            bytes,
            targets: &targets,
        });
        if let Placement::Single { target } = &f.placement {
            apply::prepare_target(main, target, cfg.drop_target, true)
                .await
                .map_err(|e| partial(e, &touched, 0))?;
            touched.push(target.clone());
        }
        let applier = Applier::start(
            &f.path,
            main,
            &cfg.connection,
            f.placement.clone(),
            opts,
            progress.as_ref(),
            counter,
            rows_as_load,
        )
        .await
        .map_err(|e| partial(e, &touched, 0))?;
        let (applied, result) = applier.run(rx).await;
        for db in &applied.databases {
            if !touched.contains(db) {
                touched.push(db.clone());
            }
        }
        if let Err(e) = result {
            return Err(partial(e, &touched, applied.statements));
        }
        if !applied.completed_marker {
            progress.event(&Event::Warning(&format!(
                "{} does not end with a \"-- Dump completed\" line: if it is a dump, it may \
                 have been cut short (run `sfdbtools verify`)",
                f.path.display()
            )));
        }
        progress.event(&Event::FileRead {
            file: &f.path,
            statements: applied.statements,
            rows: applied.rows,
            elapsed: started.elapsed(),
        });
        report.files.push(FileReport {
            path: f.path.clone(),
            applied,
            elapsed: started.elapsed(),
        });
    }
    if let Some(g) = &plan.grants {
        let started = Instant::now();
        let Script { rx, .. } = open_script(g, cfg.passphrase.as_ref(), false, nbe).await?;
        if cfg.dry_run {
            report.dry_run.push(DryRunFile {
                path: g.clone(),
                survey: apply::survey(rx, g).await?,
                targets: Vec::new(),
            });
        } else {
            let applied = apply_grants(main, g, rx, opts, progress.as_ref())
                .await
                .map_err(|e| partial(e, &touched, 0))?;
            report.grants = Some(FileReport {
                path: g.clone(),
                applied,
                elapsed: started.elapsed(),
            });
        }
    }
    Ok(report)
}

/// Says what a failed restore left behind.
fn partial(e: Error, touched: &[String], statements: u64) -> Error {
    if touched.is_empty() {
        return e;
    }
    let names: Vec<String> = touched.iter().map(|d| ident(d)).collect();
    Error::Restore {
        source: Box::new(e),
        state: format!(
            "{} {} partially restored ({statements} statement(s) of the failed file applied): \
             drop {}, or restore again with --drop-target",
            if names.len() == 1 {
                "database"
            } else {
                "databases"
            },
            names.join(", ") + if names.len() == 1 { " is" } else { " are" },
            if names.len() == 1 { "it" } else { "them" }
        ),
    }
}

/// Whether the restore's sessions start under NO_BACKSLASH_ESCAPES (the server's default
/// sql_mode, which the restore keeps): the splitter must read the script as they will.
async fn server_no_backslash_escapes(main: &mut Conn) -> Result<bool> {
    let mode: Option<String> = main
        .query_first("SELECT @@SESSION.sql_mode")
        .await
        .map_err(|e| Error::server("reading the session's sql_mode", e))?;
    Ok(mode.is_some_and(|m| {
        m.split(',')
            .any(|f| f.trim().eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"))
    }))
}

/// Functions named in the refusal, at most.
const NAMED_FUNCTIONS: usize = 5;

/// Refuses, before anything on the target changes, files holding a stored function the server
/// will refuse: with a binary log on and `log_bin_trust_function_creators=0`, a function that
/// declares none of DETERMINISTIC, NO SQL, READS SQL DATA fails with ERROR 1418 for every
/// account (SUPER and `--skip-binlog` included), and it comes after the data in a dump.
///
/// Our dumps' metadata lists such functions; only a file without that list (mysqldump output,
/// older dumps) is read once before the restore to find them, and only on such a server: the
/// splitter alone, no server round trips.
async fn check_function_creators(
    main: &mut Conn,
    cfg: &RestoreConfig,
    plan: &Plan,
    nbe: bool,
) -> Result<()> {
    let settings: Option<(Option<u8>, Option<u8>)> = main
        .query_first("SELECT @@log_bin, @@log_bin_trust_function_creators")
        .await
        .map_err(|e| Error::server("reading log_bin and log_bin_trust_function_creators", e))?;
    if settings != Some((Some(1), Some(0))) {
        return Ok(());
    }
    for f in &plan.files {
        let recorded = f
            .recorded
            .as_ref()
            .and_then(|r| r.functions_needing_trust());
        let (found, first) = match recorded {
            Some(list) => (
                list.into_iter().map(|r| r.routine).collect::<Vec<_>>(),
                "its metadata lists a function".to_owned(),
            ),
            None => {
                let found = scan_functions_needing_trust(f, cfg, nbe).await?;
                let first = found
                    .first()
                    .map(|(_, at)| format!("{at} creates a function"))
                    .unwrap_or_default();
                (found.into_iter().map(|(n, _)| n).collect(), first)
            }
        };
        if found.is_empty() {
            continue;
        }
        let mut names: Vec<String> = found
            .iter()
            .take(NAMED_FUNCTIONS)
            .map(|n| ident(n))
            .collect();
        if found.len() > NAMED_FUNCTIONS {
            names.push(format!("and {} more", found.len() - NAMED_FUNCTIONS));
        }
        return Err(Error::Unsupported(format!(
            "{}: {first} without DETERMINISTIC, NO SQL or READS SQL DATA ({} such function(s): \
             {}); the target server has the binary log on and \
             log_bin_trust_function_creators=0, so it refuses them (ERROR 1418) whatever the \
             account's privileges, and with --skip-binlog too. Nothing was changed. Run SET \
             GLOBAL log_bin_trust_function_creators=1 on the target, or add DETERMINISTIC, NO \
             SQL or READS SQL DATA to the functions, then restore again (with \
             log_bin_trust_function_creators=0 an account without SUPER cannot create any \
             function or trigger either: ERROR 1419)",
            f.path.display(),
            found.len(),
            names.join(", ")
        )));
    }
    Ok(())
}

/// Reads a file to its end and returns the functions ERROR 1418 would refuse, with where each
/// stands.
async fn scan_functions_needing_trust(
    f: &FilePlan,
    cfg: &RestoreConfig,
    nbe: bool,
) -> Result<Vec<(String, split::Position)>> {
    let Script { mut rx, .. } = open_script(&f.path, cfg.passphrase.as_ref(), false, nbe).await?;
    let mut found = Vec::new();
    loop {
        match rx.recv().await {
            Some(Item::Statement(st, classify::Kind::PostData, ..)) => {
                if let Some(name) = classify::function_without_determinism(&st.sql) {
                    found.push((name, st.at));
                }
            }
            Some(Item::Statement(..)) => {}
            Some(Item::End { .. }) => return Ok(found),
            Some(Item::Failed(e)) => return Err(e),
            None => {
                return Err(Error::Internal(format!(
                    "the splitter of {} stopped without reporting",
                    f.path.display()
                )));
            }
        }
    }
}

/// Whether a statement recorded as `largest` bytes fits a server's `max_allowed_packet`. The
/// recorded size counts its `;\n`; it is sent without them, after one command byte, and the
/// server takes a packet shorter than the limit (measured on MariaDB 10.11: 16 MiB - 1 bytes
/// pass a 16 MiB limit, 16 MiB fail). So `largest` may equal the limit: a dump made with
/// `--statement-size 16M` restores on a server left at the default 16 MiB, as with the stock
/// client. (The margin of 1 KiB this had made our own restore refuse such a dump.)
fn fits_packet(largest: u64, limit: u64) -> bool {
    largest <= limit
}

/// Refuses early when a file holds a statement the server would refuse as too large.
async fn check_packet_size(main: &mut Conn, plan: &Plan) -> Result<()> {
    let limit: Option<u64> = main
        .query_first("SELECT @@max_allowed_packet")
        .await
        .map_err(|e| Error::server("reading max_allowed_packet", e))?;
    let Some(limit) = limit else { return Ok(()) };
    for f in &plan.files {
        if let Some(largest) = f.recorded.as_ref().and_then(|r| r.max_statement_bytes())
            && !fits_packet(largest, limit)
        {
            return Err(Error::Unsupported(format!(
                "the largest statement of {} is {largest} bytes, but the server's \
                 max_allowed_packet is {limit}: raise it (SET GLOBAL max_allowed_packet = {}) \
                 before restoring",
                f.path.display(),
                (largest + 1024).next_power_of_two()
            )));
        }
    }
    Ok(())
}

async fn dry_run_file(
    main: &mut Conn,
    f: &FilePlan,
    rx: tokio::sync::mpsc::Receiver<Item>,
) -> Result<DryRunFile> {
    let survey = apply::survey(rx, &f.path).await?;
    let names: Vec<String> = match &f.placement {
        Placement::Single { target } => vec![target.clone()],
        Placement::All { exclude, .. } => survey
            .databases
            .iter()
            .filter_map(|(db, ..)| db.clone())
            .filter(|d| !exclude.iter().any(|e| e.eq_ignore_ascii_case(d)))
            .collect(),
    };
    let mut targets = Vec::new();
    for n in names {
        let objects = apply::database_objects(main, &n).await?;
        targets.push((n, objects));
    }
    Ok(DryRunFile {
        path: f.path.clone(),
        survey,
        targets,
    })
}

/// Applies a grants file in order on one connection. An account that exists already is
/// reported and its grants applied anyway.
async fn apply_grants(
    main: &mut Conn,
    path: &Path,
    mut rx: tokio::sync::mpsc::Receiver<Item>,
    opts: Options,
    progress: &dyn Progress,
) -> Result<Applied> {
    let mut out = Applied::default();
    loop {
        let Some(item) = rx.recv().await else {
            return Err(Error::Internal(format!(
                "the splitter of {} stopped without reporting",
                path.display()
            )));
        };
        let st = match item {
            Item::Failed(e) => return Err(e),
            Item::End {
                completed,
                sql_bytes,
            } => {
                out.completed_marker = completed;
                out.sql_bytes = sql_bytes;
                return Ok(out);
            }
            Item::Statement(st, ..) => st,
        };
        match main.query_drop(st.sql.as_slice()).await {
            Ok(()) => out.statements += 1,
            Err(e) => {
                let e = DbError(e);
                let text = String::from_utf8_lossy(&st.sql[..st.sql.len().min(200)]).into_owned();
                if e.server_code() == Some(ER_CANNOT_USER)
                    && text.to_ascii_uppercase().starts_with("CREATE USER")
                {
                    progress.event(&Event::Warning(&format!(
                        "{}: {}: {e}; the account exists, its grants are applied",
                        path.display(),
                        st.at
                    )));
                    out.skipped += 1;
                    continue;
                }
                let err = Error::Statement {
                    file: path.to_owned(),
                    statement: st.at.number,
                    line: st.at.line,
                    offset: st.at.offset,
                    problem: e.to_string(),
                };
                if !opts.continue_on_error || e.is_connection_lost() {
                    return Err(err);
                }
                let text = err.to_string();
                progress.event(&Event::Warning(&text));
                out.failures.push(text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
