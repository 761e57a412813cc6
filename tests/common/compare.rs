//! A database's content and definitions as plain strings, and the differences between two.
//!
//! Rows are compared as `HEX()` of every column (FLOAT via `col+0e0`, non-integer numbers via
//! their text, since HEX() of a number converts it to an integer), sorted, so row order never
//! matters. Definitions are compared as `SHOW CREATE` output with the database's own name
//! replaced, so a dump restored under another name compares equal.

use std::collections::BTreeMap;

use mysql_async::prelude::*;
use mysql_async::{Conn, Row};

use super::quote;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct TableImage {
    pub count: u64,
    pub rows: Vec<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct DbImage {
    /// "table t", "view v", "trigger x", … → normalised definition.
    pub objects: BTreeMap<String, String>,
    pub tables: BTreeMap<String, TableImage>,
}

/// A cell as text; bytes that are not UTF-8 (definitions in koi8r, a binary default) as hex,
/// so two different byte strings never compare equal.
fn text(row: &Row, i: usize) -> String {
    let v: Vec<u8> = row
        .get::<Option<Vec<u8>>, _>(i)
        .flatten()
        .unwrap_or_default();
    shown(v)
}

fn shown(v: Vec<u8>) -> String {
    match String::from_utf8(v) {
        Ok(s) => s,
        Err(e) => format!("0x{}", hex::encode(e.into_bytes())),
    }
}

/// A definition with the database's own (quoted) name replaced, compared as bytes. `names`:
/// the name quoted as spelled in the definition's charset(s).
fn normalised(row: &Row, i: usize, names: &[Vec<u8>]) -> String {
    let mut v: Vec<u8> = row
        .get::<Option<Vec<u8>>, _>(i)
        .flatten()
        .unwrap_or_default();
    for name in names {
        let mut out = Vec::with_capacity(v.len());
        let mut rest = &v[..];
        while let Some(at) = rest.windows(name.len()).position(|w| w == &name[..]) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(b"`<DB>`");
            rest = &rest[at + name.len()..];
        }
        out.extend_from_slice(rest);
        v = out;
    }
    shown(v)
}

/// The database's name quoted, in UTF-8 and, for a definition shown in another charset
/// (a koi8r view prints its own name in koi8r), as the server converts it into that charset.
async fn quoted_names(conn: &mut Conn, db: &str, charset: &str) -> Vec<Vec<u8>> {
    let mut names = vec![quote(db).into_bytes()];
    if !charset.starts_with("utf8") && charset.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let spelled: Vec<u8> = conn
            .exec_first(format!("SELECT CONVERT(? USING {charset})"), (db,))
            .await
            .unwrap()
            .unwrap();
        let mut q = vec![b'`'];
        for b in spelled {
            if b == b'`' {
                q.push(b'`');
            }
            q.push(b);
        }
        q.push(b'`');
        names.push(q);
    }
    names
}

pub async fn image(conn: &mut Conn, db: &str) -> DbImage {
    // Definitions as the server stores them, in their own charsets, not converted.
    conn.query_drop("SET SESSION character_set_results = binary")
        .await
        .unwrap();
    let img = read_image(conn, db).await;
    conn.query_drop("SET SESSION character_set_results = utf8mb4")
        .await
        .unwrap();
    img
}

async fn read_image(conn: &mut Conn, db: &str) -> DbImage {
    let mut img = DbImage::default();
    conn.query_drop("SET SESSION time_zone = '+00:00'")
        .await
        .unwrap();
    // The database's own defaults (charset, collation, comment).
    let r: Row = conn
        .query_first(format!("SHOW CREATE DATABASE {}", quote(db)))
        .await
        .unwrap()
        .unwrap();
    img.objects.insert(
        "database".into(),
        normalised(&r, 1, &[quote(db).into_bytes()]),
    );
    // Geometry SRIDs, which SHOW CREATE TABLE does not show.
    let srids: Vec<(String, String, u32)> = conn
        .exec(
            "SELECT G_TABLE_NAME, G_GEOMETRY_COLUMN, SRID FROM information_schema.GEOMETRY_COLUMNS \
             WHERE G_TABLE_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    for (t, c, srid) in srids {
        img.objects
            .insert(format!("srid {t}.{c}"), srid.to_string());
    }
    let tables: Vec<(String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
            (db,),
        )
        .await
        .unwrap();
    for (name, kind) in tables {
        let q = format!("{}.{}", quote(db), quote(&name));
        match kind.as_str() {
            "VIEW" => {
                let r: Row = conn
                    .query_first(format!("SHOW CREATE VIEW {q}"))
                    .await
                    .unwrap()
                    .unwrap();
                let names = quoted_names(conn, db, &text(&r, 2)).await;
                img.objects.insert(
                    format!("view {name}"),
                    format!(
                        "{} | {} | {}",
                        normalised(&r, 1, &names),
                        text(&r, 2),
                        text(&r, 3)
                    ),
                );
            }
            "SEQUENCE" => {
                let r: Row = conn
                    .query_first(format!("SHOW CREATE SEQUENCE {q}"))
                    .await
                    .unwrap()
                    .unwrap();
                let state: Row = conn
                    .query_first(format!("SELECT next_not_cached_value, minimum_value, maximum_value, start_value, increment, cache_size, cycle_option, cycle_count FROM {q}"))
                    .await
                    .unwrap()
                    .unwrap();
                let state: Vec<String> = (0..state.len()).map(|i| text(&state, i)).collect();
                img.objects.insert(
                    format!("sequence {name}"),
                    format!(
                        "{} | {}",
                        normalised(&r, 1, &[quote(db).into_bytes()]),
                        state.join(",")
                    ),
                );
            }
            _ => {
                let r: Row = conn
                    .query_first(format!("SHOW CREATE TABLE {q}"))
                    .await
                    .unwrap()
                    .unwrap();
                img.objects.insert(
                    format!("table {name}"),
                    normalised(&r, 1, &[quote(db).into_bytes()]),
                );
                img.tables
                    .insert(name.clone(), table_rows(conn, db, &name).await);
            }
        }
    }
    let routines: Vec<(String, String)> = conn
        .exec(
            "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    for (name, kind) in routines {
        let r: Row = conn
            .query_first(format!("SHOW CREATE {kind} {}.{}", quote(db), quote(&name)))
            .await
            .unwrap()
            .unwrap();
        let names = quoted_names(conn, db, &text(&r, 3)).await;
        img.objects.insert(
            format!("{} {name}", kind.to_lowercase()),
            format!(
                "{} | {} | {} | {} | {}",
                text(&r, 1),
                normalised(&r, 2, &names),
                text(&r, 3),
                text(&r, 4),
                text(&r, 5)
            ),
        );
    }
    let triggers: Vec<(String, String)> = conn
        .exec(
            "SELECT TRIGGER_NAME, CONCAT_WS(' ', EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER) \
             FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    for (name, order) in triggers {
        img.objects.insert(format!("trigger order {name}"), order);
        let r: Row = conn
            .query_first(format!(
                "SHOW CREATE TRIGGER {}.{}",
                quote(db),
                quote(&name)
            ))
            .await
            .unwrap()
            .unwrap();
        let names = quoted_names(conn, db, &text(&r, 3)).await;
        img.objects.insert(
            format!("trigger {name}"),
            format!(
                "{} | {} | {} | {} | {}",
                text(&r, 1),
                normalised(&r, 2, &names),
                text(&r, 3),
                text(&r, 4),
                text(&r, 5)
            ),
        );
    }
    let events: Vec<String> = conn
        .exec(
            "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
            (db,),
        )
        .await
        .unwrap();
    for name in events {
        let r: Row = conn
            .query_first(format!("SHOW CREATE EVENT {}.{}", quote(db), quote(&name)))
            .await
            .unwrap()
            .unwrap();
        img.objects.insert(
            format!("event {name}"),
            format!(
                "{} | {} | {} | {} | {} | {}",
                text(&r, 1),
                text(&r, 2),
                normalised(&r, 3, &quoted_names(conn, db, &text(&r, 4)).await),
                text(&r, 4),
                text(&r, 5),
                text(&r, 6)
            ),
        );
    }
    img
}

async fn table_rows(conn: &mut Conn, db: &str, table: &str) -> TableImage {
    let cols: Vec<(String, String, Option<String>)> = conn
        .exec(
            "SELECT COLUMN_NAME, LOWER(DATA_TYPE), GENERATION_EXPRESSION FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .unwrap();
    let table_type: String = conn
        .exec_first(
            "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await
        .unwrap()
        .unwrap();
    let period: Vec<&(String, String, Option<String>)> = cols
        .iter()
        .filter(|(_, _, g)| matches!(g.as_deref(), Some("ROW START" | "ROW END")))
        .collect();
    // Timestamp-versioned tables are compared with every row version and its exact period;
    // transaction ids mean nothing on another server, so those compare current rows only.
    let by_transaction = period.iter().any(|(_, ty, _)| ty == "bigint");
    let history = table_type == "SYSTEM VERSIONED" && !by_transaction;
    let mut exprs: Vec<String> = cols
        .iter()
        .filter(|(_, _, g)| history || !matches!(g.as_deref(), Some("ROW START" | "ROW END")))
        .map(|(name, ty, _)| {
            let c = quote(name);
            let e = match ty.as_str() {
                "float" => format!("HEX(CAST({c} + 0e0 AS CHAR))"),
                "double" | "decimal" | "real" => format!("HEX(CAST({c} AS CHAR))"),
                // The label and the ordinal: '' as a member and the error value '' differ.
                "enum" | "set" => format!("CONCAT(HEX({c}), ':', {c} + 0)"),
                _ => format!("HEX({c})"),
            };
            format!("COALESCE({e}, 'NULL')")
        })
        .collect();
    if history && period.is_empty() {
        // WITH SYSTEM VERSIONING alone: hidden period columns.
        exprs.push("HEX(row_start)".into());
        exprs.push("HEX(row_end)".into());
    }
    let mut q = format!("{}.{}", quote(db), quote(table));
    if history {
        // History rows whose period is empty are left out by design (no server takes one
        // back; `docs/dump-fidelity.md`), and `fidelity.rs` counts them apart.
        let (start, end) = match period.as_slice() {
            [a, b] if a.2.as_deref() == Some("ROW START") => (quote(&a.0), quote(&b.0)),
            [a, b] => (quote(&b.0), quote(&a.0)),
            _ => ("row_start".to_owned(), "row_end".to_owned()),
        };
        q.push_str(&format!(" FOR SYSTEM_TIME ALL WHERE {end} > {start}"));
    }
    let count: u64 = conn
        .query_first(format!("SELECT COUNT(*) FROM {q}"))
        .await
        .unwrap()
        .unwrap();
    let mut rows: Vec<String> = if exprs.is_empty() {
        Vec::new()
    } else {
        conn.query(format!(
            "SELECT CONCAT_WS(',', {}) FROM {q}",
            exprs.join(", ")
        ))
        .await
        .unwrap()
    };
    rows.sort();
    TableImage { count, rows }
}

/// Every difference between `a` (source) and `b` (restored), in words; empty when equal.
pub fn diff(a: &DbImage, b: &DbImage) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in &a.objects {
        match b.objects.get(k) {
            None => out.push(format!("{k}: missing after restore")),
            Some(w) if w != v => out.push(format!(
                "{k}: definition differs\n  source:   {v}\n  restored: {w}"
            )),
            _ => {}
        }
    }
    for k in b.objects.keys() {
        if !a.objects.contains_key(k) {
            out.push(format!("{k}: present after restore only"));
        }
    }
    for (t, ta) in &a.tables {
        let Some(tb) = b.tables.get(t) else { continue };
        if ta.count != tb.count {
            out.push(format!(
                "table {t}: {} rows in source, {} restored",
                ta.count, tb.count
            ));
        }
        if ta.rows != tb.rows {
            let first = ta
                .rows
                .iter()
                .zip(&tb.rows)
                .find(|(x, y)| x != y)
                .map(|(x, y)| format!("\n  source:   {}\n  restored: {}", clip(x), clip(y)))
                .unwrap_or_default();
            out.push(format!("table {t}: row contents differ{first}"));
        }
    }
    out
}

fn clip(s: &str) -> String {
    if s.len() > 300 {
        format!("{}…", &s[..300])
    } else {
        s.to_owned()
    }
}
