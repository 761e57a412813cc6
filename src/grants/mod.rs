//! Accounts and their privileges as SQL (docs/compat.md §8): `SHOW CREATE USER` and `SHOW GRANTS` per
//! account, written next to the dump as `<dump>_users.sql` (see `dump::finish`).
//!
//! Scope: every account for `all`. For the other modes, the accounts with a privilege on a
//! selected database (database, table, column or routine level; database-level grants are
//! patterns, so `a\_b` matches only `a_b` and `a%` matches `abc`), plus the accounts holding a
//! role that has one (not through the WITH ADMIN OPTION grant a role's creator receives). Of
//! each account only the lines about the selected databases, the roles it holds among the
//! exported ones, and its global line when that line is `USAGE` are kept: global privileges
//! would reach every database of the restore server, so a filtered export leaves them out and
//! says so in a comment.
//!
//! The file is roles first, then one block per account (`CREATE USER IF NOT EXISTS`, its
//! `GRANT`s), then `FLUSH PRIVILEGES`: `db-restore --grants` applies it (see
//! `restore::accounts`), the stock client replays it too. Anonymous accounts
//! and the servers' own locked system accounts (`mariadb.sys`, `mysql.sys`, `mysql.session`,
//! `mysql.infoschema`) are never exported: every server has its own.
//!
//! Reading accounts needs SELECT on the `mysql` schema, which a dump does not otherwise need;
//! [`is_privilege_error`] lets the caller skip the export with a warning instead of failing.
//!
//! Here: reading the accounts from a server and choosing them; `lines` reads a GRANT line,
//! `render` writes the file.

pub(crate) mod lines;
mod render;

use std::collections::BTreeSet;

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::connect::{Flavor, ServerInfo};
use crate::error::{DbError, Error, Result};
use crate::quote::ident;
use crate::sql::value::string_literal;
use lines::{Target, target};
use render::{Block, render};

/// Which accounts to export.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    All,
    /// Accounts with a privilege on one of these databases (server spelling).
    Databases(&'a [String]),
}

/// One account (user or role) as the server lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Account {
    pub user: String,
    pub host: String,
    pub is_role: bool,
}

impl Account {
    /// The account in `SHOW GRANTS FOR` / `SHOW CREATE USER` syntax: `'user'@'host'`, both
    /// escaped string literals. A MariaDB role has no host and is named alone (`'r'@''` would
    /// mean host `%`); the `PUBLIC` pseudo-role is the keyword itself.
    pub fn literal(&self) -> String {
        if self.is_public() {
            "PUBLIC".into()
        } else if self.is_role && self.host.is_empty() {
            string_literal(&self.user)
        } else {
            format!(
                "{}@{}",
                string_literal(&self.user),
                string_literal(&self.host)
            )
        }
    }

    /// MariaDB 10.11's grants to everyone: a role row `PUBLIC`@'' that cannot be created.
    fn is_public(&self) -> bool {
        self.is_role && self.host.is_empty() && self.user.eq_ignore_ascii_case("PUBLIC")
    }

    fn is_exported(&self) -> bool {
        !self.user.is_empty() && !RESERVED_ACCOUNTS.contains(&self.user.as_str())
    }
}

/// Locked accounts that servers create for themselves.
const RESERVED_ACCOUNTS: [&str; 4] = [
    "mariadb.sys",
    "mysql.sys",
    "mysql.session",
    "mysql.infoschema",
];

/// The statements this module sends, per server flavour (unit-tested below).
pub mod queries {
    use super::Flavor;

    /// Every account: user, host, and whether it is a role.
    pub fn accounts(flavor: Flavor) -> &'static str {
        match flavor {
            // mysql.user is a view over mysql.global_priv since 10.4; is_role since 10.0.5.
            Flavor::MariaDb => "SELECT User, Host, is_role = 'Y' FROM mysql.user",
            // MySQL roles are ordinary (locked) accounts; role_edges says which are roles.
            Flavor::MySql => "SELECT User, Host, 0 FROM mysql.user",
        }
    }

    /// MySQL: the accounts used as roles.
    pub const MYSQL_ROLES: &str = "SELECT DISTINCT FROM_USER, FROM_HOST FROM mysql.role_edges";

    /// Every database-, table-, column- and routine-level privilege row: account, database,
    /// and whether the database is a pattern (only database-level grants take wildcards).
    pub const PRIVILEGE_ROWS: &str = "SELECT User, Host, Db, 1 FROM mysql.db \
         UNION ALL SELECT User, Host, Db, 0 FROM mysql.tables_priv \
         UNION ALL SELECT User, Host, Db, 0 FROM mysql.columns_priv \
         UNION ALL SELECT User, Host, Db, 0 FROM mysql.procs_priv";

    /// Who holds which role: grantee user, grantee host, role user, role host. Grants WITH
    /// ADMIN OPTION are left out: MariaDB gives one to whoever creates a role, which would
    /// pull the administrator's account into every per-database export.
    pub fn role_members(flavor: Flavor) -> &'static str {
        match flavor {
            Flavor::MariaDb => {
                "SELECT User, Host, Role, '' FROM mysql.roles_mapping WHERE Admin_option <> 'Y'"
            }
            Flavor::MySql => {
                "SELECT TO_USER, TO_HOST, FROM_USER, FROM_HOST FROM mysql.role_edges \
                 WHERE WITH_ADMIN_OPTION <> 'Y'"
            }
        }
    }

    /// Set before `SHOW CREATE USER` on MySQL 8: caching_sha2_password hashes are binary and
    /// come out as text that cannot be replayed unless printed as hex (8.0.17+).
    pub const MYSQL_HEX_HASHES: &str = "SET SESSION print_identified_with_as_hex = ON";

    pub const LOWER_CASE_NAMES: &str = "SELECT @@lower_case_table_names";

    pub fn show_create_user(account: &str) -> String {
        format!("SHOW CREATE USER {account}")
    }

    pub fn show_grants(account: &str) -> String {
        format!("SHOW GRANTS FOR {account}")
    }
}

/// The export, ready to be written.
#[derive(Clone, Debug)]
pub struct GrantsExport {
    pub sql: String,
    pub accounts: usize,
    /// Accounts listed but unreadable (dropped meanwhile, or hosts the server ignores under
    /// `skip-name-resolve`); each is also a comment in the file.
    pub warnings: Vec<String>,
}

/// True for the errors of an account without SELECT on `mysql` (or without the privileges
/// `SHOW GRANTS FOR` another account needs).
pub fn is_privilege_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Server { source, .. }
            if matches!(source.server_code(), Some(1044 | 1045 | 1142 | 1143 | 1227 | 1370))
    )
}

/// Reads the accounts of `scope` and renders them as SQL.
pub async fn read(conn: &mut Conn, info: &ServerInfo, scope: Scope<'_>) -> Result<GrantsExport> {
    let flavor = info.flavor;
    let ctx = |what: &str| format!("exporting user grants ({what})");
    let rows: Vec<(String, String, bool)> = conn
        .query(queries::accounts(flavor))
        .await
        .map_err(|e| Error::server(ctx("listing accounts in mysql.user"), e))?;
    let mut accounts: Vec<Account> = rows
        .into_iter()
        .map(|(user, host, is_role)| Account {
            user,
            host,
            is_role,
        })
        .collect();
    if flavor == Flavor::MySql {
        // Absent before MySQL 8.0 (no roles then).
        let roles: Vec<(String, String)> = match conn.query(queries::MYSQL_ROLES).await {
            Ok(r) => r,
            Err(mysql_async::Error::Server(e)) if e.code == 1146 => Vec::new(),
            Err(e) => return Err(Error::server(ctx("listing roles in mysql.role_edges"), e)),
        };
        for a in &mut accounts {
            a.is_role = roles.iter().any(|(u, h)| *u == a.user && *h == a.host);
        }
        if let Err(e) = conn.query_drop(queries::MYSQL_HEX_HASHES).await {
            // 5.7 and early 8.0 do not know the variable; their hashes are printable.
            if !matches!(&e, mysql_async::Error::Server(s) if s.code == 1193) {
                return Err(Error::server(ctx(queries::MYSQL_HEX_HASHES), e));
            }
        }
    }
    accounts.retain(Account::is_exported);

    let databases = match scope {
        Scope::All => None,
        Scope::Databases(dbs) => Some(dbs),
    };
    let mut fold = false;
    if let Some(dbs) = databases {
        let lower: Option<u32> = conn
            .query_first(queries::LOWER_CASE_NAMES)
            .await
            .map_err(|e| Error::server(ctx("@@lower_case_table_names"), e))?;
        fold = lower.unwrap_or(0) != 0;
        let privileges: Vec<(String, String, String, bool)> =
            conn.query(queries::PRIVILEGE_ROWS).await.map_err(|e| {
                Error::server(
                    ctx("reading mysql.db, tables_priv, columns_priv, procs_priv"),
                    e,
                )
            })?;
        let members: Vec<(String, String, String, String)> =
            match conn.query(queries::role_members(flavor)).await {
                Ok(r) => r,
                Err(mysql_async::Error::Server(e)) if e.code == 1146 => Vec::new(),
                Err(e) => return Err(Error::server(ctx("reading role memberships"), e)),
            };
        let chosen = accounts_for(&accounts, &privileges, &members, dbs, fold);
        accounts.retain(|a| chosen.contains(&(a.user.clone(), a.host.clone())));
    }
    // Roles first: users' blocks grant them.
    accounts.sort_by(|a, b| (!a.is_role, &a.user, &a.host).cmp(&(!b.is_role, &b.user, &b.host)));
    let exported_roles: Vec<&Account> = accounts.iter().filter(|a| a.is_role).collect();

    let mut blocks = Vec::with_capacity(accounts.len());
    let mut warnings = Vec::new();
    for account in &accounts {
        let literal = account.literal();
        let create = if account.is_public() {
            None
        } else if account.is_role && flavor == Flavor::MariaDb {
            Some(format!(
                "CREATE ROLE IF NOT EXISTS {}",
                ident(&account.user)
            ))
        } else {
            match conn
                .query_first::<String, _>(queries::show_create_user(&literal))
                .await
            {
                Ok(text) => text.map(|t| create_if_not_exists(&t)),
                Err(e) if vanished(&e) => {
                    warnings.push(format!(
                        "account {literal} could not be read: {}",
                        DbError(e)
                    ));
                    continue;
                }
                Err(e) => {
                    return Err(Error::server(
                        ctx(&format!("SHOW CREATE USER {literal}")),
                        e,
                    ));
                }
            }
        };
        let lines: Vec<String> = match conn.query(queries::show_grants(&literal)).await {
            Ok(lines) => lines,
            Err(e) if vanished(&e) => {
                warnings.push(format!(
                    "account {literal} could not be read: {}",
                    DbError(e)
                ));
                continue;
            }
            Err(e) => {
                return Err(Error::server(ctx(&format!("SHOW GRANTS FOR {literal}")), e));
            }
        };
        let mut block = Block {
            account: account.clone(),
            create,
            grants: Vec::new(),
            left_out_global: false,
        };
        for line in lines {
            match databases {
                None => block.grants.push(line),
                Some(dbs) => match keep_line(&line, dbs, &exported_roles, fold) {
                    Keep::Yes => block.grants.push(line),
                    Keep::GlobalLeftOut => block.left_out_global = true,
                    Keep::No => {}
                },
            }
        }
        blocks.push(block);
    }
    let accounts_n = blocks.len();
    Ok(GrantsExport {
        sql: render(info, databases, &blocks, &warnings),
        accounts: accounts_n,
        warnings,
    })
}

/// An account listed a moment ago but not readable now: dropped meanwhile (1133, 1141), or a
/// host name the server ignores under `skip-name-resolve` (1141).
fn vanished(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if matches!(s.code, 1133 | 1141))
}

/// `CREATE USER x …` → `CREATE USER IF NOT EXISTS x …`: a restore into a server that already
/// has the account keeps going (the GRANTs that follow still apply).
pub fn create_if_not_exists(show_create_user: &str) -> String {
    const PREFIX: &str = "CREATE USER ";
    let text = show_create_user.trim();
    match text.get(..PREFIX.len()) {
        Some(p)
            if p.eq_ignore_ascii_case(PREFIX)
                && !text[PREFIX.len()..]
                    .to_ascii_uppercase()
                    .starts_with("IF NOT EXISTS") =>
        {
            format!("CREATE USER IF NOT EXISTS {}", &text[PREFIX.len()..])
        }
        _ => text.to_owned(),
    }
}

/// The accounts (user, host) with a privilege on one of `dbs`, directly or through a role
/// (roles of roles included).
pub fn accounts_for(
    accounts: &[Account],
    privileges: &[(String, String, String, bool)],
    members: &[(String, String, String, String)],
    dbs: &[String],
    fold_case: bool,
) -> BTreeSet<(String, String)> {
    let mut chosen: BTreeSet<(String, String)> = privileges
        .iter()
        .filter(|(_, _, db, pattern)| {
            dbs.iter().any(|name| {
                if *pattern {
                    like(db, name, fold_case)
                } else if fold_case {
                    db.eq_ignore_ascii_case(name)
                } else {
                    db == name
                }
            })
        })
        .map(|(u, h, _, _)| (u.clone(), h.clone()))
        .collect();
    loop {
        let before = chosen.len();
        for (user, host, role_user, role_host) in members {
            if chosen.contains(&(role_user.clone(), role_host.clone())) {
                chosen.insert((user.clone(), host.clone()));
            }
        }
        if chosen.len() == before {
            break;
        }
    }
    chosen.retain(|(u, h)| accounts.iter().any(|a| a.user == *u && a.host == *h));
    chosen
}

/// SQL `LIKE` as the server applies it to database-level grants: `%` any run, `_` any one
/// character, `\` makes the next character literal.
pub fn like(pattern: &str, name: &str, fold_case: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if fold_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, n) = (norm(pattern), norm(name));
    // Backtracking on the last `%` only: linear enough for names of 64 characters.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('%') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('\\') if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                pi += 2;
                ni += 1;
                continue;
            }
            Some('_') => {
                pi += 1;
                ni += 1;
                continue;
            }
            Some(c) if *c != '\\' && *c == n[ni] => {
                pi += 1;
                ni += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

enum Keep {
    Yes,
    No,
    GlobalLeftOut,
}

/// Whether a filtered export keeps a line.
fn keep_line(line: &str, dbs: &[String], roles: &[&Account], fold_case: bool) -> Keep {
    match target(line) {
        Target::Global { usage_only: true } => Keep::Yes,
        Target::Global { usage_only: false } => Keep::GlobalLeftOut,
        Target::Database { name, pattern } => {
            let hit = dbs.iter().any(|db| {
                if pattern {
                    like(&name, db, fold_case)
                } else if fold_case {
                    name.eq_ignore_ascii_case(db)
                } else {
                    name == *db
                }
            });
            if hit { Keep::Yes } else { Keep::No }
        }
        Target::Role(r) if roles.iter().any(|a| a.user == r) => Keep::Yes,
        _ => Keep::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn acct(user: &str, host: &str, is_role: bool) -> Account {
        Account {
            user: user.into(),
            host: host.into(),
            is_role,
        }
    }

    #[test]
    fn accounts_are_quoted_as_literals() {
        assert_eq!(acct("u", "%", false).literal(), "'u'@'%'");
        assert_eq!(
            acct("o'q\\x", "10.0.0.%", false).literal(),
            r"'o\'q\\x'@'10.0.0.%'"
        );
        assert_eq!(acct("a\nb", "h", false).literal(), r"'a\nb'@'h'");
        assert_eq!(acct("r1", "", true).literal(), "'r1'");
        assert_eq!(acct("r1", "%", true).literal(), "'r1'@'%'");
        assert_eq!(acct("PUBLIC", "", true).literal(), "PUBLIC");
        assert_eq!(
            queries::show_grants(&acct("o'q", "%", false).literal()),
            r"SHOW GRANTS FOR 'o\'q'@'%'"
        );
        assert_eq!(
            queries::show_create_user(&acct("u", "h", false).literal()),
            "SHOW CREATE USER 'u'@'h'"
        );
        assert!(!acct("", "localhost", false).is_exported());
        assert!(!acct("mariadb.sys", "localhost", false).is_exported());
        assert!(!acct("mysql.session", "localhost", false).is_exported());
        assert!(acct("root", "localhost", false).is_exported());
    }

    #[test]
    fn statements_differ_by_flavour() {
        assert!(queries::accounts(Flavor::MariaDb).contains("is_role"));
        assert!(!queries::accounts(Flavor::MySql).contains("is_role"));
        assert!(queries::role_members(Flavor::MariaDb).contains("mysql.roles_mapping"));
        assert!(queries::role_members(Flavor::MySql).contains("mysql.role_edges"));
        assert!(queries::MYSQL_HEX_HASHES.contains("print_identified_with_as_hex"));
        for table in ["mysql.db", "tables_priv", "columns_priv", "procs_priv"] {
            assert!(queries::PRIVILEGE_ROWS.contains(table), "{table}");
        }
    }

    #[test]
    fn create_user_becomes_if_not_exists() {
        // MariaDB
        assert_eq!(
            create_if_not_exists("CREATE USER `u1`@`%` IDENTIFIED BY PASSWORD '*D82'"),
            "CREATE USER IF NOT EXISTS `u1`@`%` IDENTIFIED BY PASSWORD '*D82'"
        );
        // MySQL 8 with print_identified_with_as_hex
        assert_eq!(
            create_if_not_exists(
                "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x2441 \
                 REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK"
            ),
            "CREATE USER IF NOT EXISTS `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS \
             0x2441 REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK"
        );
        assert_eq!(
            create_if_not_exists("CREATE USER IF NOT EXISTS `u`@`h`"),
            "CREATE USER IF NOT EXISTS `u`@`h`"
        );
    }

    #[test]
    fn like_follows_grant_wildcards() {
        assert!(like(r"a\_b", "a_b", false));
        assert!(!like(r"a\_b", "axb", false));
        assert!(like("a_b", "axb", false));
        assert!(like("shop%", "shop_eu", false));
        assert!(like("%", "anything", false));
        assert!(like("s%p%", "sXpYp", false));
        assert!(!like("shop", "Shop", false));
        assert!(like("shop", "Shop", true));
        assert!(!like("sho", "shop", false));
        assert!(like(r"50\%", "50%", false));
        assert!(!like(r"50\%", "500", false));
    }

    #[test]
    fn filtered_exports_keep_only_lines_about_the_selection() {
        let dbs = vec!["a_b".to_string()];
        let r1 = acct("r1", "", true);
        let roles = vec![&r1];
        let kept = |l: &str| matches!(keep_line(l, &dbs, &roles, false), Keep::Yes);
        assert!(kept("GRANT USAGE ON *.* TO `u`@`%`"));
        assert!(kept(r"GRANT SELECT ON `a\_b`.* TO `u`@`%`"));
        assert!(kept("GRANT SELECT ON `a%`.* TO `u`@`%`"));
        assert!(kept("GRANT INSERT ON `a_b`.`t` TO `u`@`%`"));
        assert!(kept("GRANT `r1` TO `u`@`%`"));
        assert!(kept("SET DEFAULT ROLE `r1` FOR `u`@`%`"));
        assert!(!kept("GRANT SELECT ON `other`.* TO `u`@`%`"));
        assert!(!kept(r"GRANT SELECT ON `a\_bc`.* TO `u`@`%`"));
        assert!(!kept("GRANT `r2` TO `u`@`%`"));
        assert!(!kept("GRANT PROXY ON ``@`%` TO `u`@`%`"));
        assert!(matches!(
            keep_line("GRANT SUPER ON *.* TO `u`@`%`", &dbs, &roles, false),
            Keep::GlobalLeftOut
        ));
    }

    #[test]
    fn accounts_are_chosen_by_privilege_rows_and_roles() {
        let accounts = vec![
            acct("u1", "%", false),
            acct("u2", "%", false),
            acct("u3", "%", false),
            acct("u4", "%", false),
            acct("r1", "", true),
            acct("r2", "", true),
        ];
        let s = |x: &str| x.to_string();
        let privileges = vec![
            (s("u1"), s("%"), s(r"a\_b"), true),
            (s("u2"), s("%"), s("a_b"), false),
            (s("u3"), s("%"), s("other"), true),
            (s("r1"), s(""), s("a%"), true),
            (s("gone"), s("%"), s("a_b"), true),
        ];
        // u4 holds r2, which holds r1.
        let members = vec![
            (s("r2"), s(""), s("r1"), s("")),
            (s("u4"), s("%"), s("r2"), s("")),
        ];
        let chosen = accounts_for(&accounts, &privileges, &members, &[s("a_b")], false);
        let names: Vec<&str> = chosen.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(names, ["r1", "r2", "u1", "u2", "u4"]);
        let none = accounts_for(&accounts, &privileges, &members, &[s("A_B")], false);
        assert!(none.is_empty());
        let folded = accounts_for(&accounts, &privileges, &members, &[s("A_B")], true);
        assert_eq!(folded.len(), 5);
    }
}
