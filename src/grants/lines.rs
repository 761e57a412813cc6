//! The lines of `SHOW GRANTS` (and the GRANT statements of an accounts file) read as tokens:
//! what a line is about (all databases, one database, a role, a proxy), and the same line
//! re-pointed at another database. Used by the export's filter and by `restore::accounts`.

use crate::quote::ident;

/// What a `SHOW GRANTS` line is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `ON *.*`; `usage_only` when the privileges are just `USAGE`.
    Global {
        usage_only: bool,
    },
    /// `ON db.*` (`pattern`) or `ON db.object`, `ON PROCEDURE db.p`…
    Database {
        name: String,
        pattern: bool,
    },
    /// `GRANT role TO …` or `SET DEFAULT ROLE role FOR …`.
    Role(String),
    /// `GRANT PROXY ON …`.
    Proxy,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

/// Splits a statement into words, quoted names (backquotes and `'…'`, unescaped) and `. @ * ,`;
/// parenthesised column lists are skipped.
pub(crate) fn tokens(line: &str) -> Vec<Token> {
    spanned_tokens(line).into_iter().map(|(t, _)| t).collect()
}

/// [`tokens`] with the byte range of each in `line` (quotes included), for rewriting one.
pub(crate) fn spanned_tokens(line: &str) -> Vec<(Token, std::ops::Range<usize>)> {
    let offsets: Vec<usize> = line.char_indices().map(|(o, _)| o).collect();
    let at = |i: usize| offsets.get(i).copied().unwrap_or(line.len());
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            '`' | '\'' | '"' => {
                let mut s = String::new();
                i += 1;
                while i < chars.len() {
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    if c != '`' && chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                i += 1;
                out.push((Token::Quoted(s), at(start)..at(i)));
            }
            '(' => {
                let mut depth = 0;
                let mut quote: Option<char> = None;
                while i < chars.len() {
                    let d = chars[i];
                    match quote {
                        Some(q) if d == q => quote = None,
                        Some(_) => {}
                        None if matches!(d, '`' | '\'' | '"') => quote = Some(d),
                        None if d == '(' => depth += 1,
                        None if d == ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        None => {}
                    }
                    i += 1;
                }
                i += 1;
            }
            '.' | '@' | '*' | ',' => {
                out.push((Token::Punct(c), at(start)..at(start + 1)));
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '`' | '\'' | '"' | '(' | '.' | '@' | '*' | ',')
                {
                    i += 1;
                }
                out.push((
                    Token::Word(chars[start..i].iter().collect()),
                    at(start)..at(i),
                ));
            }
        }
    }
    out
}

pub(crate) fn is_word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x.eq_ignore_ascii_case(w))
}

pub(crate) fn name(t: Option<&Token>) -> Option<String> {
    match t {
        Some(Token::Word(s)) | Some(Token::Quoted(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Classifies one line of `SHOW GRANTS`.
pub fn target(line: &str) -> Target {
    locate(&tokens(line)).0
}

/// Re-points a database-, table- or routine-level grant on database `from` at `to`: the line
/// with that name replaced, or None when it is about something else. A database-level grant
/// is a pattern: it is re-pointed when, its `\` escapes taken away, it is exactly `from`
/// (`a\_b` for `a_b`, written back escaped the same way); a wildcard (`shop%`) is not.
pub fn repoint(line: &str, from: &str, to: &str) -> Option<String> {
    let spanned = spanned_tokens(line);
    let t: Vec<Token> = spanned.iter().map(|(t, _)| t.clone()).collect();
    let (Target::Database { name, pattern }, Some(k)) = locate(&t) else {
        return None;
    };
    let escaped = pattern && name.contains('\\');
    let literal = if pattern { unescape(&name) } else { name };
    if literal != from {
        return None;
    }
    let new_name = if escaped {
        to.replace('\\', "\\\\")
            .replace('_', "\\_")
            .replace('%', "\\%")
    } else {
        to.to_owned()
    };
    let span = spanned[k].1.clone();
    Some(format!(
        "{}{}{}",
        &line[..span.start],
        ident(&new_name),
        &line[span.end..]
    ))
}

/// A grant's database pattern as the name it stands for: `\x` is `x`.
fn unescape(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// [`target`] of a tokenised line, and for a `Target::Database` the index of the database's
/// token.
fn locate(t: &[Token]) -> (Target, Option<usize>) {
    if is_word(t.first(), "SET") {
        // SET DEFAULT ROLE role FOR account
        if is_word(t.get(1), "DEFAULT") && is_word(t.get(2), "ROLE") {
            let role = name(t.get(3)).map(Target::Role).unwrap_or(Target::Other);
            return (role, None);
        }
        return (Target::Other, None);
    }
    if !is_word(t.first(), "GRANT") && !is_word(t.first(), "REVOKE") {
        return (Target::Other, None);
    }
    let end = t
        .iter()
        .position(|x| is_word(Some(x), "TO") || is_word(Some(x), "FROM"))
        .unwrap_or(t.len());
    let Some(on) = t[..end].iter().position(|x| is_word(Some(x), "ON")) else {
        let role = name(t.get(1)).map(Target::Role).unwrap_or(Target::Other);
        return (role, None);
    };
    let privileges = &t[1..on];
    if privileges.len() == 1 && is_word(privileges.first(), "PROXY") {
        return (Target::Proxy, None);
    }
    let mut k = on + 1;
    while ["TABLE", "FUNCTION", "PROCEDURE", "PACKAGE", "BODY"]
        .iter()
        .any(|w| is_word(t.get(k), w))
    {
        k += 1;
    }
    match (t.get(k), t.get(k + 1), t.get(k + 2)) {
        (Some(Token::Punct('*')), Some(Token::Punct('.')), Some(Token::Punct('*'))) => (
            Target::Global {
                usage_only: privileges.len() == 1 && is_word(privileges.first(), "USAGE"),
            },
            None,
        ),
        (Some(db @ (Token::Word(_) | Token::Quoted(_))), Some(Token::Punct('.')), Some(obj)) => (
            Target::Database {
                name: name(Some(db)).unwrap_or_default(),
                pattern: *obj == Token::Punct('*'),
            },
            Some(k),
        ),
        _ => (Target::Other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_lines_are_classified() {
        assert_eq!(
            target("GRANT USAGE ON *.* TO `u1`@`%` IDENTIFIED BY PASSWORD '*D8'"),
            Target::Global { usage_only: true }
        );
        assert_eq!(
            target("GRANT PROCESS ON *.* TO `u2`@`10.0.0.%`"),
            Target::Global { usage_only: false }
        );
        assert_eq!(
            target(r"GRANT SELECT ON `a\_b`.* TO `u1`@`%`"),
            Target::Database {
                name: r"a\_b".into(),
                pattern: true
            }
        );
        assert_eq!(
            target("GRANT SELECT (`c`, `on`) ON `a_b`.`t` TO `u2`@`10.0.0.%`"),
            Target::Database {
                name: "a_b".into(),
                pattern: false
            }
        );
        assert_eq!(
            target("GRANT EXECUTE ON PROCEDURE `d``x`.`p` TO `u`@`%`"),
            Target::Database {
                name: "d`x".into(),
                pattern: false
            }
        );
        assert_eq!(
            target("GRANT EXECUTE ON PACKAGE BODY `d`.`p` TO `u`@`%`"),
            Target::Database {
                name: "d".into(),
                pattern: false
            }
        );
        assert_eq!(
            target("GRANT `r1` TO `u1`@`%` WITH ADMIN OPTION"),
            Target::Role("r1".into())
        );
        assert_eq!(target("GRANT `r`@`%` TO `u`@`%`"), Target::Role("r".into()));
        assert_eq!(
            target("SET DEFAULT ROLE `r1` FOR `u1`@`%`"),
            Target::Role("r1".into())
        );
        assert_eq!(
            target("GRANT PROXY ON ``@`%` TO `root`@`localhost` WITH GRANT OPTION"),
            Target::Proxy
        );
        // A user called `ON` does not confuse the parser.
        assert_eq!(
            target("GRANT SELECT ON `shop`.* TO `ON`@`%`"),
            Target::Database {
                name: "shop".into(),
                pattern: true
            }
        );
        assert_eq!(
            target("REVOKE SELECT ON `shop`.* FROM `u`@`%`"),
            Target::Database {
                name: "shop".into(),
                pattern: true
            }
        );
    }

    #[test]
    fn grants_on_a_database_are_repointed_at_another() {
        let r = |l: &str| repoint(l, "a_b", "new_db");
        assert_eq!(
            r("GRANT SELECT, INSERT ON `a_b`.* TO `u`@`%`").as_deref(),
            Some("GRANT SELECT, INSERT ON `new_db`.* TO `u`@`%`")
        );
        // An escaped pattern for the name stays escaped.
        assert_eq!(
            r(r"GRANT SELECT ON `a\_b`.* TO `u`@`%`").as_deref(),
            Some(r"GRANT SELECT ON `new\_db`.* TO `u`@`%`")
        );
        assert_eq!(
            r("GRANT SELECT (`id`) ON `a_b`.`t` TO `u`@`%` WITH GRANT OPTION").as_deref(),
            Some("GRANT SELECT (`id`) ON `new_db`.`t` TO `u`@`%` WITH GRANT OPTION")
        );
        assert_eq!(
            r("GRANT EXECUTE ON PROCEDURE `a_b`.`p` TO `u`@`%`").as_deref(),
            Some("GRANT EXECUTE ON PROCEDURE `new_db`.`p` TO `u`@`%`")
        );
        assert_eq!(
            repoint("GRANT SELECT ON `é`.* TO `ü`@`%`", "é", "x`y").as_deref(),
            Some("GRANT SELECT ON `x``y`.* TO `ü`@`%`")
        );
        // Wildcards, other databases, global and role lines are left as they are.
        assert_eq!(r("GRANT SELECT ON `a%`.* TO `u`@`%`"), None);
        assert_eq!(r("GRANT SELECT ON `a_bc`.* TO `u`@`%`"), None);
        assert_eq!(r("GRANT USAGE ON *.* TO `u`@`%`"), None);
        assert_eq!(r("GRANT `a_b` TO `u`@`%`"), None);
        // A user called like the database is not a database.
        assert_eq!(r("GRANT SELECT ON `x`.* TO `a_b`@`%`"), None);
    }
}
