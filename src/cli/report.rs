//! How the binary shows a run: bars on a terminal, a log line every few seconds otherwise,
//! JSON events for monitoring, nothing but errors with `-q`; and the closing summaries. (A
//! dry run's plan and `verify`'s checks are the command's answer on stdout, not a log: each
//! command's module prints its own.)

mod bars;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::HumanCount;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use sfdbtools::dump::BackupReport;
use sfdbtools::metadata::{SnapshotInfo, human_size};
use sfdbtools::progress::{Event, Progress, Tally};
use sfdbtools::quote::ident;
use sfdbtools::restore::accounts::AccountsReport;
use sfdbtools::restore::select::Selected;
use sfdbtools::restore::{FileReport, RestoreReport};

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
    /// Rows and SQL bytes so far, as the bars draw them.
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

    fn json(&self, value: serde_json::Value) {
        eprintln!("{value}");
    }

    /// Draws the overall bar from now on, in `style`, `total` long, its clock running (once:
    /// a restore's second file goes on on the same bar).
    fn show_overall(&self, style: ProgressStyle, total: u64) {
        if self.style != Style::Bars || self.shown.swap(true, Ordering::SeqCst) {
            return;
        }
        self.overall.set_style(style);
        self.overall.set_length(total);
        self.overall.set_position(0);
        self.overall.reset_elapsed();
        self.multi.insert(0, self.overall.clone());
        self.overall.enable_steady_tick(TICK);
    }

    /// Adds (or replaces) the line of `name`: `estimate` rows expected, when known.
    fn add_table_line(&self, name: String, estimate: Option<u64>) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(estimate.unwrap_or(0)));
        bar.set_style(bars::table_line(estimate));
        bar.set_message(name.clone());
        bar.enable_steady_tick(TICK);
        if let Ok(mut t) = self.tables.lock()
            && let Some(old) = t.insert(
                name,
                TableLine {
                    bar: bar.clone(),
                    touched: Instant::now(),
                },
            )
        {
            self.clear_line(old);
        }
        bar
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

    /// Takes the bars off the terminal, before a command's answer or summary is printed (a
    /// bar's clock would otherwise go on redrawing it between the answer's lines).
    pub fn clear(&self) {
        self.overall.finish_and_clear();
        self.clear_table_lines();
    }

    fn clear_table_lines(&self) {
        let lines: Vec<TableLine> = match self.tables.lock() {
            Ok(mut t) => t.drain().map(|(_, l)| l).collect(),
            Err(_) => Vec::new(),
        };
        for line in lines {
            self.clear_line(line);
        }
    }

    /// The end of a failed run, in the chosen style.
    pub fn error(&self, message: &str) {
        // The overall bar, when shown, stays where the run stopped; the table lines go (their
        // spinners would stay frozen).
        self.clear_table_lines();
        if self.shown.load(Ordering::SeqCst) {
            self.overall.abandon();
        }
        if self.style == Style::Json {
            self.json(json!({"event": "error", "message": message}));
        }
    }

    /// Whether a progress line is due (every [`LOG_EVERY`]); true at most once per period.
    fn line_due(&self) -> bool {
        let Ok(mut last) = self.last_line.try_lock() else {
            return false;
        };
        if last.elapsed() < LOG_EVERY {
            return false;
        }
        *last = Instant::now();
        true
    }

    /// The rows' periodic line (no terminal): read so far of the total, the share of the
    /// bar, the rate and time left since the rows were planned.
    fn rows_line(&self, done: u64, position: u64, total: u64, since: Instant) {
        let secs = since.elapsed();
        let sql = self.counts.sql_bytes.load(Ordering::Relaxed);
        let share = match total {
            0 => 0.0,
            t => position as f64 / t as f64,
        };
        let left = bars::eta(position, total, secs);
        if self.style == Style::Json {
            self.json(json!({
                "event": "progress", "rows": done, "expected_rows": total,
                "fraction": share, "sql_bytes": sql, "seconds": secs.as_secs_f64(),
                "eta_seconds": left.map(|d| d.as_secs_f64()),
            }));
        } else {
            self.say(&format!(
                "progress: {}/{} rows ({:.0}%), {} of SQL, {}, ETA {}",
                HumanCount(done),
                HumanCount(total),
                share * 100.0,
                human_size(sql),
                bars::rate(done, secs),
                left.map_or("-".into(), bars::short_duration),
            ));
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
            Event::RowsPlanned { tables } => {
                let total = {
                    let Ok(mut t) = self.tally.lock() else { return };
                    t.0.plan(tables);
                    t.1 = Instant::now();
                    t.0.total()
                };
                match style {
                    Style::Json => self.json(json!({
                        "event": "rows_planned", "tables": tables.len(), "rows": total
                    })),
                    Style::Lines => self.say(&format!(
                        "rows to read: ~{} in {} table(s)",
                        HumanCount(total),
                        tables.len()
                    )),
                    _ if total == 0 => self.show_overall(bars::rows_spinner(&self.counts), 0),
                    _ => self.show_overall(bars::rows_bar(&self.counts), total),
                }
            }
            Event::TableStarted {
                database,
                table,
                estimated_rows,
            } => match style {
                Style::Bars => {
                    let estimate = (*estimated_rows > 0).then_some(*estimated_rows);
                    self.add_table_line(table_name(database, table), estimate);
                }
                Style::Json => self.json(json!({
                    "event": "table_started", "database": database, "table": table,
                    "estimated_rows": estimated_rows
                })),
                _ => {}
            },
            Event::TableDone {
                database,
                table,
                rows,
                bytes,
                elapsed,
            } => {
                if let Ok(mut t) = self.tally.lock() {
                    t.0.finish(database, table, *rows);
                    self.counts.rows.store(t.0.done(), Ordering::Relaxed);
                    // Under the lock: two tables finishing at once must not leave the older
                    // figures on the bar.
                    self.overall.set_length(t.0.total());
                    self.overall.set_position(t.0.position());
                }
                self.remove_table_line(&table_name(database, table));
                match style {
                    Style::Json => self.json(json!({
                        "event": "table_done", "database": database, "table": table,
                        "rows": rows, "bytes": bytes, "seconds": elapsed.as_secs_f64()
                    })),
                    Style::Lines => self.say(&format!(
                        "  {}: {rows} rows, {} of SQL in {:.1}s ({})",
                        table_name(database, table),
                        human_size(*bytes),
                        elapsed.as_secs_f64(),
                        bars::rate(*rows, *elapsed),
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
                    self.add_table_line(table_name(database, table), None);
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
                        "  {}: {rows} rows, {} of SQL in {:.1}s ({})",
                        table_name(database, table),
                        human_size(*bytes),
                        elapsed.as_secs_f64(),
                        bars::rate(*rows, *elapsed),
                    )),
                    _ => {}
                }
            }
            Event::RestorePlanned { files, bytes, rows } => {
                if let Ok(mut r) = self.reading.lock() {
                    r.plan(*bytes, *rows);
                }
                let planned = rows.unwrap_or(0);
                self.counts.rows_planned.store(planned, Ordering::Relaxed);
                match style {
                    Style::Json => self.json(json!({
                        "event": "restore_planned", "files": files, "bytes": bytes, "rows": rows
                    })),
                    _ if *files > 1 => self.say(&format!(
                        "restoring {files} files, {} in all",
                        human_size(*bytes)
                    )),
                    _ => {}
                }
            }
            Event::RestoreStarted {
                file,
                bytes,
                targets,
            } => {
                let length = match self.reading.lock() {
                    Ok(mut r) => {
                        r.start_file(*bytes);
                        let (position, length) = r.bar();
                        self.overall.set_length(length);
                        self.overall.set_position(position);
                        self.counts.total_bytes.store(r.total(), Ordering::Relaxed);
                        self.counts
                            .read_bytes
                            .store(r.position(), Ordering::Relaxed);
                        length
                    }
                    Err(_) => *bytes,
                };
                self.show_overall(bars::reading_bar(&self.counts), length);
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
                    "  {}: {} statements, {} rows in {:.1}s",
                    file.display(),
                    HumanCount(*statements),
                    HumanCount(*rows),
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

    fn advance(&self, database: &str, table: &str, rows: u64, sql_bytes: u64) {
        if self.style == Style::Quiet {
            return;
        }
        self.counts
            .sql_bytes
            .fetch_add(sql_bytes, Ordering::Relaxed);
        let (done, position, total, since) = {
            let Ok(mut t) = self.tally.lock() else { return };
            t.0.advance(database, table, rows);
            self.counts.rows.store(t.0.done(), Ordering::Relaxed);
            // With the bar's ticker running this only stores the position.
            self.overall.set_position(t.0.position());
            (t.0.done(), t.0.position(), t.0.total(), t.1)
        };
        match self.style {
            Style::Bars => {
                let line = self
                    .tables
                    .lock()
                    .ok()
                    .and_then(|t| t.get(&table_name(database, table)).map(|l| l.bar.clone()));
                if let Some(bar) = line {
                    bar.inc(rows);
                }
            }
            _ if self.line_due() => self.rows_line(done, position, total, since),
            _ => {}
        }
    }

    fn restored(&self, rows: u64, file_bytes: u64) {
        if self.style == Style::Quiet {
            return;
        }
        let Ok(r) = self.reading.lock().map(|mut r| {
            r.update(rows, file_bytes);
            *r
        }) else {
            return;
        };
        self.counts.rows.store(r.rows(), Ordering::Relaxed);
        self.counts
            .read_bytes
            .store(r.position(), Ordering::Relaxed);
        let (position, length) = r.bar();
        match self.style {
            Style::Bars => {
                self.overall.set_position(position);
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
            _ if self.line_due() => {
                let secs = r.since.elapsed();
                let share = position as f64 / length.max(1) as f64;
                let left = bars::eta(position, length, secs);
                let (read, total) = (r.position(), r.total());
                let (file_total, file_read) = r.file();
                if self.style == Style::Json {
                    let planned = self.counts.rows_planned.load(Ordering::Relaxed);
                    self.json(json!({
                        "event": "progress", "rows": r.rows(),
                        "planned_rows": (planned > 0).then_some(planned), "file_bytes": file_read,
                        "file_total": file_total, "bytes": read, "total_bytes": total,
                        "fraction": share, "seconds": secs.as_secs_f64(),
                        "eta_seconds": left.map(|d| d.as_secs_f64()),
                    }));
                } else {
                    self.say(&format!(
                        "progress: {:.0}%, {} of {} read, {} rows, {}, {}/s, ETA {}",
                        share * 100.0,
                        human_size(read),
                        human_size(total),
                        self.counts.rows_of(),
                        bars::rate(r.rows(), secs),
                        human_size((read as f64 / secs.as_secs_f64().max(0.001)) as u64),
                        left.map_or("-".into(), bars::short_duration),
                    ));
                }
            }
            _ => {}
        }
    }

    fn table_restored(&self, database: &str, table: &str, rows: u64) {
        if self.style != Style::Bars {
            return;
        }
        let name = table_name(database, table);
        {
            let Ok(mut t) = self.tables.lock() else {
                return;
            };
            if let Some(line) = t.get_mut(&name) {
                line.bar.set_position(rows);
                line.touched = Instant::now();
                return;
            }
        }
        // Its line went while idle, and rows came again.
        self.add_table_line(name, None).set_position(rows);
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
    reporter.clear();
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
