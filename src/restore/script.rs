//! A file's SQL on its way to the applier: opened (decrypted, decompressed, recognised as a
//! dump) before the server is touched, then cut into statements and classified by the splitter
//! on its own thread, which hands them over a bounded channel.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::load_data::{self, Binary, LoadData};
use super::proof::Proof;
use crate::encrypt::Passphrase;
use crate::error::{Error, Result};
use crate::read::classify::{Kind, classify};
use crate::read::split::{Splitter, Statement};
use crate::read::{self, Metered};

/// Statements read ahead by the splitter thread: enough to keep it busy while a definition
/// waits for data to finish; few enough that memory stays a few statements.
const STATEMENT_QUEUE: usize = 8;

/// The largest row statement also given its LOAD DATA form (a second copy of its rows): the
/// largest our dumps write (`--statement-size` 16M). A larger one (a single row that big) runs
/// as the INSERT it is, so that memory holds one copy of it.
const CONVERT_AT_MOST: usize = crate::config::run::MAX_STATEMENT_SIZE + 1024;

/// Bytes those statements (and their LOAD DATA forms), and the one the applier holds, may
/// take at once: with statements of up to `--max-statement-size`, eight of them would be eight
/// times the limit. A statement larger than this waits until the applier is done with the one
/// before (has run it, or handed it to a data connection) and goes alone.
pub(super) const QUEUE_BYTES: u64 = 16 << 20;

/// What the splitter thread sends; its failures come as errors (see [`Statements::next`]).
pub enum Item {
    /// With its LOAD DATA form when it is a row statement of our own dump, and whether the
    /// script is our own dump (its row statements' rows must all arrive unchanged, see
    /// `execute::Check`; its definitions carry only the qualifiers it had to keep).
    Statement(Statement, Kind, Option<LoadData>, bool),
    /// The end of the script, reached without error; `ours`: it starts with our dump's
    /// header.
    End {
        completed: bool,
        sql_bytes: u64,
        ours: bool,
    },
}

impl Item {
    /// The bytes it holds, as the queue counts them.
    fn bytes(&self) -> u64 {
        match self {
            Item::Statement(st, _, load, _) => {
                (st.sql.len()
                    + load
                        .as_ref()
                        .map_or(0, |l| l.data.len() + l.statement.len())) as u64
            }
            Item::End { .. } => 0,
        }
    }
}

/// The bytes queued between the splitter thread and the applier (see [`QUEUE_BYTES`]): the
/// thread waits for room, the applier frees it as it takes each statement.
#[derive(Default)]
struct Queued {
    state: std::sync::Mutex<QueuedState>,
    freed: std::sync::Condvar,
}

#[derive(Default)]
struct QueuedState {
    bytes: u64,
    /// The applier stopped taking statements: the thread must not wait for room.
    closed: bool,
}

impl Queued {
    /// Waits until `n` bytes fit (or the queue is empty), then counts them; false when the
    /// applier is gone.
    fn reserve(&self, n: u64) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        // Zero bytes: wait for the queue to be empty (see `start_reader`).
        while !s.closed && s.bytes > 0 && (n == 0 || s.bytes + n > QUEUE_BYTES) {
            s = match self.freed.wait(s) {
                Ok(s) => s,
                Err(_) => return false,
            };
        }
        s.bytes += n;
        !s.closed
    }

    fn release(&self, n: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.bytes = s.bytes.saturating_sub(n);
        }
        self.freed.notify_all();
    }

    fn close(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.closed = true;
        }
        self.freed.notify_all();
    }
}

/// The statements of one script as the splitter thread hands them over.
pub(super) struct Statements {
    rx: mpsc::Receiver<Result<Item>>,
    path: PathBuf,
    queued: Arc<Queued>,
    /// The bytes of the statement last handed out: still counted until the next is asked
    /// for, since the applier holds it until then (running it, or waiting to dispatch it).
    held: u64,
}

impl Statements {
    /// The next statement, or the end of the script. The splitter's own failure (reading,
    /// decrypting, decompressing the file) is returned as the error; a splitter that stops
    /// without either is a bug, said as one rather than read as an end.
    pub(super) async fn next(&mut self) -> Result<Item> {
        self.queued.release(std::mem::take(&mut self.held));
        let item = self.rx.recv().await.unwrap_or_else(|| {
            Err(Error::Internal(format!(
                "the splitter of {} stopped without reporting",
                self.path.display()
            )))
        });
        if let Ok(i) = &item {
            self.held = i.bytes();
        }
        item
    }
}

impl Drop for Statements {
    /// A restore that stops early must not leave the splitter thread waiting for room.
    fn drop(&mut self) {
        self.queued.close();
    }
}

/// Starts the splitter on its own thread over `reader` (the SQL of `path`). With `rows_as_load`
/// allowed and a file our dump wrote, row statements also get their LOAD DATA form there, off
/// the async runtime; the flag going false (the server refuses LOCAL INFILE) stops that.
/// `no_backslash_escapes`: the server's own sql_mode has it, so the script is read under it
/// until it sets a mode of its own. A statement over `max_statement` bytes is an error.
fn start_reader(
    opened: Opened,
    rows_as_load: RowsAsLoad,
    no_backslash_escapes: bool,
    max_statement: usize,
) -> Result<Statements> {
    let Opened {
        path,
        reader,
        read,
        proof,
        digest,
        ..
    } = opened;
    let (tx, rx) = mpsc::channel(STATEMENT_QUEUE);
    let queued = Arc::new(Queued::default());
    let statements = Statements {
        rx,
        path: path.clone(),
        queued: queued.clone(),
        held: 0,
    };
    std::thread::Builder::new()
        .name("sfdb-split".into())
        .spawn(move || {
            let (ours, reader) = match written_by_us(reader) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Err(Error::File {
                        action: "reading the SQL of",
                        path,
                        offset: Some(0),
                        source: e,
                    }));
                    return;
                }
            };
            let mut s = Splitter::new(reader)
                .with_no_backslash_escapes(no_backslash_escapes)
                .with_max_statement(max_statement);
            // Tables whose rows go as INSERTs (`load_data::numbers_nulls_on_load`), by name,
            // whatever their database: another table of the same name only loses the faster
            // form.
            let mut inserts_only: HashSet<String> = HashSet::new();
            loop {
                // The mode the statement was read under: our rows' escapes are the ones of a
                // session without NO_BACKSLASH_ESCAPES, and only then mean what `load_data` reads.
                let escapes = !s.no_backslash_escapes();
                let item = match s.next_statement() {
                    Ok(Some(st)) => {
                        let kind = classify(&st.sql);
                        if ours
                            && matches!(kind, Kind::TableDdl)
                            && let Some(table) = load_data::numbers_nulls_on_load(&st.sql)
                        {
                            inserts_only.insert(table);
                        }
                        let data = ours && matches!(kind, Kind::Data { .. });
                        let convert = data
                            && escapes
                            && st.sql.len() <= CONVERT_AT_MOST
                            && !matches!(&kind, Kind::Data { table, .. } if inserts_only.contains(table));
                        let load = if convert && rows_as_load.allowed.load(Ordering::Relaxed) {
                            load_data::convert(&st.sql, rows_as_load.binary)
                        } else {
                            None
                        };
                        Ok(Item::Statement(st, kind, load, ours))
                    }
                    Ok(None) => {
                        let (completed, sql_bytes) =
                            (s.ends_with_completion_marker(), s.sql_bytes());
                        let hashed = digest.as_deref().map(|d| (d, read.load(Ordering::Relaxed)));
                        proof
                            .check_end(&path, ours, completed, sql_bytes, hashed)
                            .map(|()| Item::End {
                                completed,
                                sql_bytes,
                                ours,
                            })
                    }
                    Err(e) => Err(Error::File {
                        action: "reading the SQL of",
                        path: path.clone(),
                        offset: Some(s.sql_bytes()),
                        source: e,
                    }),
                };
                let last = !matches!(item, Ok(Item::Statement(..)));
                let bytes = item.as_ref().map_or(0, Item::bytes);
                let room = item.is_err() || queued.reserve(bytes);
                if !room || tx.blocking_send(item).is_err() || last {
                    break;
                }
                // A statement that went alone is not read ahead of: the next one, as large,
                // would be a third copy in memory while the applier runs this one.
                if bytes >= QUEUE_BYTES && !queued.reserve(0) {
                    break;
                }
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the splitter thread: {e}")))?;
    Ok(statements)
}

/// Whether the script starts with our dump's header line (so its session is `SET NAMES
/// utf8mb4` without NO_BACKSLASH_ESCAPES, and its rows have the shape `load_data` converts), and
/// the script again, whole.
fn written_by_us(mut reader: impl Read) -> std::io::Result<(bool, impl Read)> {
    const HEADER: &[u8] = b"-- sfdbtools ";
    let mut head = Vec::with_capacity(HEADER.len());
    (&mut reader)
        .take(HEADER.len() as u64)
        .read_to_end(&mut head)?;
    Ok((head == HEADER, std::io::Cursor::new(head).chain(reader)))
}

/// A script being read: its statements, the size of the file, and what its reader shares with
/// the applier.
pub(super) struct Script {
    pub(super) statements: Statements,
    pub(super) bytes: u64,
    pub(super) feedback: Feedback,
}

/// What the applier and the splitter thread of a file share: how far the file has been read
/// (for progress), and how row statements go as LOAD DATA.
pub(super) struct Feedback {
    pub(super) read: Arc<AtomicU64>,
    pub(super) rows_as_load: RowsAsLoad,
}

/// Whether our row statements still come with their LOAD DATA form (see [`start_reader`]; the
/// applier turns that off for every connection when the server refuses LOCAL INFILE), and the
/// form binary values take there (a statement converted again takes the same).
#[derive(Clone)]
pub(super) struct RowsAsLoad {
    pub(super) allowed: Arc<AtomicBool>,
    pub(super) binary: Binary,
}

/// A file's SQL, opened (decrypted, decompressed) and recognised as a dump, not yet read.
pub(super) struct Opened {
    path: PathBuf,
    /// The database its header comment names (see `read::header_database`).
    pub(super) header_database: Option<String>,
    reader: Box<dyn std::io::Read + Send>,
    read: Arc<AtomicU64>,
    /// Its size on disk.
    pub(super) bytes: u64,
    proof: Proof,
    /// The SHA-256 of the bytes read so far, when the metadata records one to compare with.
    digest: Option<Arc<Mutex<Sha256>>>,
}

impl Opened {
    /// SQL that arrives as it is made (`db-copy`: the source's dump through a pipe): nothing
    /// to decrypt, decompress or prove against metadata; `name` stands for it in messages.
    pub(super) fn stream(name: PathBuf, reader: Box<dyn Read + Send>) -> Opened {
        let read = Arc::new(AtomicU64::new(0));
        Opened {
            path: name,
            header_database: None,
            reader: Box::new(Metered::new(reader, read.clone(), None)),
            read,
            bytes: 0,
            proof: Proof::none(),
            digest: None,
        }
    }

    /// SQL held whole in memory (`db-copy --grants`: the source's accounts file).
    pub(super) fn in_memory(name: PathBuf, sql: Vec<u8>) -> Opened {
        let bytes = sql.len() as u64;
        let mut o = Opened::stream(name, Box::new(std::io::Cursor::new(sql)));
        o.bytes = bytes;
        o
    }
}

/// Opens a file's SQL on a blocking thread (the key derivation takes a while) and checks that
/// it is a dump: done for every file before the server is touched, so a wrong `--file` (a
/// binary, `/etc/passwd`) or a file whose size is not the one its metadata records changes
/// nothing there.
pub(super) async fn open_sql(
    path: &Path,
    pass: Option<&Passphrase>,
    proof: Proof,
) -> Result<Opened> {
    let bytes = read::source::size(path).map_err(|e| Error::file("opening", path.to_owned(), e))?;
    proof.check_size(path, bytes)?;
    let read = Arc::new(AtomicU64::new(0));
    let digest = proof
        .sha256
        .is_some()
        .then(|| Arc::new(Mutex::new(Sha256::new())));
    let (p, pass, c, d) = (path.to_owned(), pass.cloned(), read.clone(), digest.clone());
    let pr = proof.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let file = read::source::open(&p).map_err(|e| Error::file("opening", p.clone(), e))?;
        let opened = read::open_from(Metered::new(file, c.clone(), d.clone()), &p, pass.as_ref())
            .and_then(|sql| read::recognise(sql, &p));
        match (opened, &d) {
            (Ok(sql), _) => {
                let named = read::header_database(sql.get_ref().0.get_ref());
                Ok((Box::new(sql) as Box<dyn std::io::Read + Send>, named))
            }
            (Err(e @ Error::Usage(_)), _) | (Err(e), None) => Err(e),
            (Err(e), Some(d)) => Err(pr.explain(&p, e, d, c.load(Ordering::Relaxed))),
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))??;
    let (reader, header_database) = reader;
    Ok(Opened {
        path: path.to_owned(),
        header_database,
        reader,
        read,
        bytes,
        proof,
        digest,
    })
}

/// Starts the splitter over an opened file; `rows_as_load`: our row statements also come in
/// their LOAD DATA form, with binary values in this form.
pub(super) fn start_script(
    opened: Opened,
    rows_as_load: Option<Binary>,
    no_backslash_escapes: bool,
    max_statement: usize,
) -> Result<Script> {
    let rows_as_load = RowsAsLoad {
        allowed: Arc::new(AtomicBool::new(rows_as_load.is_some())),
        binary: rows_as_load.unwrap_or(Binary::Hex),
    };
    let (bytes, read) = (opened.bytes, opened.read.clone());
    Ok(Script {
        statements: start_reader(
            opened,
            rows_as_load.clone(),
            no_backslash_escapes,
            max_statement,
        )?,
        bytes,
        feedback: Feedback { read, rows_as_load },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{RecvTimeoutError, channel};
    use std::time::Duration;

    /// Starts a thread that reserves `n` bytes and reports what `reserve` answered.
    fn reserving(q: &Arc<Queued>, n: u64) -> std::sync::mpsc::Receiver<bool> {
        let (tx, rx) = channel();
        let q = q.clone();
        std::thread::spawn(move || tx.send(q.reserve(n)).unwrap());
        rx
    }

    #[test]
    fn the_queue_holds_at_most_its_bytes_and_a_large_statement_goes_alone() {
        let q = Arc::new(Queued::default());
        // Alone, a statement of any size fits.
        assert!(q.reserve(QUEUE_BYTES * 4));
        let waiter = reserving(&q, 1);
        // It cannot pass until the room is freed, however long that takes.
        assert_eq!(
            waiter.recv_timeout(Duration::from_millis(100)),
            Err(RecvTimeoutError::Timeout)
        );
        q.release(QUEUE_BYTES * 4);
        assert_eq!(waiter.recv_timeout(Duration::from_secs(30)), Ok(true));
        // Small ones share the room.
        assert!(q.reserve(QUEUE_BYTES / 2 - 1));
        assert!(q.reserve(QUEUE_BYTES / 2));
        // Zero bytes: after a statement that went alone, wait for the queue to be empty.
        let waiter = reserving(&q, 0);
        assert_eq!(
            waiter.recv_timeout(Duration::from_millis(100)),
            Err(RecvTimeoutError::Timeout)
        );
        q.release(QUEUE_BYTES / 2);
        assert_eq!(
            waiter.recv_timeout(Duration::from_millis(100)),
            Err(RecvTimeoutError::Timeout),
            "passed with bytes still queued"
        );
        // The 1 byte of the first waiter too.
        q.release(QUEUE_BYTES / 2 - 1 + 1);
        assert_eq!(waiter.recv_timeout(Duration::from_secs(30)), Ok(true));
    }

    /// The statement the applier holds still counts: the next one over the room waits until
    /// the applier asks for another.
    #[tokio::test]
    async fn the_statement_in_the_applier_s_hands_counts_until_the_next_is_asked_for() {
        let (tx, rx) = mpsc::channel(STATEMENT_QUEUE);
        let queued = Arc::new(Queued::default());
        let mut statements = Statements {
            rx,
            path: PathBuf::from("f.sql"),
            queued: queued.clone(),
            held: 0,
        };
        let big = Statement {
            sql: vec![b'x'; QUEUE_BYTES as usize],
            at: Default::default(),
            lexing: Default::default(),
        };
        assert!(queued.reserve(QUEUE_BYTES));
        tx.send(Ok(Item::Statement(big, Kind::Other, None, false)))
            .await
            .unwrap();
        assert!(matches!(statements.next().await, Ok(Item::Statement(..))));
        let bytes = |q: &Queued| q.state.lock().unwrap().bytes;
        assert_eq!(
            bytes(&queued),
            QUEUE_BYTES,
            "released while the applier holds it"
        );
        tx.send(Ok(Item::End {
            completed: true,
            sql_bytes: 0,
            ours: false,
        }))
        .await
        .unwrap();
        assert!(matches!(statements.next().await, Ok(Item::End { .. })));
        assert_eq!(bytes(&queued), 0);
    }

    #[test]
    fn an_applier_that_stops_releases_the_waiting_splitter() {
        let q = Arc::new(Queued::default());
        assert!(q.reserve(QUEUE_BYTES));
        let waiter = reserving(&q, QUEUE_BYTES);
        q.close();
        assert_eq!(waiter.recv_timeout(Duration::from_secs(30)), Ok(false));
        assert!(!q.reserve(1), "a closed queue took a statement");
    }
}
