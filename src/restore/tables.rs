//! Per-table bookkeeping of a restore's data load: what each table received, and when its
//! load is certainly over.
//!
//! Data statements of different tables interleave (our dump's workers write chunks of several
//! tables alternately), so a table is known to be complete only at a barrier: when every data
//! statement has settled (a flush point), or when a later statement about that table waited
//! for its data (mysqldump's `ALTER TABLE … ENABLE KEYS`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::read::classify::mentions;

/// A table that data is loading into: the database it goes to, and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableKey {
    pub db: String,
    pub table: String,
}

/// What one table received over the whole restore of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableRestored {
    pub database: String,
    pub table: String,
    /// Rows the server reported loaded (affected rows of the table's data statements).
    pub rows: u64,
    /// Data statements that ran.
    pub statements: u64,
    /// Bytes of SQL of those statements.
    pub sql_bytes: u64,
}

#[derive(Debug)]
struct Load {
    key: TableKey,
    rows: u64,
    statements: u64,
    sql_bytes: u64,
    /// The first data statement of the table was dispatched.
    started: Instant,
    /// Its latest data statement settled.
    last: Instant,
    in_flight: u64,
    /// Reported as loading and not yet as loaded.
    loading: bool,
}

/// A table whose load is over, as `Event::TableLoaded` reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct Finished<'a> {
    pub key: &'a TableKey,
    /// Cumulative over the file, even when the table's data came in several stretches.
    pub rows: u64,
    pub statements: u64,
    pub sql_bytes: u64,
    /// From its first data statement sent to its last one answered.
    pub elapsed: Duration,
}

/// The tables of one file, in the order their data first came. Memory: one entry per table.
#[derive(Debug, Default)]
pub struct Loads {
    tables: Vec<Load>,
    index: HashMap<TableKey, usize>,
    /// Tables reported loading and not yet loaded.
    loading: Vec<usize>,
    in_flight: u64,
}

impl Loads {
    /// A data statement of `key` is being sent. Returns the table's handle, and whether the
    /// table starts loading now (first data, or data again after it was reported loaded).
    pub fn dispatch(&mut self, key: TableKey) -> (usize, bool) {
        let now = Instant::now();
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.tables.push(Load {
                    key: key.clone(),
                    rows: 0,
                    statements: 0,
                    sql_bytes: 0,
                    started: now,
                    last: now,
                    in_flight: 0,
                    loading: false,
                });
                self.index.insert(key, self.tables.len() - 1);
                self.tables.len() - 1
            }
        };
        let t = &mut self.tables[i];
        t.in_flight += 1;
        self.in_flight += 1;
        let starts = !t.loading;
        if starts {
            t.loading = true;
            self.loading.push(i);
        }
        (i, starts)
    }

    /// A data statement of table `i` was answered: `ran` holds its affected rows and bytes
    /// when it succeeded. Returns the table and its cumulative rows.
    pub fn settle(&mut self, i: usize, ran: Option<(u64, u64)>) -> (&TableKey, u64) {
        let t = &mut self.tables[i];
        t.in_flight = t.in_flight.saturating_sub(1);
        self.in_flight = self.in_flight.saturating_sub(1);
        t.last = Instant::now();
        if let Some((rows, bytes)) = ran {
            t.rows += rows;
            t.statements += 1;
            t.sql_bytes += bytes;
        }
        (&t.key, t.rows)
    }

    /// True while the table's first data statement is out and none has been answered. On
    /// MariaDB the first INSERT into an empty InnoDB table, under the dump's `UNIQUE_CHECKS=0,
    /// FOREIGN_KEY_CHECKS=0`, locks the whole table until it commits (MDEV-515's bulk insert):
    /// a second statement of the table sent meanwhile would wait inside InnoDB, and a
    /// `FLUSH TABLES WITH READ LOCK` arriving then waits for that statement while the first
    /// one's commit waits for the flush, until InnoDB's lock wait timeout fails the restore.
    pub fn opening(&self, key: &TableKey) -> bool {
        self.index.get(key).is_some_and(|&i| {
            let t = &self.tables[i];
            t.statements == 0 && t.in_flight > 0
        })
    }

    /// Data statements sent and not yet answered, over all tables.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// The rows loaded into `key` so far (0 before its first statement is answered).
    pub fn rows(&self, key: &TableKey) -> u64 {
        self.index.get(key).map_or(0, |&i| self.tables[i].rows)
    }

    /// True while a data statement of `key` is out.
    pub fn busy(&self, key: &TableKey) -> bool {
        self.index
            .get(key)
            .is_some_and(|&i| self.tables[i].in_flight > 0)
    }

    /// True while data is loading into a table that `sql` names.
    pub fn busy_named(&self, sql: &[u8]) -> bool {
        self.loading.iter().any(|&i| {
            let t = &self.tables[i];
            t.in_flight > 0 && mentions(sql, &t.key.table)
        })
    }

    /// Every loading table, once nothing is in flight any more (a flush point): they are loaded.
    pub fn finish_all(&mut self) -> Vec<Finished<'_>> {
        debug_assert_eq!(self.in_flight, 0, "finish_all while data is in flight");
        let done = std::mem::take(&mut self.loading);
        self.finished(done)
    }

    /// The loading tables that `sql` names and that have nothing in flight: a statement about
    /// them waited for their data, so their load is over.
    pub fn finish_named(&mut self, sql: &[u8]) -> Vec<Finished<'_>> {
        let tables = &self.tables;
        let (done, still): (Vec<usize>, Vec<usize>) = self
            .loading
            .iter()
            .partition(|&&i| tables[i].in_flight == 0 && mentions(sql, &tables[i].key.table));
        self.loading = still;
        self.finished(done)
    }

    fn finished(&mut self, done: Vec<usize>) -> Vec<Finished<'_>> {
        for &i in &done {
            self.tables[i].loading = false;
        }
        done.into_iter()
            .map(|i| {
                let t = &self.tables[i];
                Finished {
                    key: &t.key,
                    rows: t.rows,
                    statements: t.statements,
                    sql_bytes: t.sql_bytes,
                    elapsed: t.last.saturating_duration_since(t.started),
                }
            })
            .collect()
    }

    /// What every table received, in the order their data first came.
    pub fn summary(&self) -> Vec<TableRestored> {
        self.tables
            .iter()
            .map(|t| TableRestored {
                database: t.key.db.clone(),
                table: t.key.table.clone(),
                rows: t.rows,
                statements: t.statements,
                sql_bytes: t.sql_bytes,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str) -> TableKey {
        TableKey {
            db: "d".into(),
            table: t.into(),
        }
    }

    fn names(f: &[Finished<'_>]) -> Vec<(String, u64, u64)> {
        f.iter()
            .map(|f| (f.key.table.clone(), f.rows, f.statements))
            .collect()
    }

    /// Interleaved chunks of two tables: each starts loading once, and both are loaded only at
    /// the flush, with the sum of their statements' rows.
    #[test]
    fn interleaved_tables_are_loaded_at_the_flush_with_their_sums() {
        let mut l = Loads::default();
        let (a, starts_a) = l.dispatch(key("a"));
        let (b, starts_b) = l.dispatch(key("b"));
        let (a2, again) = l.dispatch(key("a"));
        assert!(starts_a && starts_b && !again);
        assert_eq!(a, a2);
        assert_eq!(l.in_flight(), 3);
        assert_eq!(l.settle(a, Some((100, 1000))).1, 100);
        assert_eq!(l.settle(b, Some((7, 70))).1, 7);
        // A failed statement (--continue-on-error) settles without rows.
        assert_eq!(l.settle(a, None).1, 100);
        assert_eq!(l.in_flight(), 0);
        let done = l.finish_all();
        assert_eq!(
            names(&done),
            [("a".to_owned(), 100, 1), ("b".to_owned(), 7, 1)]
        );
        assert!(l.finish_all().is_empty(), "a table is reported loaded once");
    }

    /// A table is opening from its first statement's dispatch until a statement of it has
    /// committed; one that failed (--continue-on-error) opens it again for the next.
    #[test]
    fn a_table_is_opening_until_a_statement_of_it_committed() {
        let mut l = Loads::default();
        assert!(!l.opening(&key("a")), "a table never sent is not opening");
        let (a, _) = l.dispatch(key("a"));
        assert!(l.opening(&key("a")) && !l.opening(&key("b")));
        l.settle(a, None);
        assert!(!l.opening(&key("a")), "nothing of it in flight");
        let (a, _) = l.dispatch(key("a"));
        assert!(l.opening(&key("a")), "no statement of it committed yet");
        l.settle(a, Some((10, 100)));
        let (a, _) = l.dispatch(key("a"));
        assert!(
            !l.opening(&key("a")),
            "its rows are in: the table is not empty"
        );
        l.settle(a, Some((10, 100)));
    }

    /// mysqldump: `ALTER TABLE a ENABLE KEYS` after a's data ends a's load, not b's; data of a
    /// that comes again starts it again, and its rows keep adding up.
    #[test]
    fn a_statement_naming_a_table_ends_only_that_tables_load() {
        let mut l = Loads::default();
        let (a, _) = l.dispatch(key("a"));
        let (b, _) = l.dispatch(key("b"));
        assert!(l.busy_named(b"ALTER TABLE `a` ENABLE KEYS"));
        l.settle(a, Some((5, 50)));
        assert!(!l.busy_named(b"ALTER TABLE `a` ENABLE KEYS"));
        assert!(l.busy_named(b"ALTER TABLE `b` ENABLE KEYS"));
        let done = l.finish_named(b"/*!40000 ALTER TABLE `a` ENABLE KEYS */");
        assert_eq!(names(&done), [("a".to_owned(), 5, 1)]);
        // `b` is still in flight: a statement naming it does not end it yet.
        assert!(l.finish_named(b"ALTER TABLE `b` ENABLE KEYS").is_empty());
        let (a_again, starts) = l.dispatch(key("a"));
        assert!(
            starts,
            "data after the table was reported loaded starts it again"
        );
        l.settle(a_again, Some((3, 30)));
        l.settle(b, Some((1, 10)));
        let done = l.finish_all();
        assert_eq!(
            names(&done),
            [("b".to_owned(), 1, 1), ("a".to_owned(), 8, 2)]
        );
        let summary = l.summary();
        assert_eq!(summary.len(), 2);
        assert_eq!((summary[0].rows, summary[0].sql_bytes), (8, 80));
    }

    /// The same table name in two databases is two tables.
    #[test]
    fn tables_are_told_apart_by_database() {
        let mut l = Loads::default();
        let (x, _) = l.dispatch(key("t"));
        let (y, starts) = l.dispatch(TableKey {
            db: "e".into(),
            table: "t".into(),
        });
        assert!(starts);
        assert_ne!(x, y);
    }
}
