//! The catalog stage: which databases, tables, columns and stored objects exist, and their DDL.

use mysql_async::prelude::*;
use mysql_async::{Conn, Row};

use crate::error::{Error, Result};
use crate::sql::ident::{ident, qualified};

/// System databases dropped by `--exclude-system` (compat §2.4).
pub const SYSTEM_DATABASES: [&str; 5] = [
    "information_schema",
    "mysql",
    "performance_schema",
    "sys",
    "innodb",
];

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
}

/// The integer column that leads a primary or unique key: rows can be split into ranges of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitKey {
    pub column: String,
    /// A unique key may hold NULLs (any number of them); they go into the first chunk.
    pub nullable: bool,
}

const INTEGER_TYPES: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];

#[derive(Clone, Debug)]
pub struct Table {
    pub name: String,
    pub engine: String,
    pub create_sql: String,
    pub columns: Vec<Column>,
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
}

#[derive(Clone, Debug)]
pub struct Sequence {
    pub name: String,
    pub create_sql: String,
    /// `next_not_cached_value`, restored with `SETVAL(seq, value, 0, round)`.
    pub next_value: String,
    /// `cycle_count`: how often a cycling sequence has wrapped.
    pub round: String,
}

#[derive(Clone, Debug)]
pub struct View {
    pub name: String,
    pub create_sql: String,
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

/// A trigger, routine or event with the session settings it was created under.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub kind: ObjectKind,
    pub name: String,
    pub create_sql: String,
    pub sql_mode: String,
    pub character_set_client: String,
    pub collation_connection: String,
    /// Events only.
    pub time_zone: Option<String>,
}

/// Everything about one database that a dump writes.
#[derive(Clone, Debug)]
pub struct DatabaseCatalog {
    pub name: String,
    /// `SHOW CREATE DATABASE`, used in combined files.
    pub create_sql: String,
    pub tables: Vec<Table>,
    pub sequences: Vec<Sequence>,
    pub views: Vec<View>,
    pub routines: Vec<StoredObject>,
    pub triggers: Vec<StoredObject>,
    pub events: Vec<StoredObject>,
}

/// Reads the whole catalog of one database. Run it inside the dump's snapshot session so that
/// `SHOW CREATE TABLE` is read with the time zone it is replayed with.
pub async fn load_database(conn: &mut Conn, db: &str) -> Result<DatabaseCatalog> {
    let ctx = |what: &str| format!("reading the catalog of database {} ({what})", ident(db));

    let create_db: Row = conn
        .query_first(format!("SHOW CREATE DATABASE {}", ident(db)))
        .await
        .map_err(|e| Error::server(ctx("SHOW CREATE DATABASE"), e))?
        .ok_or_else(|| Error::Internal(ctx("SHOW CREATE DATABASE returned nothing")))?;
    let create_sql = text_at(&create_db, 1, &ctx("SHOW CREATE DATABASE"))?;

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
            "SELECT TABLE_NAME, COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE, EXTRA, IS_NULLABLE, \
             CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME, ORDINAL_POSITION",
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
    let mut nullable: std::collections::HashSet<(String, String)> = Default::default();
    for r in &column_rows {
        if text_at(r, 5, "COLUMNS.IS_NULLABLE")? == "YES" {
            nullable.insert((text_at(r, 0, "")?, text_at(r, 1, "")?));
        }
    }

    let mut columns: std::collections::HashMap<String, Vec<Column>> = Default::default();
    for r in &column_rows {
        let extra = text_at(r, 4, "COLUMNS.EXTRA")?.to_ascii_uppercase();
        columns
            .entry(text_at(r, 0, "COLUMNS.TABLE_NAME")?)
            .or_default()
            .push(Column {
                name: text_at(r, 1, "COLUMNS.COLUMN_NAME")?,
                data_type: text_at(r, 2, "COLUMNS.DATA_TYPE")?,
                column_type: text_at(r, 3, "COLUMNS.COLUMN_TYPE")?,
                // MySQL's DEFAULT_GENERATED is a default, not a generated column; MariaDB
                // lists system-versioning ROW START/END as STORED GENERATED.
                generated: extra.contains("VIRTUAL GENERATED")
                    || extra.contains("STORED GENERATED")
                    || extra.contains("PERSISTENT GENERATED"),
                charset: r.get::<Option<String>, _>(6).flatten(),
            });
    }

    let mut catalog = DatabaseCatalog {
        name: db.to_owned(),
        create_sql,
        tables: Vec::new(),
        sequences: Vec::new(),
        views: Vec::new(),
        routines: Vec::new(),
        triggers: Vec::new(),
        events: Vec::new(),
    };

    for r in &table_rows {
        let name = text_at(r, 0, "TABLES.TABLE_NAME")?;
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
                let row: Row = conn
                    .query_first(format!("SHOW CREATE VIEW {target}"))
                    .await
                    .map_err(|e| Error::server(format!("reading view {target}"), e))?
                    .ok_or_else(|| Error::Internal(format!("view {target} vanished")))?;
                catalog.views.push(View {
                    create_sql: text_at(&row, 1, &format!("SHOW CREATE VIEW {target}"))?,
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
                        "SELECT next_not_cached_value, cycle_count FROM {target}"
                    ))
                    .await
                    .map_err(|e| {
                        Error::server(format!("reading the state of sequence {target}"), e)
                    })?
                    .ok_or_else(|| {
                        Error::Internal(format!("sequence {target} has no state row"))
                    })?;
                catalog.sequences.push(Sequence {
                    create_sql: text_at(&row, 1, &format!("SHOW CREATE SEQUENCE {target}"))?,
                    next_value: text_at(&next, 0, "next_not_cached_value")?,
                    round: text_at(&next, 1, "cycle_count")?,
                    name,
                });
            }
            // BASE TABLE, SYSTEM VERSIONED (MariaDB); temporary tables are not listed.
            _ => {
                let row: Row = conn
                    .query_first(format!("SHOW CREATE TABLE {target}"))
                    .await
                    .map_err(|e| Error::server(format!("reading table {target}"), e))?
                    .ok_or_else(|| Error::Internal(format!("table {target} vanished")))?;
                catalog.tables.push(Table {
                    create_sql: text_at(&row, 1, &format!("SHOW CREATE TABLE {target}"))?,
                    name,
                    engine,
                    columns: cols,
                    estimated_rows,
                    estimated_bytes,
                    split_key,
                });
            }
        }
    }

    let routine_rows: Vec<(String, String)> = conn
        .exec(
            "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.ROUTINES"), e))?;
    for (name, routine_type) in routine_rows {
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
        // SHOW CREATE <kind>: name, sql_mode, create text, character_set_client, collation_connection.
        catalog
            .routines
            .push(show_create_object(conn, db, kind, name, [1, 2, 3, 4], None).await?);
    }

    let trigger_names: Vec<String> = conn
        .exec(
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? \
             ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
            (db,),
        )
        .await
        .map_err(|e| Error::server(ctx("information_schema.TRIGGERS"), e))?;
    for name in trigger_names {
        // SHOW CREATE TRIGGER: name, sql_mode, statement, character_set_client, collation_connection.
        catalog.triggers.push(
            show_create_object(conn, db, ObjectKind::Trigger, name, [1, 2, 3, 4], None).await?,
        );
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
        // SHOW CREATE EVENT: name, sql_mode, time_zone, statement, charset, collation.
        catalog.events.push(
            show_create_object(conn, db, ObjectKind::Event, name, [1, 3, 4, 5], Some(2)).await?,
        );
    }
    Ok(catalog)
}

/// Reads `SHOW CREATE <kind>`; `at` gives the positions of sql_mode, the statement,
/// character_set_client and collation_connection, which differ between kinds.
async fn show_create_object(
    conn: &mut Conn,
    db: &str,
    kind: ObjectKind,
    name: String,
    at: [usize; 4],
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
        create_sql: utf8(create, &what)?,
        sql_mode: text_at(&row, at[0], &what)?,
        character_set_client: text_at(&row, at[2], &what)?,
        collation_connection: text_at(&row, at[3], &what)?,
        time_zone: match time_zone_at {
            Some(i) => Some(text_at(&row, i, &what)?),
            None => None,
        },
        name,
    })
}

fn text_at(row: &Row, index: usize, what: &str) -> Result<String> {
    let bytes: Option<Vec<u8>> = row.get(index).flatten();
    utf8(bytes.unwrap_or_default(), what)
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        Error::Unsupported(format!(
            "{what} is not valid UTF-8 although the session reads utf8mb4 (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}
