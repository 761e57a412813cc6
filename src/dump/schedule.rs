//! How a database's data reaches the worker pool and comes back: key ranges asked for first,
//! then counts and chunks handed out longest first, then each table's chunks summed and checked
//! against its `COUNT(*)`.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::chunks::{self, KeyRange};
use super::native::FileTasks;
use super::workers::{Outcome, TaskKind, outcome};
use crate::catalog::Table;
use crate::error::{Error, Result};
use crate::metadata::TableInfo;
use crate::output::Chunk;
use crate::progress::Event;
use crate::rows::RowChecksum;

/// Hands the tasks of `order`'s tables to the pool (key ranges first, then counts and chunks
/// in [`schedule`] order), each table's rows into `out_of(index)`.
pub(super) async fn submit_tables(
    ctx: &FileTasks,
    db: &Arc<str>,
    order: &[Arc<Table>],
    out_of: impl Fn(usize) -> mpsc::Sender<Chunk>,
) -> Result<Vec<Pending>> {
    // Key ranges of the big tables, asked for all at once.
    let mut bounds = Vec::new();
    for t in order {
        let chunks = chunks::chunk_count(t.estimated_bytes, ctx.run.cfg.chunk_bytes)
            .min(ctx.threads.max(1) * chunks::CHUNKS_PER_WORKER);
        match &t.split_key {
            Some(key) if chunks > 1 => {
                let rx = ctx
                    .queue
                    .submit(
                        db,
                        Some(t),
                        TaskKind::Bounds {
                            column: key.column.clone(),
                        },
                    )
                    .await?;
                bounds.push(Some((rx, chunks)));
            }
            _ => bounds.push(None),
        }
    }

    let mut planned = Vec::with_capacity(order.len());
    for b in bounds {
        let ranges = match b {
            Some((rx, n)) => match outcome(rx).await? {
                Outcome::Bounds(Some((lo, hi))) => chunks::plan(lo, hi, n),
                _ => vec![KeyRange::WHOLE],
            },
            None => vec![KeyRange::WHOLE],
        };
        planned.push(ranges);
    }

    let mut pending: Vec<Pending> = order
        .iter()
        .map(|t| Pending {
            table: t.clone(),
            condition: ctx.run.cfg.tables.condition(db, &t.name),
            t0: Instant::now(),
            count: None,
            chunks: Vec::new(),
        })
        .collect();
    for step in schedule(order, &planned) {
        let p = &mut pending[step.table];
        let t = &order[step.table];
        let kind = match step.chunk {
            None => TaskKind::Count {
                condition: p.condition.clone(),
            },
            Some(i) => {
                // A table starts when its rows do (counts run well before): progress then
                // shows the tables being read, not every table counted.
                if p.chunks.is_empty() {
                    ctx.progress.event(&Event::TableStarted {
                        database: db,
                        table: &t.name,
                        estimated_rows: ctx.run.rows_planned(db, &t.name),
                    });
                    p.t0 = Instant::now();
                }
                // Rendered here, the one place ranges become SQL: the rows query takes it as
                // its WHERE clause.
                let range = planned[step.table][i];
                let range = t.split_key.as_ref().and_then(|key| range.predicate(key));
                TaskKind::Rows {
                    chunk: i,
                    predicate: both(range, p.condition.as_deref()),
                    out: out_of(step.table),
                }
            }
        };
        let rx = ctx.queue.submit(db, Some(t), kind).await?;
        match step.chunk {
            None => p.count = Some(rx),
            Some(_) => p.chunks.push(rx),
        }
    }
    Ok(pending)
}

/// A chunk's key range AND the table's `--where` condition (already in parentheses): the
/// ranges partition the table, so they partition the rows the condition accepts too.
fn both(range: Option<String>, condition: Option<&str>) -> Option<String> {
    match (range, condition) {
        (Some(r), Some(c)) => Some(format!("{r} AND {c}")),
        (r, c) => r.or_else(|| c.map(str::to_owned)),
    }
}

pub(super) struct Pending {
    table: Arc<Table>,
    /// `--where`: only the rows this accepts are read, and counted.
    condition: Option<String>,
    t0: Instant,
    /// None for a table read in one statement (see [`needs_count`]).
    count: Option<oneshot::Receiver<Result<Outcome>>>,
    /// In chunk order.
    chunks: Vec<oneshot::Receiver<Result<Outcome>>>,
}

/// One task of a database's data: the count of `table` (no chunk) or one of its chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    table: usize,
    chunk: Option<usize>,
}

/// The order a database's tasks are handed to the workers: longest first, so the dump does
/// not end with one worker busy on a big piece while the others wait.
///
/// Non-transactional tables come first, counts and rows, because commits stay blocked until
/// they are done. Then every count, biggest table first: a count scans a whole index in one
/// query, the longest single tasks there are. Then every chunk of every table by its share of
/// the table's size, largest first; a table that cannot be split is one big chunk and so starts
/// early instead of being left for the end. The chunks of one table keep their order.
fn schedule(tables: &[Arc<Table>], chunks: &[Vec<KeyRange>]) -> Vec<Step> {
    let mut steps: Vec<(bool, u8, u64, Step)> = Vec::new();
    for (i, (t, ranges)) in tables.iter().zip(chunks).enumerate() {
        let transactional = t.is_transactional();
        if needs_count(ranges) {
            steps.push((
                transactional,
                0,
                t.estimated_bytes,
                Step {
                    table: i,
                    chunk: None,
                },
            ));
        }
        let share = t.estimated_bytes / ranges.len().max(1) as u64;
        for c in 0..ranges.len() {
            steps.push((
                transactional,
                1,
                share,
                Step {
                    table: i,
                    chunk: Some(c),
                },
            ));
        }
    }
    // Stable: equal keys keep the tables' order and each table's chunk order.
    steps.sort_by_key(|&(transactional, phase, bytes, step)| {
        let phase = if transactional { phase } else { 0 };
        (transactional, phase, std::cmp::Reverse(bytes), step.table)
    });
    steps.into_iter().map(|(.., step)| step).collect()
}

/// Whether a table read in these key ranges is counted. `COUNT(*)` in the snapshot is
/// what proves that key ranges partition a table, no row lost or read twice. A table read by
/// one statement without a WHERE clause has no ranges: the rows that statement returns are, by
/// definition, its `COUNT(*)` in the same snapshot, and counting would scan the table a second
/// time to learn nothing (0.26 s of server CPU for the bench's 1M-row table without a key).
fn needs_count(ranges: &[KeyRange]) -> bool {
    !matches!(ranges, [r] if r.is_whole())
}

/// Fails a table whose chunks wrote other than its `COUNT(*)`, when it was counted.
fn check_rows(table: &str, written: u64, counted: Option<u64>) -> Result<()> {
    match counted {
        Some(expected) if expected != written => Err(Error::RowCount {
            table: table.to_owned(),
            written,
            expected,
        }),
        _ => Ok(()),
    }
}

/// Collects one table's answers: sums its chunks, checks them against its count.
pub(super) async fn table_outcome(
    ctx: &FileTasks,
    db: &Arc<str>,
    p: Pending,
) -> Result<(TableInfo, usize)> {
    let count = match p.count {
        Some(rx) => Some(outcome(rx).await),
        None => None,
    };
    let target = crate::quote::qualified(db, &p.table.name);
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut largest = 0usize;
    let mut nan = 0u64;
    let mut checksum = RowChecksum::default();
    let chunk_count = p.chunks.len();
    let mut failure: Option<Error> = None;
    let expected = match count {
        Some(Ok(Outcome::Count(n))) => Some(n),
        Some(Ok(_)) => return Err(Error::Internal("count task answered something else".into())),
        Some(Err(e)) => {
            failure = Some(e);
            None
        }
        None => None,
    };
    let mut results = Vec::with_capacity(p.chunks.len());
    for rx in p.chunks {
        match outcome(rx).await {
            Ok(o) => results.push(o),
            Err(e) => failure = Error::prefer(failure, e),
        }
    }
    if let Some(e) = failure {
        return Err(match (e, &p.condition) {
            // The rows query of a filtered table: say with which condition it was read.
            (
                Error::Rows {
                    table,
                    chunk,
                    rows,
                    source,
                },
                Some(c),
            ) => Error::Rows {
                table: format!("{table} where {c} (--where)"),
                chunk,
                rows,
                source,
            },
            (e, _) => e,
        });
    }
    for o in results {
        match o {
            Outcome::Rows(s) => {
                rows += s.rows;
                bytes += s.bytes;
                largest = largest.max(s.largest_statement);
                nan += s.not_a_number;
                checksum.combine(s.checksum);
            }
            _ => return Err(Error::Internal("rows task answered something else".into())),
        }
    }
    check_rows(&target, rows, expected)?;
    if nan > 0 {
        ctx.progress.event(&Event::Warning(&format!(
            "{target}: {nan} FLOAT/DOUBLE values were not numbers and were written as NULL"
        )));
    }
    ctx.progress.event(&Event::TableDone {
        database: db,
        table: &p.table.name,
        rows,
        bytes,
        elapsed: p.t0.elapsed(),
    });
    Ok((
        TableInfo {
            database: db.to_string(),
            table: p.table.name.clone(),
            rows,
            bytes,
            chunks: chunk_count,
            checksum: checksum.hex(),
            history: p.table.history_columns().is_some(),
            condition: p.condition,
        },
        largest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, engine: &str, bytes: u64) -> Arc<Table> {
        Arc::new(Table {
            name: name.into(),
            engine: engine.into(),
            create_sql: Vec::new(),
            columns: Vec::new(),
            versioning: None,
            estimated_rows: 0,
            estimated_bytes: bytes,
            split_key: None,
        })
    }

    fn named(tables: &[Arc<Table>], steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s.chunk {
                None => format!("count {}", tables[s.table].name),
                Some(c) => format!("{}#{c}", tables[s.table].name),
            })
            .collect()
    }

    #[test]
    fn tasks_run_longest_first_with_non_transactional_tables_before_all() {
        let tables = vec![
            table("myisam", "MyISAM", 10),
            table("big", "InnoDB", 800),
            table("nokey", "InnoDB", 300),
            table("small", "InnoDB", 5),
        ];
        let whole = vec![KeyRange::WHOLE];
        let chunks = vec![whole.clone(), chunks::plan(0, 399, 4), whole.clone(), whole];
        let steps = schedule(&tables, &chunks);
        assert_eq!(
            named(&tables, &steps),
            [
                // Tables read in one statement are not counted.
                "myisam#0",
                "count big",
                // The table that cannot be split goes before the chunks of the one that can,
                // which are smaller pieces; they keep their key order.
                "nokey#0",
                "big#0",
                "big#1",
                "big#2",
                "big#3",
                "small#0",
            ]
        );
    }

    #[test]
    fn chunks_that_wrote_other_than_the_count_fail_the_table_by_name() {
        let err = check_rows("`shop`.`orders`", 999, Some(1000)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`shop`.`orders`"), "{msg}");
        assert!(msg.contains("999") && msg.contains("1000"), "{msg}");
        assert!(check_rows("`shop`.`orders`", 1000, Some(1000)).is_ok());
        // Read in one statement: not counted, nothing to compare.
        assert!(check_rows("`shop`.`orders`", 1000, None).is_ok());
    }

    #[test]
    fn a_where_condition_is_anded_with_each_key_range() {
        let ranges = chunks::plan(1, 100, 2);
        let key = crate::catalog::SplitKey {
            column: "id".into(),
            nullable: true,
        };
        let preds: Vec<Option<String>> = ranges
            .iter()
            .map(|r| both(r.predicate(&key), Some("(x > 5 OR y)")))
            .collect();
        assert_eq!(
            preds,
            [
                Some("(`id` < 51 OR `id` IS NULL) AND (x > 5 OR y)".to_owned()),
                Some("`id` >= 51 AND (x > 5 OR y)".to_owned()),
            ]
        );
        // A table read whole: the condition alone; no condition: the range alone.
        assert_eq!(both(None, Some("(a)")).as_deref(), Some("(a)"));
        assert_eq!(
            both(Some("`id` < 3".into()), None).as_deref(),
            Some("`id` < 3")
        );
        assert_eq!(both(None, None), None);
    }

    #[test]
    fn tables_read_in_one_statement_are_not_counted() {
        assert!(!needs_count(&[KeyRange::WHOLE]));
        assert!(needs_count(&chunks::plan(0, 9, 2)));
    }

    #[test]
    fn every_task_is_scheduled_once() {
        let tables: Vec<_> = (0..20)
            .map(|i| {
                table(
                    &format!("t{i}"),
                    if i % 7 == 0 { "Aria" } else { "InnoDB" },
                    i * 37 % 11,
                )
            })
            .collect();
        let chunks: Vec<Vec<KeyRange>> =
            (0..20).map(|i| vec![KeyRange::WHOLE; 1 + i % 4]).collect();
        let mut steps = schedule(&tables, &chunks);
        // Counts only for tables read in more than one chunk.
        let total: usize = chunks
            .iter()
            .map(|c| c.len() + usize::from(c.len() > 1))
            .sum();
        assert_eq!(steps.len(), total);
        steps.sort_by_key(|s| (s.table, s.chunk));
        steps.dedup();
        assert_eq!(steps.len(), total);
        // Non-transactional tables are finished before anything else starts.
        let order = schedule(&tables, &chunks);
        let last_nt = order
            .iter()
            .rposition(|s| !tables[s.table].is_transactional())
            .unwrap();
        let first_t = order
            .iter()
            .position(|s| tables[s.table].is_transactional())
            .unwrap();
        assert!(last_nt < first_t);
    }
}
