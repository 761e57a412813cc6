//! A file's SQL on its way to the applier: opened (decrypted, decompressed, recognised as a
//! dump) before the server is touched, then cut into statements and classified by the splitter
//! on its own thread, which hands them over a bounded channel.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::load_data::{self, LoadData};
use crate::encrypt::Passphrase;
use crate::error::{Error, Result};
use crate::read::classify::{Kind, classify};
use crate::read::split::{Splitter, Statement};
use crate::read::{self, Metered};

/// Statements read ahead by the splitter thread: enough to keep it busy while a definition
/// waits for data to finish; few enough that memory stays a few statements.
const STATEMENT_QUEUE: usize = 8;

/// What the splitter thread sends; its failures come as errors (see [`Statements::next`]).
pub enum Item {
    /// With its LOAD DATA form when it is a row statement of our own dump, and whether it is
    /// a row statement of our own dump (whose rows must all arrive unchanged, see
    /// `execute::Check`).
    Statement(Statement, Kind, Option<LoadData>, bool),
    /// The end of the script, reached without error.
    End { completed: bool, sql_bytes: u64 },
}

/// The statements of one script as the splitter thread hands them over.
pub(super) struct Statements {
    rx: mpsc::Receiver<Result<Item>>,
    path: PathBuf,
}

impl Statements {
    /// The next statement, or the end of the script. The splitter's own failure (reading,
    /// decrypting, decompressing the file) is returned as the error; a splitter that stops
    /// without either is a bug, said as one rather than read as an end.
    pub(super) async fn next(&mut self) -> Result<Item> {
        self.rx.recv().await.unwrap_or_else(|| {
            Err(Error::Internal(format!(
                "the splitter of {} stopped without reporting",
                self.path.display()
            )))
        })
    }
}

/// Starts the splitter on its own thread over `reader` (the SQL of `path`). With `rows_as_load`
/// and a file our dump wrote, row statements also get their LOAD DATA form there, off the
/// async runtime; the flag going false (the server refuses LOCAL INFILE) stops that.
/// `no_backslash_escapes`: the server's own sql_mode has it, so the script is read under it
/// until it sets a mode of its own. A statement over `max_statement` bytes is an error.
fn start_reader(
    reader: impl Read + Send + 'static,
    path: &Path,
    rows_as_load: Arc<AtomicBool>,
    no_backslash_escapes: bool,
    max_statement: usize,
) -> Result<Statements> {
    let (tx, rx) = mpsc::channel(STATEMENT_QUEUE);
    let statements = Statements {
        rx,
        path: path.to_owned(),
    };
    let path = path.to_owned();
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
            loop {
                // The mode the statement was read under: our rows' escapes are the ones of a
                // session without NO_BACKSLASH_ESCAPES, and only then mean what `load_data` reads.
                let escapes = !s.no_backslash_escapes();
                let item = match s.next_statement() {
                    Ok(Some(st)) => {
                        let kind = classify(&st.sql);
                        let data = ours && matches!(kind, Kind::Data { .. });
                        let load = if data && escapes && rows_as_load.load(Ordering::Relaxed) {
                            load_data::convert(&st.sql)
                        } else {
                            None
                        };
                        Ok(Item::Statement(st, kind, load, data))
                    }
                    Ok(None) => Ok(Item::End {
                        completed: s.ends_with_completion_marker(),
                        sql_bytes: s.sql_bytes(),
                    }),
                    Err(e) => Err(Error::File {
                        action: "reading the SQL of",
                        path: path.clone(),
                        offset: Some(s.sql_bytes()),
                        source: e,
                    }),
                };
                let last = !matches!(item, Ok(Item::Statement(..)));
                if tx.blocking_send(item).is_err() || last {
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
/// (for progress), and whether row statements still come with their LOAD DATA form (see
/// [`start_reader`]; the applier turns that off when the server refuses LOCAL INFILE).
pub(super) struct Feedback {
    pub(super) read: Arc<AtomicU64>,
    pub(super) rows_as_load: Arc<AtomicBool>,
}

/// A file's SQL, opened (decrypted, decompressed) and recognised as a dump, not yet read.
pub(super) struct Opened {
    path: PathBuf,
    reader: Box<dyn std::io::Read + Send>,
    read: Arc<AtomicU64>,
    bytes: u64,
}

/// Opens a file's SQL on a blocking thread (the key derivation takes a while) and checks that
/// it is a dump: done for every file before the server is touched, so a wrong `--file` (a
/// binary, `/etc/passwd`) changes nothing there.
pub(super) async fn open_sql(path: &Path, pass: Option<&Passphrase>) -> Result<Opened> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::file("opening", path.to_owned(), e))?
        .len();
    let read = Arc::new(AtomicU64::new(0));
    let (p, pass, c) = (path.to_owned(), pass.cloned(), read.clone());
    let reader = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&p).map_err(|e| Error::file("opening", p.clone(), e))?;
        let sql = read::open_from(Metered::new(file, c, None), &p, pass.as_ref())?;
        let sql: Box<dyn std::io::Read + Send> = Box::new(read::recognise(sql, &p)?);
        Ok::<_, Error>(sql)
    })
    .await
    .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))??;
    Ok(Opened {
        path: path.to_owned(),
        reader,
        read,
        bytes,
    })
}

/// Starts the splitter over an opened file.
pub(super) fn start_script(
    opened: Opened,
    rows_as_load: bool,
    no_backslash_escapes: bool,
    max_statement: usize,
) -> Result<Script> {
    let rows_as_load = Arc::new(AtomicBool::new(rows_as_load));
    Ok(Script {
        statements: start_reader(
            opened.reader,
            &opened.path,
            rows_as_load.clone(),
            no_backslash_escapes,
            max_statement,
        )?,
        bytes: opened.bytes,
        feedback: Feedback {
            read: opened.read,
            rows_as_load,
        },
    })
}
