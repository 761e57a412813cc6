//! The `.enc` readers: the chunked stream, the one-shot blob, and `decrypt_any`, which tells
//! them apart by content.

use std::io::Read;

use super::{Control, edit};
use crate::encrypt::{
    CHUNK_SIZE, DecryptReader, EncryptError, EncryptWriter, Passphrase,
    decrypt_any_with_iterations, open_oneshot_with_iterations, seal_oneshot_with_params,
};

/// One PBKDF2 round: the key derivation is not under test, and each run must be fast.
const ITERATIONS: [u32; 1] = [1];
const PASSPHRASE: &str = "fuzz pass";
const SALT: [u8; 8] = *b"fuzzsalt";
const NONCE: [u8; 12] = *b"fuzz nonce12";

/// After the control bytes, `data` is either a container as it is (mode 0), or plaintext that
/// is sealed (chunked or one-shot) and then damaged by [`edit`]. Every reader is run on the
/// result, and:
/// - what a reader opens is the plaintext that was sealed, or that plaintext cut at a chunk
///   boundary (the format's one known blind spot: a cut at a boundary followed by a forged end
///   marker; an empty container is its extreme). Bytes not sealed here (mode 0) open to nothing
///   but that empty container.
/// - an undamaged container opens with every reader meant for it.
/// - no error message carries the passphrase.
pub fn container(data: &[u8]) {
    let mut ctl = Control::new(data);
    let mode = ctl.u8() % 3;
    // With surrounding spaces the passphrase has two readings to try (the Go quirk).
    let spaced = ctl.u8() & 1 == 1;
    let length = ctl.u32() as usize % (3 * CHUNK_SIZE + 100);
    let mut edits = Control::new(&[]);
    let (original, sealed) = if mode == 0 {
        (Vec::new(), ctl.rest().to_vec())
    } else {
        let (controls, seed) = split_controls(ctl);
        edits = controls;
        let plain: Vec<u8> = if seed.is_empty() {
            vec![0; length]
        } else {
            seed.iter().copied().cycle().take(length).collect()
        };
        let pass = Passphrase::from(PASSPHRASE);
        let sealed = if mode == 1 {
            let mut w = EncryptWriter::with_params(Vec::new(), &pass, SALT, NONCE, ITERATIONS[0])
                .expect("a writer into memory");
            std::io::Write::write_all(&mut w, &plain).expect("writing into memory");
            w.finish().expect("finishing into memory").0
        } else {
            seal_oneshot_with_params(&plain, &pass, SALT, NONCE, ITERATIONS[0])
                .expect("sealing in memory")
        };
        (plain, sealed)
    };
    let mut damaged = sealed.clone();
    edit(&mut edits, &mut damaged);
    let intact = mode != 0 && damaged == sealed;
    let pass = Passphrase::from(if spaced { " fuzz pass " } else { PASSPHRASE });

    let mut out = Vec::new();
    let any = decrypt_any_with_iterations(&damaged[..], &mut out, &pass, &ITERATIONS);
    check("decrypt_any", any.map(|_| out), &original, mode, intact);

    let reader =
        DecryptReader::with_iterations(&damaged[..], &pass, &ITERATIONS).and_then(|mut r| {
            let mut plain = Vec::new();
            r.read_to_end(&mut plain)
                .map_err(|e| EncryptError::Io(std::io::Error::new(e.kind(), e.to_string())))?;
            Ok(plain)
        });
    check(
        "DecryptReader",
        reader,
        &original,
        mode,
        intact && mode == 1,
    );

    let oneshot = open_oneshot_with_iterations(&damaged, &pass, &ITERATIONS).map(|p| p.to_vec());
    check(
        "open_oneshot",
        oneshot,
        &original,
        mode,
        intact && mode == 2,
    );
}

/// Control bytes for the edits come from the front of what is left; the rest seeds the
/// plaintext.
fn split_controls(mut ctl: Control<'_>) -> (Control<'_>, &[u8]) {
    let n = usize::from(ctl.u8() % 32);
    let rest = ctl.rest();
    let (controls, seed) = rest.split_at(n.min(rest.len()));
    (Control::new(controls), seed)
}

fn check(
    reader: &str,
    got: Result<Vec<u8>, EncryptError>,
    original: &[u8],
    mode: u8,
    must_open: bool,
) {
    match got {
        Ok(plain) => {
            let boundary_cut = plain.len() % CHUNK_SIZE == 0 && original.starts_with(&plain);
            assert!(
                plain == original || boundary_cut,
                "{reader} (mode {mode}) opened {} bytes that are not the {} sealed",
                plain.len(),
                original.len()
            );
            if mode == 0 {
                assert!(plain.is_empty(), "{reader} opened bytes nobody sealed");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                !msg.contains(PASSPHRASE),
                "{reader}'s error shows the passphrase"
            );
            assert!(
                !must_open,
                "{reader} refused an intact container (mode {mode}): {msg}"
            );
        }
    }
}
