//! The consistent snapshot every dump connection reads from, and the binlog/GTID position of it.

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::connect::{Flavor, ServerInfo};
use crate::error::{Error, Result};
use crate::metadata::SnapshotInfo;

/// Starts a REPEATABLE READ transaction with a consistent snapshot on `conn`.
pub async fn start_transaction(conn: &mut Conn, role: &str) -> Result<()> {
    for stmt in [
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION /*!40108 WITH CONSISTENT SNAPSHOT */",
    ] {
        conn.query_drop(stmt)
            .await
            .map_err(|e| Error::server(format!("starting the snapshot ({role}): {stmt}"), e))?;
    }
    Ok(())
}

/// Reads the binary log position that matches `conn`'s snapshot.
///
/// MariaDB reports it per transaction (`Binlog_snapshot_file/position`), exact without any
/// lock. MySQL has no such status: its caller must hold commits blocked while reading.
pub async fn position(conn: &mut Conn, info: &ServerInfo) -> Result<SnapshotInfo> {
    let ctx = |what: &str| format!("reading the snapshot position ({what})");
    match info.flavor {
        Flavor::MariaDb => {
            let rows: Vec<(String, String)> = conn
                .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
                .await
                .map_err(|e| Error::server(ctx("Binlog_snapshot_*"), e))?;
            let mut snap = SnapshotInfo::default();
            for (name, value) in rows {
                match name.to_ascii_lowercase().as_str() {
                    "binlog_snapshot_file" if !value.is_empty() => snap.binlog_file = Some(value),
                    "binlog_snapshot_position" => snap.binlog_position = value.parse().ok(),
                    _ => {}
                }
            }
            if let (Some(file), Some(pos)) = (&snap.binlog_file, snap.binlog_position) {
                let gtid: Option<Option<String>> = conn
                    .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (file, pos))
                    .await
                    .map_err(|e| Error::server(ctx("BINLOG_GTID_POS"), e))?;
                snap.gtid_binlog_pos = gtid.flatten();
            }
            Ok(snap)
        }
        Flavor::MySql => {
            let gtid: Option<String> = conn
                .query_first("SELECT @@GLOBAL.gtid_executed")
                .await
                .map_err(|e| Error::server(ctx("@@GLOBAL.gtid_executed"), e))?;
            let status: Option<mysql_async::Row> = conn
                .query_first(info.binary_log_status_sql())
                .await
                .map_err(|e| Error::server(ctx(info.binary_log_status_sql()), e))?;
            let mut snap = SnapshotInfo {
                gtid_executed: gtid.map(|g| g.replace('\n', "")),
                ..Default::default()
            };
            if let Some(row) = status {
                snap.binlog_file = row.get::<Option<String>, _>(0).flatten();
                snap.binlog_position = row.get::<Option<u64>, _>(1).flatten();
            }
            Ok(snap)
        }
    }
}
