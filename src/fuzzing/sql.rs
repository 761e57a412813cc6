//! The statement splitter and what reads its statements: the classifier, the tuple walker the
//! row checksums use, the sql_mode tracker and the LOAD DATA conversion.

use std::io;

use super::{Control, Trickle};
use crate::read::classify::{
    Kind, classify, for_each_tuple, function_without_determinism, mentions,
};
use crate::read::split::{Position, Splitter, Statement};
use crate::restore::load_data;

/// Splits `data` (after one control byte: the read size and the starting sql_mode) and checks:
/// - the same statements, positions and outcome whatever the read size (whole, or the given
///   one), so a buffer boundary never changes a cut;
/// - each statement is the input's own bytes at its offset (nothing lost, moved or invented),
///   starts and ends with a non-blank byte, lies after the previous one, and its line is the
///   count of line breaks before it;
/// - the classifier's spans and offsets lie inside the statement and the tuples it points at
///   are `(…)` runs of the statement, in order; a LOAD DATA conversion has one line per tuple.
pub fn statements(data: &[u8]) {
    let mut ctl = Control::new(data);
    let mode = ctl.u8();
    let sql = ctl.rest();
    let no_backslash_escapes = mode & 0x80 != 0;
    // At most about 64 reads: each read makes the splitter zero a 256 KiB read buffer, so a
    // byte-by-byte reader would spend the run in memset.
    let step = (usize::from(mode & 0x7f) + 1).max(sql.len() / 64);

    let whole = split(Splitter::new(sql), no_backslash_escapes);
    let trickled = split(Splitter::new(Trickle::new(sql, step)), no_backslash_escapes);
    assert_eq!(
        whole.0, trickled.0,
        "the statements depend on the read size ({step} bytes)"
    );
    assert_eq!(
        whole.1.as_ref().map_err(io::Error::kind),
        trickled.1.as_ref().map_err(io::Error::kind),
        "the outcome depends on the read size ({step} bytes)"
    );

    let mut previous_end = 0u64;
    for (k, s) in whole.0.iter().enumerate() {
        let Statement {
            sql: text,
            at:
                Position {
                    number,
                    line,
                    offset,
                },
            ..
        } = s;
        assert_eq!(*number, k as u64 + 1, "statement numbers run on");
        let start = *offset as usize;
        assert!(
            *offset >= previous_end,
            "statement {number} overlaps the one before"
        );
        assert_eq!(
            sql.get(start..start + text.len()),
            Some(text.as_slice()),
            "statement {number} is not the input's bytes at its offset"
        );
        assert!(!text.is_empty(), "statement {number} is empty");
        assert!(
            !text[0].is_ascii_whitespace() && !text[text.len() - 1].is_ascii_whitespace(),
            "statement {number} is not trimmed"
        );
        let breaks = memchr::memchr_iter(b'\n', &sql[..start]).count() as u64;
        assert_eq!(*line, breaks + 1, "statement {number}'s line");
        previous_end = *offset + text.len() as u64;
        statement(text);
    }
}

type Split = (Vec<Statement>, io::Result<()>);

fn split<R: io::Read>(splitter: Splitter<R>, no_backslash_escapes: bool) -> Split {
    let mut splitter = splitter.with_no_backslash_escapes(no_backslash_escapes);
    let mut out = Vec::new();
    loop {
        match splitter.next_statement() {
            Ok(Some(s)) => out.push(s),
            Ok(None) => {
                // Only a question about the tail: it must not fail or panic.
                let _ = splitter.ends_with_completion_marker();
                return (out, Ok(()));
            }
            Err(e) => return (out, Err(e)),
        }
    }
}

/// The readers of one statement.
pub(crate) fn statement(sql: &[u8]) {
    let _ = function_without_determinism(sql);
    let _ = mentions(sql, "t");
    match classify(sql) {
        Kind::Use(name) | Kind::Database { name, .. } => {
            assert!(
                name.span.start < name.span.end && name.span.end <= sql.len(),
                "a database name's span {:?} is outside the statement",
                name.span
            );
            let replaced = name.replace_in(sql, "x");
            assert!(replaced.starts_with(&sql[..name.span.start]));
            assert!(replaced.ends_with(&sql[name.span.end..]));
        }
        Kind::Data { values_at, .. } => {
            assert!(values_at <= sql.len(), "VALUES past the statement's end");
            let tuples = tuples(sql, values_at);
            if let Some(head) = load_data::insert_head(sql) {
                assert!(head.values_at <= sql.len());
            }
            for binary in [load_data::Binary::Raw, load_data::Binary::Hex] {
                if let Some(converted) = load_data::convert(sql, binary) {
                    assert_eq!(
                        converted.rows, tuples as u64,
                        "LOAD DATA rows against the statement's tuples"
                    );
                    let lines = memchr::memchr_iter(b'\n', &converted.data).count() as u64;
                    assert_eq!(lines, converted.rows, "one LOAD DATA line per row");
                }
            }
            let _ = load_data::enum_error_columns(sql);
        }
        _ => {}
    }
}

/// Walks the tuples from `at` and checks each is a `(…)` run of `sql` after the previous one;
/// returns how many there are.
pub(crate) fn tuples(sql: &[u8], at: usize) -> usize {
    let mut count = 0;
    let mut after = at;
    for_each_tuple(sql, at, |t| {
        let start = t.as_ptr() as usize - sql.as_ptr() as usize;
        assert!(start >= after, "a tuple overlaps the one before");
        assert!(start + t.len() <= sql.len());
        assert!(
            t.starts_with(b"(") && t.ends_with(b")"),
            "a tuple is not (…)"
        );
        after = start + t.len();
        count += 1;
    });
    count
}
