//! Build script: records what `sfdbtools --version` says about the build, the git commit, the
//! target, the profile and the compiler, as `SFDB_BUILD_*` compile-time variables.
//!
//! A build from a source tarball (no `.git`, or no `git`) says "unknown" and still builds;
//! packagers may name the commit with `SFDB_BUILD_COMMIT`. The script runs again when HEAD
//! moves (a commit, a checkout), not on every build: it watches the files git changes then.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SFDB_BUILD_COMMIT");
    let commit = match std::env::var("SFDB_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => git_commit().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=SFDB_BUILD_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=SFDB_BUILD_TARGET={target}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=SFDB_BUILD_PROFILE={profile}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = run(Command::new(rustc).arg("-V")).unwrap_or_else(|| "rustc unknown".into());
    println!("cargo:rustc-env=SFDB_BUILD_RUSTC={rustc}");
}

/// The commit of HEAD, when this crate is the top of a git work tree (a tarball unpacked inside
/// some other repository must not take that repository's commit); None otherwise.
fn git_commit() -> Option<String> {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let git = |args: &[&str]| run(Command::new("git").arg("-C").arg(&here).args(args));
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if !same_dir(&top, &here) {
        return None;
    }
    let commit = git(&["rev-parse", "HEAD"])?;
    // HEAD names the branch (or the commit, detached); the branch's ref file, or packed-refs
    // once git has packed it, names the commit. A worktree has its own HEAD and shares the
    // refs of the main repository. Only files that exist are watched: cargo reruns the script
    // on every build for a watched path that is missing.
    let absolute = |p: String| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { here.join(p) }
    };
    let git_dir = absolute(git(&["rev-parse", "--git-dir"])?);
    let common = absolute(git(&["rev-parse", "--git-common-dir"])?);
    let mut watched = vec![git_dir.join("HEAD"), common.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(common.join(branch));
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    Some(commit)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The command's first line of output when it succeeds.
fn run(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}
