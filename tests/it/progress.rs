//! Progress as the library reports it, recorded by a sink of the test's own around a real dump
//! and restore: the dump's total is the plan's from the first row on and its bar never goes
//! back, though the server's estimates are wrong both ways; the restore's total is known before
//! its first byte is read; the counts at the end are the rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mysql_async::prelude::*;
use sfdbtools::compress::{Codec, Level};
use sfdbtools::config::run::{
    BackupConfig, BackupMode, DumpObjects, Engine, GrantsSource, RestoreConfig, RestoreMode,
};
use sfdbtools::connect::ConnectionSettings;
use sfdbtools::progress::{Event, Progress, TableEstimate, Tally};
use sfdbtools::secret::Secret;
use sfdbtools::snapshot::Consistency;

use crate::common::*;

/// What the library reported, in order (the sink is called from several threads: the order is
/// the one in which the calls took the lock).
#[derive(Clone, Debug)]
enum Seen {
    RowsPlanned(Vec<TableEstimate>),
    Started(String, u64),
    Advanced(String, u64),
    Done(String, u64),
    RestorePlanned(u64, Option<u64>),
    RestoreStarted(u64),
    Restored(u64, u64),
    TableRestored(String, u64),
    Loaded(String, u64),
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Seen>>);

impl Recorder {
    fn push(&self, seen: Seen) {
        self.0.lock().unwrap().push(seen);
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Progress for Recorder {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::RowsPlanned { tables } => self.push(Seen::RowsPlanned(tables.to_vec())),
            Event::TableStarted {
                table,
                estimated_rows,
                ..
            } => self.push(Seen::Started(table.to_string(), *estimated_rows)),
            Event::TableDone { table, rows, .. } => self.push(Seen::Done(table.to_string(), *rows)),
            Event::RestorePlanned { bytes, rows, .. } => {
                self.push(Seen::RestorePlanned(*bytes, *rows))
            }
            Event::RestoreStarted { bytes, .. } => self.push(Seen::RestoreStarted(*bytes)),
            Event::TableLoaded { table, rows, .. } => {
                self.push(Seen::Loaded(table.to_string(), *rows))
            }
            _ => {}
        }
    }

    fn advance(&self, _database: &str, table: &str, rows: u64, _sql_bytes: u64) {
        self.push(Seen::Advanced(table.to_owned(), rows));
    }

    fn restored(&self, rows: u64, file_bytes: u64) {
        self.push(Seen::Restored(rows, file_bytes));
    }

    fn table_restored(&self, _database: &str, table: &str, rows: u64) {
        self.push(Seen::TableRestored(table.to_owned(), rows));
    }
}

fn connection() -> ConnectionSettings {
    let s = server();
    ConnectionSettings {
        host: s.host.clone(),
        port: s.port,
        user: s.user.clone(),
        password: s.password.clone().map(Secret::new),
        ..ConnectionSettings::default()
    }
}

/// A plain dump of `db` by the native engine, two workers, big tables in small chunks.
fn backup_config(db: &str, dir: &Path) -> BackupConfig {
    BackupConfig {
        pipe: None,
        engine: Engine::Native,
        dry_run: false,
        mysqldump_args: None,
        connection: connection(),
        mode: BackupMode::Single {
            database: db.to_owned(),
        },
        include: Vec::new(),
        exclude: Vec::new(),
        allow_missing: false,
        include_dmart: false,
        client_code: None,
        instance: None,
        export_grants: false,
        exclude_system: true,
        exclude_empty: false,
        exclude_data: false,
        output_dir: dir.to_owned(),
        bucket: None,
        filename: None,
        ticket: "TEST".into(),
        codec: Codec::None,
        level: Level::DEFAULT,
        passphrase: None,
        statement_size: 64 << 10,
        statement_size_given: false,
        threads: 2,
        chunk_bytes: 256 << 10,
        consistency: Consistency::Snapshot,
        ddl_scope: Default::default(),
        lock_wait_timeout: Duration::from_secs(60),
        ddl: Default::default(),
        file_mode: 0o600,
        metadata_mode: 0o600,
        row_reader: Default::default(),
        save_metadata: true,
        capture_position: true,
        strict: false,
        tables: Default::default(),
        objects: DumpObjects::default(),
        cleanup_after: None,
        metrics_file: None,
        names_at: None,
    }
}

fn restore_config(file: &Path, target: &str) -> RestoreConfig {
    RestoreConfig {
        connection: connection(),
        file: file.to_owned(),
        passphrase: None,
        mode: RestoreMode::Single {
            target: target.to_owned(),
        },
        ticket: "TEST".into(),
        threads: 2,
        drop_target: false,
        allow_other_databases: false,
        confirm_drop: None,
        grants: GrantsSource::Skip,
        grants_to_target: false,
        dry_run: false,
        continue_on_error: false,
        strict: false,
        skip_binlog: false,
        verify: true,
        max_statement_size: None,
        tables: Default::default(),
        journal: true,
        resume: false,
        keys_after_rows: Some(16 << 20),
    }
}

/// The server's estimate of each table's rows, as the plan reads it.
async fn estimates(db: &str) -> BTreeMap<String, u64> {
    let mut c = server().conn(None).await;
    let rows: Vec<(String, u64)> = c
        .exec(
            "SELECT TABLE_NAME, CAST(COALESCE(TABLE_ROWS, 0) AS UNSIGNED) \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    rows.into_iter().collect()
}

/// Replays a dump's rows through a [`Tally`] as a bar would, checking each step: the plan comes
/// before any table, every table started is planned with the same estimate, the bar's position
/// and fraction never go back and the work left never grows; the tally at the end.
fn replay_dump(seen: &[Seen]) -> (Tally, BTreeMap<String, u64>) {
    let Some(Seen::RowsPlanned(plan)) = seen.first() else {
        panic!("the first event is not the plan: {:?}", seen.first());
    };
    assert_eq!(
        seen.iter()
            .filter(|s| matches!(s, Seen::RowsPlanned(_)))
            .count(),
        1,
        "one plan"
    );
    let planned: BTreeMap<String, u64> = plan.iter().map(|t| (t.table.clone(), t.rows)).collect();
    let mut tally = Tally::default();
    tally.plan(plan);
    // One database: the events name it, the checks go by table.
    let db = plan[0].database.as_str();
    assert_eq!(tally.total(), planned.values().sum::<u64>());
    let (mut position, mut fraction, mut left) = (0, 0.0, tally.total());
    let mut started: BTreeMap<String, u64> = BTreeMap::new();
    let mut advanced: BTreeMap<String, u64> = BTreeMap::new();
    let mut done: BTreeMap<String, u64> = BTreeMap::new();
    for s in seen {
        match s {
            Seen::Started(t, estimate) => {
                assert_eq!(planned.get(t), Some(estimate), "{t} starts as planned");
                assert!(started.insert(t.clone(), *estimate).is_none(), "{t} twice");
            }
            Seen::Advanced(t, rows) => {
                assert!(started.contains_key(t), "rows of {t} before it started");
                assert!(!done.contains_key(t), "rows of {t} after it was done");
                *advanced.entry(t.clone()).or_default() += rows;
                tally.advance(db, t, *rows);
            }
            Seen::Done(t, rows) => {
                assert!(done.insert(t.clone(), *rows).is_none(), "{t} done twice");
                tally.finish(db, t, *rows);
            }
            _ => continue,
        }
        assert!(tally.position() <= tally.total(), "{s:?}: past the total");
        assert!(
            tally.position() >= position,
            "{s:?}: the position went back"
        );
        assert!(tally.fraction() >= fraction, "{s:?}: the bar went back");
        assert!(
            tally.total() - tally.position() <= left,
            "{s:?}: the work left grew"
        );
        position = tally.position();
        fraction = tally.fraction();
        left = tally.total() - tally.position();
    }
    // The sum of the estimates the tables started with is the plan's total.
    assert_eq!(
        started.values().sum::<u64>(),
        planned.values().sum::<u64>(),
        "every planned table started"
    );
    for (t, rows) in &done {
        assert_eq!(
            advanced.get(t).copied().unwrap_or(0),
            *rows,
            "{t}: rows advanced"
        );
    }
    (tally, done)
}

/// A dump's bar starts at the plan's total (the sum of the server's estimates) and never goes
/// back, though one table holds far more rows than estimated and another far fewer (and a
/// non-transactional one is read first, while commits are blocked); the final
/// counts are the tables' rows. The restore of that dump knows its total (the file's size)
/// before it reads a byte, and its counts never go back either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_planned_and_the_bar_never_goes_back() {
    let db = TestDb::new("progress").await;
    db.exec(
        "CREATE TABLE behind (id INT PRIMARY KEY, pad CHAR(100));
         CREATE TABLE ahead (id INT PRIMARY KEY, pad CHAR(100));
         CREATE TABLE big (id INT PRIMARY KEY, pad CHAR(100));
         CREATE TABLE empty (id INT PRIMARY KEY);
         CREATE TABLE flat (id INT PRIMARY KEY, pad CHAR(20)) ENGINE=MyISAM;
         INSERT INTO behind SELECT seq, 'u' FROM seq_1_to_30000;
         INSERT INTO ahead SELECT seq, 'o' FROM seq_1_to_100;
         INSERT INTO big SELECT seq, 'b' FROM seq_1_to_40000;
         INSERT INTO flat SELECT seq, 'f' FROM seq_1_to_500;",
    )
    .await;
    // InnoDB's estimate follows every row written, committed or not, where the dump's
    // snapshot sees committed rows only: a transaction left open makes the estimates wrong
    // both ways for as long as it is.
    let mut holder = db.conn().await;
    holder
        .query_drop(
            "BEGIN; DELETE FROM behind WHERE id > 100; \
             INSERT INTO ahead SELECT seq, 'o' FROM seq_101_to_30000",
        )
        .await
        .unwrap();
    let estimated = estimates(&db.name).await;
    assert!(
        estimated["behind"] < 10_000 && estimated["ahead"] > 10_000,
        "the estimates are wrong both ways: {estimated:?}"
    );

    let dir = out_dir();
    let recorder = Arc::new(Recorder::default());
    let report = sfdbtools::dump::run(&backup_config(&db.name, dir.path()), recorder.clone())
        .await
        .expect("dump");
    let seen = recorder.take();
    let (tally, done) = replay_dump(&seen);

    // The plan is the server's estimates of the tables with rows to read.
    let Some(Seen::RowsPlanned(plan)) = seen.iter().find(|s| matches!(s, Seen::RowsPlanned(_)))
    else {
        unreachable!()
    };
    let planned: BTreeMap<String, u64> = plan.iter().map(|t| (t.table.clone(), t.rows)).collect();
    assert_eq!(planned, estimated, "the plan is the server's estimates");
    // At the end the bar is full, at the rows read, which are the tables' rows.
    let mut actual = BTreeMap::new();
    for t in ["behind", "ahead", "big", "empty", "flat"] {
        actual.insert(t.to_owned(), count_rows(&db.name, t).await);
    }
    assert_eq!(done, actual, "the rows each table reported done");
    let total: u64 = actual.values().sum();
    assert_eq!(
        (tally.position(), tally.total(), tally.done()),
        (total, total, total)
    );
    let file: PathBuf = report.files[0].path.clone();
    let recorded: u64 = report.files[0].metadata.tables.iter().map(|t| t.rows).sum();
    assert_eq!(recorded, total, "the metadata's rows");

    // The restore: the total before the first byte, counts that only grow, ending at the
    // file's size and the rows.
    let target = TestDb::new("progress_copy").await;
    let restored = sfdbtools::restore::run(&restore_config(&file, &target.name), recorder.clone())
        .await
        .expect("restore");
    let seen = recorder.take();
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        matches!(seen.first(), Some(Seen::RestorePlanned(b, Some(r))) if *b == size && *r == total),
        "the restore's totals (the file's size, the metadata's rows) come first: {:?}",
        seen.first()
    );
    assert!(matches!(seen.get(1), Some(Seen::RestoreStarted(b)) if *b == size));
    let (mut rows, mut read) = (0, 0);
    let mut per_table: BTreeMap<String, u64> = BTreeMap::new();
    let mut loaded: BTreeMap<String, u64> = BTreeMap::new();
    for s in &seen {
        match s {
            Seen::Restored(r, b) => {
                assert!(
                    *r >= rows && *b >= read,
                    "{s:?} after {rows} rows, {read} bytes"
                );
                assert!(*b <= size, "{s:?}: past the file's size {size}");
                (rows, read) = (*r, *b);
            }
            Seen::TableRestored(t, r) => {
                let before = per_table.insert(t.clone(), *r).unwrap_or(0);
                assert!(*r >= before, "{t}: {r} rows after {before}");
            }
            Seen::Loaded(t, r) => {
                loaded.insert(t.clone(), *r);
            }
            _ => {}
        }
    }
    assert_eq!(read, size, "the whole file read");
    assert_eq!(rows, total, "the rows restored");
    let with_rows: BTreeMap<String, u64> = actual.into_iter().filter(|(_, r)| *r > 0).collect();
    assert_eq!(loaded, with_rows, "each table loaded with its rows");
    assert_eq!(per_table, with_rows, "each table's last count is its rows");
    assert_eq!(restored.files[0].applied.rows, total);
    holder.query_drop("ROLLBACK").await.unwrap();
    holder.disconnect().await.unwrap();
}

/// A table is reported done when its last chunk is, not when every table has been handed to
/// the workers: with one worker, the big table read first is done before the last of the many
/// small tables after it starts (it used to be reported only at the end, with all the others).
#[tokio::test]
async fn a_table_is_reported_done_when_it_ends_not_at_the_dumps_end() {
    let db = TestDb::new("progress_done").await;
    let mut sql = String::from(
        "CREATE TABLE a (id INT PRIMARY KEY, pad CHAR(100));
         INSERT INTO a SELECT seq, 'a' FROM seq_1_to_40000;",
    );
    // More small tables than the workers' queue holds (`TASK_QUEUE_PER_WORKER`, 4).
    for i in 0..12 {
        sql.push_str(&format!(
            "CREATE TABLE s{i:02} (id INT PRIMARY KEY); INSERT INTO s{i:02} VALUES (1);"
        ));
    }
    sql.push_str("ANALYZE TABLE a;");
    db.exec(&sql).await;
    let dir = out_dir();
    let recorder = Arc::new(Recorder::default());
    let mut cfg = backup_config(&db.name, dir.path());
    cfg.threads = 1;
    sfdbtools::dump::run(&cfg, recorder.clone())
        .await
        .expect("dump");
    let seen = recorder.take();
    let done_a = seen
        .iter()
        .position(|s| matches!(s, Seen::Done(t, 40_000) if t == "a"))
        .unwrap_or_else(|| panic!("a is not reported done: {seen:?}"));
    let last_started = seen
        .iter()
        .rposition(|s| matches!(s, Seen::Started(..)))
        .unwrap();
    assert!(
        matches!(&seen[last_started], Seen::Started(t, _) if t.starts_with('s')),
        "{seen:?}"
    );
    assert!(done_a < last_started, "{seen:?}");
}
