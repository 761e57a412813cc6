//! The table selection in the dump tool's own options, for `--engine mysqldump`
//! (docs/compat.md §9): each planned file becomes one call of the tool, and what the native
//! engine's flags ask of that call is said in options the tool has, globs expanded against
//! the tables the plan listed. What the tool cannot express is a usage error before the first
//! call, naming the flag: never dropped without a word.

use super::selection::{ListedKind, TablePlan};
use super::{PlannedFile, RunContext};
use crate::config::run::{BackupMode, DumpObjects};
use crate::error::{Error, Result};
use crate::select::{self, TableFilter};

/// What one call of the dump tool is given besides its usual options: the selection's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct DumpCall {
    pub options: Vec<String>,
}

/// What a run asks of its tables, for [`call_for`].
pub(super) struct Asked<'a> {
    pub mode: &'a BackupMode,
    pub exclude_data: bool,
    pub filter: &'a TableFilter,
    pub objects: DumpObjects,
    pub tables: &'a TablePlan,
}

impl<'a> Asked<'a> {
    pub(super) fn of(run: &'a RunContext) -> Asked<'a> {
        Asked {
            mode: &run.cfg.mode,
            exclude_data: run.cfg.exclude_data,
            filter: &run.cfg.tables,
            objects: run.cfg.objects,
            tables: &run.tables,
        }
    }
}

/// The call that writes `plan`'s file.
pub(super) fn call_for(asked: &Asked<'_>, plan: &PlannedFile) -> Result<DumpCall> {
    let filter = asked.filter;
    let mut call = DumpCall::default();
    let in_file = |db: &str| plan.databases.iter().any(|d| d == db);
    if !asked.exclude_data {
        // The session tables of primary/secondary and --ignore-table-data alike.
        for t in asked
            .tables
            .data_skipped
            .iter()
            .filter(|t| in_file(&t.database))
        {
            call.options
                .push(format!("--ignore-table-data={}.{}", t.database, t.table));
        }
        if let Some(c) = one_condition(asked, plan)? {
            call.options.push(format!("--where={c}"));
        }
    }
    // What is left out is named (globs expanded), rather than what is taken listed after the
    // database's name: one form for every file, combined ones included, whose `--databases`
    // list cannot name tables.
    for db in &plan.databases {
        call.options.extend(
            asked
                .tables
                .left_out(filter, db)
                .map(|l| format!("--ignore-table={db}.{}", l.name)),
        );
    }
    let o = asked.objects;
    if !o.create_info {
        // The native engine's create info includes a combined file's CREATE DATABASE.
        call.options.push("--no-create-info".into());
        call.options.push("--no-create-db".into());
    }
    for (kept, option) in [
        (o.triggers, "--skip-triggers"),
        (o.routines, "--skip-routines"),
        (o.events, "--skip-events"),
    ] {
        if !kept {
            call.options.push(option.into());
        }
    }
    Ok(call)
}

/// The one `--where` condition of a call: the tool applies it to every table whose rows it
/// dumps, so those tables must all have the same one (or none).
fn one_condition(asked: &Asked<'_>, plan: &PlannedFile) -> Result<Option<String>> {
    let filter = asked.filter;
    if filter.wheres.is_empty() {
        return Ok(None);
    }
    let with_rows: Vec<(String, Option<String>)> = asked
        .tables
        .listed
        .iter()
        .filter(|l| {
            l.kind == ListedKind::Table
                && plan.databases.contains(&l.database)
                && !select::skips_data(asked.mode, filter, &l.database, &l.name)
        })
        .map(|l| {
            (
                format!("{}.{}", l.database, l.name),
                filter.condition(&l.database, &l.name),
            )
        })
        .collect();
    let Some((first_table, first)) = with_rows.first() else {
        return Ok(None);
    };
    match with_rows.iter().find(|(_, c)| c != first) {
        None => Ok(first.clone()),
        Some((other_table, other)) => {
            let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "no condition".into());
            let given: Vec<String> = filter
                .wheres
                .iter()
                .map(|w| format!("\"{}:{}\"", w.pattern, w.condition))
                .collect();
            Err(Error::Usage(format!(
                "--where {}: the mysqldump engine gives one condition to every table of a \
                 file, and {} holds tables with different ones ({first_table}: {}; \
                 {other_table}: {}); use the native engine (--engine native), which filters \
                 each table by its own, or narrow each file with --tables to tables of one \
                 condition; nothing was written",
                given.join(" "),
                plan.path.display(),
                show(first),
                show(other)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::selection::Listed;
    use super::*;
    use crate::metadata::TableRef;
    use crate::select::{RowFilter, TablePattern};

    fn p(s: &str) -> TablePattern {
        TablePattern::parse(s).unwrap()
    }

    /// What a run over `shop` (items, log, orders, view v) and `crm` (log) asks, for `check`.
    fn asked(
        mode: BackupMode,
        filter: TableFilter,
        objects: DumpObjects,
        check: impl FnOnce(&Asked<'_>),
    ) {
        let listed = [
            ("shop", "items", ListedKind::Table),
            ("shop", "log", ListedKind::Table),
            ("shop", "orders", ListedKind::Table),
            ("shop", "v", ListedKind::View),
            ("crm", "log", ListedKind::Table),
        ]
        .iter()
        .map(|(d, n, k)| Listed {
            database: d.to_string(),
            name: n.to_string(),
            kind: *k,
        })
        .collect::<Vec<_>>();
        let data_skipped = listed
            .iter()
            .filter(|l| {
                l.kind == ListedKind::Table
                    && filter.takes(&l.database, &l.name)
                    && !filter.takes_rows(&l.database, &l.name)
            })
            .map(|l| TableRef {
                database: l.database.clone(),
                table: l.name.clone(),
            })
            .collect();
        let tables = TablePlan {
            listed,
            data_skipped,
            ..Default::default()
        };
        check(&Asked {
            mode: &mode,
            exclude_data: false,
            filter: &filter,
            objects,
            tables: &tables,
        });
    }

    fn call(
        mode: BackupMode,
        filter: TableFilter,
        objects: DumpObjects,
        dbs: &[&str],
    ) -> Result<DumpCall> {
        let mut out = None;
        asked(mode, filter, objects, |a| {
            out = Some(call_for(a, &file(dbs)))
        });
        out.unwrap()
    }

    fn file(dbs: &[&str]) -> PlannedFile {
        PlannedFile {
            path: "/b/f.sql".into(),
            databases: dbs.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn single() -> BackupMode {
        BackupMode::Single {
            database: "shop".into(),
        }
    }

    #[test]
    fn a_one_database_file_leaves_out_by_ignore_table_too() {
        let f = TableFilter {
            tables: vec![p("shop.o*"), p("shop.v")],
            ..Default::default()
        };
        let call = call(single(), f, DumpObjects::default(), &["shop"]).unwrap();
        assert_eq!(
            call.options,
            ["--ignore-table=shop.items", "--ignore-table=shop.log"]
        );
    }

    #[test]
    fn a_combined_file_leaves_out_by_ignore_table() {
        let f = TableFilter {
            tables: vec![p("*.log"), p("shop.orders")],
            ignore: vec![p("crm.log")],
            ignore_data: vec![p("shop.log")],
            ..Default::default()
        };
        let call = call(BackupMode::All, f, DumpObjects::default(), &["shop", "crm"]).unwrap();
        assert_eq!(
            call.options,
            [
                "--ignore-table-data=shop.log",
                "--ignore-table=shop.items",
                "--ignore-table=shop.v",
                "--ignore-table=crm.log",
            ]
        );
    }

    #[test]
    fn object_kinds_become_the_tool_s_skip_options() {
        let objects = DumpObjects {
            create_info: false,
            triggers: false,
            routines: false,
            events: false,
        };
        let call = call(single(), TableFilter::default(), objects, &["shop"]).unwrap();
        assert_eq!(
            call.options,
            [
                "--no-create-info",
                "--no-create-db",
                "--skip-triggers",
                "--skip-routines",
                "--skip-events"
            ]
        );
    }

    #[test]
    fn one_where_for_every_table_of_a_call_or_a_usage_error() {
        let w = |pattern: &str, c: &str| RowFilter {
            pattern: p(pattern),
            condition: c.into(),
        };
        // Every table with rows of the file has the same condition: passed on.
        let f = TableFilter {
            ignore_data: vec![p("shop.log")],
            wheres: vec![w("shop.*", "id > 5")],
            ..Default::default()
        };
        let c = call(single(), f, DumpObjects::default(), &["shop"]).unwrap();
        assert!(c.options.contains(&"--where=(id > 5)".to_owned()));
        // One table of the file has none: refused, naming the flag and the way out.
        let f = TableFilter {
            wheres: vec![w("shop.orders", "id > 5")],
            ..Default::default()
        };
        let e = call(single(), f.clone(), DumpObjects::default(), &["shop"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(m.starts_with("--where \"shop.orders:id > 5\""), "{m}");
        assert!(
            m.contains("--engine native") && m.contains("no condition"),
            "{m}"
        );
        // The file of another database is not concerned.
        let c = call(BackupMode::All, f, DumpObjects::default(), &["crm"]);
        assert!(!c.unwrap().options.iter().any(|o| o.starts_with("--where")));
    }
}
