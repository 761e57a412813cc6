//! What `-V` and `--version` say: the crate version and the commit it was built from (short),
//! and with `--version` also the target, the profile, the compiler and what is compiled in,
//! so that a bug report names the exact build. The `SFDB_BUILD_*` values come from build.rs.

use std::sync::OnceLock;

use sfdbtools::compress::Codec;

/// The commit the binary was built from ("unknown" outside a git work tree).
pub const COMMIT: &str = env!("SFDB_BUILD_COMMIT");

/// `-V`: `0.1.0 (commit 742bbd4c1a2b)`.
pub fn short() -> &'static str {
    static SHORT: OnceLock<String> = OnceLock::new();
    SHORT.get_or_init(|| {
        let commit = COMMIT.get(..12).unwrap_or(COMMIT);
        format!("{} (commit {commit})", env!("CARGO_PKG_VERSION"))
    })
}

/// `--version`: the version, then one line per fact about the build.
pub fn long() -> &'static str {
    static LONG: OnceLock<String> = OnceLock::new();
    LONG.get_or_init(|| {
        let codecs: Vec<&str> = Codec::ALL
            .iter()
            .filter(|c| **c != Codec::None)
            .map(|c| c.name())
            .collect();
        let lines = [
            ("commit", COMMIT.to_owned()),
            (
                "built for",
                format!(
                    "{}, {} profile, {}",
                    env!("SFDB_BUILD_TARGET"),
                    env!("SFDB_BUILD_PROFILE"),
                    env!("SFDB_BUILD_RUSTC")
                ),
            ),
            ("compression", codecs.join(", ")),
            (
                "encryption",
                "AES-256-GCM .enc container, PBKDF2-HMAC-SHA256 keys".into(),
            ),
            ("TLS", "rustls with ring (TLS 1.2 and 1.3)".into()),
            ("SSH tunnels", "russh, in-process".into()),
            (
                "engines",
                "native; mysqldump (runs mariadb-dump or mysqldump)".into(),
            ),
        ];
        let mut s = env!("CARGO_PKG_VERSION").to_owned();
        for (what, value) in lines {
            s.push_str(&format!("\n{:<12} {value}", format!("{what}:")));
        }
        s
    })
}
