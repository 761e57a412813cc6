//! Which databases a run backs up (docs/compat.md §2): pure rules over the server's database list.
//!
//! Order of the rules: a non-empty include list wins over the exclude list, which wins over the
//! system databases; names match case-insensitively and keep the server's order and spelling.
//! `primary` and `secondary` then keep the `dbsf_nbc_` databases of their kind (never `_temp`
//! or `_archive` ones) and put each one's `_dmart` companion right after it. Within those
//! databases, [`crate::pattern`] picks the tables.

use crate::catalog;
use crate::config::run::{BackupConfig, BackupMode, DumpObjects};
use crate::error::{Error, Result};
use crate::quote::ident;

pub use crate::pattern::{RowFilter, TableFilter, TablePattern};

/// Tables whose rows primary and secondary backups leave out (their schema is kept): web
/// sessions and tokens, worthless in a copy and often the largest tables.
pub const SESSION_TABLES: [&str; 3] = ["tsflpageview", "tsfltokensess", "tcllusersession"];

const NBC_PREFIX: &str = "dbsf_nbc_";
const COMPANION_SUFFIX: &str = "_dmart";
const NODATA_SUFFIX: &str = "_nodata";
/// Databases single/primary/secondary never take (work areas and archives of a client).
const NEVER_PACKAGED: [&str; 2] = ["_temp", "_archive"];

/// The databases chosen for a run, and those left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// In server order, each companion right after its database.
    pub databases: Vec<String>,
    /// Databases of the server that are not backed up, in server order.
    pub excluded: Vec<String>,
    /// Names asked for that the server does not have.
    pub unknown: Vec<String>,
    /// primary/secondary: each chosen database with its companion; empty for other modes.
    pub packages: Vec<Package>,
}

/// A primary or secondary database and its `_dmart` companion: restored together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub database: String,
    pub companion: Option<String>,
}

impl Package {
    pub fn members(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.database).chain(self.companion.as_ref())
    }
}

impl Selection {
    /// The package `db` belongs to (as database or companion).
    pub fn package_of(&self, db: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.members().any(|m| m == db))
    }

    /// Keeps only the databases `keep` accepts; the others move to `excluded`. A package
    /// whose database is dropped but whose companion stays becomes the companion's own.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        let (kept, dropped): (Vec<String>, Vec<String>) =
            self.databases.drain(..).partition(|d| keep(d));
        self.databases = kept;
        self.excluded.extend(dropped);
        self.packages = std::mem::take(&mut self.packages)
            .into_iter()
            .filter_map(|p| {
                let companion = p.companion.filter(|c| keep(c));
                if keep(&p.database) {
                    Some(Package {
                        database: p.database,
                        companion,
                    })
                } else {
                    companion.map(|c| Package {
                        database: c,
                        companion: None,
                    })
                }
            })
            .collect();
    }
}

/// What the rules look at, taken from a [`BackupConfig`] (or built directly in tests).
#[derive(Clone, Debug)]
pub struct Rules<'a> {
    pub mode: &'a BackupMode,
    pub include: Vec<&'a str>,
    pub exclude: &'a [String],
    pub exclude_system: bool,
    pub include_dmart: bool,
    pub client_code: Option<&'a str>,
    pub instance: Option<&'a str>,
}

impl<'a> Rules<'a> {
    pub fn of(cfg: &'a BackupConfig) -> Rules<'a> {
        let mut include: Vec<&str> = cfg.include.iter().map(String::as_str).collect();
        if let BackupMode::Filter { databases, .. } = &cfg.mode {
            include.extend(databases.iter().map(String::as_str));
        }
        let non_empty = |v: &'a Option<String>| v.as_deref().filter(|s| !s.trim().is_empty());
        Rules {
            mode: &cfg.mode,
            include,
            exclude: &cfg.exclude,
            exclude_system: cfg.exclude_system,
            include_dmart: cfg.include_dmart,
            client_code: non_empty(&cfg.client_code),
            instance: non_empty(&cfg.instance),
        }
    }
}

/// Applies the mode's rules to the server's database list.
pub fn select_databases(all: &[String], cfg: &BackupConfig) -> Result<Selection> {
    select(all, &Rules::of(cfg))
}

/// [`select_databases`] on explicit rules.
pub fn select(all: &[String], rules: &Rules<'_>) -> Result<Selection> {
    if let BackupMode::Single { database } = rules.mode {
        return select_single(all, database);
    }
    let mut unknown = Vec::new();
    let candidates: Vec<&String> = if rules.include.is_empty() {
        if matches!(rules.mode, BackupMode::Filter { .. }) {
            return Err(Error::Usage(
                "filter needs at least one database: --db NAME (repeatable) or --db-file PATH"
                    .into(),
            ));
        }
        all.iter()
            .filter(|db| !listed(rules.exclude.iter().map(String::as_str), db))
            .filter(|db| !(rules.exclude_system && catalog::is_system_database(db)))
            // A restore's journal is not data, whatever --exclude-system says.
            .filter(|db| !catalog::is_journal_database(db))
            .collect()
    } else {
        for name in &rules.include {
            if !all.iter().any(|db| db.eq_ignore_ascii_case(name))
                && !listed(unknown.iter().map(String::as_str), name)
            {
                unknown.push((*name).to_owned());
            }
        }
        all.iter()
            .filter(|db| listed(rules.include.iter().copied(), db))
            .collect()
    };

    let (databases, packages) = match rules.mode {
        BackupMode::Primary | BackupMode::Secondary => {
            let packages = packages(all, &candidates, rules);
            if packages.is_empty() {
                return Err(Error::Usage(format!(
                    "no {} database on the server matches {}; check the names with SHOW DATABASES",
                    rules.mode.metadata_type(),
                    describe_filter(rules)
                )));
            }
            let dbs: Vec<String> = packages.iter().flat_map(|p| p.members().cloned()).collect();
            (dbs, packages)
        }
        _ => (candidates.into_iter().cloned().collect(), Vec::new()),
    };
    let excluded = all
        .iter()
        .filter(|db| !databases.contains(*db))
        .cloned()
        .collect();
    Ok(Selection {
        databases,
        excluded,
        unknown,
        packages,
    })
}

fn select_single(all: &[String], database: &str) -> Result<Selection> {
    let matching: Vec<&String> = all
        .iter()
        .filter(|db| db.eq_ignore_ascii_case(database))
        .collect();
    // Two databases differing only by case: the exact name wins.
    let chosen = match matching.as_slice() {
        [] => {
            return Err(Error::Usage(format!(
                "database {} does not exist on the server; check the name with SHOW DATABASES",
                ident(database)
            )));
        }
        [one] => (*one).clone(),
        several => several
            .iter()
            .find(|d| d.as_str() == database)
            .unwrap_or(&several[0])
            .to_string(),
    };
    if let Some(suffix) = never_packaged_suffix(&chosen) {
        return Err(Error::Usage(format!(
            "database {} ends in {suffix}: single never backs up _temp or _archive databases; \
             use `filter --db {chosen} --mode multi-file` to back it up anyway",
            ident(&chosen)
        )));
    }
    Ok(Selection {
        excluded: all.iter().filter(|d| **d != chosen).cloned().collect(),
        databases: vec![chosen],
        unknown: Vec::new(),
        packages: Vec::new(),
    })
}

/// The databases an interactive `single` offers: not system, not `_temp`/`_archive`.
pub fn single_candidates(all: &[String]) -> Vec<String> {
    all.iter()
        .filter(|d| {
            !catalog::is_system_database(d)
                && !catalog::is_journal_database(d)
                && never_packaged_suffix(d).is_none()
        })
        .cloned()
        .collect()
}

/// True when a backup leaves out the rows of `db`.`table`: the session tables of primary and
/// secondary backups, the tables `--ignore-table-data` names, and (having no rows in the file
/// at all) the tables the selection does not take. The schema of a table it takes is kept.
pub fn skips_data(mode: &BackupMode, tables: &TableFilter, db: &str, table: &str) -> bool {
    (mode.is_package() && SESSION_TABLES.contains(&table)) || !tables.takes_rows(db, table)
}

/// Drops from a database's catalog the kinds of stored objects a dump leaves out
/// (`--skip-routines`, `--skip-triggers`, `--skip-events`); the tables and views it does not
/// take were never read (see `catalog::load_database`).
pub fn drop_skipped_objects(catalog: &mut catalog::DatabaseCatalog, objects: DumpObjects) {
    if !objects.routines {
        catalog.routines.clear();
        catalog.functions_needing_trust.clear();
    }
    if !objects.triggers {
        catalog.triggers.clear();
    }
    if !objects.events {
        catalog.events.clear();
    }
}

/// A primary database (docs/compat.md §2): `dbsf_nbc_…`, not a secondary, not a companion, not
/// `_temp` or `_archive`.
pub fn is_primary(db: &str) -> bool {
    let l = db.to_ascii_lowercase();
    l.starts_with(NBC_PREFIX) && !l.contains("_secondary") && !has_excluded_suffix(&l)
}

/// A secondary database: `dbsf_nbc_…_secondary…`, with the same suffix rule as primaries.
pub fn is_secondary(db: &str) -> bool {
    let l = db.to_ascii_lowercase();
    l.starts_with(NBC_PREFIX) && l.contains("_secondary") && !has_excluded_suffix(&l)
}

/// `<db>_dmart`, or `x_dmart_nodata` for `x_nodata`.
pub fn companion_name(db: &str) -> String {
    let lower = db.to_ascii_lowercase();
    match lower.strip_suffix(NODATA_SUFFIX) {
        Some(base) => format!("{}{COMPANION_SUFFIX}{NODATA_SUFFIX}", &db[..base.len()]),
        None => format!("{db}{COMPANION_SUFFIX}"),
    }
}

fn has_excluded_suffix(lower: &str) -> bool {
    lower.ends_with(COMPANION_SUFFIX) || NEVER_PACKAGED.iter().any(|s| lower.ends_with(s))
}

fn never_packaged_suffix(db: &str) -> Option<&'static str> {
    let l = db.to_ascii_lowercase();
    NEVER_PACKAGED.iter().copied().find(|s| l.ends_with(s))
}

fn listed<'n>(mut names: impl Iterator<Item = &'n str>, db: &str) -> bool {
    names.any(|n| n.eq_ignore_ascii_case(db))
}

/// primary with `--client-code C`: `dbsf_nbc_C` or `dbsf_nbc_C_…`.
fn primary_of_client(lower: &str, client: &str) -> bool {
    let base = format!("{NBC_PREFIX}{client}");
    lower == base || lower.starts_with(&format!("{base}_"))
}

/// secondary with client code and/or instance (docs/compat.md §2).
///
/// With an instance alone the old tool matched any name containing `_secondary_<I>`, so
/// instance 1 also took `_secondary_10`; here the instance must end the name or be followed
/// by `_`, like it must with a client code.
fn secondary_matches(lower: &str, client: Option<&str>, instance: Option<&str>) -> bool {
    match (client, instance) {
        (None, None) => true,
        (Some(c), None) => lower.contains(&format!("{NBC_PREFIX}{c}_secondary")),
        (Some(c), Some(i)) => {
            let base = format!("{NBC_PREFIX}{c}_secondary_{i}");
            lower == base || lower.starts_with(&format!("{base}_"))
        }
        (None, Some(i)) => {
            let tag = format!("_secondary_{i}");
            lower.ends_with(&tag) || lower.contains(&format!("{tag}_"))
        }
    }
}

fn packages(all: &[String], candidates: &[&String], rules: &Rules<'_>) -> Vec<Package> {
    let client = rules.client_code.map(str::to_ascii_lowercase);
    let instance = rules.instance.map(str::to_ascii_lowercase);
    let chosen: Vec<&String> = candidates
        .iter()
        .copied()
        .filter(|db| {
            let l = db.to_ascii_lowercase();
            match rules.mode {
                BackupMode::Primary => {
                    is_primary(db) && client.as_deref().is_none_or(|c| primary_of_client(&l, c))
                }
                _ => {
                    is_secondary(db)
                        && secondary_matches(&l, client.as_deref(), instance.as_deref())
                }
            }
        })
        .collect();
    let companion_of = |db: &str| -> Option<String> {
        if !rules.include_dmart {
            return None;
        }
        let wanted = companion_name(db);
        all.iter()
            .find(|d| d.eq_ignore_ascii_case(&wanted))
            .filter(|d| !listed(rules.exclude.iter().map(String::as_str), d))
            .cloned()
    };
    let mut out: Vec<Package> = Vec::new();
    for db in &chosen {
        // A database already placed as another's companion (`x_dmart_nodata` is both a primary
        // by name and the companion of `x_nodata`) is not packaged twice.
        if out.iter().any(|p| p.members().any(|m| m == *db)) {
            continue;
        }
        let companion = companion_of(db);
        if let Some(c) = &companion {
            out.retain(|p| &p.database != c);
        }
        out.push(Package {
            database: (*db).clone(),
            companion,
        });
    }
    out
}

fn describe_filter(rules: &Rules<'_>) -> String {
    let mut parts = vec![
        match rules.mode {
            BackupMode::Primary => "dbsf_nbc_<client> (not _secondary, _dmart, _temp, _archive)",
            _ => "dbsf_nbc_<client>_secondary_<instance> (not _dmart, _temp, _archive)",
        }
        .to_owned(),
    ];
    if let Some(c) = rules.client_code {
        parts.push(format!("--client-code {c}"));
    }
    if let Some(i) = rules.instance {
        parts.push(format!("--instance {i}"));
    }
    if !rules.include.is_empty() {
        parts.push(format!("the include list ({})", rules.include.join(", ")));
    }
    parts.join(" with ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Vec<String> {
        [
            "information_schema",
            "dbsf_nbc_acme",
            "dbsf_nbc_acme_dmart",
            "dbsf_nbc_acme_secondary_1",
            "dbsf_nbc_acme_secondary_1_dmart",
            "dbsf_nbc_acme_secondary_10",
            "dbsf_nbc_acme_secondary_2",
            "dbsf_nbc_acme_temp",
            "dbsf_nbc_acme_archive",
            "DBSF_NBC_Other",
            "dbsf_nbc_other_dmart",
            "dbsf_nbc_acmecorp",
            "mysql",
            "performance_schema",
            "shop",
            "Shop_Archive",
            "sys",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn rules(mode: &BackupMode) -> Rules<'_> {
        Rules {
            mode,
            include: Vec::new(),
            exclude: &[],
            exclude_system: true,
            include_dmart: false,
            client_code: None,
            instance: None,
        }
    }

    fn dbs(sel: &Selection) -> Vec<&str> {
        sel.databases.iter().map(String::as_str).collect()
    }

    #[test]
    fn all_drops_system_databases_and_keeps_server_order() {
        let all = server();
        let sel = select(&all, &rules(&BackupMode::All)).unwrap();
        assert_eq!(sel.databases.len(), all.len() - 4);
        assert_eq!(sel.databases[0], "dbsf_nbc_acme");
        assert!(sel.databases.contains(&"dbsf_nbc_acme_temp".to_string()));
        assert_eq!(
            sel.excluded,
            ["information_schema", "mysql", "performance_schema", "sys"]
        );
        let mut keep_system = rules(&BackupMode::All);
        keep_system.exclude_system = false;
        assert_eq!(select(&all, &keep_system).unwrap().databases, all);
    }

    #[test]
    fn include_beats_exclude_beats_system() {
        let all = server();
        let exclude = vec!["SHOP".to_string(), "dbsf_nbc_acme".to_string()];
        let mut r = rules(&BackupMode::All);
        r.exclude = &exclude;
        let sel = select(&all, &r).unwrap();
        assert!(
            !sel.databases
                .iter()
                .any(|d| d == "shop" || d == "dbsf_nbc_acme")
        );
        assert!(sel.excluded.contains(&"shop".to_string()));

        // A non-empty include list: only its names, case-insensitive, in server order,
        // system databases and the exclude list notwithstanding.
        r.include = vec!["Shop", "MYSQL", "nope", "dbsf_nbc_acme"];
        let sel = select(&all, &r).unwrap();
        assert_eq!(dbs(&sel), ["dbsf_nbc_acme", "mysql", "shop"]);
        assert_eq!(sel.unknown, ["nope"]);
    }

    #[test]
    fn filter_without_names_is_a_usage_error() {
        let mode = BackupMode::Filter {
            databases: vec![],
            multi_file: false,
        };
        assert!(matches!(
            select(&server(), &rules(&mode)),
            Err(Error::Usage(m)) if m.contains("--db")
        ));
    }

    #[test]
    fn single_takes_one_database_and_refuses_temp_and_archive() {
        let all = server();
        let single = |name: &str| BackupMode::Single {
            database: name.into(),
        };
        let mode = single("dbsf_nbc_other");
        let sel = select(&all, &rules(&mode)).unwrap();
        assert_eq!(dbs(&sel), ["DBSF_NBC_Other"]);
        assert_eq!(sel.excluded.len(), all.len() - 1);
        for refused in ["dbsf_nbc_acme_temp", "shop_archive"] {
            let mode = single(refused);
            let err = select(&all, &rules(&mode)).unwrap_err().to_string();
            assert!(err.contains("_temp or _archive"), "{err}");
            assert!(err.contains("filter --db"), "{err}");
        }
        let mode = single("missing");
        assert!(
            select(&all, &rules(&mode))
                .unwrap_err()
                .to_string()
                .contains("`missing` does not exist")
        );
        let twins = vec!["Abc".to_string(), "abc".to_string()];
        let mode = single("abc");
        assert_eq!(dbs(&select(&twins, &rules(&mode)).unwrap()), ["abc"]);
    }

    #[test]
    fn primary_takes_client_databases_and_companions_right_after() {
        let all = server();
        let sel = select(&all, &rules(&BackupMode::Primary)).unwrap();
        assert_eq!(
            dbs(&sel),
            ["dbsf_nbc_acme", "DBSF_NBC_Other", "dbsf_nbc_acmecorp"]
        );

        let mut r = rules(&BackupMode::Primary);
        r.client_code = Some("ACME");
        r.include_dmart = true;
        let sel = select(&all, &r).unwrap();
        assert_eq!(dbs(&sel), ["dbsf_nbc_acme", "dbsf_nbc_acme_dmart"]);
        assert_eq!(
            sel.packages,
            [Package {
                database: "dbsf_nbc_acme".into(),
                companion: Some("dbsf_nbc_acme_dmart".into()),
            }]
        );
        assert_eq!(
            sel.package_of("dbsf_nbc_acme_dmart").unwrap().database,
            "dbsf_nbc_acme"
        );

        r.client_code = Some("other");
        let sel = select(&all, &r).unwrap();
        assert_eq!(dbs(&sel), ["DBSF_NBC_Other", "dbsf_nbc_other_dmart"]);

        r.client_code = Some("nobody");
        let err = select(&all, &r).unwrap_err();
        assert!(matches!(&err, Error::Usage(m) if m.contains("--client-code nobody")));
    }

    #[test]
    fn companions_follow_their_database_whatever_the_server_order() {
        let all: Vec<String> = ["dbsf_nbc_b_dmart", "dbsf_nbc_a", "dbsf_nbc_b", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut r = rules(&BackupMode::Primary);
        r.include_dmart = true;
        assert_eq!(
            dbs(&select(&all, &r).unwrap()),
            ["dbsf_nbc_a", "dbsf_nbc_b", "dbsf_nbc_b_dmart"]
        );
        // An excluded companion stays out.
        let exclude = vec!["DBSF_NBC_B_DMART".to_string()];
        r.exclude = &exclude;
        assert_eq!(
            dbs(&select(&all, &r).unwrap()),
            ["dbsf_nbc_a", "dbsf_nbc_b"]
        );
    }

    #[test]
    fn nodata_databases_have_nodata_companions() {
        assert_eq!(companion_name("x_nodata"), "x_dmart_nodata");
        assert_eq!(companion_name("X_NODATA"), "X_dmart_nodata");
        assert_eq!(companion_name("x"), "x_dmart");
        // Server order puts the companion first.
        let all: Vec<String> = ["dbsf_nbc_c_dmart_nodata", "dbsf_nbc_c_nodata"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut r = rules(&BackupMode::Primary);
        r.include_dmart = true;
        let sel = select(&all, &r).unwrap();
        assert_eq!(dbs(&sel), ["dbsf_nbc_c_nodata", "dbsf_nbc_c_dmart_nodata"]);
        assert_eq!(sel.packages.len(), 1);
    }

    #[test]
    fn secondary_by_client_and_instance() {
        let all = server();
        let mut r = rules(&BackupMode::Secondary);
        assert_eq!(
            dbs(&select(&all, &r).unwrap()),
            [
                "dbsf_nbc_acme_secondary_1",
                "dbsf_nbc_acme_secondary_10",
                "dbsf_nbc_acme_secondary_2"
            ]
        );
        r.client_code = Some("acme");
        r.instance = Some("1");
        r.include_dmart = true;
        let sel = select(&all, &r).unwrap();
        assert_eq!(
            dbs(&sel),
            [
                "dbsf_nbc_acme_secondary_1",
                "dbsf_nbc_acme_secondary_1_dmart"
            ]
        );
        // Instance alone: `_secondary_1` is not `_secondary_10`.
        r.client_code = None;
        r.include_dmart = false;
        assert_eq!(
            dbs(&select(&all, &r).unwrap()),
            ["dbsf_nbc_acme_secondary_1"]
        );
        r.instance = Some("10");
        assert_eq!(
            dbs(&select(&all, &r).unwrap()),
            ["dbsf_nbc_acme_secondary_10"]
        );
        r.instance = Some("3");
        assert!(select(&all, &r).is_err());
    }

    #[test]
    fn naming_conventions() {
        assert!(is_primary("DBSF_NBC_x"));
        assert!(is_primary("dbsf_nbc_x_nodata"));
        for not in [
            "dbsf_nbc_x_secondary_1",
            "dbsf_nbc_x_dmart",
            "dbsf_nbc_x_temp",
            "dbsf_nbc_x_ARCHIVE",
            "nbc_x",
        ] {
            assert!(!is_primary(not), "{not}");
        }
        assert!(is_secondary("dbsf_nbc_x_secondary_2"));
        assert!(!is_secondary("dbsf_nbc_x_secondary_2_dmart"));
        assert!(!is_secondary("dbsf_nbc_x_secondary_2_temp"));
        assert!(!is_secondary("dbsf_nbc_x"));
        assert!(primary_of_client("dbsf_nbc_acme_x", "acme"));
        assert!(!primary_of_client("dbsf_nbc_acmecorp", "acme"));
    }

    #[test]
    fn session_tables_lose_only_their_rows_in_package_modes() {
        let none = TableFilter::default();
        assert!(skips_data(&BackupMode::Primary, &none, "d", "tsflpageview"));
        assert!(skips_data(
            &BackupMode::Secondary,
            &none,
            "d",
            "tcllusersession"
        ));
        assert!(!skips_data(&BackupMode::All, &none, "d", "tsfltokensess"));
        assert!(!skips_data(&BackupMode::Primary, &none, "d", "orders"));
    }

    #[test]
    fn ignore_table_data_adds_to_the_session_tables() {
        let p = |s: &str| TablePattern::parse(s).unwrap();
        let f = TableFilter {
            tables: vec![p("d.*")],
            ignore: vec![p("d.tmp")],
            ignore_data: vec![p("*.log_*")],
            wheres: Vec::new(),
        };
        assert!(skips_data(&BackupMode::Primary, &f, "d", "tsflpageview"));
        assert!(skips_data(&BackupMode::Primary, &f, "d", "log_1"));
        assert!(skips_data(&BackupMode::All, &f, "d", "log_1"));
        assert!(!skips_data(&BackupMode::All, &f, "d", "orders"));
        // Not taken at all: no rows either.
        assert!(skips_data(&BackupMode::All, &f, "d", "tmp"));
        assert!(skips_data(&BackupMode::All, &f, "e", "orders"));
    }

    #[test]
    fn retain_moves_dropped_databases_and_repairs_packages() {
        let all = server();
        let mut r = rules(&BackupMode::Primary);
        r.include_dmart = true;
        let mut sel = select(&all, &r).unwrap();
        sel.retain(|d| d != "dbsf_nbc_acme" && d != "dbsf_nbc_other_dmart");
        assert_eq!(
            dbs(&sel),
            ["dbsf_nbc_acme_dmart", "DBSF_NBC_Other", "dbsf_nbc_acmecorp"]
        );
        assert!(sel.excluded.contains(&"dbsf_nbc_acme".to_string()));
        assert_eq!(
            sel.packages[0],
            Package {
                database: "dbsf_nbc_acme_dmart".into(),
                companion: None
            }
        );
        assert_eq!(sel.packages[1].companion, None);
    }

    #[test]
    fn interactive_single_offers_no_system_temp_or_archive() {
        let c = single_candidates(&server());
        assert!(c.contains(&"shop".to_string()));
        assert!(!c.iter().any(|d| d.ends_with("_temp")
            || d.to_lowercase().ends_with("_archive")
            || d == "mysql"));
    }
}
