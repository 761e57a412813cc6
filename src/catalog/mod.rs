//! The catalog stage: which databases, tables, columns and stored objects exist, and their DDL.

pub(crate) mod survey;

use mysql_async::prelude::*;
use mysql_async::{Conn, Row};

pub mod rewrite;
mod triggers;

use crate::error::{Error, Result};
use crate::quote::{ident, qualified};
use rewrite::{Lexing, own_calls, package_calls, shadowed_calls, strip_schema};

/// System databases dropped by `--exclude-system` (docs/compat.md §2.4).
const SYSTEM_DATABASES: [&str; 5] = [
    "information_schema",
    "mysql",
    "performance_schema",
    "sys",
    "innodb",
];

/// The database where `db-restore` keeps its journal on the target (`restore::journal`): not
/// user data, so `all` and the interactive choice never take it, and no restore writes into it
/// as a target.
pub const JOURNAL_DATABASE: &str = "sfdbtools_journal";

/// Whether `name` is the restore's journal database (compared as the server may fold case).
pub fn is_journal_database(name: &str) -> bool {
    name.eq_ignore_ascii_case(JOURNAL_DATABASE)
}

pub fn is_system_database(name: &str) -> bool {
    SYSTEM_DATABASES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

/// All databases in server order (`SHOW DATABASES` works on MariaDB and MySQL alike).
pub async fn list_databases(conn: &mut Conn) -> Result<Vec<String>> {
    let rows: Vec<Vec<u8>> = conn
        .query("SHOW DATABASES")
        .await
        .map_err(|e| Error::server("listing databases (SHOW DATABASES)", e))?;
    rows.into_iter().map(|r| utf8(r, "database name")).collect()
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    /// `DATA_TYPE`, lower case (`float`, `varchar`, …).
    pub data_type: String,
    /// `COLUMN_TYPE`, e.g. `varchar(10)`: used for view placeholders.
    pub column_type: String,
    /// VIRTUAL/STORED generated, or a system-versioning ROW START/END column: never inserted.
    pub generated: bool,
    /// `CHARACTER_SET_NAME` of character columns.
    pub charset: Option<String>,
    /// ENUM or SET: written as its stored number, since a label can be ambiguous (the ENUM
    /// error value and a `''` member; SET members equal under the collation).
    pub numbered: bool,
    /// An `AUTO_INCREMENT` column that may hold NULL, which `SHOW CREATE TABLE` does not say
    /// (see [`with_explicit_null`]).
    pub nullable_auto_increment: bool,
}

/// The integer column that leads a primary or unique key: rows can be split into ranges of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitKey {
    pub column: String,
    /// A unique key may hold NULLs (any number of them); they go into the first chunk.
    pub nullable: bool,
}

const INTEGER_TYPES: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];

/// Engines whose rows do not live in the table itself: dumping them would copy rows that
/// belong elsewhere (a MERGE table's children, a remote server, an external file) or that do
/// not exist (BLACKHOLE). Such tables are dumped as structure only, and the metadata says so.
const ROWS_ELSEWHERE: [(&str, &str); 5] = [
    (
        "MRG_MyISAM",
        "a MERGE table's rows live in its underlying tables",
    ),
    (
        "FEDERATED",
        "a FEDERATED table's rows live on another server",
    ),
    ("SPIDER", "a SPIDER table's rows live on other servers"),
    (
        "CONNECT",
        "a CONNECT table's rows live in an external source",
    ),
    ("BLACKHOLE", "a BLACKHOLE table holds no rows"),
];

/// The engine names of `ROWS_ELSEWHERE`, for SQL filters.
pub fn rows_elsewhere_engines() -> impl Iterator<Item = &'static str> {
    ROWS_ELSEWHERE.iter().map(|(e, _)| *e)
}

/// How a table keeps its history (MariaDB system versioning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Versioning {
    /// Row start/end are timestamps: the history is dumped (`FOR SYSTEM_TIME ALL`) with the
    /// exact period columns, and restored through `system_versioning_insert_history`.
    Timestamp { start: String, end: String },
    /// Row start/end are transaction ids, which mean nothing on another server: only the
    /// current rows are dumped, and the run warns by name.
    TransactionId,
}

#[derive(Clone, Debug)]
pub struct Table {
    pub name: String,
    pub engine: String,
    /// `SHOW CREATE TABLE`, as bytes: a binary column's default (`DEFAULT x'FF00'`) is printed
    /// raw, and those bytes are the definition (docs/dump-fidelity.md).
    pub create_sql: Vec<u8>,
    pub columns: Vec<Column>,
    pub versioning: Option<Versioning>,
    pub estimated_rows: u64,
    pub estimated_bytes: u64,
    /// Set when the table has a usable key for chunking.
    pub split_key: Option<SplitKey>,
}

impl Table {
    /// Tables outside InnoDB's MVCC are not in a transaction's snapshot.
    pub fn is_transactional(&self) -> bool {
        let e = self.engine.to_ascii_lowercase();
        matches!(
            e.as_str(),
            "innodb" | "xtradb" | "rocksdb" | "tokudb" | "ndbcluster"
        )
    }

    /// Columns whose values are written, in table order (INVISIBLE included, generated not).
    pub fn data_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| !c.generated)
    }

    /// Why the table's rows are not dumped, when they live elsewhere (see `ROWS_ELSEWHERE`).
    pub fn rows_elsewhere(&self) -> Option<&'static str> {
        ROWS_ELSEWHERE
            .iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(&self.engine))
            .map(|(_, why)| *why)
    }

    /// The period columns whose values are dumped with the history, when there are any.
    pub fn history_columns(&self) -> Option<(&str, &str)> {
        match &self.versioning {
            Some(Versioning::Timestamp { start, end }) => Some((start, end)),
            _ => None,
        }
    }

    /// What row reads, counts and key ranges select from: the table, and every version of
    /// every row when its history is dumped.
    pub fn source(&self, db: &str) -> String {
        let target = qualified(db, &self.name);
        if self.history_columns().is_some() {
            format!("{target} FOR SYSTEM_TIME ALL")
        } else {
            target
        }
    }
}

/// Whether a sequence's next value lies behind its START (an `ALTER SEQUENCE … START WITH`
/// after use): `SETVAL` never moves a sequence backwards, so on a freshly created one it would
/// be ignored and the copy would hand out START next; `ALTER SEQUENCE … RESTART WITH` can.
fn behind_start(next: &str, start: &str, increment: &str) -> bool {
    match (
        next.parse::<i128>(),
        start.parse::<i128>(),
        increment.parse::<i128>(),
    ) {
        (Ok(n), Ok(s), Ok(i)) => (i > 0 && n < s) || (i < 0 && n > s),
        _ => false,
    }
}

#[derive(Clone, Debug)]
pub struct Sequence {
    pub name: String,
    pub create_sql: Vec<u8>,
    /// `next_not_cached_value`, restored with `SETVAL(seq, value, 0, round)`.
    pub next_value: String,
    /// `cycle_count`: how often a cycling sequence has wrapped.
    pub round: String,
    /// The next value lies behind START ([`behind_start`]): restored with `ALTER SEQUENCE …
    /// RESTART WITH` before the `SETVAL`.
    pub restart: bool,
}

#[derive(Clone, Debug)]
pub struct View {
    pub name: String,
    /// `SHOW CREATE VIEW` read as binary: the text in the view's own `character_set_client`,
    /// replayed under it byte for byte.
    pub create_sql: Vec<u8>,
    pub character_set_client: String,
    pub collation_connection: String,
    pub columns: Vec<Column>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Trigger,
    Function,
    Procedure,
    Package,
    PackageBody,
    Event,
}

impl ObjectKind {
    pub fn keyword(self) -> &'static str {
        match self {
            ObjectKind::Trigger => "TRIGGER",
            ObjectKind::Function => "FUNCTION",
            ObjectKind::Procedure => "PROCEDURE",
            ObjectKind::Package => "PACKAGE",
            ObjectKind::PackageBody => "PACKAGE BODY",
            ObjectKind::Event => "EVENT",
        }
    }
}

/// A view's or stored object's text and how it is lexed ([`DatabaseCatalog::code_definitions`]).
struct CodeDefinition<'a> {
    /// `view`, or the object's keyword (`PACKAGE BODY`).
    kind: &'a str,
    name: &'a str,
    sql: &'a [u8],
    sql_mode: &'a str,
    charset: &'a str,
}

impl CodeDefinition<'_> {
    /// `view `v``, `package body `p``: for messages.
    fn what(&self) -> String {
        format!("{} {}", self.kind.to_ascii_lowercase(), ident(self.name))
    }
}

/// Why a call keeps its database qualifier in the dump ([`DatabaseCatalog::calls_keeping_qualifier`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeptBecause {
    /// Without it the server would call its native function of that name.
    Native,
    /// Without it a package would call its own routine of that name.
    PackageOwn,
    /// A routine of the package of that name (`db.pkg.f()`): without it, outside sql_mode
    /// ORACLE, `pkg` would be a database.
    PackageRoutine,
}

/// A trigger, routine or event with the session settings it was created under.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub kind: ObjectKind,
    pub name: String,
    /// Read as binary: the bytes the object was created with, in `character_set_client`.
    pub create_sql: Vec<u8>,
    pub sql_mode: String,
    pub character_set_client: String,
    pub collation_connection: String,
    /// The database's collation when the object was created: parameters and variables
    /// declared without a charset take it, so it is recreated under the same one.
    pub database_collation: String,
    /// Events only.
    pub time_zone: Option<String>,
}

/// Everything about one database that a dump writes.
#[derive(Clone, Debug)]
pub struct DatabaseCatalog {
    pub name: String,
    /// `SHOW CREATE DATABASE`, used in combined files.
    pub create_sql: Vec<u8>,
    /// The options of `SHOW CREATE DATABASE` after the name (charset, collation, comment):
    /// a single-database file gives them to whatever database it is restored into.
    pub options: Vec<u8>,
    /// `DEFAULT_COLLATION_NAME`: stored objects created under another one switch to theirs.
    pub collation: String,
    /// A non-ASCII name as spelled in each other charset its definitions are written in
    /// (converted by the server), so own-schema qualifiers are found in those bytes too.
    pub encoded_names: Vec<(String, Vec<u8>)>,
    /// Functions declaring none of DETERMINISTIC, NO SQL, READS SQL DATA: a server with a
    /// binary log refuses to create them unless `log_bin_trust_function_creators=1`.
    pub functions_needing_trust: Vec<String>,
    /// Functions some definition calls through the database's own qualifier (`db.f(…)`,
    /// spelled as written) whose bare name the server reads as a native function
    /// (`db.reverse(x)`): those calls keep their qualifier (`rewrite`).
    pub native_named_calls: Vec<Vec<u8>>,
    pub tables: Vec<Table>,
    pub sequences: Vec<Sequence>,
    pub views: Vec<View>,
    pub routines: Vec<StoredObject>,
    pub triggers: Vec<StoredObject>,
    pub events: Vec<StoredObject>,
}

impl DatabaseCatalog {
    /// A SHA-256 of each definition as the dump writes it (own-schema qualifiers removed) with
    /// the settings it is created under, and of the database's defaults, keyed `"view v"`,
    /// `"procedure p"`, `"database"`…: recorded in the metadata, so `verify --against` can tell
    /// a database whose objects, charsets, bodies or SRIDs differ from the dump's.
    pub fn definition_digests(&self) -> std::collections::BTreeMap<String, String> {
        use sha2::{Digest, Sha256};
        let mut out = std::collections::BTreeMap::new();
        let digest = |parts: &[&[u8]]| {
            let mut h = Sha256::new();
            for p in parts {
                h.update((p.len() as u64).to_le_bytes());
                h.update(p);
            }
            hex::encode(h.finalize())
        };
        // `<text>` or `<text>:<settings>`, so verify can say which of the two differs.
        let mut put = |key: String, text: &[u8], settings: &[&[u8]]| {
            let mut value = digest(&[text]);
            if !settings.is_empty() {
                value.push(':');
                value.push_str(&digest(settings));
            }
            out.insert(key, value);
        };
        put(
            "database".into(),
            &self.options,
            &[self.collation.as_bytes()],
        );
        for t in &self.tables {
            put(
                format!("table {}", t.name),
                &self.portable_table(&t.create_sql),
                &[],
            );
        }
        for q in &self.sequences {
            put(
                format!("sequence {}", q.name),
                &self.portable_table(&q.create_sql),
                &[],
            );
        }
        for v in &self.views {
            put(
                format!("view {}", v.name),
                &self.digest_form(&v.create_sql, "", &v.character_set_client),
                &[
                    v.character_set_client.as_bytes(),
                    v.collation_connection.as_bytes(),
                ],
            );
        }
        for o in self
            .routines
            .iter()
            .chain(&self.triggers)
            .chain(&self.events)
        {
            put(
                format!("{} {}", o.kind.keyword().to_ascii_lowercase(), o.name),
                &self.digest_form(&o.create_sql, &o.sql_mode, &o.character_set_client),
                &[
                    o.sql_mode.as_bytes(),
                    o.character_set_client.as_bytes(),
                    o.collation_connection.as_bytes(),
                    o.database_collation.as_bytes(),
                    o.time_zone.as_deref().unwrap_or_default().as_bytes(),
                ],
            );
        }
        out
    }

    /// A table's or sequence's definition as the dump writes it: without the database's own
    /// qualifiers (`DEFAULT nextval(`db`.`s`)`). `SHOW CREATE TABLE` text is utf8, printed
    /// under the catalog session's empty sql_mode.
    pub fn portable_table(&self, sql: &[u8]) -> Vec<u8> {
        self.portable(sql, "", "utf8mb4")
    }

    /// A view's definition as the dump writes it: printed by the server under the catalog
    /// session's empty sql_mode, in the view's own character set.
    pub fn portable_view(&self, v: &View) -> Vec<u8> {
        self.portable(&v.create_sql, "", &v.character_set_client)
    }

    /// A trigger's, routine's or event's definition as the dump writes it: the user's text,
    /// read under the sql_mode and character set it was created with.
    pub fn portable_object(&self, o: &StoredObject) -> Vec<u8> {
        self.portable(&o.create_sql, &o.sql_mode, &o.character_set_client)
    }

    /// A definition as [`Self::definition_digests`] takes it: as the dump writes it, with the
    /// qualifiers it keeps naming an empty name instead of the database (ASCII names, as
    /// `restore::apply` points them at the target), so that a copy restored under another
    /// name digests as its source did.
    fn digest_form(&self, sql: &[u8], sql_mode: &str, charset: &str) -> Vec<u8> {
        let portable = self.portable(sql, sql_mode, charset);
        if !self.name.is_ascii() {
            return portable;
        }
        rewrite::retarget(
            &portable,
            self.name.as_bytes(),
            "",
            Lexing::new(sql_mode, charset),
        )
    }

    fn portable(&self, sql: &[u8], sql_mode: &str, charset: &str) -> Vec<u8> {
        let native = |name: &[u8]| self.native_named_calls.iter().any(|n| n == name);
        strip_schema(
            sql,
            &self.name_in(charset),
            Lexing::new(sql_mode, charset),
            &native,
        )
    }

    /// Each definition (`view v`, `function f` …) whose calls keep the database's qualifier,
    /// with the routine's name and why: its bare name is a native function's, or the package
    /// making the call declares a routine of that name.
    pub fn calls_keeping_qualifier(&self) -> Vec<(String, String, KeptBecause)> {
        let mut out = Vec::new();
        for d in self.code_definitions() {
            let schema = self.name_in(d.charset);
            let lexing = Lexing::new(d.sql_mode, d.charset);
            let what = d.what();
            let name = |call: &[u8]| String::from_utf8_lossy(&rewrite::unquoted(call)).into_owned();
            for call in own_calls(d.sql, &schema, lexing) {
                if self.native_named_calls.contains(&call) {
                    out.push((what.clone(), name(&call), KeptBecause::Native));
                }
            }
            for call in shadowed_calls(d.sql, &schema, lexing) {
                out.push((what.clone(), name(&call), KeptBecause::PackageOwn));
            }
            for package in package_calls(d.sql, &schema, lexing) {
                out.push((what.clone(), name(&package), KeptBecause::PackageRoutine));
            }
        }
        out
    }

    /// The views, routines, triggers and events, each with the sql_mode and character set
    /// its text is read under: a view's is printed by the server under the catalog session's
    /// empty sql_mode, an object's is the user's text under its own.
    fn code_definitions(&self) -> impl Iterator<Item = CodeDefinition<'_>> {
        let views = self.views.iter().map(|v| CodeDefinition {
            kind: "view",
            name: &v.name,
            sql: &v.create_sql,
            sql_mode: "",
            charset: &v.character_set_client,
        });
        let objects = self
            .routines
            .iter()
            .chain(&self.triggers)
            .chain(&self.events)
            .map(|o| CodeDefinition {
                kind: o.kind.keyword(),
                name: &o.name,
                sql: &o.create_sql,
                sql_mode: &o.sql_mode,
                charset: &o.character_set_client,
            });
        views.chain(objects)
    }

    /// The database's name as bytes of `charset` (a definition's `character_set_client`).
    pub fn name_in(&self, charset: &str) -> std::borrow::Cow<'_, [u8]> {
        match self.encoded_names.iter().find(|(cs, _)| cs == charset) {
            Some((_, bytes)) => std::borrow::Cow::Borrowed(bytes),
            None => std::borrow::Cow::Borrowed(self.name.as_bytes()),
        }
    }
}

/// Reads the whole catalog of one database. Run it inside the dump's snapshot session so that
/// `SHOW CREATE TABLE` is read with the time zone it is replayed with.
///
/// Definitions are read with `character_set_results = binary`, as mysqldump does: the server
/// then sends each one in the character set it was written in (a view or routine created
/// under koi8r comes back in koi8r, a binary default raw), and the dump replays those bytes
/// under the same `character_set_client`. Converted to utf8mb4 instead, literals in other
/// charsets would be re-encoded on the way back.
///
/// `keep` says which tables, views and sequences are read (a table selection: the others are
/// not asked for, which spares a `SHOW CREATE` each); a trigger is read when its table is.
pub async fn load_database(
    conn: &mut Conn,
    db: &str,
    keep: impl Fn(&str) -> bool + Sync,
) -> Result<DatabaseCatalog> {
    conn.query_drop("SET character_set_results = binary")
        .await
        .map_err(|e| Error::server("reading definitions as bytes", e))?;
    let catalog = read_database(conn, db, &keep).await;
    // The connection goes on to read rows, which are decoded as utf8mb4.
    conn.query_drop("SET character_set_results = utf8mb4")
        .await
        .map_err(|e| Error::server("restoring the session character set", e))?;
    catalog
}

async fn read_database(
    conn: &mut Conn,
    db: &str,
    keep: &(impl Fn(&str) -> bool + Sync),
) -> Result<DatabaseCatalog> {
    let ctx = |what: &str| format!("reading the catalog of database {} ({what})", ident(db));

    let create_db: Row = conn
        .query_first(format!("SHOW CREATE DATABASE {}", ident(db)))
        .await
        .map_err(|e| Error::server(ctx("SHOW CREATE DATABASE"), e))?
        .ok_or_else(|| Error::Internal(ctx("SHOW CREATE DATABASE returned nothing")))?;
    let create_sql = bytes_at(&create_db, 1);
    let options = database_options(&create_sql, db);
    let collation: Option<String> = conn
        .exec_first(
            "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.SCHEMATA"), e))?;

    // The names compare case-insensitively: `CaseT` and `caset` tie, and the bytes break the
    // tie, so two dumps of one database are the same file.
    let table_rows: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''), COALESCE(TABLE_ROWS, 0), \
             COALESCE(DATA_LENGTH, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME, BINARY TABLE_NAME",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.TABLES"), e))?;
    let column_rows: Vec<Row> = conn
        .exec(
            format!("{COLUMNS_QUERY} ORDER BY TABLE_NAME, ORDINAL_POSITION"),
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.COLUMNS"), e))?;
    // First columns of primary and unique keys, primary key first.
    let key_rows: Vec<(String, String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND NON_UNIQUE = 0 AND SEQ_IN_INDEX = 1 \
             ORDER BY TABLE_NAME, INDEX_NAME <> 'PRIMARY', INDEX_NAME",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.STATISTICS"), e))?;
    let srids = geometry_srids(conn, db).await?;
    let mut nullable: std::collections::HashSet<(String, String)> = Default::default();
    for r in &column_rows {
        if text_at(r, 5, "COLUMNS.IS_NULLABLE")? == "YES" {
            nullable.insert((text_at(r, 0, "")?, text_at(r, 1, "")?));
        }
    }

    let mut columns: std::collections::HashMap<String, Vec<Column>> = Default::default();
    // Explicit system-versioning period columns: (table) → (start, end, is a transaction id).
    let mut periods: std::collections::HashMap<String, (String, String, bool)> = Default::default();
    for r in &column_rows {
        let table = text_at(r, 0, "COLUMNS.TABLE_NAME")?;
        let (column, period) = column_of(r)?;
        match period {
            Some(Period::Start { by_id }) => {
                let p = periods.entry(table.clone()).or_default();
                p.0 = column.name.clone();
                p.2 = by_id;
            }
            Some(Period::End) => periods.entry(table.clone()).or_default().1 = column.name.clone(),
            None => {}
        }
        columns.entry(table).or_default().push(column);
    }

    let mut catalog = DatabaseCatalog {
        name: db.to_owned(),
        create_sql,
        options,
        collation: collation.unwrap_or_default(),
        encoded_names: Vec::new(),
        functions_needing_trust: Vec::new(),
        native_named_calls: Vec::new(),
        tables: Vec::new(),
        sequences: Vec::new(),
        views: Vec::new(),
        routines: Vec::new(),
        triggers: Vec::new(),
        events: Vec::new(),
    };

    // Views the server cannot open, all of them named at once.
    let mut broken_views: Vec<String> = Vec::new();
    for r in &table_rows {
        let name = text_at(r, 0, "TABLES.TABLE_NAME")?;
        if !keep(&name) {
            continue;
        }
        let table_type = text_at(r, 1, "TABLES.TABLE_TYPE")?;
        let engine = text_at(r, 2, "TABLES.ENGINE")?;
        let estimated_rows: u64 = r.get(3).unwrap_or(0);
        let estimated_bytes: u64 = r.get(4).unwrap_or(0);
        let cols = columns.remove(&name).unwrap_or_default();
        let split_key = key_rows
            .iter()
            .filter(|(t, _, _)| *t == name)
            .find_map(|(_, _, col)| {
                let c = cols.iter().find(|c| c.name == *col)?;
                (INTEGER_TYPES.contains(&c.data_type.as_str()) && !c.generated).then(|| SplitKey {
                    column: col.clone(),
                    nullable: nullable.contains(&(name.clone(), col.clone())),
                })
            });
        let target = qualified(db, &name);
        match table_type.as_str() {
            "VIEW" => {
                let mut cols = cols;
                let mut switched_from = None;
                if cols.is_empty() {
                    match under_own_collation(conn, db, &name).await? {
                        Some((own, session)) => {
                            cols = own;
                            switched_from = Some(session);
                        }
                        None => {
                            broken_views.push(name);
                            continue;
                        }
                    }
                }
                let row: Row = conn
                    .query_first(format!("SHOW CREATE VIEW {target}"))
                    .await
                    .map_err(|e| Error::server(format!("reading view {target}"), e))?
                    .ok_or_else(|| Error::Internal(format!("view {target} vanished")))?;
                if let Some(session) = switched_from {
                    back_to_collation(conn, &session).await?;
                }
                catalog.views.push(View {
                    create_sql: bytes_at(&row, 1),
                    character_set_client: text_at(&row, 2, "character_set_client")?,
                    collation_connection: text_at(&row, 3, "collation_connection")?,
                    name,
                    columns: cols,
                });
            }
            "SEQUENCE" => {
                let row: Row = conn
                    .query_first(format!("SHOW CREATE SEQUENCE {target}"))
                    .await
                    .map_err(|e| Error::server(format!("reading sequence {target}"), e))?
                    .ok_or_else(|| Error::Internal(format!("sequence {target} vanished")))?;
                let next: Row = conn
                    .query_first(format!(
                        "SELECT next_not_cached_value, cycle_count, start_value, increment \
                         FROM {target}"
                    ))
                    .await
                    .map_err(|e| {
                        Error::server(format!("reading the state of sequence {target}"), e)
                    })?
                    .ok_or_else(|| {
                        Error::Internal(format!("sequence {target} has no state row"))
                    })?;
                let next_value = text_at(&next, 0, "next_not_cached_value")?;
                let start = text_at(&next, 2, "start_value")?;
                let increment = text_at(&next, 3, "increment")?;
                catalog.sequences.push(Sequence {
                    create_sql: bytes_at(&row, 1),
                    restart: behind_start(&next_value, &start, &increment),
                    next_value,
                    round: text_at(&next, 1, "cycle_count")?,
                    name,
                });
            }
            // BASE TABLE, SYSTEM VERSIONED (MariaDB); temporary tables are not listed.
            _ => {
                let row: Row = conn
                    .query_first(format!("SHOW CREATE TABLE {target}"))
                    .await
                    .map_err(|e| Error::server(unopenable(db, &name, &e), e))?
                    .ok_or_else(|| Error::Internal(format!("table {target} vanished")))?;
                let mut create_sql = bytes_at(&row, 1);
                for (_, column, srid) in srids.iter().filter(|(t, _, _)| *t == name) {
                    create_sql = with_srid(&create_sql, column, *srid);
                }
                for c in cols.iter().filter(|c| c.nullable_auto_increment) {
                    create_sql = with_explicit_null(&create_sql, &c.name);
                }
                let versioning = if table_type == "SYSTEM VERSIONED" {
                    Some(match periods.remove(&name) {
                        Some((_, _, true)) => Versioning::TransactionId,
                        Some((start, end, false)) => Versioning::Timestamp { start, end },
                        // WITH SYSTEM VERSIONING alone: hidden columns of these names.
                        None => implicit_versioning(conn, &target).await?,
                    })
                } else {
                    None
                };
                catalog.tables.push(Table {
                    create_sql,
                    name,
                    engine,
                    columns: cols,
                    versioning,
                    estimated_rows,
                    estimated_bytes,
                    split_key,
                });
            }
        }
    }

    let routine_rows: Vec<(String, String, String, String)> = conn
        .exec(
            "SELECT ROUTINE_NAME, ROUTINE_TYPE, IS_DETERMINISTIC, SQL_DATA_ACCESS \
             FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.ROUTINES"), e))?;
    for (name, routine_type, deterministic, data_access) in routine_rows {
        // The server's rule for ERROR 1418: with a binary log and
        // log_bin_trust_function_creators=0 a function must be DETERMINISTIC, NO SQL or
        // READS SQL DATA.
        if routine_type == "FUNCTION"
            && deterministic == "NO"
            && matches!(data_access.as_str(), "CONTAINS SQL" | "MODIFIES SQL DATA")
        {
            catalog.functions_needing_trust.push(name.clone());
        }
        let kind = match routine_type.as_str() {
            "FUNCTION" => ObjectKind::Function,
            "PROCEDURE" => ObjectKind::Procedure,
            "PACKAGE" => ObjectKind::Package,
            "PACKAGE BODY" => ObjectKind::PackageBody,
            other => {
                return Err(Error::Unsupported(format!(
                    "routine {} has type {other}, which this dump does not know",
                    qualified(db, &name)
                )));
            }
        };
        // SHOW CREATE <kind>: name, sql_mode, create text, character_set_client,
        // collation_connection, Database Collation.
        catalog
            .routines
            .push(show_create_object(conn, db, kind, name, [1, 2, 3, 4, 5], None).await?);
    }

    let triggers: Vec<(String, String)> = conn
        .exec(
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = ? \
             ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.TRIGGERS"), e))?;
    // Triggers the server would refuse to create again, all of them named at once.
    let mut broken_triggers: Vec<String> = Vec::new();
    let mut their_tables: Vec<String> = Vec::new();
    for (name, table) in triggers.into_iter().filter(|(_, table)| keep(table)) {
        // SHOW CREATE TRIGGER: name, sql_mode, statement, character_set_client,
        // collation_connection, Database Collation.
        let trigger =
            show_create_object(conn, db, ObjectKind::Trigger, name, [1, 2, 3, 4, 5], None).await?;
        if let Some(t) = catalog.tables.iter().find(|t| t.name == table) {
            for m in triggers::missing_columns(&trigger, t) {
                broken_triggers.push(format!(
                    "trigger {} on {} uses {}.{}, a column the table no longer has",
                    ident(&trigger.name),
                    qualified(db, &table),
                    m.row,
                    ident(&m.column)
                ));
                let flag = format!(
                    "--ignore-table {}",
                    crate::pattern::TablePattern::argument_for(db, &table)
                );
                if !their_tables.contains(&flag) {
                    their_tables.push(flag);
                }
            }
        }
        catalog.triggers.push(trigger);
    }
    if !broken_triggers.is_empty() {
        return Err(Error::Unsupported(format!(
            "{}: the server refuses to create such a trigger (ERROR 1054 Unknown column), so a \
             dump of it could not be restored, and every statement that fires it fails on this \
             server too; drop the trigger or create it again on the columns the table has, or \
             leave the table out with {}",
            broken_triggers.join("; "),
            their_tables.join(" ")
        )));
    }

    let event_names: Vec<String> = conn
        .exec(
            "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? \
             ORDER BY EVENT_NAME",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.EVENTS"), e))?;
    for name in event_names {
        // SHOW CREATE EVENT: name, sql_mode, time_zone, statement, charset, collation,
        // Database Collation.
        catalog.events.push(
            show_create_object(conn, db, ObjectKind::Event, name, [1, 3, 4, 5, 6], Some(2)).await?,
        );
    }
    if !db.is_ascii() {
        let mut charsets: Vec<&str> = catalog
            .views
            .iter()
            .map(|v| v.character_set_client.as_str())
            .chain(
                catalog
                    .routines
                    .iter()
                    .chain(&catalog.triggers)
                    .chain(&catalog.events)
                    .map(|o| o.character_set_client.as_str()),
            )
            .filter(|cs| !cs.starts_with("utf8"))
            .collect();
        charsets.sort_unstable();
        charsets.dedup();
        let mut encoded = Vec::new();
        for cs in charsets {
            // A charset name from the server's own answer, checked before it is spliced in.
            if !cs.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                continue;
            }
            let bytes: Option<Vec<u8>> = conn
                .exec_first(format!("SELECT CONVERT(? USING {cs})"), (db,))
                .await
                .map_err(|e| Error::server(ctx("spelling the name in each charset"), e))?;
            if let Some(b) = bytes {
                encoded.push((cs.to_owned(), b));
            }
        }
        catalog.encoded_names = encoded;
    }
    catalog.native_named_calls = native_named_calls(conn, &catalog).await?;
    if !broken_views.is_empty() {
        return Err(invalid_views(conn, db, &broken_views).await);
    }
    Ok(catalog)
}

/// What follows the name in `SHOW CREATE DATABASE`: `/*!40100 DEFAULT CHARACTER SET … */`
/// and any `COMMENT`; empty when the text has another shape.
fn database_options(create: &[u8], db: &str) -> Vec<u8> {
    let prefix = format!("CREATE DATABASE {} ", ident(db));
    match create.strip_prefix(prefix.as_bytes()) {
        Some(rest) => rest.trim_ascii().to_vec(),
        None => Vec::new(),
    }
}

/// A view the server lists without columns is one it cannot open: a table, column or function
/// it reads is gone, or its definer lacks the rights (ERROR 1356). No column list means no
/// placeholder for it, and its `CREATE VIEW` would be refused where the dump is restored, so
/// the dump stops once the catalog is read, before its file is written, naming every such
/// view of the database with the server's own reason for the first (asked again with `SHOW
/// COLUMNS`, which fails on such a view) and the flags that leave them out.
async fn invalid_views(conn: &mut Conn, db: &str, names: &[String]) -> Error {
    let views: Vec<String> = names.iter().map(|n| qualified(db, n)).collect();
    let flags: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "--ignore-table {}",
                crate::pattern::TablePattern::argument_for(db, n)
            )
        })
        .collect();
    let context = format!(
        "reading view(s) {}: the server cannot open them, so a dump of them could not be \
         restored; repair each view (CREATE OR REPLACE VIEW) or drop it, or leave them out \
         with {}; the server says of {}",
        views.join(", "),
        flags.join(" "),
        views[0]
    );
    match conn
        .query_drop(format!("SHOW COLUMNS FROM {}", views[0]))
        .await
    {
        Err(e) => Error::server(context, e),
        Ok(()) => Error::Internal(format!("{context}: it lists no columns")),
    }
}

/// MariaDB keeps a geometry column's SRID (`REF_SYSTEM_ID=4326`) but `SHOW CREATE TABLE`
/// leaves it out; `information_schema.GEOMETRY_COLUMNS` has it. (table, column, srid) of the
/// columns with one. MySQL has no such table (its SHOW CREATE TABLE prints `SRID n`).
async fn geometry_srids(conn: &mut Conn, db: &str) -> Result<Vec<(String, String, u32)>> {
    const ER_UNKNOWN_TABLE: u16 = 1109;
    let rows: std::result::Result<Vec<(String, String, u32)>, _> = conn
        .exec(
            "SELECT G_TABLE_NAME, G_GEOMETRY_COLUMN, SRID FROM information_schema.GEOMETRY_COLUMNS \
             WHERE G_TABLE_SCHEMA = ? AND SRID <> 0",
            (db,),
        )
        .await;
    match rows {
        Ok(r) => Ok(r),
        Err(mysql_async::Error::Server(e)) if e.code == ER_UNKNOWN_TABLE => Ok(Vec::new()),
        Err(e) => Err(Error::server(
            format!(
                "reading the catalog of database {} (GEOMETRY_COLUMNS)",
                ident(db)
            ),
            e,
        )),
    }
}

/// Server errors for a table that exists but cannot be opened: 1030 an engine's error (an
/// InnoDB tablespace missing), 1168 a MERGE table whose underlying tables changed, 1812 and
/// 1814 a missing or discarded tablespace, 1932 a table the engine does not have.
const UNOPENABLE: [u16; 5] = [1030, 1168, 1812, 1814, 1932];

/// What `SHOW CREATE TABLE` of `db`.`table` was doing when it failed with `e`: for a table the
/// server cannot open, with what the operator can do (the backup cannot read it, nor can any
/// dump tool).
fn unopenable(db: &str, table: &str, e: &mysql_async::Error) -> String {
    let target = qualified(db, table);
    match e {
        mysql_async::Error::Server(s) if UNOPENABLE.contains(&s.code) => format!(
            "reading table {target}, which the server cannot open (repair it, or leave it out \
             with --ignore-table {})",
            crate::pattern::TablePattern::argument_for(db, table)
        ),
        _ => format!("reading table {target}"),
    }
}

/// `create` with `NULL` written after `column`'s `AUTO_INCREMENT`. `SHOW CREATE TABLE` prints
/// a nullable `AUTO_INCREMENT` column as `` `f` int(11) AUTO_INCREMENT ``, and the server
/// reads that back as NOT NULL (an `AUTO_INCREMENT` column is NOT NULL unless a `NULL` comes
/// after the attribute; one before it is overridden): the restored column then refused its
/// NULLs, and an insert of NULL numbered the row instead (MariaDB's auto_increment tests;
/// stock mariadb-dump loses them the same way). An integer column has nothing quoted before
/// its `AUTO_INCREMENT`, so the first one on its line is the attribute.
fn with_explicit_null(create: &[u8], column: &str) -> Vec<u8> {
    let Some(def) = column_definition(create, column) else {
        return create.to_vec();
    };
    let Some(attr) = memchr::memmem::find(&create[def.clone()], b" AUTO_INCREMENT") else {
        return create.to_vec();
    };
    let at = def.start + attr + b" AUTO_INCREMENT".len();
    if create[at..def.end].starts_with(b" NULL") {
        return create.to_vec();
    }
    inserted(create, at, b" NULL")
}

/// Puts `REF_SYSTEM_ID=n` after the type of the column's line, unless it is there already.
fn with_srid(create: &[u8], column: &str, srid: u32) -> Vec<u8> {
    let Some(def) = column_definition(create, column) else {
        return create.to_vec();
    };
    if memchr::memmem::find(&create[def.clone()], b"REF_SYSTEM_ID").is_some() {
        return create.to_vec();
    }
    let type_len = create[def.clone()]
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    inserted(
        create,
        def.start + type_len,
        format!(" REF_SYSTEM_ID={srid}").as_bytes(),
    )
}

/// Where `column`'s definition stands in a `SHOW CREATE TABLE`: from after its name to the
/// end of its line.
fn column_definition(create: &[u8], column: &str) -> Option<std::ops::Range<usize>> {
    let line_start = format!("\n  {} ", ident(column));
    let start = memchr::memmem::find(create, line_start.as_bytes())? + line_start.len();
    let end = memchr::memchr(b'\n', &create[start..]).map_or(create.len(), |p| start + p);
    Some(start..end)
}

/// `create` with `text` put in at `at`.
fn inserted(create: &[u8], at: usize, text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(create.len() + text.len());
    out.extend_from_slice(&create[..at]);
    out.extend_from_slice(text);
    out.extend_from_slice(&create[at..]);
    out
}

/// Of the functions the definitions call through the database's own qualifier, those whose
/// bare name the server reads as a native function: `db.reverse(x)` calls a stored function,
/// `reverse(x)` the string function, so such a call keeps its qualifier.
///
/// The server is asked rather than a list kept here, since each version adds functions and
/// some names are keywords (`left`, `char`) while their backquoted form is not. With
/// `information_schema` as the current database, where no routine can exist, `PREPARE` of
/// `SELECT name()` under the object's sql_mode fails with ERROR 1305 or 1630 ("FUNCTION …
/// does not exist") exactly when the name is a stored function's; a native call prepares, or
/// fails on its arguments (1582) or its syntax (1064). Nothing is executed. Names outside
/// ASCII are never native and are not asked about.
async fn native_named_calls(conn: &mut Conn, catalog: &DatabaseCatalog) -> Result<Vec<Vec<u8>>> {
    let mut asked: std::collections::BTreeSet<(String, Vec<u8>)> = Default::default();
    for d in catalog.code_definitions() {
        let schema = catalog.name_in(d.charset);
        for name in own_calls(d.sql, &schema, Lexing::new(d.sql_mode, d.charset)) {
            if name.is_ascii() {
                asked.insert((d.sql_mode.to_owned(), name));
            }
        }
    }
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = |what: &str| {
        format!(
            "finding which functions called as {}.f() are named like native ones ({what})",
            ident(&catalog.name)
        )
    };
    let current: Option<String> = conn
        .query_first("SELECT DATABASE()")
        .await
        .map_err(|e| Error::server(ctx("SELECT DATABASE()"), e))?
        .flatten();
    let saved_mode: String = conn
        .query_first("SELECT @@SESSION.sql_mode")
        .await
        .map_err(|e| Error::server(ctx("reading the session's sql_mode"), e))?
        .unwrap_or_default();
    conn.query_drop("USE information_schema")
        .await
        .map_err(|e| Error::server(ctx("USE information_schema"), e))?;
    let mut native = Vec::new();
    for (sql_mode, name) in asked {
        conn.exec_drop("SET SESSION sql_mode = ?", (&sql_mode,))
            .await
            .map_err(|e| Error::server(ctx("setting the object's sql_mode"), e))?;
        let probe = format!(
            "PREPARE sfdb_probe FROM 'SELECT {}()'",
            String::from_utf8_lossy(&name).replace('\'', "''")
        );
        let stored = match conn.query_drop(probe).await {
            Ok(()) => false,
            Err(mysql_async::Error::Server(e)) => matches!(e.code, 1305 | 1630),
            Err(e) => return Err(Error::server(ctx("PREPARE"), e)),
        };
        if !stored && !native.contains(&name) {
            native.push(name);
        }
    }
    conn.query_drop("DEALLOCATE PREPARE sfdb_probe").await.ok();
    conn.exec_drop("SET SESSION sql_mode = ?", (&saved_mode,))
        .await
        .map_err(|e| Error::server(ctx("restoring the session's sql_mode"), e))?;
    if let Some(db) = current {
        conn.query_drop(format!("USE {}", ident(&db)))
            .await
            .map_err(|e| Error::server(ctx("returning to the current database"), e))?;
    }
    Ok(native)
}

/// How a table versioned through the hidden `row_start`/`row_end` keeps its history: by
/// timestamp, as `WITH SYSTEM VERSIONING` makes them, or by transaction id when explicit
/// transaction-id period columns were dropped (MariaDB then keeps hidden BIGINT ones of those
/// names, and `SHOW CREATE TABLE` no longer says so). Asked of the result's column type,
/// reading no row.
async fn implicit_versioning(conn: &mut Conn, target: &str) -> Result<Versioning> {
    let what = || format!("reading the period columns of table {target}");
    let result = conn
        .query_iter(format!(
            "SELECT row_start FROM {target} FOR SYSTEM_TIME ALL LIMIT 0"
        ))
        .await
        .map_err(|e| Error::server(what(), e))?;
    let by_id = result.columns().is_some_and(|c| {
        c.first().is_some_and(|c| {
            c.column_type() == mysql_async::consts::ColumnType::MYSQL_TYPE_LONGLONG
        })
    });
    result
        .drop_result()
        .await
        .map_err(|e| Error::server(what(), e))?;
    Ok(if by_id {
        Versioning::TransactionId
    } else {
        Versioning::Timestamp {
            start: "row_start".into(),
            end: "row_end".into(),
        }
    })
}

/// The columns of a database's tables, as [`column_of`] reads them.
const COLUMNS_QUERY: &str = "SELECT TABLE_NAME, COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE, \
     EXTRA, IS_NULLABLE, CHARACTER_SET_NAME, GENERATION_EXPRESSION FROM \
     information_schema.COLUMNS WHERE TABLE_SCHEMA = ?";

/// What a column is to system versioning.
enum Period {
    /// ROW START; `by_id` when it holds transaction ids.
    Start {
        by_id: bool,
    },
    End,
}

/// One row of [`COLUMNS_QUERY`].
fn column_of(r: &Row) -> Result<(Column, Option<Period>)> {
    let name = text_at(r, 1, "COLUMNS.COLUMN_NAME")?;
    let data_type = text_at(r, 2, "COLUMNS.DATA_TYPE")?;
    let extra = text_at(r, 4, "COLUMNS.EXTRA")?.to_ascii_uppercase();
    let period = match text_at(r, 7, "COLUMNS.GENERATION_EXPRESSION")?.as_str() {
        "ROW START" => Some(Period::Start {
            by_id: INTEGER_TYPES.contains(&data_type.as_str()),
        }),
        "ROW END" => Some(Period::End),
        _ => None,
    };
    let column = Column {
        name,
        numbered: matches!(data_type.as_str(), "enum" | "set"),
        data_type,
        column_type: text_at(r, 3, "COLUMNS.COLUMN_TYPE")?,
        // MySQL's DEFAULT_GENERATED is a default, not a generated column; MariaDB
        // lists system-versioning ROW START/END as STORED GENERATED.
        generated: extra.contains("VIRTUAL GENERATED")
            || extra.contains("STORED GENERATED")
            || extra.contains("PERSISTENT GENERATED"),
        charset: r.get::<Option<String>, _>(6).flatten(),
        nullable_auto_increment: extra.contains("AUTO_INCREMENT")
            && text_at(r, 5, "COLUMNS.IS_NULLABLE")? == "YES",
    };
    Ok((column, period))
}

/// A view that lists no columns under the session's collation may open under its own: its
/// text is resolved anew under the session's `collation_connection` (`LPAD(HEX(n), 4, '0')`
/// made under ucs2 mixes ucs2 and utf8mb4, ERROR 1267; `'x' COLLATE latin1_german1_ci` made
/// under latin1 is no utf8mb4 collation). Returns its columns read under its own
/// `collation_connection`, which is then left in force for its `SHOW CREATE VIEW`, and the
/// collation to go back to; None when it has no other one (the view is broken).
async fn under_own_collation(
    conn: &mut Conn,
    db: &str,
    view: &str,
) -> Result<Option<(Vec<Column>, String)>> {
    let what = || {
        format!(
            "reading view {} under its own collation",
            qualified(db, view)
        )
    };
    let own: Option<String> = conn
        .exec_first(
            "SELECT COLLATION_CONNECTION FROM information_schema.VIEWS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, view),
        )
        .await
        .map_err(|e| Error::server(what(), e))?;
    let session: String = conn
        .query_first("SELECT @@collation_connection")
        .await
        .map_err(|e| Error::server(what(), e))?
        .unwrap_or_default();
    // A collation name from the server's own answer, checked before it is spliced in.
    let Some(own) = own.filter(|c| {
        *c != session && !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }) else {
        return Ok(None);
    };
    conn.query_drop(format!("SET collation_connection = {own}"))
        .await
        .map_err(|e| Error::server(what(), e))?;
    let rows: Vec<Row> = conn
        .exec(
            format!("{COLUMNS_QUERY} AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"),
            (db, view),
        )
        .await
        .map_err(|e| Error::server(what(), e))?;
    let columns = rows
        .iter()
        .map(|r| column_of(r).map(|(c, _)| c))
        .collect::<Result<Vec<_>>>()?;
    if columns.is_empty() {
        back_to_collation(conn, &session).await?;
        return Ok(None);
    }
    Ok(Some((columns, session)))
}

async fn back_to_collation(conn: &mut Conn, collation: &str) -> Result<()> {
    conn.exec_drop("SET collation_connection = ?", (collation,))
        .await
        .map_err(|e| Error::server("restoring the session's collation_connection", e))
}

/// Reads `SHOW CREATE <kind>`; `at` gives the positions of sql_mode, the statement,
/// character_set_client and collation_connection, which differ between kinds.
async fn show_create_object(
    conn: &mut Conn,
    db: &str,
    kind: ObjectKind,
    name: String,
    at: [usize; 5],
    time_zone_at: Option<usize>,
) -> Result<StoredObject> {
    let target = qualified(db, &name);
    let what = format!("{} {target}", kind.keyword().to_ascii_lowercase());
    let row: Row = conn
        .query_first(format!("SHOW CREATE {} {target}", kind.keyword()))
        .await
        .map_err(|e| Error::server(format!("reading {what}"), e))?
        .ok_or_else(|| Error::Internal(format!("{what} vanished")))?;
    let create: Option<Vec<u8>> = row.get(at[1]).flatten();
    let Some(create) = create else {
        // The server hides the body from accounts that lack the privilege to see it.
        return Err(Error::Unsupported(format!(
            "the server returned no definition for {what}: the dump account needs SELECT on \
             mysql.proc (MariaDB) or SHOW_ROUTINE (MySQL) to dump routines"
        )));
    };
    Ok(StoredObject {
        kind,
        create_sql: create,
        sql_mode: text_at(&row, at[0], &what)?,
        character_set_client: text_at(&row, at[2], &what)?,
        collation_connection: text_at(&row, at[3], &what)?,
        database_collation: text_at(&row, at[4], &what)?,
        time_zone: match time_zone_at {
            Some(i) => Some(text_at(&row, i, &what)?),
            None => None,
        },
        name,
    })
}

/// A definition's bytes, whatever their character set.
fn bytes_at(row: &Row, index: usize) -> Vec<u8> {
    row.get::<Option<Vec<u8>>, _>(index)
        .flatten()
        .unwrap_or_default()
}

fn text_at(row: &Row, index: usize, what: &str) -> Result<String> {
    let bytes: Option<Vec<u8>> = row.get(index).flatten();
    utf8(bytes.unwrap_or_default(), what)
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        Error::Unsupported(format!(
            "{what} is not valid UTF-8 (byte {}): names and settings are read as utf8",
            e.utf8_error().valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nullable_auto_increment_column_says_null_after_the_attribute() {
        let create = b"CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `f` bigint(20) unsigned AUTO_INCREMENT COMMENT 'AUTO_INCREMENT',\n  `g` int(11) DEFAULT NULL,\n  KEY `f` (`f`)\n) ENGINE=InnoDB AUTO_INCREMENT=8";
        let once = with_explicit_null(create, "f");
        assert_eq!(
            once,
            b"CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `f` bigint(20) unsigned AUTO_INCREMENT NULL COMMENT 'AUTO_INCREMENT',\n  `g` int(11) DEFAULT NULL,\n  KEY `f` (`f`)\n) ENGINE=InnoDB AUTO_INCREMENT=8"
        );
        assert_eq!(with_explicit_null(&once, "f"), once, "never twice");
        assert_eq!(with_explicit_null(create, "g"), create.to_vec());
        let last = b"CREATE TABLE `a` (\n  `f` int(11) AUTO_INCREMENT,\n  UNIQUE KEY `f` (`f`)\n)";
        assert_eq!(
            with_explicit_null(last, "f"),
            b"CREATE TABLE `a` (\n  `f` int(11) AUTO_INCREMENT NULL,\n  UNIQUE KEY `f` (`f`)\n)"
        );
    }

    #[test]
    fn srid_goes_after_the_column_type() {
        let create = b"CREATE TABLE `t` (\n  `g` point NOT NULL,\n  `gg` geometry DEFAULT NULL\n)";
        let once = with_srid(create, "g", 4326);
        assert_eq!(
            once,
            b"CREATE TABLE `t` (\n  `g` point REF_SYSTEM_ID=4326 NOT NULL,\n  `gg` geometry DEFAULT NULL\n)"
        );
        assert_eq!(with_srid(&once, "g", 4326), once, "never twice");
        assert_eq!(with_srid(create, "nosuch", 1), create.to_vec());
    }

    #[test]
    fn rows_elsewhere_are_named_by_engine() {
        let t = |engine: &str| Table {
            name: "t".into(),
            engine: engine.into(),
            create_sql: Vec::new(),
            columns: Vec::new(),
            versioning: None,
            estimated_rows: 0,
            estimated_bytes: 0,
            split_key: None,
        };
        for e in [
            "MRG_MyISAM",
            "mrg_myisam",
            "FEDERATED",
            "SPIDER",
            "CONNECT",
            "BLACKHOLE",
        ] {
            assert!(t(e).rows_elsewhere().is_some(), "{e}");
        }
        for e in ["InnoDB", "MyISAM", "Aria", "MEMORY", "ARCHIVE", "CSV"] {
            assert!(t(e).rows_elsewhere().is_none(), "{e}");
        }
    }

    #[test]
    fn database_options_follow_the_name() {
        let create = b"CREATE DATABASE `a``b` /*!40100 DEFAULT CHARACTER SET cp1251 */ COMMENT 'x'";
        assert_eq!(
            database_options(create, "a`b"),
            b"/*!40100 DEFAULT CHARACTER SET cp1251 */ COMMENT 'x'".to_vec()
        );
        assert!(database_options(b"something else", "a").is_empty());
    }
}
