//! The non-data text of a dump file: header, footer, and the DDL of every object kind.
//!
//! Layout follows mysqldump so that `mariadb db < file.sql` restores it and old habits keep
//! working; session settings are saved and restored with `/*!… */` guards.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::catalog::{DatabaseCatalog, ObjectKind, Sequence, StoredObject, Table, View};
use crate::quote::{comment_safe, ident};
use crate::sql::value::string_literal;

/// What the dump header says about its origin.
pub struct HeaderInfo<'a> {
    pub tool_version: &'a str,
    pub server_host: &'a str,
    pub server_version: &'a str,
    /// Set for single-database files; None for combined files.
    pub database: Option<&'a str>,
}

/// The marker a complete dump ends with; `verify` and restore look for it.
const COMPLETION_MARKER: &str = "-- Dump completed on ";

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
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n\
/*!100201 SET @OLD_CHECK_CONSTRAINT_CHECKS=@@CHECK_CONSTRAINT_CHECKS, CHECK_CONSTRAINT_CHECKS=0 */;\n\
/*!101100 SET @OLD_SYSTEM_VERSIONING_INSERT_HISTORY=@@SYSTEM_VERSIONING_INSERT_HISTORY, SYSTEM_VERSIONING_INSERT_HISTORY=1 */;\n\n",
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
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\
/*!100201 SET CHECK_CONSTRAINT_CHECKS=@OLD_CHECK_CONSTRAINT_CHECKS */;\n\
/*!101100 SET SYSTEM_VERSIONING_INSERT_HISTORY=@OLD_SYSTEM_VERSIONING_INSERT_HISTORY */;\n\n\
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
pub fn database_preamble(catalog: &DatabaseCatalog) -> Vec<u8> {
    let mut s = current_database(catalog);
    match catalog.create_sql.strip_prefix(b"CREATE DATABASE ") {
        Some(rest) => {
            s.extend_from_slice(b"CREATE DATABASE /*!32312 IF NOT EXISTS*/ ");
            s.extend_from_slice(rest);
        }
        None => s.extend_from_slice(&catalog.create_sql),
    }
    let _ = write!(s, ";\n\nUSE {};\n\n", ident(&catalog.name));
    s
}

fn current_database(catalog: &DatabaseCatalog) -> Vec<u8> {
    format!(
        "--\n-- Current Database: {}\n--\n\n",
        comment_safe(&catalog.name)
    )
    .into_bytes()
}

/// A combined file's switch to a database without creating it (`--no-create-info`: the
/// database and its tables exist where the file is restored).
pub fn database_use(catalog: &DatabaseCatalog) -> Vec<u8> {
    let mut s = current_database(catalog);
    let _ = write!(s, "USE {};\n\n", ident(&catalog.name));
    s
}

/// The database's own defaults (charset, collation, comment) given to the database the file
/// is restored into: `ALTER DATABASE` without a name applies to the current one, so a
/// single-database file restored under any name (and a combined file's database that already
/// existed) carries the source's defaults. Tables name their charsets themselves; routine
/// parameters and new tables without one take the database's.
pub fn database_defaults(catalog: &DatabaseCatalog) -> Vec<u8> {
    if catalog.options.is_empty() {
        return Vec::new();
    }
    let mut s = b"ALTER DATABASE ".to_vec();
    s.extend_from_slice(&catalog.options);
    s.extend_from_slice(b";\n\n");
    s
}

fn section(s: &mut Vec<u8>, what: &str, name: &str) {
    let _ = write!(s, "--\n-- {what} {}\n--\n\n", comment_safe(name));
}

/// Sequences come before the tables whose defaults call NEXTVAL on them.
pub fn sequence_ddl(db: &DatabaseCatalog, seq: &Sequence) -> Vec<u8> {
    let mut s = Vec::new();
    section(&mut s, "Sequence structure for", &seq.name);
    let name = ident(&seq.name);
    let _ = writeln!(s, "DROP TABLE IF EXISTS {name};");
    s.extend_from_slice(&db.portable_table(&seq.create_sql));
    s.extend_from_slice(b";\n");
    if seq.restart {
        let _ = writeln!(s, "ALTER SEQUENCE {name} RESTART WITH {};", seq.next_value);
    }
    let _ = write!(
        s,
        "DO SETVAL({name}, {}, 0, {});\n\n",
        seq.next_value, seq.round
    );
    s
}

pub fn table_ddl(db: &DatabaseCatalog, table: &Table) -> Vec<u8> {
    let mut s = Vec::new();
    section(&mut s, "Table structure for table", &table.name);
    let _ = writeln!(s, "DROP TABLE IF EXISTS {};", ident(&table.name));
    s.extend_from_slice(&db.portable_table(&table.create_sql));
    s.extend_from_slice(b";\n\n");
    s
}

/// A table standing in for a view until all views exist, so views on views (and routines that
/// read views) can be created in any order; a table, not a dummy view, so that a view
/// `WITH CHECK OPTION` on it can be created.
pub fn view_placeholder(view: &View) -> Vec<u8> {
    let mut s = Vec::new();
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

/// The real view, replacing its placeholder: its text is in the view's own
/// `character_set_client` and is replayed under it, byte for byte.
pub fn view_ddl(db: &DatabaseCatalog, view: &View, opts: DdlOptions) -> Vec<u8> {
    let mut s = Vec::new();
    section(&mut s, "Final view structure for view", &view.name);
    let create = definer(&db.portable_view(view), opts);
    let _ = write!(
        s,
        "DROP TABLE IF EXISTS {name};\n/*!50001 DROP VIEW IF EXISTS {name}*/;\n\
/*!50001 SET @saved_cs_client = @@character_set_client */;\n\
/*!50001 SET @saved_cs_results = @@character_set_results */;\n\
/*!50001 SET @saved_col_connection = @@collation_connection */;\n\
/*!50001 SET character_set_client = {cs} */;\n\
/*!50001 SET character_set_results = {cs} */;\n\
/*!50001 SET collation_connection = {coll} */;\n",
        name = ident(&view.name),
        cs = view.character_set_client,
        coll = view.collation_connection,
    );
    s.extend_from_slice(&create);
    s.extend_from_slice(
        b";\n\
/*!50001 SET character_set_client = @saved_cs_client */;\n\
/*!50001 SET character_set_results = @saved_cs_results */;\n\
/*!50001 SET collation_connection = @saved_col_connection */;\n\n",
    );
    s
}

/// Triggers, routines and events, each under the sql_mode, character set, database collation
/// and (events) time zone it was created with, restored right after. The body is written in
/// its own character set, byte for byte.
pub fn stored_object_ddl(db: &DatabaseCatalog, obj: &StoredObject, opts: DdlOptions) -> Vec<u8> {
    let mut s = Vec::new();
    let title = match obj.kind {
        ObjectKind::Trigger => "Trigger",
        ObjectKind::Function => "Function",
        ObjectKind::Procedure => "Procedure",
        ObjectKind::Package => "Package",
        ObjectKind::PackageBody => "Package body",
        ObjectKind::Event => "Event",
    };
    section(&mut s, title, &obj.name);
    let create = definer(&db.portable_object(obj), opts);
    let delimiter = delimiter_for(&create);
    let drop = match obj.kind {
        ObjectKind::Trigger => {
            format!("/*!50032 DROP TRIGGER IF EXISTS {} */;\n", ident(&obj.name))
        }
        k => format!("DROP {} IF EXISTS {};\n", k.keyword(), ident(&obj.name)),
    };
    // Parameters and variables declared without a charset take the database's collation of
    // the time the object was created; mysqldump switches it the same way.
    let switch_collation = !obj.database_collation.is_empty()
        && !db.collation.is_empty()
        && obj.database_collation != db.collation;
    if switch_collation {
        let _ = writeln!(s, "ALTER DATABASE COLLATE {};", obj.database_collation);
    }
    s.extend_from_slice(
        b"/*!50003 SET @saved_cs_client = @@character_set_client */;\n\
/*!50003 SET @saved_cs_results = @@character_set_results */;\n\
/*!50003 SET @saved_col_connection = @@collation_connection */;\n\
/*!50003 SET @saved_sql_mode = @@sql_mode */;\n",
    );
    if obj.time_zone.is_some() {
        s.extend_from_slice(b"/*!50106 SET @saved_time_zone = @@time_zone */;\n");
    }
    let _ = write!(
        s,
        "/*!50003 SET character_set_client = {cs} */;\n\
/*!50003 SET character_set_results = {cs} */;\n\
/*!50003 SET collation_connection = {} */;\n\
/*!50003 SET sql_mode = {} */;\n",
        obj.collation_connection,
        string_literal(&obj.sql_mode),
        cs = obj.character_set_client,
    );
    if let Some(tz) = &obj.time_zone {
        let _ = writeln!(s, "/*!50106 SET time_zone = {} */;", string_literal(tz));
    }
    // After the sql_mode: a package's DROP only parses under its own (ORACLE) mode.
    s.extend_from_slice(drop.as_bytes());
    let _ = writeln!(s, "DELIMITER {delimiter}");
    s.extend_from_slice(&create);
    // The delimiter on a line of its own: a body may end in a `-- …` or `# …` comment, which
    // would swallow a delimiter on its last line (MDEV-36183). The server trims the newline.
    let _ = write!(s, "\n{delimiter}\nDELIMITER ;\n");
    s.extend_from_slice(
        b"/*!50003 SET sql_mode = @saved_sql_mode */;\n\
/*!50003 SET character_set_client = @saved_cs_client */;\n\
/*!50003 SET character_set_results = @saved_cs_results */;\n\
/*!50003 SET collation_connection = @saved_col_connection */;\n",
    );
    if obj.time_zone.is_some() {
        s.extend_from_slice(b"/*!50106 SET time_zone = @saved_time_zone */;\n");
    }
    if switch_collation {
        let _ = writeln!(s, "ALTER DATABASE COLLATE {};", db.collation);
    }
    s.push(b'\n');
    s
}

/// A client delimiter that does not occur in the body, so the client cannot split it.
fn delimiter_for(body: &[u8]) -> &'static str {
    [";;", "$$", "//", "$$$$", "||"]
        .into_iter()
        .find(|d| memchr::memmem::find(body, d.as_bytes()).is_none())
        .unwrap_or(";;;;;;;;")
}

/// Removes a `DEFINER=user@host` clause when asked to.
fn definer(create: &[u8], opts: DdlOptions) -> Vec<u8> {
    if !opts.skip_definer {
        return create.to_vec();
    }
    let Some(at) = memchr::memmem::find(create, b"DEFINER=") else {
        return create.to_vec();
    };
    // user@host, each part quoted with backquotes or bare (CURRENT_USER).
    let b = create;
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
    let mut out = create[..at].to_vec();
    out.extend_from_slice(&create[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definer_is_removed_only_when_asked() {
        let sql = "CREATE DEFINER=`ro``ot`@`local host` TRIGGER `t` BEFORE INSERT ON `x` FOR EACH ROW SET @a=1";
        assert_eq!(
            definer(sql.as_bytes(), DdlOptions::default()),
            sql.as_bytes()
        );
        assert_eq!(
            definer(sql.as_bytes(), DdlOptions { skip_definer: true }),
            b"CREATE TRIGGER `t` BEFORE INSERT ON `x` FOR EACH ROW SET @a=1"
        );
    }

    #[test]
    fn delimiter_avoids_the_body() {
        assert_eq!(delimiter_for(b"BEGIN SELECT 1; END"), ";;");
        assert_eq!(delimiter_for(b"BEGIN SELECT ';;'; END"), "$$");
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
            "CHECK_CONSTRAINT_CHECKS",
            "SYSTEM_VERSIONING_INSERT_HISTORY",
        ] {
            assert!(h.contains(&format!("@OLD_{var}")), "{var}");
            assert!(f.contains(&format!("@OLD_{var}")), "{var}");
        }
        assert!(f.ends_with("-- Dump completed on now\n"));
    }
}
