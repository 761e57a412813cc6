//! The little both connection kinds are asked in common: run a statement, read a small result
//! as text. A dump worker has a mysql_async connection and, usually, a row reader
//! ([`WireConn`]); starting a snapshot, reading its binlog position, reading key
//! bounds and preparing a session are written once over this, for either.
//!
//! Both kinds send these statements as plain text queries (COM_QUERY), so a helper sends the
//! same bytes whichever connection it is given; only reading a table's rows differs between
//! them (`rows::dump_table` and `rows::dump_table_wire`).

use std::future::Future;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::wire::WireConn;

/// One row of a text result: each cell's bytes, None for NULL.
pub type TextRow = Vec<Option<Vec<u8>>>;

/// A cell of a text result as a string (None for NULL). For the small results these helpers
/// read (names, numbers, charset names); bytes that are not UTF-8 are replaced.
pub(crate) fn cell_text(cell: &Option<Vec<u8>>) -> Option<String> {
    cell.as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// A connection that runs statements and returns small results as text.
pub(crate) trait QueryConn: Send {
    /// Runs a statement and discards any result.
    fn run(&mut self, sql: &str) -> impl Future<Output = Result<(), mysql_async::Error>> + Send;

    /// Runs a statement; returns its rows as text cells. For small results.
    fn text_rows(
        &mut self,
        sql: &str,
    ) -> impl Future<Output = Result<Vec<TextRow>, mysql_async::Error>> + Send;
}

impl QueryConn for Conn {
    async fn run(&mut self, sql: &str) -> Result<(), mysql_async::Error> {
        Queryable::query_drop(self, sql).await
    }

    async fn text_rows(&mut self, sql: &str) -> Result<Vec<TextRow>, mysql_async::Error> {
        let rows: Vec<Row> = Queryable::query(self, sql).await?;
        Ok(rows
            .into_iter()
            .map(|row| row.unwrap().into_iter().map(text_cell).collect())
            .collect())
    }
}

/// A cell of a text result as mysql_async holds it. mysql_common reads every cell of a text
/// result as bytes or NULL; the other variants come from binary results only.
fn text_cell(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(b),
        other => Some(other.as_sql(true).into_bytes()),
    }
}

impl QueryConn for WireConn {
    async fn run(&mut self, sql: &str) -> Result<(), mysql_async::Error> {
        self.query_drop(sql).await
    }

    async fn text_rows(&mut self, sql: &str) -> Result<Vec<TextRow>, mysql_async::Error> {
        self.query(sql).await
    }
}
