//! The plan of a run, before any engine starts: connect, select the databases, name the files,
//! read the accounts, create the directory. The dry run is this phase alone, reported.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};
use mysql_async::Conn;

use super::finish::KeyedChecksums;
use super::{PlannedFile, RunContext, naming};
use crate::catalog::{self, survey};
use crate::config::run::{BackupConfig, BackupMode, Engine};
use crate::connect;
use crate::error::{Error, Result};
use crate::grants::{self, GrantsExport};
use crate::metadata::TableRef;
use crate::progress::{Event, Progress, TableEstimate};
use crate::quote::ident;
use crate::select::{self, select_databases};

fn plan_files(
    cfg: &BackupConfig,
    databases: &[String],
    hostname: &str,
    at: &DateTime<Local>,
) -> Result<Vec<PlannedFile>> {
    let encrypted = cfg.passphrase.is_some();
    if let Some(pipe) = &cfg.pipe {
        return Ok(vec![PlannedFile {
            path: pipe.name().clone(),
            databases: databases.to_vec(),
        }]);
    }
    let custom = cfg
        .filename
        .as_deref()
        .map(|f| naming::custom_file(f, cfg.codec, encrypted))
        .transpose()?;
    if cfg.mode.is_combined() {
        let name = custom.unwrap_or_else(|| {
            naming::combined_file(
                matches!(cfg.mode, BackupMode::All),
                cfg.exclude_data,
                at,
                hostname,
                databases.len(),
                cfg.codec,
                encrypted,
            )
        });
        return Ok(vec![PlannedFile {
            path: cfg.output_dir.join(name),
            databases: databases.to_vec(),
        }]);
    }
    Ok(databases
        .iter()
        .enumerate()
        .map(|(i, db)| {
            let name = match (&custom, i) {
                (Some(c), 0) => c.clone(),
                _ => {
                    naming::database_file(db, cfg.exclude_data, at, hostname, cfg.codec, encrypted)
                }
            };
            PlannedFile {
                path: cfg.output_dir.join(name),
                databases: vec![db.clone()],
            }
        })
        .collect())
}

/// What both engines do before dumping: connect, select, name the files, read the accounts,
/// create the directory. The control connection comes back apart from the run: the native
/// engine opens its snapshot on it, the mysqldump engine closes it.
pub(crate) async fn prepare(
    cfg: &BackupConfig,
    progress: &dyn Progress,
) -> Result<(Conn, RunContext)> {
    match &cfg.bucket {
        None if !cfg.dry_run && cfg.pipe.is_none() => check_writable(&cfg.output_dir)?,
        None => {}
        // In a dry run too: the probe upload is aborted and leaves nothing, and a dry run is
        // how a new cron line's keys, bucket and endpoint get tried.
        Some(b) => b.check_writable().await?,
    }
    let started = cfg.names_at.unwrap_or_else(Local::now);
    let (mut control, info) = connect::open(&cfg.connection, "control").await?;
    if let Some(w) = cfg.connection.plaintext_warning() {
        progress.event(&Event::Warning(&w));
    }

    let all = catalog::list_databases(&mut control).await?;
    let mut selection = select_databases(&all, cfg)?;
    if !selection.unknown.is_empty() && !cfg.allow_missing {
        let names: Vec<String> = selection.unknown.iter().map(|n| ident(n)).collect();
        let (what, verb) = match names.len() {
            1 => ("database", "does"),
            _ => ("databases", "do"),
        };
        return Err(Error::Usage(format!(
            "{what} {} named by --db, --db-file or the config's include list {verb} not exist \
             on the server; check the name with SHOW DATABASES, or pass --allow-missing to back \
             up the others; nothing was written",
            names.join(", ")
        )));
    }
    for name in &selection.unknown {
        progress.event(&Event::Warning(&format!(
            "database {} was asked for but does not exist on the server (--allow-missing)",
            ident(name)
        )));
    }
    if cfg.exclude_empty {
        let mut empty = Vec::new();
        for db in &selection.databases {
            if survey::count_tables(&mut control, db).await? == 0 {
                empty.push(db.clone());
            }
        }
        selection.retain(|db| !empty.iter().any(|e| e == db));
    }
    if selection.databases.is_empty() {
        return Err(Error::Usage(
            "no database selected: nothing to back up (check the names and the exclude rules)"
                .into(),
        ));
    }
    let tables = super::selection::plan(&mut control, cfg, &mut selection, progress).await?;
    if selection.databases.is_empty() {
        return Err(Error::Usage(
            "no database left: --tables takes no table of the databases selected; nothing was \
             written"
                .into(),
        ));
    }

    let planned = plan_files(cfg, &selection.databases, &info.hostname, &started)?;
    let mut run = RunContext {
        cfg: cfg.clone(),
        info,
        selection,
        planned,
        grants: None,
        tables,
        checksums: None,
        rows_planned: Default::default(),
    };
    if cfg.dry_run {
        return Ok((control, run));
    }
    if let (Some(pass), Engine::Native) = (&cfg.passphrase, cfg.engine) {
        run.checksums = Some(KeyedChecksums::start(pass.clone())?);
    }
    if cfg.export_grants {
        run.grants = read_grants(&mut control, &run, progress).await?;
    }
    let planned_rows = match cfg.engine {
        Engine::Native if !cfg.exclude_data => plan_rows(&mut control, cfg, &run).await?,
        // mariadb-dump reports no rows as it goes: no total to show.
        _ => Vec::new(),
    };
    let paths: Vec<PathBuf> = run.planned.iter().map(|p| p.path.clone()).collect();
    progress.event(&Event::Plan {
        databases: &run.selection.databases,
        files: &paths,
    });
    if !planned_rows.is_empty() {
        progress.event(&Event::RowsPlanned {
            tables: &planned_rows,
        });
    }
    run.rows_planned = planned_rows
        .into_iter()
        .map(|t| ((t.database, t.table), t.rows))
        .collect();
    Ok((control, run))
}

/// The tables whose rows the native engine will read, with the server's estimate of each:
/// taken by the selection, rows not left out, not stored elsewhere (as `dump_database_data`
/// decides once the catalog is read).
async fn plan_rows(
    conn: &mut Conn,
    cfg: &BackupConfig,
    run: &RunContext,
) -> Result<Vec<TableEstimate>> {
    let mut planned = Vec::new();
    for db in &run.selection.databases {
        for (table, engine, rows) in survey::table_rows(conn, db).await? {
            let elsewhere =
                catalog::rows_elsewhere_engines().any(|e| e.eq_ignore_ascii_case(&engine));
            if elsewhere
                || !cfg.tables.takes(db, &table)
                || select::skips_data(&cfg.mode, &cfg.tables, db, &table)
            {
                continue;
            }
            planned.push(TableEstimate {
                database: db.clone(),
                table,
                rows,
            });
        }
    }
    Ok(planned)
}

/// Creates the backup directory (`-o`): by each engine once its own checks passed, so that a
/// run refused before it writes leaves no empty directory behind either.
pub(crate) fn create_output_dir(cfg: &BackupConfig) -> Result<()> {
    if cfg.pipe.is_some() {
        return Ok(());
    }
    if cfg.bucket.is_some() {
        // A bucket has no directories: keys under the prefix appear with their objects.
        return Ok(());
    }
    std::fs::create_dir_all(&cfg.output_dir)
        .map_err(|e| Error::file("creating the backup directory", cfg.output_dir.clone(), e))
}

/// Where the native engine spools the rows of non-transactional tables while the snapshot's
/// commit block holds: next to the dumps, or the temporary directory when they go to a bucket
/// or into a copy's pipe.
pub(crate) fn spool_dir(cfg: &BackupConfig) -> PathBuf {
    match (&cfg.bucket, &cfg.pipe) {
        (None, None) => cfg.output_dir.clone(),
        _ => std::env::temp_dir(),
    }
}

/// The accounts of the run's scope (all of them for `all`), or None with a warning when this
/// account may not read them: the dump does not need `mysql.*`, so the lack of it does not
/// cost the backup.
async fn read_grants(
    conn: &mut Conn,
    run: &RunContext,
    progress: &dyn Progress,
) -> Result<Option<GrantsExport>> {
    let scope = match run.cfg.mode {
        BackupMode::All => grants::Scope::All,
        _ => grants::Scope::Databases(&run.selection.databases),
    };
    match grants::read(conn, &run.info, scope).await {
        Ok(export) => {
            for w in &export.warnings {
                progress.event(&Event::Warning(w));
            }
            Ok(Some(export))
        }
        Err(e) if grants::is_privilege_error(&e) => {
            progress.event(&Event::Warning(&format!(
                "user grants are not exported: {e}; grant SELECT ON mysql.* to {} to export \
                 them, or pass --exclude-user to silence this",
                run.cfg.connection.user
            )));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The server's databases in server order (for choosing interactively).
pub async fn server_databases(cfg: &BackupConfig) -> Result<Vec<String>> {
    let (mut control, _) = connect::open(&cfg.connection, "control").await?;
    let all = catalog::list_databases(&mut control).await?;
    let _ = control.disconnect().await;
    Ok(all)
}

/// What a run would do: the databases, their size, and the files it would write.
#[derive(Clone, Debug)]
pub struct DryRun {
    pub server: String,
    pub hostname: String,
    /// (database, tables, estimated rows, estimated bytes)
    pub databases: Vec<(String, u64, u64, u64)>,
    pub excluded: Vec<String>,
    pub files: Vec<PathBuf>,
    /// The accounts file a backup would write.
    pub user_grants: Option<PathBuf>,
    /// primary/secondary: the packages (database and companion).
    pub packages: Vec<select::Package>,
    pub data_skipped: Vec<TableRef>,
    /// Databases `--tables` left out: none of their tables matches.
    pub databases_left_out: Vec<String>,
    /// Per database of the run with a table selection: (tables and views taken, left out).
    pub table_counts: Vec<(String, usize, usize)>,
    /// Tables whose rows are read through a `--where`, with the condition.
    pub conditions: Vec<(TableRef, String)>,
}

/// `--dry-run`: connects and selects like a backup, then reports; writes nothing, creates no
/// directory, takes no lock.
pub async fn dry_run(cfg: &BackupConfig, progress: &dyn Progress) -> Result<DryRun> {
    let (mut control, run) = prepare(cfg, progress).await?;
    let mut databases = Vec::new();
    for db in &run.selection.databases {
        let (tables, rows, bytes) = survey::estimate_size(&mut control, db).await?;
        databases.push((db.clone(), tables, rows, bytes));
        // What the backup would refuse before writing its file (a view the server cannot
        // open, a trigger on a dropped column) is found by reading the definitions it would
        // read, outside any snapshot or lock.
        if cfg.engine == Engine::Native {
            catalog::load_database(&mut control, db, |t| cfg.tables.takes(db, t)).await?;
        }
    }
    let _ = control.disconnect().await;
    let filter = &cfg.tables;
    let table_counts = if filter.is_empty() {
        Vec::new()
    } else {
        run.selection
            .databases
            .iter()
            .map(|db| {
                let t = &run.tables;
                (
                    db.clone(),
                    t.taken(filter, db).count(),
                    t.left_out(filter, db).count(),
                )
            })
            .collect()
    };
    let conditions = run
        .tables
        .listed
        .iter()
        .filter(|l| !select::skips_data(&cfg.mode, filter, &l.database, &l.name))
        .filter_map(|l| {
            let c = filter.condition(&l.database, &l.name)?;
            Some((
                TableRef {
                    database: l.database.clone(),
                    table: l.name.clone(),
                },
                c,
            ))
        })
        .collect();
    let RunContext {
        info,
        selection,
        planned,
        tables,
        ..
    } = run;
    Ok(DryRun {
        server: info.version,
        hostname: info.hostname,
        databases,
        excluded: selection.excluded,
        user_grants: if cfg.export_grants {
            grants_path(cfg, &planned)
        } else {
            None
        },
        files: planned.into_iter().map(|p| p.path).collect(),
        packages: selection.packages,
        data_skipped: tables.data_skipped,
        databases_left_out: tables.databases_left_out,
        table_counts,
        conditions,
    })
}

/// `<first dump>_users.sql[.enc]`, next to it.
fn grants_path(cfg: &BackupConfig, planned: &[PlannedFile]) -> Option<PathBuf> {
    planned.first().map(|p| grants_file_next_to(cfg, &p.path))
}

pub(super) fn grants_file_next_to(cfg: &BackupConfig, dump: &Path) -> PathBuf {
    let name = dump.file_name().unwrap_or_default().to_string_lossy();
    dump.with_file_name(naming::grants_file(&name, cfg.passphrase.is_some()))
}

/// Fails early, before any connection or lock, when the output directory cannot be written:
/// probes the directory, or its nearest existing ancestor, without creating the directory
/// itself (it is created only when a backup runs).
fn check_writable(dir: &Path) -> Result<()> {
    let mut probe_dir = dir;
    while !probe_dir.exists() {
        match probe_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => probe_dir = p,
            _ => {
                probe_dir = Path::new(".");
                break;
            }
        }
    }
    let probe = probe_dir.join(format!(".sfdbtools-write-test-{}", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"));
    let _ = std::fs::remove_file(&probe);
    result.map_err(|e| {
        Error::file(
            "checking that the backup directory can be written",
            dir.to_owned(),
            e,
        )
    })
}
