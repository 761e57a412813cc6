//! Secondary keys built after the rows: a large table of our own dump is loaded without its
//! plain secondary keys, which are added back in one `ALTER TABLE` once its rows are in.
//!
//! Why: every row inserted into a table with secondary keys also goes into each of their
//! B-trees in key order, which is random order; on a server whose buffer pool is smaller than
//! the data that is a random page read per row and key (MariaDB 10.11 has no change buffer by
//! default). An index built from the loaded table sorts once and writes its pages in order
//! (the bench's restore experiments: 20 % less server CPU for a table with one such key).
//!
//! Only what cannot change the result is deferred (`docs/dump-fidelity.md`, "Secondary keys
//! after the rows"): plain `KEY`s of an InnoDB table that has no foreign key, no
//! partitioning, no system versioning, no application-time period and no FULLTEXT or SPATIAL
//! key; a key whose first column is an `AUTO_INCREMENT` column stays (the server needs it at
//! insert time). `SHOW CREATE TABLE` lists keys by kind (primary, unique, plain, fulltext)
//! and within a kind in the order they were added, so adding the plain keys back in their
//! order gives the same definition. Whether another table's foreign key references the table
//! is asked of the target when its rows start (`apply`), since the parent may come first.
//!
//! The statements use MariaDB's `DROP KEY IF EXISTS` and `ADD KEY IF NOT EXISTS`, so that a
//! resumed restore can run them again whatever the stopped one got to; on MySQL nothing is
//! deferred.

use crate::quote::ident;

/// A table's deferred keys, read from its `CREATE TABLE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deferred {
    /// The table's name as the statement gives it.
    pub table: String,
    /// Each key: its name, and what `SHOW CREATE TABLE` writes after the name (columns,
    /// options).
    keys: Vec<(String, String)>,
}

impl Deferred {
    /// `DROP KEY IF EXISTS …` for each key, for `ALTER TABLE <table> …`.
    pub fn drop_clause(&self) -> String {
        self.keys
            .iter()
            .map(|(name, _)| format!("DROP KEY IF EXISTS {}", ident(name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `ADD KEY IF NOT EXISTS …` for each key, in the definition's order.
    pub fn add_clause(&self) -> String {
        self.keys
            .iter()
            .map(|(name, rest)| format!("ADD KEY IF NOT EXISTS {}{rest}", ident(name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The keys' names, for messages.
    pub fn names(&self) -> Vec<&str> {
        self.keys.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// The plain secondary keys of `sql`, a `CREATE TABLE` as `SHOW CREATE TABLE` writes it, that
/// can be built after the rows; None when there is none, or when anything in the statement
/// is not in the shape this reads (then nothing is deferred: the rule is to defer only what
/// is understood).
pub fn deferrable(sql: &[u8]) -> Option<Deferred> {
    let sql = std::str::from_utf8(sql).ok()?;
    let mut lines = sql.split('\n');
    let first = lines.next()?;
    let table = created_table(first)?;
    let mut auto_increment: Vec<String> = Vec::new();
    let mut generated: Vec<String> = Vec::new();
    let mut keys = Vec::new();
    let mut tail = None;
    for line in lines.by_ref() {
        if let Some(rest) = line.strip_prefix(") ") {
            tail = Some(rest);
            break;
        }
        let body = line.strip_prefix("  ")?;
        let body = body.strip_suffix(',').unwrap_or(body);
        if body.starts_with('`') {
            let (name, after) = backticked(body)?;
            if after.contains("WITH SYSTEM VERSIONING") {
                return None;
            }
            if after.contains(" AUTO_INCREMENT") {
                auto_increment.push(name);
            } else if after.contains(" GENERATED ALWAYS AS ") {
                generated.push(name);
            }
        } else if let Some(def) = body.strip_prefix("KEY ") {
            let (name, after) = backticked(def)?;
            let cols = key_columns(after.strip_prefix(" (")?)?;
            keys.push((name, after.to_owned(), cols));
        } else if body.starts_with("PRIMARY KEY (") || body.starts_with("UNIQUE KEY `") {
            // Kept, and needed at insert time.
        } else if body.starts_with("CONSTRAINT `") && !body.contains("FOREIGN KEY") {
            // A CHECK constraint: it constrains rows, not keys.
        } else {
            // A foreign key, FULLTEXT, SPATIAL, PERIOD FOR, or a shape not known here.
            return None;
        }
    }
    let tail = tail?;
    let rest: Vec<&str> = lines.collect();
    if !tail.starts_with("ENGINE=InnoDB")
        || tail.contains("WITH SYSTEM VERSIONING")
        || tail.contains("PARTITION")
        || rest.iter().any(|l| !l.trim().is_empty())
    {
        return None;
    }
    // A key that stays comes before the deferred ones once they are added back: it must
    // already stand before them, or the definition's order of keys would change (a table of
    // MariaDB's type_ranges.test has its AUTO_INCREMENT key last). A key on a generated
    // column stays too: building it afterwards evaluates the expression for every row inside
    // an ALTER TABLE, where a warning is an error (`100 / fld1` with a 0: ERROR 1365, in
    // MariaDB's innodb_virtual_index.test), while the inserts only warned, on the source too.
    let kept = |cols: &[String]| {
        auto_increment.contains(&cols[0]) || cols.iter().any(|c| generated.contains(c))
    };
    if let Some(d) = keys.iter().position(|(_, _, cols)| !kept(cols))
        && keys[d..].iter().any(|(_, _, cols)| kept(cols))
    {
        return None;
    }
    let keys: Vec<(String, String)> = keys
        .into_iter()
        .filter(|(_, _, cols)| !kept(cols))
        .map(|(name, rest, _)| (name, rest))
        .collect();
    (!keys.is_empty()).then_some(Deferred { table, keys })
}

/// The columns of a key's list, `s` starting after its `(`: `` `a`(10),`b` DESC) … `` is a,
/// b. None when it is not in that shape.
fn key_columns(mut s: &str) -> Option<Vec<String>> {
    let mut cols = Vec::new();
    loop {
        let (name, after) = backticked(s)?;
        cols.push(name);
        // A prefix length `(10)` and ` DESC` / ` ASC` may follow; no backquote can.
        let mut depth = 0usize;
        let mut end = None;
        for (i, b) in after.bytes().enumerate() {
            match b {
                b'`' => return None,
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b',' | b')' if depth == 0 => {
                    end = Some((i, b));
                    break;
                }
                _ => {}
            }
        }
        match end? {
            (i, b',') => s = &after[i + 1..],
            _ => return Some(cols),
        }
    }
}

/// A backquoted identifier at the start of `s` (doubled backquotes inside), and what follows.
fn backticked(s: &str) -> Option<(String, &str)> {
    let inner = s.strip_prefix('`')?;
    let mut name = String::new();
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            if matches!(chars.peek(), Some((_, '`'))) {
                chars.next();
                name.push('`');
            } else {
                return Some((name, &inner[i + 1..]));
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// The table that the first line of a `CREATE TABLE` as `SHOW CREATE TABLE` writes it
/// (`` CREATE TABLE `t` ( ``) names, unquoted.
pub(super) fn created_table(first_line: &str) -> Option<String> {
    first_line
        .strip_prefix("CREATE TABLE ")?
        .strip_suffix(" (")
        .and_then(backticked_whole)
}

/// `s` is one backquoted identifier and nothing else.
pub(super) fn backticked_whole(s: &str) -> Option<String> {
    match backticked(s)? {
        (name, "") => Some(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(body: &[&str], tail: &str) -> Vec<u8> {
        format!(
            "CREATE TABLE `t``x` (\n{}\n) {tail}",
            body.iter()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join(",\n")
        )
        .into_bytes()
    }

    const INNODB: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";

    #[test]
    fn plain_keys_are_deferred_in_order_with_their_options() {
        let sql = table(
            &[
                "`id` int(11) NOT NULL AUTO_INCREMENT",
                "`a` int(11) DEFAULT NULL",
                "`b` varchar(20) DEFAULT NULL",
                "PRIMARY KEY (`id`)",
                "UNIQUE KEY `ub` (`b`)",
                "KEY `ka` (`a`)",
                "KEY `k``b` (`b`(5),`a` DESC) USING BTREE COMMENT 'c''m, ) x'",
                "KEY `ki` (`a`) IGNORED",
                "CONSTRAINT `positive` CHECK (`a` > 0)",
            ],
            INNODB,
        );
        let d = deferrable(&sql).unwrap();
        assert_eq!(d.table, "t`x");
        assert_eq!(d.names(), ["ka", "k`b", "ki"]);
        assert_eq!(
            d.drop_clause(),
            "DROP KEY IF EXISTS `ka`, DROP KEY IF EXISTS `k``b`, DROP KEY IF EXISTS `ki`"
        );
        assert_eq!(
            d.add_clause(),
            "ADD KEY IF NOT EXISTS `ka` (`a`), ADD KEY IF NOT EXISTS `k``b` (`b`(5),`a` DESC) \
             USING BTREE COMMENT 'c''m, ) x', ADD KEY IF NOT EXISTS `ki` (`a`) IGNORED"
        );
    }

    #[test]
    fn a_key_on_a_generated_column_stays() {
        let sql = table(
            &[
                "`id` int(11) NOT NULL",
                "`a` int(11) DEFAULT NULL",
                "`v` int(11) GENERATED ALWAYS AS (100 / `a`) VIRTUAL",
                "`b` varchar(20) DEFAULT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `kb` (`b`(10),`a` DESC)",
                "KEY `kv` (`a`,`v`)",
            ],
            INNODB,
        );
        // kv stays, after kb: adding kb back would put it after kv, so nothing is deferred.
        assert_eq!(deferrable(&sql), None);
        let first = table(
            &[
                "`id` int(11) NOT NULL",
                "`a` int(11) DEFAULT NULL",
                "`v` int(11) GENERATED ALWAYS AS (100 / `a`) VIRTUAL",
                "`b` varchar(20) DEFAULT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `kv` (`v`)",
                "KEY `kb` (`b`(10),`a` DESC)",
            ],
            INNODB,
        );
        assert_eq!(deferrable(&first).unwrap().names(), ["kb"]);
        assert_eq!(
            key_columns("`b`(10),`a` DESC,`c`) COMMENT 'x'"),
            Some(vec!["b".to_owned(), "a".to_owned(), "c".to_owned()])
        );
        assert_eq!(key_columns("`a``b`)"), Some(vec!["a`b".to_owned()]));
        assert_eq!(backticked_whole("`a``b`").as_deref(), Some("a`b"));
        assert_eq!(backticked_whole("a"), None);
        assert_eq!(
            created_table("CREATE TABLE `t``x` (").as_deref(),
            Some("t`x")
        );
    }

    #[test]
    fn a_key_an_auto_increment_column_leads_stays() {
        let sql = table(
            &[
                "`id` int(11) NOT NULL",
                "`n` int(11) NOT NULL AUTO_INCREMENT",
                "`a` int(11) DEFAULT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `kn` (`n`,`a`)",
                "KEY `ka` (`a`,`n`)",
            ],
            INNODB,
        );
        assert_eq!(deferrable(&sql).unwrap().names(), ["ka"]);
        let only = table(
            &[
                "`id` int(11) NOT NULL",
                "`n` int(11) NOT NULL AUTO_INCREMENT",
                "PRIMARY KEY (`id`)",
                "KEY `kn` (`n`)",
            ],
            INNODB,
        );
        assert_eq!(deferrable(&only), None);
        // Kept after a deferred key: adding that one back would put it after, so nothing is
        // deferred.
        let last = table(
            &[
                "`n` int(11) NOT NULL AUTO_INCREMENT",
                "`a` int(11) DEFAULT NULL",
                "KEY `ka` (`a`)",
                "KEY `kn` (`n`)",
            ],
            INNODB,
        );
        assert_eq!(deferrable(&last), None);
    }

    #[test]
    fn tables_whose_keys_matter_at_insert_time_or_are_not_understood_keep_them() {
        let base = ["`id` int(11) NOT NULL", "`a` int(11) DEFAULT NULL"];
        let with = |extra: &[&str], tail: &str| {
            let mut lines: Vec<&str> = base.to_vec();
            lines.extend_from_slice(extra);
            lines.push("KEY `ka` (`a`)");
            deferrable(&table(&lines, tail))
        };
        assert!(with(&[], INNODB).is_some());
        let refused: [(&[&str], &str); 9] = [
            (
                &["CONSTRAINT `f` FOREIGN KEY (`a`) REFERENCES `p` (`id`)"],
                INNODB,
            ),
            (&["FULLTEXT KEY `ft` (`a`)"], INNODB),
            (&["SPATIAL KEY `sp` (`a`)"], INNODB),
            (&["PERIOD FOR `p` (`s`, `e`)"], INNODB),
            (&["`v` int(11) DEFAULT NULL WITH SYSTEM VERSIONING"], INNODB),
            (&[], "ENGINE=InnoDB WITH SYSTEM VERSIONING"),
            (&[], "ENGINE=MyISAM DEFAULT CHARSET=utf8mb4"),
            (
                &[],
                "ENGINE=InnoDB\n PARTITION BY HASH (`id`)\nPARTITIONS 4",
            ),
            (&["INDEX `odd` (`a`)"], INNODB),
        ];
        for (extra, tail) in refused {
            assert_eq!(with(extra, tail), None, "{extra:?} {tail}");
        }
    }

    #[test]
    fn statements_not_in_show_create_shape_defer_nothing() {
        for sql in [
            "CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY (a))",
            "CREATE TABLE IF NOT EXISTS `t` (\n  `a` int,\n  KEY `ka` (`a`)\n) ENGINE=InnoDB",
            "CREATE TABLE `t` (\n  `a` int,\n  KEY `ka` (`a`)\n",
            "CREATE TABLE `t` (\n\t`a` int,\n  KEY `ka` (`a`)\n) ENGINE=InnoDB",
            "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB",
        ] {
            assert_eq!(deferrable(sql.as_bytes()), None, "{sql}");
        }
    }
}
