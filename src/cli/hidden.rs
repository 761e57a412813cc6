//! Reading a secret on the terminal without echo: echo goes off *before* the prompt is shown.
//!
//! `rpassword` (used before) showed the prompt and only then switched the terminal to raw
//! mode, so a key typed or pasted the moment the prompt appeared was echoed in clear: a CI run
//! of the interactive tests caught it. Here the terminal is put in raw mode first, the prompt
//! written after, and the original mode restored by a guard whatever happens, Ctrl-C included,
//! and by [`give_back`] when SIGTERM ends the process during the prompt.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::sync::Mutex;

use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use zeroize::Zeroizing;

use sfdbtools::secret::Secret;

/// Longest secret accepted, in bytes: reading stops there instead of growing without bound
/// on a stuck key or a paste of a file.
const MAX_SECRET: usize = 4096;

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const CTRL_U: u8 = 0x15;
const CTRL_W: u8 = 0x17;
const DEL: u8 = 0x7f;

/// The terminal's mode as it was; put back on drop.
struct Restore<'a> {
    tty: &'a File,
    mode: Termios,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.tty, OptionalActions::Now, &self.mode);
        *HIDDEN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The terminal a prompt has switched to no echo, and its mode before, while it waits: for
/// [`give_back`] when SIGTERM ends the process first ([`super::signals`]).
static HIDDEN: Mutex<Option<(File, Termios)>> = Mutex::new(None);

/// Puts back the mode of a terminal a prompt is holding without echo, if any.
pub fn give_back() {
    if let Some((tty, mode)) = HIDDEN.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = termios::tcsetattr(&tty, OptionalActions::Now, &mode);
        // The message that follows starts on its own line, not after the prompt.
        let _ = (&tty).write_all(b"\n");
    }
}

/// Shows `prompt` on the controlling terminal and reads one line there without echo. Backspace,
/// Ctrl-U and Ctrl-W edit the line; Ctrl-C restores the terminal and raises SIGINT (as the terminal
/// would have); Ctrl-D on an empty line is the end of input.
pub fn read(prompt: &str) -> io::Result<Secret> {
    let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let mode = termios::tcgetattr(&tty)?;
    let mut raw = mode.clone();
    // No echo, no line editing by the kernel (each key reaches us, Ctrl-C included, so the
    // terminal is restored before the interrupt), no signals from keys.
    raw.local_modes
        .remove(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ECHONL | LocalModes::ISIG);
    raw.special_codes[SpecialCodeIndex::VMIN] = 1;
    raw.special_codes[SpecialCodeIndex::VTIME] = 0;
    // Known (and guarded) before echo goes off: a SIGTERM at any point after finds it.
    if let Ok(copy) = tty.try_clone() {
        *HIDDEN.lock().unwrap_or_else(|e| e.into_inner()) = Some((copy, mode.clone()));
    }
    let restore = Restore {
        tty: &tty,
        mode: mode.clone(),
    };
    termios::tcsetattr(&tty, OptionalActions::Now, &raw)?;
    (&tty).write_all(prompt.as_bytes())?;
    (&tty).flush()?;
    let line = read_line(&mut &tty);
    let _ = (&tty).write_all(b"\n");
    drop(restore);
    match line {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            // The key would have sent SIGINT: send it now that the terminal is itself again.
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::INT,
            );
            Err(e)
        }
        other => other,
    }
}

/// The keys of one line up to Enter, edited as typed; never more than [`MAX_SECRET`] bytes.
/// A longer line (a paste of the wrong thing) is read to its end and dropped, not left
/// waiting: the rest would otherwise reach the shell, or the next question, in clear.
fn read_line(input: &mut impl Read) -> io::Result<Secret> {
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_SECRET));
    let mut too_long = false;
    let mut byte = Zeroizing::new([0u8; 1]);
    loop {
        let n = match input.read(&mut byte[..]) {
            // A signal's handler interrupted the read (not the key, which is Ctrl-C below).
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            n => n?,
        };
        if n == 0 {
            if line.is_empty() && !too_long {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of input"));
            }
            break;
        }
        match byte[0] {
            b'\n' | b'\r' => break,
            CTRL_C => return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted")),
            _ if too_long => {}
            CTRL_D if line.is_empty() => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of input"));
            }
            CTRL_D => break,
            BACKSPACE | DEL => pop_char(&mut line),
            CTRL_U => line.clear(),
            CTRL_W => {
                // The word before the cursor and the blanks after it, as a terminal does.
                while line.last().is_some_and(|b| b.is_ascii_whitespace()) {
                    line.pop();
                }
                while line.last().is_some_and(|b| !b.is_ascii_whitespace()) {
                    pop_char(&mut line);
                }
            }
            _ if line.len() == MAX_SECRET => {
                line.clear();
                too_long = true;
            }
            b => line.push(b),
        }
    }
    if too_long {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("longer than {MAX_SECRET} bytes (the line was dropped)"),
        ));
    }
    let text = std::str::from_utf8(&line)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8"))?;
    Ok(Secret::new(text))
}

/// Drops the last character, not just its last byte.
fn pop_char(line: &mut Vec<u8>) {
    while line.last().is_some_and(|b| b & 0xc0 == 0x80) {
        line.pop();
    }
    line.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keys: &[u8]) -> io::Result<String> {
        read_line(&mut &keys[..]).map(|s| s.expose().to_owned())
    }

    #[test]
    fn keys_are_edited_as_a_terminal_would() {
        assert_eq!(typed(b"abc\n").unwrap(), "abc");
        assert_eq!(typed(b"abx\x7fc\r").unwrap(), "abc");
        assert_eq!(typed("kéy\x7f\x7fey\n".as_bytes()).unwrap(), "key");
        assert_eq!(typed(b"wrong\x15right\n").unwrap(), "right");
        assert_eq!(typed("two wörds \x17key\n".as_bytes()).unwrap(), "two key");
        assert_eq!(typed(b"last line").unwrap(), "last line");
        assert_eq!(typed(b"\n").unwrap(), "");
    }

    #[test]
    fn ctrl_c_ctrl_d_and_a_flood_end_the_read() {
        assert_eq!(
            typed(b"ab\x03cd\n").unwrap_err().kind(),
            io::ErrorKind::Interrupted
        );
        assert_eq!(
            typed(b"\x04").unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert_eq!(typed(b"").unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        let flood = vec![b'x'; MAX_SECRET + 1];
        let e = typed(&flood).unwrap_err();
        assert!(e.to_string().contains("4096"), "{e}");
        assert_eq!(typed(&flood[..MAX_SECRET]).unwrap().len(), MAX_SECRET);
    }

    /// A read a signal's handler interrupted is read again: only the Ctrl-C key interrupts.
    #[test]
    fn an_interrupted_read_is_not_ctrl_c() {
        struct Flaky(bool, &'static [u8]);
        impl Read for Flaky {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 = !self.0;
                if self.0 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                self.1.read(buf)
            }
        }
        let mut input = Flaky(false, b"key\n");
        assert_eq!(read_line(&mut input).unwrap().expose(), "key");
    }

    /// A paste over the limit is read to its Enter and dropped: what follows it is the next
    /// line typed, not the paste's tail (which used to reach the shell in clear).
    #[test]
    fn an_overlong_line_is_consumed_to_its_end() {
        let mut keys = vec![b'a'; MAX_SECRET + 900];
        keys.extend_from_slice(b"TAILSECRET\x15\x7f\nnext\n");
        let mut input = &keys[..];
        let e = read_line(&mut input).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(input, b"next\n");
        assert_eq!(read_line(&mut input).unwrap().expose(), "next");
    }
}
