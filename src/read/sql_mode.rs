//! The session's sql_mode as a script's own `SET` statements change it (see [`ModeTracker`]):
//! the splitter reads each statement under the mode the server will run it in.

use std::collections::HashMap;

/// Follows the one part of the session's sql_mode that changes where a statement ends:
/// `NO_BACKSLASH_ESCAPES`, under which a backslash inside quotes is an ordinary byte.
///
/// Reads every `SET` of the script (versioned or not): `sql_mode`, `@@sql_mode`,
/// `@@SESSION.sql_mode` set from a string literal, from `@@sql_mode`, or from a user variable
/// that holds a known mode (`SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='…'` then
/// `SET SQL_MODE=@OLD_SQL_MODE`; `SET @m='…'`). A value it cannot know (an expression,
/// `DEFAULT`, a variable never set) leaves the mode as it was. Named combinations (`ANSI`,
/// `ORACLE`, `TRADITIONAL`, `MSSQL` …) never include `NO_BACKSLASH_ESCAPES`, so only the
/// flag's own name turns it on.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModeTracker {
    no_backslash_escapes: bool,
    /// User variables (lower-case names, without `@`) known to hold a sql_mode, and whether
    /// that mode has `NO_BACKSLASH_ESCAPES`.
    saved: HashMap<Vec<u8>, bool>,
}

/// The tokens of a `SET` statement that matter to it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SetToken {
    /// A bare word, `@var`, `@@scope.name`, or a backquoted name; upper-cased.
    Word(Vec<u8>),
    /// A quoted string's content.
    Str(Vec<u8>),
    Punct(u8),
}

impl ModeTracker {
    pub fn new(no_backslash_escapes: bool) -> Self {
        ModeTracker {
            no_backslash_escapes,
            saved: HashMap::new(),
        }
    }

    pub fn no_backslash_escapes(&self) -> bool {
        self.no_backslash_escapes
    }

    /// Takes in a statement that ran: changes the mode when it is a `SET` of sql_mode.
    pub fn observe(&mut self, sql: &[u8]) {
        // Every statement passes here: anything that cannot start a SET (rows above all) is
        // turned away on its first byte.
        if !matches!(sql.first(), Some(b'S' | b's' | b'/')) {
            return;
        }
        let tokens = set_tokens(sql, self.no_backslash_escapes);
        let Some((SetToken::Word(first), rest)) = tokens.split_first() else {
            return;
        };
        // SET STATEMENT … FOR changes the mode of that one statement only.
        if first != b"SET" || rest.first() == Some(&SetToken::Word(b"STATEMENT".to_vec())) {
            return;
        }
        let mut depth = 0usize;
        let mut start = 0;
        for (i, t) in rest.iter().enumerate() {
            match t {
                SetToken::Punct(b'(') => depth += 1,
                SetToken::Punct(b')') => depth = depth.saturating_sub(1),
                SetToken::Punct(b',') if depth == 0 => {
                    self.assign(&rest[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        self.assign(&rest[start..]);
    }

    /// One `target = value` of a SET.
    fn assign(&mut self, item: &[SetToken]) {
        let Some(eq) = item.iter().position(|t| *t == SetToken::Punct(b'=')) else {
            return; // SET NAMES x, SET CHARACTER SET x
        };
        let target: Vec<&Vec<u8>> = item[..eq]
            .iter()
            .filter_map(|t| match t {
                SetToken::Word(w) => Some(w),
                _ => None,
            })
            .collect();
        let value = match &item[eq + 1..] {
            [SetToken::Str(s)] => Some(has_no_backslash_escapes(s)),
            [SetToken::Word(w)] if is_session_sql_mode(w) => Some(self.no_backslash_escapes),
            [SetToken::Word(w)] if w.starts_with(b"@") && !w.starts_with(b"@@") => {
                self.saved.get(&w[1..].to_ascii_lowercase()).copied()
            }
            _ => None,
        };
        if target_is_sql_mode(&target) {
            if let Some(v) = value {
                self.no_backslash_escapes = v;
            }
        } else if let [w] = target.as_slice()
            && w.starts_with(b"@")
            && !w.starts_with(b"@@")
        {
            let name = w[1..].to_ascii_lowercase();
            match value {
                Some(v) => {
                    self.saved.insert(name, v);
                }
                None => {
                    self.saved.remove(&name);
                }
            }
        }
    }
}

/// `sql_mode`, `SESSION sql_mode`, `LOCAL sql_mode`, `@@sql_mode`, `@@SESSION.sql_mode`,
/// `@@LOCAL.sql_mode` (upper-cased words); not the GLOBAL one, which no running session sees.
fn target_is_sql_mode(words: &[&Vec<u8>]) -> bool {
    match words {
        [w] => w.as_slice() == b"SQL_MODE" || is_session_sql_mode(w),
        [scope, w] => {
            matches!(scope.as_slice(), b"SESSION" | b"LOCAL") && w.as_slice() == b"SQL_MODE"
        }
        _ => false,
    }
}

fn is_session_sql_mode(w: &[u8]) -> bool {
    matches!(
        w,
        b"@@SQL_MODE" | b"@@SESSION.SQL_MODE" | b"@@LOCAL.SQL_MODE"
    )
}

/// Whether a sql_mode value (`'A,B,C'`) names `NO_BACKSLASH_ESCAPES`.
fn has_no_backslash_escapes(mode: &[u8]) -> bool {
    mode.split(|b| *b == b',')
        .any(|m| m.trim_ascii().eq_ignore_ascii_case(b"NO_BACKSLASH_ESCAPES"))
}

/// The tokens of a statement, the way the server reads a `SET`: comments skipped, the
/// markers of versioned comments dropped (their content is code), strings unescaped as the
/// mode in force reads them.
fn set_tokens(sql: &[u8], no_backslash_escapes: bool) -> Vec<SetToken> {
    let mut out = Vec::new();
    let mut i = 0;
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'@' | b'.');
    while i < sql.len() {
        // Only a SET is read on: a SELECT holding a 60 MB string would otherwise be copied
        // into its tokens (a second and third copy of the statement, and its time).
        if out.len() == 1 && out[0] != SetToken::Word(b"SET".to_vec()) {
            break;
        }
        let b = sql[i];
        let next = sql.get(i + 1).copied();
        match b {
            _ if b.is_ascii_whitespace() => i += 1,
            b'#' => i = skip_past(sql, i, b"\n"),
            b'-' if next == Some(b'-') && sql.get(i + 2).is_none_or(|c| *c <= b' ') => {
                i = skip_past(sql, i, b"\n")
            }
            b'/' if next == Some(b'*') => {
                let mut j = i + 2;
                if sql.get(j) == Some(&b'M') && sql.get(j + 1) == Some(&b'!') {
                    j += 1;
                }
                if sql.get(j) != Some(&b'!') {
                    i = skip_past(sql, i + 2, b"*/");
                    continue;
                }
                j += 1;
                let digits = sql[j..].iter().take_while(|c| c.is_ascii_digit()).count();
                // The sandbox-mode line of mariadb-dump (`/*M!999999\- … */`) is never run.
                if digits == 6 && &sql[j..j + digits] >= b"999999".as_slice() {
                    i = skip_past(sql, j, b"*/");
                } else {
                    i = j + digits;
                }
            }
            b'*' if next == Some(b'/') => i += 2,
            b'\'' | b'"' | b'`' => {
                let mut value = Vec::new();
                let mut j = i + 1;
                while j < sql.len() {
                    let c = sql[j];
                    if c == b && sql.get(j + 1) == Some(&b) {
                        value.push(c);
                        j += 2;
                    } else if c == b {
                        break;
                    } else if c == b'\\' && b != b'`' && !no_backslash_escapes {
                        value.extend(sql.get(j + 1));
                        j += 2;
                    } else {
                        value.push(c);
                        j += 1;
                    }
                }
                i = j + 1;
                out.push(if b == b'`' {
                    SetToken::Word(value.to_ascii_uppercase())
                } else {
                    SetToken::Str(value)
                });
            }
            _ if word_byte(b) || b >= 0x80 => {
                let start = i;
                while i < sql.len() && (word_byte(sql[i]) || sql[i] >= 0x80) {
                    i += 1;
                }
                out.push(SetToken::Word(sql[start..i].to_ascii_uppercase()));
            }
            _ => {
                out.push(SetToken::Punct(b));
                i += 1;
            }
        }
    }
    out
}

/// The index after the first `end` at or after `from` (the end of `sql` when there is none).
fn skip_past(sql: &[u8], from: usize, end: &[u8]) -> usize {
    match memchr::memmem::find(&sql[from.min(sql.len())..], end) {
        Some(k) => from + k + end.len(),
        None => sql.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms dumps use to set, save and restore the mode, versioned or not, in any case.
    #[test]
    fn the_mode_is_followed_through_saves_and_restores() {
        let cases: &[(&str, bool)] = &[
            ("SET sql_mode = 'NO_BACKSLASH_ESCAPES'", true),
            ("SET SQL_MODE='no_backslash_escapes,ANSI'", true),
            (
                "/*!40101 SET SQL_MODE='ANSI_QUOTES,NO_BACKSLASH_ESCAPES' */",
                true,
            ),
            (
                "/*!50003 SET sql_mode = 'STRICT_ALL_TABLES, NO_BACKSLASH_ESCAPES' */",
                true,
            ),
            ("SET @@SESSION.sql_mode := 'NO_BACKSLASH_ESCAPES'", true),
            ("SET SESSION sql_mode='NO_BACKSLASH_ESCAPES'", true),
            ("SET sql_mode = 'ORACLE'", false),
            ("SET sql_mode = 'ANSI'", false),
            ("SET sql_mode = 'NO_BACKSLASH_ESCAPES_X'", false),
            ("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES'", false),
            ("SET @@GLOBAL.sql_mode = 'NO_BACKSLASH_ESCAPES'", false),
            (
                "SET STATEMENT sql_mode='NO_BACKSLASH_ESCAPES' FOR SELECT 1",
                false,
            ),
            ("SELECT 'SET sql_mode = ''NO_BACKSLASH_ESCAPES'''", false),
            ("/*M!999999 SET sql_mode='NO_BACKSLASH_ESCAPES' */", false),
        ];
        for (sql, on) in cases {
            let mut m = ModeTracker::new(false);
            m.observe(sql.as_bytes());
            assert_eq!(m.no_backslash_escapes(), *on, "{sql}");
        }

        let mut m = ModeTracker::new(false);
        let mut step = |sql: &str| {
            m.observe(sql.as_bytes());
            m.no_backslash_escapes()
        };
        // Our header: the old mode saved in the same statement that sets the new one.
        assert!(step(
            "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_BACKSLASH_ESCAPES' */"
        ));
        // A routine's mode, saved and restored around it.
        assert!(step("/*!50003 SET @saved_sql_mode = @@sql_mode */"));
        assert!(!step("/*!50003 SET sql_mode = 'ORACLE' */"));
        assert!(step("/*!50003 SET sql_mode = @saved_sql_mode */"));
        assert!(!step("/*!40101 SET SQL_MODE=@OLD_SQL_MODE */"));
        // A variable holding a mode by its text.
        assert!(!step("SET @m = 'NO_BACKSLASH_ESCAPES', @n = ''"));
        assert!(step("SET NAMES utf8mb4, sql_mode = @m"));
        assert!(!step("SET sql_mode = @n"));
        // What cannot be known keeps the mode in force.
        assert!(step("SET sql_mode = @m"));
        assert!(step("SET sql_mode = @never_set"));
        assert!(step("SET sql_mode = DEFAULT"));
        assert!(step("SET sql_mode = CONCAT(@@sql_mode, ',ANSI')"));
        assert!(step("SET @m = CONCAT('a', 'b')"));
        assert!(
            step("SET sql_mode = @m"),
            "a variable overwritten by an unknown value"
        );
    }

    /// Anything but a SET is not read past its first word: its strings would be copied.
    #[test]
    fn only_a_set_is_tokenized_whole() {
        let select = set_tokens(b"/*!40101 SELECT 'a', 'b' */", false);
        assert_eq!(select, vec![SetToken::Word(b"SELECT".to_vec())]);
        assert_eq!(set_tokens(b"SET @a = 'x'", false).len(), 4);
    }

    /// Under the mode, the SET's own string is read without escapes too.
    #[test]
    fn a_mode_set_under_the_mode_is_read_under_it() {
        let mut m = ModeTracker::new(true);
        m.observe(b"SET @x = 'a\\', sql_mode = ''");
        assert!(!m.no_backslash_escapes());
        assert_eq!(m.saved.get(&b"x"[..]), Some(&false));
    }
}
