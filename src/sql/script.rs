//! The non-data text of a dump file: header, footer, and the DDL of every object kind.
//!
//! Layout follows mysqldump so that `mariadb db < file.sql` restores it and old habits keep
//! working; session settings are saved and restored with `/*!… */` guards.

use std::fmt::Write as _;

use crate::catalog::{DatabaseCatalog, ObjectKind, Sequence, StoredObject, Table, View};
use crate::sql::ident::{comment_safe, ident, string_literal};
use crate::sql::rewrite::strip_schema;

/// What the dump header says about its origin.
pub struct HeaderInfo<'a> {
    pub tool_version: &'a str,
    pub server_host: &'a str,
    pub server_version: &'a str,
    /// Set for single-database files; None for combined files.
    pub database: Option<&'a str>,
}

/// The marker a complete dump ends with; `verify` and restore look for it.
pub const COMPLETION_MARKER: &str = "-- Dump completed on ";

pub fn header(info: &HeaderInfo<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "-- sfdbtools {} native dump", info.tool_version);
    let _ = writeln!(
        s,
        "-- Host: {}    Database: {}",
        comment_safe(info.server_host).trim_matches('`'),
        info.database.map(comment_safe).unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "-- Server version\t{}",
        info.server_version.replace(['\n', '\r'], " ")
    );
    s.push_str(
        "\n\
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n\
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n\
/*!40101 SET NAMES utf8mb4 */;\n\
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n\
/*!40103 SET TIME_ZONE='+00:00' */;\n\
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n\
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;\n\
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES' */;\n\
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n\n",
    );
    s
}

pub fn footer(completed_at: &str) -> String {
    format!(
        "\n\
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n\
/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n\
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n\
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n\
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n\
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;\n\
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;\n\
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n\
{COMPLETION_MARKER}{completed_at}\n"
    )
}

/// How definitions are written.
#[derive(Clone, Copy, Debug, Default)]
pub struct DdlOptions {
    /// Remove `DEFINER=…` clauses so objects are owned by the restoring account.
    pub skip_definer: bool,
}

/// `-- Current Database`, `CREATE DATABASE IF NOT EXISTS` and `USE`, for combined files.
pub fn database_preamble(catalog: &DatabaseCatalog) -> String {
    let create = catalog.create_sql.replacen(
        "CREATE DATABASE ",
        "CREATE DATABASE /*!32312 IF NOT EXISTS*/ ",
        1,
    );
    format!(
        "--\n-- Current Database: {}\n--\n\n{create};\n\nUSE {};\n\n",
        comment_safe(&catalog.name),
        ident(&catalog.name)
    )
}

fn section(s: &mut String, what: &str, name: &str) {
    let _ = write!(s, "--\n-- {what} {}\n--\n\n", comment_safe(name));
}

/// Sequences come before the tables whose defaults call NEXTVAL on them.
pub fn sequence_ddl(db: &str, seq: &Sequence) -> String {
    let mut s = String::new();
    section(&mut s, "Sequence structure for", &seq.name);
    let _ = write!(
        s,
        "DROP TABLE IF EXISTS {name};\n{};\nDO SETVAL({name}, {}, 0, {});\n\n",
        strip_schema(&seq.create_sql, db),
        seq.next_value,
        seq.round,
        name = ident(&seq.name)
    );
    s
}

pub fn table_ddl(db: &str, table: &Table) -> String {
    let mut s = String::new();
    section(&mut s, "Table structure for table", &table.name);
    let _ = write!(
        s,
        "DROP TABLE IF EXISTS {};\n{};\n\n",
        ident(&table.name),
        strip_schema(&table.create_sql, db)
    );
    s
}

/// A table standing in for a view until all views exist, so views on views (and routines that
/// read views) can be created in any order; a table, not a dummy view, so that a view
/// `WITH CHECK OPTION` on it can be created.
pub fn view_placeholder(view: &View) -> String {
    let mut s = String::new();
    section(&mut s, "Temporary table structure for view", &view.name);
    let cols: Vec<String> = view
        .columns
        .iter()
        .map(|c| format!("  {} {}", ident(&c.name), placeholder_type(&c.column_type)))
        .collect();
    let _ = write!(
        s,
        "DROP TABLE IF EXISTS {name};\n/*!50001 DROP VIEW IF EXISTS {name}*/;\nCREATE TABLE {name} (\n{}\n) ENGINE=MyISAM;\n\n",
        cols.join(",\n"),
        name = ident(&view.name)
    );
    s
}

/// Column types of a view can carry attributes that are invalid in CREATE TABLE (e.g. a
/// geometry SRID); a placeholder only needs a column of a compatible name.
fn placeholder_type(column_type: &str) -> &str {
    if column_type.is_empty() {
        "tinyint"
    } else {
        column_type
    }
}

pub fn view_ddl(db: &str, view: &View, opts: DdlOptions) -> String {
    let mut s = String::new();
    section(&mut s, "Final view structure for view", &view.name);
    let create = definer(&strip_schema(&view.create_sql, db), opts);
    let _ = write!(
        s,
        "DROP TABLE IF EXISTS {name};\n/*!50001 DROP VIEW IF EXISTS {name}*/;\n\
/*!50001 SET @saved_cs_client = @@character_set_client */;\n\
/*!50001 SET @saved_col_connection = @@collation_connection */;\n\
/*!50001 SET character_set_client = {cs} */;\n\
/*!50001 SET collation_connection = {coll} */;\n\
{create};\n\
/*!50001 SET character_set_client = @saved_cs_client */;\n\
/*!50001 SET collation_connection = @saved_col_connection */;\n\n",
        name = ident(&view.name),
        cs = charset_for_text(&view.character_set_client, &create),
        coll = collation_for_text(
            &view.character_set_client,
            &view.collation_connection,
            &create
        ),
    );
    s
}

/// Triggers, routines and events, each under the sql_mode, character set and (events) time
/// zone it was created with, restored right after.
pub fn stored_object_ddl(db: &str, obj: &StoredObject, opts: DdlOptions) -> String {
    let mut s = String::new();
    let title = match obj.kind {
        ObjectKind::Trigger => "Trigger",
        ObjectKind::Function => "Function",
        ObjectKind::Procedure => "Procedure",
        ObjectKind::Package => "Package",
        ObjectKind::PackageBody => "Package body",
        ObjectKind::Event => "Event",
    };
    section(&mut s, title, &obj.name);
    let create = definer(&strip_schema(&obj.create_sql, db), opts);
    let delimiter = delimiter_for(&create);
    let drop = match obj.kind {
        ObjectKind::Trigger => {
            format!("/*!50032 DROP TRIGGER IF EXISTS {} */;\n", ident(&obj.name))
        }
        k => format!("DROP {} IF EXISTS {};\n", k.keyword(), ident(&obj.name)),
    };
    s.push_str(
        "/*!50003 SET @saved_cs_client = @@character_set_client */;\n\
/*!50003 SET @saved_cs_results = @@character_set_results */;\n\
/*!50003 SET @saved_col_connection = @@collation_connection */;\n\
/*!50003 SET @saved_sql_mode = @@sql_mode */;\n",
    );
    if obj.time_zone.is_some() {
        s.push_str("/*!50106 SET @saved_time_zone = @@time_zone */;\n");
    }
    let cs = charset_for_text(&obj.character_set_client, &create);
    let _ = write!(
        s,
        "/*!50003 SET character_set_client = {cs} */;\n\
/*!50003 SET character_set_results = {cs} */;\n\
/*!50003 SET collation_connection = {} */;\n\
/*!50003 SET sql_mode = {} */;\n",
        collation_for_text(
            &obj.character_set_client,
            &obj.collation_connection,
            &create
        ),
        string_literal(&obj.sql_mode),
    );
    if let Some(tz) = &obj.time_zone {
        let _ = writeln!(s, "/*!50106 SET time_zone = {} */;", string_literal(tz));
    }
    // After the sql_mode: a package's DROP only parses under its own (ORACLE) mode.
    s.push_str(&drop);
    let _ = write!(
        s,
        "DELIMITER {delimiter}\n{create}{delimiter}\nDELIMITER ;\n"
    );
    s.push_str(
        "/*!50003 SET sql_mode = @saved_sql_mode */;\n\
/*!50003 SET character_set_client = @saved_cs_client */;\n\
/*!50003 SET character_set_results = @saved_cs_results */;\n\
/*!50003 SET collation_connection = @saved_col_connection */;\n",
    );
    if obj.time_zone.is_some() {
        s.push_str("/*!50106 SET time_zone = @saved_time_zone */;\n");
    }
    s.push('\n');
    s
}

/// A client delimiter that does not occur in the body, so the client cannot split it.
fn delimiter_for(body: &str) -> &'static str {
    [";;", "$$", "//", "$$$$", "||"]
        .into_iter()
        .find(|d| !body.contains(d))
        .unwrap_or(";;;;;;;;")
}

/// The file is UTF-8. A definition recorded under another client charset is written with that
/// charset only when its text is ASCII (identical bytes); otherwise the text would be misread,
/// so it is declared as utf8mb4.
fn charset_for_text<'a>(recorded: &'a str, text: &str) -> &'a str {
    if text.is_ascii() || recorded.starts_with("utf8") {
        recorded
    } else {
        "utf8mb4"
    }
}

fn collation_for_text<'a>(charset: &str, collation: &'a str, text: &str) -> &'a str {
    if text.is_ascii() || charset.starts_with("utf8") || collation.starts_with("utf8") {
        collation
    } else {
        "utf8mb4_general_ci"
    }
}

/// Removes a `DEFINER=user@host` clause when asked to.
fn definer(create: &str, opts: DdlOptions) -> String {
    if !opts.skip_definer {
        return create.to_owned();
    }
    let Some(at) = create.find("DEFINER=") else {
        return create.to_owned();
    };
    // user@host, each part quoted with backquotes or bare (CURRENT_USER).
    let b = create.as_bytes();
    let mut i = at + "DEFINER=".len();
    let mut parts = 0;
    while i < b.len() && parts < 2 {
        if b[i] == b'`' || b[i] == b'\'' {
            let q = b[i];
            i += 1;
            while i < b.len() {
                if b[i] == q && b.get(i + 1) == Some(&q) {
                    i += 2;
                } else if b[i] == q {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'@' {
                i += 1;
            }
        }
        parts += 1;
        if b.get(i) == Some(&b'@') {
            i += 1;
        } else {
            break;
        }
    }
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    format!("{}{}", &create[..at], &create[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definer_is_removed_only_when_asked() {
        let sql = "CREATE DEFINER=`ro``ot`@`local host` TRIGGER `t` BEFORE INSERT ON `x` FOR EACH ROW SET @a=1";
        assert_eq!(definer(sql, DdlOptions::default()), sql);
        assert_eq!(
            definer(sql, DdlOptions { skip_definer: true }),
            "CREATE TRIGGER `t` BEFORE INSERT ON `x` FOR EACH ROW SET @a=1"
        );
    }

    #[test]
    fn delimiter_avoids_the_body() {
        assert_eq!(delimiter_for("BEGIN SELECT 1; END"), ";;");
        assert_eq!(delimiter_for("BEGIN SELECT ';;'; END"), "$$");
    }

    #[test]
    fn header_and_footer_restore_every_setting() {
        let h = header(&HeaderInfo {
            tool_version: "0",
            server_host: "h",
            server_version: "v",
            database: Some("d\nDROP"),
        });
        assert!(!h.lines().any(|l| l.starts_with("DROP")));
        let f = footer("now");
        for var in [
            "TIME_ZONE",
            "SQL_MODE",
            "FOREIGN_KEY_CHECKS",
            "UNIQUE_CHECKS",
            "SQL_NOTES",
        ] {
            assert!(h.contains(&format!("@OLD_{var}")), "{var}");
            assert!(f.contains(&format!("@OLD_{var}")), "{var}");
        }
        assert!(f.ends_with("-- Dump completed on now\n"));
    }
}
