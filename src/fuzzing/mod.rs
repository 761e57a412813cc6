//! Entry points for the fuzz targets (`fuzz/`) and the property tests (`tests/fuzz_props.rs`):
//! each takes arbitrary bytes, runs one reader of untrusted input on them, and panics when a
//! property that reader must keep is broken. Not an API: nothing else calls these.
//!
//! The checks live here rather than in the fuzz crate so that the stable test suite and the
//! coverage-guided fuzzer hold the code to the same properties, and so that private decoders
//! (the wire packets) need no wider visibility than `pub(crate)`.
//!
//! A structured target reads a few control bytes first (see [`Control`]): they choose how the
//! rest is used, e.g. as plaintext to seal and then damage with [`edit`], so the fuzzer reaches
//! the readers' deep paths (an authentic chunk, a valid zstd frame) that random bytes never do.

mod codec;
mod container;
mod settings;
mod sql;
mod wire;

pub use codec::decompress;
pub use container::container;
pub use settings::{config_file, profile};
pub use sql::statements;
pub use wire::result_set;

use std::io::{self, Read};

/// Control bytes read from the front of a fuzz input; zero once they run out.
pub(crate) struct Control<'a> {
    data: &'a [u8],
}

impl<'a> Control<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Control { data }
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// What is left after the control bytes.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Damages `data` the ways files get damaged (and one way they get forged), as the control
/// bytes say: up to three edits among a bit flip, a cut, an inserted byte, a removed byte, a
/// repeated run, and a cut followed by an `.enc` end marker. An edit may leave the bytes as
/// they were (a cut at the end): callers compare with the original.
pub(crate) fn edit(ctl: &mut Control<'_>, data: &mut Vec<u8>) {
    for _ in 0..ctl.u8() % 4 {
        let kind = ctl.u8() % 6;
        let at = ctl.u32() as usize % (data.len() + 1);
        let value = ctl.u8();
        match kind {
            0 if !data.is_empty() => {
                let i = at.min(data.len() - 1);
                data[i] ^= 1 << (value % 8);
            }
            1 => data.truncate(at),
            2 => data.insert(at, value),
            3 if at < data.len() => {
                data.remove(at);
            }
            4 => {
                let end = (at + usize::from(value)).min(data.len());
                let run = data[at..end].to_vec();
                data.splice(at..at, run);
            }
            5 => {
                data.truncate(at);
                data.extend_from_slice(&[0; 4]);
            }
            _ => {}
        }
    }
}

/// A reader that hands out at most `step` bytes per call, so every construct of the input also
/// meets a buffer end.
pub(crate) struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl<'a> Trickle<'a> {
    pub fn new(data: &'a [u8], step: usize) -> Self {
        Trickle {
            data,
            step: step.max(1),
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(self.data.len()).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
