//! The session's sql_mode and client character set as a script's own `SET` statements change
//! them (see [`ModeTracker`]): the splitter reads each statement the way the server will.

use std::collections::HashMap;

use crate::lexing::{Lexing, Multibyte, mode_flags};

/// Follows the two session settings that change where a statement ends: sql_mode's
/// `NO_BACKSLASH_ESCAPES`, under which a backslash inside quotes is an ordinary byte, and
/// `character_set_client`, whose double-byte characters may end in a backslash or backquote
/// (sjis, cp932, big5, gbk: see `crate::multibyte`). Dumps switch the client character set
/// around each routine created under another (`SET character_set_client = sjis`, then back
/// through `@saved_cs_client`); `SET NAMES x` and `SET CHARACTER SET x` set it too.
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
    /// `ANSI_QUOTES`: not where a statement ends (a name in double quotes is cut like a
    /// string), but how its text reads (`"db"."t"` is a name, see `read::confine`).
    ansi_quotes: bool,
    multibyte: Multibyte,
    /// User variables (lower-case names, without `@`) known to hold a sql_mode or a character
    /// set, and what that value means to each setting.
    saved: HashMap<Vec<u8>, Saved>,
}

/// What a user variable's value would mean as a sql_mode and as a client character set: a
/// string may be read as either, `@@sql_mode` only as a mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Saved {
    /// As a sql_mode: (`NO_BACKSLASH_ESCAPES`, `ANSI_QUOTES`).
    mode: Option<(bool, bool)>,
    multibyte: Option<Multibyte>,
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
            ansi_quotes: false,
            multibyte: Multibyte::Safe,
            saved: HashMap::new(),
        }
    }

    pub fn no_backslash_escapes(&self) -> bool {
        self.no_backslash_escapes
    }

    /// How the client character set in force places ASCII-looking bytes in characters.
    pub fn multibyte(&self) -> Multibyte {
        self.multibyte
    }

    /// The lexing in force: how the next statement's text reads.
    pub fn lexing(&self) -> Lexing {
        Lexing {
            no_backslash_escapes: self.no_backslash_escapes,
            ansi_quotes: self.ansi_quotes,
            multibyte: self.multibyte,
        }
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

    /// One `target = value` of a SET (or `NAMES x`, `CHARACTER SET x`).
    fn assign(&mut self, item: &[SetToken]) {
        let Some(eq) = item.iter().position(|t| *t == SetToken::Punct(b'=')) else {
            // SET NAMES x [COLLATE y], SET CHARACTER SET x, SET CHARSET x.
            let charset = match item {
                [SetToken::Word(w), v, ..] if w == b"NAMES" || w == b"CHARSET" => Some(v),
                [SetToken::Word(c), SetToken::Word(s), v, ..]
                    if c == b"CHARACTER" && s == b"SET" =>
                {
                    Some(v)
                }
                _ => None,
            };
            if let Some(SetToken::Word(name) | SetToken::Str(name)) = charset
                && name != b"DEFAULT"
            {
                self.multibyte = Multibyte::of(name);
            }
            return;
        };
        let target: Vec<&Vec<u8>> = item[..eq]
            .iter()
            .filter_map(|t| match t {
                SetToken::Word(w) => Some(w),
                _ => None,
            })
            .collect();
        let value = match &item[eq + 1..] {
            [SetToken::Str(s)] => Saved {
                mode: Some(mode_flags(s)),
                multibyte: Some(Multibyte::of(s)),
            },
            [SetToken::Word(w)] if is_session(w, b"SQL_MODE") => Saved {
                mode: Some((self.no_backslash_escapes, self.ansi_quotes)),
                multibyte: None,
            },
            [SetToken::Word(w)] if is_session(w, b"CHARACTER_SET_CLIENT") => Saved {
                mode: None,
                multibyte: Some(self.multibyte),
            },
            [SetToken::Word(w)] if w.starts_with(b"@") && !w.starts_with(b"@@") => self
                .saved
                .get(&w[1..].to_ascii_lowercase())
                .copied()
                .unwrap_or_default(),
            // `SET character_set_client = sjis`: a bare name is a charset, not a mode.
            [SetToken::Word(w)] if w != b"DEFAULT" => Saved {
                mode: None,
                multibyte: Some(Multibyte::of(w)),
            },
            _ => Saved::default(),
        };
        if targets(&target, b"SQL_MODE") {
            if let Some((nbe, ansi)) = value.mode {
                self.no_backslash_escapes = nbe;
                self.ansi_quotes = ansi;
            }
        } else if targets(&target, b"CHARACTER_SET_CLIENT") {
            if let Some(v) = value.multibyte {
                self.multibyte = v;
            }
        } else if let [w] = target.as_slice()
            && w.starts_with(b"@")
            && !w.starts_with(b"@@")
        {
            let name = w[1..].to_ascii_lowercase();
            if value == Saved::default() {
                self.saved.remove(&name);
            } else {
                self.saved.insert(name, value);
            }
        }
    }
}

/// Whether upper-cased words name the session's `variable`: `x`, `SESSION x`, `LOCAL x`,
/// `@@x`, `@@SESSION.x`, `@@LOCAL.x`; not the GLOBAL one, which no running session sees.
fn targets(words: &[&Vec<u8>], variable: &[u8]) -> bool {
    match words {
        [w] => w.as_slice() == variable || is_session(w, variable),
        [scope, w] => matches!(scope.as_slice(), b"SESSION" | b"LOCAL") && w.as_slice() == variable,
        _ => false,
    }
}

/// `@@x`, `@@SESSION.x`, `@@LOCAL.x` for an upper-case `variable`.
fn is_session(w: &[u8], variable: &[u8]) -> bool {
    [&b"@@"[..], b"@@SESSION.", b"@@LOCAL."]
        .iter()
        .any(|p| w.strip_prefix(*p) == Some(variable))
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
        assert_eq!(
            m.saved.get(&b"x"[..]).and_then(|v| v.mode),
            Some((false, false))
        );
    }

    /// The client character set, as dumps switch it around a routine and as SET NAMES sets it.
    #[test]
    fn the_client_character_set_is_followed() {
        use Multibyte::*;
        let mut m = ModeTracker::new(false);
        // In order: each statement, and the character set in force after it.
        for (sql, after) in [
            ("/*!40101 SET NAMES utf8mb4 */", Safe),
            (
                "/*!50003 SET @saved_cs_client = @@character_set_client */",
                Safe,
            ),
            ("/*!50003 SET character_set_client = sjis */", Sjis),
            // Saving and restoring the mode in between does not touch the character set.
            ("/*!50003 SET @saved_sql_mode = @@sql_mode */", Sjis),
            ("/*!50003 SET sql_mode = @saved_sql_mode */", Sjis),
            (
                "/*!50003 SET character_set_client = @saved_cs_client */",
                Safe,
            ),
            ("SET NAMES 'gbk' COLLATE gbk_bin", Gbk),
            ("SET CHARACTER SET big5", Big5),
            ("SET @@SESSION.character_set_client = 'cp932'", Sjis),
            ("SET GLOBAL character_set_client = latin1", Sjis),
            ("SET character_set_client = DEFAULT", Sjis),
            ("SET CHARSET latin1", Safe),
        ] {
            m.observe(sql.as_bytes());
            assert_eq!(m.multibyte(), after, "{sql}");
        }
    }
}
