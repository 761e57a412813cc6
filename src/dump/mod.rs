//! A whole backup run: select databases, open the snapshot, write each file, then its metadata.

pub mod naming;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Local};
use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::catalog::{self, DatabaseCatalog, View};
use crate::config::{BackupConfig, BackupMode};
use crate::connect::{self, ServerInfo};
use crate::error::{Error, Result};
use crate::metadata::{self, Metadata, SnapshotInfo, TableInfo};
use crate::output::{Chunk, OutputSpec, OutputSummary, Writer};
use crate::progress::{Event, Progress};
use crate::rows::{self, Serializer};
use crate::snapshot;
use crate::sql::ident::ident;
use crate::sql::script::{self, HeaderInfo};

/// One file of a finished run.
#[derive(Clone, Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub metadata_path: PathBuf,
    pub databases: Vec<String>,
    pub metadata: Metadata,
}

#[derive(Clone, Debug)]
pub struct BackupReport {
    pub files: Vec<FileReport>,
    pub snapshot: SnapshotInfo,
    pub server: String,
}

/// The databases chosen for a run, and those left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub databases: Vec<String>,
    pub excluded: Vec<String>,
    /// Names asked for that the server does not have.
    pub unknown: Vec<String>,
}

/// Applies the mode's rules to the server's database list (server order kept).
pub fn select_databases(all: &[String], cfg: &BackupConfig) -> Result<Selection> {
    let wanted: Option<&[String]> = match &cfg.mode {
        BackupMode::All => None,
        BackupMode::Filter { databases, .. } => Some(databases),
        BackupMode::Single { database } => Some(std::slice::from_ref(database)),
    };
    let mut sel = Selection {
        databases: Vec::new(),
        excluded: Vec::new(),
        unknown: Vec::new(),
    };
    match wanted {
        Some(names) => {
            for db in all {
                if names.iter().any(|n| n.eq_ignore_ascii_case(db)) {
                    sel.databases.push(db.clone());
                } else {
                    sel.excluded.push(db.clone());
                }
            }
            sel.unknown = names
                .iter()
                .filter(|n| !all.iter().any(|db| db.eq_ignore_ascii_case(n)))
                .cloned()
                .collect();
        }
        None => {
            for db in all {
                if cfg.exclude_system && catalog::is_system_database(db) {
                    sel.excluded.push(db.clone());
                } else {
                    sel.databases.push(db.clone());
                }
            }
        }
    }
    if let BackupMode::Single { database } = &cfg.mode {
        if sel.databases.is_empty() {
            return Err(Error::Usage(format!(
                "database {} does not exist on the server; check the name with SHOW DATABASES",
                ident(database)
            )));
        }
        // Two databases differing only by case: the exact name wins.
        if sel.databases.len() > 1 {
            sel.databases.retain(|d| d == database);
        }
    }
    Ok(sel)
}

struct PlannedFile {
    path: PathBuf,
    databases: Vec<String>,
}

fn plan_files(
    cfg: &BackupConfig,
    databases: &[String],
    hostname: &str,
    at: &DateTime<Local>,
) -> Result<Vec<PlannedFile>> {
    let encrypted = cfg.passphrase.is_some();
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
                _ => naming::database_file(
                    db,
                    cfg.exclude_data,
                    at,
                    hostname,
                    cfg.codec,
                    encrypted,
                ),
            };
            PlannedFile {
                path: cfg.output_dir.join(name),
                databases: vec![db.clone()],
            }
        })
        .collect())
}

/// Runs a backup as configured.
pub async fn run(cfg: &BackupConfig, progress: &dyn Progress) -> Result<BackupReport> {
    let started = Local::now();
    let clock = Instant::now();
    let (mut control, info) = connect::open(&cfg.connection, "control").await?;

    let all = catalog::list_databases(&mut control).await?;
    let mut selection = select_databases(&all, cfg)?;
    for name in &selection.unknown {
        progress.event(&Event::Warning(&format!(
            "database {} was asked for but does not exist on the server",
            ident(name)
        )));
    }
    if cfg.exclude_empty {
        let mut kept = Vec::new();
        for db in selection.databases.drain(..) {
            if count_tables(&mut control, &db).await? > 0 {
                kept.push(db);
            } else {
                selection.excluded.push(db);
            }
        }
        selection.databases = kept;
    }
    if selection.databases.is_empty() {
        return Err(Error::Usage(
            "no database selected: nothing to back up (check the names and the exclude rules)"
                .into(),
        ));
    }

    let planned = plan_files(cfg, &selection.databases, &info.hostname, &started)?;
    std::fs::create_dir_all(&cfg.output_dir).map_err(|e| Error::File {
        action: "creating the backup directory",
        path: cfg.output_dir.clone(),
        offset: 0,
        source: e,
    })?;
    let paths: Vec<PathBuf> = planned.iter().map(|p| p.path.clone()).collect();
    progress.event(&Event::Plan {
        databases: &selection.databases,
        files: &paths,
    });

    let (mut worker, _) = connect::open(&cfg.connection, "worker 1").await?;
    snapshot::start_transaction(&mut worker, "worker 1").await?;
    let snap = snapshot::position(&mut worker, &info).await?;

    let mut files = Vec::new();
    for plan in planned {
        let file = dump_file(cfg, &info, &mut worker, &plan, &selection, &snap, progress).await?;
        let _ = started; // the run's start names every file; each file has its own times
        files.push(file);
    }
    // The snapshot transaction only read; ending it releases its read view.
    let _ = worker.query_drop("ROLLBACK").await;
    let _ = worker.disconnect().await;
    let _ = control.disconnect().await;
    let _ = clock;
    Ok(BackupReport {
        files,
        snapshot: snap,
        server: info.version.clone(),
    })
}

async fn count_tables(conn: &mut Conn, db: &str) -> Result<u64> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db,),
        )
        .await
        .map_err(|e| Error::server(format!("counting tables of {}", ident(db)), e))?;
    Ok(n.unwrap_or(0))
}

#[allow(clippy::too_many_arguments)]
async fn dump_file(
    cfg: &BackupConfig,
    info: &ServerInfo,
    worker: &mut Conn,
    plan: &PlannedFile,
    selection: &Selection,
    snap: &SnapshotInfo,
    progress: &dyn Progress,
) -> Result<FileReport> {
    let started = Local::now();
    let clock = Instant::now();
    let writer = Writer::start(OutputSpec {
        path: plan.path.clone(),
        codec: cfg.codec,
        level: cfg.level,
        passphrase: cfg.passphrase.clone(),
        mode: cfg.file_mode,
        threads: cfg.threads,
    })?;
    let serializer = Serializer::start(writer.tx.clone(), cfg.statement_size)?;
    let mut tables = Vec::new();
    let mut largest = 0usize;
    let body = write_body(
        cfg,
        info,
        worker,
        plan,
        &writer,
        &serializer,
        progress,
        &mut tables,
        &mut largest,
    )
    .await;
    drop(serializer);
    let summary = match body {
        Ok(()) => writer.finish().await?,
        Err(e) => {
            // A writer that failed first holds the real cause (disk full, permission).
            let writer_err = writer.abort().await.err();
            return Err(match (e, writer_err) {
                (Error::Internal(_), Some(w)) => w,
                (e, _) => e,
            });
        }
    };
    let ended = Local::now();
    let metadata = build_metadata(
        cfg, info, plan, selection, snap, &summary, tables, largest, started, ended, clock,
    );
    let metadata_path = PathBuf::from(format!("{}.meta.json", plan.path.display()));
    write_metadata(&metadata_path, &metadata, cfg.file_mode)?;
    progress.event(&Event::FileWritten {
        path: &plan.path,
        bytes: summary.file.bytes,
        sql_bytes: summary.sql_bytes,
    });
    Ok(FileReport {
        path: plan.path.clone(),
        metadata_path,
        databases: plan.databases.clone(),
        metadata,
    })
}

#[allow(clippy::too_many_arguments)]
async fn write_body(
    cfg: &BackupConfig,
    info: &ServerInfo,
    worker: &mut Conn,
    plan: &PlannedFile,
    writer: &Writer,
    serializer: &Serializer,
    progress: &dyn Progress,
    tables_out: &mut Vec<TableInfo>,
    largest: &mut usize,
) -> Result<()> {
    let send = |text: String| async move {
        writer
            .tx
            .send(Chunk::Sql(text.into_bytes()))
            .await
            .map_err(|_| Error::Internal("the output writer stopped".into()))
    };
    let combined = cfg.mode.is_combined();
    send(script::header(&HeaderInfo {
        tool_version: env!("CARGO_PKG_VERSION"),
        server_host: &info.hostname,
        server_version: &info.version,
        database: if combined {
            None
        } else {
            plan.databases.first().map(String::as_str)
        },
    }))
    .await?;

    for db in &plan.databases {
        let catalog = catalog::load_database(worker, db).await?;
        let mut ddl = String::new();
        if combined {
            ddl.push_str(&script::database_preamble(&catalog));
        }
        for seq in &catalog.sequences {
            ddl.push_str(&script::sequence_ddl(db, seq));
        }
        for table in &catalog.tables {
            ddl.push_str(&script::table_ddl(db, table));
        }
        for view in &catalog.views {
            ddl.push_str(&script::view_placeholder(view));
        }
        send(ddl).await?;

        if !cfg.exclude_data {
            for table in &catalog.tables {
                let t0 = Instant::now();
                progress.event(&Event::TableStarted {
                    database: db,
                    table: &table.name,
                    estimated_rows: table.estimated_rows,
                });
                send(format!(
                    "--\n-- Dumping data for table {}\n--\n\n",
                    crate::sql::ident::comment_safe(&table.name)
                ))
                .await?;
                let expected = rows::count_rows(worker, db, &table.name).await?;
                let stats = rows::dump_table(worker, serializer, db, table, 0).await?;
                if stats.rows != expected {
                    return Err(Error::RowCount {
                        table: crate::sql::ident::qualified(db, &table.name),
                        written: stats.rows,
                        expected,
                    });
                }
                if stats.not_a_number > 0 {
                    progress.event(&Event::Warning(&format!(
                        "{}: {} FLOAT/DOUBLE values were not numbers and were written as NULL",
                        crate::sql::ident::qualified(db, &table.name),
                        stats.not_a_number
                    )));
                }
                *largest = (*largest).max(stats.largest_statement);
                progress.event(&Event::TableDone {
                    database: db,
                    table: &table.name,
                    rows: stats.rows,
                    bytes: stats.bytes,
                    elapsed: t0.elapsed(),
                });
                tables_out.push(TableInfo {
                    database: db.clone(),
                    table: table.name.clone(),
                    rows: stats.rows,
                    bytes: stats.bytes,
                    checksum: stats.checksum,
                });
                send("\n".into()).await?;
            }
        }
        send(post_data_ddl(db, &catalog, cfg)).await?;
    }
    send(script::footer(
        &Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
    ))
    .await?;
    Ok(())
}

/// Routines, then views (each replacing its placeholder, dependencies first), triggers, events.
fn post_data_ddl(db: &str, catalog: &DatabaseCatalog, cfg: &BackupConfig) -> String {
    let mut s = String::new();
    for r in &catalog.routines {
        s.push_str(&script::stored_object_ddl(db, r, cfg.ddl));
    }
    for v in views_in_dependency_order(&catalog.views) {
        s.push_str(&script::view_ddl(db, v, cfg.ddl));
    }
    for t in &catalog.triggers {
        s.push_str(&script::stored_object_ddl(db, t, cfg.ddl));
    }
    for e in &catalog.events {
        s.push_str(&script::stored_object_ddl(db, e, cfg.ddl));
    }
    s
}

/// Orders views so that a view comes after the views its definition names. A view named
/// inside another's text counts as a dependency (a rare false edge only changes the order);
/// a cycle, which the server cannot create, falls back to name order.
pub fn views_in_dependency_order(views: &[View]) -> Vec<&View> {
    let names: Vec<String> = views.iter().map(|v| ident(&v.name)).collect();
    let deps: Vec<Vec<usize>> = views
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let body = v
                .create_sql
                .split_once(" AS ")
                .map(|(_, b)| b)
                .unwrap_or(&v.create_sql);
            (0..views.len())
                .filter(|&j| j != i && body.contains(&names[j]))
                .collect()
        })
        .collect();
    let mut done = vec![false; views.len()];
    let mut order = Vec::with_capacity(views.len());
    while order.len() < views.len() {
        let before = order.len();
        for i in 0..views.len() {
            if !done[i] && deps[i].iter().all(|&d| done[d]) {
                done[i] = true;
                order.push(&views[i]);
            }
        }
        if order.len() == before {
            for i in 0..views.len() {
                if !done[i] {
                    done[i] = true;
                    order.push(&views[i]);
                }
            }
        }
    }
    order
}

#[allow(clippy::too_many_arguments)]
fn build_metadata(
    cfg: &BackupConfig,
    info: &ServerInfo,
    plan: &PlannedFile,
    selection: &Selection,
    snap: &SnapshotInfo,
    summary: &OutputSummary,
    tables: Vec<TableInfo>,
    largest: usize,
    started: DateTime<Local>,
    ended: DateTime<Local>,
    clock: Instant,
) -> Metadata {
    let fmt = |t: &DateTime<Local>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    Metadata {
        backup: metadata::BackupInfo {
            file: plan.path.display().to_string(),
            kind: cfg.mode.metadata_type().into(),
            status: "success".into(),
            databases: plan.databases.clone(),
            excluded_databases: selection.excluded.clone(),
            exclude_data: cfg.exclude_data,
        },
        database_details: None,
        time: metadata::TimeInfo {
            start_time: fmt(&started),
            end_time: fmt(&ended),
            duration: metadata::human_duration(clock.elapsed()),
        },
        file: metadata::FileInfo {
            size_bytes: summary.file.bytes,
            size_human: metadata::human_size(summary.file.bytes),
        },
        compression: metadata::CompressionInfo {
            enabled: summary.codec != crate::compress::Codec::None,
            kind: summary.codec.name().into(),
        },
        encryption: metadata::EncryptionInfo {
            enabled: summary.encrypted,
        },
        source: metadata::SourceInfo {
            hostname: info.hostname.clone(),
            host: match &cfg.connection.socket {
                Some(s) => s.display().to_string(),
                None => cfg.connection.host.clone(),
            },
            port: cfg.connection.port,
        },
        replication: metadata::ReplicationInfo {
            gtid_info: snap.gtid_info(),
        },
        version: metadata::VersionInfo {
            mariadb: info.version.clone(),
        },
        additional_files: metadata::AdditionalFiles {
            user_grants: "none".into(),
        },
        ticket: cfg.ticket.clone(),
        generator: metadata::GeneratorInfo {
            generated_by: "sfdbtools".into(),
            generated_at: ended.to_rfc3339(),
        },
        engine: "native".into(),
        threads: 1,
        consistency: "snapshot".into(),
        snapshot: snap.clone(),
        sha256: summary.file.sha256.clone(),
        sql_bytes: summary.sql_bytes,
        max_statement_bytes: largest,
        tables,
    }
}

fn write_metadata(path: &Path, metadata: &Metadata, mode: u32) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(metadata)
        .map_err(|e| Error::Internal(format!("serialising metadata: {e}")))?;
    json.push(b'\n');
    crate::output::file::write_atomic(path, mode, &json).map_err(|e| Error::File {
        action: "writing metadata",
        path: path.to_owned(),
        offset: 0,
        source: e,
    })?;
    Ok(())
}
