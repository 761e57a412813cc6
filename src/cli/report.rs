//! How the binary shows a run: bars on a terminal, a log line every few seconds otherwise,
//! JSON events for monitoring, nothing but errors with `-q`; and the closing summaries. (A
//! dry run's plan and `verify`'s checks are the command's answer on stdout, not a log: each
//! command's module prints its own.)

mod bars;
mod live;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::HumanCount;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};
use serde_json::json;
use sfdbtools::dump::BackupReport;
use sfdbtools::metadata::{SnapshotInfo, human_size};
use sfdbtools::progress::{Event, Progress, Tally};
use sfdbtools::quote::ident;
use sfdbtools::restore::accounts::AccountsReport;
use sfdbtools::restore::select::Selected;
use sfdbtools::restore::{FileReport, RestoreReport};

use super::log::{self, Level};
use bars::{Counts, Reading};

/// How often a progress line is logged when no terminal shows bars.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// How often the bars are redrawn: the clocks run even when nothing moves.
const TICK: Duration = Duration::from_millis(200);

/// A restore's table line that received nothing for this long goes: interleaved tables that
/// are finished are only reported loaded at the next flush point, which may be far off.
const TABLE_LINE_IDLE: Duration = Duration::from_secs(2);

/// One table's line under the overall bar.
struct TableLine {
    bar: ProgressBar,
    /// When it last received rows (restore), to remove it once idle.
    touched: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Bars,
    Lines,
    Json,
    Quiet,
}

impl Style {
    pub fn choose(quiet: bool, json: bool) -> Style {
        match (json, quiet) {
            (true, _) => Style::Json,
            (false, true) => Style::Quiet,
            _ if std::io::stderr().is_terminal() => Style::Bars,
            _ => Style::Lines,
        }
    }
}

pub struct Reporter {
    style: Style,
    started: Instant,
    /// Rows and bytes so far, as the bars draw them.
    counts: Arc<Counts>,
    /// The rows of a dump or `verify --against`: the bar's position and total, and when the
    /// rows were planned (the log lines' rate runs from there).
    tally: Mutex<(Tally, Instant)>,
    last_line: Mutex<Instant>,
    /// The files a restore or verify reads.
    reading: Mutex<Reading>,
    multi: MultiProgress,
    /// Not drawn until work with a total (or, rows without one, as a spinner) starts: see
    /// [`Reporter::show_overall`].
    overall: ProgressBar,
    shown: AtomicBool,
    /// Table lines by `db.table` (bars only).
    tables: Mutex<HashMap<String, TableLine>>,
    /// A `db-copy`: the dump's events say what is read from the source, the restore's what is
    /// loaded into the target; the bars follow the rows read (the pipe keeps the load close
    /// behind), since the stream has no size to count bytes against.
    copy: bool,
}

impl Reporter {
    pub fn new(style: Style) -> Reporter {
        let multi = MultiProgress::with_draw_target(if style == Style::Bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Reporter {
            style,
            started: Instant::now(),
            counts: Arc::new(Counts::default()),
            tally: Mutex::new((Tally::default(), Instant::now())),
            last_line: Mutex::new(Instant::now()),
            reading: Mutex::new(Reading::default()),
            multi,
            // Hidden until shown: a bar of no work (`0/0`) is never drawn, not even when a
            // run fails before any.
            overall: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
            shown: AtomicBool::new(false),
            tables: Mutex::new(HashMap::new()),
            copy: false,
        }
    }

    /// The reporter of a `db-copy` (see [`Reporter::copy`]).
    pub fn for_copy(style: Style) -> Reporter {
        Reporter {
            copy: true,
            ..Reporter::new(style)
        }
    }

    /// A line for the terminal (the rendering of something the log has recorded), that must
    /// not tear the bars.
    fn say(&self, line: &str) {
        match self.style {
            Style::Bars => {
                let _ = self.multi.println(line);
            }
            _ => log::terminal(line),
        }
    }

    /// A structured event of the binary's own (an `info` one) for the log.
    pub fn json(&self, value: serde_json::Value) {
        log::event(Level::Info, value);
    }

    /// Whether a periodic progress line is due (one every [`LOG_EVERY`], for the log and
    /// for the text lines off a terminal).
    fn progress_due(&self) -> bool {
        let Ok(mut last) = self.last_line.try_lock() else {
            return false;
        };
        if last.elapsed() < LOG_EVERY {
            return false;
        }
        *last = Instant::now();
        true
    }

    /// Runs `question` with the bars hidden, so that it and its answer stay readable.
    pub fn asking<T>(&self, question: impl FnOnce() -> T) -> T {
        self.multi.suspend(question)
    }

    /// Takes the bars off the terminal, before a command's answer or summary is printed (a
    /// bar's clock would otherwise go on redrawing it between the answer's lines).
    pub fn clear(&self) {
        self.overall.finish_and_clear();
        self.clear_table_lines();
    }

    /// The end of a failed run: the overall bar, when shown, stops where it was, the table
    /// lines go (their spinners would stay frozen); main says the error, once.
    pub fn failed(&self) {
        self.clear_table_lines();
        if self.shown.load(Ordering::SeqCst) {
            self.overall.abandon();
        }
    }
}

/// An event as the log records it (the same for every style: the log file gets it whatever
/// the terminal shows), and its level.
fn event_json(event: &Event<'_>) -> (Level, serde_json::Value) {
    match event {
        Event::Warning(w) => (Level::Warn, json!({"event": "warning", "message": w})),
        Event::Note(m) => (Level::Info, json!({"event": "message", "message": m})),
        Event::Resuming {
            journal,
            committed,
            reloaded,
        } => (
            Level::Info,
            json!({
                "event": "resume", "restore_id": journal, "committed_statements": committed,
                "reloaded_tables": reloaded
            }),
        ),
        Event::DatabaseDropped { database, objects } => (
            Level::Warn,
            json!({"event": "database_dropped", "database": database, "objects": objects}),
        ),
        Event::Plan { databases, files } => (
            Level::Info,
            json!({"event": "start", "databases": databases, "files": files}),
        ),
        Event::RowsPlanned { tables } => (
            Level::Info,
            json!({
                "event": "rows_planned", "tables": tables.len(),
                "rows": tables.iter().map(|t| t.rows).sum::<u64>()
            }),
        ),
        Event::TableStarted {
            database,
            table,
            estimated_rows,
        } => (
            Level::Info,
            json!({
                "event": "table_started", "database": database, "table": table,
                "estimated_rows": estimated_rows
            }),
        ),
        Event::TableDone {
            database,
            table,
            rows,
            bytes,
            elapsed,
        } => (
            Level::Info,
            json!({
                "event": "table_done", "database": database, "table": table,
                "rows": rows, "bytes": bytes, "seconds": elapsed.as_secs_f64()
            }),
        ),
        Event::CommitsReleased { blocked } => (
            Level::Info,
            json!({"event": "commits_released", "blocked_ms": blocked.as_millis() as u64}),
        ),
        Event::TableLoading { database, table } => (
            Level::Info,
            json!({"event": "table_loading", "database": database, "table": table}),
        ),
        Event::TableLoaded {
            database,
            table,
            rows,
            statements,
            bytes,
            elapsed,
        } => (
            Level::Info,
            json!({
                "event": "table_loaded", "database": database, "table": table,
                "rows": rows, "statements": statements, "bytes": bytes,
                "seconds": elapsed.as_secs_f64()
            }),
        ),
        Event::RestorePlanned { files, bytes, rows } => (
            Level::Info,
            json!({"event": "restore_planned", "files": files, "bytes": bytes, "rows": rows}),
        ),
        Event::RestoreStarted {
            file,
            bytes,
            targets,
        } => (
            Level::Info,
            json!({"event": "read_start", "file": file, "bytes": bytes, "targets": targets}),
        ),
        Event::FileRead {
            file,
            statements,
            rows,
            elapsed,
        } => (
            Level::Info,
            json!({
                "event": "read_done", "file": file, "statements": statements, "rows": rows,
                "seconds": elapsed.as_secs_f64()
            }),
        ),
        Event::FileWritten {
            path,
            bytes,
            sql_bytes,
        } => (
            Level::Info,
            json!({"event": "file_written", "path": path, "bytes": bytes, "sql_bytes": sql_bytes}),
        ),
    }
}

impl Progress for Reporter {
    fn event(&self, event: &Event<'_>) {
        // The bars and what they count, whatever the log keeps: the log's progress lines give
        // the same figures.
        self.track(event);
        let (level, value) = event_json(event);
        log::event(level, value);
        if !log::keeps(level) {
            return;
        }
        // The terminal's lines; with JSON the log line above is all.
        let style = self.style;
        match event {
            _ if style == Style::Json => {}
            Event::Warning(w) => self.say(&format!("sfdbtools: warning: {w}")),
            // Said even with -q: a database is gone.
            Event::DatabaseDropped { database, objects } => self.say(&format!(
                "sfdbtools: dropped database {} ({objects} table(s) and routine(s)) for \
                 --drop-target",
                sfdbtools::quote::ident(database)
            )),
            _ if style == Style::Quiet => {}
            Event::Plan { databases, .. } if self.copy => self.say(&format!(
                "copying {} database(s): {}",
                databases.len(),
                databases.join(", ")
            )),
            Event::Plan { databases, files } => self.say(&format!(
                "backing up {} database(s) into {} file(s)",
                databases.len(),
                files.len()
            )),
            Event::RowsPlanned { tables } => {
                if style == Style::Lines {
                    self.say(&format!(
                        "rows to read: ~{} in {} table(s)",
                        HumanCount(tables.iter().map(|t| t.rows).sum::<u64>()),
                        tables.len()
                    ));
                }
            }
            Event::TableDone {
                database,
                table,
                rows,
                bytes,
                elapsed,
            }
            | Event::TableLoaded {
                database,
                table,
                rows,
                bytes,
                elapsed,
                ..
            } => {
                if style == Style::Lines {
                    self.say(&format!(
                        "  {}: {} rows, {} of SQL in {:.1}s ({})",
                        table_name(database, table),
                        HumanCount(*rows),
                        human_size(*bytes),
                        elapsed.as_secs_f64(),
                        bars::rate(*rows, *elapsed),
                    ));
                }
            }
            Event::CommitsReleased { blocked } => {
                if style == Style::Lines {
                    self.say(&format!(
                        "commits on the server go on again (blocked {})",
                        human_millis(*blocked)
                    ));
                }
            }
            Event::TableStarted { .. } | Event::TableLoading { .. } => {}
            Event::Note(m) => self.say(m),
            Event::Resuming {
                journal,
                committed,
                reloaded,
            } => self.say(&format!(
                "resuming restore {journal} of the journal ({}): {} statement(s) committed by \
                 the stopped run are read past{}",
                sfdbtools::quote::ident(sfdbtools::restore::journal::DATABASE),
                HumanCount(*committed),
                if reloaded.is_empty() {
                    String::new()
                } else {
                    format!(", {} table(s) reloaded whole", reloaded.len())
                }
            )),
            Event::RestorePlanned { files, bytes, .. } => {
                if *files > 1 {
                    self.say(&format!(
                        "restoring {files} files, {} in all",
                        human_size(*bytes)
                    ));
                }
            }
            Event::RestoreStarted { targets, .. } if self.copy => {
                if !targets.is_empty() {
                    self.say(&format!(
                        "loading into {} on the target as the source is read",
                        targets.join(", ")
                    ));
                }
            }
            Event::RestoreStarted {
                file,
                bytes,
                targets,
            } => {
                if targets.is_empty() {
                    self.say(&format!(
                        "reading {} ({})",
                        file.display(),
                        human_size(*bytes)
                    ));
                } else {
                    self.say(&format!(
                        "restoring {} ({}) into {}",
                        file.display(),
                        human_size(*bytes),
                        targets.join(", ")
                    ));
                }
            }
            Event::FileRead {
                statements,
                rows,
                elapsed,
                ..
            } if self.copy => self.say(&format!(
                "  loaded into the target: {} statements, {} rows in {:.1}s",
                HumanCount(*statements),
                HumanCount(*rows),
                elapsed.as_secs_f64()
            )),
            Event::FileRead {
                file,
                statements,
                rows,
                elapsed,
            } => self.say(&format!(
                "  {}: {} statements, {} rows in {:.1}s",
                file.display(),
                HumanCount(*statements),
                HumanCount(*rows),
                elapsed.as_secs_f64()
            )),
            Event::FileWritten { bytes, .. } if self.copy => self.say(&format!(
                "read the whole source ({} of SQL)",
                human_size(*bytes)
            )),
            Event::FileWritten { path, bytes, .. } => self.say(&format!(
                "wrote {} ({})",
                path.display(),
                human_size(*bytes)
            )),
        }
    }

    fn advance(&self, database: &str, table: &str, rows: u64, sql_bytes: u64) {
        self.rows_read(database, table, rows, sql_bytes);
    }

    fn restored(&self, rows: u64, file_bytes: u64) {
        if self.copy {
            self.copy_loaded(rows);
        } else {
            self.file_read(rows, file_bytes);
        }
    }

    fn table_restored(&self, database: &str, table: &str, rows: u64) {
        self.table_loaded_rows(database, table, rows);
    }
}

/// `db.table` for a progress line; line breaks in names shown as `\n`/`\r` so they cannot tear
/// the bars or split a log line.
fn table_name(database: &str, table: &str) -> String {
    format!("{database}.{table}")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// The closing summary of a restore: per file what was applied; warnings and failures.
pub fn restore_summary(report: &RestoreReport, reporter: &Reporter) {
    reporter.clear();
    let style = reporter.style;
    let secs = reporter.started.elapsed().as_secs_f64();
    let parts: Vec<&FileReport> = report.files.iter().chain(&report.grants).collect();
    log::result(json!({
            "files": parts.iter().map(|f| json!({
                "path": f.path, "databases": f.applied.databases, "statements": f.applied.statements,
                "load_data_statements": f.applied.load_data,
                "rows": f.applied.rows, "warnings": f.applied.warnings,
                "failed": f.applied.failures.len(), "seconds": f.elapsed.as_secs_f64(),
                "tables": f.applied.tables.iter().map(|t| json!({
                    "database": t.database, "table": t.table, "rows": t.rows,
                    "statements": t.statements, "bytes": t.sql_bytes,
                })).collect::<Vec<_>>(),
                // --resume: what the stopped run had committed, read past.
                "resumed_statements": f.applied.resumed,
                "rechecked_statements": f.applied.rechecked,
                "resumed_tables": f.applied.resumed_tables.iter().map(|t| json!({
                    "database": t.database, "table": t.table, "statements": t.statements,
                })).collect::<Vec<_>>(),
                // With --tables/--ignore-table: every table and view of the file, as the file
                // names it; null without a selection.
                "selection": (!f.applied.selected.is_empty()).then(|| f.applied.selected.iter().map(|t| json!({
                    "database": t.database, "table": t.table, "restored": t.restored,
                })).collect::<Vec<_>>()),
            })).collect::<Vec<_>>(),
            "journal": report.journal.map(|id| json!({
                "database": sfdbtools::restore::journal::DATABASE, "restore_id": id,
            })),
            "resume": report.resume.as_ref().map(|r| json!({
                "restore_id": r.journal,
                "reloaded_tables": r.reloaded.iter().map(|(d, t)| json!({
                    "database": d, "table": t,
                })).collect::<Vec<_>>(),
            })),
            "accounts": report.accounts.as_ref().map(|a| json!({
                "file": a.path, "created": a.created, "left_alone": a.left_alone,
                "repointed": a.repointed.iter().map(|(s, t, n)| json!({
                    "from": s, "to": t, "grants": n,
                })).collect::<Vec<_>>(),
            })),
    }));
    if style == Style::Json {
        return;
    }
    // Accounts are server-wide changes outside the restored databases: listed even with -q.
    if let Some(a) = &report.accounts {
        reporter.say(&accounts_lines(
            a,
            false,
            &format!("accounts file {}", a.path.display()),
        ));
    }
    // Warnings matter even with -q: a warned value may be a changed one.
    for f in &parts {
        if f.applied.warnings > 0 {
            let shown = f.applied.warning_samples.join("\n    ");
            reporter.say(&format!(
                "sfdbtools: warning: {}: {} server warning(s) while restoring (--strict makes them errors); first:\n    {shown}",
                f.path.display(),
                f.applied.warnings
            ));
        }
    }
    if style == Style::Quiet {
        return;
    }
    let mut out = format!(
        "restore complete in {secs:.1}s (ticket {})\n",
        report.ticket
    );
    for f in &parts {
        let a = &f.applied;
        out.push_str(&format!(
            "  {}\n    into {} | {} statements ({} skipped, {} as LOAD DATA), {} rows{}, {} warning(s) | {:.1}s, {}/s of SQL\n",
            f.path.display(),
            if a.databases.is_empty() {
                "(accounts)".to_owned()
            } else {
                a.databases.join(", ")
            },
            a.statements,
            a.skipped,
            a.load_data,
            HumanCount(a.rows),
            match a.tables.len() {
                0 => String::new(),
                n => format!(" in {n} table(s)"),
            },
            a.warnings,
            f.elapsed.as_secs_f64(),
            human_size((a.sql_bytes as f64 / f.elapsed.as_secs_f64().max(0.001)) as u64)
        ));
        if !a.selected.is_empty() {
            out.push_str(&format!("    {}\n", selection_line(&a.selected)));
        }
        if let Some(line) = resumed_line(a) {
            out.push_str(&format!("    {line}\n"));
        }
    }
    if let Some(r) = &report.resume
        && !r.reloaded.is_empty()
    {
        out.push_str(&format!(
            "  reloaded whole (not transactional): {}\n",
            r.reloaded
                .iter()
                .map(|(d, t)| table_name(d, t))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    reporter.say(out.trim_end());
}

/// Tables named in a resumed file's summary line, at most.
const RESUMED_SHOWN: usize = 5;

/// `--resume`: what the stopped run had committed of a file and was read past, with the
/// tables whose data was (most statements first).
fn resumed_line(a: &sfdbtools::restore::apply::Applied) -> Option<String> {
    if a.resumed == 0 && a.rechecked == 0 {
        return None;
    }
    let mut line = format!(
        "resumed: {} statement(s) committed before the restore stopped were read past",
        HumanCount(a.resumed)
    );
    let mut tables: Vec<_> = a.resumed_tables.iter().collect();
    tables.sort_by_key(|t| std::cmp::Reverse(t.statements));
    if !tables.is_empty() {
        let shown: Vec<String> = tables
            .iter()
            .take(RESUMED_SHOWN)
            .map(|t| format!("{} {}", table_name(&t.database, &t.table), t.statements))
            .collect();
        line.push_str(&format!(
            " (data: {}{})",
            shown.join(", "),
            match tables.len().saturating_sub(RESUMED_SHOWN) {
                0 => String::new(),
                n => format!(" and {n} more table(s)"),
            }
        ));
    }
    if a.rechecked > 0 {
        line.push_str(&format!(
            "; {} statement(s) in doubt had run (re-checked)",
            a.rechecked
        ));
    }
    Some(line)
}

/// Names of the tables left out shown in a summary line, at most.
const LEFT_OUT_SHOWN: usize = 10;

/// How many tables and views of a file a selection restored (or would), and which it left out.
pub fn selection_line(selected: &[Selected]) -> String {
    let left_out: Vec<String> = selected
        .iter()
        .filter(|s| !s.restored)
        .map(Selected::display)
        .collect();
    let mut line = format!(
        "tables and views: {} restored, {} left out by the selection",
        selected.len() - left_out.len(),
        left_out.len()
    );
    if !left_out.is_empty() {
        let more = left_out.len().saturating_sub(LEFT_OUT_SHOWN);
        line.push_str(&format!(
            " ({}{})",
            left_out[..left_out.len() - more].join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    line
}

/// What `--grants` did (or, in a dry run, would do) to each account of the file.
/// `title`: what the accounts came from ("accounts file PATH", or a copy's "accounts of the
/// source").
pub fn accounts_lines(a: &AccountsReport, dry_run: bool, title: &str) -> String {
    let list = |v: &[String]| {
        if v.is_empty() {
            String::new()
        } else {
            format!(": {}", v.join(", ").replace(['\n', '\r'], " "))
        }
    };
    let (create, leave) = if dry_run {
        ("would create", "would leave alone")
    } else {
        ("created", "left alone")
    };
    let mut out = format!(
        "{title}:\n  {create} {} account(s){}\n  {leave} {} account(s) that exist \
         (not changed in any way, their privileges neither){}",
        a.created.len(),
        list(&a.created),
        a.left_alone.len(),
        list(&a.left_alone)
    );
    for (from, to, n) in &a.repointed {
        out.push_str(&format!(
            "\n  {n} grant(s) on {} {} on {} instead, the database's name on the target",
            ident(from),
            if dry_run { "would be made" } else { "made" },
            ident(to)
        ));
    }
    out
}

/// The closing summary: one block per file, and the position of the snapshot.
pub fn summary(report: &BackupReport, reporter: &Reporter) {
    reporter.clear();
    let style = reporter.style;
    log::result(json!({
            "files": report.files.iter().map(|f| json!({
                "path": f.path, "metadata": f.metadata_path, "bytes": f.metadata.file.size_bytes,
                "sql_bytes": f.metadata.sql_bytes, "databases": f.databases,
            })).collect::<Vec<_>>(),
            "gtid": report.snapshot.gtid_info(),
            "gtid_captured": report.snapshot.was_captured(),
            "user_grants": report.user_grants,
            "commits_blocked_ms": report.commits_blocked.map(|d| d.as_millis() as u64),
    }));
    if matches!(style, Style::Quiet | Style::Json) {
        return;
    }
    let secs = reporter.started.elapsed().as_secs_f64().max(0.001);
    let unlocked = report
        .files
        .first()
        .is_some_and(|f| f.metadata.consistency == "none");
    let position = if unlocked {
        "no position (--consistency none: the files are not one point in time)".to_owned()
    } else if report.snapshot.was_captured() {
        position_text(&report.snapshot)
    } else {
        "position not captured (config backup.replication.capture_gtid: false)".to_owned()
    };
    let blocked = match report.commits_blocked {
        Some(d) => format!(", commits blocked {}", human_millis(d)),
        None => String::new(),
    };
    let mut out = format!(
        "backup complete: {} file(s) in {secs:.1}s, {position}{blocked}\n",
        report.files.len(),
    );
    for f in &report.files {
        let m = &f.metadata;
        let skipped = if m.data_skipped.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = m
                .data_skipped
                .iter()
                .map(|t| format!("{}.{}", t.database, t.table))
                .collect();
            format!("\n    rows left out (schema kept) {}", names.join(", "))
        };
        let ratio = m.sql_bytes as f64 / m.file.size_bytes.max(1) as f64;
        out.push_str(&format!(
            "  {}\n    databases {} | {} ({} of SQL, {ratio:.1}x {}) | encrypted {} | {} | {}/s{skipped}\n    {}\n",
            f.path.display(),
            f.databases.join(", "),
            human_size(m.file.size_bytes),
            human_size(m.sql_bytes),
            m.compression.kind,
            if m.encryption.enabled { "yes" } else { "no" },
            sfdbtools::metadata::human_duration(Duration::from_millis(m.duration_ms)),
            human_size((m.sql_bytes as f64 / secs) as u64),
            match &f.metadata_path {
                Some(p) => format!("metadata {}", p.display()),
                None => "no metadata written (config backup.output.save_backup_info: false)".into(),
            }
        ));
    }
    match &report.user_grants {
        Some(p) => out.push_str(&format!("  user grants {}\n", p.display())),
        None => out.push_str("  user grants: none\n"),
    }
    reporter.say(out.trim_end());
}

/// What the cleanup after a backup removed (not with `-q`: a nightly run that went as
/// configured says nothing), and what it could not, as warnings (always).
pub fn cleanup_after(
    done: &sfdbtools::cleanup::AfterBackup,
    c: &sfdbtools::config::run::CleanupAfter,
    reporter: &Reporter,
) {
    for p in &done.problems {
        reporter.event(&Event::Warning(&format!("cleanup after the backup: {p}")));
    }
    reporter.json(json!({
        "event": "cleanup", "base": c.base, "days": c.days, "sets": done.sets,
        "removed": done.removed, "problems": done.problems,
    }));
    match reporter.style {
        Style::Quiet | Style::Json => {}
        _ => {
            let mut out = format!(
                "cleanup: {} backup set(s) older than {} day(s) under {}",
                done.sets,
                c.days,
                c.base.display()
            );
            for f in &done.removed {
                out.push_str(&format!("\n  removed {}", f.display()));
            }
            reporter.say(&out);
        }
    }
}

/// The snapshot's position, labelled by what it is: "GTID 0-1-22 (binlog mariadb-bin.000003
/// at 1234)", "binlog mariadb-bin.000003 at 1234", or none (the server keeps no binary log).
fn position_text(s: &SnapshotInfo) -> String {
    let gtid = s
        .gtid_binlog_pos
        .as_ref()
        .or(s.gtid_executed.as_ref())
        .filter(|g| !g.is_empty());
    let binlog = match (&s.binlog_file, s.binlog_position) {
        (Some(f), Some(p)) => Some(format!("binlog {f} at {p}")),
        _ => None,
    };
    match (gtid, binlog) {
        (Some(g), Some(b)) => format!("GTID {g} ({b})"),
        (Some(g), None) => format!("GTID {g}"),
        (None, Some(b)) => b,
        (None, None) => "no position (the server keeps no binary log)".into(),
    }
}

/// A short duration for people: "42 ms", "1.3 s".
fn human_millis(d: std::time::Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// After `db-copy`: what went where, the snapshot's position, the accounts, and the warnings
/// of the target (a warned value may be a changed one: shown even with -q).
pub fn copy_summary(done: &sfdbtools::copy::CopyReport, reporter: &Reporter) {
    reporter.clear();
    let style = reporter.style;
    let position = done.position();
    let applied: Vec<&FileReport> = done.target.files.iter().collect();
    let rows: u64 = applied.iter().map(|f| f.applied.rows).sum();
    let statements: u64 = applied.iter().map(|f| f.applied.statements).sum();
    let sql_bytes: u64 = applied.iter().map(|f| f.applied.sql_bytes).sum();
    let warnings: u64 = applied.iter().map(|f| f.applied.warnings).sum();
    log::result(json!({
        "databases": done.plan.databases.iter().map(|d| json!({
            "source": d.source, "target": d.target,
            "replaced": done.plan.replaced.contains(&d.target),
        })).collect::<Vec<_>>(),
        "source": done.plan.source_server,
        "target": done.plan.target_server,
        "statements": statements,
        "rows": rows,
        "sql_bytes": sql_bytes,
        "warnings": warnings,
        "seconds": done.elapsed.as_secs_f64(),
        "commits_blocked_ms": done.source.commits_blocked.map(|d| d.as_millis() as u64),
        "gtid": position.gtid_info(),
        "binlog_file": position.binlog_file,
        "binlog_position": position.binlog_position,
        "position_recorded": done.position_recorded,
        "accounts": done.accounts.as_ref().map(|(_, a)| json!({
            "created": a.created, "left_alone": a.left_alone,
            "repointed": a.repointed.iter().map(|(s, t, n)| json!({
                "from": s, "to": t, "grants": n,
            })).collect::<Vec<_>>(),
        })),
        "replica_started": done.replica_started,
        "replica_statements": done.replica_statements,
    }));
    if style == Style::Json {
        return;
    }
    if let Some((_, a)) = &done.accounts {
        reporter.say(&accounts_lines(a, false, "accounts of the source"));
    }
    for f in &applied {
        if f.applied.warnings > 0 {
            reporter.say(&format!(
                "sfdbtools: warning: {} server warning(s) on the target while copying (--strict makes them errors); first:\n    {}",
                f.applied.warnings,
                f.applied.warning_samples.join("\n    ")
            ));
        }
    }
    if style == Style::Quiet {
        return;
    }
    let secs = done.elapsed.as_secs_f64();
    let mut out = format!(
        "copy complete in {secs:.1}s: {} statements, {} rows, {} of SQL ({}/s)\n",
        HumanCount(statements),
        HumanCount(rows),
        human_size(sql_bytes),
        human_size((sql_bytes as f64 / secs.max(0.001)) as u64)
    );
    out.push_str(&format!(
        "  from {}\n  into {}\n",
        done.plan.source_server, done.plan.target_server
    ));
    for d in &done.plan.databases {
        let name = match d.source == d.target {
            true => ident(&d.source),
            false => format!("{} as {}", ident(&d.source), ident(&d.target)),
        };
        let replaced = match done.plan.replaced.contains(&d.target) {
            true => " (replaced)",
            false => "",
        };
        out.push_str(&format!("  {name}{replaced}\n"));
    }
    out.push_str(&format!(
        "  position: {}\n",
        sfdbtools::copy::describe_position(position)
    ));
    if let Some(at) = &done.position_recorded {
        out.push_str(&format!("  position recorded in {at}\n"));
    }
    reporter.say(out.trim_end());
}
