//! File names of dumps, their metadata and grants, exactly as the old tool wrote them (docs/compat.md §3).

use chrono::{DateTime, Local};

use crate::compress::Codec;
use crate::error::{Error, Result};

/// The chain of extensions after `.sql`: codec, then `.enc`.
pub fn extension_chain(codec: Codec, encrypted: bool) -> String {
    format!(
        ".sql{}{}",
        codec.extension(),
        if encrypted { ".enc" } else { "" }
    )
}

/// `{db}[_nodata]_{YYYYMMDD}_{HHMMSS}_{hostname}.sql[.ext][.enc]`
pub fn database_file(
    db: &str,
    nodata: bool,
    at: &DateTime<Local>,
    hostname: &str,
    codec: Codec,
    encrypted: bool,
) -> String {
    format!(
        "{}{}_{}_{}{}",
        safe(db),
        if nodata { "_nodata" } else { "" },
        at.format("%Y%m%d_%H%M%S"),
        safe(hostname),
        extension_chain(codec, encrypted)
    )
}

/// `{all|combined}[_nodata]_{hostname}_{YYYYMMDD_HHMMSS}_{N}db.sql[.ext][.enc]`
pub fn combined_file(
    all: bool,
    nodata: bool,
    at: &DateTime<Local>,
    hostname: &str,
    databases: usize,
    codec: Codec,
    encrypted: bool,
) -> String {
    format!(
        "{}{}_{}_{}_{}db{}",
        if all { "all" } else { "combined" },
        if nodata { "_nodata" } else { "" },
        safe(hostname),
        at.format("%Y%m%d_%H%M%S"),
        databases,
        extension_chain(codec, encrypted)
    )
}

/// Checks `--filename` and applies it: used verbatim if it contains `.sql`, else extended.
pub fn custom_file(name: &str, codec: Codec, encrypted: bool) -> Result<String> {
    if name.is_empty() || name.contains("..") || name.contains('/') || name.contains('\\') {
        return Err(Error::Usage(format!(
            "--filename {name:?} must be a plain file name without '..', '/' or '\\'"
        )));
    }
    if name.contains(".sql") {
        Ok(name.to_owned())
    } else {
        Ok(format!("{name}{}", extension_chain(codec, encrypted)))
    }
}

/// Expands `{year} {month} {day} {hour} {minute} {second} {timestamp}` in a directory pattern.
pub fn expand_pattern(pattern: &str, at: &DateTime<Local>) -> String {
    pattern
        .replace("{year}", &at.format("%Y").to_string())
        .replace("{month}", &at.format("%m").to_string())
        .replace("{day}", &at.format("%d").to_string())
        .replace("{hour}", &at.format("%H").to_string())
        .replace("{minute}", &at.format("%M").to_string())
        .replace("{second}", &at.format("%S").to_string())
        .replace("{timestamp}", &at.format("%Y%m%d_%H%M%S").to_string())
}

/// `<dump file>.meta.json`
pub fn metadata_file(dump_file: &str) -> String {
    format!("{dump_file}.meta.json")
}

/// `<dump name without .enc, codec extension and .sql>_users.sql[.enc]` (docs/compat.md §3): the grants
/// file of a run, next to its first dump file. Never compressed; encrypted with the dump.
pub fn grants_file(dump_file: &str, encrypted: bool) -> String {
    let mut base = dump_file.strip_suffix(".enc").unwrap_or(dump_file);
    for ext in [".gz", ".zst", ".xz", ".zlib"] {
        if let Some(b) = base.strip_suffix(ext) {
            base = b;
            break;
        }
    }
    let base = base.strip_suffix(".sql").unwrap_or(base);
    format!("{base}_users.sql{}", if encrypted { ".enc" } else { "" })
}

/// Whether `name` is a dump file name this tool generates (a database's or a combined file,
/// [`database_file`] and [`combined_file`], any codec, encrypted or not): the name without its
/// extension chain holds `_YYYYMMDD_HHMMSS_` (a real date and time) with something before and
/// after it. `cleanup` removes nothing else unless its metadata names it.
pub fn is_generated(name: &str) -> bool {
    let mut base = name.strip_suffix(".enc").unwrap_or(name);
    for ext in [".gz", ".zst", ".xz", ".zlib"] {
        if let Some(b) = base.strip_suffix(ext) {
            base = b;
            break;
        }
    }
    let Some(base) = base.strip_suffix(".sql") else {
        return false;
    };
    // `_` + 8 digits + `_` + 6 digits + `_`.
    const STAMP: usize = 17;
    let bytes = base.as_bytes();
    (1..bytes.len().saturating_sub(STAMP)).any(|i| {
        let s = &bytes[i..i + STAMP];
        let shape = s[0] == b'_'
            && s[9] == b'_'
            && s[16] == b'_'
            && s[1..9].iter().chain(&s[10..16]).all(u8::is_ascii_digit);
        shape
            && chrono::NaiveDateTime::parse_from_str(&base[i + 1..i + 16], "%Y%m%d_%H%M%S").is_ok()
    })
}

/// Names may hold characters a file name cannot; only the path separator and NUL are replaced.
fn safe(name: &str) -> String {
    name.replace(['/', '\0'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Local> {
        Local.with_ymd_and_hms(2026, 1, 5, 12, 3, 4).unwrap()
    }

    #[test]
    fn names_follow_the_old_tool() {
        assert_eq!(
            database_file("shop", false, &at(), "db01", Codec::Zstd, true),
            "shop_20260105_120304_db01.sql.zst.enc"
        );
        assert_eq!(
            database_file("shop", true, &at(), "db01", Codec::None, false),
            "shop_nodata_20260105_120304_db01.sql"
        );
        assert_eq!(
            combined_file(true, false, &at(), "db01", 3, Codec::Gzip, false),
            "all_db01_20260105_120304_3db.sql.gz"
        );
        assert_eq!(
            combined_file(false, true, &at(), "db01", 2, Codec::Pgzip, true),
            "combined_nodata_db01_20260105_120304_2db.sql.gz.enc"
        );
    }

    #[test]
    fn custom_names_are_checked() {
        assert!(custom_file("../x", Codec::None, false).is_err());
        assert!(custom_file("a/b", Codec::None, false).is_err());
        assert_eq!(
            custom_file("x.sql.gz", Codec::Zstd, true).unwrap(),
            "x.sql.gz"
        );
        assert_eq!(custom_file("x", Codec::Xz, true).unwrap(), "x.sql.xz.enc");
    }

    #[test]
    fn grants_files_are_named_after_the_dump() {
        assert_eq!(
            grants_file("all_db01_20260105_120304_3db.sql.zst.enc", true),
            "all_db01_20260105_120304_3db_users.sql.enc"
        );
        assert_eq!(
            grants_file("shop_20260105_120304_db01.sql.gz", false),
            "shop_20260105_120304_db01_users.sql"
        );
        assert_eq!(grants_file("x.sql", false), "x_users.sql");
        assert_eq!(grants_file("x.sql.zlib", true), "x_users.sql.enc");
        assert_eq!(
            grants_file("custom.sql.bak", false),
            "custom.sql.bak_users.sql"
        );
    }

    #[test]
    fn generated_names_are_told_from_others() {
        for name in [
            database_file("shop", false, &at(), "db01", Codec::Zstd, true),
            database_file("a_b", true, &at(), "host_x", Codec::None, false),
            combined_file(true, false, &at(), "db01", 3, Codec::Gzip, false),
            combined_file(false, true, &at(), "db01", 2, Codec::Xz, true),
        ] {
            assert!(is_generated(&name), "{name}");
        }
        for name in [
            "notes.sql",
            "001_init.sql",
            "shop_20260105_120304_.sql",
            "_20260105_120304_db01.sql",
            "shop_20261305_120304_db01.sql",
            "shop_20260105_120304_db01.txt",
            "shop_20260105_1203_db01.sql",
        ] {
            assert!(!is_generated(name), "{name}");
        }
    }

    #[test]
    fn patterns_expand() {
        assert_eq!(expand_pattern("{year}{month}{day}/", &at()), "20260105/");
        assert_eq!(expand_pattern("{timestamp}", &at()), "20260105_120304");
    }
}
