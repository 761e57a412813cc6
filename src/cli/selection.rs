//! The table selection flags turned into the run's [`TableFilter`] (and a backup's
//! [`DumpObjects`]): each pattern parsed, a malformed one a usage error naming its flag. The
//! `--tables` lists and the `--tables-file` of `db-backup` and `db-restore` are read here, once.

use std::path::Path;

use sfdbtools::Error;
use sfdbtools::config::run::DumpObjects;
use sfdbtools::select::{RowFilter, TableFilter, TablePattern};

use super::args::selection::DumpSelectionArgs;

/// The filter and object kinds the flags ask for (empty and all when none is given).
pub fn dump_selection(a: &DumpSelectionArgs) -> Result<(TableFilter, DumpObjects), Error> {
    let parse = |flag: &str, text: &str| {
        TablePattern::parse(text.trim()).map_err(|e| Error::Usage(format!("{flag}: {e}")))
    };
    let mut filter = TableFilter {
        tables: tables(&a.tables, a.tables_file.as_deref())?,
        ..TableFilter::default()
    };
    for text in &a.ignore_table {
        filter.ignore.push(parse("--ignore-table", text)?);
    }
    for text in &a.ignore_table_data {
        filter.ignore_data.push(parse("--ignore-table-data", text)?);
    }
    for text in &a.wheres {
        let (pattern, condition) = TablePattern::parse_with_condition(text.trim())
            .map_err(|e| Error::Usage(format!("--where: {e}")))?;
        filter.wheres.push(RowFilter { pattern, condition });
    }
    let objects = DumpObjects {
        create_info: !a.no_create_info,
        triggers: !a.skip_triggers,
        routines: !a.skip_routines,
        events: !a.skip_events,
    };
    Ok((filter, objects))
}

/// `--tables a.b,c.d` (repeatable, split at the commas outside backticks) and `--tables-file`.
/// A list that names nothing is refused: `--tables "$LIST"` with an empty variable must not
/// take every table.
pub(super) fn tables(lists: &[String], file: Option<&Path>) -> Result<Vec<TablePattern>, Error> {
    let mut out = Vec::new();
    for list in lists {
        let parsed =
            TablePattern::parse_list(list).map_err(|e| Error::Usage(format!("--tables: {e}")))?;
        if parsed.is_empty() {
            return Err(Error::Usage(format!(
                "--tables: {list:?} names no table: give db.table patterns"
            )));
        }
        out.extend(parsed);
    }
    if let Some(path) = file {
        out.extend(read_patterns(path)?);
    }
    Ok(out)
}

/// `--tables-file`: one pattern per line; CRLF tolerated; blank lines and `#` comments
/// skipped, like `--db-file`.
fn read_patterns(path: &Path) -> Result<Vec<TablePattern>, Error> {
    let text = sfdbtools::limits::read_text(path, sfdbtools::limits::LIST_FILE, "list of tables")
        .map_err(|e| {
        Error::Usage(format!(
            "--tables-file: cannot read {}: {e}",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(TablePattern::parse(line).map_err(|e| {
            Error::Usage(format!(
                "--tables-file {} line {}: {e}",
                path.display(),
                n + 1
            ))
        })?);
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "--tables-file {} lists no table (only blank lines and # comments): name the \
             tables, one db.table pattern per line",
            path.display()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut DumpSelectionArgs)) -> DumpSelectionArgs {
        let mut a = DumpSelectionArgs::default();
        f(&mut a);
        a
    }

    #[test]
    fn every_flag_fills_its_list_and_nothing_given_takes_everything() {
        let (f, o) = dump_selection(&DumpSelectionArgs::default()).unwrap();
        assert!(f.is_empty());
        assert_eq!(o, DumpObjects::default());
        let a = args(|a| {
            a.tables = vec!["shop.a, shop.t*".into(), "`x,y`.t".into()];
            a.ignore_table = vec!["shop.tmp".into()];
            a.ignore_table_data = vec!["*.tlog".into()];
            a.wheres = vec!["shop.t*:id > 5 AND t < '10:00'".into()];
            a.no_create_info = true;
            a.skip_events = true;
        });
        let (f, o) = dump_selection(&a).unwrap();
        let texts: Vec<&str> = f.tables.iter().map(|p| p.text()).collect();
        assert_eq!(texts, ["shop.a", "shop.t*", "`x,y`.t"]);
        assert!(f.takes("x,y", "t") && f.takes("shop", "tx") && !f.takes("shop", "b"));
        assert!(!f.takes("shop", "tmp"));
        assert!(f.takes("shop", "tlog") && !f.takes_rows("shop", "tlog"));
        assert_eq!(
            f.condition("shop", "tx").as_deref(),
            Some("(id > 5 AND t < '10:00')")
        );
        assert_eq!(
            o,
            DumpObjects {
                create_info: false,
                triggers: true,
                routines: true,
                events: false,
            }
        );
    }

    #[test]
    fn a_malformed_pattern_is_a_usage_error_naming_its_flag_and_text() {
        for (a, starts) in [
            (
                args(|a| a.tables = vec!["shop.a,orders".into()]),
                "--tables: \"orders\"",
            ),
            (
                args(|a| a.ignore_table = vec!["a.b.c".into()]),
                "--ignore-table: \"a.b.c\"",
            ),
            (
                args(|a| a.ignore_table_data = vec!["`x.t".into()]),
                "--ignore-table-data: \"`x.t\"",
            ),
            (
                args(|a| a.wheres = vec!["shop.o".into()]),
                "--where: \"shop.o\"",
            ),
            (
                args(|a| a.wheres = vec!["shop.o:".into()]),
                "--where: \"shop.o:\"",
            ),
        ] {
            let e = dump_selection(&a).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().starts_with(starts), "{e}");
        }
    }

    #[test]
    fn the_tables_file_holds_one_pattern_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tables.txt");
        std::fs::write(&path, "# nightly\r\nshop.orders\r\n\r\n  crm.log_*  \n").unwrap();
        let a = args(|a| {
            a.tables = vec!["x.y".into()];
            a.tables_file = Some(path.clone());
        });
        let (f, _) = dump_selection(&a).unwrap();
        let texts: Vec<&str> = f.tables.iter().map(|p| p.text()).collect();
        assert_eq!(texts, ["x.y", "shop.orders", "crm.log_*"]);
        std::fs::write(&path, "shop.orders\norders\n").unwrap();
        let e = dump_selection(&a).unwrap_err().to_string();
        assert!(e.contains("tables.txt line 2: \"orders\""), "{e}");
        let missing = args(|a| a.tables_file = Some(dir.path().join("nope")));
        let e = dump_selection(&missing).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().starts_with("--tables-file: cannot read"),
            "{e}"
        );
    }
}
