//! The worker pool: N workers inside one snapshot, each with its own serialiser thread,
//! taking tasks (catalogs, key bounds, counts, row chunks) from one shared queue. A worker's
//! row reader, when it has one, does everything read inside the snapshot (counts, key bounds,
//! rows); its mysql_async connection the catalogs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::catalog::{self, DatabaseCatalog, Table};
use crate::connect::{QueryConn, cell_text};
use crate::error::{Error, Result};
use crate::output::Chunk;
use crate::quote::{ident, qualified};
use crate::rows::{self, Serializer, TableStats};
use crate::select::TableFilter;
use crate::snapshot::Worker;

/// Tasks waiting for a free worker: a few per worker keep them busy; the rest wait in their
/// producers, so memory does not grow with the number of tables.
pub const TASK_QUEUE_PER_WORKER: usize = 4;

pub enum TaskKind {
    /// The catalog of one database: the tables and views `keep` takes, and the rest.
    Catalog { keep: Arc<TableFilter> },
    /// MIN and MAX of the split column, for chunk boundaries.
    Bounds { column: String },
    /// Rows of one chunk into `out`.
    Rows {
        chunk: usize,
        predicate: Option<String>,
        out: mpsc::Sender<Chunk>,
    },
}

pub enum Outcome {
    Catalog(Box<DatabaseCatalog>),
    Bounds(Option<(i128, i128)>),
    Rows(TableStats),
}

pub struct Task {
    pub db: Arc<str>,
    /// None for `Catalog`.
    pub table: Option<Arc<Table>>,
    pub kind: TaskKind,
    pub done: oneshot::Sender<Result<Outcome>>,
}

/// Handle producers use to submit tasks.
#[derive(Clone)]
pub struct Queue {
    tx: mpsc::Sender<Task>,
    cancelled: Arc<AtomicBool>,
}

impl Queue {
    /// Submits a task; the answer arrives on the returned receiver.
    pub async fn submit(
        &self,
        db: &Arc<str>,
        table: Option<&Arc<Table>>,
        kind: TaskKind,
    ) -> Result<oneshot::Receiver<Result<Outcome>>> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Task {
                db: db.clone(),
                table: table.cloned(),
                kind,
                done,
            })
            .await
            .map_err(|_| cancelled())?;
        Ok(rx)
    }

    /// Stops the pool taking new tasks; queued ones are dropped (their receivers see it).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

pub fn cancelled() -> Error {
    Error::Stopped("the dump was stopped because another part of it failed".into())
}

/// Waits for a task's answer.
pub async fn outcome(rx: oneshot::Receiver<Result<Outcome>>) -> Result<Outcome> {
    rx.await.map_err(|_| cancelled())?
}

pub struct Pool {
    pub queue: Queue,
    handles: Vec<tokio::task::JoinHandle<Worker>>,
}

impl Pool {
    /// Starts one task per worker. Workers come back from [`Pool::join`].
    pub fn start(
        conns: Vec<Worker>,
        statement_size: usize,
        progress: Arc<dyn crate::progress::Progress>,
    ) -> Result<Pool> {
        let (tx, rx) = mpsc::channel(TASK_QUEUE_PER_WORKER * conns.len().max(1));
        let rx = Arc::new(Mutex::new(rx));
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for conn in conns {
            let serializer = Serializer::start(statement_size, progress.clone())?;
            handles.push(tokio::spawn(worker(
                conn,
                serializer,
                rx.clone(),
                cancelled.clone(),
            )));
        }
        Ok(Pool {
            queue: Queue { tx, cancelled },
            handles,
        })
    }

    /// Waits for the workers to drain and stop; returns their connections.
    pub async fn join(self) -> Vec<Worker> {
        let Pool { queue, handles } = self;
        drop(queue);
        let mut conns = Vec::new();
        for h in handles {
            if let Ok(c) = h.await {
                conns.push(c);
            }
        }
        conns
    }
}

async fn worker(
    mut conn: Worker,
    serializer: Serializer,
    rx: Arc<Mutex<mpsc::Receiver<Task>>>,
    cancelled: Arc<AtomicBool>,
) -> Worker {
    loop {
        let task = { rx.lock().await.recv().await };
        let Some(task) = task else { break };
        if cancelled.load(Ordering::SeqCst) {
            continue; // dropping `done` tells the producer
        }
        let result = run(&mut conn, &serializer, &task).await;
        if result.is_err() {
            cancelled.store(true, Ordering::SeqCst);
        }
        let _ = task.done.send(result);
    }
    drop(serializer);
    conn
}

async fn run(worker: &mut Worker, serializer: &Serializer, task: &Task) -> Result<Outcome> {
    let conn = &mut worker.conn;
    let db = &*task.db;
    let table = || {
        task.table
            .as_deref()
            .ok_or_else(|| Error::Internal("a table task without a table".into()))
    };
    match &task.kind {
        TaskKind::Catalog { keep } => Ok(Outcome::Catalog(Box::new(
            catalog::load_database(conn, db, |t| keep.takes(db, t)).await?,
        ))),
        TaskKind::Bounds { column } => {
            let t = table()?;
            Ok(Outcome::Bounds(match &mut worker.rows {
                Some(r) => bounds(r, db, t, column).await?,
                None => bounds(conn, db, t, column).await?,
            }))
        }
        TaskKind::Rows {
            chunk,
            predicate,
            out,
        } => {
            let t = table()?;
            let predicate = predicate.as_deref();
            // The left-out history rows are counted on the connection that read the rows,
            // so in the same snapshot.
            Ok(Outcome::Rows(match &mut worker.rows {
                Some(r) => {
                    let mut stats =
                        rows::dump_table_wire(r, serializer, out, db, t, *chunk, predicate).await?;
                    stats.empty_periods = rows::empty_periods(r, db, t, predicate).await?;
                    stats
                }
                None => {
                    let mut stats =
                        rows::dump_table(conn, serializer, out, db, t, *chunk, predicate).await?;
                    stats.empty_periods = rows::empty_periods(conn, db, t, predicate).await?;
                    stats
                }
            }))
        }
    }
}

/// MIN and MAX of `column` in the snapshot, on either connection of a worker; None when the
/// table is empty or the bounds are not integers.
async fn bounds<C: QueryConn>(
    conn: &mut C,
    db: &str,
    table: &Table,
    column: &str,
) -> Result<Option<(i128, i128)>> {
    let target = qualified(db, &table.name);
    let sql = format!(
        "SELECT MIN({c}), MAX({c}) FROM {}",
        table.source(db),
        c = ident(column)
    );
    let rows = conn
        .text_rows(&sql)
        .await
        .map_err(|e| Error::server(format!("reading the key range of {target}"), e))?;
    let row = rows
        .first()
        .filter(|r| r.len() == 2)
        .map(|r| (cell_text(&r[0]), cell_text(&r[1])));
    Ok(match row {
        Some((Some(lo), Some(hi))) => lo.parse().ok().zip(hi.parse().ok()),
        _ => None,
    })
}
