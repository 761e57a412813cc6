//! `verify`: proof that a backup can be trusted before it is needed.
//!
//! The file alone: every byte read through the same strict chain a restore uses (each GCM tag
//! and the end marker, the codec's own checksum, the SQL to its completion footer), its size
//! and SHA-256 compared with the metadata, and each table's rows and checksum recomputed from
//! the INSERTs as written. Against a live database: the rows and checksums computed the way
//! the dump computed them (the same row serialiser), compared with those recorded.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mysql_async::prelude::*;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::catalog;
use crate::config::run::DumpObjects;
use crate::connect::{self, ConnectionSettings};
use crate::encrypt::{self, ChecksumKey, Passphrase};
use crate::error::{Error, Result};
use crate::metadata::{Recorded, TableInfo};
use crate::progress::{Event, Progress, TableEstimate};
use crate::quote::{comment_safe, ident};
use crate::read::classify::{Kind, classify, for_each_tuple};
use crate::read::split::Splitter;
use crate::read::{Metered, finish_digest, open_from, recognise, source};
use crate::rows::{RowChecksum, Serializer, dump_table};
use crate::select::{self, TableFilter, TablePattern};
use crate::snapshot;

pub mod record;

/// Chunks of SQL the checksum run may queue before they are dropped: they are not kept, the
/// serialiser only has to be able to hand them on.
const DISCARD_QUEUE: usize = 4;

/// One property of the file, checked or not.
#[derive(Clone, Debug)]
pub struct Check {
    pub what: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// One table's rows and checksum, as recorded and as found (in the file or the live database).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCheck {
    pub database: String,
    pub table: String,
    /// The dump read only the rows this accepts (`--where`): so did the comparison.
    pub condition: Option<String>,
    pub recorded: Option<(u64, String)>,
    pub found: Option<(u64, String)>,
}

impl TableCheck {
    pub fn ok(&self) -> bool {
        self.recorded.is_some() && self.recorded == self.found
    }

    /// `match`, or what differs.
    pub fn verdict(&self) -> &'static str {
        match (&self.recorded, &self.found) {
            (None, _) => "not in the backup",
            (_, None) => "missing",
            (Some((r, _)), Some((f, _))) if r != f => "row count differs",
            (Some((_, r)), Some((_, f))) if r != f => "content differs",
            _ => "match",
        }
    }
}

#[derive(Clone, Debug)]
pub struct VerifyReport {
    pub file: PathBuf,
    /// The live database compared with, for `--against`.
    pub against: Option<String>,
    pub checks: Vec<Check>,
    pub tables: Vec<TableCheck>,
    /// The SHA-256 of the file's bytes, when it was read to its end (not by `--against`,
    /// which reads the live database instead).
    pub sha256: Option<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok) && self.tables.iter().all(TableCheck::ok)
    }

    /// What failed, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut p: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.what, c.detail))
            .collect();
        for t in self.tables.iter().filter(|t| !t.ok()) {
            p.push(format!(
                "{}: {}",
                comment_safe(&t.database) + "." + &comment_safe(&t.table),
                t.verdict()
            ));
        }
        p
    }
}

fn check(what: &'static str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        what,
        ok,
        detail: detail.into(),
    }
}

/// Reads the whole file and checks it against itself and its metadata.
pub fn verify_file(
    path: &Path,
    pass: Option<&Passphrase>,
    max_statement: usize,
    progress: &dyn Progress,
) -> Result<VerifyReport> {
    let started = std::time::Instant::now();
    let mut checks = Vec::new();
    let recorded = match Recorded::read(path) {
        Ok(r) => r,
        Err(e) => {
            checks.push(check("metadata", false, e.to_string()));
            None
        }
    };
    let size = source::size(path).map_err(|e| Error::file("opening", path.to_owned(), e))?;
    let head = source::head(path, 8).map_err(|e| Error::file("reading", path.to_owned(), e))?;
    let encrypted = encrypt::sniff(&head);
    progress.event(&Event::RestoreStarted {
        file: path,
        bytes: size,
        targets: &[],
    });

    let read = Arc::new(AtomicU64::new(0));
    let digest = Arc::new(Mutex::new(Sha256::new()));
    let file = source::open(path).map_err(|e| Error::file("opening", path.to_owned(), e))?;
    let source = Metered::new(file, read.clone(), Some(digest.clone()));
    let mut content = Content::default();
    let mut not_opened = false;
    let outcome = match open_from(source, path, pass) {
        Err(e @ Error::Usage(_)) => return Err(e),
        Err(e) => {
            not_opened = true;
            Err(e.to_string())
        }
        Ok(reader) => {
            let codec = reader.codec();
            content.codec = codec.name();
            match recognise(reader, path) {
                Ok(sql) => {
                    read_content(sql, max_statement, &mut content, &recorded, &read, progress)
                }
                Err(e) => Err(e.to_string()),
            }
        }
    };
    // After a failure the rest of the file is hashed anyway: whether the bytes are those
    // that were written tells damage after the backup from damage during it.
    let consumed = read.load(Ordering::Relaxed);
    let sha256 = finish_digest(path, &digest, consumed)?;
    // An encrypted file that does not open but whose bytes are those its metadata recorded
    // is intact: the key is wrong. That is no verdict on the backup (a "FAILED" here, and its
    // record, would tell `list` that a good backup is bad), so it is a usage error.
    if not_opened
        && encrypted
        && recorded
            .as_ref()
            .and_then(|r| r.sha256())
            .is_some_and(|want| want.eq_ignore_ascii_case(&sha256))
    {
        return Err(Error::Usage(format!(
            "{}: the key given does not open the file, and the file is intact (its SHA-256 is \
             the one its metadata recorded): give the key it was written with \
             (-K/--backup-key or SFDB_BACKUP_ENCRYPTION_KEY); nothing was verified",
            path.display()
        )));
    }

    match &outcome {
        Ok(()) => checks.push(check(
            "content",
            true,
            format!(
                "{} statement(s), {} byte(s) of SQL, compression {}, encrypted {}",
                content.statements,
                content.sql_bytes,
                content.codec,
                if encrypted { "yes" } else { "no" }
            ),
        )),
        Err(e) => checks.push(check("content", false, e.clone())),
    }
    if outcome.is_ok() {
        checks.push(check(
            "end",
            content.completed,
            if content.completed {
                "ends with the \"-- Dump completed\" footer"
            } else {
                "no \"-- Dump completed\" footer at the end: the dump did not finish writing"
            },
        ));
    }
    let Some(r) = &recorded else {
        if checks.iter().all(|c| c.what != "metadata") {
            checks.push(check(
                "metadata",
                true,
                format!(
                    "none ({} missing): size, SHA-256 and tables not checked",
                    Recorded::path_for(path).display()
                ),
            ));
        }
        progress.event(&Event::FileRead {
            file: path,
            statements: content.statements,
            rows: content.rows,
            elapsed: started.elapsed(),
        });
        return Ok(VerifyReport {
            file: path.to_owned(),
            against: None,
            checks,
            tables: Vec::new(),
            sha256: Some(sha256),
        });
    };
    if let Some(want) = r.file_size() {
        checks.push(check(
            "size",
            want == size,
            format!("{size} byte(s), metadata says {want}"),
        ));
    }
    match r.sha256() {
        Some(want) => checks.push(check(
            "sha256",
            want.eq_ignore_ascii_case(&sha256),
            if want.eq_ignore_ascii_case(&sha256) {
                format!("{sha256} as recorded")
            } else {
                format!("{sha256}, metadata says {want}: the file changed after it was written")
            },
        )),
        None => checks.push(check(
            "sha256",
            true,
            format!("{sha256} (the metadata records none)"),
        )),
    }
    if let Some(want) = r.encrypted() {
        checks.push(check(
            "encryption",
            want == encrypted,
            format!(
                "encrypted {}, metadata says {}",
                yes_no(encrypted),
                yes_no(want)
            ),
        ));
    }
    if outcome.is_ok() {
        if let Some(want) = r.compression() {
            let want = if want == "pgzip" { "gzip" } else { want };
            checks.push(check(
                "compression",
                want.eq_ignore_ascii_case(content.codec),
                format!("{}, metadata says {want}", content.codec),
            ));
        }
        if let Some(want) = r.sql_bytes() {
            checks.push(check(
                "sql bytes",
                want == content.sql_bytes,
                format!("{}, metadata says {want}", content.sql_bytes),
            ));
        }
    }
    let recorded_tables = r.tables();
    let tables = if outcome.is_ok() && !recorded_tables.is_empty() {
        match Sums::for_recorded(r, pass) {
            Ok(sums) => compare_tables(&recorded_tables, &content.tables, &sums),
            Err(why) => {
                checks.push(check("tables", false, why));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    if outcome.is_ok() && recorded_tables.is_empty() {
        checks.push(check(
            "tables",
            true,
            "the metadata records no per-table checksums (a mysqldump-engine or old-tool dump)",
        ));
    }
    progress.event(&Event::FileRead {
        file: path,
        statements: content.statements,
        rows: content.rows,
        elapsed: started.elapsed(),
    });
    Ok(VerifyReport {
        file: path.to_owned(),
        against: None,
        checks,
        tables,
        sha256: Some(sha256),
    })
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// What the SQL of a file holds.
#[derive(Default)]
struct Content {
    codec: &'static str,
    statements: u64,
    rows: u64,
    sql_bytes: u64,
    completed: bool,
    /// (database, table) → rows and checksum of the INSERTs as written.
    tables: BTreeMap<(String, String), (u64, RowChecksum)>,
}

fn read_content(
    reader: impl Read,
    max_statement: usize,
    content: &mut Content,
    recorded: &Option<Recorded>,
    read: &AtomicU64,
    progress: &dyn Progress,
) -> std::result::Result<(), String> {
    // A single-database file never names its database: the metadata does.
    let mut current: Option<String> = recorded
        .as_ref()
        .map(|r| r.databases())
        .filter(|d| d.len() == 1)
        .map(|mut d| d.remove(0));
    let mut s = Splitter::new(reader).with_max_statement(max_statement);
    loop {
        let st = match s.next_statement() {
            Ok(Some(st)) => st,
            Ok(None) => break,
            Err(e) => {
                return Err(format!(
                    "reading stopped at byte {} of the SQL (byte {} of the file): {e}",
                    s.sql_bytes(),
                    read.load(Ordering::Relaxed)
                ));
            }
        };
        content.statements += 1;
        match classify(&st.sql) {
            Kind::Use(n) => current = Some(n.name),
            Kind::Data {
                db,
                table,
                values_at,
            } => {
                let db = db.or_else(|| current.clone()).unwrap_or_default();
                let entry = content.tables.entry((db, table)).or_default();
                for_each_tuple(&st.sql, values_at, |row| {
                    entry.0 += 1;
                    entry.1.add_row(row);
                });
            }
            _ => {}
        }
        if content.statements.is_multiple_of(64) {
            content.rows = content.tables.values().map(|t| t.0).sum();
            progress.restored(content.rows, read.load(Ordering::Relaxed));
        }
    }
    content.rows = content.tables.values().map(|t| t.0).sum();
    content.sql_bytes = s.sql_bytes();
    content.completed = s.ends_with_completion_marker();
    Ok(())
}

/// How checksums found are put into the metadata's form: as they are, or keyed as an
/// encrypted dump's metadata says (see `encrypt::ChecksumKey`).
enum Sums {
    Plain,
    Keyed(ChecksumKey),
}

impl Sums {
    /// The form of `recorded`'s checksums, the key derived from `pass` (a KDF run as long as
    /// the container's); why they cannot be checked when the key is missing or unknown.
    fn for_recorded(
        recorded: &Recorded,
        pass: Option<&Passphrase>,
    ) -> std::result::Result<Sums, String> {
        let info = match recorded.checksum_key() {
            Ok(None) => return Ok(Sums::Plain),
            Ok(Some(info)) => info,
            Err(why) => return Err(format!("the metadata's checksums cannot be checked: {why}")),
        };
        let pass = pass.ok_or(
            "the metadata's checksums are keyed with the backup's passphrase (an encrypted \
             dump): pass it with -K/--backup-key to check them",
        )?;
        let salt = hex::decode(&info.salt)
            .map_err(|e| format!("the metadata's checksum_key salt is not hex ({e})"))?;
        ChecksumKey::derive(pass, &salt, info.iterations)
            .map(Sums::Keyed)
            .map_err(|e| format!("the metadata's checksum key cannot be derived: {e}"))
    }

    fn table(&self, database: &str, table: &str, sum: &RowChecksum) -> String {
        match self {
            Sums::Plain => sum.hex(),
            Sums::Keyed(k) => k.table(database, table, &sum.hex()),
        }
    }

    fn definitions(&self, mut digests: BTreeMap<String, String>) -> BTreeMap<String, String> {
        if let Sums::Keyed(k) = self {
            k.definitions(&mut digests);
        }
        digests
    }
}

/// Recorded tables against found ones (both directions), in name order.
fn compare_tables(
    recorded: &[TableInfo],
    found: &BTreeMap<(String, String), (u64, RowChecksum)>,
    sums: &Sums,
) -> Vec<TableCheck> {
    let mut all: BTreeMap<(String, String), TableCheck> = BTreeMap::new();
    for t in recorded {
        all.insert(
            (t.database.clone(), t.table.clone()),
            TableCheck {
                database: t.database.clone(),
                table: t.table.clone(),
                condition: t.condition.clone(),
                recorded: Some((t.rows, t.checksum.clone())),
                // A table without rows has no INSERT in the file.
                found: Some((
                    0,
                    sums.table(&t.database, &t.table, &RowChecksum::default()),
                )),
            },
        );
    }
    for ((db, table), (rows, sum)) in found {
        let e = all
            .entry((db.clone(), table.clone()))
            .or_insert_with(|| TableCheck {
                database: db.clone(),
                table: table.clone(),
                condition: None,
                recorded: None,
                found: None,
            });
        e.found = Some((*rows, sums.table(db, table, sum)));
    }
    all.into_values().collect()
}

/// Compares the rows and checksums recorded in a dump's metadata with those of a live
/// database, computed by the dump's own row reader and serialiser in one snapshot.
pub async fn verify_against(
    path: &Path,
    pass: Option<&Passphrase>,
    settings: &ConnectionSettings,
    db: &str,
    progress: Arc<dyn Progress>,
) -> Result<VerifyReport> {
    let recorded = Recorded::read(path)?.ok_or_else(|| {
        Error::Usage(format!(
            "{} has no metadata ({}): nothing to compare the database with",
            path.display(),
            Recorded::path_for(path).display()
        ))
    })?;
    let tables = recorded.tables();
    if tables.is_empty() {
        return Err(Error::Usage(format!(
            "the metadata of {} records no per-table checksums (a schema-only, mysqldump-engine \
             or old-tool dump): nothing to compare the database with",
            path.display()
        )));
    }
    let mut sources: Vec<&str> = tables.iter().map(|t| t.database.as_str()).collect();
    sources.dedup();
    let source = if sources.len() == 1 {
        sources[0].to_owned()
    } else if let Some(s) = sources.iter().find(|s| s.eq_ignore_ascii_case(db)) {
        (*s).to_owned()
    } else {
        return Err(Error::Usage(format!(
            "{} holds the databases {}: --against must name one of them",
            path.display(),
            sources.join(", ")
        )));
    };
    let (r, p, file) = (recorded.clone(), pass.cloned(), path.to_owned());
    let sums = tokio::task::spawn_blocking(move || {
        let sums = Sums::for_recorded(&r, p.as_ref())?;
        // A wrong key derives a checksum key too, and every table would then "differ": the
        // key must first open the file it belongs to.
        if matches!(sums, Sums::Keyed(_)) {
            let f =
                source::open(&file).map_err(|e| format!("cannot open it to check the key: {e}"))?;
            open_from(f, &file, p.as_ref()).map_err(|e| {
                format!(
                    "the key given does not open the file ({e}); its metadata's checksums are \
                     keyed with the key that does: pass that one with -K/--backup-key"
                )
            })?;
        }
        Ok::<_, String>(sums)
    })
    .await
    .map_err(|e| Error::Internal(format!("deriving the checksum key: {e}")))?
    .map_err(|why| Error::Usage(format!("{}: {why}", path.display())))?;
    let (mut conn, _) = connect::open(settings, "verify").await?;
    if let Some(w) = settings.plaintext_warning() {
        progress.event(&Event::Warning(&w));
    }
    let definitions = recorded.definitions(&source);
    let part = DumpedPart::of(&recorded, &source)
        .map_err(|why| Error::Usage(format!("{}: {why}", path.display())))?;
    let result = live_checks(&mut conn, db, &source, &tables, &part, &sums, progress).await;
    let _ = conn.disconnect().await;
    let (found, live) = result?;
    Ok(VerifyReport {
        file: path.to_owned(),
        against: Some(db.to_owned()),
        checks: definition_checks(&definitions, &sums.definitions(live.definition_digests())),
        tables: found,
        sha256: None,
    })
}

/// One check per definition the dump recorded and per one found only live: the database's
/// defaults, each object's text and the charsets, sql_mode and collation it was created under.
/// Dumps older than these digests record none, and get no such checks.
fn definition_checks(
    recorded: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Vec<Check> {
    if recorded.is_empty() {
        return Vec::new();
    }
    let mut checks: Vec<Check> = recorded
        .iter()
        .map(|(object, digest)| match live.get(object) {
            Some(l) if l == digest => check("definition", true, format!("{object}: match")),
            Some(l) => {
                let text_differs = l.split(':').next() != digest.split(':').next();
                let what = match (object.as_str(), text_differs) {
                    ("database", true) => "its defaults (charset, collation or comment) differ",
                    ("database", false) => "its collation differs",
                    (_, true) => "its definition differs",
                    (_, false) => {
                        "created under other settings (character set, collation, sql_mode, \
                         database collation or time zone)"
                    }
                };
                check(
                    "definition",
                    false,
                    format!("{object}: {what} from the dump"),
                )
            }
            None => check("definition", false, format!("{object}: missing")),
        })
        .collect();
    for object in live.keys().filter(|k| !recorded.contains_key(*k)) {
        checks.push(check(
            "definition",
            false,
            format!("{object}: not in the backup"),
        ));
    }
    checks
}

/// What of the source database a dump holds, from its metadata: the tables and objects its
/// table selection took, and the tables whose rows it left out. A dump of whole databases
/// holds everything but the rows of its `data_skipped` tables.
struct DumpedPart {
    source: String,
    tables: TableFilter,
    objects: DumpObjects,
    data_skipped: Vec<String>,
}

impl DumpedPart {
    fn of(recorded: &Recorded, source: &str) -> std::result::Result<DumpedPart, String> {
        let sel = recorded.selection().unwrap_or_default();
        let patterns = |v: &[String]| -> std::result::Result<Vec<TablePattern>, String> {
            v.iter()
                .map(|p| {
                    TablePattern::parse(p)
                        .map_err(|e| format!("the metadata's selection cannot be read: {e}"))
                })
                .collect()
        };
        Ok(DumpedPart {
            source: source.to_owned(),
            tables: TableFilter {
                tables: patterns(&sel.tables)?,
                ignore: patterns(&sel.ignore_table)?,
                ignore_data: patterns(&sel.ignore_table_data)?,
                // The conditions are read per table, as recorded with its rows.
                wheres: Vec::new(),
            },
            objects: DumpObjects::without(&sel.objects_left_out),
            data_skipped: recorded
                .data_skipped()
                .into_iter()
                .filter(|t| t.database == source)
                .map(|t| t.table)
                .collect(),
        })
    }

    fn takes(&self, table: &str) -> bool {
        self.tables.takes(&self.source, table)
    }

    fn takes_rows(&self, table: &str) -> bool {
        self.tables.takes_rows(&self.source, table) && !self.data_skipped.iter().any(|t| t == table)
    }
}

/// The live side of `verify --against`: each table the dump holds rows of, read in one
/// transaction with the condition it was dumped with (`--where`), and the definitions of
/// what it holds. Tables and objects its selection left out, and the rows it left out, are
/// not compared: they are not in the backup by design.
async fn live_checks(
    conn: &mut mysql_async::Conn,
    db: &str,
    source: &str,
    recorded: &[TableInfo],
    part: &DumpedPart,
    sums: &Sums,
    progress: Arc<dyn Progress>,
) -> Result<(Vec<TableCheck>, catalog::DatabaseCatalog)> {
    snapshot::start_transaction(conn, &format!("verifying {}", ident(db))).await?;
    let mut live = catalog::load_database(conn, db, |t| part.takes(t)).await?;
    select::drop_skipped_objects(&mut live, part.objects);
    let serializer =
        Serializer::start(crate::sql::insert::DEFAULT_STATEMENT_SIZE, progress.clone())?;
    let mut checks: BTreeMap<String, TableCheck> = BTreeMap::new();
    for t in recorded.iter().filter(|t| t.database == source) {
        checks.insert(
            t.table.clone(),
            TableCheck {
                database: db.to_owned(),
                table: t.table.clone(),
                condition: t.condition.clone(),
                recorded: Some((t.rows, t.checksum.clone())),
                found: None,
            },
        );
    }
    // Tables whose rows live elsewhere were dumped as structure only.
    let compared: Vec<&catalog::Table> = live
        .tables
        .iter()
        .filter(|t| t.rows_elsewhere().is_none() && part.takes_rows(&t.name))
        .collect();
    // The rows the metadata records are the total to read (a table only live counts as 0).
    let expected = |table: &str| {
        checks
            .get(table)
            .and_then(|c| c.recorded.as_ref())
            .map_or(0, |(rows, _)| *rows)
    };
    let planned: Vec<TableEstimate> = compared
        .iter()
        .map(|t| TableEstimate {
            database: db.to_owned(),
            table: t.name.clone(),
            rows: expected(&t.name),
        })
        .collect();
    progress.event(&Event::RowsPlanned { tables: &planned });
    for (table, plan) in compared.into_iter().zip(&planned) {
        let condition = checks.get(&table.name).and_then(|c| c.condition.clone());
        progress.event(&Event::TableStarted {
            database: db,
            table: &table.name,
            estimated_rows: plan.rows,
        });
        let t0 = std::time::Instant::now();
        // The statements themselves are not needed, only the checksum of the rows in them.
        let (tx, mut rx) = mpsc::channel(DISCARD_QUEUE);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let stats = dump_table(conn, &serializer, &tx, db, table, 0, condition.as_deref()).await;
        drop(tx);
        let _ = drain.await;
        let stats = stats?;
        checks
            .entry(table.name.clone())
            .or_insert_with(|| TableCheck {
                database: db.to_owned(),
                table: table.name.clone(),
                condition: None,
                recorded: None,
                found: None,
            })
            .found = Some((stats.rows, sums.table(source, &table.name, &stats.checksum)));
        progress.event(&Event::TableDone {
            database: db,
            table: &table.name,
            rows: stats.rows,
            bytes: stats.bytes,
            elapsed: t0.elapsed(),
        });
    }
    let _ = conn.query_drop("COMMIT").await;
    Ok((checks.into_values().collect(), live))
}
