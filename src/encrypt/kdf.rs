//! Passphrase handling and key derivation (PBKDF2-HMAC-SHA256), plus the per-chunk AES-GCM calls.

use std::{fmt, io};

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit, Nonce, Tag};
use rand::TryRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::EncryptError;
use super::format::{NONCE_LEN, SALT_LEN, TAG_LEN, chunk_nonce};
use crate::secret::Secret;

/// The passphrase a container is encrypted with.
///
/// Surrounding whitespace is ignored (as the Go tool did for flags and backups), so a passphrase
/// read from a file with a trailing newline or pasted with a stray space still opens the file.
/// One exception in the Go tool: `crypto encrypt-file` took `SFDB_ENCRYPTION_KEY` as it was,
/// spaces included. So a passphrase with surrounding whitespace is also tried exactly as given
/// when a file is opened ([`Passphrase::variants`]); files are always written trimmed.
#[derive(Clone)]
pub struct Passphrase {
    secret: Secret,
    /// Used as given, untrimmed (the second reading of a passphrase with spaces around it).
    exact: bool,
}

impl Passphrase {
    pub fn new(secret: Secret) -> Self {
        Passphrase {
            secret,
            exact: false,
        }
    }

    /// The bytes that go into the KDF.
    pub(super) fn material(&self) -> &[u8] {
        match self.exact {
            true => self.secret.expose().as_bytes(),
            false => self.secret.expose().trim().as_bytes(),
        }
    }

    /// The readings to try when opening a file, in order: trimmed, then, when the passphrase
    /// has surrounding whitespace, exactly as given (Go's `crypto encrypt-file` with
    /// `SFDB_ENCRYPTION_KEY`). A passphrase without such whitespace has one reading: no KDF run
    /// is added for it.
    pub(crate) fn variants(&self) -> Vec<Passphrase> {
        let mut v = vec![Passphrase::new(self.secret.clone())];
        let raw = self.secret.expose();
        if raw.trim() != raw && !raw.trim().is_empty() {
            v.push(Passphrase {
                secret: self.secret.clone(),
                exact: true,
            });
        }
        v
    }

    /// A passphrase used exactly as given, spaces included: how Go's `crypto encrypt-file`
    /// sealed with `SFDB_ENCRYPTION_KEY`. For tests that make such files.
    #[cfg(test)]
    pub(crate) fn exact(value: &str) -> Self {
        Passphrase {
            secret: Secret::new(value),
            exact: true,
        }
    }
}

impl From<Secret> for Passphrase {
    fn from(secret: Secret) -> Self {
        Passphrase::new(secret)
    }
}

impl From<String> for Passphrase {
    fn from(value: String) -> Self {
        Passphrase::new(Secret::from(value))
    }
}

impl From<&str> for Passphrase {
    fn from(value: &str) -> Self {
        Passphrase::new(Secret::new(value))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Derives the AES-256 key for `salt` and builds the cipher. The raw key lives only in a
/// zeroizing buffer for the duration of this call.
pub(crate) fn derive_cipher(
    pass: &Passphrase,
    salt: &[u8; SALT_LEN],
    iterations: u32,
) -> Result<Aes256Gcm, EncryptError> {
    if iterations == 0 {
        return Err(EncryptError::InvalidIterations);
    }
    let material = pass.material();
    if material.is_empty() {
        return Err(EncryptError::EmptyPassphrase);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(material, salt, iterations, key.as_mut());
    Ok(Aes256Gcm::new((&*key).into()))
}

/// Salt and nonce straight from the OS: they must never repeat across files written with the
/// same passphrase, and a failure must be an error rather than weaker randomness.
pub(crate) fn random_salt_and_nonce() -> Result<([u8; SALT_LEN], [u8; NONCE_LEN]), EncryptError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    let mut rng = rand::rngs::SysRng;
    rng.try_fill_bytes(&mut salt)
        .and_then(|()| rng.try_fill_bytes(&mut nonce))
        .map_err(|e| EncryptError::Random(e.to_string()))?;
    Ok((salt, nonce))
}

/// The key schedule plus the file's base nonce: everything needed to seal or open chunk `i`.
pub(crate) struct ChunkCipher {
    pub aead: Aes256Gcm,
    base_nonce: [u8; NONCE_LEN],
}

impl ChunkCipher {
    pub fn new(aead: Aes256Gcm, base_nonce: [u8; NONCE_LEN]) -> Self {
        ChunkCipher { aead, base_nonce }
    }

    pub fn nonce(&self, index: u64) -> Nonce<U12> {
        chunk_nonce(&self.base_nonce, index)
    }
}

/// Encrypts `data` in place and returns the tag. Fails only beyond AES-GCM's 64 GiB message limit.
pub(crate) fn seal_in_place(
    aead: &Aes256Gcm,
    nonce: &Nonce<U12>,
    data: &mut [u8],
) -> Result<[u8; TAG_LEN], EncryptError> {
    aead.encrypt_inout_detached(nonce, b"", data.into())
        .map(Into::into)
        .map_err(|_| too_long())
}

/// Encrypts `plain` into `out` (same length) and returns the tag, which saves copying the
/// plaintext first when the caller's buffer is already a whole chunk.
pub(crate) fn seal_into(
    aead: &Aes256Gcm,
    nonce: &Nonce<U12>,
    plain: &[u8],
    out: &mut [u8],
) -> Result<[u8; TAG_LEN], EncryptError> {
    let buf = InOutBuf::new(plain, out).expect("input and output have the same length");
    aead.encrypt_inout_detached(nonce, b"", buf)
        .map(Into::into)
        .map_err(|_| too_long())
}

fn too_long() -> EncryptError {
    EncryptError::Io(io::Error::new(
        io::ErrorKind::InvalidInput,
        "message exceeds the AES-GCM limit of 64 GiB",
    ))
}

/// Authenticates and decrypts `sealed` (ciphertext || tag) in place; on success the plaintext
/// is `sealed[..sealed.len() - TAG_LEN]`. Nothing is decrypted unless the tag matches.
pub(crate) fn open_in_place(aead: &Aes256Gcm, nonce: &Nonce<U12>, sealed: &mut [u8]) -> bool {
    let Some(split) = sealed.len().checked_sub(TAG_LEN) else {
        return false;
    };
    let (data, tag) = sealed.split_at_mut(split);
    let tag = Tag::try_from(&*tag).expect("tag is TAG_LEN bytes");
    aead.decrypt_inout_detached(nonce, b"", data.into(), &tag)
        .is_ok()
}

/// Like [`open_in_place`] but leaves `sealed` untouched and writes the plaintext to `out`
/// (at least `sealed.len() - TAG_LEN` bytes), so the same ciphertext can be tried with another key.
pub(crate) fn open_into(
    aead: &Aes256Gcm,
    nonce: &Nonce<U12>,
    sealed: &[u8],
    out: &mut [u8],
) -> bool {
    let Some(split) = sealed.len().checked_sub(TAG_LEN) else {
        return false;
    };
    let (data, tag) = sealed.split_at(split);
    let tag = Tag::try_from(tag).expect("tag is TAG_LEN bytes");
    let buf = InOutBuf::new(data, &mut out[..split]).expect("output has the plaintext length");
    aead.decrypt_inout_detached(nonce, b"", buf, &tag).is_ok()
}
