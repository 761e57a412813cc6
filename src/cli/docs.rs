//! Shell completions (`sfdbtools completions SHELL`) and man pages (`sfdbtools man-pages DIR`,
//! which `scripts/man.sh` runs), both generated from the clap definitions in `args`, so that
//! they name exactly the commands and flags this binary takes; an installed binary writes its
//! own, without the source tree.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use sfdbtools::Error;

use super::args::Cli;

/// The completion script for `shell`. Generated into memory and written by the caller: clap's
/// generator panics when its writer fails, and `sfdbtools completions bash | head` must not.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "sfdbtools", &mut script);
    script
}

/// Writes one page per command that is not hidden (`sfdbtools.1`, `sfdbtools-db-backup.1`,
/// `sfdbtools-db-backup-all.1`, …) into `dir`, created when missing; returns the files written,
/// sorted.
pub fn man_pages(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::file("creating the man page directory", dir, e))?;
    // The short version: the long one's lines would run together in the VERSION section.
    let cmd = Cli::command().long_version(None::<&str>);
    clap_mangen::generate_to(cmd, dir)
        .map_err(|e| Error::file("writing man pages into", dir, e))?;
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::file("listing", dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    pages.sort();
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of every command that is not hidden, as their man pages are named.
    fn visible_commands() -> Vec<String> {
        fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
            let name = match prefix {
                "" => cmd.get_name().to_owned(),
                p => format!("{p}-{}", cmd.get_name()),
            };
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                walk(sub, &name, out);
            }
            out.push(name);
        }
        let mut cmd = Cli::command().disable_help_subcommand(true);
        cmd.build();
        let mut out = Vec::new();
        walk(&cmd, "", &mut out);
        out
    }

    #[test]
    fn the_bash_script_is_valid_and_knows_the_commands_and_flags() {
        let script = String::from_utf8(completions(Shell::Bash)).unwrap();
        for word in [
            "db-backup",
            "db-restore",
            "verify",
            "cleanup",
            "crypto",
            "profile",
            "completions",
            "encrypt-file",
            "--backup-key",
            "--ticket",
            "--target-db",
            "--consistency",
            "--log-format",
        ] {
            assert!(script.contains(word), "{word} missing from the bash script");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sfdbtools.bash");
        std::fs::write(&path, &script).unwrap();
        let out = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// zsh and fish are not installed here to check the syntax; what they are given is.
    #[test]
    fn zsh_and_fish_scripts_name_the_commands() {
        for shell in [Shell::Zsh, Shell::Fish] {
            let script = String::from_utf8(completions(shell)).unwrap();
            for word in ["db-backup", "db-restore", "backup-key", "completions"] {
                assert!(script.contains(word), "{shell}: {word} missing");
            }
        }
    }

    #[test]
    fn there_is_a_man_page_for_every_command_with_its_options() {
        let dir = tempfile::tempdir().unwrap();
        let pages = man_pages(&dir.path().join("man")).unwrap();
        let mut names: Vec<String> = pages
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut want = visible_commands();
        want.sort();
        assert_eq!(names, want);
        let page = |name: &str| std::fs::read_to_string(dir.path().join("man").join(name)).unwrap();
        let all = page("sfdbtools-db-backup-all.1");
        for text in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            "backup\\-key",
            "ticket",
        ] {
            assert!(
                all.contains(text),
                "{text} missing from db-backup all's page"
            );
        }
        assert!(page("sfdbtools.1").contains("db\\-restore"));
        // groff (man's formatter) reads every page without a warning, where it is installed;
        // -k: the help texts hold UTF-8 (…), which `man` passes through preconv as well.
        for p in &pages {
            let Ok(out) = std::process::Command::new("groff")
                .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
                .arg(p)
                .output()
            else {
                break;
            };
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && warnings.is_empty(),
                "{p:?}: {warnings}"
            );
        }
    }
}
