//! The streaming statement splitter: SQL text in, one statement at a time out, the way the
//! `mariadb` client cuts a script (quotes, escapes, comments, versioned comments, `DELIMITER`).
//!
//! Memory holds the statement being read and one read buffer, whatever the file's size: a
//! statement that grows past the limit ([`Splitter::with_max_statement`], by default
//! [`DEFAULT_MAX_STATEMENT`]) is an error before the buffer grows, so a stray quote in a small
//! compressed file cannot make the splitter buffer the whole decompressed stream. Blank space
//! and comments between statements are dropped as they are read, whatever their length.
//!
//! Like the client, which reads the server's `NO_BACKSLASH_ESCAPES` status after every
//! statement, the splitter follows the session's sql_mode as the script's own `SET` statements
//! change it (see [`ModeTracker`]): in that mode a backslash inside quotes is an ordinary byte,
//! so `RETURN '\x\';` ends where the server sees it end.

use std::io::{self, Read};

use super::sql_mode::ModeTracker;
use crate::lexing::{Lexing, Multibyte};

/// Bytes asked of the reader at a time: large enough to amortise the decoder's calls.
const READ_CHUNK: usize = 256 * 1024;

/// Statements from this size on take the read buffer with them (see `Splitter::hand_over`).
const HAND_OVER: usize = 4 * READ_CHUNK;

/// Bytes of the stream's end kept to find the completion footer.
const TAIL_LEN: usize = 512;

/// The statement limit when none is given: 1 GiB, the largest `max_allowed_packet` a server
/// accepts, so no statement that any server can run is refused.
pub const DEFAULT_MAX_STATEMENT: usize = 1 << 30;

/// One statement of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The text as the server gets it: leading blanks and comments and the delimiter removed.
    pub sql: Vec<u8>,
    /// Where it stands in the script.
    pub at: Position,
    /// How its text reads: the sql_mode and client character set the script's own `SET`s
    /// left in force before it (what the server reads it under).
    pub lexing: Lexing,
}

/// Where a statement starts: what an operator needs to find it in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based count of the statements in the script.
    pub number: u64,
    /// 1-based line of the statement's first byte.
    pub line: u64,
    /// Offset of the statement's first byte in the SQL stream (after decompression).
    pub offset: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "statement {} (line {}, byte {} of the SQL)",
            self.number, self.line, self.offset
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Code,
    /// Inside `'…'`, `"…"` or `` `…` ``.
    Quoted(u8),
    /// `-- …` or `# …` up to the end of the line.
    LineComment,
    /// `/* … */` (not the executable `/*!…*/`, which is code).
    BlockComment,
}

/// Bytes that can change the state or end a statement outside quotes and comments.
const fn code_specials() -> [bool; 256] {
    let mut t = [false; 256];
    t[b'\'' as usize] = true;
    t[b'"' as usize] = true;
    t[b'`' as usize] = true;
    t[b'#' as usize] = true;
    t[b'-' as usize] = true;
    t[b'/' as usize] = true;
    t[b'\n' as usize] = true;
    t
}

const CODE_SPECIALS: [bool; 256] = code_specials();

fn stops_for(delimiter_start: u8) -> [bool; 256] {
    let mut t = CODE_SPECIALS;
    t[delimiter_start as usize] = true;
    t
}

/// Splits a script read from `R` into statements.
pub struct Splitter<R: Read> {
    reader: R,
    buf: Vec<u8>,
    /// Next byte to scan.
    pos: usize,
    /// First byte of the current statement's text, once something other than blanks and
    /// comments was seen.
    content: Option<usize>,
    state: State,
    delimiter: Vec<u8>,
    /// Bytes that end the plain-code fast path: the specials and the delimiter's first byte.
    stops: [bool; 256],
    /// True at the first byte of a line (where `DELIMITER` is recognised).
    line_start: bool,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Line of `buf[counted]`, and the index up to which newlines were counted.
    line: u64,
    counted: usize,
    /// Stream offset where the open quote or comment started, for the message when the
    /// stream ends in it.
    opened_at: u64,
    number: u64,
    eof: bool,
    tail: Vec<u8>,
    /// The session's sql_mode as the script's statements so far set it.
    mode: ModeTracker,
    /// Bytes a statement (or a `DELIMITER` line) may hold before it is an error.
    max_statement: usize,
}

impl<R: Read> Splitter<R> {
    pub fn new(reader: R) -> Self {
        Splitter {
            reader,
            buf: Vec::with_capacity(READ_CHUNK * 2),
            pos: 0,
            content: None,
            state: State::Code,
            delimiter: b";".to_vec(),
            stops: stops_for(b';'),
            line_start: true,
            base: 0,
            line: 1,
            counted: 0,
            opened_at: 0,
            number: 0,
            eof: false,
            tail: Vec::with_capacity(TAIL_LEN * 2),
            mode: ModeTracker::new(false),
            max_statement: DEFAULT_MAX_STATEMENT,
        }
    }

    /// Refuses a statement longer than `bytes` (`--max-statement-size`): the buffer never holds
    /// more than that and one read.
    pub fn with_max_statement(mut self, bytes: usize) -> Self {
        self.max_statement = bytes;
        self
    }

    /// Starts in a session whose sql_mode has (or lacks) `NO_BACKSLASH_ESCAPES`: the server's
    /// own mode, which is in force until the script sets one.
    pub fn with_no_backslash_escapes(mut self, on: bool) -> Self {
        self.mode = ModeTracker::new(on);
        self
    }

    /// Whether the statements read from here on are read under `NO_BACKSLASH_ESCAPES`.
    pub fn no_backslash_escapes(&self) -> bool {
        self.mode.no_backslash_escapes()
    }

    /// Bytes of SQL read so far.
    pub fn sql_bytes(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// After the last statement: whether the script ends with a `-- Dump completed` line (the
    /// footer of our dumps and of mysqldump's).
    pub fn ends_with_completion_marker(&self) -> bool {
        let text = String::from_utf8_lossy(&self.tail);
        text.trim_end()
            .rsplit('\n')
            .next()
            .is_some_and(|l| l.starts_with("-- Dump completed"))
    }

    /// The next statement, or None at the end of the script.
    ///
    /// A script that ends inside a quoted string or a comment is an error (it was cut short);
    /// a last statement without a delimiter is returned as the `mariadb` client would run it.
    pub fn next_statement(&mut self) -> io::Result<Option<Statement>> {
        loop {
            if let Some(s) = self.scan() {
                // One that ended within the last read may be up to a read over the limit.
                if s.sql.len() > self.max_statement {
                    let size = format!("it is {} bytes long", s.sql.len());
                    return Err(self.over_limit(s.at, &size));
                }
                // The statement runs before the next one is read: a mode it sets applies to
                // the bytes after it.
                self.mode.observe(&s.sql);
                return Ok(Some(s));
            }
            if self.eof {
                return self.finish();
            }
            self.refill()?;
        }
    }

    fn finish(&mut self) -> io::Result<Option<Statement>> {
        let what = match self.state {
            State::Code | State::LineComment => None,
            State::Quoted(b'`') => Some("a quoted name"),
            State::Quoted(_) => Some("a quoted string"),
            State::BlockComment => Some("a comment"),
        };
        if let Some(what) = what {
            // The opening is still buffered when a statement holds it; a comment before any
            // statement text may already be dropped, and then only its offset is known.
            let line = match self.opened_at.checked_sub(self.base) {
                Some(i) if i as usize >= self.counted => {
                    format!("line {}, ", self.locate(i as usize).1)
                }
                _ => String::new(),
            };
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the SQL ends inside {what} opened at {line}byte {}: the file is cut short",
                    self.opened_at
                ),
            ));
        }
        let Some(start) = self.content.take() else {
            return Ok(None);
        };
        let end = self.buf.len();
        self.pos = end;
        let s = self.emit(start, end, end);
        if s.sql.len() > self.max_statement {
            let size = format!("it is {} bytes long", s.sql.len());
            return Err(self.over_limit(s.at, &size));
        }
        self.mode.observe(&s.sql);
        Ok(Some(s))
    }

    /// Reads more input after the bytes held, dropping those no longer needed.
    fn refill(&mut self) -> io::Result<()> {
        let keep = self.content.unwrap_or(self.pos);
        // Moving only when at least half the buffer is dead keeps the copying linear even for
        // a statement many times the read size; moving also before the buffer would grow
        // keeps it at the limit plus one read (at most once per statement: `keep` is then 0
        // until the statement ends).
        let grows = self.buf.len() + READ_CHUNK > self.buf.capacity();
        if keep > 0 && (keep >= self.buf.len() / 2 || grows) {
            self.count_lines_to(keep);
            self.buf.copy_within(keep.., 0);
            self.buf.truncate(self.buf.len() - keep);
            self.base += keep as u64;
            self.pos -= keep;
            self.counted -= keep;
            if let Some(c) = self.content.as_mut() {
                *c -= keep;
            }
        }
        let held = self.buf.len() - self.content.unwrap_or(self.pos);
        if held > self.max_statement {
            return Err(self.too_large(held));
        }
        let needed = self.buf.len() + READ_CHUNK;
        if needed > self.buf.capacity() {
            self.grow(needed);
        }
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        let n = loop {
            match self.reader.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            self.eof = true;
        } else {
            let new = &self.buf[len..];
            if new.len() >= TAIL_LEN {
                self.tail.clear();
                self.tail.extend_from_slice(&new[new.len() - TAIL_LEN..]);
            } else {
                self.tail.extend_from_slice(new);
                if self.tail.len() > TAIL_LEN {
                    self.tail.drain(..self.tail.len() - TAIL_LEN);
                }
            }
        }
        Ok(())
    }

    /// Makes room for `needed` bytes. Past a few reads, the buffer is reserved at once at the
    /// limit and one read: the kernel backs only the pages written, and no reallocation
    /// leaves the smaller copies behind in the allocator's heap (growing by doubling held
    /// twice the limit at the peak). Where that much address space is refused, it grows by
    /// doubling, never past the same bound.
    fn grow(&mut self, needed: usize) {
        let most = self.max_statement.saturating_add(2 * READ_CHUNK);
        let len = self.buf.len();
        if needed > 4 * READ_CHUNK
            && most > needed
            && self.buf.try_reserve_exact(most - len).is_ok()
        {
            return;
        }
        let cap = needed.max((self.buf.capacity() * 2).min(most));
        self.buf.reserve_exact(cap - len);
    }

    /// The error for a statement (or a `DELIMITER` line) that grew past the limit while
    /// `held` bytes of it are buffered.
    fn too_large(&mut self, held: usize) -> io::Error {
        let (offset, line) = self.locate(self.content.unwrap_or(self.pos));
        let at = Position {
            number: self.number + 1,
            line,
            offset,
        };
        let opened = self.opened_at;
        let inside = match self.state {
            State::Quoted(b'`') => format!(", inside a quoted name opened at byte {opened}"),
            State::Quoted(_) => format!(", inside a quoted string opened at byte {opened}"),
            State::BlockComment => format!(", inside a comment opened at byte {opened}"),
            State::Code | State::LineComment => String::new(),
        };
        self.over_limit(at, &format!("{held} bytes read without its end{inside}"))
    }

    fn over_limit(&self, at: Position, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{at} is over the statement size limit of {} (--max-statement-size): {what}. \
                 If the file really holds a statement this large, pass a larger \
                 --max-statement-size (the server's max_allowed_packet must allow it too); \
                 otherwise the file is damaged (a quote or comment that never closes)",
                human_bytes(self.max_statement as u64)
            ),
        )
    }

    fn count_lines_to(&mut self, to: usize) {
        if to > self.counted {
            self.line += memchr::memchr_iter(b'\n', &self.buf[self.counted..to]).count() as u64;
            self.counted = to;
        }
    }

    /// Stream offset and line of `buf[i]`.
    fn locate(&mut self, i: usize) -> (u64, u64) {
        self.count_lines_to(i);
        (self.base + i as u64, self.line)
    }

    fn emit(&mut self, start: usize, end: usize, resume: usize) -> Statement {
        let (offset, line) = self.locate(start);
        let mut text_end = end;
        while text_end > start && self.buf[text_end - 1].is_ascii_whitespace() {
            text_end -= 1;
        }
        self.number += 1;
        let sql = if text_end - start >= HAND_OVER {
            self.hand_over(start, text_end, resume)
        } else {
            self.pos = resume;
            self.buf[start..text_end].to_vec()
        };
        Statement {
            sql,
            at: Position {
                number: self.number,
                line,
                offset,
            },
            lexing: self.mode.lexing(),
        }
    }

    /// A large statement takes the buffer it was read into, not a copy of it: a copy would
    /// keep two statements' worth of memory while the next one is read. The splitter goes on
    /// with a new buffer holding the bytes after the statement (at most the last read).
    fn hand_over(&mut self, start: usize, text_end: usize, resume: usize) -> Vec<u8> {
        self.count_lines_to(resume);
        let mut next = Vec::with_capacity(READ_CHUNK * 2);
        next.extend_from_slice(&self.buf[resume..]);
        let mut sql = std::mem::replace(&mut self.buf, next);
        self.base += resume as u64;
        self.counted -= resume;
        self.pos = 0;
        sql.truncate(text_end);
        sql.drain(..start);
        sql
    }

    /// Scans from `pos`; returns a statement when one ends within the buffer, None when more
    /// input is needed (or the input is exhausted).
    fn scan(&mut self) -> Option<Statement> {
        let len = self.buf.len();
        // A construct that needs bytes beyond the buffer waits for them, unless there are none.
        let need = |i: usize, n: usize, eof: bool| i + n > len && !eof;
        let mut i = self.pos;
        while i < len {
            match self.state {
                State::Quoted(q) if self.mode.multibyte() != Multibyte::Safe => {
                    // A character set whose second bytes may be a quote, backquote or
                    // backslash: stepped through a character at a time.
                    let mb = self.mode.multibyte();
                    let escapes = q != b'`' && !self.mode.no_backslash_escapes();
                    let mut j = i;
                    let mut closed = false;
                    while j < len {
                        let b = self.buf[j];
                        if b == q {
                            closed = true;
                            break;
                        }
                        let step = if b == b'\\' && escapes {
                            2
                        } else if mb.is_lead(b) {
                            mb.char_len(&self.buf, j)
                        } else {
                            1
                        };
                        // An escape or a lead byte whose next byte is not read yet.
                        if (step == 2 || mb.is_lead(b)) && need(j, 2, self.eof) {
                            break;
                        }
                        j += step;
                    }
                    if closed {
                        self.state = State::Code;
                        i = j + 1;
                    } else {
                        i = j.min(len);
                        break;
                    }
                }
                State::Quoted(q) => {
                    // A backslash escapes nothing in a name, nor anywhere under
                    // NO_BACKSLASH_ESCAPES.
                    let found = if q == b'`' || self.mode.no_backslash_escapes() {
                        memchr::memchr(q, &self.buf[i..])
                    } else {
                        memchr::memchr2(q, b'\\', &self.buf[i..])
                    };
                    let Some(k) = found else {
                        i = len;
                        break;
                    };
                    let j = i + k;
                    if self.buf[j] == b'\\' {
                        if need(j, 2, self.eof) {
                            i = j;
                            break;
                        }
                        i = j + 2;
                    } else {
                        // A doubled quote closes and reopens: the same bytes either way.
                        self.state = State::Code;
                        i = j + 1;
                    }
                }
                State::LineComment => match memchr::memchr(b'\n', &self.buf[i..]) {
                    Some(k) => {
                        self.state = State::Code;
                        self.line_start = true;
                        i += k + 1;
                    }
                    None => {
                        i = len;
                        break;
                    }
                },
                State::BlockComment => match memchr::memchr(b'*', &self.buf[i..]) {
                    Some(k) => {
                        let j = i + k;
                        if need(j, 2, self.eof) {
                            i = j;
                            break;
                        }
                        if self.buf.get(j + 1) == Some(&b'/') {
                            self.state = State::Code;
                            i = j + 2;
                        } else {
                            i = j + 1;
                        }
                    }
                    None => {
                        i = len;
                        break;
                    }
                },
                State::Code => {
                    if self.line_start && self.content.is_none() {
                        match self.delimiter_command(i) {
                            Err(()) => break, // the line is not complete yet
                            Ok(Some(next)) => {
                                i = next;
                                continue;
                            }
                            Ok(None) => self.line_start = false,
                        }
                    }
                    self.line_start = false;
                    let first = self.delimiter[0];
                    if self.content.is_none() {
                        while i < len && !self.stops[self.buf[i] as usize] {
                            if !self.buf[i].is_ascii_whitespace() {
                                self.content = Some(i);
                                break;
                            }
                            i += 1;
                        }
                    }
                    // The hot loop: plain code bytes (digits, commas, hex) until something
                    // that matters.
                    let stops = &self.stops;
                    let rest = &self.buf[i..len];
                    i += rest
                        .iter()
                        .position(|b| stops[*b as usize])
                        .unwrap_or(rest.len());
                    if i >= len {
                        break;
                    }
                    let b = self.buf[i];
                    if b == first {
                        let d = self.delimiter.len();
                        if need(i, d, self.eof) {
                            break;
                        }
                        if self.buf[i..].starts_with(&self.delimiter) {
                            match self.content.take() {
                                Some(start) => return Some(self.emit(start, i, i + d)),
                                None => {
                                    // An empty statement: nothing to send.
                                    i += d;
                                    continue;
                                }
                            }
                        }
                        // Not the delimiter: an ordinary byte (the specials are not delimiters
                        // of any real script, so falling through is safe).
                        if !CODE_SPECIALS[b as usize] {
                            self.content.get_or_insert(i);
                            i += 1;
                            continue;
                        }
                    }
                    match b {
                        b'\n' => {
                            self.line_start = true;
                            i += 1;
                        }
                        b'\'' | b'"' | b'`' => {
                            self.content.get_or_insert(i);
                            self.opened_at = self.base + i as u64;
                            self.state = State::Quoted(b);
                            i += 1;
                        }
                        b'#' => {
                            self.state = State::LineComment;
                            i += 1;
                        }
                        b'-' => {
                            if need(i, 3, self.eof) {
                                break;
                            }
                            let is_comment = self.buf.get(i + 1) == Some(&b'-')
                                && self.buf.get(i + 2).is_none_or(|c| *c <= b' ');
                            if is_comment {
                                self.state = State::LineComment;
                                i += 2;
                            } else {
                                self.content.get_or_insert(i);
                                i += 1;
                            }
                        }
                        b'/' => {
                            if need(i, 4, self.eof) {
                                break;
                            }
                            if self.buf.get(i + 1) == Some(&b'*') {
                                let executable = self.buf.get(i + 2) == Some(&b'!')
                                    || (self.buf.get(i + 2) == Some(&b'M')
                                        && self.buf.get(i + 3) == Some(&b'!'));
                                if executable {
                                    // `/*!…*/` is code for the server: its text and its
                                    // delimiters count, as in the `mariadb` client.
                                    self.content.get_or_insert(i);
                                    i += 3;
                                } else {
                                    self.opened_at = self.base + i as u64;
                                    self.state = State::BlockComment;
                                    i += 2;
                                }
                            } else {
                                self.content.get_or_insert(i);
                                i += 1;
                            }
                        }
                        _ => {
                            // Only reached for a delimiter byte that is also special (e.g.
                            // DELIMITER //) without a full match: an ordinary byte.
                            self.content.get_or_insert(i);
                            i += 1;
                        }
                    }
                }
            }
        }
        self.pos = i;
        None
    }

    /// At a line start with no statement text yet: `DELIMITER x` sets the delimiter and is
    /// not sent. Ok(Some(end of line)), Ok(None) when the line is something else, Err(())
    /// when the line is not fully buffered yet.
    #[allow(clippy::result_unit_err)]
    fn delimiter_command(&mut self, i: usize) -> Result<Option<usize>, ()> {
        let rest = &self.buf[i..];
        let indent = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let word = b"delimiter";
        let avail = &rest[indent..];
        if avail.len() < word.len() + 1 && !self.eof {
            // Could still become "delimiter ".
            let prefix = avail.len().min(word.len());
            if avail[..prefix].eq_ignore_ascii_case(&word[..prefix]) {
                return Err(());
            }
            return Ok(None);
        }
        if avail.len() < word.len() + 1
            || !avail[..word.len()].eq_ignore_ascii_case(word)
            || !matches!(avail[word.len()], b' ' | b'\t')
        {
            return Ok(None);
        }
        let Some(nl) = memchr::memchr(b'\n', avail) else {
            if !self.eof {
                return Err(());
            }
            let arg = avail[word.len()..].to_vec();
            return Ok(Some(self.set_delimiter(&arg, self.buf.len())));
        };
        let arg = avail[word.len()..nl].to_vec();
        let end = i + indent + nl + 1;
        Ok(Some(self.set_delimiter(&arg, end)))
    }

    fn set_delimiter(&mut self, arg: &[u8], end: usize) -> usize {
        let arg = arg.trim_ascii();
        let token: Vec<u8> = arg
            .iter()
            .copied()
            .take_while(|b| !b.is_ascii_whitespace())
            .collect();
        if !token.is_empty() {
            self.stops = stops_for(token[0]);
            self.delimiter = token;
        }
        end
    }
}

/// `64 MiB (67108864 bytes)`: the limit as given and exactly.
fn human_bytes(n: u64) -> String {
    let units = [(30, "GiB"), (20, "MiB"), (10, "KiB")];
    match units
        .iter()
        .find(|(shift, _)| n >= 1 << shift && n.is_multiple_of(1 << shift))
    {
        Some((shift, unit)) => format!("{} {unit} ({n} bytes)", n >> shift),
        None => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds the input a few bytes at a time, so every construct also crosses a buffer end.
    pub(super) struct Trickle<'a>(pub &'a [u8], pub usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn split_with(input: &[u8], step: usize) -> io::Result<Vec<String>> {
        let mut s = Splitter::new(Trickle(input, step));
        let mut out = Vec::new();
        while let Some(st) = s.next_statement()? {
            out.push(String::from_utf8(st.sql).unwrap());
        }
        Ok(out)
    }

    /// Splits at every read size from 1 byte up, and checks they all agree.
    fn split(input: &str) -> Vec<String> {
        let whole = split_with(input.as_bytes(), usize::MAX).unwrap();
        for step in [1, 2, 3, 5, 7, 64] {
            assert_eq!(
                split_with(input.as_bytes(), step).unwrap(),
                whole,
                "read size {step}"
            );
        }
        whole
    }

    #[test]
    fn quotes_escapes_and_doubled_quotes_hide_delimiters() {
        let s = split(
            "INSERT INTO t VALUES ('a;b','it\\'s;','x''y;',\"q;\\\"\");\nSELECT `a;``b` FROM t;",
        );
        assert_eq!(
            s,
            [
                "INSERT INTO t VALUES ('a;b','it\\'s;','x''y;',\"q;\\\"\")",
                "SELECT `a;``b` FROM t"
            ]
        );
    }

    #[test]
    fn backslash_before_the_closing_quote_of_a_name_is_not_an_escape() {
        assert_eq!(
            split("SELECT `a\\`;SELECT 2;"),
            ["SELECT `a\\`", "SELECT 2"]
        );
    }

    #[test]
    fn comments_are_dropped_in_front_and_kept_inside() {
        let s = split(
            "-- header;\n# hash;\n/* block; */\nCREATE TABLE t (a INT -- why;\n, b INT /* x; */);\n--\n-- Dump completed on x\n",
        );
        assert_eq!(s, ["CREATE TABLE t (a INT -- why;\n, b INT /* x; */)"]);
    }

    #[test]
    fn double_dash_without_a_space_is_an_operator() {
        assert_eq!(split("SELECT 1--1;SELECT 2;"), ["SELECT 1--1", "SELECT 2"]);
        assert_eq!(
            split("SELECT 1 --\tc;\n;SELECT 2;"),
            ["SELECT 1 --\tc;\n", "SELECT 2"].map(|s| s.trim_end().to_owned())
        );
    }

    #[test]
    fn versioned_comments_are_code() {
        let s = split(
            "/*!40101 SET NAMES utf8mb4 */;\n/*M!999999\\- enable the sandbox mode */\n/*!50003 CREATE*/ /*!50020 DEFINER=`r`@`%`*/ /*!50003 TRIGGER x */;",
        );
        assert_eq!(
            s,
            [
                "/*!40101 SET NAMES utf8mb4 */",
                "/*M!999999\\- enable the sandbox mode */\n/*!50003 CREATE*/ /*!50020 DEFINER=`r`@`%`*/ /*!50003 TRIGGER x */"
            ]
        );
    }

    #[test]
    fn delimiter_blocks_keep_bodies_whole() {
        let s = split(
            "DROP PROCEDURE IF EXISTS p;\nDELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';;'; END;;\n  delimiter ;\nSELECT 3;\nDELIMITER //\nCREATE FUNCTION f() RETURNS INT RETURN 1//\nDELIMITER ;\n",
        );
        assert_eq!(
            s,
            [
                "DROP PROCEDURE IF EXISTS p",
                "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';;'; END",
                "SELECT 3",
                "CREATE FUNCTION f() RETURNS INT RETURN 1"
            ]
        );
    }

    #[test]
    fn delimiter_is_a_command_only_at_the_start_of_a_statement() {
        assert_eq!(
            split("SELECT 1,\ndelimiter ;\nSELECT 2;"),
            ["SELECT 1,\ndelimiter", "SELECT 2"]
        );
    }

    #[test]
    fn empty_statements_are_skipped_and_the_last_one_needs_no_delimiter() {
        assert_eq!(
            split(";;\n ; -- c\nSELECT 1;\nSELECT 2"),
            ["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn positions_name_statement_line_and_byte() {
        let input = b"SELECT 1;\n-- c\nSELECT\n'a\nb';\n  SELECT 3;";
        let mut s = Splitter::new(&input[..]);
        let mut at = Vec::new();
        while let Some(st) = s.next_statement().unwrap() {
            at.push(st.at);
        }
        assert_eq!(
            at,
            [
                Position {
                    number: 1,
                    line: 1,
                    offset: 0
                },
                Position {
                    number: 2,
                    line: 3,
                    offset: 15
                },
                Position {
                    number: 3,
                    line: 6,
                    offset: 31
                }
            ]
        );
    }

    #[test]
    fn a_cut_string_or_comment_is_an_error() {
        for cut in ["INSERT INTO t VALUES ('abc", "SELECT 1 /* c", "SELECT `x"] {
            let e = split_with(cut.as_bytes(), 3).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{cut}");
            assert!(e.to_string().contains("cut short"), "{e}");
        }
    }

    #[test]
    fn long_statements_span_many_reads() {
        let mut sql = b"INSERT INTO t VALUES ".to_vec();
        for i in 0..200_000 {
            sql.extend_from_slice(format!("({i},'v;{i}'),").as_bytes());
        }
        sql.pop();
        let mut input = sql.clone();
        input.extend_from_slice(b";\nSELECT 1;");
        let mut s = Splitter::new(&input[..]);
        assert_eq!(s.next_statement().unwrap().unwrap().sql, sql);
        assert_eq!(s.next_statement().unwrap().unwrap().sql, b"SELECT 1");
        assert!(s.next_statement().unwrap().is_none());
    }

    #[test]
    fn no_backslash_escapes_makes_a_backslash_an_ordinary_byte() {
        let s = split(
            "SET sql_mode = 'NO_BACKSLASH_ESCAPES';\nDELIMITER ;;\nCREATE FUNCTION f() RETURNS TEXT RETURN '\\x\\';;\nDELIMITER ;\nSELECT 'a\\';\nSET sql_mode = '';\nSELECT 'b\\';c';\n",
        );
        assert_eq!(
            s,
            [
                "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
                "CREATE FUNCTION f() RETURNS TEXT RETURN '\\x\\'",
                "SELECT 'a\\'",
                "SET sql_mode = ''",
                "SELECT 'b\\';c'"
            ]
        );
    }

    /// sjis `表` is 0x95 0x5C: under that client character set the second byte is part of the
    /// character, not an escape; under utf8mb4 again it is.
    #[test]
    fn a_double_byte_character_ending_in_a_backslash_does_not_escape_the_quote() {
        let input: &[u8] = b"/*!50003 SET @saved_cs_client = @@character_set_client */;\n\
/*!50003 SET character_set_client = sjis */;\nDELIMITER ;;\n\
CREATE FUNCTION f() RETURNS TEXT RETURN CONCAT('\x95\x5c', '`\x81\x60;', \"\x95\x5c\");;\n\
DELIMITER ;\n/*!50003 SET character_set_client = @saved_cs_client */;\n\
SELECT '\x95\x5c';';\n";
        let want: [&[u8]; 5] = [
            b"/*!50003 SET @saved_cs_client = @@character_set_client */",
            b"/*!50003 SET character_set_client = sjis */",
            b"CREATE FUNCTION f() RETURNS TEXT RETURN CONCAT('\x95\x5c', '`\x81\x60;', \"\x95\x5c\")",
            b"/*!50003 SET character_set_client = @saved_cs_client */",
            b"SELECT '\x95\x5c';'",
        ];
        for step in [1, 2, 3, 7, usize::MAX] {
            let mut s = Splitter::new(Trickle(input, step));
            let mut got = Vec::new();
            while let Some(st) = s.next_statement().unwrap() {
                got.push(st.sql);
            }
            assert_eq!(got, want, "read {step} bytes at a time");
        }
    }

    #[test]
    fn the_servers_mode_is_the_starting_point() {
        let input = "SELECT 'a\\';\nSELECT 2;\n";
        let mut s = Splitter::new(input.as_bytes()).with_no_backslash_escapes(true);
        assert_eq!(s.next_statement().unwrap().unwrap().sql, b"SELECT 'a\\'");
        assert_eq!(s.next_statement().unwrap().unwrap().sql, b"SELECT 2");
        assert!(s.no_backslash_escapes());
    }

    /// ANSI_QUOTES makes `"…"` a name: still quoted text for cutting, with `""` inside.
    #[test]
    fn ansi_quotes_and_oracle_mode_bodies_stay_whole() {
        let s = split(
            "SET sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT';\nDELIMITER $$\nCREATE VIEW \"v;\"\"x\" AS SELECT 'a' || ';' AS \"c$$\"$$\nDELIMITER ;\nSET sql_mode='ORACLE';\nDELIMITER //\nCREATE FUNCTION f RETURN VARCHAR AS BEGIN RETURN 'a\\''; END//\nDELIMITER ;\n",
        );
        assert_eq!(
            s,
            [
                "SET sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT'",
                "CREATE VIEW \"v;\"\"x\" AS SELECT 'a' || ';' AS \"c$$\"",
                "SET sql_mode='ORACLE'",
                "CREATE FUNCTION f RETURN VARCHAR AS BEGIN RETURN 'a\\''; END"
            ]
        );
    }

    #[test]
    fn the_completion_footer_is_seen() {
        let mut s =
            Splitter::new(&b"SELECT 1;\n\n-- Dump completed on 2026-01-01 00:00:00\n\n"[..]);
        while s.next_statement().unwrap().is_some() {}
        assert!(s.ends_with_completion_marker());
        let mut s = Splitter::new(&b"SELECT 1;\n-- Dump completed on x\nSELECT 2;\n"[..]);
        while s.next_statement().unwrap().is_some() {}
        assert!(!s.ends_with_completion_marker());
    }
}

#[cfg(test)]
mod limit_tests;
