//! What the target server must allow, checked before anything on it changes: the sql_mode the
//! script is read under, stored functions under the binary log, the largest statement against
//! `max_allowed_packet`; and a file whose target `--drop-target` would drop, proven first.

use mysql_async::Conn;
use mysql_async::prelude::*;

use super::plan::{FilePlan, Plan};
use super::script::{Item, Script, open_sql, start_script};
use crate::config::run::RestoreConfig;
use crate::error::{Error, Result};
use crate::progress::{Event, Progress};
use crate::quote::ident;
use crate::read::{classify, split};

/// Whether the restore's sessions start under NO_BACKSLASH_ESCAPES (the server's default
/// sql_mode, which the restore keeps): the splitter must read the script as they will.
pub(super) async fn server_no_backslash_escapes(main: &mut Conn) -> Result<bool> {
    let mode: Option<String> = main
        .query_first("SELECT @@SESSION.sql_mode")
        .await
        .map_err(|e| Error::server("reading the session's sql_mode", e))?;
    Ok(mode.is_some_and(|m| {
        m.split(',')
            .any(|f| f.trim().eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"))
    }))
}

/// Functions named in the refusal, at most.
const NAMED_FUNCTIONS: usize = 5;

/// Refuses, before anything on the target changes, files holding a stored function the server
/// will refuse: with a binary log on and `log_bin_trust_function_creators=0`, a function that
/// declares none of DETERMINISTIC, NO SQL, READS SQL DATA fails with ERROR 1418 for every
/// account (SUPER and `--skip-binlog` included), and it comes after the data in a dump.
///
/// Our dumps' metadata lists such functions; only a file without that list (mysqldump output,
/// older dumps) is read once before the restore to find them, and only on such a server: the
/// splitter alone, no server round trips.
pub(super) async fn check_function_creators(
    main: &mut Conn,
    cfg: &RestoreConfig,
    plan: &Plan,
    nbe: bool,
    max_statement: usize,
) -> Result<()> {
    let settings: Option<(Option<u8>, Option<u8>)> = main
        .query_first("SELECT @@log_bin, @@log_bin_trust_function_creators")
        .await
        .map_err(|e| Error::server("reading log_bin and log_bin_trust_function_creators", e))?;
    if settings != Some((Some(1), Some(0))) {
        return Ok(());
    }
    // A copy's stream can't be read ahead: a function the target refuses fails when it comes.
    for f in plan.files.iter().filter(|f| f.stream.is_none()) {
        let recorded = f
            .recorded
            .as_ref()
            .and_then(|r| r.functions_needing_trust());
        let (found, first) = match recorded {
            Some(list) => (
                list.into_iter().map(|r| r.routine).collect::<Vec<_>>(),
                "its metadata lists a function".to_owned(),
            ),
            None => {
                let found = scan_functions_needing_trust(f, cfg, nbe, max_statement).await?;
                let first = found
                    .first()
                    .map(|(_, at)| format!("{at} creates a function"))
                    .unwrap_or_default();
                (found.into_iter().map(|(n, _)| n).collect(), first)
            }
        };
        if found.is_empty() {
            continue;
        }
        let mut names: Vec<String> = found
            .iter()
            .take(NAMED_FUNCTIONS)
            .map(|n| ident(n))
            .collect();
        if found.len() > NAMED_FUNCTIONS {
            names.push(format!("and {} more", found.len() - NAMED_FUNCTIONS));
        }
        return Err(Error::Unsupported(format!(
            "{}: {first} without DETERMINISTIC, NO SQL or READS SQL DATA ({} such function(s): \
             {}); the target server has the binary log on and \
             log_bin_trust_function_creators=0, so it refuses them (ERROR 1418) whatever the \
             account's privileges, and with --skip-binlog too. Nothing was changed. Run SET \
             GLOBAL log_bin_trust_function_creators=1 on the target, or add DETERMINISTIC, NO \
             SQL or READS SQL DATA to the functions, then restore again (with \
             log_bin_trust_function_creators=0 an account without SUPER cannot create any \
             function or trigger either: ERROR 1419)",
            f.path.display(),
            found.len(),
            names.join(", ")
        )));
    }
    Ok(())
}

/// With `--drop-target`, a target database that holds objects is dropped before its file is
/// read, so a file damaged half way (a failed GCM tag, a codec checksum, a cut) would leave it
/// half restored and the good copy gone. Such a file is first read to its end through every
/// proof the restore applies (each chunk's tag, the codec's checksum, size and SHA-256 against
/// the metadata, the completion footer) while nothing is written: one that fails stops the
/// restore with the target as it was. Only files with a proof to apply (`--no-verify` turns
/// the proofs off), only when something would be dropped, and not for a copy's stream, which
/// cannot be read twice.
pub(super) async fn prove_before_dropping(
    main: &mut Conn,
    cfg: &RestoreConfig,
    plan: &Plan,
    nbe: bool,
    max_statement: usize,
    progress: &dyn Progress,
) -> Result<()> {
    if !cfg.drop_target || !cfg.verify || cfg.dry_run || cfg.resume {
        return Ok(());
    }
    for f in plan.files.iter().filter(|f| f.stream.is_none()) {
        let mut dropped = Vec::new();
        for db in super::file_targets(cfg, f) {
            if super::target::database_objects(main, &db)
                .await?
                .is_some_and(|n| n > 0)
            {
                dropped.push(ident(&db));
            }
        }
        if dropped.is_empty() {
            continue;
        }
        progress.event(&Event::Note(&format!(
            "reading {} to its end before --drop-target drops {}: a damaged file stops here, \
             with the target as it was",
            f.path.display(),
            dropped.join(", ")
        )));
        let opened = open_sql(&f.path, cfg.passphrase.as_ref(), super::proof_for(cfg, f)).await?;
        let Script { mut statements, .. } = start_script(opened, None, nbe, max_statement)?;
        // Our dumps without the footer failed their proof already; another tool's dump
        // (mysqldump's) ends with the same line unless made with --skip-comments, and one cut
        // short at a statement's end shows nothing else.
        let completed = loop {
            if let Item::End { completed, .. } = statements.next().await? {
                break completed;
            }
        };
        if !completed {
            return Err(Error::Usage(format!(
                "{} does not end with a \"-- Dump completed\" line: it may have been cut short, \
                 and --drop-target would replace {} with it. Restore it into a new name to look \
                 at it, or pass --no-verify to replace the database with it as it is",
                f.path.display(),
                dropped.join(", ")
            )));
        }
    }
    Ok(())
}

/// Reads a file to its end and returns the functions ERROR 1418 would refuse, with where each
/// stands.
async fn scan_functions_needing_trust(
    f: &FilePlan,
    cfg: &RestoreConfig,
    nbe: bool,
    max_statement: usize,
) -> Result<Vec<(String, split::Position)>> {
    let opened = open_sql(&f.path, cfg.passphrase.as_ref(), super::proof_for(cfg, f)).await?;
    let Script { mut statements, .. } = start_script(opened, None, nbe, max_statement)?;
    let mut found = Vec::new();
    loop {
        match statements.next().await? {
            Item::Statement(st, classify::Kind::PostData, ..) => {
                if let Some(name) = classify::function_without_determinism(&st.sql) {
                    found.push((name, st.at));
                }
            }
            Item::Statement(..) => {}
            Item::End { .. } => return Ok(found),
        }
    }
}

/// Whether a statement recorded as `largest` bytes fits a server's `max_allowed_packet`. The
/// recorded size counts its `;\n`; it is sent without them, after one command byte, and the
/// server takes a packet shorter than the limit (measured on MariaDB 10.11: 16 MiB - 1 bytes
/// pass a 16 MiB limit, 16 MiB fail). So `largest` may equal the limit: a dump made with
/// `--statement-size 16M` restores on a server left at the default 16 MiB, as with the stock
/// client. (The margin of 1 KiB this had made our own restore refuse such a dump.)
fn fits_packet(largest: u64, limit: u64) -> bool {
    largest <= limit
}

/// Refuses early when a file holds a statement the server would refuse as too large. Returns
/// the longest statement the splitter reads: `--max-statement-size`, else the server's
/// `max_allowed_packet` (a longer statement cannot run there, so it need not be held).
pub(super) async fn check_packet_size(
    main: &mut Conn,
    plan: &Plan,
    cfg: &RestoreConfig,
) -> Result<usize> {
    let limit: Option<u64> = main
        .query_first("SELECT @@max_allowed_packet")
        .await
        .map_err(|e| Error::server("reading max_allowed_packet", e))?;
    let max_statement = cfg.max_statement_size.unwrap_or_else(|| {
        limit.map_or(split::DEFAULT_MAX_STATEMENT, |l| {
            usize::try_from(l).unwrap_or(usize::MAX)
        })
    });
    let Some(limit) = limit else {
        return Ok(max_statement);
    };
    for f in &plan.files {
        if let Some(largest) = f.recorded.as_ref().and_then(|r| r.max_statement_bytes())
            && !fits_packet(largest, limit)
        {
            return Err(Error::Unsupported(format!(
                "the largest statement of {} is {largest} bytes, but the server's \
                 max_allowed_packet is {limit}: raise it (SET GLOBAL max_allowed_packet = {}) \
                 before restoring",
                f.path.display(),
                (largest + 1024).next_power_of_two()
            )));
        }
    }
    Ok(max_statement)
}
