//! One statement on one connection, and what its outcome means: rows, warnings (a failure
//! with `--strict`), a row of our own dump lost or changed, a deadlock that may be retried; the
//! LOAD DATA form of a row statement with its fallback to the INSERT; and, on the failure path
//! only, the rows the server will not take.

use std::sync::atomic::{AtomicBool, Ordering};

use mysql_async::Conn;
use mysql_async::prelude::*;

use super::keys::backticked_whole;
use super::load_data::{self, LoadData};
use crate::error::DbError;

/// The server's answer to a statement that was only comments (`/*M!999999\- … */`).
const ER_EMPTY_QUERY: u16 = 1065;

/// Outcome of one statement.
#[derive(Debug, Default)]
pub(super) struct Executed {
    pub(super) rows: u64,
    pub(super) warnings: u64,
    pub(super) samples: Vec<String>,
    /// Sent as LOAD DATA.
    pub(super) loaded: bool,
}

#[derive(Debug)]
pub(super) struct Failure {
    pub(super) problem: String,
    /// The connection is gone or the driver failed: nothing more can run on it.
    pub(super) fatal: bool,
    /// The server's error code, when the server refused the statement.
    pub(super) code: Option<u16>,
}

impl Failure {
    /// The server chose the statement as a deadlock's victim and rolled it back whole (data
    /// connections run in autocommit, a statement is its own transaction): it can run again.
    pub(super) fn deadlock(&self) -> bool {
        self.code == Some(ER_LOCK_DEADLOCK)
    }
}

/// The server's error for a deadlock victim.
const ER_LOCK_DEADLOCK: u16 = 1213;

/// A driver or server error as a statement's failure.
pub(super) fn failure(e: mysql_async::Error) -> Failure {
    let e = DbError(e);
    Failure {
        code: e.server_code(),
        fatal: e.server_code().is_none() || e.is_connection_lost(),
        // An I/O error already reads "connection lost: …" (`DbError`'s Display); a server's
        // error for a killed connection, or the driver's closed one, does not.
        problem: if e.is_connection_lost() && !matches!(e.0, mysql_async::Error::Io(_)) {
            format!("{e} (the connection was lost)")
        } else {
            e.to_string()
        },
    }
}

/// Runs a statement of the restore's own (the journal's, a transaction's bounds); `what` says
/// what it is for in a failure.
pub(super) async fn run_own(conn: &mut Conn, sql: &str, what: &str) -> Result<(), Failure> {
    conn.query_drop(sql).await.map_err(|e| {
        let mut f = failure(e);
        f.problem = format!("{what}: {}", f.problem);
        f
    })
}

/// What a statement's outcome must be, besides not failing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Check<'a> {
    /// Warnings are counted (with `--strict`, any one fails the statement).
    Counted,
    /// A row statement of our own dump: every row it holds is in the table, unchanged, or the
    /// statement fails. The dump read those rows from a table of the same definition, so a
    /// warning (truncation, conversion, a CHECK constraint, a duplicate key) means a row is
    /// lost or different. `sent`: the rows it carried, when known (LOAD DATA, which skips a
    /// row it cannot load and says so only in a warning). `sql`: the statement, looked at
    /// only when there are warnings: one that writes an ENUM's error value (`+0`) is stored by
    /// the server only with a truncation warning (1265), on the source as here, and that
    /// warning is expected, not a loss.
    Exact { sent: Option<u64>, sql: &'a [u8] },
}

/// Runs one statement; counts its warnings (notes aside) and, with `strict`, fails on any.
pub(super) async fn execute(
    conn: &mut Conn,
    sql: &[u8],
    strict: bool,
) -> Result<Executed, Failure> {
    execute_checked(conn, sql, strict, Check::Counted).await
}

pub(super) async fn execute_checked(
    conn: &mut Conn,
    sql: &[u8],
    strict: bool,
    check: Check<'_>,
) -> Result<Executed, Failure> {
    let ran = conn.query_drop(sql).await;
    settle(conn, ran, strict, check).await
}

/// The server's errors for a LOAD DATA LOCAL it does not allow (`local_infile` off): nothing
/// was loaded, and the INSERT can run instead. 1148: MySQL 5.x and MariaDB; 4166: MariaDB's
/// own; 3948: MySQL 8, where `local_infile` is off by default.
const LOCAL_INFILE_REFUSED: [u16; 3] = [1148, 3948, 4166];

/// Runs a row statement as its LOAD DATA form; `sql` (the INSERT) instead when the server
/// refuses LOCAL INFILE, which also clears `allowed` for the statements after it.
pub(super) async fn execute_load(
    conn: &mut Conn,
    load: LoadData,
    sql: &[u8],
    strict: bool,
    check: Check<'_>,
    allowed: &AtomicBool,
) -> Result<Executed, Failure> {
    let sent = load.rows;
    let rows = bytes::Bytes::from(load.data);
    conn.set_infile_handler(async move {
        let data: mysql_async::InfileData =
            Box::pin(futures_util::stream::iter([Ok::<_, std::io::Error>(rows)]));
        Ok(data)
    });
    let ran = conn.query_drop(load.statement.as_str()).await;
    // A handler the server did not ask for must never answer a later request.
    conn.set_infile_handler(async {
        Err(std::io::Error::other("no LOAD DATA of this restore is running").into())
    });
    if let Err(mysql_async::Error::Server(e)) = &ran
        && LOCAL_INFILE_REFUSED.contains(&e.code)
    {
        allowed.store(false, Ordering::Relaxed);
        return execute_checked(conn, sql, strict, check).await;
    }
    let check = match check {
        Check::Exact { sql, .. } => Check::Exact {
            sent: Some(sent),
            sql,
        },
        Check::Counted => Check::Counted,
    };
    let mut done = settle(conn, ran, strict, check).await?;
    done.loaded = true;
    Ok(done)
}

/// The warning the server gives for an ENUM error value stored into `column` (its message
/// names the column, quoted).
fn is_enum_error_warning(warning: &str, column: &str) -> bool {
    warning
        .strip_prefix("Warning 1265: Data truncated for column '")
        .and_then(|rest| rest.strip_prefix(column))
        .is_some_and(|rest| rest.starts_with("' at row "))
}

/// The column a warning names, if it names one: `… for column 'v' at row 3`, or qualified
/// in backquotes as MariaDB 10.5+ writes ERROR 1292's warning (`… for column `db`.`t`.`v` at
/// row 3`: the last part).
fn warned_column(warning: &str) -> Option<String> {
    let (_, rest) = warning.split_once(" column ")?;
    let (named, after) = rest.rsplit_once(" at row ")?;
    if !after.bytes().all(|b| b.is_ascii_digit()) || after.is_empty() {
        return None;
    }
    if let Some(name) = named.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')) {
        return Some(name.to_owned());
    }
    // `a`.`b`.`c` (a name may hold a doubled backquote): the last quoted part.
    let last = named.strip_suffix('`')?;
    let mut name = String::new();
    let mut chars = last.chars().rev().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            if chars.peek() == Some(&'`') {
                chars.next();
            } else {
                return Some(name.chars().rev().collect());
            }
        }
        name.push(c);
    }
    None
}

/// Warnings the server gives while evaluating an expression, without naming a column: 1292
/// (`Incorrect datetime value: ''`, `Truncated incorrect DOUBLE value: 'x'`), 1365 (division
/// by 0), 1411 (a function's incorrect value), 1441 (a datetime function's overflow).
const EXPRESSION_WARNINGS: [u16; 4] = [1292, 1365, 1411, 1441];

/// Whether `warning` (as `settle` writes it: `Warning 1292: …`) is an expression's warning
/// that names no column.
fn is_expression_warning(warning: &str) -> bool {
    let Some(rest) = warning.strip_prefix("Warning ") else {
        return false;
    };
    let Some((code, _)) = rest.split_once(": ") else {
        return false;
    };
    code.parse::<u16>()
        .is_ok_and(|c| EXPRESSION_WARNINGS.contains(&c))
        && warned_column(warning).is_none()
}

/// Whether the table a row statement of our shape writes has an expression the server
/// evaluates on insert: a generated column or a CHECK constraint. False when it cannot be
/// told (then the warning stays a failure).
async fn computes_expressions(conn: &mut Conn, sql: &[u8]) -> bool {
    // (database, table) as the statement names them, unquoted.
    let named = || -> Option<(Option<String>, String)> {
        let head = load_data::insert_head(sql)?;
        let (schema, table) = match head.schema {
            Some(schema) => (
                Some(backticked_whole(schema)?),
                &head.target[schema.len() + 1..],
            ),
            None => (None, head.target),
        };
        Some((schema, backticked_whole(table)?))
    };
    let Some((schema, table)) = named() else {
        return false;
    };
    let found: mysql_async::Result<Option<u8>> = conn
        .exec_first(
            "SELECT EXISTS (SELECT 1 FROM information_schema.COLUMNS \
               WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                 AND COALESCE(GENERATION_EXPRESSION, '') <> '') \
             OR EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS \
               WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
                 AND CONSTRAINT_TYPE = 'CHECK')",
            (schema.clone(), table.clone(), schema, table),
        )
        .await;
    matches!(found, Ok(Some(1)))
}

/// Warnings quoted in a failure's message; the count covers all of them.
const QUOTED_WARNINGS: usize = 5;

/// Counts a statement's outcome: rows, warnings (a failure with `strict`, and any loss or
/// change of a row under [`Check::Exact`]).
async fn settle(
    conn: &mut Conn,
    ran: mysql_async::Result<()>,
    strict: bool,
    check: Check<'_>,
) -> Result<Executed, Failure> {
    if let Err(e) = ran {
        if matches!(&e, mysql_async::Error::Server(s) if s.code == ER_EMPTY_QUERY) {
            return Ok(Executed::default());
        }
        return Err(failure(e));
    }
    let rows = conn.affected_rows();
    let lost = matches!(check, Check::Exact { sent: Some(n), .. } if n != rows);
    // The fast path: one look at the OK packet's counters.
    if conn.get_warnings() == 0 && !lost {
        return Ok(Executed {
            rows,
            ..Default::default()
        });
    }
    let shown: Vec<(Vec<u8>, u32, Vec<u8>)> = if conn.get_warnings() == 0 {
        Vec::new()
    } else {
        conn.query("SHOW WARNINGS").await.map_err(|e| Failure {
            problem: format!("reading the warnings: {}", DbError(e)),
            fatal: true,
            code: None,
        })?
    };
    let mut samples: Vec<String> = shown
        .iter()
        .filter(|(level, ..)| level.as_slice() != b"Note")
        .map(|(level, code, msg)| {
            format!(
                "{} {code}: {}",
                String::from_utf8_lossy(level),
                String::from_utf8_lossy(msg)
            )
        })
        .collect();
    // An ENUM error value of our dump comes back exactly, with the warning the source took it
    // with: not a warning about this restore. Only when every warning was shown (SHOW WARNINGS
    // stops at max_error_count), so that none of another kind can hide behind them.
    if let Check::Exact { sql, .. } = check
        && !samples.is_empty()
        && shown.len() >= usize::from(conn.get_warnings())
    {
        let written = load_data::written_columns(sql).unwrap_or_default();
        samples.retain(|w| {
            !written
                .iter()
                .any(|(c, enum_error)| *enum_error && is_enum_error_warning(w, c))
        });
        // A warning about a column the statement does not write is about a generated column
        // (our dumps write every other one): the server computes it from the stored values as
        // it did on the source, warning the same (a BIT(10) column generated from a BIT(15)
        // one; MariaDB's gcol and vcol tests), and no value of the file changed. Only for a
        // statement in our shape, whose columns are known.
        if !written.is_empty() {
            samples
                .retain(|w| warned_column(w).is_none_or(|c| written.iter().any(|(n, _)| *n == c)));
        }
        // A warning that names no column comes from evaluating an expression, not from storing
        // a value (a stored value's warning names its column): here, a generated column's,
        // which the server evaluates on every insert, on the source as here (`dayname('')`, a
        // zero date plus an interval), or a CHECK constraint's (MySQL: MariaDB's are off while
        // a dump loads). Accepted only when the table has such an expression, asked of the
        // server on this slow path.
        if samples.iter().any(|w| is_expression_warning(w)) && computes_expressions(conn, sql).await
        {
            samples.retain(|w| !is_expression_warning(w));
        }
    }
    if let Check::Exact { sent, .. } = check
        && (lost || !samples.is_empty())
    {
        let what = match sent {
            Some(n) if n != rows => format!(
                "{rows} of its {n} rows loaded (LOAD DATA LOCAL skips a row it cannot load \
                 with only a warning)"
            ),
            Some(n) => format!("all {n} rows loaded, but not as the file holds them"),
            None => "its rows did not go in as the file holds them".to_owned(),
        };
        let mut quoted: Vec<&str> = samples
            .iter()
            .take(QUOTED_WARNINGS)
            .map(String::as_str)
            .collect();
        let more = format!("and {} more", samples.len().saturating_sub(QUOTED_WARNINGS));
        if samples.len() > QUOTED_WARNINGS {
            quoted.push(&more);
        }
        return Err(Failure {
            problem: if quoted.is_empty() {
                format!("{what}; the server gave no warning")
            } else {
                format!("{what}; the server's warnings: {}", quoted.join("; "))
            },
            fatal: false,
            code: None,
        });
    }
    if strict && !samples.is_empty() {
        return Err(Failure {
            problem: format!(
                "{} warning(s), refused with --strict: {}",
                samples.len(),
                samples.join("; ")
            ),
            fatal: false,
            code: None,
        });
    }
    Ok(Executed {
        rows,
        warnings: samples.len() as u64,
        samples,
        ..Default::default()
    })
}

/// Rows of a failed statement whose problem is named, at most.
const PROBED_ROWS: usize = 3;

/// Name of the temporary table [`probe_rows`] tries rows in.
const PROBE_TABLE: &str = "`sfdbtools_probe`";

/// After a row statement of our dump failed or lost rows: which of its rows the server will
/// not take as they are, found by inserting them one at a time into an empty temporary copy
/// of the table (same columns and CHECK constraints; the target does not change), so the
/// message can name the row and the server's own error for it. Only ever on the failure
/// path. None when the statement is not in our shape or the copy cannot be made (a
/// partitioned table, no CREATE TEMPORARY TABLES privilege): the failure is reported without
/// the row then.
pub(super) async fn probe_rows(conn: &mut Conn, sql: &[u8]) -> Option<String> {
    let head = load_data::insert_head(sql)?;
    let probe = match head.schema {
        Some(schema) => format!("{schema}.{PROBE_TABLE}"),
        None => PROBE_TABLE.to_owned(),
    };
    conn.query_drop(format!(
        "CREATE TEMPORARY TABLE {probe} LIKE {}",
        head.target
    ))
    .await
    .ok()?;
    let mut tuples: Vec<Vec<u8>> = Vec::new();
    crate::read::classify::for_each_tuple(sql, head.values_at, |t| tuples.push(t.to_vec()));
    let mut found = Vec::new();
    for (i, tuple) in tuples.iter().enumerate() {
        let mut insert = format!("INSERT INTO {probe} {} VALUES ", head.columns).into_bytes();
        insert.extend_from_slice(tuple);
        let problem = match conn.query_drop(insert).await {
            Err(mysql_async::Error::Server(e)) => Some(format!("ERROR {}: {}", e.code, e.message)),
            Err(_) => break,
            Ok(()) if conn.get_warnings() > 0 => {
                let shown: Vec<(String, u32, String)> =
                    conn.query("SHOW WARNINGS").await.unwrap_or_default();
                let texts: Vec<String> = shown
                    .into_iter()
                    .filter(|(level, ..)| level != "Note")
                    .map(|(level, code, msg)| format!("{level} {code}: {msg}"))
                    .collect();
                (!texts.is_empty()).then(|| texts.join("; "))
            }
            Ok(()) => None,
        };
        if let Some(p) = problem {
            found.push(format!(
                "row {} of the statement {}: {p}",
                i + 1,
                clip(tuple)
            ));
            if found.len() >= PROBED_ROWS {
                break;
            }
        }
    }
    let _ = conn
        .query_drop(format!("DROP TEMPORARY TABLE IF EXISTS {probe}"))
        .await;
    if found.is_empty() {
        // Each row loads on its own: the trouble is between rows (a key another statement's
        // row holds too).
        return None;
    }
    Some(found.join("; "))
}

/// A row's text for a message: its start, when it is long.
fn clip(tuple: &[u8]) -> String {
    const SHOWN: usize = 120;
    let text = String::from_utf8_lossy(&tuple[..tuple.len().min(SHOWN)]);
    if tuple.len() > SHOWN {
        format!("{text}…")
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{is_expression_warning, warned_column};

    #[test]
    fn only_an_expression_warning_that_names_no_column_is_one() {
        assert!(is_expression_warning(
            "Warning 1292: Incorrect datetime value: ''"
        ));
        assert!(is_expression_warning("Warning 1365: Division by 0"));
        // A stored value's warning names its column: a change of the file's value.
        assert!(!is_expression_warning(
            "Warning 1292: Incorrect datetime value: '0' for column `r`.`t`.`b` at row 1"
        ));
        // LOAD DATA's short row names no column and is a loss.
        assert!(!is_expression_warning(
            "Warning 1261: Row 3 doesn't contain data for all columns"
        ));
        assert!(!is_expression_warning("Warning 1265: Data truncated"));
        assert!(!is_expression_warning(
            "Error 1292: Incorrect datetime value: ''"
        ));
    }

    #[test]
    fn the_column_a_warning_names_is_read_in_both_forms() {
        assert_eq!(
            warned_column("Data truncated for column 'vb' at row 2").as_deref(),
            Some("vb")
        );
        assert_eq!(
            warned_column("Incorrect datetime value: '0' for column `r`.`t1`.`b` at row 1")
                .as_deref(),
            Some("b")
        );
        assert_eq!(
            warned_column("Incorrect datetime value: '0' for column `r`.`t1`.`a``b` at row 1")
                .as_deref(),
            Some("a`b")
        );
        assert_eq!(warned_column("Incorrect datetime value: ''"), None);
        assert_eq!(
            warned_column("Row 3 doesn't contain data for all columns"),
            None
        );
        assert_eq!(
            warned_column("Out of range value for column 'x' at row x"),
            None
        );
    }
}
