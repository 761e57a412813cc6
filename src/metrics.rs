//! The Prometheus metrics file of a backup (`--metrics-file`, config `backup.metrics.file`), in
//! node_exporter's textfile-collector format: per database, when the last run ended, when a
//! run last succeeded, its status, duration, bytes and rows.
//!
//! Rewritten after every run that starts, failed and interrupted ones included, atomically
//! (a temporary file in the same directory, renamed) with mode 0644 so that the collector can
//! read it. A run that fails carries each database's last success over from the file it
//! replaces: an alert on `time() - sfdbtools_backup_last_success_timestamp_seconds` then fires
//! on a backup that stopped working, whatever it prints.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::config::run::{BackupConfig, BackupMode};
use crate::dump::BackupReport;
use crate::error::{Error, Result};

/// The permissions of the file: node_exporter usually runs as another user.
const MODE: u32 = 0o644;

/// What one database's backup in a run that succeeded amounted to.
#[derive(Clone, Debug, PartialEq)]
pub struct DatabaseRun {
    pub database: String,
    /// How long the file that holds it took (a combined file's, for each of its databases).
    pub duration: Duration,
    /// The size of that file (a combined file's, for each of its databases).
    pub bytes: u64,
    /// Rows of this database's tables in the file.
    pub rows: u64,
}

/// How a run ended, for the metrics file.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Succeeded(Vec<DatabaseRun>),
    /// Failed or interrupted after `duration`; `databases` are those it was asked for by
    /// name (none for `all`, `primary`, `secondary`: the file's earlier ones stand for them).
    Failed {
        databases: Vec<String>,
        duration: Duration,
    },
}

impl Outcome {
    /// The databases of a successful run, each with its file's size and duration.
    pub fn succeeded(report: &BackupReport) -> Outcome {
        let mut runs = Vec::new();
        for f in &report.files {
            for db in &f.databases {
                runs.push(DatabaseRun {
                    database: db.clone(),
                    duration: Duration::from_millis(f.metadata.duration_ms),
                    bytes: f.metadata.file.size_bytes,
                    rows: f
                        .metadata
                        .tables
                        .iter()
                        .filter(|t| &t.database == db)
                        .map(|t| t.rows)
                        .sum(),
                });
            }
        }
        Outcome::Succeeded(runs)
    }

    /// A run of `cfg` that failed (or was interrupted) after `duration`.
    pub fn failed(cfg: &BackupConfig, duration: Duration) -> Outcome {
        let mut databases = match &cfg.mode {
            BackupMode::Single { database } => vec![database.clone()],
            BackupMode::Filter { databases, .. } => databases.clone(),
            _ => Vec::new(),
        };
        databases.extend(cfg.include.iter().cloned());
        Outcome::Failed {
            databases,
            duration,
        }
    }
}

/// The series of an earlier file, by database.
type Earlier = BTreeMap<String, Series>;

/// One database's values. `last_success` 0 means never (as far as the file knows).
#[derive(Clone, Debug, Default, PartialEq)]
struct Series {
    last_run: f64,
    last_success: f64,
    status: f64,
    duration: f64,
    bytes: f64,
    rows: f64,
}

/// A metric family: its name, its help text, and the field of a series it shows.
type Family = (&'static str, &'static str, fn(&Series) -> f64);

/// The metric families in the file's order.
const FAMILIES: [Family; 6] = [
    (
        "sfdbtools_backup_last_run_timestamp_seconds",
        "When the last backup run of the database ended (Unix time), whatever its outcome.",
        |s| s.last_run,
    ),
    (
        "sfdbtools_backup_last_success_timestamp_seconds",
        "When a backup run of the database last succeeded (Unix time; 0: never).",
        |s| s.last_success,
    ),
    (
        "sfdbtools_backup_last_status",
        "1: the database's last backup run succeeded; 0: it failed or was interrupted.",
        |s| s.status,
    ),
    (
        "sfdbtools_backup_duration_seconds",
        "How long the last backup run took (on success, the file holding the database).",
        |s| s.duration,
    ),
    (
        "sfdbtools_backup_bytes",
        "Size of the file holding the database, of the last successful backup.",
        |s| s.bytes,
    ),
    (
        "sfdbtools_backup_rows",
        "Rows of the database's tables, of the last successful backup.",
        |s| s.rows,
    ),
];

/// Rewrites the metrics file at `path` for a run that ended at `now`. Returns warnings (an
/// earlier file that cannot be read in full); an error when the file cannot be written.
pub fn update(path: &Path, outcome: &Outcome, now: SystemTime) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let earlier = match read_earlier(path) {
        Ok((series, bad)) => {
            warnings.extend(bad);
            series
        }
        Err(why) => {
            warnings.push(why);
            BTreeMap::new()
        }
    };
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let series = merge(earlier, outcome, now);
    crate::output::file::AtomicFile::replacing(path, MODE)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(render(&series).as_bytes())?;
            f.finish()
        })
        .map_err(|e| Error::file("writing the metrics file", path.to_owned(), e))?;
    Ok(warnings)
}

/// The series after a run: a success reports exactly its databases; a failure marks every
/// database the earlier file had, and those it was asked for, as failed, keeping their last
/// success (0 for one that never had one) and the bytes and rows of that success.
fn merge(
    mut earlier: BTreeMap<String, Series>,
    outcome: &Outcome,
    now: f64,
) -> BTreeMap<String, Series> {
    match outcome {
        Outcome::Succeeded(runs) => runs
            .iter()
            .map(|r| {
                (
                    r.database.clone(),
                    Series {
                        last_run: now,
                        last_success: now,
                        status: 1.0,
                        duration: r.duration.as_secs_f64(),
                        bytes: r.bytes as f64,
                        rows: r.rows as f64,
                    },
                )
            })
            .collect(),
        Outcome::Failed {
            databases,
            duration,
        } => {
            for db in databases {
                earlier.entry(db.clone()).or_default();
            }
            // Nothing known of what failed: one series without a database, so that the
            // failure is seen at all.
            if earlier.is_empty() {
                earlier.insert(String::new(), Series::default());
            }
            for s in earlier.values_mut() {
                s.last_run = now;
                s.status = 0.0;
                s.duration = duration.as_secs_f64();
            }
            earlier
        }
    }
}

/// The file's text: each family's HELP and TYPE, then one line per database.
fn render(series: &BTreeMap<String, Series>) -> String {
    let mut out = String::new();
    for (name, help, field) in FAMILIES {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (db, s) in series {
            let labels = if db.is_empty() {
                String::new()
            } else {
                format!("{{database=\"{}\"}}", escape_label(db))
            };
            out.push_str(&format!("{name}{labels} {}\n", number(field(s))));
        }
    }
    out
}

/// A label value as the exposition format wants it: backslash, double quote and line feed
/// escaped.
fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Whole numbers without a fraction, others to the millisecond.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// The series of the earlier file (none when there is none), and a warning when lines of it
/// cannot be read; an error when the file cannot be read at all.
fn read_earlier(path: &Path) -> std::result::Result<(Earlier, Vec<String>), String> {
    let not_read = |why: String| {
        format!(
            "the earlier metrics file {} cannot be read ({why}): the last success of each \
             database starts again from this run",
            path.display()
        )
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((BTreeMap::new(), Vec::new()));
        }
        Err(e) => return Err(not_read(e.to_string())),
        Ok(m) if !m.is_file() => return Err(not_read("not a regular file".into())),
        Ok(_) => {}
    }
    let text = crate::limits::read_text(path, crate::limits::METRICS_FILE, "metrics file")
        .map_err(|e| not_read(e.to_string()))?;
    let (series, bad) = parse(&text);
    let warnings = match bad.first() {
        None => Vec::new(),
        Some((line, why)) => vec![format!(
            "the earlier metrics file {} has {} line(s) that cannot be read (line {line}: \
             {why}); what they said is not carried over",
            path.display(),
            bad.len()
        )],
    };
    Ok((series, warnings))
}

/// Our series in a metrics file's text, and the lines (1-based) that are not a comment, not
/// blank and not a sample of ours, with why.
fn parse(text: &str) -> (BTreeMap<String, Series>, Vec<(usize, String)>) {
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match sample(line) {
            Ok((name, db, value)) => {
                let Some(field) = field_mut(&name) else {
                    bad.push((i + 1, format!("unknown metric {name}")));
                    continue;
                };
                *field(series.entry(db).or_default()) = value;
            }
            Err(why) => bad.push((i + 1, why)),
        }
    }
    (series, bad)
}

/// Where the value of metric `name` goes.
fn field_mut(name: &str) -> Option<fn(&mut Series) -> &mut f64> {
    Some(match name {
        "sfdbtools_backup_last_run_timestamp_seconds" => |s| &mut s.last_run,
        "sfdbtools_backup_last_success_timestamp_seconds" => |s| &mut s.last_success,
        "sfdbtools_backup_last_status" => |s| &mut s.status,
        "sfdbtools_backup_duration_seconds" => |s| &mut s.duration,
        "sfdbtools_backup_bytes" => |s| &mut s.bytes,
        "sfdbtools_backup_rows" => |s| &mut s.rows,
        _ => return None,
    })
}

/// One sample line: `name{label="value",…} value [timestamp]` → the name, the `database`
/// label (empty when absent) and the value.
fn sample(line: &str) -> std::result::Result<(String, String, f64), String> {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err("no metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut database = String::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (labels, tail) = labels(after)?;
        database = labels
            .into_iter()
            .find(|(k, _)| k == "database")
            .map(|(_, v)| v)
            .unwrap_or_default();
        rest = tail;
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse::<f64>()
            .map_err(|_| format!("{v:?} is not a number"))?,
    };
    if fields.nth(1).is_some() {
        return Err("text after the value and timestamp".into());
    }
    Ok((name.to_owned(), database, value))
}

/// Label names and values.
type Labels = Vec<(String, String)>;

/// The labels after `{`, up to the closing `}`, and the text after it.
fn labels(mut s: &str) -> std::result::Result<(Labels, &str), String> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((out, rest));
        }
        let eq = s.find('=').ok_or("a label without a value")?;
        let key = s[..eq].trim().to_owned();
        let after = s[eq + 1..].trim_start();
        let mut chars = after
            .strip_prefix('"')
            .ok_or("a label value not in quotes")?
            .char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next() {
                None => return Err("a label value without its closing quote".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    _ => return Err("an unknown escape in a label value".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        out.push((key, value));
        s = after[1 + end + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(db: &str, rows: u64) -> DatabaseRun {
        DatabaseRun {
            database: db.into(),
            duration: Duration::from_millis(1500),
            bytes: 2048,
            rows,
        }
    }

    #[test]
    fn the_file_reads_back_as_written_with_hostile_names_escaped() {
        let names = ["shop", "we\"ird\\name\nx", "", "ü € `x`"];
        let outcome = Outcome::Succeeded(names.iter().map(|n| run(n, 7)).collect());
        let series = merge(BTreeMap::new(), &outcome, 1_767_600_000.25);
        let text = render(&series);
        assert!(text.contains("sfdbtools_backup_rows{database=\"we\\\"ird\\\\name\\nx\"} 7\n"));
        assert!(text.contains("sfdbtools_backup_last_status 1\n"), "{text}");
        assert!(text.contains("# TYPE sfdbtools_backup_last_success_timestamp_seconds gauge\n"));
        assert!(
            text.contains("{database=\"shop\"} 1767600000.250\n"),
            "{text}"
        );
        let (back, bad) = parse(&text);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(back, series);
        // Every line is a comment or `name{labels} value`, no line break inside a name.
        assert_eq!(text.lines().count(), FAMILIES.len() * (2 + names.len()));
    }

    #[test]
    fn a_failure_keeps_each_last_success_and_marks_every_database_failed() {
        let ok = merge(
            BTreeMap::new(),
            &Outcome::Succeeded(vec![run("shop", 5)]),
            100.0,
        );
        let failed = Outcome::Failed {
            databases: vec!["crm".into()],
            duration: Duration::from_secs(3),
        };
        let after = merge(ok, &failed, 200.0);
        let shop = &after["shop"];
        assert_eq!(
            (shop.last_run, shop.last_success, shop.status),
            (200.0, 100.0, 0.0)
        );
        assert_eq!((shop.duration, shop.rows, shop.bytes), (3.0, 5.0, 2048.0));
        let crm = &after["crm"];
        assert_eq!((crm.last_success, crm.status), (0.0, 0.0));
        // Nothing known: one series without a database label.
        let blind = Outcome::Failed {
            databases: Vec::new(),
            duration: Duration::ZERO,
        };
        let after = merge(BTreeMap::new(), &blind, 300.0);
        assert_eq!(after.keys().collect::<Vec<_>>(), [""]);
        assert!(render(&after).contains("\nsfdbtools_backup_last_status 0\n"));
    }

    #[test]
    fn a_garbled_earlier_file_is_a_warning_and_its_good_lines_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sfdbtools.prom");
        std::fs::write(
            &path,
            "garbage here\n\
             sfdbtools_backup_last_success_timestamp_seconds{database=\"shop\"} 42 1700000000000\n\
             sfdbtools_backup_rows{database=\"shop\" 3\n",
        )
        .unwrap();
        let failed = Outcome::Failed {
            databases: Vec::new(),
            duration: Duration::ZERO,
        };
        let warnings = update(
            &path,
            &failed,
            SystemTime::UNIX_EPOCH + Duration::from_secs(99),
        )
        .unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("2 line(s) that cannot be read (line 1: "),
            "{warnings:?}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(
                "sfdbtools_backup_last_success_timestamp_seconds{database=\"shop\"} 42\n"
            )
        );
        assert!(
            text.contains("sfdbtools_backup_last_run_timestamp_seconds{database=\"shop\"} 99\n")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // Not text at all: a warning, and the file starts again.
        std::fs::write(&path, [0xff, 0xfe, 0]).unwrap();
        let warnings = update(&path, &failed, SystemTime::UNIX_EPOCH).unwrap();
        assert!(warnings[0].contains("cannot be read"), "{warnings:?}");
    }
}
