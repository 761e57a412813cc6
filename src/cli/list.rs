//! `list [DIR]`: the backup sets under a directory (DIR, else config
//! `backup.output.base_directory`), as a table on stdout or, with `--json`, a JSON array.

use std::path::{Path, PathBuf};

use indicatif::HumanBytes;
use sfdbtools::Error;
use sfdbtools::config::file::Settings;
use sfdbtools::inventory::{self, SetSummary, VerifiedStatus};
use sfdbtools::progress::{Event, Progress};

use super::args::ListArgs;
use super::report::{Reporter, Style};

/// A listing with everything it needs.
#[derive(Debug, PartialEq, Eq)]
pub struct List {
    pub base: PathBuf,
    pub json: bool,
}

/// Databases shown in the table's column before the rest are counted.
const DATABASES_SHOWN: usize = 3;

/// The directory: DIR, else the config's base directory (as `cleanup`), else a usage error.
pub fn config(a: ListArgs, settings: &Settings) -> Result<List, Error> {
    let list = List {
        base: a
            .dir
            .or_else(|| settings.base_directory.clone())
            .ok_or_else(|| {
                Error::Usage(
                    "list needs the directory that holds the backups: pass it (sfdbtools list \
                     DIR), or set backup.output.base_directory in the config file"
                        .into(),
                )
            })?,
        json: a.json,
    };
    a.s3.configure_for(&list.base)?;
    Ok(list)
}

/// Lists the sets; what could not be looked into, and each metadata file that cannot be read,
/// as warnings on stderr.
pub fn run(l: List, style: Style) -> Result<(), Error> {
    // No bars: nothing here takes long enough to show progress.
    let reporter = Reporter::new(if style == Style::Bars {
        Style::Lines
    } else {
        style
    });
    let listing = inventory::list(&l.base)?;
    for w in &listing.warnings {
        reporter.event(&Event::Warning(w));
    }
    for s in &listing.sets {
        if let Some(p) = &s.problem {
            reporter.event(&Event::Warning(&format!("{}: {p}", s.file.display())));
        }
    }
    if l.json {
        let text = serde_json::to_string_pretty(&listing.sets)
            .map_err(|e| Error::Internal(format!("serialising the list of backups: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    if listing.sets.is_empty() {
        if style != Style::Quiet {
            eprintln!("no backup set under {}", l.base.display());
        }
        return Ok(());
    }
    print!("{}", table(&l.base, &listing.sets));
    Ok(())
}

/// The table: one row per set, columns padded to their widest cell.
fn table(base: &Path, sets: &[SetSummary]) -> String {
    let header = [
        "time",
        "databases",
        "size",
        "codec",
        "encrypted",
        "gtid",
        "ticket",
        "verified",
        "file",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 9]> = sets.iter().map(|s| row(base, s)).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            // Sizes right-aligned, the rest left.
            if i == 2 {
                line.push_str(&format!("{cell:>w$}"));
            } else {
                line.push_str(&format!("{cell:<w$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn row(base: &Path, s: &SetSummary) -> [String; 9] {
    let dash = || "-".to_owned();
    let databases = if s.problem.is_some() {
        "(metadata unreadable)".to_owned()
    } else if s.databases.len() > DATABASES_SHOWN {
        format!(
            "{} +{}",
            s.databases[..DATABASES_SHOWN].join(", "),
            s.databases.len() - DATABASES_SHOWN
        )
    } else {
        s.databases.join(", ")
    };
    [
        s.time.as_deref().map_or_else(dash, local_time),
        databases,
        s.size_bytes
            .map_or_else(dash, |b| HumanBytes(b).to_string()),
        s.codec.clone().unwrap_or_else(dash),
        s.encrypted
            .map_or_else(dash, |e| if e { "yes" } else { "no" }.to_owned()),
        s.gtid.clone().unwrap_or_else(dash),
        s.ticket.clone().unwrap_or_else(dash),
        verified(s),
        s.file
            .strip_prefix(base)
            .unwrap_or(&s.file)
            .display()
            .to_string(),
    ]
    .map(|cell| shown(&cell))
}

/// `passed 2026-01-05 03:00:00 against shop_copy`, `never`, `stale (passed …)`.
fn verified(s: &SetSummary) -> String {
    let v = &s.verified;
    let at = v.at.as_deref().map(local_time);
    let mut text = match (v.status, at) {
        (VerifiedStatus::Stale, Some(at)) => format!("stale (verified {at})"),
        (status, Some(at)) => format!("{} {at}", status.name()),
        (status, None) => status.name().to_owned(),
    };
    if let Some(db) = &v.against {
        text.push_str(&format!(" against {db}"));
    }
    text
}

/// An RFC 3339 time in this machine's zone, to the second.
fn local_time(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_owned())
}

/// A cell as the terminal may show it: control characters (line breaks, escape sequences from
/// a hostile metadata file) written as escapes.
fn shown(cell: &str) -> String {
    cell.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::inputs::tests::config as settings;
    use super::*;
    use sfdbtools::inventory::Verified;

    #[test]
    fn the_directory_is_the_argument_else_the_config_s_base() {
        let args = |dir: Option<&str>| ListArgs {
            dir: dir.map(PathBuf::from),
            json: false,
            s3: Default::default(),
        };
        let with_base = settings("backup:\n  output: {base_directory: /backups}\n");
        assert_eq!(
            config(args(Some("/here")), &with_base).unwrap().base,
            PathBuf::from("/here")
        );
        assert_eq!(
            config(args(None), &with_base).unwrap().base,
            PathBuf::from("/backups")
        );
        let e = config(args(None), &Settings::default()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().starts_with("list needs the directory"), "{e}");
    }

    #[test]
    fn rows_show_binary_sizes_and_escape_what_a_terminal_would_obey() {
        let s = SetSummary {
            file: PathBuf::from("/b/20260105/shop.sql.zst"),
            metadata: PathBuf::from("/b/20260105/shop.sql.zst.meta.json"),
            time: Some("2026-01-05T02:00:00+00:00".into()),
            databases: vec!["a".into(), "b".into(), "c".into(), "d\u{1b}[2J".into()],
            size_bytes: Some(3 << 20),
            codec: Some("zstd".into()),
            encrypted: Some(true),
            gtid: Some("0-1-22".into()),
            ticket: Some("T\nX".into()),
            verified: Verified {
                status: VerifiedStatus::Passed,
                at: Some("2026-01-05T03:00:00+00:00".into()),
                against: Some("shop_copy".into()),
                detail: None,
            },
            problem: None,
            sort_key: 0,
        };
        let r = row(Path::new("/b"), &s);
        assert_eq!(r[1], "a, b, c +1");
        assert_eq!(r[2], "3.00 MiB");
        assert_eq!(r[6], "T\\nX");
        assert!(r[7].starts_with("passed 2026-01-0") && r[7].ends_with(" against shop_copy"));
        assert_eq!(r[8], "20260105/shop.sql.zst");
        let mut hostile = s.clone();
        hostile.databases = vec!["d\u{1b}[2J".into()];
        let text = table(Path::new("/b"), &[hostile]);
        assert!(
            !text.contains('\u{1b}') && text.contains("d\\u{1b}[2J"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 2);
    }
}
