//! The table selection of a run (`--tables`, `--ignore-table`, `--ignore-table-data`,
//! `--where`, docs/compat.md §2) held against the server's tables while the run is planned,
//! before anything is written: a pattern that matches nothing and a condition the server
//! refuses stop the run here; the databases none of whose tables is taken drop out; the tables
//! whose rows are left out and the views that read a table left out are named for the engine
//! and the metadata.

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::catalog::survey;
use crate::config::run::{BackupConfig, BackupMode};
use crate::error::{DbError, Error, Result};
use crate::metadata::{SelectionInfo, TableRef, ViewOverLeftOut, WhereInfo};
use crate::progress::{Event, Progress};
use crate::quote::{ident, qualified};
use crate::select::{self, Selection, TableFilter, TablePattern};

/// One table, view or sequence of a chosen database, as listed when the run was planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    pub database: String,
    pub name: String,
    pub kind: ListedKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListedKind {
    /// A base or system-versioned table: it has rows.
    Table,
    View,
    Sequence,
}

/// What the plan learnt of the run's tables. Empty for a run without a selection (and not
/// primary/secondary): then every table of every chosen database is taken, whole.
#[derive(Clone, Debug, Default)]
pub(crate) struct TablePlan {
    /// The tables, views and sequences of the chosen databases, in name order per database.
    pub listed: Vec<Listed>,
    /// Databases `--tables` left out: no table of theirs is taken.
    pub databases_left_out: Vec<String>,
    /// Taken tables whose rows are left out (session tables, `--ignore-table-data`).
    pub data_skipped: Vec<TableRef>,
    /// Views taken that read a table or view left out.
    pub views: Vec<ViewOverLeftOut>,
}

impl TablePlan {
    /// The listed objects of `db` the selection takes.
    pub fn taken<'a>(
        &'a self,
        filter: &'a TableFilter,
        db: &'a str,
    ) -> impl Iterator<Item = &'a Listed> {
        self.listed
            .iter()
            .filter(move |l| l.database == db && filter.takes(db, &l.name))
    }

    /// The listed objects of `db` the selection leaves out.
    pub fn left_out<'a>(
        &'a self,
        filter: &'a TableFilter,
        db: &'a str,
    ) -> impl Iterator<Item = &'a Listed> {
        self.listed
            .iter()
            .filter(move |l| l.database == db && !filter.takes(db, &l.name))
    }
}

/// Lists the tables of the chosen databases and holds the selection against them (see the
/// module's doc). `selection` loses the databases `--tables` leaves out.
pub(crate) async fn plan(
    conn: &mut Conn,
    cfg: &BackupConfig,
    selection: &mut Selection,
    progress: &dyn Progress,
) -> Result<TablePlan> {
    let filter = &cfg.tables;
    if filter.is_empty() && !cfg.mode.is_package() {
        return Ok(TablePlan::default());
    }
    if let BackupMode::Single { .. } = &cfg.mode
        && let Some(db) = selection.databases.first()
    {
        check_single(filter, db)?;
    }
    let mut listed = Vec::new();
    for db in &selection.databases {
        for (name, kind) in survey::tables(conn, db).await? {
            let kind = match kind.as_str() {
                "VIEW" => ListedKind::View,
                "SEQUENCE" => ListedKind::Sequence,
                _ => ListedKind::Table,
            };
            listed.push(Listed {
                database: db.clone(),
                name,
                kind,
            });
        }
    }
    // The config's mysqldump options name tables as mysqldump takes them: one that matches
    // nothing is not an error there.
    let checked = filter.patterns().filter(|(_, p)| !p.is_from_config());
    for (flag, pattern) in checked {
        if let Some(why) = unmatched(pattern, &listed, &selection.databases) {
            let what = format!("{flag} {pattern} {why}");
            if !cfg.allow_missing {
                return Err(Error::Usage(format!(
                    "{what}; check the names with SHOW TABLES, or pass --allow-missing to back \
                     up without it; nothing was written"
                )));
            }
            progress.event(&Event::Warning(&format!("{what} (--allow-missing)")));
        }
    }
    let mut databases_left_out = Vec::new();
    if !filter.tables.is_empty() {
        databases_left_out = selection
            .databases
            .iter()
            .filter(|db| {
                !listed
                    .iter()
                    .any(|l| l.database == **db && filter.takes(db, &l.name))
            })
            .cloned()
            .collect();
        selection.retain(|db| !databases_left_out.iter().any(|d| d == db));
        listed.retain(|l| selection.databases.contains(&l.database));
    }
    let data_skipped: Vec<TableRef> = listed
        .iter()
        .filter(|l| {
            l.kind == ListedKind::Table
                && filter.takes(&l.database, &l.name)
                && select::skips_data(&cfg.mode, filter, &l.database, &l.name)
        })
        .map(|l| TableRef {
            database: l.database.clone(),
            table: l.name.clone(),
        })
        .collect();
    if !cfg.exclude_data {
        for l in listed.iter().filter(|l| l.kind == ListedKind::Table) {
            if select::skips_data(&cfg.mode, filter, &l.database, &l.name) {
                continue;
            }
            if let Some(condition) = filter.condition(&l.database, &l.name) {
                check_condition(conn, &l.database, &l.name, &condition).await?;
            }
        }
    }
    let mut plan = TablePlan {
        listed,
        databases_left_out,
        data_skipped,
        views: Vec::new(),
    };
    plan.views = views_over_left_out(conn, filter, &plan, &selection.databases).await?;
    for v in &plan.views {
        progress.event(&Event::Warning(&view_warning(v)));
    }
    Ok(plan)
}

/// `single` backs up one database: a pattern naming another can only be a mistake.
fn check_single(filter: &TableFilter, db: &str) -> Result<()> {
    match filter
        .patterns()
        .find(|(_, p)| !p.is_from_config() && !p.matches_database(db))
    {
        Some((flag, p)) => Err(Error::Usage(format!(
            "{flag} {p}: single backs up database {} only, and this pattern names another; \
             write it as {}.<table> (or *.<table>); nothing was written",
            ident(db),
            db
        ))),
        None => Ok(()),
    }
}

/// Why `pattern` matches no listed table or view; None when it matches one.
fn unmatched(pattern: &TablePattern, listed: &[Listed], databases: &[String]) -> Option<String> {
    if listed.iter().any(|l| pattern.matches(&l.database, &l.name)) {
        return None;
    }
    if !databases.iter().any(|db| pattern.matches_database(db)) {
        return Some(format!(
            "names no database this run backs up ({})",
            some_names(databases)
        ));
    }
    let mut why = "matches no table or view of the databases this run backs up".to_owned();
    if let Some(l) = listed
        .iter()
        .find(|l| pattern.matches_ignoring_case(&l.database, &l.name))
    {
        // Table names compare exactly (as a Linux server stores them).
        why.push_str(&format!(" (did you mean {}.{}?)", l.database, l.name));
    }
    Some(why)
}

/// Up to five names, for a message.
fn some_names(names: &[String]) -> String {
    let mut shown: Vec<String> = names.iter().take(5).map(|n| ident(n)).collect();
    if names.len() > 5 {
        shown.push(format!("and {} more", names.len() - 5));
    }
    shown.join(", ")
}

/// Asks the server whether it accepts `condition` on the table, reading no row: a mistyped
/// `--where` is found before any file is started, not in the middle of the dump.
async fn check_condition(conn: &mut Conn, db: &str, table: &str, condition: &str) -> Result<()> {
    let sql = format!(
        "SELECT 1 FROM {} WHERE {condition} LIMIT 0",
        qualified(db, table)
    );
    match conn.query_drop(sql).await {
        Ok(()) => Ok(()),
        Err(e @ mysql_async::Error::Server(_)) => Err(Error::Usage(format!(
            "--where: the server refuses the condition {condition} on table {}: {}; fix the \
             condition (SQL, in the table's own column names); nothing was written",
            qualified(db, table),
            DbError(e)
        ))),
        Err(e) => Err(Error::server(
            format!("checking the --where condition of {}", qualified(db, table)),
            e,
        )),
    }
}

/// The taken views whose definition names a table or view left out. The definitions come from
/// `information_schema.VIEWS`, where the server writes every table with its database
/// (`` `db`.`t` ``): a name found there is a dependency. Not seen: tables read through a
/// stored function the view calls, and views of databases outside the run.
async fn views_over_left_out(
    conn: &mut Conn,
    filter: &TableFilter,
    plan: &TablePlan,
    databases: &[String],
) -> Result<Vec<ViewOverLeftOut>> {
    let left_out: Vec<(String, String)> = databases
        .iter()
        .flat_map(|db| plan.left_out(filter, db))
        .map(|l| {
            (
                qualified(&l.database, &l.name),
                format!("{}.{}", l.database, l.name),
            )
        })
        .collect();
    if left_out.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for db in databases {
        if !plan.taken(filter, db).any(|l| l.kind == ListedKind::View) {
            continue;
        }
        for (view, definition) in survey::view_definitions(conn, db).await? {
            if !filter.takes(db, &view) {
                continue;
            }
            let names = read_by(&definition, &left_out);
            if !names.is_empty() {
                found.push(ViewOverLeftOut {
                    database: db.clone(),
                    view,
                    left_out: names,
                });
            }
        }
    }
    Ok(found)
}

/// The `db.table` of each left-out object (given as its quoted qualified name and its
/// `db.table`) whose quoted qualified name the definition holds.
fn read_by(definition: &str, left_out: &[(String, String)]) -> Vec<String> {
    left_out
        .iter()
        .filter(|(quoted, _)| definition.contains(quoted.as_str()))
        .map(|(_, name)| name.clone())
        .collect()
}

fn view_warning(v: &ViewOverLeftOut) -> String {
    format!(
        "view {} is dumped but reads {}, which the table selection leaves out: the server \
         refuses to create it where {} (recorded in the metadata's \
         selection.views_over_left_out)",
        qualified(&v.database, &v.view),
        v.left_out.join(", "),
        if v.left_out.len() == 1 {
            "that does not exist"
        } else {
            "they do not exist"
        }
    )
}

/// The metadata's `selection` of a file holding `databases`; None when the run took every
/// table and object.
pub(super) fn metadata(
    cfg: &BackupConfig,
    plan: &TablePlan,
    databases: &[String],
) -> Option<SelectionInfo> {
    let f = &cfg.tables;
    let texts = |v: &[TablePattern]| v.iter().map(|p| p.text().to_owned()).collect();
    let o = cfg.objects;
    let info = SelectionInfo {
        tables: texts(&f.tables),
        ignore_table: texts(&f.ignore),
        ignore_table_data: texts(&f.ignore_data),
        wheres: f
            .wheres
            .iter()
            .map(|w| WhereInfo {
                table: w.pattern.text().to_owned(),
                condition: w.condition.clone(),
            })
            .collect(),
        objects_left_out: o.left_out(),
        databases_left_out: plan.databases_left_out.clone(),
        views_over_left_out: plan
            .views
            .iter()
            .filter(|v| databases.contains(&v.database))
            .cloned()
            .collect(),
    };
    (info != SelectionInfo::default()).then_some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> TablePattern {
        TablePattern::parse(s).unwrap()
    }

    fn listed(names: &[(&str, &str, ListedKind)]) -> Vec<Listed> {
        names
            .iter()
            .map(|(d, n, k)| Listed {
                database: d.to_string(),
                name: n.to_string(),
                kind: *k,
            })
            .collect()
    }

    #[test]
    fn an_unmatched_pattern_says_why_and_suggests_a_name_differing_in_case() {
        let l = listed(&[
            ("shop", "Orders", ListedKind::Table),
            ("shop", "v", ListedKind::View),
        ]);
        let dbs = vec!["shop".to_string()];
        assert_eq!(unmatched(&p("SHOP.Orders"), &l, &dbs), None);
        assert_eq!(unmatched(&p("shop.v"), &l, &dbs), None);
        let why = unmatched(&p("shop.orders"), &l, &dbs).unwrap();
        assert!(why.ends_with("(did you mean shop.Orders?)"), "{why}");
        let why = unmatched(&p("shop.nothing*"), &l, &dbs).unwrap();
        assert!(
            why.starts_with("matches no table") && !why.contains("did you"),
            "{why}"
        );
        let why = unmatched(&p("crm.*"), &l, &dbs).unwrap();
        assert!(
            why.contains("names no database") && why.contains("`shop`"),
            "{why}"
        );
    }

    #[test]
    fn single_refuses_a_pattern_of_another_database() {
        let f = TableFilter {
            ignore: vec![p("*.log")],
            wheres: vec![select::RowFilter {
                pattern: p("crm.t"),
                condition: "1".into(),
            }],
            ..Default::default()
        };
        let e = check_single(&f, "shop").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(
            m.starts_with("--where crm.t: single backs up database `shop`"),
            "{m}"
        );
        let ok = TableFilter {
            tables: vec![p("SHOP.*"), p("*.x")],
            ..Default::default()
        };
        assert!(check_single(&ok, "shop").is_ok());
    }

    #[test]
    fn views_are_found_by_the_qualified_names_they_read() {
        let left_out = vec![
            ("`shop`.`log`".to_string(), "shop.log".to_string()),
            ("`crm`.`log`".to_string(), "crm.log".to_string()),
        ];
        let def = "select `shop`.`log`.`id` AS `id` from (`shop`.`log` join `shop`.`orders`)";
        assert_eq!(read_by(def, &left_out), ["shop.log"]);
        // An alias or column of the same name is not a table of the database.
        let def = "select `o`.`log` AS `log` from `shop`.`orders` `o`";
        assert!(read_by(def, &left_out).is_empty());
        let def = "select 1 from `crm`.`log` join `shop`.`log`";
        assert_eq!(read_by(def, &left_out), ["shop.log", "crm.log"]);
    }
}
