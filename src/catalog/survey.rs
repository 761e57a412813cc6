//! Questions about the selected databases as a whole, asked on the control connection before
//! the snapshot opens: how many tables a database has, how big it is, which of its tables are
//! outside InnoDB's snapshot, which tables and views it holds. They answer with names and
//! figures; what a run makes of them is the dump's business.

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::error::{Error, Result};
use crate::metadata::TableRef;
use crate::quote::ident;

/// How many tables (views included) `db` holds.
pub(crate) async fn count_tables(conn: &mut Conn, db: &str) -> Result<u64> {
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db,),
        )
        .await
        .map_err(|e| Error::server(format!("counting tables of {}", ident(db)), e))?;
    Ok(n.unwrap_or(0))
}

/// `db`'s base tables, their estimated rows and bytes (the server's statistics, not counts).
pub(crate) async fn estimate_size(conn: &mut Conn, db: &str) -> Result<(u64, u64, u64)> {
    let row: Option<(u64, u64, u64)> = conn
        .exec_first(
            "SELECT COUNT(*), CAST(COALESCE(SUM(TABLE_ROWS), 0) AS UNSIGNED), \
             CAST(COALESCE(SUM(DATA_LENGTH), 0) AS UNSIGNED) \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW'",
            (db,),
        )
        .await
        .map_err(|e| Error::server(format!("estimating the size of {}", ident(db)), e))?;
    Ok(row.unwrap_or_default())
}

/// `db`'s base tables with their engine and estimated rows (the server's statistics, as the
/// catalog reads them), in name order: what a dump plans to read.
pub(crate) async fn table_rows(conn: &mut Conn, db: &str) -> Result<Vec<(String, String, u64)>> {
    conn.exec(
        "SELECT TABLE_NAME, COALESCE(ENGINE, ''), CAST(COALESCE(TABLE_ROWS, 0) AS UNSIGNED) \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
         AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME",
        (db,),
    )
    .await
    .map_err(|e| Error::server(format!("estimating the rows of {}", ident(db)), e))
}

/// The tables, views and sequences of `db` with their `TABLE_TYPE` (`BASE TABLE`, `VIEW`,
/// `SEQUENCE`, `SYSTEM VERSIONED`), in name order: what a table selection is matched against.
pub(crate) async fn tables(conn: &mut Conn, db: &str) -> Result<Vec<(String, String)>> {
    conn.exec(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
         ORDER BY TABLE_NAME, BINARY TABLE_NAME",
        (db,),
    )
    .await
    .map_err(|e| Error::server(format!("listing the tables of {}", ident(db)), e))
}

/// The views of `db` with their definitions as `information_schema.VIEWS` gives them (every
/// table named with its database, as the server stores it).
pub(crate) async fn view_definitions(conn: &mut Conn, db: &str) -> Result<Vec<(String, String)>> {
    conn.exec(
        "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS \
         WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
        (db,),
    )
    .await
    .map_err(|e| Error::server(format!("reading the view definitions of {}", ident(db)), e))
}

/// Base tables of `databases` whose engine is outside InnoDB's snapshot, in name order within
/// each database.
pub(crate) async fn non_transactional_tables(
    conn: &mut Conn,
    databases: &[String],
) -> Result<Vec<TableRef>> {
    // Tables whose rows live elsewhere are not read, so commits do not wait for them.
    let sql = format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
         AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
         AND ENGINE NOT IN ('InnoDB', 'XtraDB', 'RocksDB', 'TokuDB', 'ndbcluster', {}) \
         ORDER BY TABLE_NAME",
        rows_elsewhere_list()
    );
    tables_of(conn, databases, &sql, "listing the engines of").await
}

/// The tables and sequences of `databases` whose rows the server itself stores (not views,
/// not tables whose rows live elsewhere): what a dump that may not block the server's DDL
/// keeps from being altered instead (`snapshot::DdlScope::Tables`).
pub(crate) async fn stored_tables(conn: &mut Conn, databases: &[String]) -> Result<Vec<TableRef>> {
    let sql = format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
         AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'SEQUENCE') \
         AND COALESCE(ENGINE, '') NOT IN ({}) ORDER BY TABLE_NAME",
        rows_elsewhere_list()
    );
    tables_of(conn, databases, &sql, "listing the tables of").await
}

/// The tables `sql` names (`TABLE_NAME`s, its one parameter a database) in each of
/// `databases`, in their order; a failure says `what` and the database.
async fn tables_of(
    conn: &mut Conn,
    databases: &[String],
    sql: &str,
    what: &str,
) -> Result<Vec<TableRef>> {
    let mut found = Vec::new();
    for db in databases {
        let names: Vec<String> = conn
            .exec(sql, (db,))
            .await
            .map_err(|e| Error::server(format!("{what} {}", ident(db)), e))?;
        found.extend(names.into_iter().map(|table| TableRef {
            database: db.clone(),
            table,
        }));
    }
    Ok(found)
}

/// The engines whose rows live elsewhere, as an SQL list of strings: `'CONNECT', 'FEDERATED'…`.
fn rows_elsewhere_list() -> String {
    super::rows_elsewhere_engines()
        .map(|e| format!("'{e}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
