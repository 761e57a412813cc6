//! `cleanup`: which directory and age (flags > config file, no defaults), and the removal of
//! the backup sets older than that, listed on stdout.

use std::path::PathBuf;

use sfdbtools::Error;
use sfdbtools::cleanup;
use sfdbtools::config::file::Settings;

use super::args::CleanupArgs;

/// A cleanup with everything it needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Cleanup {
    pub base: PathBuf,
    pub days: u64,
    pub pattern: Option<String>,
    pub dry_run: bool,
}

/// The directory and the age: each its flag, else its config key, else a usage error.
pub fn config(a: CleanupArgs, settings: &Settings) -> Result<Cleanup, Error> {
    let cleanup = Cleanup {
        // Never the current directory by default: run from a home directory, that
        // took anyone's `.sql` files.
        base: a
            .backup_dir
            .or_else(|| settings.base_directory.clone())
            .ok_or_else(|| {
                Error::Usage(
                    "cleanup needs the directory that holds the backups: pass \
                     -o/--backup-dir DIR (or set backup.output.base_directory in the \
                     config file)"
                        .into(),
                )
            })?,
        days: match (a.days, settings.cleanup_days) {
            (Some(d), _) => d,
            (None, Some(d)) if d > 0 => d,
            // The old tool's packaged config: 0 says no cleanup, not "everything".
            (None, Some(_)) => {
                return Err(Error::Usage(
                    "backup.cleanup.days is 0 in the config file, which means no cleanup: pass \
                     --days N"
                        .into(),
                ));
            }
            (None, None) => {
                return Err(Error::Usage(
                    "missing --days N (or set backup.cleanup.days in the config file)".into(),
                ));
            }
        },
        pattern: a.pattern,
        dry_run: a.dry_run,
    };
    a.s3.configure_for(&cleanup.base)?;
    Ok(cleanup)
}

/// Lists (and unless a dry run, removes) every old set; the count on stderr unless `-q`.
pub fn run(c: Cleanup, quiet: bool) -> Result<(), Error> {
    let Cleanup {
        base,
        days,
        pattern,
        dry_run,
    } = c;
    let scan = cleanup::find_old(&base, days, pattern.as_deref())?;
    for warning in &scan.warnings {
        eprintln!("sfdbtools: warning: {warning}");
    }
    let sets = scan.sets;
    let verb = if dry_run { "would remove" } else { "removing" };
    for set in &sets {
        println!("{verb} {}", set.dump.display());
        for c in &set.companions {
            println!("{verb} {}", c.display());
        }
    }
    if !dry_run {
        cleanup::remove(&sets)?;
    }
    if !quiet {
        eprintln!("{} backup set(s) older than {days} day(s)", sets.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::inputs::tests::config as settings;
    use super::*;

    fn args(backup_dir: Option<&str>, days: Option<u64>) -> CleanupArgs {
        CleanupArgs {
            days,
            pattern: Some("*.sql".into()),
            dry_run: true,
            backup_dir: backup_dir.map(PathBuf::from),
            s3: Default::default(),
        }
    }

    const CONFIG: &str = "backup:\n  output: {base_directory: /backups}\n  cleanup: {days: 30}\n";

    #[test]
    fn flags_beat_the_config_which_is_the_only_default() {
        let c = config(args(Some("/here"), Some(7)), &settings(CONFIG)).unwrap();
        assert_eq!(
            c,
            Cleanup {
                base: "/here".into(),
                days: 7,
                pattern: Some("*.sql".into()),
                dry_run: true
            }
        );
        let c = config(args(None, None), &settings(CONFIG)).unwrap();
        assert_eq!((c.base, c.days), (PathBuf::from("/backups"), 30));
    }

    #[test]
    fn without_a_directory_or_an_age_cleanup_refuses() {
        let none = Settings::default();
        let e = config(args(None, Some(7)), &none).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().starts_with("cleanup needs the directory"),
            "{e}"
        );
        let e = config(args(Some("/here"), None), &none).unwrap_err();
        assert_eq!(
            e.to_string(),
            "missing --days N (or set backup.cleanup.days in the config file)"
        );
        let zero = settings("backup:\n  cleanup: {days: 0}\n");
        let e = config(args(Some("/here"), None), &zero).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("which means no cleanup"), "{e}");
        assert_eq!(config(args(Some("/here"), Some(3)), &zero).unwrap().days, 3);
    }
}
