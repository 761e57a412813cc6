//! `cleanup`: removes whole backup sets (dump, `.meta.json`, `_users.sql[.enc]`) older than N
//! days under a base directory, and says what it removes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// The files of one backup: the dump and its companions that exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSet {
    pub dump: PathBuf,
    pub companions: Vec<PathBuf>,
}

/// True for the name of a dump file: `….sql` with an optional codec and `.enc` suffix.
pub fn is_dump_name(name: &str) -> bool {
    let mut rest = name.strip_suffix(".enc").unwrap_or(name);
    for ext in [".gz", ".zst", ".xz", ".zlib"] {
        if let Some(r) = rest.strip_suffix(ext) {
            rest = r;
            break;
        }
    }
    rest.ends_with(".sql") && !rest.ends_with("_users.sql") && !name.starts_with('.')
}

/// The grants file that goes with a dump: `<name without .enc, codec ext and .sql>_users.sql`.
fn grants_names(dump_name: &str) -> [String; 2] {
    let mut base = dump_name.strip_suffix(".enc").unwrap_or(dump_name);
    for ext in [".gz", ".zst", ".xz", ".zlib"] {
        if let Some(b) = base.strip_suffix(ext) {
            base = b;
            break;
        }
    }
    let base = base.strip_suffix(".sql").unwrap_or(base);
    [format!("{base}_users.sql"), format!("{base}_users.sql.enc")]
}

/// A shell-style glob on a file name: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Backup sets under `base` whose dump was last modified more than `days` days ago.
pub fn find_old(base: &Path, days: u64, pattern: Option<&str>) -> Result<Vec<BackupSet>> {
    let cutoff = SystemTime::now()
        .checked_sub(Duration::from_secs(days * 86_400))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut sets = Vec::new();
    let mut dirs = vec![base.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| Error::file("listing", dir.clone(), e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_dump_name(&name) || pattern.is_some_and(|p| !glob_match(p, &name)) {
                continue;
            }
            if meta.modified().map(|m| m >= cutoff).unwrap_or(true) {
                continue;
            }
            let mut companions = vec![dir.join(format!("{name}.meta.json"))];
            companions.extend(grants_names(&name).into_iter().map(|g| dir.join(g)));
            companions.retain(|c| c.exists());
            sets.push(BackupSet {
                dump: path,
                companions,
            });
        }
    }
    sets.sort_by(|a, b| a.dump.cmp(&b.dump));
    Ok(sets)
}

/// Removes the sets; stops at the first file that cannot be removed, naming it.
pub fn remove(sets: &[BackupSet]) -> Result<()> {
    for set in sets {
        for f in std::iter::once(&set.dump).chain(&set.companions) {
            std::fs::remove_file(f).map_err(|e| Error::file("removing", f.clone(), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_names_are_recognised() {
        assert!(is_dump_name("shop_20260105_120000_db01.sql.zst.enc"));
        assert!(is_dump_name("all_db01_20260105_120000_3db.sql"));
        assert!(!is_dump_name(
            "shop_20260105_120000_db01.sql.zst.enc.meta.json"
        ));
        assert!(!is_dump_name("shop_20260105_120000_db01_users.sql"));
        assert!(!is_dump_name(".shop.sql.partial-12"));
        assert_eq!(
            grants_names("shop_1_2_h.sql.zst.enc"),
            [
                "shop_1_2_h_users.sql".to_owned(),
                "shop_1_2_h_users.sql.enc".to_owned()
            ]
        );
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("shop_*", "shop_2026.sql"));
        assert!(glob_match("*.sql.?z", "a.sql.xz"));
        assert!(!glob_match("shop_*", "crm_2026.sql"));
        assert!(glob_match("*", ""));
    }
}
