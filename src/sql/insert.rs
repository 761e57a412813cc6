//! Extended INSERT statements bounded by a statement size, built row by row into a reused buffer.

use mysql_async::Value;

use super::value::{CellKind, CellNote, push_cell, push_value};

/// Default upper bound of one INSERT statement: large enough that per-statement overhead on
/// restore is negligible, small enough for any server's default `max_allowed_packet` (16 MiB).
/// The bounds an operator may choose are checked where the option is read
/// (`config::run::parse_statement_size`).
pub const DEFAULT_STATEMENT_SIZE: usize = 1 << 20;

/// Builds `INSERT INTO t (cols) VALUES (…),(…);` statements into an output buffer.
///
/// Rows are appended straight into the output; when a row would push the open statement past
/// the size limit, the statement is closed before that row and a new one started with it. A row
/// larger than the limit stands alone in its statement.
pub struct InsertBuilder {
    /// `INSERT INTO `t` (`a`,`b`) VALUES\n`
    prefix: Vec<u8>,
    kinds: Vec<CellKind>,
    limit: usize,
    /// Offset in the output where the open statement starts, if one is open.
    open_at: Option<usize>,
    rows_in_statement: u64,
    /// Reused when a row must move into the next statement.
    spill: Vec<u8>,
    statements: u64,
    largest_statement: usize,
    not_a_number: u64,
}

impl InsertBuilder {
    /// `target` is the already-quoted table name; `columns` the quoted, comma-joined column list.
    pub fn new(target: &str, columns: &str, kinds: Vec<CellKind>, limit: usize) -> Self {
        let prefix = format!("INSERT INTO {target} ({columns}) VALUES ").into_bytes();
        InsertBuilder {
            prefix,
            kinds,
            limit: limit.max(1),
            open_at: None,
            rows_in_statement: 0,
            spill: Vec::new(),
            statements: 0,
            largest_statement: 0,
            not_a_number: 0,
        }
    }

    pub fn columns(&self) -> usize {
        self.kinds.len()
    }

    /// Appends one row of text cells; `cells` yields one entry per column, `None` for NULL.
    /// Returns the length of the row's `(…)` tuple, which ends `out`.
    #[inline]
    pub fn push_row<'a>(
        &mut self,
        out: &mut Vec<u8>,
        cells: impl Iterator<Item = Option<&'a [u8]>>,
    ) -> usize {
        let mut cells = cells;
        self.push_cells(out, |out, kind| {
            push_cell(out, kind, cells.next().flatten())
        })
    }

    /// Appends one row of binary-protocol values, `value(i)` for column `i`.
    #[inline]
    pub fn push_values<'a>(
        &mut self,
        out: &mut Vec<u8>,
        value: impl Fn(usize) -> &'a Value,
    ) -> usize {
        let mut i = 0;
        self.push_cells(out, |out, kind| {
            let note = push_value(out, kind, value(i));
            i += 1;
            note
        })
    }

    /// Appends one row whose cells `cell(out, kind)` writes, column by column in order.
    /// Returns the length of the row's `(…)` tuple, which ends `out`.
    #[inline]
    pub fn push_cells(
        &mut self,
        out: &mut Vec<u8>,
        mut cell: impl FnMut(&mut Vec<u8>, CellKind) -> CellNote,
    ) -> usize {
        let row_start = match self.open_at {
            None => {
                self.open_at = Some(out.len());
                out.extend_from_slice(&self.prefix);
                out.len()
            }
            Some(_) => {
                out.push(b',');
                out.len()
            }
        };
        out.push(b'(');
        for (i, kind) in self.kinds.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if cell(out, *kind) == CellNote::NotANumber {
                self.not_a_number += 1;
            }
        }
        out.push(b')');
        // The tuple ends `out` whether or not it moves into a new statement below.
        let tuple_len = out.len() - row_start;

        let open_at = self.open_at.expect("a statement is open");
        if self.rows_in_statement > 0 && out.len() - open_at + 2 > self.limit {
            // Move this row into a fresh statement: the comma before it becomes ";\n".
            self.spill.clear();
            self.spill.extend_from_slice(&out[row_start..]);
            out.truncate(row_start - 1);
            self.close(out);
            self.open_at = Some(out.len());
            out.extend_from_slice(&self.prefix);
            out.extend_from_slice(&self.spill);
        }
        self.rows_in_statement += 1;
        tuple_len
    }

    /// Bytes of complete statements at the front of `out` (everything before the open one).
    fn complete_len(&self, out: &[u8]) -> usize {
        self.open_at.unwrap_or(out.len())
    }

    /// The complete statements written so far, once `out` holds at least `at_least` bytes
    /// and some of them are complete statements; `out` keeps only the open statement. This is
    /// the check to make after each row.
    ///
    /// Without complete statements nothing is taken: with a statement limit above `at_least`
    /// the open statement alone passes the mark, and taking then fired on every row, each
    /// time copying the whole open statement into a fresh buffer and handing on nothing. That
    /// made dumps quadratic in the statement size (a 4 MiB limit ran 200 times slower than
    /// 1 MiB, 95 % of it in memmove). Now the open statement grows in place, and is taken the
    /// moment it closes, when the statement that follows holds one row.
    #[inline]
    pub fn take_ready(&mut self, out: &mut Vec<u8>, at_least: usize) -> Option<Vec<u8>> {
        if out.len() >= at_least && self.complete_len(out) > 0 {
            Some(self.take_complete(out))
        } else {
            None
        }
    }

    /// Splits off the complete statements written so far, leaving only the open statement
    /// (if any) in `out`, so that a chunk handed on never ends inside a statement.
    fn take_complete(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let at = self.complete_len(out);
        let open = out[at..].to_vec();
        out.truncate(at);
        let done = std::mem::replace(out, Vec::with_capacity(done_capacity(at, self.limit)));
        out.extend_from_slice(&open);
        if self.open_at.is_some() {
            self.open_at = Some(0);
        }
        done
    }

    /// Closes the open statement, if any, with `;\n`.
    pub fn finish_statement(&mut self, out: &mut Vec<u8>) {
        if self.open_at.is_some() {
            self.close(out);
        }
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let open_at = self.open_at.take().expect("a statement is open");
        out.extend_from_slice(b";\n");
        self.largest_statement = self.largest_statement.max(out.len() - open_at);
        self.statements += 1;
        self.rows_in_statement = 0;
    }

    pub fn statements(&self) -> u64 {
        self.statements
    }

    /// Size in bytes of the largest statement written: the restore side's `max_allowed_packet`
    /// must exceed it.
    pub fn largest_statement(&self) -> usize {
        self.largest_statement
    }

    /// How many FLOAT/DOUBLE cells were not numbers and were written as NULL.
    pub fn not_a_number(&self) -> u64 {
        self.not_a_number
    }
}

/// Next buffer's capacity: about what the last chunk needed, so it is not regrown row by row.
/// A chunk holds at least one whole statement, so with a `limit` above 4 MiB it needs about
/// `limit` (not more: one row far larger than the limit must not make every later buffer as
/// large), plus room for the row that closes the statement.
fn done_capacity(last: usize, limit: usize) -> usize {
    last.clamp(64 << 10, limit.max(4 << 20)) + (limit / 8).max(64 << 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(b: &mut InsertBuilder, out: &mut Vec<u8>, values: &[&str]) {
        for v in values {
            b.push_row(out, [Some(v.as_bytes())].into_iter());
        }
        b.finish_statement(out);
    }

    #[test]
    fn rows_share_a_statement_until_the_limit() {
        let mut b = InsertBuilder::new("`t`", "`a`", vec![CellKind::Exact], 1 << 20);
        let mut out = Vec::new();
        rows(&mut b, &mut out, &["1", "2", "3"]);
        assert_eq!(out, b"INSERT INTO `t` (`a`) VALUES (1),(2),(3);\n");
        assert_eq!(b.statements(), 1);
    }

    #[test]
    fn the_limit_splits_statements_and_never_loses_a_row() {
        let prefix_len = "INSERT INTO `t` (`a`) VALUES ".len();
        // Room for exactly two rows of "(1)" plus the comma and ";\n".
        let limit = prefix_len + 3 + 1 + 3 + 2;
        let mut b = InsertBuilder::new("`t`", "`a`", vec![CellKind::Exact], limit);
        let mut out = Vec::new();
        rows(&mut b, &mut out, &["1", "2", "3", "4", "5"]);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "INSERT INTO `t` (`a`) VALUES (1),(2);\n\
             INSERT INTO `t` (`a`) VALUES (3),(4);\n\
             INSERT INTO `t` (`a`) VALUES (5);\n"
        );
        assert!(text.lines().all(|l| l.len() < limit));
        assert_eq!(b.largest_statement(), limit);
    }

    /// The returned length covers exactly the row's tuple, also for the row that opens a new
    /// statement: the row checksum hashes it, and must not depend on where statements split.
    #[test]
    fn the_returned_length_is_the_tuple_also_after_a_split() {
        let prefix_len = "INSERT INTO `t` (`a`) VALUES ".len();
        let limit = prefix_len + 3 + 1 + 3 + 2;
        let mut b = InsertBuilder::new("`t`", "`a`", vec![CellKind::Exact], limit);
        let mut out = Vec::new();
        for v in ["1", "2", "3", "4", "5"] {
            let len = b.push_row(&mut out, [Some(v.as_bytes())].into_iter());
            assert_eq!(&out[out.len() - len..], format!("({v})").as_bytes());
        }
    }

    #[test]
    fn complete_statements_are_split_off_without_the_open_one() {
        let prefix_len = "INSERT INTO `t` (`a`) VALUES ".len();
        let limit = prefix_len + 3 + 1 + 3 + 2;
        let mut b = InsertBuilder::new("`t`", "`a`", vec![CellKind::Exact], limit);
        let mut out = Vec::new();
        for v in ["1", "2", "3"] {
            b.push_row(&mut out, [Some(v.as_bytes())].into_iter());
        }
        let done = b.take_complete(&mut out);
        assert_eq!(done, b"INSERT INTO `t` (`a`) VALUES (1),(2);\n");
        b.push_row(&mut out, [Some(&b"4"[..])].into_iter());
        b.finish_statement(&mut out);
        assert_eq!(out, b"INSERT INTO `t` (`a`) VALUES (3),(4);\n");
    }

    /// A statement past the flush threshold is handed on once complete, and only then: the
    /// open statement is never split off (or copied) on its way to the limit.
    #[test]
    fn a_statement_larger_than_the_flush_threshold_is_taken_once_complete() {
        let limit = 64 << 10;
        let threshold = 4 << 10;
        let mut b = InsertBuilder::new("`t`", "`a`", vec![CellKind::Quoted], limit);
        let mut out = Vec::new();
        let row = "x".repeat(100);
        let mut taken = Vec::new();
        for _ in 0..2000 {
            b.push_row(&mut out, [Some(row.as_bytes())].into_iter());
            if let Some(done) = b.take_ready(&mut out, threshold) {
                taken.push(done);
            }
            assert!(
                out.len() <= limit + row.len() + 8,
                "the open statement grew past the limit: {}",
                out.len()
            );
        }
        b.finish_statement(&mut out);
        assert!(taken.len() >= 2, "{} chunks", taken.len());
        for chunk in &taken {
            assert!(
                chunk.len() > limit - 200,
                "a chunk of {} bytes",
                chunk.len()
            );
            assert!(chunk.len() <= limit);
            assert!(chunk.starts_with(b"INSERT INTO") && chunk.ends_with(b");\n"));
            assert_eq!(chunk.iter().filter(|&&c| c == b';').count(), 1);
        }
        let rows: usize = taken
            .iter()
            .chain([&out])
            .map(|c| {
                c.windows(row.len())
                    .filter(|w| *w == row.as_bytes())
                    .count()
            })
            .sum();
        assert_eq!(rows, 2000);
    }

    /// At the default, limit and threshold equal, a statement is handed on as it closes: the
    /// chunk is one statement, not two (which would double what the writer's queue holds).
    #[test]
    fn a_statement_of_the_threshold_is_taken_as_it_closes() {
        let limit = 4 << 10;
        let mut b = InsertBuilder::new("`t`", "`a`", vec![CellKind::Quoted], limit);
        let mut out = Vec::new();
        let row = "x".repeat(100);
        let mut taken = 0;
        for _ in 0..1000 {
            b.push_row(&mut out, [Some(row.as_bytes())].into_iter());
            if let Some(done) = b.take_ready(&mut out, limit) {
                assert!(done.len() <= limit, "a chunk of {} bytes", done.len());
                taken += 1;
            }
        }
        assert!(taken > 20, "{taken} chunks");
    }

    #[test]
    fn a_row_larger_than_the_limit_stands_alone() {
        let mut b = InsertBuilder::new("`t`", "`a`", vec![CellKind::Quoted], 40);
        let mut out = Vec::new();
        let big = "x".repeat(100);
        rows(&mut b, &mut out, &["a", &big, "b"]);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].contains(&big));
        assert!(lines[2].ends_with("('b');"));
    }
}
