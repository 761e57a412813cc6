//! `cleanup`: which directory and age (flags > config file, no defaults), and the removal of
//! the backup sets older than that, listed on stdout.

use std::path::PathBuf;

use sfdbtools::Error;
use sfdbtools::cleanup;
use sfdbtools::settings::Settings;

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
    Ok(Cleanup {
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
        days: a.days.or(settings.cleanup_days).ok_or_else(|| {
            Error::Usage("missing --days N (or set backup.cleanup.days in the config file)".into())
        })?,
        pattern: a.pattern,
        dry_run: a.dry_run,
    })
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
