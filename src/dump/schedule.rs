//! How a database's data reaches the worker pool and comes back: key ranges asked for first,
//! each table's proven to partition it, then chunks handed out longest first, then each table's
//! chunks summed.

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

/// Hands the tasks of `order`'s tables to the pool (key ranges first, then chunks in
/// [`schedule`] order), each table's rows into `out_of(index)`. Each table's [`Pending`] goes
/// to `ready` as soon as its last chunk is handed out: handing out waits for the workers, so
/// the last table's turn comes near the end of the dump, and a table finished long before is
/// collected (reported done, its row count told to a copy's restore) while later ones are read.
pub(super) async fn submit_tables(
    ctx: &FileTasks,
    db: &Arc<str>,
    order: &[Arc<Table>],
    out_of: impl Fn(usize) -> mpsc::Sender<Chunk>,
    ready: &mpsc::Sender<Pending>,
) -> Result<()> {
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
    for (b, t) in bounds.into_iter().zip(order) {
        let ranges = match b {
            Some((rx, n)) => match outcome(rx).await? {
                Outcome::Bounds(Some((lo, hi))) => chunks::plan(lo, hi, n),
                _ => vec![KeyRange::WHOLE],
            },
            None => vec![KeyRange::WHOLE],
        };
        // What makes the table's rows complete: its ranges cover every key value once.
        if !chunks::is_partition(&ranges) {
            return Err(Error::Internal(format!(
                "{}: its key ranges {ranges:?} do not cover every key exactly once",
                crate::quote::qualified(db, &t.name)
            )));
        }
        planned.push(ranges);
    }

    let mut pending: Vec<Option<Pending>> = order
        .iter()
        .enumerate()
        .map(|(index, t)| {
            Some(Pending {
                index,
                table: t.clone(),
                condition: ctx.run.cfg.tables.condition(db, &t.name),
                t0: Instant::now(),
                chunks: Vec::new(),
            })
        })
        .collect();
    let mut left: Vec<usize> = planned.iter().map(Vec::len).collect();
    for step in schedule(order, &planned) {
        let Some(p) = pending[step.table].as_mut() else {
            return Err(Error::Internal(
                "a table's chunk scheduled after its last".into(),
            ));
        };
        let t = &order[step.table];
        if p.chunks.is_empty() {
            ctx.progress.event(&Event::TableStarted {
                database: db,
                table: &t.name,
                estimated_rows: ctx.run.rows_planned(db, &t.name),
            });
            p.t0 = Instant::now();
        }
        // Rendered here, the one place ranges become SQL: the rows query takes it as its
        // WHERE clause.
        let range = planned[step.table][step.chunk];
        let range = t.split_key.as_ref().and_then(|key| range.predicate(key));
        let kind = TaskKind::Rows {
            chunk: step.chunk,
            predicate: both(range, p.condition.as_deref()),
            out: out_of(step.table),
        };
        p.chunks.push(ctx.queue.submit(db, Some(t), kind).await?);
        left[step.table] -= 1;
        if left[step.table] == 0
            && let Some(p) = pending[step.table].take()
            && ready.send(p).await.is_err()
        {
            return Err(Error::Internal(
                "the dump stopped collecting its tables' answers".into(),
            ));
        }
    }
    Ok(())
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
    /// The table's place in the order it was submitted in.
    pub(super) index: usize,
    table: Arc<Table>,
    /// `--where`: only the rows this accepts are read.
    condition: Option<String>,
    t0: Instant,
    /// In chunk order.
    chunks: Vec<oneshot::Receiver<Result<Outcome>>>,
}

/// One task of a database's data: one chunk of `table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    table: usize,
    chunk: usize,
}

/// The order a database's tasks are handed to the workers: longest first, so the dump does
/// not end with one worker busy on a big piece while the others wait.
///
/// Non-transactional tables come first, because commits stay blocked until they are done. Then
/// every chunk of every table by its share of the table's size, largest first; a table that
/// cannot be split is one big chunk and so starts early instead of being left for the end. The
/// chunks of one table keep their order.
fn schedule(tables: &[Arc<Table>], chunks: &[Vec<KeyRange>]) -> Vec<Step> {
    let mut steps: Vec<(bool, u64, Step)> = Vec::new();
    for (i, (t, ranges)) in tables.iter().zip(chunks).enumerate() {
        let share = t.estimated_bytes / ranges.len().max(1) as u64;
        for c in 0..ranges.len() {
            steps.push((t.is_transactional(), share, Step { table: i, chunk: c }));
        }
    }
    // Stable: equal keys keep the tables' order and each table's chunk order.
    steps.sort_by_key(|&(transactional, bytes, step)| {
        (transactional, std::cmp::Reverse(bytes), step.table)
    });
    steps.into_iter().map(|(.., step)| step).collect()
}

/// Collects one table's answers: sums its chunks.
pub(super) async fn table_outcome(
    ctx: &FileTasks,
    db: &Arc<str>,
    p: Pending,
) -> Result<(TableInfo, usize)> {
    let target = crate::quote::qualified(db, &p.table.name);
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut largest = 0usize;
    let mut nan = 0u64;
    let mut empty = 0u64;
    let mut checksum = RowChecksum::default();
    let chunk_count = p.chunks.len();
    let mut failure: Option<Error> = None;
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
                empty += s.empty_periods;
                checksum.combine(s.checksum);
            }
            _ => return Err(Error::Internal("rows task answered something else".into())),
        }
    }
    if empty > 0 {
        let what = format!(
            "{target}: {empty} history row(s) whose ROW START equals their ROW END were left \
             out (a row changed twice under one timestamp): no server takes such a row back \
             (ERROR 1525); no FOR SYSTEM_TIME AS OF sees them, but ALL, BETWEEN and FROM … TO \
             list them on the source"
        );
        if ctx.run.cfg.strict {
            return Err(Error::Unsupported(format!(
                "{what} (refused with --strict; without it the dump warns and goes on)"
            )));
        }
        ctx.progress.event(&Event::Warning(&what));
    }
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
            history_rows_left_out: empty,
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
            .map(|s| format!("{}#{}", tables[s.table].name, s.chunk))
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
                "myisam#0",
                // The table that cannot be split goes before the chunks of the one that can,
                // which are smaller pieces; they keep their key order.
                "nokey#0", "big#0", "big#1", "big#2", "big#3", "small#0",
            ]
        );
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
        let total: usize = chunks.iter().map(Vec::len).sum();
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
