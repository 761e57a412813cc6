//! Restoring an accounts file (`<dump>_users.sql[.enc]`, written by `grants`): only when asked,
//! only the statements such a file holds, and never to the harm of an account that exists.
//!
//! The whole file is read and checked before anything runs: each statement must be `CREATE
//! USER`, `CREATE ROLE`, `GRANT`, `SET DEFAULT ROLE … FOR` or `FLUSH PRIVILEGES`, naming one
//! account, with no comment inside (a `/*! … */` comment is code the server runs); anything
//! else refuses the file. MariaDB's `SHOW GRANTS` lines carry `IDENTIFIED BY PASSWORD`, so a
//! replayed GRANT re-sets a password: an account (or role) that exists on the server is
//! therefore left entirely alone, none of its statements run, not even the ones that would
//! only add privileges (more privileges are a change too, and the server's account is the one
//! in use). It is listed as such. Accounts are created with a plain `CREATE USER`/`CREATE ROLE`
//! (the file's `IF NOT EXISTS` taken away), so one created by someone else since the check
//! makes the server answer 1396 and is left alone too, instead of receiving the file's GRANTs.

use std::path::{Path, PathBuf};

use mysql_async::Conn;
use mysql_async::prelude::*;

use super::apply::{Applied, Options};
use crate::error::{DbError, Error, Result};
use crate::grants::lines::{self, Target, Token, is_word, name, spanned_tokens};
use crate::progress::{Event, Progress};
use crate::read::split::{Position, Statement};
use crate::sql::value::string_literal;

/// The server's answer to CREATE USER/ROLE for an account that exists.
const ER_CANNOT_USER: u16 = 1396;

/// What a statement of an accounts file does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    CreateUser,
    CreateRole,
    Grant,
    SetDefaultRole,
    Flush,
}

/// An account as a statement names it: `host` None when named without one (a MariaDB role,
/// or a user at `%`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub user: String,
    pub host: Option<String>,
}

impl Named {
    /// `'user'@'host'`, `'role'`, or `PUBLIC`.
    pub fn literal(&self) -> String {
        if self.is_public() {
            return "PUBLIC".into();
        }
        match &self.host {
            Some(h) => format!("{}@{}", string_literal(&self.user), string_literal(h)),
            None => string_literal(&self.user),
        }
    }

    /// MariaDB's role of every account: granting to it changes what everyone may do, and it
    /// always exists.
    fn is_public(&self) -> bool {
        self.host.is_none() && self.user.eq_ignore_ascii_case("PUBLIC")
    }

    /// The same account: hosts compare without case (the server's rule), and a name without
    /// a host is the role (host '') or the user at '%'.
    fn same(&self, user: &str, host: Option<&str>) -> bool {
        self.user == user
            && match (self.host.as_deref(), host) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                (None, Some(h)) | (Some(h), None) => h.is_empty() || h == "%",
            }
    }

    fn in_list(&self, list: &[Named]) -> bool {
        list.iter().any(|n| self.same(&n.user, n.host.as_deref()))
    }
}

/// One checked statement of an accounts file.
#[derive(Clone, Debug)]
pub struct Checked {
    pub sql: String,
    pub at: Position,
    pub action: Action,
    /// The account it creates or changes (None for FLUSH PRIVILEGES).
    pub account: Option<Named>,
}

/// An accounts file, read whole and checked.
#[derive(Clone, Debug)]
pub struct AccountsFile {
    pub path: PathBuf,
    pub statements: Vec<Checked>,
}

/// What restoring (or, with `--dry-run`, planning) an accounts file did to each account.
#[derive(Clone, Debug, Default)]
pub struct AccountsReport {
    pub path: PathBuf,
    /// Accounts created (dry run: to be created), as `'user'@'host'`.
    pub created: Vec<String>,
    /// Accounts that exist and were not changed at all.
    pub left_alone: Vec<String>,
    /// `--grants-to-target`: (source, target, grants re-pointed).
    pub repointed: Vec<(String, String, usize)>,
}

impl AccountsFile {
    /// Checks every statement; the first that is not an accounts statement refuses the file.
    /// `no_backslash_escapes`: the session runs them under NO_BACKSLASH_ESCAPES.
    pub fn check(
        path: &Path,
        statements: Vec<Statement>,
        no_backslash_escapes: bool,
    ) -> Result<AccountsFile> {
        let mut out = Vec::with_capacity(statements.len());
        for st in statements {
            let sql = String::from_utf8(st.sql).map_err(|_| {
                refused(
                    path,
                    &st.at,
                    "is not UTF-8 text (SHOW GRANTS output always is)",
                )
            })?;
            if sql.trim().is_empty() {
                continue;
            }
            let (action, account) = parse(&sql, no_backslash_escapes)
                .map_err(|reason| refused(path, &st.at, &reason))?;
            out.push(Checked {
                sql,
                at: st.at,
                action,
                account,
            });
        }
        Ok(AccountsFile {
            path: path.to_owned(),
            statements: out,
        })
    }

    /// The accounts the file names, each once, in the order they first appear.
    pub fn accounts(&self) -> Vec<Named> {
        let mut all: Vec<Named> = Vec::new();
        for a in self.statements.iter().filter_map(|s| s.account.as_ref()) {
            if !a.in_list(&all) {
                all.push(a.clone());
            }
        }
        all
    }

    /// Grants naming database `db` (at database, table or routine level; a database-level
    /// pattern when its escapes taken away it is `db`).
    pub fn grants_on(&self, db: &str) -> usize {
        self.statements
            .iter()
            .filter(|s| s.action == Action::Grant)
            .filter(|s| lines::repoint(&s.sql, db, db).is_some())
            .count()
    }

    /// The databases the file's grants name, other than `except`, each once.
    pub fn databases_named(&self, except: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.statements.iter().filter(|s| s.action == Action::Grant) {
            if let Target::Database { name, .. } = lines::target(&s.sql)
                && !except.contains(&name)
                && !out.contains(&name)
            {
                out.push(name);
            }
        }
        out
    }

    /// `--grants-to-target`: the grants on each pair's source database are made on its
    /// target instead, each grant by the first pair that names it (so `a→b, b→c` does not
    /// carry a's grants on to c). Returns how many per pair will be made: not those of the
    /// accounts `left_alone` (that exist on the server), whose grants are never applied.
    pub fn repoint(&mut self, pairs: &[(String, String)], left_alone: &[Named]) -> Vec<usize> {
        let mut counts = vec![0; pairs.len()];
        for s in self
            .statements
            .iter_mut()
            .filter(|s| s.action == Action::Grant)
        {
            let applied = !s
                .account
                .as_ref()
                .is_some_and(|a| a.is_public() || a.in_list(left_alone));
            for (i, (from, to)) in pairs.iter().enumerate() {
                if let Some(new) = lines::repoint(&s.sql, from, to) {
                    s.sql = new;
                    counts[i] += usize::from(applied);
                    break;
                }
            }
        }
        counts
    }
}

fn refused(path: &Path, at: &Position, reason: &str) -> Error {
    Error::Unsupported(format!(
        "accounts file {}: {at} {reason}. The accounts file is refused and nothing was \
         restored: it may hold only CREATE USER, CREATE ROLE, GRANT, SET DEFAULT ROLE … FOR and \
         FLUSH PRIVILEGES statements, one account each. Correct the file, or restore without \
         --grants",
        path.display()
    ))
}

/// What a statement does and to which account, or why it is refused. `no_backslash_escapes`
/// as in [`AccountsFile::check`].
pub fn parse(
    sql: &str,
    no_backslash_escapes: bool,
) -> std::result::Result<(Action, Option<Named>), String> {
    if let Some(what) = hidden_code(sql, no_backslash_escapes) {
        return Err(format!("holds {what}"));
    }
    let spanned = spanned_tokens(sql);
    let t: Vec<Token> = spanned.into_iter().map(|(t, _)| t).collect();
    let head: Vec<String> = t
        .iter()
        .take(2)
        .take_while(|x| matches!(x, Token::Word(_)))
        .filter_map(|x| name(Some(x)))
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let shown = if head.is_empty() {
        "something else".to_owned()
    } else {
        head.join(" ")
    };
    let other = || format!("is {shown}, not an accounts statement");
    if is_word(t.first(), "CREATE") {
        let action = if is_word(t.get(1), "USER") {
            Action::CreateUser
        } else if is_word(t.get(1), "ROLE") {
            Action::CreateRole
        } else if is_word(t.get(1), "OR") {
            return Err(
                "is CREATE OR REPLACE, which would drop an account that exists and make it anew"
                    .into(),
            );
        } else {
            return Err(other());
        };
        let mut i = 2;
        if is_word(t.get(2), "IF") && is_word(t.get(3), "NOT") && is_word(t.get(4), "EXISTS") {
            i = 5;
        }
        let (mut account, next) = account_at(&t, i)?;
        let rest = &t[next..];
        if action == Action::CreateUser {
            // A user named without a host is the user at '%'.
            account.host.get_or_insert_with(|| "%".into());
            // MySQL's `DEFAULT ROLE r1, r2` is a list; a comma before it names a second user.
            let before_roles = rest
                .windows(2)
                .position(|w| is_word(Some(&w[0]), "DEFAULT") && is_word(Some(&w[1]), "ROLE"))
                .unwrap_or(rest.len());
            if rest[..before_roles].contains(&Token::Punct(',')) {
                return Err("names more than one account".into());
            }
        } else if !rest.is_empty() {
            return Err(
                "is CREATE ROLE with more than the role's name (WITH ADMIN would hand the role \
                 to another account)"
                    .into(),
            );
        }
        return Ok((action, Some(account)));
    }
    if is_word(t.first(), "GRANT") {
        let Some(to) = t.iter().position(|x| is_word(Some(x), "TO")) else {
            return Err("is a GRANT without TO".into());
        };
        let (account, next) = account_at(&t, to + 1)?;
        if t[next..].contains(&Token::Punct(',')) {
            return Err("names more than one account".into());
        }
        return Ok((Action::Grant, Some(account)));
    }
    if is_word(t.first(), "SET") && is_word(t.get(1), "DEFAULT") && is_word(t.get(2), "ROLE") {
        // MariaDB: SET DEFAULT ROLE r FOR u; MySQL: SET DEFAULT ROLE r TO u.
        let Some(k) = t
            .iter()
            .position(|x| is_word(Some(x), "FOR") || is_word(Some(x), "TO"))
        else {
            return Err(
                "is SET DEFAULT ROLE without FOR, which would change the account running the \
                 restore"
                    .into(),
            );
        };
        let (account, next) = account_at(&t, k + 1)?;
        if next != t.len() {
            return Err("names more than one account".into());
        }
        return Ok((Action::SetDefaultRole, Some(account)));
    }
    if t.len() == 2 && is_word(t.first(), "FLUSH") && is_word(t.get(1), "PRIVILEGES") {
        return Ok((Action::Flush, None));
    }
    Err(other())
}

/// The account named at `t[i]` (`'u'@'h'`, `u@h`, `'r'`), and the index after it.
fn account_at(t: &[Token], i: usize) -> std::result::Result<(Named, usize), String> {
    let user = match t.get(i) {
        Some(w @ Token::Word(x))
            if x.eq_ignore_ascii_case("CURRENT_USER") || x.eq_ignore_ascii_case("CURRENT_ROLE") =>
        {
            return Err(format!(
                "names {}, which is the account running the restore",
                name(Some(w)).unwrap_or_default().to_ascii_uppercase()
            ));
        }
        Some(x @ (Token::Word(_) | Token::Quoted(_))) => name(Some(x)).unwrap_or_default(),
        _ => return Err("names no account where one belongs".into()),
    };
    if t.get(i + 1) == Some(&Token::Punct('@')) {
        match t.get(i + 2) {
            Some(h @ (Token::Word(_) | Token::Quoted(_))) => Ok((
                Named {
                    user,
                    host: name(Some(h)),
                },
                i + 3,
            )),
            _ => Err("names an account without its host after @".into()),
        }
    } else {
        Ok((Named { user, host: None }, i + 1))
    }
}

/// A comment outside quotes (`/*! … */` is code the server runs, `--` and `#` hide the rest
/// of a line), or a second statement: what the statement holds that the check cannot see.
/// Under NO_BACKSLASH_ESCAPES a backslash in a string is refused as well: the server would end
/// the string where the account parser (which reads `\'` as a quote) does not.
fn hidden_code(sql: &str, no_backslash_escapes: bool) -> Option<&'static str> {
    let b = sql.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q != b'`' {
                    if no_backslash_escapes {
                        return Some(
                            "a backslash in a quoted string, which the server reads as a plain \
                             character (sql_mode NO_BACKSLASH_ESCAPES)",
                        );
                    }
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' | b'`' => quote = Some(c),
                b'/' if b.get(i + 1) == Some(&b'*') => return Some("a /* comment */"),
                b'#' => return Some("a # comment"),
                b'-' if b.get(i + 1) == Some(&b'-') => return Some("a -- comment"),
                b';' => return Some("a second statement after ;"),
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// The accounts the file names that exist on the server (PUBLIC always does).
pub async fn existing(conn: &mut Conn, file: &AccountsFile) -> Result<Vec<Named>> {
    let rows: Vec<(String, String)> = conn
        .query("SELECT User, Host FROM mysql.user")
        .await
        .map_err(|e| {
            Error::server(
                format!(
                    "reading mysql.user to tell the accounts of {} that exist (left alone) from \
                     those to create; nothing of the accounts file was applied. The restoring \
                     account needs SELECT on mysql.user for --grants",
                    file.path.display()
                ),
                e,
            )
        })?;
    Ok(file
        .accounts()
        .into_iter()
        .filter(|a| a.is_public() || rows.iter().any(|(u, h)| a.same(u, Some(h))))
        .collect())
}

/// What a dry run would do: every account the file names either created or left alone.
pub fn plan(file: &AccountsFile, existing: &[Named]) -> AccountsReport {
    let (left, new): (Vec<Named>, Vec<Named>) = file
        .accounts()
        .into_iter()
        .partition(|a| a.in_list(existing));
    AccountsReport {
        path: file.path.clone(),
        created: new.iter().map(Named::literal).collect(),
        left_alone: left.iter().map(Named::literal).collect(),
        repointed: Vec::new(),
    }
}

/// Runs the file's statements in order on one connection, none of those of an account in
/// `existing` or found to exist when creating it.
pub async fn apply(
    main: &mut Conn,
    file: &AccountsFile,
    existing: Vec<Named>,
    opts: Options,
    progress: &dyn Progress,
) -> Result<(Applied, AccountsReport)> {
    let mut out = Applied::default();
    let mut left_alone = existing;
    let mut created: Vec<Named> = Vec::new();
    for st in &file.statements {
        if let Some(a) = &st.account
            && (a.is_public() || a.in_list(&left_alone))
        {
            out.skipped += 1;
            continue;
        }
        let sql = match st.action {
            Action::CreateUser | Action::CreateRole => without_if_not_exists(&st.sql),
            _ => st.sql.clone(),
        };
        match main.query_drop(sql.as_str()).await {
            Ok(()) => {
                out.statements += 1;
                if let Some(a) = &st.account
                    && !a.in_list(&created)
                {
                    created.push(a.clone());
                }
            }
            Err(e) => {
                let e = DbError(e);
                if e.server_code() == Some(ER_CANNOT_USER)
                    && matches!(st.action, Action::CreateUser | Action::CreateRole)
                    && let Some(a) = &st.account
                {
                    // Created by someone else since the check: theirs, left alone.
                    left_alone.push(a.clone());
                    out.skipped += 1;
                    continue;
                }
                let err = Error::Statement {
                    file: file.path.clone(),
                    statement: st.at.number,
                    line: st.at.line,
                    offset: st.at.offset,
                    problem: e.to_string(),
                };
                if !opts.continue_on_error || e.is_connection_lost() {
                    return Err(err);
                }
                let text = err.to_string();
                progress.event(&Event::Warning(&text));
                out.failures.push(text);
            }
        }
    }
    let order = file.accounts();
    left_alone.extend(order.iter().filter(|a| a.is_public()).cloned());
    let listed = |set: &[Named]| -> Vec<String> {
        order
            .iter()
            .filter(|a| a.in_list(set))
            .map(Named::literal)
            .collect()
    };
    Ok((
        out,
        AccountsReport {
            path: file.path.clone(),
            created: listed(&created),
            left_alone: listed(&left_alone),
            repointed: Vec::new(),
        },
    ))
}

/// `CREATE USER IF NOT EXISTS x …` → `CREATE USER x …`: an account that appeared since the
/// check makes the statement fail (1396) instead of passing with a note, so its GRANTs are
/// not run either.
fn without_if_not_exists(sql: &str) -> String {
    let spanned = spanned_tokens(sql);
    let w = |i: usize, word: &str| spanned.get(i).is_some_and(|(t, _)| is_word(Some(t), word));
    if w(0, "CREATE") && w(2, "IF") && w(3, "NOT") && w(4, "EXISTS") && spanned.len() > 5 {
        return format!(
            "{}{}",
            &sql[..spanned[2].1.start],
            &sql[spanned[5].1.start..]
        );
    }
    sql.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(sql: &str) -> (Action, Option<Named>) {
        parse(sql, false).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn named(user: &str, host: Option<&str>) -> Option<Named> {
        Some(Named {
            user: user.into(),
            host: host.map(Into::into),
        })
    }

    #[test]
    fn accounts_statements_are_recognised_with_their_account() {
        assert_eq!(
            ok("CREATE USER IF NOT EXISTS `u1`@`%` IDENTIFIED BY PASSWORD '*D82'"),
            (Action::CreateUser, named("u1", Some("%")))
        );
        assert_eq!(
            ok(
                "CREATE USER 'o\\'q'@'10.0.0.%' IDENTIFIED BY PASSWORD '*A' WITH MAX_QUERIES_PER_HOUR 7"
            ),
            (Action::CreateUser, named("o'q", Some("10.0.0.%")))
        );
        assert_eq!(
            ok("CREATE USER `u`"),
            (Action::CreateUser, named("u", Some("%")))
        );
        assert_eq!(
            ok(
                "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x2441 \
                REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK DEFAULT ROLE `r1`@`%`,`r2`@`%`"
            ),
            (Action::CreateUser, named("app", Some("%")))
        );
        assert_eq!(
            ok("CREATE ROLE IF NOT EXISTS `r1`"),
            (Action::CreateRole, named("r1", None))
        );
        assert_eq!(
            ok("GRANT USAGE ON *.* TO `u1`@`%` IDENTIFIED BY PASSWORD '*D8'"),
            (Action::Grant, named("u1", Some("%")))
        );
        assert_eq!(
            ok("GRANT SELECT (`c`, `to`) ON `a`.`t` TO `u`@`h` WITH GRANT OPTION"),
            (Action::Grant, named("u", Some("h")))
        );
        assert_eq!(
            ok("GRANT SELECT ON `shop`.* TO `r1`"),
            (Action::Grant, named("r1", None))
        );
        assert_eq!(
            ok("GRANT `r1` TO `u1`@`%` WITH ADMIN OPTION"),
            (Action::Grant, named("u1", Some("%")))
        );
        assert_eq!(
            ok("GRANT SELECT ON `d`.* TO PUBLIC"),
            (Action::Grant, named("PUBLIC", None))
        );
        assert_eq!(
            ok("SET DEFAULT ROLE `r1` FOR `u1`@`%`"),
            (Action::SetDefaultRole, named("u1", Some("%")))
        );
        assert_eq!(
            ok("SET DEFAULT ROLE `r1`@`%`, `r2`@`%` TO `u`@`%`"),
            (Action::SetDefaultRole, named("u", Some("%")))
        );
        assert_eq!(ok("flush privileges"), (Action::Flush, None));
        // Quoted text may hold anything.
        assert_eq!(
            ok("CREATE USER 'a--b'@'h#1' IDENTIFIED BY PASSWORD '/*;*/'"),
            (Action::CreateUser, named("a--b", Some("h#1")))
        );
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        let no = |sql: &str| parse(sql, false).expect_err(sql);
        assert!(no("DROP USER IF EXISTS 'u'@'%'").contains("is DROP USER,"));
        assert!(no("DROP DATABASE shop").contains("is DROP DATABASE"));
        assert!(no("ALTER USER 'u'@'%' IDENTIFIED BY 'x'").contains("is ALTER USER"));
        assert!(no("REVOKE ALL ON *.* FROM 'u'@'%'").contains("is REVOKE"));
        assert!(no("SET PASSWORD FOR 'u'@'%' = PASSWORD('x')").contains("is SET PASSWORD"));
        assert!(no("UPDATE mysql.global_priv SET Priv = '{}'").contains("is UPDATE"));
        assert!(no("CREATE OR REPLACE USER 'u'@'%'").contains("CREATE OR REPLACE"));
        assert!(no("CREATE USER 'a'@'%', 'b'@'%'").contains("more than one account"));
        assert!(
            no("CREATE USER 'a'@'%' IDENTIFIED BY PASSWORD '*1', 'b'@'%'")
                .contains("more than one account")
        );
        assert!(no("GRANT SELECT ON d.* TO 'a'@'%', 'b'@'%'").contains("more than one account"));
        assert!(no("CREATE ROLE r WITH ADMIN 'root'@'localhost'").contains("WITH ADMIN"));
        assert!(no("SET DEFAULT ROLE r").contains("without FOR"));
        assert!(no("GRANT SELECT ON d.* TO CURRENT_USER").contains("CURRENT_USER"));
        assert!(no("GRANT SELECT ON d.* TO CURRENT_USER()").contains("CURRENT_USER"));
        assert!(
            no("GRANT SELECT ON d.* TO 'u'@'%' /*!, 'root'@'localhost' */").contains("comment")
        );
        assert!(no("GRANT SELECT ON d.* TO 'u'@'%' -- x").contains("comment"));
        assert!(no("GRANT SELECT ON d.* TO 'u'@'%' # x").contains("comment"));
        assert!(no("GRANT SELECT ON d.* TO 'u'@'%'; DROP USER x").contains("second statement"));
        assert!(no("GRANT SELECT ON d.*").contains("without TO"));
        assert!(no("GRANT SELECT ON d.* TO 'u'@").contains("without its host"));
        assert!(no("FLUSH TABLES").contains("is FLUSH TABLES"));
        assert!(no("/*!40101 SET NAMES utf8 */").contains("comment"));
        // Where the server does not take `\'` as an escape, the parser would see one account
        // and the server two.
        let two = r"GRANT ALL ON *.* TO 'x\' , 'root'@'localhost'";
        assert!(
            parse(two, true)
                .expect_err(two)
                .contains("NO_BACKSLASH_ESCAPES")
        );
        assert!(parse(r"GRANT SELECT ON `a\_b`.* TO 'u'@'%'", true).is_ok());
    }

    #[test]
    fn a_create_runs_without_if_not_exists() {
        assert_eq!(
            without_if_not_exists("CREATE USER IF NOT EXISTS `u`@`%` IDENTIFIED BY PASSWORD '*A'"),
            "CREATE USER `u`@`%` IDENTIFIED BY PASSWORD '*A'"
        );
        assert_eq!(
            without_if_not_exists("create role if not exists `r`"),
            "create role `r`"
        );
        assert_eq!(without_if_not_exists("CREATE USER `u`"), "CREATE USER `u`");
    }

    #[test]
    fn names_without_a_host_are_roles_or_users_at_any_host() {
        let role = Named {
            user: "r".into(),
            host: None,
        };
        assert!(role.same("r", Some("")));
        assert!(role.same("r", Some("%")));
        assert!(!role.same("r", Some("localhost")));
        assert!(!role.same("R", Some("")));
        let user = Named {
            user: "u".into(),
            host: Some("DB01".into()),
        };
        assert!(user.same("u", Some("db01")));
        assert!(!user.same("u", None));
        assert_eq!(user.literal(), "'u'@'DB01'");
        assert_eq!(role.literal(), "'r'");
    }
}
