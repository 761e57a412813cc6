//! Encryption stage: the sfdbtools `.enc` container (AES-256-GCM, PBKDF2-SHA256), writer and strict reader.
