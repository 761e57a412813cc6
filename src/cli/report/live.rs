//! The live view of a run: what the bars and the periodic progress lines count (the rows'
//! [`Tally`](sfdbtools::progress::Tally), the files read), the overall bar and the table lines.
//! Kept whatever the log level, so that the bars and the log's progress lines agree.

use std::sync::atomic::Ordering;
use std::time::Instant;

use indicatif::{HumanCount, ProgressBar, ProgressStyle};
use serde_json::json;
use sfdbtools::metadata::human_size;
use sfdbtools::progress::Event;

use super::{Reporter, Style, TABLE_LINE_IDLE, TICK, TableLine, bars, table_name};

impl Reporter {
    /// Draws the overall bar from now on, in `style`, `total` long, its clock running (once:
    /// a restore's second file goes on on the same bar).
    pub(super) fn show_overall(&self, style: ProgressStyle, total: u64) {
        if self.style != Style::Bars || self.shown.swap(true, Ordering::SeqCst) {
            return;
        }
        self.overall.set_style(style);
        self.overall.set_length(total);
        self.overall.reset_elapsed();
        self.multi.insert(0, self.overall.clone());
        self.overall.enable_steady_tick(TICK);
    }

    /// Adds (or replaces) the line of `name`: `estimate` rows expected, when known.
    pub(super) fn add_table_line(&self, name: String, estimate: Option<u64>) -> ProgressBar {
        if self.style != Style::Bars {
            return ProgressBar::hidden();
        }
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

    pub(super) fn remove_table_line(&self, name: &str) {
        let line = self.tables.lock().ok().and_then(|mut t| t.remove(name));
        if let Some(line) = line {
            self.clear_line(line);
        }
    }

    pub(super) fn clear_line(&self, line: TableLine) {
        line.bar.finish_and_clear();
        self.multi.remove(&line.bar);
    }

    pub(super) fn clear_table_lines(&self) {
        let lines: Vec<TableLine> = match self.tables.lock() {
            Ok(mut t) => t.drain().map(|(_, l)| l).collect(),
            Err(_) => Vec::new(),
        };
        for line in lines {
            self.clear_line(line);
        }
    }

    /// Keeps the figures the bars and progress lines show (the rows' tally, the files read)
    /// and draws the bars: the overall one once there is work with a total, a line per table
    /// being read or loaded.
    pub(super) fn track(&self, event: &Event<'_>) {
        match event {
            Event::RowsPlanned { tables } => {
                let total = match self.tally.lock() {
                    Ok(mut t) => {
                        t.0.plan(tables);
                        t.1 = Instant::now();
                        t.0.total()
                    }
                    Err(_) => return,
                };
                match total {
                    0 => self.show_overall(bars::rows_spinner(&self.counts), 0),
                    // A copy is done when the target has loaded the rows, not when the source
                    // has sent them: its bar follows the target.
                    _ if self.copy => self.show_overall(bars::copy_bar(&self.counts), total),
                    _ => self.show_overall(bars::rows_bar(&self.counts), total),
                }
            }
            Event::TableStarted {
                database,
                table,
                estimated_rows,
            } => {
                let estimate = (*estimated_rows > 0).then_some(*estimated_rows);
                self.add_table_line(table_name(database, table), estimate);
            }
            // A copy's table lines are the source's, read with their estimates: the target's
            // lines of the same names would replace them, counting from 0 again.
            Event::TableLoading { .. } | Event::TableLoaded { .. } if self.copy => {}
            Event::TableLoading { database, table } => {
                self.add_table_line(table_name(database, table), None);
            }
            Event::TableLoaded {
                database, table, ..
            } => self.remove_table_line(&table_name(database, table)),
            Event::TableDone {
                database,
                table,
                rows,
                ..
            } => {
                if let Ok(mut t) = self.tally.lock() {
                    t.0.finish(database, table, *rows);
                    self.counts.rows.store(t.0.done(), Ordering::Relaxed);
                    // Under the lock: two tables finishing at once must not leave the older
                    // figures on the bar.
                    self.overall.set_length(t.0.total());
                    if !self.copy {
                        self.overall.set_position(t.0.position());
                    }
                }
                self.remove_table_line(&table_name(database, table));
            }
            // The copy's stream has no size: its bar is the rows' (above).
            Event::RestorePlanned { .. } | Event::RestoreStarted { .. } if self.copy => {}
            Event::RestorePlanned { bytes, rows, .. } => {
                if let Ok(mut r) = self.reading.lock() {
                    r.plan(*bytes, *rows);
                }
                self.counts
                    .rows_planned
                    .store(rows.unwrap_or(0), Ordering::Relaxed);
            }
            Event::RestoreStarted { bytes, .. } => {
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
            }
            _ => {}
        }
    }

    /// Rows of a table serialised (dump, `verify --against`): the tally, the bar and the
    /// table's line, and the periodic progress line.
    pub(super) fn rows_read(&self, database: &str, table: &str, rows: u64, sql_bytes: u64) {
        self.counts
            .sql_bytes
            .fetch_add(sql_bytes, Ordering::Relaxed);
        let (done, position, total, since) = {
            let Ok(mut t) = self.tally.lock() else { return };
            t.0.advance(database, table, rows);
            self.counts.rows.store(t.0.done(), Ordering::Relaxed);
            // With the bar's ticker running this only stores the position.
            if !self.copy {
                self.overall.set_position(t.0.position());
            }
            (t.0.done(), t.0.position(), t.0.total(), t.1)
        };
        if self.style == Style::Bars {
            let line = self
                .tables
                .lock()
                .ok()
                .and_then(|t| t.get(&table_name(database, table)).map(|l| l.bar.clone()));
            if let Some(bar) = line {
                bar.inc(rows);
            }
        }
        if self.copy {
            self.copy_progress_line();
            return;
        }
        if !self.progress_due() {
            return;
        }
        // Read so far of the total, the share of the bar, the rate and time left since the
        // rows were planned.
        let secs = since.elapsed();
        let sql = self.counts.sql_bytes.load(Ordering::Relaxed);
        let share = position as f64 / total.max(1) as f64;
        let left = bars::eta(position, total, secs);
        self.json(json!({
            "event": "progress", "rows": done, "expected_rows": total, "fraction": share,
            "sql_bytes": sql, "seconds": secs.as_secs_f64(),
            "eta_seconds": left.map(|d| d.as_secs_f64()),
        }));
        if self.style == Style::Lines {
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

    /// `db-copy`'s rows loaded into the target so far: the bar's position.
    pub(super) fn copy_loaded(&self, rows: u64) {
        self.counts.loaded.store(rows, Ordering::Relaxed);
        self.overall.set_position(rows);
        self.copy_progress_line();
    }

    /// The periodic progress line of a copy: the rows loaded into the target of those the
    /// source plans (the share and the time left are theirs), and the rows read.
    fn copy_progress_line(&self) {
        if !self.progress_due() {
            return;
        }
        let (total, since) = match self.tally.lock() {
            Ok(t) => (t.0.total(), t.1),
            Err(_) => return,
        };
        let loaded = self.counts.loaded.load(Ordering::Relaxed);
        let read = self.counts.rows.load(Ordering::Relaxed);
        let sql = self.counts.sql_bytes.load(Ordering::Relaxed);
        let secs = since.elapsed();
        let share = (loaded as f64 / total.max(1) as f64).min(1.0);
        let left = bars::eta(loaded, total, secs);
        self.json(json!({
            "event": "progress", "rows": read, "loaded_rows": loaded, "expected_rows": total,
            "fraction": share, "sql_bytes": sql, "seconds": secs.as_secs_f64(),
            "eta_seconds": left.map(|d| d.as_secs_f64()),
        }));
        if self.style == Style::Lines {
            self.say(&format!(
                "progress: {}/{} rows loaded ({:.0}%), {} read, {} of SQL, {}, ETA {}",
                HumanCount(loaded),
                HumanCount(total),
                share * 100.0,
                HumanCount(read),
                human_size(sql),
                bars::rate(loaded, secs),
                left.map_or("-".into(), bars::short_duration),
            ));
        }
    }

    /// A restore's (or verify's) rows and bytes of the current file so far.
    pub(super) fn file_read(&self, rows: u64, file_bytes: u64) {
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
        if self.style == Style::Bars {
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
        if !self.progress_due() {
            return;
        }
        let secs = r.since.elapsed();
        let share = position as f64 / length.max(1) as f64;
        let left = bars::eta(position, length, secs);
        let (read, total) = (r.position(), r.total());
        let (file_total, file_read) = r.file();
        let planned = self.counts.rows_planned.load(Ordering::Relaxed);
        self.json(json!({
            "event": "progress", "rows": r.rows(),
            "planned_rows": (planned > 0).then_some(planned), "file_bytes": file_read,
            "file_total": file_total, "bytes": read, "total_bytes": total, "fraction": share,
            "seconds": secs.as_secs_f64(), "eta_seconds": left.map(|d| d.as_secs_f64()),
        }));
        if self.style == Style::Lines {
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

    /// A restore's table's rows loaded so far.
    pub(super) fn table_loaded_rows(&self, database: &str, table: &str, rows: u64) {
        if self.style != Style::Bars || self.copy {
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
