//! The run's log: every line the binary writes to stderr goes through here, so that with
//! `--log-format json` each one is a JSON object, and `--log-file` gets every event whatever the
//! terminal shows. Main ends every run with one `finished` event.
//!
//! Two kinds of lines arrive: *events* (a JSON object from the reporter: `table_done`,
//! `warning`, …) and *messages* (the text lines of `eprintln!`: "sfdbtools: warning: …").
//! With the text format events reach stderr only as the reporter's own rendering (bars, lines)
//! and messages as they are; with JSON both are objects with the same envelope. The log file
//! always holds JSON lines: it is for machines and for `grep`/`jq`, the terminal is for people.
//! Questions (`cli::prompt`, on the terminal) are not log lines: they only appear when someone
//! can answer.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use clap::ValueEnum;
use serde_json::{Map, Value, json};
use sfdbtools::Error;

/// How stderr is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// How much is logged: a line is kept when its level is at least as severe as this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    fn from_u8(v: u8) -> Level {
        match v {
            0 => Level::Error,
            1 => Level::Warn,
            3 => Level::Debug,
            _ => Level::Info,
        }
    }

    /// The config file's `log.level`: the old tool's names (logrus: `trace` … `panic`) too.
    pub fn parse(word: &str) -> Option<Level> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "error" | "fatal" | "panic" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" | "trace" => Level::Debug,
            _ => return None,
        })
    }
}

/// The log of this process. Set up from the raw arguments before anything can fail, so that
/// even a usage error is logged in the format asked for; the rest (level, file, ticket) once
/// the command line and the config are read.
struct Log {
    format: Format,
    level: AtomicU8,
    run_id: String,
    started: Instant,
    command: Mutex<Option<String>>,
    ticket: Mutex<Option<String>>,
    file: Mutex<Option<(PathBuf, File)>>,
    /// What the command reports for its `finished` event (files, sizes, verdict).
    result: Mutex<Map<String, Value>>,
}

static LOG: OnceLock<Log> = OnceLock::new();

fn log() -> &'static Log {
    LOG.get_or_init(|| Log::new(Format::Text))
}

impl Log {
    fn new(format: Format) -> Log {
        Log {
            format,
            level: AtomicU8::new(Level::Info as u8),
            run_id: format!("{:016x}", rand::random::<u64>()),
            started: Instant::now(),
            command: Mutex::new(None),
            ticket: Mutex::new(None),
            file: Mutex::new(None),
            result: Mutex::new(Map::new()),
        }
    }

    fn keeps(&self, level: Level) -> bool {
        level <= Level::from_u8(self.level.load(Ordering::Relaxed))
    }

    /// `event` with the envelope: time, level, run id, command and ticket first.
    fn envelope(&self, level: Level, event: Value) -> Value {
        let mut out = Map::new();
        out.insert(
            "ts".into(),
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        out.insert("level".into(), json!(level.name()));
        out.insert("run_id".into(), json!(self.run_id));
        out.insert(
            "command".into(),
            json!(*self.command.lock().unwrap_or_else(|e| e.into_inner())),
        );
        out.insert(
            "ticket".into(),
            json!(*self.ticket.lock().unwrap_or_else(|e| e.into_inner())),
        );
        match event {
            Value::Object(fields) => {
                for (k, v) in fields {
                    // The envelope's names are the envelope's: an event cannot overwrite them.
                    out.entry(k).or_insert(v);
                }
            }
            other => {
                out.insert("message".into(), other);
            }
        }
        Value::Object(out)
    }

    /// Writes the line to stderr (as is) and its JSON to the file.
    fn write(&self, level: Level, event: Value, text: Option<&str>, always: bool) {
        if !always && !self.keeps(level) {
            return;
        }
        let line = self.envelope(level, event).to_string();
        match (self.format, text) {
            (Format::Json, _) => stderr_line(&line),
            (Format::Text, Some(text)) => stderr_line(text),
            (Format::Text, None) => {}
        }
        if let Ok(mut file) = self.file.lock()
            && let Some((path, f)) = file.as_mut()
            && let Err(e) = writeln!(f, "{line}")
        {
            // Said once on the terminal, and the file given up: a full disk must not end a
            // backup, nor repeat the complaint for every event.
            let path = path.display().to_string();
            *file = None;
            stderr_line(&format!(
                "sfdbtools: warning: cannot write to the log file {path} ({e}); no longer \
                 logging to it"
            ));
        }
    }
}

/// A line on stderr; a terminal gone (EPIPE) is not this run's failure.
fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The first thing main does: the format from the raw arguments (clap has not parsed them
/// yet, and its own errors must be logged in that format too).
pub fn begin(args: &[OsString]) {
    let json = args.windows(2).any(|w| {
        w[0] == "--log-format"
            && w[1]
                .to_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("json"))
    }) || args.iter().any(|a| {
        a.to_str()
            .is_some_and(|a| a.eq_ignore_ascii_case("--log-format=json"))
    });
    let _ = LOG.set(Log::new(if json { Format::Json } else { Format::Text }));
}

/// Whether lines of `level` are kept (`--log-level`): the reporter's drawing follows it too.
pub fn keeps(level: Level) -> bool {
    log().keeps(level)
}

/// The command line and the config are read: the command's name, the level, and the file.
/// A log file that cannot be opened fails the run before it does anything (exit 2): a run
/// whose log was asked for and is missing is a run nobody can account for.
pub fn configure(command: &str, level: Level, file: Option<&Path>) -> Result<(), Error> {
    let log = log();
    *log.command.lock().unwrap_or_else(|e| e.into_inner()) = Some(command.to_owned());
    log.level.store(level as u8, Ordering::Relaxed);
    if let Some(path) = file {
        let f = open_append(path).map_err(|e| {
            Error::Usage(format!(
                "cannot open the log file {} for appending: {e}; fix the path or its \
                 permissions (--log-file, config log.file)",
                path.display()
            ))
        })?;
        *log.file.lock().unwrap_or_else(|e| e.into_inner()) = Some((path.to_owned(), f));
    }
    Ok(())
}

/// Appends, creating the file readable by its owner only: the events name databases, hosts
/// and files, never secrets, but a log is not for everyone on the host.
fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

/// The run's ticket, once known: in every later line's envelope.
pub fn set_ticket(ticket: &str) {
    if !ticket.is_empty() {
        *log().ticket.lock().unwrap_or_else(|e| e.into_inner()) = Some(ticket.to_owned());
    }
}

/// A structured event from the reporter. On stderr only with JSON: with text, the reporter
/// draws it itself.
pub fn event(level: Level, event: Value) {
    log().write(level, event, None, false);
}

/// A text line of the binary (`eprintln!`): as is on a text stderr, as a `message` object
/// otherwise; its level read from its prefix.
pub fn message(line: &str) {
    let (level, text) = if let Some(rest) = line.strip_prefix("sfdbtools: error: ") {
        (Level::Error, rest)
    } else if let Some(rest) = line.strip_prefix("sfdbtools: warning: ") {
        (Level::Warn, rest)
    } else {
        (
            Level::Info,
            line.strip_prefix("sfdbtools: ").unwrap_or(line),
        )
    };
    let event = if level == Level::Warn {
        json!({"event": "warning", "message": text})
    } else {
        json!({"event": "message", "message": text})
    };
    // Errors are never filtered out; the others follow the level on both sides.
    log().write(level, event, Some(line), level == Level::Error);
}

/// Text for the terminal only: the reporter's rendering of an event it has already logged.
pub fn terminal(line: &str) {
    if log().format == Format::Text {
        stderr_line(line);
    }
}

/// Fields for the `finished` event (merged: files, sizes, the verdict).
pub fn result(fields: Value) {
    if let Value::Object(fields) = fields
        && let Ok(mut r) = log().result.lock()
    {
        r.extend(fields);
    }
}

/// The end of every run: the error (if any) said once, then the `finished` event, which is
/// never filtered out. Returns the exit code.
pub fn finish(outcome: Result<(), Error>) -> i32 {
    let log = log();
    let (status, code, error) = match &outcome {
        Ok(()) => ("ok", 0, None),
        // The operator's own answer, not a failure: said without "error", as a message.
        Err(e @ Error::Cancelled(_)) => {
            log.write(
                Level::Warn,
                json!({"event": "cancelled", "message": e.to_string(), "exit_code": e.exit_code()}),
                Some(&format!("sfdbtools: {e}")),
                true,
            );
            ("cancelled", e.exit_code(), None)
        }
        Err(e) => {
            let code = e.exit_code();
            let status = match code {
                130 => "interrupted",
                2 => "usage_error",
                _ => "failed",
            };
            (status, code, Some(e.to_string()))
        }
    };
    if let Some(message) = &error {
        log.write(
            Level::Error,
            json!({"event": "error", "message": message, "exit_code": code}),
            Some(&format!("sfdbtools: error: {message}")),
            true,
        );
    }
    finished(status, code, error);
    code
}

/// A clap error (usage, or help and version): printed as clap does on a text stderr; with
/// JSON, a usage error becomes an `error` and a `finished` event. Returns the exit code.
pub fn usage(e: clap::Error) -> i32 {
    let code = e.exit_code();
    if !e.use_stderr() || log().format == Format::Text {
        // Help and --version are the command's answer, on stdout.
        let _ = e.print();
        if code != 0 {
            finished("usage_error", code, Some(e.kind().to_string()));
        }
        return code;
    }
    let rendered = e.render().to_string();
    let message = rendered.trim_end();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    log().write(
        Level::Error,
        json!({"event": "error", "message": message, "exit_code": code}),
        None,
        true,
    );
    let first = message.lines().next().unwrap_or_default().to_owned();
    finished("usage_error", code, Some(first));
    code
}

/// A panic: logged (as an error event with JSON), so that the `finished` event that follows
/// is not the only trace of it.
pub fn panicked(message: &str, location: &str) {
    log().write(
        Level::Error,
        json!({"event": "error", "message": format!("internal error (a bug): {message}"), "at": location}),
        Some(&format!(
            "sfdbtools: error: internal error (a bug, please report it): {message} at {location}"
        )),
        true,
    );
}

fn finished(status: &str, code: i32, error: Option<String>) {
    let log = log();
    let mut fields = Map::new();
    fields.insert("event".into(), json!("finished"));
    fields.insert("status".into(), json!(status));
    fields.insert("exit_code".into(), json!(code));
    fields.insert("seconds".into(), json!(log.started.elapsed().as_secs_f64()));
    if let Some(e) = error {
        fields.insert("error".into(), json!(e));
    }
    if let Ok(mut r) = log.result.lock() {
        for (k, v) in std::mem::take(&mut *r) {
            fields.entry(k).or_insert(v);
        }
    }
    let level = if code == 0 { Level::Info } else { Level::Error };
    log.write(level, Value::Object(fields), None, true);
    if let Ok(mut file) = log.file.lock()
        && let Some((_, f)) = file.as_mut()
    {
        let _ = f.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_the_old_tools_names_and_order_by_severity() {
        assert_eq!(Level::parse(" WARNING "), Some(Level::Warn));
        assert_eq!(Level::parse("trace"), Some(Level::Debug));
        assert_eq!(Level::parse("fatal"), Some(Level::Error));
        assert_eq!(Level::parse("loud"), None);
        assert!(Level::Error < Level::Warn && Level::Info < Level::Debug);
        let log = Log::new(Format::Json);
        log.level.store(Level::Warn as u8, Ordering::Relaxed);
        assert!(log.keeps(Level::Error) && log.keeps(Level::Warn) && !log.keeps(Level::Info));
    }

    #[test]
    fn the_envelope_comes_first_and_cannot_be_overwritten() {
        let log = Log::new(Format::Json);
        *log.ticket.lock().unwrap() = Some("T-1".into());
        let v = log.envelope(
            Level::Warn,
            json!({"event": "warning", "level": "info", "ticket": "forged", "message": "m"}),
        );
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            &keys[..5],
            ["ts", "level", "run_id", "command", "ticket"],
            "{v}"
        );
        assert_eq!(
            (v["level"].as_str(), v["ticket"].as_str()),
            (Some("warn"), Some("T-1"))
        );
        assert_eq!(v["message"], "m");
        let ts = v["ts"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(log.run_id.len(), 16);
    }
}
