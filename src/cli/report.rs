//! How the binary shows a run: bars on a terminal, a log line every few seconds otherwise,
//! JSON events for monitoring, nothing but errors with `-q`; and the closing summaries. (A
//! dry run's plan and `verify`'s checks are the command's answer on stdout, not a log: each
//! command's module prints its own.)

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::HumanCount;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sfdbtools::dump::BackupReport;
use sfdbtools::metadata::human_size;
use sfdbtools::progress::{Event, Progress};
use sfdbtools::quote::ident;
use sfdbtools::restore::accounts::AccountsReport;
use sfdbtools::restore::select::Selected;
use sfdbtools::restore::{FileReport, RestoreReport};

/// How often a progress line is logged when no terminal shows bars.
const LOG_EVERY: Duration = Duration::from_secs(5);

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
    rows: AtomicU64,
    bytes: AtomicU64,
    expected_rows: AtomicU64,
    last_line: Mutex<Instant>,
    /// The file a restore or verify is reading: its size and when it started.
    reading: Mutex<(u64, Instant)>,
    multi: MultiProgress,
    overall: ProgressBar,
    /// Table lines by `db.table` (bars only).
    tables: Mutex<HashMap<String, TableLine>>,
}

impl Reporter {
    pub fn new(style: Style) -> Reporter {
        let multi = MultiProgress::with_draw_target(if style == Style::Bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {human_pos}/{human_len} rows, {msg} (ETA {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Reporter {
            style,
            started: Instant::now(),
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            expected_rows: AtomicU64::new(0),
            last_line: Mutex::new(Instant::now()),
            reading: Mutex::new((0, Instant::now())),
            multi,
            overall,
            tables: Mutex::new(HashMap::new()),
        }
    }

    /// A line that must not tear the bars.
    fn say(&self, line: &str) {
        match self.style {
            Style::Bars => {
                let _ = self.multi.println(line);
            }
            _ => eprintln!("{line}"),
        }
    }

    /// One JSON event on stderr (`--log-format json`).
    pub fn json(&self, value: serde_json::Value) {
        eprintln!("{value}");
    }

    /// Adds (or replaces) the spinner line of `name`.
    fn add_table_line(&self, name: String, message: String) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut t) = self.tables.lock()
            && let Some(old) = t.insert(
                name,
                TableLine {
                    bar,
                    touched: Instant::now(),
                },
            )
        {
            self.clear_line(old);
        }
    }

    fn remove_table_line(&self, name: &str) {
        let line = self.tables.lock().ok().and_then(|mut t| t.remove(name));
        if let Some(line) = line {
            self.clear_line(line);
        }
    }

    fn clear_line(&self, line: TableLine) {
        line.bar.finish_and_clear();
        self.multi.remove(&line.bar);
    }

    /// Runs `question` with the bars hidden, so that it and its answer stay readable.
    pub fn asking<T>(&self, question: impl FnOnce() -> T) -> T {
        self.multi.suspend(question)
    }

    /// The end of a failed run, in the chosen style.
    pub fn error(&self, message: &str) {
        self.overall.abandon();
        if self.style == Style::Json {
            self.json(json!({"event": "error", "message": message}));
        }
    }
}

impl Progress for Reporter {
    fn event(&self, event: &Event<'_>) {
        let style = self.style;
        match event {
            Event::Warning(w) => match style {
                Style::Json => self.json(json!({"event": "warning", "message": w})),
                _ => self.say(&format!("sfdbtools: warning: {w}")),
            },
            // Said even with -q: a database is gone.
            Event::DatabaseDropped { database, objects } => match style {
                Style::Json => self.json(
                    json!({"event": "database_dropped", "database": database, "objects": objects}),
                ),
                _ => self.say(&format!(
                    "sfdbtools: dropped database {} ({objects} table(s) and routine(s)) for \
                     --drop-target",
                    sfdbtools::quote::ident(database)
                )),
            },
            _ if style == Style::Quiet => {}
            Event::Plan { databases, files } => match style {
                Style::Json => {
                    self.json(json!({"event": "start", "databases": databases, "files": files}))
                }
                _ => self.say(&format!(
                    "backing up {} database(s) into {} file(s)",
                    databases.len(),
                    files.len()
                )),
            },
            Event::TableStarted {
                database,
                table,
                estimated_rows,
            } => {
                let total = self
                    .expected_rows
                    .fetch_add(*estimated_rows, Ordering::Relaxed)
                    + estimated_rows;
                self.overall
                    .set_length(total.max(self.rows.load(Ordering::Relaxed)));
                match style {
                    Style::Bars => {
                        let name = table_name(database, table);
                        let message = format!("{name} (~{estimated_rows} rows)");
                        self.add_table_line(name, message);
                    }
                    Style::Json => self.json(json!({
                        "event": "table_started", "database": database, "table": table,
                        "estimated_rows": estimated_rows
                    })),
                    _ => {}
                }
            }
            Event::TableDone {
                database,
                table,
                rows,
                bytes,
                elapsed,
            } => {
                self.remove_table_line(&table_name(database, table));
                match style {
                    Style::Json => self.json(json!({
                        "event": "table_done", "database": database, "table": table,
                        "rows": rows, "bytes": bytes, "seconds": elapsed.as_secs_f64()
                    })),
                    Style::Lines => self.say(&format!(
                        "  {}: {rows} rows, {} of SQL in {:.1}s",
                        table_name(database, table),
                        human_size(*bytes),
                        elapsed.as_secs_f64()
                    )),
                    _ => {}
                }
            }
            Event::CommitsReleased { blocked } => match style {
                Style::Json => self.json(json!({
                    "event": "commits_released", "blocked_ms": blocked.as_millis() as u64
                })),
                Style::Lines => self.say(&format!(
                    "commits on the server go on again (blocked {})",
                    human_millis(*blocked)
                )),
                _ => {}
            },
            Event::TableLoading { database, table } => match style {
                Style::Json => self.json(json!({
                    "event": "table_loading", "database": database, "table": table
                })),
                Style::Bars => {
                    let name = table_name(database, table);
                    let message = format!("{name}: 0 rows");
                    self.add_table_line(name, message);
                }
                _ => {}
            },
            Event::TableLoaded {
                database,
                table,
                rows,
                statements,
                bytes,
                elapsed,
            } => {
                self.remove_table_line(&table_name(database, table));
                match style {
                    Style::Json => self.json(json!({
                        "event": "table_loaded", "database": database, "table": table,
                        "rows": rows, "statements": statements, "bytes": bytes,
                        "seconds": elapsed.as_secs_f64()
                    })),
                    Style::Lines => self.say(&format!(
                        "  {}: {rows} rows, {} of SQL in {:.1}s",
                        table_name(database, table),
                        human_size(*bytes),
                        elapsed.as_secs_f64()
                    )),
                    _ => {}
                }
            }
            Event::RestoreStarted {
                file,
                bytes,
                targets,
            } => {
                if let Ok(mut r) = self.reading.lock() {
                    *r = (*bytes, Instant::now());
                }
                self.overall.reset();
                self.overall.set_length(*bytes);
                self.overall.set_position(0);
                self.overall.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:30}] {binary_bytes}/{binary_total_bytes} of the file, {msg} (ETA {eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                match style {
                    Style::Json => self.json(json!({
                        "event": "read_start", "file": file, "bytes": bytes, "targets": targets
                    })),
                    _ if targets.is_empty() => self.say(&format!(
                        "reading {} ({})",
                        file.display(),
                        human_size(*bytes)
                    )),
                    _ => self.say(&format!(
                        "restoring {} ({}) into {}",
                        file.display(),
                        human_size(*bytes),
                        targets.join(", ")
                    )),
                }
            }
            Event::FileRead {
                file,
                statements,
                rows,
                elapsed,
            } => match style {
                Style::Json => self.json(json!({
                    "event": "read_done", "file": file, "statements": statements, "rows": rows,
                    "seconds": elapsed.as_secs_f64()
                })),
                _ => self.say(&format!(
                    "  {}: {statements} statements, {rows} rows in {:.1}s",
                    file.display(),
                    elapsed.as_secs_f64()
                )),
            },
            Event::FileWritten {
                path,
                bytes,
                sql_bytes,
            } => match style {
                Style::Json => self.json(json!({
                    "event": "file_written", "path": path, "bytes": bytes, "sql_bytes": sql_bytes
                })),
                _ => self.say(&format!(
                    "wrote {} ({})",
                    path.display(),
                    human_size(*bytes)
                )),
            },
        }
    }

    fn advance(&self, rows: u64, sql_bytes: u64) {
        let done = self.rows.fetch_add(rows, Ordering::Relaxed) + rows;
        let bytes = self.bytes.fetch_add(sql_bytes, Ordering::Relaxed) + sql_bytes;
        match self.style {
            Style::Bars => {
                let expected = self.expected_rows.load(Ordering::Relaxed);
                self.overall.set_length(expected.max(done));
                self.overall.set_position(done);
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                self.overall.set_message(format!(
                    "{} of SQL, {:.0} rows/s",
                    human_size(bytes),
                    done as f64 / secs
                ));
            }
            Style::Lines | Style::Json => {
                let Ok(mut last) = self.last_line.try_lock() else {
                    return;
                };
                if last.elapsed() < LOG_EVERY {
                    return;
                }
                *last = Instant::now();
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                let expected = self.expected_rows.load(Ordering::Relaxed).max(done);
                if self.style == Style::Json {
                    self.json(json!({
                        "event": "progress", "rows": done, "expected_rows": expected,
                        "sql_bytes": bytes, "seconds": secs
                    }));
                } else {
                    self.say(&format!(
                        "progress: {done}/{expected} rows ({:.0}%), {} of SQL, {:.0} rows/s",
                        done as f64 * 100.0 / expected.max(1) as f64,
                        human_size(bytes),
                        done as f64 / secs
                    ));
                }
            }
            Style::Quiet => {}
        }
    }

    fn restored(&self, rows: u64, file_bytes: u64) {
        let (total, since) = self.reading.lock().map(|r| *r).unwrap_or((0, self.started));
        let secs = since.elapsed().as_secs_f64().max(0.001);
        match self.style {
            Style::Bars => {
                self.overall.set_position(file_bytes.min(total));
                self.overall.set_message(format!(
                    "{} rows, {:.0} rows/s",
                    HumanCount(rows),
                    rows as f64 / secs
                ));
                let idle: Vec<TableLine> = match self.tables.lock() {
                    Ok(mut t) => {
                        let names: Vec<String> = t
                            .iter()
                            .filter(|(_, l)| l.touched.elapsed() >= TABLE_LINE_IDLE)
                            .map(|(n, _)| n.clone())
                            .collect();
                        names.iter().filter_map(|n| t.remove(n)).collect()
                    }
                    Err(_) => Vec::new(),
                };
                for line in idle {
                    self.clear_line(line);
                }
            }
            Style::Lines | Style::Json => {
                let Ok(mut last) = self.last_line.try_lock() else {
                    return;
                };
                if last.elapsed() < LOG_EVERY {
                    return;
                }
                *last = Instant::now();
                let share = file_bytes as f64 / total.max(1) as f64;
                let eta = if share > 0.0 {
                    secs / share - secs
                } else {
                    0.0
                };
                if self.style == Style::Json {
                    self.json(json!({
                        "event": "progress", "rows": rows, "file_bytes": file_bytes,
                        "file_total": total, "seconds": secs, "eta_seconds": eta
                    }));
                } else {
                    self.say(&format!(
                        "progress: {} of {} ({:.0}%), {rows} rows, {:.0} rows/s, {}/s, ETA {:.0}s",
                        human_size(file_bytes),
                        human_size(total),
                        share * 100.0,
                        rows as f64 / secs,
                        human_size((file_bytes as f64 / secs) as u64),
                        eta
                    ));
                }
            }
            Style::Quiet => {}
        }
    }

    fn table_restored(&self, database: &str, table: &str, rows: u64) {
        if self.style != Style::Bars {
            return;
        }
        let name = table_name(database, table);
        let message = format!("{name}: {} rows", HumanCount(rows));
        {
            let Ok(mut t) = self.tables.lock() else {
                return;
            };
            if let Some(line) = t.get_mut(&name) {
                line.bar.set_message(message);
                line.touched = Instant::now();
                return;
            }
        }
        // Its line went while idle, and rows came again.
        self.add_table_line(name, message);
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
    reporter.overall.finish_and_clear();
    let style = reporter.style;
    let secs = reporter.started.elapsed().as_secs_f64();
    let parts: Vec<&FileReport> = report.files.iter().chain(&report.grants).collect();
    if style == Style::Json {
        reporter.json(json!({
            "event": "finished",
            "ticket": report.ticket,
            "files": parts.iter().map(|f| json!({
                "path": f.path, "databases": f.applied.databases, "statements": f.applied.statements,
                "load_data_statements": f.applied.load_data,
                "rows": f.applied.rows, "warnings": f.applied.warnings,
                "failed": f.applied.failures.len(), "seconds": f.elapsed.as_secs_f64(),
                "tables": f.applied.tables.iter().map(|t| json!({
                    "database": t.database, "table": t.table, "rows": t.rows,
                    "statements": t.statements, "bytes": t.sql_bytes,
                })).collect::<Vec<_>>(),
                // With --tables/--ignore-table: every table and view of the file, as the file
                // names it; null without a selection.
                "selection": (!f.applied.selected.is_empty()).then(|| f.applied.selected.iter().map(|t| json!({
                    "database": t.database, "table": t.table, "restored": t.restored,
                })).collect::<Vec<_>>()),
            })).collect::<Vec<_>>(),
            "accounts": report.accounts.as_ref().map(|a| json!({
                "file": a.path, "created": a.created, "left_alone": a.left_alone,
                "repointed": a.repointed.iter().map(|(s, t, n)| json!({
                    "from": s, "to": t, "grants": n,
                })).collect::<Vec<_>>(),
            })),
            "seconds": secs,
        }));
        return;
    }
    // Accounts are server-wide changes outside the restored databases: listed even with -q.
    if let Some(a) = &report.accounts {
        reporter.say(&accounts_lines(a, false));
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
    }
    reporter.say(out.trim_end());
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
pub fn accounts_lines(a: &AccountsReport, dry_run: bool) -> String {
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
        "accounts file {}:\n  {create} {} account(s){}\n  {leave} {} account(s) that exist \
         (not changed in any way, their privileges neither){}",
        a.path.display(),
        a.created.len(),
        list(&a.created),
        a.left_alone.len(),
        list(&a.left_alone)
    );
    for (from, to, n) in &a.repointed {
        out.push_str(&format!(
            "\n  {n} grant(s) on {} {} on {} (--grants-to-target)",
            ident(from),
            if dry_run { "would be made" } else { "made" },
            ident(to)
        ));
    }
    out
}

/// The closing summary: one block per file, and the position of the snapshot.
pub fn summary(report: &BackupReport, reporter: &Reporter) {
    reporter.overall.finish_and_clear();
    let style = reporter.style;
    if style == Style::Quiet {
        return;
    }
    if style == Style::Json {
        reporter.json(json!({
            "event": "finished",
            "files": report.files.iter().map(|f| json!({
                "path": f.path, "metadata": f.metadata_path, "bytes": f.metadata.file.size_bytes,
                "sql_bytes": f.metadata.sql_bytes, "databases": f.databases,
            })).collect::<Vec<_>>(),
            "gtid": report.snapshot.gtid_info(),
            "gtid_captured": report.snapshot.was_captured(),
            "user_grants": report.user_grants,
            "commits_blocked_ms": report.commits_blocked.map(|d| d.as_millis() as u64),
            "seconds": reporter.started.elapsed().as_secs_f64(),
        }));
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
        format!("position {}", report.snapshot.gtid_info())
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
    match reporter.style {
        Style::Quiet => {}
        Style::Json => reporter.json(json!({
            "event": "cleanup", "base": c.base, "days": c.days, "sets": done.sets,
            "removed": done.removed, "problems": done.problems,
        })),
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

/// A short duration for people: "42 ms", "1.3 s".
fn human_millis(d: std::time::Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
