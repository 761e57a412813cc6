//! The databases a restore writes into: what they hold now, and making one ready (dropped
//! with `--drop-target` after asking, refused when it holds objects, created when missing).

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::config::run::ConfirmDrop;
use crate::error::{Error, Result};
use crate::progress::{Event, Progress};
use crate::quote::ident;

/// How many tables, views and routines a database holds; None when it does not exist.
pub async fn database_objects(conn: &mut Conn, db: &str) -> Result<Option<u64>> {
    let exists: Option<String> = conn
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (db,),
        )
        .await
        .map_err(|e| Error::server(format!("looking for database {}", ident(db)), e))?;
    if exists.is_none() {
        return Ok(None);
    }
    let n: Option<u64> = conn
        .exec_first(
            "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) \
             + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)",
            (db, db),
        )
        .await
        .map_err(|e| Error::server(format!("counting the objects of {}", ident(db)), e))?;
    Ok(Some(n.unwrap_or(0)))
}

/// Makes `db` ready to restore into: dropped first with `drop` (after `confirm` says yes, and
/// reported); refused when it already holds objects otherwise (naming the stopped restore of
/// the same file that `--resume` would go on with, when there is one: `resumable`); created
/// when missing and `create`. True when this restore creates it (it did not exist, or was
/// just dropped).
pub(super) async fn prepare_target(
    conn: &mut Conn,
    db: &str,
    drop: bool,
    create: bool,
    confirm: Option<&ConfirmDrop>,
    progress: &dyn Progress,
    resumable: Option<u64>,
) -> Result<bool> {
    let q = ident(db);
    // The server's own databases are never a restore's target: dropping `mysql` for
    // --drop-target loses every account, and a user database loaded into one mixes with the
    // server's tables (a new user's trial did both).
    if crate::catalog::is_system_database(db) {
        return Err(Error::Usage(format!(
            "{q} is a system database: db-restore never drops, creates or writes into one. \
             Restore into another name (--target-db), or leave it out of a combined file \
             (--exclude-db {db}); accounts go through the grants file"
        )));
    }
    if crate::catalog::is_journal_database(db) {
        return Err(Error::Usage(format!(
            "{q} is where db-restore keeps its journal on the target, not a database to \
             restore into: restore into another name (--target-db), or leave it out of a \
             combined file (--exclude-db {db})"
        )));
    }
    let objects = database_objects(conn, db).await?;
    match objects {
        Some(n) if drop => {
            if let Some(confirm) = confirm
                && !confirm.ask(db, n).await?
            {
                return Err(Error::Usage(format!(
                    "database {q} was not dropped (the answer was no) and nothing was restored \
                     into it: restore into another name (--target-db), or answer yes"
                )));
            }
            conn.query_drop(format!("DROP DATABASE IF EXISTS {q}"))
                .await
                .map_err(|e| Error::server(format!("dropping database {q} (--drop-target)"), e))?;
            progress.event(&Event::DatabaseDropped {
                database: db,
                objects: n,
            });
        }
        Some(n) if n > 0 => {
            let resume = match resumable {
                Some(id) => format!(
                    "; or, since it holds what a restore of this file that stopped had \
                     restored (restore {id} of the journal {}), run the same command with \
                     --resume to go on with it",
                    ident(super::journal::DATABASE)
                ),
                None => String::new(),
            };
            return Err(Error::Usage(format!(
                "database {q} already holds {n} table(s), view(s) or routine(s): restore into \
                 a new name, or pass --drop-target to replace it{resume}"
            )));
        }
        _ => {}
    }
    if create {
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {q}"))
            .await
            .map_err(|e| Error::server(format!("creating database {q}"), e))?;
    }
    Ok(objects.is_none() || drop)
}

/// `--resume`: a database the stopped restore had made ready is taken as it is, never dropped
/// (`drop`: `--drop-target` was given, which applies only to databases the stopped restore
/// had not reached, and the run says so); created again when missing.
pub(super) async fn reopen_target(
    conn: &mut Conn,
    db: &str,
    drop: bool,
    progress: &dyn Progress,
) -> Result<()> {
    let q = ident(db);
    if drop {
        progress.event(&Event::Note(&format!(
            "--resume: database {q} is kept as the stopped restore left it (--drop-target \
             drops only databases it had not reached)"
        )));
    }
    conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {q}"))
        .await
        .map_err(|e| Error::server(format!("creating database {q}"), e))?;
    Ok(())
}
