//! Restoring part of a file (`--tables`, `--tables-file`, `--ignore-table`,
//! `--ignore-table-data`): which statements run and which are read past, and the patterns that
//! match no table of the file.
//!
//! Names are matched as the file gives them. The database part of a pattern is compared with
//! the database the file names: its `USE`/`CREATE DATABASE`, else (a single-database file)
//! the one its metadata records, else the one its header comment names. It is never compared
//! with `--target-db`: the patterns describe the dump, which is what the operator reads in the
//! file and its metadata. When a single-database file names its database nowhere, only a
//! pattern of the form `*.table` can match.
//!
//! A statement runs unless it belongs to a table or view left out (see `read::subject`): its
//! `DROP`/`CREATE`, rows, `ALTER TABLE` (mysqldump's `DISABLE KEYS`), indexes, triggers, and
//! for a view its stand-in table and `CREATE VIEW`. Statements about no table (settings, the
//! database's own statements, routines, events, accounts) run. A statement that names a table
//! taken and a table left out together (`DROP TABLE a, b`, `RENAME TABLE`) could neither run
//! nor be read past without doing something the selection excludes, and one whose table name
//! cannot be read could be either: both stop the restore. A view taken that reads a table
//! left out is refused by the server; that is a warning, and the view is counted as left out.
//!
//! A pattern that matches nothing is a usage error (exit 2). When the metadata of every file
//! lists its tables and views (our dumps), that is known before the server is touched;
//! otherwise (mysqldump's and the old tool's files) only once the file has been read: then the
//! tables the selection took were restored, and the error says so. `--dry-run` reads the file
//! without changing anything, so it is the way to try patterns on such a file.

use std::collections::HashSet;
use std::path::Path;

use super::plan::{Placement, Plan};
use crate::config::run::{RestoreConfig, RestoreMode};
use crate::error::{Error, Result};
use crate::progress::{Event, Progress};
use crate::quote::ident;
use crate::read::classify::{Kind, Verb};
use crate::read::subject::{Role, Subject, TableName, subject};
use crate::select::{TableFilter, TablePattern};

/// What to do with one statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Run,
    /// Read past, not sent: it belongs to a table left out (or is rows of one whose data is).
    Skip,
    /// A view of the selection: run it, but a refusal because a table or view it reads is left
    /// out is a warning ([`REFUSED_VIEW`]); the view's name.
    View(String),
}

/// The server's errors for a view whose tables do not exist: ER_NO_SUCH_TABLE, ER_VIEW_INVALID.
pub(super) const REFUSED_VIEW: [u16; 2] = [1146, 1356];

/// A table or view of a file, as the file names it, and whether it was (or would be) restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// None: a single-database file that names its database nowhere.
    pub database: Option<String>,
    pub table: String,
    pub restored: bool,
}

impl Selected {
    /// `db.table` (quoted), or the table alone when its database is not known.
    pub fn display(&self) -> String {
        match &self.database {
            Some(db) => format!("{}.{}", ident(db), ident(&self.table)),
            None => ident(&self.table),
        }
    }
}

/// The selection applied to one file, and what it met there.
#[derive(Debug)]
pub(super) struct Selection {
    filter: TableFilter,
    /// The database the file's unqualified names belong to, as the file names it.
    current: Option<String>,
    /// A combined file, restored database by database (`db-restore all`).
    combined: bool,
    /// Its databases left out with `--exclude-db`: out of the selection's view entirely.
    excluded: Vec<String>,
    seen: Vec<Selected>,
    index: HashSet<(Option<String>, String)>,
}

impl Selection {
    /// For a file whose database, until the file says otherwise, is `source`; `combined`: a
    /// combined file restored database by database.
    pub(super) fn new(filter: TableFilter, source: Option<String>, combined: bool) -> Selection {
        Selection {
            filter,
            current: source,
            combined,
            excluded: Vec::new(),
            seen: Vec::new(),
            index: HashSet::new(),
        }
    }

    /// Whether `sql` (classified as `kind`) runs. Err: the statement cannot be decided (see
    /// the module's notes), with what to do.
    pub(super) fn decide(
        &mut self,
        sql: &[u8],
        kind: &Kind,
    ) -> std::result::Result<Verdict, String> {
        self.follow(kind);
        let (role, tables) = match subject(sql, kind) {
            Subject::None => return Ok(Verdict::Run),
            Subject::Unreadable => {
                return Err("is about a table whose name this restore cannot read, so \
                            whether it belongs to a table the selection leaves out cannot be \
                            told: it was not run. Restore the file without \
                            --tables/--ignore-table"
                    .into());
            }
            Subject::Tables { role, tables } => (role, tables),
        };
        let mut taken = Vec::with_capacity(tables.len());
        for t in &tables {
            let db = t.db.clone().or_else(|| self.current.clone());
            let restored = self.filter.takes_in(db.as_deref(), &t.name);
            taken.push(match role {
                Role::Rows => self.filter.takes_rows_in(db.as_deref(), &t.name),
                _ => restored,
            });
            if matches!(role, Role::Creates | Role::CreatesView | Role::Rows) {
                self.note(db, &t.name, restored);
            }
        }
        if taken.iter().all(|t| !t) {
            return Ok(Verdict::Skip);
        }
        if taken.iter().all(|t| *t) {
            return Ok(match role {
                Role::CreatesView => Verdict::View(tables[0].name.clone()),
                _ => Verdict::Run,
            });
        }
        let names = |want: bool| -> String {
            tables
                .iter()
                .zip(&taken)
                .filter(|(_, t)| **t == want)
                .map(|(n, _)| self.shown(n))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(format!(
            "names {} (restored) together with {} (left out by the selection): it can neither \
             run nor be left out without going against the selection, so the restore stopped \
             here. Restore the file without --tables/--ignore-table, or select all of these \
             tables or none",
            names(true),
            names(false)
        ))
    }

    /// A statement of a database of a combined file that is not restored (`--exclude-db`, or
    /// [`Selection::takes_database`]): not decided, only followed for the file's current
    /// database; in a database the selection leaves out, the tables it creates are noted as
    /// left out (an `--ignore-table` pattern may name them).
    pub(super) fn pass(&mut self, sql: &[u8], kind: &Kind) {
        self.follow(kind);
        let Some(db) = self.current.clone() else {
            return;
        };
        if self.takes_database(&db) || self.excluded.iter().any(|e| e.eq_ignore_ascii_case(&db)) {
            return;
        }
        if let Subject::Tables {
            role: Role::Creates | Role::CreatesView | Role::Rows,
            tables,
        } = subject(sql, kind)
        {
            for t in tables {
                self.note(t.db.or_else(|| Some(db.clone())), &t.name, false);
            }
        }
    }

    /// Follows the file's current database (`USE`, `CREATE DATABASE`).
    fn follow(&mut self, kind: &Kind) {
        if let Kind::Use(n)
        | Kind::Database {
            verb: Verb::Create,
            name: n,
        } = kind
        {
            self.current = Some(n.name.clone());
        }
    }

    fn shown(&self, t: &TableName) -> String {
        Selected {
            database: t.db.clone().or_else(|| self.current.clone()),
            table: t.name.clone(),
            restored: false,
        }
        .display()
    }

    fn note(&mut self, db: Option<String>, table: &str, restored: bool) {
        if self.index.insert((db.clone(), table.to_owned())) {
            self.seen.push(Selected {
                database: db,
                table: table.to_owned(),
                restored,
            });
        }
    }

    /// The server refused view `name` of the current database (it reads a table or view left
    /// out): it counts as left out.
    pub(super) fn view_refused(&mut self, name: &str) {
        let db = self.current.clone();
        if let Some(s) = self
            .seen
            .iter_mut()
            .find(|s| s.database == db && s.table == name)
        {
            s.restored = false;
        }
    }

    /// Whether database `db` can hold a table of the selection: a database of a combined
    /// file that no `--tables` pattern can match is left out whole (a single-database file's
    /// one database is restored, and a pattern that matches nothing there is an error).
    pub(super) fn takes_database(&self, db: &str) -> bool {
        !self.combined || self.filter.takes_database(db)
    }

    /// The current database, for messages.
    pub(super) fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// Every table and view met, in file order.
    pub(super) fn into_seen(self) -> Vec<Selected> {
        self.seen
    }
}

/// The selection for a file of the plan placed as `placement` (None without one): in a
/// single-database placement its names start in the database the file was dumped from, by its
/// metadata (`source`), else its header comment (`header`).
pub(super) fn for_file(
    cfg: &RestoreConfig,
    placement: &Placement,
    source: Option<&String>,
    header: Option<&String>,
) -> Option<Selection> {
    if cfg.tables.is_empty() {
        return None;
    }
    Some(match placement {
        Placement::Single { .. } => {
            Selection::new(cfg.tables.clone(), source.or(header).cloned(), false)
        }
        Placement::All { exclude, .. } => Selection {
            excluded: exclude.clone(),
            ..Selection::new(cfg.tables.clone(), None, true)
        },
    })
}

/// Before the server is touched: when the metadata of every file of the plan lists its tables
/// and views, every pattern must match one of them (see [`unmatched`]). False when some
/// metadata does not list them: the check then waits for the files to be read.
pub(super) fn check_metadata(cfg: &RestoreConfig, plan: &Plan) -> Result<bool> {
    if cfg.tables.is_empty() {
        return Ok(true);
    }
    let mut names = Vec::new();
    for f in &plan.files {
        let Some(r) = &f.recorded else {
            return Ok(false);
        };
        let excluded = |db: &str| match &cfg.mode {
            RestoreMode::All { exclude } => exclude.iter().any(|e| e.eq_ignore_ascii_case(db)),
            _ => false,
        };
        let databases = r.databases();
        if databases.is_empty() {
            return Ok(false);
        }
        for db in databases.iter().filter(|d| !excluded(d)) {
            let definitions = r.definitions(db);
            // Our dumps record at least the database's own defaults; none: an older dump or
            // another engine's, whose metadata does not list its tables.
            if definitions.is_empty() {
                return Ok(false);
            }
            for key in definitions.keys() {
                let name = ["table ", "view ", "sequence "]
                    .iter()
                    .find_map(|k| key.strip_prefix(k));
                if let Some(table) = name {
                    let restored = cfg.tables.takes(db, table);
                    names.push(Selected {
                        database: Some(db.clone()),
                        table: table.to_owned(),
                        restored,
                    });
                }
            }
        }
    }
    let what = plan.file_names();
    match unmatched(&cfg.tables, &names, &what) {
        Some(problem) => Err(Error::Usage(format!(
            "{problem}; nothing was restored (checked against the metadata, which lists the \
             file's tables and views)"
        ))),
        None => Ok(true),
    }
}

/// Leaves out of the plan the files restored into one database (`single`, `primary` and its
/// companion) whose database, as their metadata names it, no `--tables` pattern can match:
/// their tables would all be left out, and their target would be created for nothing but
/// routines. As `all` leaves out such a database of a combined file. Only once the patterns
/// were checked against the metadata (see [`check_metadata`]): otherwise the file is read, so
/// that its tables count for the check.
pub(super) fn leave_out_files(filter: &TableFilter, plan: &mut Plan, progress: &dyn Progress) {
    if filter.is_empty() {
        return;
    }
    plan.files.retain(|f| {
        let Some(source) = f.source.as_deref() else {
            return true;
        };
        if !matches!(f.placement, Placement::Single { .. }) || filter.takes_database(source) {
            return true;
        }
        progress.event(&Event::Warning(&format!(
            "{} is not restored: no --tables pattern names its database {}",
            f.path.display(),
            ident(source)
        )));
        false
    });
}

/// Names shown when a pattern matches none of them.
const NAMES_SHOWN: usize = 12;

/// What is wrong when a pattern of `filter` matches none of `names` (the tables and views of
/// `files`, as they name them), or when `--tables` takes none of them; None when nothing is.
pub(super) fn unmatched(filter: &TableFilter, names: &[Selected], files: &str) -> Option<String> {
    let matches = |p: &TablePattern, s: &Selected| p.matches_in(s.database.as_deref(), &s.table);
    let missing: Vec<(&str, &TablePattern)> = filter
        .patterns()
        .filter(|(_, p)| !names.iter().any(|s| matches(p, s)))
        .collect();
    if missing.is_empty() {
        if !filter.tables.is_empty() && !names.iter().any(|s| s.restored) {
            return Some(format!(
                "the selection takes no table or view of {files}: every one --tables matches \
                 is left out by --ignore-table"
            ));
        }
        return None;
    }
    let mut problem = missing
        .iter()
        .map(|(flag, p)| format!("{flag} {p} matches no table or view of {files}"))
        .collect::<Vec<_>>()
        .join("; ");
    let shown: Vec<String> = names
        .iter()
        .take(NAMES_SHOWN)
        .map(Selected::display)
        .collect();
    problem.push_str(&match names.len() {
        0 => " (it holds none)".to_owned(),
        n if n > NAMES_SHOWN => format!(" (it holds {n}: {}, …)", shown.join(", ")),
        n => format!(" (it holds {n}: {})", shown.join(", ")),
    });
    let near: Vec<String> = missing
        .iter()
        .flat_map(|(_, p)| {
            names.iter().filter(move |s| {
                s.database
                    .as_deref()
                    .is_some_and(|db| p.matches_ignoring_case(db, &s.table))
            })
        })
        .map(Selected::display)
        .collect();
    if !near.is_empty() {
        problem.push_str(&format!(
            ". Table names compare exactly, case included (differing only in case: {})",
            near.join(", ")
        ));
    }
    if names.iter().any(|s| s.database.is_none()) {
        problem.push_str(
            ". The file names its database nowhere (no metadata, USE or header): write the \
             pattern as *.table",
        );
    } else {
        problem.push_str(
            ". The database part is the database as the file names it (the one dumped from), \
             not --target-db",
        );
    }
    Some(problem)
}

/// The error for patterns found to match nothing once the files were read, when the
/// selection took `restored` tables and views, restored into `databases`.
pub(super) fn unmatched_after(problem: String, databases: &[String], restored: usize) -> Error {
    let names: Vec<String> = databases.iter().map(|d| ident(d)).collect();
    Error::Restore {
        source: Box::new(Error::Unmatched(problem)),
        state: format!(
            "the {restored} table(s) and view(s) the selection took were restored into {} (the \
             file's metadata does not list its tables, so the patterns could only be checked \
             as it was read; `db-restore --dry-run` checks them without changing anything): \
             drop {}, or restore again with --drop-target",
            names.join(", "),
            if names.len() == 1 { "it" } else { "them" }
        ),
    }
}

/// The statement-level error of [`Selection::decide`].
pub(super) fn undecidable(file: &Path, at: crate::read::split::Position, problem: String) -> Error {
    Error::Usage(format!("{}: {at} {problem}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::classify::classify;

    fn filter(tables: &[&str], ignore: &[&str], ignore_data: &[&str]) -> TableFilter {
        let p = |v: &[&str]| v.iter().map(|s| TablePattern::parse(s).unwrap()).collect();
        TableFilter {
            tables: p(tables),
            ignore: p(ignore),
            ignore_data: p(ignore_data),
            wheres: Vec::new(),
        }
    }

    fn decide(s: &mut Selection, sql: &str) -> std::result::Result<Verdict, String> {
        s.decide(sql.as_bytes(), &classify(sql.as_bytes()))
    }

    /// The statements of one table of each format, in file order, and what happens to each
    /// when the table is left out and when it is taken.
    #[test]
    fn every_statement_of_a_table_left_out_is_read_past() {
        let statements = [
            // Ours.
            "DROP TABLE IF EXISTS `b`",
            "CREATE TABLE `b` (`id` int(11) NOT NULL) ENGINE=InnoDB",
            "INSERT INTO `b` (`id`,`aid`) VALUES (1,1)",
            "CREATE DEFINER=`root`@`%` TRIGGER b_ins AFTER INSERT ON b FOR EACH ROW INSERT INTO a VALUES (NEW.id)",
            // mysqldump and the old tool.
            "/*!40000 ALTER TABLE `b` DISABLE KEYS */",
            "INSERT INTO `b` VALUES\n(1,1)",
            "/*!40000 ALTER TABLE `b` ENABLE KEYS */",
            "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`%`*/ /*!50003 TRIGGER `b_ins` AFTER INSERT ON `b` FOR EACH ROW SET @x = 1 */",
        ];
        let mut left_out = Selection::new(filter(&[], &["s1.b"], &[]), Some("s1".into()), false);
        let mut taken = Selection::new(filter(&["s1.b"], &[], &[]), Some("s1".into()), false);
        for sql in statements {
            assert_eq!(decide(&mut left_out, sql), Ok(Verdict::Skip), "{sql}");
            assert_eq!(decide(&mut taken, sql), Ok(Verdict::Run), "{sql}");
        }
        let seen = left_out.into_seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].display(), seen[0].restored),
            ("`s1`.`b`".into(), false)
        );
    }

    /// A view left out loses its stand-in table (ours, old mysqldump) or stand-in view (new
    /// mariadb-dump) and its definition; one taken is run as a view.
    #[test]
    fn views_and_their_stand_ins() {
        let statements = [
            "DROP TABLE IF EXISTS `v`",
            "/*!50001 DROP VIEW IF EXISTS `v`*/",
            "CREATE TABLE `v` (`id` int(11)) ENGINE=MyISAM",
            "/*!50001 CREATE VIEW `v` AS SELECT\n 1 AS `id` */",
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`%` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select `a`.`id` AS `id` from `a` */",
        ];
        let mut left_out = Selection::new(filter(&["s1.a"], &[], &[]), Some("s1".into()), false);
        let mut taken = Selection::new(filter(&["s1.v"], &[], &[]), Some("s1".into()), false);
        for sql in statements {
            assert_eq!(decide(&mut left_out, sql), Ok(Verdict::Skip), "{sql}");
            let want = match sql.contains("VIEW `v` AS") {
                true => Verdict::View("v".into()),
                false => Verdict::Run,
            };
            assert_eq!(decide(&mut taken, sql), Ok(want), "{sql}");
        }
        taken.view_refused("v");
        assert!(!taken.into_seen()[0].restored);
    }

    /// Statements about no table run whatever the selection.
    #[test]
    fn statements_about_no_table_run() {
        let mut s = Selection::new(filter(&["nothing.here"], &["*.*"], &[]), None, false);
        for sql in [
            "/*!40101 SET NAMES utf8mb4 */",
            "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `s1`",
            "USE `s1`",
            "ALTER DATABASE /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
            "LOCK TABLES `b` WRITE",
            "/*!50032 DROP TRIGGER IF EXISTS `b_ins` */",
            "CREATE DEFINER=`root`@`%` PROCEDURE `p`()\nSELECT 1",
            "CREATE DEFINER=`root`@`%` EVENT `e` ON SCHEDULE EVERY 1 DAY DO DELETE FROM b",
            "GRANT SELECT ON `s1`.`b` TO 'u'@'%'",
        ] {
            assert_eq!(decide(&mut s, sql), Ok(Verdict::Run), "{sql}");
        }
    }

    /// Names follow the file's USE; a qualified name its own database.
    #[test]
    fn names_are_matched_in_the_database_the_file_names() {
        let mut s = Selection::new(filter(&["s2.a", "s1.c"], &[], &[]), None, false);
        assert_eq!(decide(&mut s, "USE `s1`"), Ok(Verdict::Run));
        assert_eq!(decide(&mut s, "CREATE TABLE a (x INT)"), Ok(Verdict::Skip));
        assert_eq!(
            decide(&mut s, "INSERT INTO s2.a VALUES (1)"),
            Ok(Verdict::Run)
        );
        assert_eq!(decide(&mut s, "CREATE TABLE c (x INT)"), Ok(Verdict::Run));
        assert_eq!(decide(&mut s, "USE `s2`"), Ok(Verdict::Run));
        assert_eq!(decide(&mut s, "CREATE TABLE a (x INT)"), Ok(Verdict::Run));
        let seen: Vec<(String, bool)> = s
            .into_seen()
            .iter()
            .map(|s| (s.display(), s.restored))
            .collect();
        assert_eq!(
            seen,
            [
                ("`s1`.`a`".to_owned(), false),
                ("`s2`.`a`".to_owned(), true),
                ("`s1`.`c`".to_owned(), true)
            ]
        );
        // A database of a combined file that no --tables pattern can match is left out whole;
        // the one database of a single-database file never is.
        let combined = Selection::new(filter(&["s2.*"], &[], &[]), None, true);
        assert!(combined.takes_database("S2") && !combined.takes_database("s1"));
        assert!(Selection::new(filter(&["s2.*"], &[], &[]), None, false).takes_database("s1"));
        // A file that names no database: only `*.t` can take its tables.
        let mut unknown = Selection::new(filter(&["s1.a", "*.c"], &[], &[]), None, false);
        assert_eq!(
            decide(&mut unknown, "CREATE TABLE a (x INT)"),
            Ok(Verdict::Skip)
        );
        assert_eq!(
            decide(&mut unknown, "CREATE TABLE c (x INT)"),
            Ok(Verdict::Run)
        );
    }

    /// --ignore-table-data: the schema runs, rows of any form do not.
    #[test]
    fn data_left_out_keeps_the_schema() {
        let mut s = Selection::new(filter(&[], &[], &["s1.log"]), Some("s1".into()), false);
        for (sql, want) in [
            ("CREATE TABLE log (n INT)", Verdict::Run),
            ("/*!40000 ALTER TABLE `log` DISABLE KEYS */", Verdict::Run),
            ("INSERT INTO `log` VALUES (1)", Verdict::Skip),
            ("INSERT INTO `log` SELECT 1", Verdict::Skip),
            ("LOAD DATA LOCAL INFILE 'x' INTO TABLE log", Verdict::Skip),
            ("INSERT INTO `other` VALUES (1)", Verdict::Run),
        ] {
            assert_eq!(decide(&mut s, sql), Ok(want), "{sql}");
        }
        assert!(s.into_seen().iter().all(|s| s.restored));
    }

    /// Statements that would do part of what the selection excludes, or cannot be read,
    /// stop the restore rather than run or be skipped.
    #[test]
    fn mixed_and_unreadable_statements_stop() {
        let mut s = Selection::new(filter(&[], &["s1.b"], &[]), Some("s1".into()), false);
        let e = decide(&mut s, "DROP TABLE IF EXISTS a, b").unwrap_err();
        assert!(
            e.contains("`s1`.`a` (restored) together with `s1`.`b`"),
            "{e}"
        );
        assert!(decide(&mut s, "RENAME TABLE a TO b").is_err());
        assert_eq!(
            decide(&mut s, "DROP TABLE IF EXISTS b, s1.b"),
            Ok(Verdict::Skip)
        );
        let e = decide(&mut s, "CREATE TABLE (a INT)").unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }

    /// primary: the companion's file is not restored when no pattern names its database (nor
    /// the primary's, when the patterns name the companion's tables only).
    #[test]
    fn files_of_a_database_no_pattern_names_are_left_out() {
        use super::super::plan::FilePlan;
        let file = |name: &str, source: Option<&str>| FilePlan {
            stream: None,
            path: name.into(),
            placement: Placement::Single {
                target: "target".into(),
            },
            recorded: None,
            source: source.map(str::to_owned),
        };
        let plan = || Plan {
            files: vec![file("p.sql", Some("p")), file("d.sql", Some("p_dmart"))],
            grants: None,
        };
        let kept = |f: TableFilter| {
            let mut plan = plan();
            leave_out_files(&f, &mut plan, &crate::progress::Silent);
            plan.files
                .iter()
                .map(|f| f.path.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(filter(&["p.orders"], &[], &[])), ["p.sql"]);
        assert_eq!(kept(filter(&["p_dmart.*"], &[], &[])), ["d.sql"]);
        assert_eq!(kept(filter(&["*.orders"], &[], &[])), ["p.sql", "d.sql"]);
        assert_eq!(kept(filter(&[], &["p_dmart.x"], &[])), ["p.sql", "d.sql"]);
        // A file whose database is not known is read, to find out.
        let mut unknown = Plan {
            files: vec![file("x.sql", None)],
            grants: None,
        };
        leave_out_files(
            &filter(&["p.orders"], &[], &[]),
            &mut unknown,
            &crate::progress::Silent,
        );
        assert_eq!(unknown.files.len(), 1);
    }

    fn sel(db: Option<&str>, table: &str, restored: bool) -> Selected {
        Selected {
            database: db.map(str::to_owned),
            table: table.into(),
            restored,
        }
    }

    #[test]
    fn patterns_that_match_nothing_are_named_with_what_the_file_holds() {
        let names = [
            sel(Some("shop"), "Orders", true),
            sel(Some("shop"), "items", true),
        ];
        let f = filter(&["shop.orders", "shop.items"], &["shop.tmp*"], &[]);
        let e = unmatched(&f, &names, "d.sql").unwrap();
        assert!(e.starts_with("--tables shop.orders matches no table or view of d.sql; --ignore-table shop.tmp* matches"), "{e}");
        assert!(
            e.contains("(it holds 2: `shop`.`Orders`, `shop`.`items`)"),
            "{e}"
        );
        assert!(
            e.contains("(differing only in case: `shop`.`Orders`)"),
            "{e}"
        );
        assert!(e.contains("not --target-db"), "{e}");
        assert_eq!(
            unmatched(&filter(&["shop.*"], &[], &[]), &names, "d.sql"),
            None
        );
        // The flags say what the selection did with each: here it left both out.
        let left_out = names.clone().map(|s| Selected {
            restored: false,
            ..s
        });
        let none_left = unmatched(&filter(&["shop.*"], &["*.*"], &[]), &left_out, "d.sql").unwrap();
        assert!(none_left.contains("takes no table"), "{none_left}");
        let unknown = [sel(None, "orders", true)];
        let e = unmatched(&filter(&["shop.orders"], &[], &[]), &unknown, "d.sql").unwrap();
        assert!(e.contains("write the pattern as *.table"), "{e}");
        assert_eq!(
            unmatched(&filter(&["*.orders"], &[], &[]), &unknown, "d.sql"),
            None
        );
    }
}
