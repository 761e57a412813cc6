//! Restore: a dump file (ours, the old tool's, or plain mysqldump output; compressed and/or
//! encrypted or not, told from the bytes) back into a server, its data loaded over several
//! connections at once.
//!
//! `split` cuts the SQL into statements, `classify` tells what each one is, `apply` runs them:
//! definitions in order on one connection, data over N, post-data objects after the data;
//! `loads` follows each table's data to tell when its load is over.

pub mod accounts;
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

use crate::config::run::{GrantsSource, RestoreConfig, RestoreMode};
use crate::connect;
use crate::encrypt::Passphrase;
use crate::error::{Error, Result};
use crate::input::{self, Metered};
use crate::metadata::Recorded;
use crate::progress::{Event, Progress};
use crate::quote::ident;
use accounts::{AccountsFile, AccountsReport};
use apply::{Applied, Applier, Item, Options, Placement, Survey};

/// One file to restore and where its databases go.
#[derive(Clone, Debug)]
pub struct FilePlan {
    pub path: PathBuf,
    pub placement: Placement,
    pub recorded: Option<Recorded>,
    /// The database the file was dumped from, when its metadata says.
    pub source: Option<String>,
}

/// What a restore will do: the files in order, then the accounts file (`--grants`).
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
    /// The accounts created and left alone (also with `--dry-run`).
    pub accounts: Option<AccountsReport>,
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
            let source = recorded.as_ref().and_then(recorded_name);
            files.push(FilePlan {
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
/// whoever can edit the metadata could point it anywhere), else the compat §3 names. For an
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
    let found: Vec<&PathBuf> = candidates.iter().filter(|p| p.is_file()).collect();
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
    use std::io::Read;
    let mut head = Vec::with_capacity(crate::encrypt::MAGIC.len());
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(crate::encrypt::MAGIC.len() as u64)
                .read_to_end(&mut head)
        })
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

/// A file's SQL, opened (decrypted, decompressed) and recognised as a dump, not yet read.
struct Opened {
    path: PathBuf,
    reader: Box<dyn std::io::Read + Send>,
    read: Arc<AtomicU64>,
    bytes: u64,
}

/// Opens a file's SQL on a blocking thread (the key derivation takes a while) and checks that
/// it is a dump: done for every file before the server is touched, so a wrong `--file` (a
/// binary, `/etc/passwd`) changes nothing there.
async fn open_sql(path: &Path, pass: Option<&Passphrase>) -> Result<Opened> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::file("opening", path.to_owned(), e))?
        .len();
    let read = Arc::new(AtomicU64::new(0));
    let (p, pass, c) = (path.to_owned(), pass.cloned(), read.clone());
    let reader = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&p).map_err(|e| Error::file("opening", p.clone(), e))?;
        let sql = input::open_from(Metered::new(file, c, None), &p, pass.as_ref())?;
        let sql: Box<dyn std::io::Read + Send> = Box::new(input::recognise(sql, &p)?);
        Ok::<_, Error>(sql)
    })
    .await
    .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))??;
    Ok(Opened {
        path: path.to_owned(),
        reader,
        read,
        bytes,
    })
}

/// Starts the splitter over an opened file.
fn start_script(opened: Opened, rows_as_load: bool, no_backslash_escapes: bool) -> Result<Script> {
    let rows_as_load = Arc::new(AtomicBool::new(rows_as_load));
    Ok(Script {
        rx: apply::start_reader(
            opened.reader,
            &opened.path,
            rows_as_load.clone(),
            no_backslash_escapes,
        )?,
        read: opened.read,
        bytes: opened.bytes,
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
    let mut opened = Vec::with_capacity(plan.files.len());
    for f in &plan.files {
        opened.push(open_sql(&f.path, cfg.passphrase.as_ref()).await?);
    }
    let grants = match &plan.grants {
        Some(g) => Some(open_sql(g, cfg.passphrase.as_ref()).await?),
        None => None,
    };
    let (mut main, _) =
        connect::open_with(&cfg.connection, "restore", connect::restore_setup_sql).await?;
    let result = run_plan(cfg, &plan, opened, grants, &mut main, progress).await;
    let _ = main.disconnect().await;
    result
}

async fn run_plan(
    cfg: &RestoreConfig,
    plan: &Plan,
    opened: Vec<Opened>,
    grants: Option<Opened>,
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
    // The accounts file is read and checked whole before anything changes: a file it refuses,
    // or a server where the accounts cannot be told apart, stops the restore here.
    let accounts = match (&plan.grants, grants) {
        (Some(g), Some(opened)) => {
            let mut file = read_accounts(g, opened, nbe).await?;
            let repointed = retarget(cfg, plan, &mut file, progress.as_ref())?;
            let existing = accounts::existing(main, &file).await?;
            Some((file, repointed, existing))
        }
        _ => None,
    };
    let opts = Options {
        threads: cfg.threads,
        skip_binlog: cfg.skip_binlog,
        strict: cfg.strict,
        continue_on_error: cfg.continue_on_error,
        confirm_drop: cfg.confirm_drop.clone(),
    };
    // Databases written so far, for the message when a later step fails, and those of them
    // this restore created.
    let mut touched: Vec<String> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for (f, opened) in plan.files.iter().zip(opened) {
        let Script {
            rx,
            read: counter,
            bytes,
            rows_as_load,
        } = start_script(opened, !cfg.dry_run, nbe)?;
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
            let prepared = apply::prepare_target(
                main,
                target,
                cfg.drop_target,
                true,
                opts.confirm_drop.as_ref(),
                progress.as_ref(),
            )
            .await;
            match prepared {
                Ok(fresh) => {
                    touched.push(target.clone());
                    if fresh {
                        created.push(target.clone());
                    }
                }
                Err(e) => return Err(failed(main, e, &touched, &created, 0).await),
            }
        }
        let applier = Applier::start(
            &f.path,
            main,
            &cfg.connection,
            f.placement.clone(),
            opts.clone(),
            progress.as_ref(),
            counter,
            rows_as_load,
        )
        .await;
        let applier = match applier {
            Ok(a) => a,
            Err(e) => return Err(failed(main, e, &touched, &created, 0).await),
        };
        let (applied, result) = applier.run(rx).await;
        for db in &applied.databases {
            if !touched.contains(db) {
                touched.push(db.clone());
            }
        }
        created.extend(applied.created.iter().cloned());
        if let Err(e) = result {
            return Err(failed(main, e, &touched, &created, applied.statements).await);
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
    if let Some((file, repointed, existing)) = accounts {
        let started = Instant::now();
        let mut outcome = if cfg.dry_run {
            accounts::plan(&file, &existing)
        } else {
            // Again: the data took a while, and accounts may have come since.
            let existing = accounts::existing(main, &file)
                .await
                .map_err(|e| partial(e, &touched, 0))?;
            let (applied, outcome) =
                accounts::apply(main, &file, existing, opts, progress.as_ref())
                    .await
                    .map_err(|e| partial(e, &touched, 0))?;
            report.grants = Some(FileReport {
                path: file.path.clone(),
                applied,
                elapsed: started.elapsed(),
            });
            outcome
        };
        outcome.repointed = repointed;
        report.accounts = Some(outcome);
    }
    Ok(report)
}

/// Reads an accounts file whole and checks its statements.
async fn read_accounts(path: &Path, opened: Opened, nbe: bool) -> Result<AccountsFile> {
    let Script { mut rx, .. } = start_script(opened, false, nbe)?;
    let mut statements = Vec::new();
    loop {
        match rx.recv().await {
            Some(Item::Statement(st, ..)) => statements.push(st),
            Some(Item::End { .. }) => break,
            Some(Item::Failed(e)) => return Err(e),
            None => {
                return Err(Error::Internal(format!(
                    "the splitter of {} stopped without reporting",
                    path.display()
                )));
            }
        }
    }
    AccountsFile::check(path, statements, nbe)
}

/// A file restored under another name than it was dumped from leaves the accounts file's
/// grants naming the source database. With `--grants-to-target` they are re-pointed at the
/// target (returned: source, target, how many); without it the run says so.
fn retarget(
    cfg: &RestoreConfig,
    plan: &Plan,
    file: &mut AccountsFile,
    progress: &dyn Progress,
) -> Result<Vec<(String, String, usize)>> {
    let renamed: Vec<(Option<&String>, &String)> = plan
        .files
        .iter()
        .filter_map(|f| match &f.placement {
            Placement::Single { target } if f.source.as_ref() != Some(target) => {
                Some((f.source.as_ref(), target))
            }
            _ => None,
        })
        .collect();
    if cfg.grants_to_target {
        let mut pairs = Vec::new();
        for (source, target) in &renamed {
            let Some(source) = source else {
                return Err(Error::Usage(format!(
                    "--grants-to-target: the metadata of {} does not name the database the dump \
                     was made from, so its grants cannot be re-pointed at {}; nothing was \
                     restored. Restore without --grants-to-target, or correct the grants file \
                     and pass it with --grants-file",
                    cfg.file.display(),
                    ident(target)
                )));
            };
            pairs.push(((*source).clone(), (*target).clone()));
        }
        let counts = file.repoint(&pairs);
        return Ok(pairs
            .into_iter()
            .zip(counts)
            .map(|((s, t), n)| (s, t, n))
            .collect());
    }
    for (source, target) in renamed {
        let message = match source {
            Some(source) => match file.grants_on(source) {
                0 => continue,
                n => format!(
                    "accounts file {}: {n} grant(s) name database {}, the one the dump was made \
                     from, not {} where it is restored: they are restored as they are and give \
                     no access to {}; pass --grants-to-target to make them on {} instead",
                    file.path.display(),
                    ident(source),
                    ident(target),
                    ident(target),
                    ident(target)
                ),
            },
            None => {
                let named = file.databases_named(std::slice::from_ref(target));
                if named.is_empty() {
                    continue;
                }
                format!(
                    "accounts file {}: its grants name {}, not {} where the dump is restored \
                     (its metadata does not say which database it was made from): they are \
                     restored as they are and give no access to {}",
                    file.path.display(),
                    named
                        .iter()
                        .map(|d| ident(d))
                        .collect::<Vec<_>>()
                        .join(", "),
                    ident(target),
                    ident(target)
                )
            }
        };
        progress.event(&Event::Warning(&message));
    }
    Ok(Vec::new())
}

/// Drops the databases this restore created that hold nothing (it failed before any table
/// or routine was made in them), then says what the failed restore left behind: a failure
/// never leaves an empty database of its own making.
async fn failed(
    main: &mut Conn,
    e: Error,
    touched: &[String],
    created: &[String],
    statements: u64,
) -> Error {
    let mut removed = Vec::new();
    for db in created {
        if let Ok(Some(0)) = apply::database_objects(main, db).await
            && main
                .query_drop(format!("DROP DATABASE IF EXISTS {}", ident(db)))
                .await
                .is_ok()
        {
            removed.push(db.clone());
        }
    }
    let left: Vec<String> = touched
        .iter()
        .filter(|d| !removed.contains(d))
        .cloned()
        .collect();
    let e = partial(e, &left, statements);
    if removed.is_empty() {
        return e;
    }
    let note = format!(
        "the empty database(s) this restore had created were removed again: {}",
        removed
            .iter()
            .map(|d| ident(d))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match e {
        Error::Restore { source, state } => Error::Restore {
            source,
            state: format!("{state}; {note}"),
        },
        e => Error::Restore {
            source: Box::new(e),
            state: note,
        },
    }
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
    let opened = open_sql(&f.path, cfg.passphrase.as_ref()).await?;
    let Script { mut rx, .. } = start_script(opened, false, nbe)?;
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
