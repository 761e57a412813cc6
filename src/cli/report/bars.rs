//! What the terminal shows while a run works: the overall bar's styles (rows, or bytes of the
//! files read, or a spinner with counts when there is no total), the table lines, the units
//! they are shown in, and where a restore's reading of several files stands.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{HumanCount, ProgressState, ProgressStyle};
use sfdbtools::metadata::human_size as size;

/// Counts the bars' keys read as they are drawn (atomics: drawing must not wait for the
/// lock the serialiser threads take).
#[derive(Default)]
pub(super) struct Counts {
    /// Rows read (dump, verify --against) or restored (restore, verify).
    pub rows: AtomicU64,
    /// Bytes of SQL serialised (dump, verify --against).
    pub sql_bytes: AtomicU64,
    /// The rows a restore will restore, when its files' metadata say (0: not known).
    pub rows_planned: AtomicU64,
    /// Bytes of a restore's (or verify's) files read, and their size.
    pub read_bytes: AtomicU64,
    pub total_bytes: AtomicU64,
    /// `db-copy`: rows loaded into the target (`rows` are those read from the source).
    pub loaded: AtomicU64,
}

impl Counts {
    /// Rows so far, "of" the planned rows when known: "5,136,335/7,800,002".
    pub fn rows_of(&self) -> String {
        let rows = HumanCount(self.rows.load(Ordering::Relaxed));
        match self.rows_planned.load(Ordering::Relaxed) {
            0 => rows.to_string(),
            planned => format!("{rows}/{}", HumanCount(planned)),
        }
    }
}

/// A duration for a progress line: "42s", "3m 05s", "2h 07m".
pub(super) fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// A rate for a progress line: "12,345 rows/s"; under one a second (a few rows of large
/// blobs), with one decimal, since "0 rows/s" reads as stuck.
pub(super) fn rate(count: u64, over: Duration) -> String {
    let per_sec = count as f64 / over.as_secs_f64().max(0.001);
    if count > 0 && per_sec < 1.0 {
        return format!("{:.1} rows/s", per_sec.max(0.1));
    }
    format!("{} rows/s", HumanCount(per_sec as u64))
}

/// The time left at the average rate so far, when there is one.
pub(super) fn eta(position: u64, total: u64, over: Duration) -> Option<Duration> {
    if position == 0 || over.is_zero() {
        return None;
    }
    let left = total.saturating_sub(position) as f64;
    Some(Duration::from_secs_f64(
        left * over.as_secs_f64() / position as f64,
    ))
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// The keys every overall style shares: rows so far and their rate, the time left.
fn with_count_keys(style: ProgressStyle, counts: &Arc<Counts>) -> ProgressStyle {
    let (rows, rate_of) = (counts.clone(), counts.clone());
    style
        .with_key("rows", move |_: &ProgressState, w: &mut dyn Write| {
            let _ = write!(w, "{}", HumanCount(rows.rows.load(Ordering::Relaxed)));
        })
        .with_key("rate", move |s: &ProgressState, w: &mut dyn Write| {
            let _ = write!(
                w,
                "{}",
                rate(rate_of.rows.load(Ordering::Relaxed), s.elapsed())
            );
        })
        .with_key("left", |s: &ProgressState, w: &mut dyn Write| {
            let _ = match eta(s.pos(), s.len().unwrap_or(0), s.elapsed()) {
                Some(d) => write!(w, "ETA {}", short_duration(d)),
                None => write!(w, "ETA -"),
            };
        })
}

/// The overall bar of a dump or `verify --against`: its position and length are the
/// [`Tally`](sfdbtools::progress::Tally)'s, the rows shown are those read.
pub(super) fn rows_bar(counts: &Arc<Counts>) -> ProgressStyle {
    let sql = counts.clone();
    with_count_keys(
        style(
            "{elapsed_precise} [{bar:30}] {percent:>3}% {rows}/{total} rows, {sql} of SQL, \
             {rate}, {left}",
        ),
        counts,
    )
    .with_key("total", |s: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", HumanCount(s.len().unwrap_or(0)));
    })
    .with_key("sql", move |_: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", size(sql.sql_bytes.load(Ordering::Relaxed)));
    })
}

/// The overall bar of `db-copy`: its position is the rows loaded into the target (the copy is
/// done when they are), its length the rows the source plans; the rows read are shown beside.
pub(super) fn copy_bar(counts: &Arc<Counts>) -> ProgressStyle {
    let (sql, loaded, rate_of) = (counts.clone(), counts.clone(), counts.clone());
    with_count_keys(
        style(
            "{elapsed_precise} [{bar:30}] {percent:>3}% {loaded}/{total} rows loaded, {rows} \
             read, {sql} of SQL, {load_rate}, {left}",
        ),
        counts,
    )
    .with_key("total", |s: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", HumanCount(s.len().unwrap_or(0)));
    })
    .with_key("loaded", move |_: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", HumanCount(loaded.loaded.load(Ordering::Relaxed)));
    })
    .with_key("load_rate", move |s: &ProgressState, w: &mut dyn Write| {
        let _ = write!(
            w,
            "{}",
            rate(rate_of.loaded.load(Ordering::Relaxed), s.elapsed())
        );
    })
    .with_key("sql", move |_: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", size(sql.sql_bytes.load(Ordering::Relaxed)));
    })
}

/// Rows are read but no total is known (every estimate was 0): counts, no bar.
pub(super) fn rows_spinner(counts: &Arc<Counts>) -> ProgressStyle {
    let sql = counts.clone();
    with_count_keys(
        style("{elapsed_precise} {spinner} {rows} rows, {sql} of SQL, {rate}"),
        counts,
    )
    .with_key("sql", move |_: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", size(sql.sql_bytes.load(Ordering::Relaxed)));
    })
}

/// The overall bar of a restore or `verify`: the rows restored of those the metadata record,
/// else the bytes of the files read (see [`Reading::bar`]).
pub(super) fn reading_bar(counts: &Arc<Counts>) -> ProgressStyle {
    let (rows, read, of) = (counts.clone(), counts.clone(), counts.clone());
    with_count_keys(
        style(
            "{elapsed_precise} [{bar:30}] {percent:>3}% {read}/{size} read, {rows_of} rows, \
             {rate}, {left}",
        ),
        counts,
    )
    .with_key("rows_of", move |_: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", rows.rows_of());
    })
    .with_key("read", move |_: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", size(read.read_bytes.load(Ordering::Relaxed)));
    })
    .with_key("size", move |_: &ProgressState, w: &mut dyn Write| {
        let _ = write!(w, "{}", size(of.total_bytes.load(Ordering::Relaxed)));
    })
}

/// A table's line: its rows so far (of its estimate, when it has one), their rate, its time.
pub(super) fn table_line(estimate: Option<u64>) -> ProgressStyle {
    let template = match estimate {
        Some(_) => "  {spinner} {msg} {count}/~{estimate} rows, {table_rate} {clock}",
        None => "  {spinner} {msg} {count} rows, {table_rate} {clock}",
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key("count", |s: &ProgressState, w: &mut dyn Write| {
            let _ = write!(w, "{}", HumanCount(s.pos()));
        })
        .with_key("estimate", |s: &ProgressState, w: &mut dyn Write| {
            let _ = write!(w, "{}", HumanCount(s.len().unwrap_or(0)));
        })
        .with_key("table_rate", |s: &ProgressState, w: &mut dyn Write| {
            let _ = write!(w, "{}", rate(s.pos(), s.elapsed()));
        })
        .with_key("clock", |s: &ProgressState, w: &mut dyn Write| {
            let _ = write!(w, "{}", short_duration(s.elapsed()));
        })
}

/// Where a restore's (or verify's) reading stands over all its files, so that the bar does not
/// start over with each: the files before the current one count whole.
#[derive(Clone, Copy, Debug)]
pub(super) struct Reading {
    /// The size of every file, when the restore said it first (`RestorePlanned`).
    planned: u64,
    /// The rows the files' metadata record, when they all do (0: not known).
    rows_planned: u64,
    /// The size of the files read before the current one.
    before: u64,
    /// The current file's size and bytes read of it.
    file: u64,
    read: u64,
    /// Rows of the files before the current one, and of it so far.
    rows_before: u64,
    rows: u64,
    /// When the first file started.
    pub since: Instant,
    started: bool,
}

impl Default for Reading {
    fn default() -> Reading {
        Reading {
            planned: 0,
            rows_planned: 0,
            before: 0,
            file: 0,
            read: 0,
            rows_before: 0,
            rows: 0,
            since: Instant::now(),
            started: false,
        }
    }
}

impl Reading {
    pub fn plan(&mut self, bytes: u64, rows: Option<u64>) {
        self.planned = bytes;
        self.rows_planned = rows.unwrap_or(0);
    }

    /// A file of `bytes` starts: the one before it counts whole from now on.
    pub fn start_file(&mut self, bytes: u64) {
        if self.started {
            self.before += self.file;
            self.rows_before += self.rows;
        } else {
            self.started = true;
            self.since = Instant::now();
        }
        self.file = bytes;
        self.read = 0;
        self.rows = 0;
    }

    /// The current file's rows and bytes read so far.
    pub fn update(&mut self, rows: u64, read: u64) {
        self.rows = self.rows.max(rows);
        self.read = self.read.max(read.min(self.file));
    }

    /// Bytes read of all the files.
    pub fn position(&self) -> u64 {
        self.before + self.read
    }

    /// Bytes of all the files (those planned, or those seen when more).
    pub fn total(&self) -> u64 {
        self.planned.max(self.before + self.file)
    }

    /// Rows of all the files so far.
    pub fn rows(&self) -> u64 {
        self.rows_before + self.rows
    }

    /// The current file's size and bytes read of it.
    pub fn file(&self) -> (u64, u64) {
        (self.file, self.read)
    }

    /// The bar's position and length: the rows restored of those planned when the metadata
    /// record them (the files are read well ahead of the rows the server has taken, so bytes
    /// read would reach the end first), else the bytes read.
    pub fn bar(&self) -> (u64, u64) {
        match self.rows_planned {
            0 => (self.position(), self.total()),
            rows => (self.rows().min(rows), rows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_read_short() {
        assert_eq!(short_duration(Duration::from_secs(42)), "42s");
        assert_eq!(short_duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(short_duration(Duration::from_secs(7620)), "2h 07m");
        assert_eq!(rate(12_345, Duration::from_secs(1)), "12,345 rows/s");
        assert_eq!(rate(3, Duration::from_millis(3700)), "0.8 rows/s");
        assert_eq!(rate(1, Duration::from_secs(100)), "0.1 rows/s");
        assert_eq!(rate(0, Duration::from_secs(5)), "0 rows/s");
        assert_eq!(eta(0, 100, Duration::from_secs(5)), None);
        assert_eq!(
            eta(25, 100, Duration::from_secs(10)),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn a_restore_of_several_files_never_starts_over() {
        let mut r = Reading::default();
        r.plan(300, None);
        r.start_file(100);
        assert_eq!((r.position(), r.total()), (0, 300));
        r.update(10, 60);
        r.update(20, 100);
        assert_eq!((r.position(), r.total(), r.rows()), (100, 300, 20));
        r.start_file(200);
        assert_eq!((r.position(), r.total(), r.rows()), (100, 300, 20));
        r.update(5, 50);
        assert_eq!((r.position(), r.total(), r.rows()), (150, 300, 25));
        // A read count past the file's size (or one going back) moves nothing the wrong way.
        r.update(5, 40);
        r.update(7, 900);
        assert_eq!((r.position(), r.total(), r.rows()), (300, 300, 27));
        assert_eq!(r.bar(), (300, 300));
    }

    #[test]
    fn with_the_rows_planned_the_bar_counts_rows() {
        let mut r = Reading::default();
        r.plan(1000, Some(50));
        r.start_file(1000);
        // The whole file read, a fifth of its rows taken by the server.
        r.update(10, 1000);
        assert_eq!((r.position(), r.bar()), (1000, (10, 50)));
        // More rows than the metadata said: a full bar, no further.
        r.update(60, 1000);
        assert_eq!(r.bar(), (50, 50));
    }

    #[test]
    fn a_file_read_alone_is_its_own_total() {
        let mut r = Reading::default();
        r.start_file(1000);
        r.update(3, 500);
        assert_eq!(
            (r.position(), r.total(), r.file()),
            (500, 1000, (1000, 500))
        );
    }
}
