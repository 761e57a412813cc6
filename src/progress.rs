//! Progress reporting as events: the library emits them, the binary decides how to show them.

use std::collections::HashMap;
use std::time::Duration;

/// Something a run reports while it works.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// The run is about to dump these databases into these files.
    Plan {
        databases: &'a [String],
        files: &'a [std::path::PathBuf],
    },
    /// The rows a run is about to read, table by table, sent once before any table starts:
    /// the server's estimates for a dump (native engine), the metadata's counts for
    /// `verify --against`. Their sum is the run's total from the first frame on.
    RowsPlanned { tables: &'a [TableEstimate] },
    /// A table's rows start being read; `estimated_rows` is its figure in `RowsPlanned` (0 for
    /// a table that was not planned: created since).
    TableStarted {
        database: &'a str,
        table: &'a str,
        estimated_rows: u64,
    },
    TableDone {
        database: &'a str,
        table: &'a str,
        rows: u64,
        bytes: u64,
        elapsed: Duration,
    },
    FileWritten {
        path: &'a std::path::Path,
        bytes: u64,
        sql_bytes: u64,
    },
    /// A dump let the server's commits go on again, after blocking them for `blocked`
    /// (taking the snapshots, and reading the non-transactional tables).
    CommitsReleased { blocked: Duration },
    /// Something the operator should know that does not stop the run.
    Warning(&'a str),
    /// What the run is doing that the other events do not say (hashing a file for the
    /// restore's journal, waiting for a stopped restore's connections).
    Note(&'a str),
    /// `db-restore --resume` goes on with restore `journal` of the journal: `committed`
    /// statements of the stopped run are read past; `reloaded` tables (non-transactional)
    /// are restored again whole.
    Resuming {
        journal: u64,
        committed: u64,
        reloaded: &'a [String],
    },
    /// `--drop-target` dropped an existing database holding `objects` tables and routines.
    DatabaseDropped { database: &'a str, objects: u64 },
    /// A restore is about to read `files` files, `bytes` in all (their size on disk), sent
    /// once before the first `RestoreStarted`: the total of the whole restore, so that a bar
    /// does not start over with each file. `rows`: the rows their metadata record, when every
    /// file has them and all of each is restored.
    RestorePlanned {
        files: usize,
        bytes: u64,
        rows: Option<u64>,
    },
    /// A restore starts reading `file` (`bytes` long) into these databases.
    RestoreStarted {
        file: &'a std::path::Path,
        bytes: u64,
        targets: &'a [String],
    },
    /// A restore starts loading data into a table (first data, or data again after the table
    /// was reported loaded).
    TableLoading { database: &'a str, table: &'a str },
    /// A restore finished loading a table: sent only when certain (every data statement before
    /// a flush point answered, or a later statement about the table waited for its data), so
    /// possibly well after its last rows; never when the restore fails. `rows`, `statements`
    /// and `bytes` (of SQL) are the table's totals in the file so far; `elapsed` runs from its
    /// first data statement sent to its last one answered.
    TableLoaded {
        database: &'a str,
        table: &'a str,
        rows: u64,
        statements: u64,
        bytes: u64,
        elapsed: Duration,
    },
    /// A restore or verify finished reading `file`.
    FileRead {
        file: &'a std::path::Path,
        statements: u64,
        rows: u64,
        elapsed: Duration,
    },
}

/// Receives events. Implementations must be cheap: they are called from the dump's tasks and
/// serialiser threads.
pub trait Progress: Send + Sync {
    fn event(&self, event: &Event<'_>);

    /// Rows of `database`.`table` serialised since the last call, and their bytes of SQL (once
    /// per batch of rows, from the serialiser threads).
    fn advance(&self, _database: &str, _table: &str, _rows: u64, _sql_bytes: u64) {}

    /// A restore's totals so far: rows loaded and bytes of the file read (called often).
    fn restored(&self, _rows: u64, _file_bytes: u64) {}

    /// A data statement of a restore's table was answered: the table's rows loaded so far
    /// (called often, for each table between its `TableLoading` and `TableLoaded`).
    fn table_restored(&self, _database: &str, _table: &str, _rows: u64) {}
}

/// Reports nothing (`-q`, tests).
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event<'_>) {}
}

/// One table of [`Event::RowsPlanned`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableEstimate {
    pub database: String,
    pub table: String,
    pub rows: u64,
}

/// A run's rows as a bar shows them: a position and a total that never make it go backwards,
/// however wrong the estimates were.
///
/// The total starts as the sum of the planned estimates. A table being read counts for at most
/// its estimate in the position (`min(done, estimate)`); when it finishes, its actual rows
/// replace both its share of the position and its estimate in the total. So the work left
/// (`total - position`) never grows: reading shrinks it, a table finishing above its estimate
/// grows the position and the total by the same amount, one finishing below shrinks the total
/// only. With `position <= total`, the fraction `position / total` therefore never decreases,
/// and at the end position and total are the rows read. A table that was not planned counts
/// as estimated at 0.
#[derive(Debug, Default)]
pub struct Tally {
    /// database → table → its account.
    tables: HashMap<String, HashMap<String, Account>>,
    position: u64,
    total: u64,
    /// Rows read so far (finished tables' actual rows, the others' rows so far).
    done: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Account {
    estimate: u64,
    done: u64,
    finished: bool,
}

impl Account {
    /// Its share of the position while it is read.
    fn share(&self) -> u64 {
        self.done.min(self.estimate)
    }
}

impl Tally {
    /// Adds the planned tables (a table planned twice keeps its first estimate).
    pub fn plan(&mut self, tables: &[TableEstimate]) {
        for t in tables {
            let by_table = self.tables.entry(t.database.clone()).or_default();
            if !by_table.contains_key(&t.table) {
                by_table.insert(
                    t.table.clone(),
                    Account {
                        estimate: t.rows,
                        ..Account::default()
                    },
                );
                self.total += t.rows;
            }
        }
    }

    fn account(&mut self, database: &str, table: &str) -> &mut Account {
        // Not planned: estimated at 0, so it moves position and total only together.
        self.tables
            .entry(database.to_owned())
            .or_default()
            .entry(table.to_owned())
            .or_default()
    }

    /// `rows` more of `database`.`table` were read.
    pub fn advance(&mut self, database: &str, table: &str, rows: u64) {
        let a = self.account(database, table);
        let before = a.share();
        a.done += rows;
        let (after, finished) = (a.share(), a.finished);
        self.done += rows;
        if !finished {
            self.position += after - before;
        }
    }

    /// `database`.`table` is finished with `rows` rows (a second report of it is ignored).
    pub fn finish(&mut self, database: &str, table: &str, rows: u64) {
        let a = self.account(database, table);
        if a.finished {
            return;
        }
        a.finished = true;
        let share = a.share();
        // Rows counted as read beyond those reported cannot be taken back from the position:
        // the table then counts for what the position already holds of it.
        let counted = rows.max(share);
        let (estimate, done) = (a.estimate, a.done);
        a.done = done.max(rows);
        self.position += counted - share;
        self.total = self.total - estimate + counted;
        self.done += rows.saturating_sub(done);
    }

    /// Where the bar is, in rows.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The bar's length, in rows: what is finished plus the estimates of what is not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Rows read so far.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// `position / total`, 0 while the total is 0.
    pub fn fraction(&self) -> f64 {
        match self.total {
            0 => 0.0,
            t => self.position as f64 / t as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(tables: &[(&str, u64)]) -> Tally {
        let mut t = Tally::default();
        t.plan(
            &tables
                .iter()
                .map(|(name, rows)| TableEstimate {
                    database: "db".into(),
                    table: (*name).into(),
                    rows: *rows,
                })
                .collect::<Vec<_>>(),
        );
        t
    }

    /// Position, total and fraction after each step, checked to never go backwards.
    struct Watch {
        position: u64,
        fraction: f64,
        left: u64,
    }

    impl Watch {
        fn new(t: &Tally) -> Watch {
            Watch {
                position: t.position(),
                fraction: t.fraction(),
                left: t.total() - t.position(),
            }
        }

        fn step(&mut self, t: &Tally, what: &str) {
            assert!(t.position() <= t.total(), "{what}: position past the total");
            assert!(t.position() >= self.position, "{what}: position went back");
            assert!(t.fraction() >= self.fraction, "{what}: the bar went back");
            let left = t.total() - t.position();
            assert!(left <= self.left, "{what}: the work left grew");
            *self = Watch::new(t);
        }
    }

    #[test]
    fn the_total_is_the_plan_from_the_start_and_the_actual_rows_at_the_end() {
        let mut t = planned(&[("a", 100), ("b", 50)]);
        assert_eq!((t.position(), t.total(), t.done()), (0, 150, 0));
        let mut w = Watch::new(&t);
        t.advance("db", "a", 60);
        w.step(&t, "a reads 60");
        assert_eq!((t.position(), t.total(), t.done()), (60, 150, 60));
        // `b` has more rows than estimated: past its estimate the position waits.
        t.advance("db", "b", 50);
        w.step(&t, "b reads 50");
        t.advance("db", "b", 30);
        w.step(&t, "b reads 30 past its estimate");
        assert_eq!((t.position(), t.total(), t.done()), (110, 150, 140));
        // It finishes: its actual rows go into both.
        t.finish("db", "b", 80);
        w.step(&t, "b finishes above its estimate");
        assert_eq!((t.position(), t.total(), t.done()), (140, 180, 140));
        // `a` has fewer: the total shrinks, the bar jumps forward.
        t.advance("db", "a", 10);
        w.step(&t, "a reads 10");
        t.finish("db", "a", 70);
        w.step(&t, "a finishes below its estimate");
        assert_eq!((t.position(), t.total(), t.done()), (150, 150, 150));
        assert_eq!(t.fraction(), 1.0);
    }

    #[test]
    fn a_table_that_was_not_planned_moves_position_and_total_together() {
        let mut t = planned(&[("a", 10)]);
        let mut w = Watch::new(&t);
        t.advance("db", "a", 5);
        w.step(&t, "a reads 5");
        t.advance("db", "new", 1000);
        w.step(&t, "an unplanned table reads");
        assert_eq!((t.position(), t.total(), t.done()), (5, 10, 1005));
        t.finish("db", "new", 1000);
        w.step(&t, "it finishes");
        assert_eq!((t.position(), t.total()), (1005, 1010));
        t.finish("db", "a", 10);
        // A table reported twice counts once.
        t.finish("db", "a", 10);
        w.step(&t, "a finishes");
        assert_eq!((t.position(), t.total(), t.done()), (1010, 1010, 1010));
    }

    #[test]
    fn empty_tables_and_an_empty_plan() {
        let mut t = Tally::default();
        assert_eq!(t.fraction(), 0.0);
        t.finish("db", "empty", 0);
        assert_eq!((t.position(), t.total(), t.fraction()), (0, 0, 0.0));
        let mut t = planned(&[("a", 0), ("b", 0)]);
        t.advance("db", "a", 3);
        t.finish("db", "a", 3);
        assert_eq!((t.position(), t.total(), t.done()), (3, 3, 3));
    }

    /// Any order of reads and finishes, any estimates: the bar never goes back.
    #[test]
    fn the_bar_never_goes_back_whatever_the_estimates() {
        // A small deterministic generator: the same sequences every run.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..200 {
            let estimates: Vec<(String, u64)> =
                (0..5).map(|i| (format!("t{i}"), next(1000))).collect();
            let actual: Vec<u64> = (0..6).map(|_| next(2000)).collect();
            let mut t = Tally::default();
            t.plan(
                &estimates
                    .iter()
                    .map(|(name, rows)| TableEstimate {
                        database: "db".into(),
                        table: name.clone(),
                        rows: *rows,
                    })
                    .collect::<Vec<_>>(),
            );
            let mut w = Watch::new(&t);
            // Six tables (one unplanned), read in random batches, finished when read.
            let mut read = [0u64; 6];
            let mut finished = [false; 6];
            while finished.iter().any(|f| !f) {
                let i = next(6) as usize;
                if finished[i] {
                    continue;
                }
                let name = format!("t{i}");
                let batch = (next(300) + 1).min(actual[i] - read[i]);
                if batch == 0 {
                    t.finish("db", &name, actual[i]);
                    finished[i] = true;
                } else {
                    t.advance("db", &name, batch);
                    read[i] += batch;
                }
                w.step(&t, &name);
            }
            let sum: u64 = actual.iter().sum();
            assert_eq!((t.position(), t.total(), t.done()), (sum, sum, sum));
        }
    }
}
