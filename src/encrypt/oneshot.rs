//! One-shot variant for profiles and small blobs: `Salted__ || salt || nonce || ciphertext || tag`.

use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::format::{HEADER_LEN, Header, NONCE_LEN, SALT_LEN, TAG_LEN};
use super::kdf::{derive_cipher, open_into, random_salt_and_nonce, seal_into};
use super::{EncryptError, Passphrase, READ_ITERATIONS, WRITE_ITERATIONS};

/// Encrypts `plain` as one AES-GCM message with a random salt and nonce and [`WRITE_ITERATIONS`].
pub fn seal_oneshot(plain: &[u8], pass: &Passphrase) -> Result<Vec<u8>, EncryptError> {
    let (salt, nonce) = random_salt_and_nonce()?;
    seal_oneshot_with_params(plain, pass, salt, nonce, WRITE_ITERATIONS)
}

/// Like [`seal_oneshot`] with a caller-chosen salt, nonce and iteration count. For tests and
/// interoperability checks only: never reuse a salt and nonce with the same passphrase.
pub fn seal_oneshot_with_params(
    plain: &[u8],
    pass: &Passphrase,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    iterations: u32,
) -> Result<Vec<u8>, EncryptError> {
    let aead = derive_cipher(pass, &salt, iterations)?;
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
    out.extend_from_slice(&Header { salt, nonce }.to_bytes());
    out.resize(HEADER_LEN + plain.len(), 0);
    // Encrypted straight from `plain` into the output: no plaintext copy is left behind.
    let tag = seal_into(&aead, &Nonce::from(nonce), plain, &mut out[HEADER_LEN..])?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a one-shot blob, trying [`WRITE_ITERATIONS`] and then
/// [`super::LEGACY_ITERATIONS`]. The plaintext is zeroed when dropped (profiles hold passwords).
pub fn open_oneshot(data: &[u8], pass: &Passphrase) -> Result<Zeroizing<Vec<u8>>, EncryptError> {
    open_oneshot_with_iterations(data, pass, &READ_ITERATIONS)
}

/// Like [`open_oneshot`] with an explicit list of iteration counts to try, in order.
pub fn open_oneshot_with_iterations(
    data: &[u8],
    pass: &Passphrase,
    candidates: &[u32],
) -> Result<Zeroizing<Vec<u8>>, EncryptError> {
    let header = parse_oneshot_header(data)?;
    let variants = pass.variants();
    for (pass, &iterations) in variants
        .iter()
        .flat_map(|p| candidates.iter().map(move |i| (p, i)))
    {
        let aead = derive_cipher(pass, &header.salt, iterations)?;
        if let Some(plain) = open_with(&aead, &header.nonce, &data[HEADER_LEN..]) {
            return Ok(plain);
        }
    }
    Err(EncryptError::WrongKey)
}

pub(crate) fn parse_oneshot_header(data: &[u8]) -> Result<Header, EncryptError> {
    if data.len() < HEADER_LEN + TAG_LEN {
        return Err(if super::sniff(data) {
            EncryptError::OneShotTooShort { length: data.len() }
        } else {
            EncryptError::NotEncrypted
        });
    }
    let header_bytes: &[u8; HEADER_LEN] = data[..HEADER_LEN].try_into().expect("length checked");
    Header::parse(header_bytes)
}

/// Opens `sealed` (ciphertext || tag, i.e. the blob after its header) with an already derived key.
pub(crate) fn open_with(
    aead: &Aes256Gcm,
    nonce: &[u8; NONCE_LEN],
    sealed: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let mut plain = Zeroizing::new(vec![0u8; sealed.len().checked_sub(TAG_LEN)?]);
    open_into(aead, &Nonce::from(*nonce), sealed, &mut plain).then_some(plain)
}
