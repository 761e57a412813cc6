//! Keyed digests for what an encrypted dump's metadata says in clear next to it.
//!
//! The metadata of a dump records each table's row checksum and a digest of each definition,
//! so `verify` can check a file, or a live database, against the dump. Plain digests of an
//! encrypted dump's content would let anyone who reads the metadata test guesses about that
//! content offline (a table of one row, a status flag, a known schema). For encrypted dumps
//! they are therefore HMAC-SHA-256 under a key derived from the passphrase, with its own salt
//! and as many PBKDF2 rounds as the container's key: whoever cannot open the file cannot match
//! its checksums, and they give no faster way to guess the passphrase than the file itself.

use hmac::{KeyInit, Mac};
use rand::TryRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{EncryptError, Passphrase};

/// Bytes of random salt per run.
pub const CHECKSUM_SALT_LEN: usize = 16;

/// Separates this key's derivation from the container's, which uses the same passphrase.
const CONTEXT: &[u8] = b"sfdbtools keyed checksums v1\0";

/// The key of a dump's metadata checksums. `Debug` shows nothing; the bytes are zeroed on drop.
pub struct ChecksumKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for ChecksumKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChecksumKey(<redacted>)")
    }
}

impl ChecksumKey {
    /// A fresh random salt for a run.
    pub fn new_salt() -> Result<[u8; CHECKSUM_SALT_LEN], EncryptError> {
        let mut salt = [0u8; CHECKSUM_SALT_LEN];
        rand::rngs::SysRng
            .try_fill_bytes(&mut salt)
            .map_err(|e| EncryptError::Random(e.to_string()))?;
        Ok(salt)
    }

    /// PBKDF2-HMAC-SHA256 of the (trimmed) passphrase over the context and `salt`: as slow as
    /// the container's own key.
    pub fn derive(
        pass: &Passphrase,
        salt: &[u8],
        iterations: u32,
    ) -> Result<ChecksumKey, EncryptError> {
        if iterations == 0 {
            return Err(EncryptError::InvalidIterations);
        }
        let material = pass.material();
        if material.is_empty() {
            return Err(EncryptError::EmptyPassphrase);
        }
        let mut salted = CONTEXT.to_vec();
        salted.extend_from_slice(salt);
        let mut key = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<Sha256>(material, &salted, iterations, key.as_mut());
        Ok(ChecksumKey(key))
    }

    /// The keyed form of a table's row checksum (hex): bound to the table's name, so two
    /// tables with the same rows do not show it either.
    pub fn table(&self, database: &str, table: &str, checksum: &str) -> String {
        self.mac(&[
            b"table",
            database.as_bytes(),
            table.as_bytes(),
            checksum.as_bytes(),
        ])
    }

    /// The keyed form of a definition digest (`<text>` or `<text>:<settings>`, see
    /// `DatabaseCatalog::definition_digests`): each part keyed on its own, so `verify` can
    /// still tell which of the two differs.
    pub fn definition(&self, object: &str, digest: &str) -> String {
        digest
            .split(':')
            .map(|part| self.mac(&[b"definition", object.as_bytes(), part.as_bytes()]))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Every digest of a database's definitions (object → digest), keyed in place.
    pub fn definitions(&self, digests: &mut std::collections::BTreeMap<String, String>) {
        for (object, digest) in digests.iter_mut() {
            *digest = self.definition(object, digest);
        }
    }

    /// HMAC-SHA-256 over the parts, each preceded by its length (no two inputs collide).
    fn mac(&self, parts: &[&[u8]]) -> String {
        let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref())
            .expect("HMAC takes a key of any length");
        for p in parts {
            m.update(&(p.len() as u64).to_le_bytes());
            m.update(p);
        }
        hex::encode(m.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pass: &str, salt: &[u8]) -> ChecksumKey {
        ChecksumKey::derive(&Passphrase::from(pass), salt, 1000).unwrap()
    }

    #[test]
    fn keyed_checksums_depend_on_key_salt_and_name() {
        let sum = "0123456789abcdef0123456789abcdef";
        let a = key("pass", b"salt-a").table("shop", "t", sum);
        assert_eq!(a.len(), 64);
        assert_ne!(a, sum);
        assert_eq!(
            a,
            key("  pass \n", b"salt-a").table("shop", "t", sum),
            "trimmed like the container"
        );
        assert_ne!(a, key("other", b"salt-a").table("shop", "t", sum));
        assert_ne!(a, key("pass", b"salt-b").table("shop", "t", sum));
        assert_ne!(a, key("pass", b"salt-a").table("shop", "u", sum));
        // Names cannot shift into each other.
        let k = key("pass", b"s");
        assert_ne!(k.table("ab", "c", sum), k.table("a", "bc", sum));
    }

    #[test]
    fn a_definition_keeps_its_two_parts() {
        let k = key("pass", b"s");
        let d = k.definition("view v", "aa:bb");
        let parts: Vec<&str> = d.split(':').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], k.definition("view v", "aa"));
        assert_ne!(parts[0], k.definition("view v", "bb"));
        assert!(!d.contains("aa"));
    }

    #[test]
    fn an_empty_passphrase_or_no_rounds_is_refused() {
        assert!(ChecksumKey::derive(&Passphrase::from("  "), b"s", 1000).is_err());
        assert!(ChecksumKey::derive(&Passphrase::from("p"), b"s", 0).is_err());
    }
}
