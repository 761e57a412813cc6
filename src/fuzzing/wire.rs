//! The row reader's decoding of what a server sends: the greeting, a result's column count and
//! column definitions, text rows, and binary rows written straight into INSERT statements.

use super::sql;
use crate::connect::wire::{Greeting, column_count, column_def, packets, text_row};
use crate::read::classify::{Kind, classify, for_each_tuple};
use crate::read::split::Splitter;
use crate::rows::decode::{Layout, push_row};
use crate::sql::insert::InsertBuilder;
use crate::sql::value::CellKind;

/// Statement size of the INSERTs built: small, so that rows spill into several statements.
const STATEMENT_LIMIT: usize = 2048;

/// `data` is a run of packets (a 4-byte header, then the payload): a column count, that many
/// column definitions, then binary rows, as `COM_STMT_EXECUTE` returns them. Every decoder
/// gets its packets (the first also as a greeting, each row also as a text row), and the rows
/// up to the first malformed one are serialised as the dump does. Then the SQL written is
/// read back as a restore and `verify` read it: it splits into INSERTs of table `t`, and the
/// tuples found in them are exactly the tuples written, in order (what the row checksums of
/// the metadata rest on).
pub fn result_set(data: &[u8]) {
    let mut payloads = packets(data);
    let Some(first) = payloads.next() else {
        return;
    };
    let _ = Greeting::parse(first);
    let Ok(count) = column_count(first) else {
        return;
    };
    let mut layouts = Vec::new();
    let mut kinds = Vec::new();
    for _ in 0..count {
        let Some(p) = payloads.next() else {
            return;
        };
        let Ok(def) = column_def(p) else {
            return;
        };
        let Ok(layout) = Layout::of(def.column_type, def.flags) else {
            return;
        };
        layouts.push(layout);
        kinds.push(CellKind::of(
            def.column_type,
            def.flags,
            def.charset,
            def.decimals,
        ));
    }
    if layouts.is_empty() {
        return;
    }
    let columns: Vec<String> = (0..layouts.len()).map(|i| format!("`c{i}`")).collect();
    let mut builder = InsertBuilder::new("`t`", &columns.join(","), kinds, STATEMENT_LIMIT);
    let mut out = Vec::new();
    let mut written: Vec<Vec<u8>> = Vec::new();
    for row in payloads {
        let _ = text_row(row, count);
        match push_row(&mut builder, &mut out, &layouts, row) {
            Ok(len) => written.push(out[out.len() - len..].to_vec()),
            // The serialiser stops the table at a malformed row; what it wrote is discarded.
            Err(_) => return,
        }
    }
    builder.finish_statement(&mut out);

    let mut splitter = Splitter::new(&out[..]);
    let mut found: Vec<Vec<u8>> = Vec::new();
    while let Some(s) = splitter.next_statement().expect("our INSERTs split") {
        let Kind::Data {
            db: None,
            table,
            values_at,
        } = classify(&s.sql)
        else {
            panic!(
                "a statement written for rows is not an INSERT: {:?}",
                classify(&s.sql)
            );
        };
        assert_eq!(table, "t");
        sql::statement(&s.sql);
        for_each_tuple(&s.sql, values_at, |t| found.push(t.to_vec()));
    }
    assert_eq!(
        found.len(),
        written.len(),
        "tuples read back against tuples written"
    );
    assert!(
        found == written,
        "a tuple read back differs from the one written"
    );
}
