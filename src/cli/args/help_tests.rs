//! Tests of what the command line shows its users: help text on every command and option,
//! the old tool's short flags, and `--version`.

use super::*;

/// `--help`, the man pages and the completions show each option's help: none may be
/// blank. Hidden options are for tests and benchmarks and are listed nowhere.
#[test]
fn every_command_and_option_has_help() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        if cmd.get_about().is_none() && !path.is_empty() {
            missing.push(format!("{path} (the command)"));
        }
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()).trim(), missing);
        }
    }
    let mut root = Cli::command();
    root.build();
    let mut missing = Vec::new();
    walk(&root, "", &mut missing);
    assert!(missing.is_empty(), "no help text: {missing:#?}");
}

/// The short flags the old tool's users type (docs/compat.md §1): `-f` is `--filename` in
/// a backup and `--file` where a file is read, `-k` the profile's key and `-K` the
/// backup's, except in `crypto`, whose `-k` is its one key (`-K` too); and crypto's
/// `--in`/`--out`.
#[test]
fn the_old_tool_s_short_flags_keep_their_meaning() {
    let long_of = |path: &[&str], short: char| {
        let mut root = Cli::command();
        root.build();
        let mut cmd = &root;
        for name in path {
            cmd = cmd.find_subcommand(name).unwrap();
        }
        cmd.get_arguments()
            .find(|a| a.get_short() == Some(short))
            .and_then(|a| a.get_long())
            .map(str::to_owned)
    };
    let backup = ["db-backup", "all"];
    assert_eq!(long_of(&backup, 'f').as_deref(), Some("filename"));
    assert_eq!(long_of(&backup, 'k').as_deref(), Some("profile-key"));
    assert_eq!(long_of(&backup, 'K').as_deref(), Some("backup-key"));
    for reads in [&["db-restore", "single"][..], &["verify"]] {
        assert_eq!(long_of(reads, 'f').as_deref(), Some("file"), "{reads:?}");
        assert_eq!(long_of(reads, 'k').as_deref(), Some("profile-key"));
        assert_eq!(long_of(reads, 'K').as_deref(), Some("backup-key"));
    }
    let crypto = ["crypto", "decrypt-file"];
    assert_eq!(long_of(&crypto, 'k').as_deref(), Some("key"));

    let argv = [
        "sfdbtools",
        "crypto",
        "encrypt-file",
        "--in",
        "a",
        "--out",
        "b",
        "-k",
        "x",
    ];
    let Command::Crypto {
        action: CryptoArgs::EncryptFile(f),
    } = Cli::try_parse_from(argv).unwrap().command
    else {
        unreachable!()
    };
    assert_eq!(
        (f.input.to_str(), f.output.to_str()),
        (Some("a"), Some("b"))
    );
    assert_eq!(f.key.as_deref(), Some("x"));
    let argv = [
        "sfdbtools",
        "crypto",
        "decrypt-file",
        "-i",
        "a",
        "-o",
        "b",
        "-K",
        "y",
    ];
    let Command::Crypto {
        action: CryptoArgs::DecryptFile(f),
    } = Cli::try_parse_from(argv).unwrap().command
    else {
        unreachable!()
    };
    assert_eq!(f.key.as_deref(), Some("y"));
    let argv = [
        "sfdbtools",
        "verify",
        "-f",
        "x.sql",
        "--encryption-key",
        "k",
    ];
    let Command::Verify(v) = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!()
    };
    assert_eq!(v.input.backup_key.as_deref(), Some("k"));
}

#[test]
fn version_names_the_commit_and_what_is_built_in() {
    let short = Cli::command().render_version();
    assert!(
        short.starts_with(&format!("sfdbtools {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{short}"
    );
    let long = Cli::command().render_long_version();
    for line in [
        "\ncommit:",
        "\nbuilt for:",
        "\ncompression: gzip, pgzip, zstd",
        "\nTLS:",
        "\nSSH tunnels:",
    ] {
        assert!(long.contains(line), "{line:?} missing from {long}");
    }
    assert!(long.contains(version::COMMIT));
}

/// A negative size reaches the option's own check, which names the option, instead of being
/// taken for an unknown flag.
#[test]
fn a_negative_keys_after_rows_is_refused_by_its_own_check() {
    for command in ["db-restore", "db-copy"] {
        let e = Cli::try_parse_from(["sfdbtools", command, "single", "--keys-after-rows", "-5"])
            .err()
            .unwrap_or_else(|| panic!("{command}: -5 was accepted"))
            .to_string();
        assert!(
            e.contains("--keys-after-rows") && e.contains("not a size"),
            "{command}: {e}"
        );
    }
}
