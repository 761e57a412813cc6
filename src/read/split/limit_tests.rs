//! Unit tests of the splitter's statement size limit: a statement that never ends is refused
//! at the limit with its position, before the buffer grows past it; blank space and comments
//! between statements are not kept; large statements take the buffer with them, unchanged.

use super::tests::Trickle;
use super::*;

/// A reader of `n` bytes of `fill` after `head`, made as it is read (a decompressed bomb).
struct Endless {
    head: &'static [u8],
    fill: u8,
    left: u64,
    /// Bytes handed out so far.
    given: u64,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head = &self.head[n..];
            self.given += n as u64;
            return Ok(n);
        }
        let n = (self.left.min(buf.len() as u64)) as usize;
        buf[..n].fill(self.fill);
        self.left -= n as u64;
        self.given += n as u64;
        Ok(n)
    }
}

fn bomb(head: &'static [u8], fill: u8, n: u64) -> Endless {
    Endless {
        head,
        fill,
        left: n,
        given: 0,
    }
}

#[test]
fn a_statement_past_the_limit_is_refused_before_the_buffer_grows() {
    const LIMIT: usize = 1 << 20;
    for (head, fill, says) in [
        (
            &b"SELECT 1;

INSERT INTO t VALUES ('"[..],
            b'a',
            "quoted string opened at byte 33",
        ),
        (
            b"SELECT 1;

INSERT INTO t VALUES (1 /* ",
            b'x',
            "comment opened at byte 35",
        ),
        (
            b"SELECT 1;

DELIMITER ",
            b' ',
            "",
        ),
        (
            b"SELECT 1;

SELECT ",
            b'1',
            "",
        ),
    ] {
        let mut s = Splitter::new(bomb(head, fill, 1 << 40)).with_max_statement(LIMIT);
        assert_eq!(s.next_statement().unwrap().unwrap().sql, b"SELECT 1");
        let e = s.next_statement().map(|_| ()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let m = e.to_string();
        assert!(
            m.starts_with("statement 2 (line 3, byte 11 of the SQL) is over the statement size limit of 1 MiB (1048576 bytes) (--max-statement-size)"),
            "{m}"
        );
        assert!(m.contains(says) && m.contains("the file is damaged"), "{m}");
        // Held: the limit and a read or two, never the stream.
        assert!(
            s.buf.capacity() <= LIMIT + 2 * READ_CHUNK,
            "{}",
            s.buf.capacity()
        );
        assert!(
            s.reader.given <= (LIMIT + 2 * READ_CHUNK) as u64,
            "{}",
            s.reader.given
        );
    }
}

#[test]
fn a_statement_of_exactly_the_limit_passes() {
    let sql = format!("SELECT '{}'", "a".repeat(5000));
    let input = format!(
        "{sql};
SELECT 2;"
    );
    for step in [1, 7, usize::MAX] {
        let mut s = Splitter::new(Trickle(input.as_bytes(), step)).with_max_statement(sql.len());
        assert_eq!(s.next_statement().unwrap().unwrap().sql, sql.as_bytes());
        assert_eq!(s.next_statement().unwrap().unwrap().sql, b"SELECT 2");
        let mut s =
            Splitter::new(Trickle(input.as_bytes(), step)).with_max_statement(sql.len() - 1);
        let e = s.next_statement().map(|_| ()).unwrap_err().to_string();
        let last = Splitter::new(Trickle(sql.as_bytes(), step))
            .with_max_statement(sql.len() - 1)
            .next_statement()
            .map(|_| ());
        let last = last.unwrap_err().to_string();
        assert!(
            last.contains("statement 1 (line 1, byte 0 of the SQL) is over"),
            "{last}"
        );
        assert!(
            e.contains("statement 1 (line 1, byte 0 of the SQL) is over")
                && (e.contains("it is 5009 bytes long") || e.contains("5009 bytes read")),
            "{e}"
        );
    }
}

#[test]
fn blank_space_and_comments_between_statements_are_not_kept() {
    const LIMIT: usize = 64 << 10;
    for (head, fill) in [
        (
            &b"SELECT 1;
/*"[..],
            b'c',
        ),
        (
            b"SELECT 1;
-- ",
            b'c',
        ),
        (
            b"SELECT 1;
",
            b'\n',
        ),
        (
            b"SELECT 1;
",
            b';',
        ),
    ] {
        let mut s = Splitter::new(bomb(head, fill, 64 << 20)).with_max_statement(LIMIT);
        assert_eq!(s.next_statement().unwrap().unwrap().sql, b"SELECT 1");
        match s.next_statement() {
            Ok(None) => {}
            Err(e) => assert!(e.to_string().contains("cut short"), "{e}"),
            Ok(Some(st)) => panic!("a statement from nothing: {:?}", st.at),
        }
        assert!(s.buf.capacity() <= 4 * READ_CHUNK, "{}", s.buf.capacity());
    }
}

/// Statements past the hand-over size take the read buffer with them: their text, number,
/// line and offset, and those of the statements after them, are what a copy gives, at any
/// read size.
#[test]
fn large_statements_keep_their_text_and_positions() {
    let mut input = b"-- head\n".to_vec();
    let mut expected = Vec::new();
    for (i, size) in [HAND_OVER - 1, HAND_OVER, 3 * HAND_OVER + 7, 10]
        .into_iter()
        .enumerate()
    {
        for sql in [
            {
                let mut v = b"INSERT INTO t VALUES ('".to_vec();
                v.extend((0..size).map(|k| {
                    if k % 99_991 == 5 {
                        b'\n'
                    } else {
                        b'a' + (i as u8)
                    }
                }));
                v.extend_from_slice(b"')");
                v
            },
            b"SELECT 1".to_vec(),
        ] {
            let line = 1 + memchr::memchr_iter(b'\n', &input).count() as u64;
            expected.push((sql.clone(), line, input.len() as u64));
            input.extend_from_slice(&sql);
            input.extend_from_slice(b";\n  \n");
        }
    }
    for step in [usize::MAX, 4096, 100_003] {
        let mut s = Splitter::new(Trickle(&input, step));
        let mut got = Vec::new();
        while let Some(st) = s.next_statement().unwrap() {
            assert_eq!(st.at.number, got.len() as u64 + 1);
            got.push((st.sql, st.at.line, st.at.offset));
        }
        assert_eq!(got.len(), expected.len(), "read size {step}");
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                g == e,
                "read size {step}: statement at byte {} differs",
                e.2
            );
        }
        assert_eq!(s.sql_bytes(), input.len() as u64);
    }
}
