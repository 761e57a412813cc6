//! Triggers the server would refuse to create again: one whose body reads or sets a column its
//! table no longer has (`OLD.at` after `ALTER TABLE … DROP COLUMN at`).
//!
//! The server checks `NEW.x` and `OLD.x` when a trigger is created (ERROR 1054 "Unknown column
//! 'x' in 'OLD'") but not when a column is dropped later, so such a trigger lives on, and every
//! statement that fires it fails. A dump of it cannot be restored: the restore stops at the
//! trigger, with the rest of the objects after it missing. The catalog finds them before the
//! file is written (as it does views the server cannot open) and the backup stops, naming
//! each trigger and column.
//!
//! Inside a trigger's body `NEW` and `OLD` before a dot always mean the trigger's rows (the
//! server's parser reads them so, whatever the aliases of its queries), so the scan is exact
//! once strings and comments are lexed as the server lexes them (`rewrite::tokens`).

use super::rewrite::{Lexing, Tok, tokens};
use super::{StoredObject, Table};

/// A trigger's reference to a column its table does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingColumn {
    /// `NEW` or `OLD`.
    pub row: &'static str,
    pub column: String,
}

/// The `NEW.x`/`OLD.x` of `trigger` that name no column of `table`. Names are compared as the
/// server compares column names (without regard to case); a name outside ASCII in a body
/// that is not utf8 is not compared (the catalog's names are utf8), nor are the hidden period
/// columns of a system-versioned table.
pub fn missing_columns(trigger: &StoredObject, table: &Table) -> Vec<MissingColumn> {
    let sql = &trigger.create_sql;
    let lexing = Lexing::new(&trigger.sql_mode, &trigger.character_set_client);
    let utf8 = trigger.character_set_client.starts_with("utf8");
    let toks = tokens(sql, lexing);
    let mut out: Vec<MissingColumn> = Vec::new();
    for k in 0..toks.len() {
        let t = &toks[k];
        if t.tok != Tok::Word || (k > 0 && toks[k - 1].is_punct(b'.')) {
            continue;
        }
        let row = match &sql[t.at.clone()].to_ascii_uppercase()[..] {
            b"NEW" => "NEW",
            b"OLD" => "OLD",
            _ => continue,
        };
        let Some(member) = toks.get(k + 2).filter(|m| m.is_name()) else {
            continue;
        };
        if !toks.get(k + 1).is_some_and(|d| d.is_punct(b'.')) {
            continue;
        }
        let name = member.name(sql);
        if !utf8 && !name.is_ascii() {
            continue;
        }
        let Ok(column) = std::str::from_utf8(name) else {
            continue;
        };
        let known = table
            .columns
            .iter()
            .any(|c| c.name.to_lowercase() == column.to_lowercase())
            || (table.versioning.is_some()
                && ["row_start", "row_end"]
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(column)));
        let missing = MissingColumn {
            row,
            column: column.to_owned(),
        };
        if !known && !out.contains(&missing) {
            out.push(missing);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, ObjectKind};

    fn trigger(body: &str, sql_mode: &str) -> StoredObject {
        StoredObject {
            kind: ObjectKind::Trigger,
            name: "tr".into(),
            create_sql: body.as_bytes().to_vec(),
            sql_mode: sql_mode.into(),
            character_set_client: "utf8mb4".into(),
            collation_connection: "utf8mb4_general_ci".into(),
            database_collation: String::new(),
            time_zone: None,
        }
    }

    fn table(columns: &[&str]) -> Table {
        Table {
            name: "t".into(),
            engine: "InnoDB".into(),
            create_sql: Vec::new(),
            columns: columns
                .iter()
                .map(|c| Column {
                    name: (*c).into(),
                    data_type: "int".into(),
                    column_type: "int(11)".into(),
                    generated: false,
                    charset: None,
                    numbered: false,
                    nullable_auto_increment: false,
                })
                .collect(),
            versioning: None,
            estimated_rows: 0,
            estimated_bytes: 0,
            split_key: None,
        }
    }

    #[test]
    fn a_dropped_column_is_found_and_strings_comments_and_other_tables_are_not() {
        let t = table(&["a", "Mixed"]);
        let tr = trigger(
            "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW BEGIN \
             SET NEW.a = OLD.`at` + old.mixed; /* OLD.gone */ INSERT INTO log \
             SELECT x.new FROM u AS x WHERE 'OLD.gone' <> NEW.`b c`; SET @v = OLD.at; END",
            "",
        );
        assert_eq!(
            missing_columns(&tr, &t),
            [
                MissingColumn {
                    row: "OLD",
                    column: "at".into()
                },
                MissingColumn {
                    row: "NEW",
                    column: "b c".into()
                }
            ]
        );
        assert!(
            missing_columns(
                &trigger(
                    "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET @x = NEW.a",
                    ""
                ),
                &t
            )
            .is_empty()
        );
    }

    /// Under NO_BACKSLASH_ESCAPES `'C:\'` ends at its second quote: `OLD.gone` after it is code.
    #[test]
    fn the_body_is_lexed_under_its_own_mode() {
        let t = table(&["a"]);
        let body = r"CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW SET @x = CONCAT('C:\', OLD.gone, '')";
        assert_eq!(
            missing_columns(&trigger(body, "NO_BACKSLASH_ESCAPES"), &t).len(),
            1
        );
        assert!(missing_columns(&trigger(body, ""), &t).is_empty());
    }
}
