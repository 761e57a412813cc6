//! Flags > config file > environment > defaults for each key of a backup, without a
//! terminal (`-q`) and with a made-up environment.

use clap::Parser;
use sfdbtools::rows::RowReader;
use sfdbtools::snapshot::Consistency;

use super::super::args::{BackupArgs, Cli, Command, SourceProfileArgs};
use super::super::inputs::tests::{config as settings, env, is_key};
use super::*;

fn common(mode: &mut BackupModeArgs) -> &mut BackupArgs {
    match mode {
        BackupModeArgs::All { common }
        | BackupModeArgs::Filter { common, .. }
        | BackupModeArgs::Single { common, .. }
        | BackupModeArgs::Primary { common, .. }
        | BackupModeArgs::Secondary { common, .. } => common,
    }
}

/// `sfdbtools -q db-backup ARGS` with the config file `yaml` and the environment `env`.
fn backup(args: &[&str], yaml: &str, env: &Env) -> Result<(BackupConfig, Pending), Error> {
    let argv = ["sfdbtools", "-q", "db-backup"].iter().chain(args);
    let Command::DbBackup { mut mode } = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!()
    };
    // clap also reads SFDB_SOURCE_PROFILE[_KEY]: none here, whatever the test run's.
    common(&mut mode).profile = SourceProfileArgs {
        profile: None,
        profile_key: None,
    };
    config(mode, true, &settings(yaml), env)
}

fn ok(args: &[&str], yaml: &str) -> BackupConfig {
    backup(args, yaml, &env(None, None)).unwrap().0
}

const CONFIG: &str = "
backup:
  compression: {type: xz, level: 9}
  encryption: {key: from-config}
  exclude:
    system_databases: false
    data: true
    empty: true
    user: true
    databases: [old]
  include: {databases: [shop], include_dmart: true}
  output:
    base_directory: /backups
    structure: {pattern: nightly/}
    file_permissions: \"0640\"
    metadata_permissions: \"0644\"
    save_backup_info: false
  replication: {capture_gtid: false}
  mysqldump_args: --single-transaction --quick
";

#[test]
fn a_list_file_larger_than_any_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dbs.txt");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let e = read_list_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("dbs.txt") && e.contains("more than 67108864 bytes"),
        "{e}"
    );
}

#[test]
fn without_flags_or_config_every_key_has_its_default() {
    let (c, pending) = backup(&["all", "-t", "T"], "", &env(None, None)).unwrap();
    assert_eq!(pending, Pending::default());
    assert_eq!(c.mode, BackupMode::All);
    assert_eq!(c.ticket, "T");
    assert_eq!(c.engine, Engine::Native);
    assert_eq!(c.consistency, Consistency::Snapshot);
    assert_eq!(c.row_reader, RowReader::Wire);
    assert_eq!((c.codec, c.level), (Codec::Zstd, Level::DEFAULT));
    assert!(c.passphrase.is_none());
    assert!(c.exclude_system && !c.exclude_data && !c.exclude_empty);
    assert!(c.export_grants && !c.include_dmart && !c.allow_missing);
    assert!(c.include.is_empty() && c.exclude.is_empty());
    assert!(c.output_dir.is_relative(), "{}", c.output_dir.display());
    assert_eq!(c.filename, None);
    assert_eq!((c.file_mode, c.metadata_mode), (0o600, 0o600));
    assert!(c.save_metadata && c.capture_position);
    assert_eq!(c.mysqldump_args, None);
    assert_eq!(c.statement_size, DEFAULT_STATEMENT_SIZE);
    assert!(!c.statement_size_given);
    assert_eq!(c.lock_wait_timeout.as_secs(), 60);
    assert_eq!(c.chunk_bytes, sfdbtools::dump::chunks::CHUNK_TARGET_BYTES);
    assert!(!c.ddl.skip_definer && !c.strict && !c.dry_run);
    assert_eq!(c.connection.host, "127.0.0.1");
    assert_eq!(c.cleanup_after, None);
}

#[test]
fn cleanup_after_a_backup_needs_an_age_and_a_base_directory() {
    let on = "backup:\n  cleanup: {enabled: true, days: 7}\n  output: {base_directory: /b}\n";
    assert_eq!(
        ok(&["all", "-t", "T"], on).cleanup_after,
        Some(CleanupAfter {
            base: "/b".into(),
            days: 7
        })
    );
    // `-o` does not change what is cleaned: the base directory of the config.
    let c = ok(&["all", "-t", "T", "-o", "/elsewhere"], on);
    assert_eq!(c.cleanup_after.unwrap().base, PathBuf::from("/b"));
    // Off, or on without an age (0 is the old tool's "no cleanup"): none.
    for yaml in [
        "backup:\n  cleanup: {enabled: false, days: 7}\n  output: {base_directory: /b}\n",
        "backup:\n  cleanup: {days: 7}\n  output: {base_directory: /b}\n",
        "backup:\n  cleanup: {enabled: true, days: 0}\n  output: {base_directory: /b}\n",
        "backup:\n  cleanup: {enabled: true}\n",
    ] {
        assert_eq!(ok(&["all", "-t", "T"], yaml).cleanup_after, None, "{yaml}");
    }
    let e = backup(
        &["all", "-t", "T"],
        "backup:\n  cleanup: {enabled: true, days: 7}\n",
        &env(None, None),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .contains("backup.output.base_directory is not set"),
        "{e}"
    );
}

#[test]
fn the_config_file_beats_the_defaults() {
    let c = ok(&["all", "-t", "T"], CONFIG);
    assert_eq!((c.codec, c.level.get()), (Codec::Xz, 9));
    assert!(is_key(c.passphrase.as_ref().unwrap(), "from-config"));
    assert!(!c.exclude_system && c.exclude_data && c.exclude_empty);
    assert!(!c.export_grants && c.include_dmart);
    assert_eq!(
        (c.include, c.exclude),
        (vec!["shop".into()], vec!["old".into()])
    );
    assert_eq!(c.output_dir, PathBuf::from("/backups/nightly/"));
    assert_eq!((c.file_mode, c.metadata_mode), (0o640, 0o644));
    assert!(!c.save_metadata && !c.capture_position);
    let args = c.mysqldump_args.unwrap();
    assert_eq!(args, ["--single-transaction", "--quick"]);
}

#[test]
fn flags_beat_the_config_file() {
    let c = ok(
        &[
            "all",
            "-t",
            "T",
            "-c",
            "gzip",
            "-l",
            "3",
            "-K",
            "flag",
            "--exclude-system",
            "--exclude-data=false",
            "--exclude-empty=false",
            "-o",
            "/elsewhere",
        ],
        CONFIG
            .replace("system_databases: false", "system_databases: true")
            .as_str(),
    );
    assert_eq!((c.codec, c.level.get()), (Codec::Gzip, 3));
    assert!(is_key(c.passphrase.as_ref().unwrap(), "flag"));
    assert!(c.exclude_system && !c.exclude_data && !c.exclude_empty);
    // `-o` is used as given: no base directory, no pattern.
    assert_eq!(c.output_dir, PathBuf::from("/elsewhere"));
    let c = ok(&["all", "-t", "T", "--exclude-system=false"], "");
    assert!(!c.exclude_system);
}

#[test]
fn skip_compress_beats_the_flag_and_compression_off_beats_the_configured_type() {
    let c = ok(&["all", "-t", "T", "-C", "-c", "gzip"], CONFIG);
    assert_eq!(c.codec, Codec::None);
    let off = "backup:\n  compression: {enabled: false, type: xz}\n";
    assert_eq!(ok(&["all", "-t", "T"], off).codec, Codec::None);
    assert_eq!(
        ok(&["all", "-t", "T", "-c", "zlib"], off).codec,
        Codec::Zlib
    );
    let e = backup(&["all", "-t", "T", "-c", "brotli"], "", &env(None, None)).unwrap_err();
    assert!(e.to_string().starts_with("-c/--compress: "), "{e}");
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn the_backup_key_is_the_flag_then_the_config_then_the_environment() {
    let ambient = env(Some("from-env"), None);
    let key = |args: &[&str], yaml: &str| {
        let argv: Vec<&str> = ["all", "-t", "T"].iter().chain(args).copied().collect();
        backup(&argv, yaml, &ambient).unwrap().0.passphrase
    };
    assert!(is_key(&key(&["-K", "flag"], CONFIG).unwrap(), "flag"));
    assert!(is_key(&key(&[], CONFIG).unwrap(), "from-config"));
    assert!(is_key(&key(&[], "").unwrap(), "from-env"));
    assert!(key(&["--skip-encrypt", "-K", "flag"], CONFIG).is_none());
    // `enabled: false` turns off the config's key and the environment, not the flag.
    let off = "backup:\n  encryption: {enabled: false, key: from-config}\n";
    assert!(key(&[], off).is_none());
    assert!(is_key(&key(&["-K", "flag"], off).unwrap(), "flag"));
}

#[test]
fn encryption_on_without_any_key_fails_with_q() {
    let on = "backup:\n  encryption: {enabled: true}\n";
    let e = backup(&["all", "-t", "T"], on, &env(None, None)).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        "backup.encryption.enabled is true in test-config.yaml but no key is given: pass \
             -K/--backup-key, set backup.encryption.key or SFDB_BACKUP_ENCRYPTION_KEY (running \
             non-interactively, nothing is prompted)"
    );
    let c = backup(&["all", "-t", "T"], on, &env(Some("k"), None))
        .unwrap()
        .0;
    assert!(is_key(c.passphrase.as_ref().unwrap(), "k"));
}

#[test]
fn value_flags_reach_the_config() {
    let c = ok(
        &[
            "single",
            "--database",
            "shop",
            "-t",
            "T",
            "--consistency",
            "lock",
            "--row-reader",
            "driver",
            "--statement-size",
            "64K",
            "--lock-wait-timeout",
            "5",
            "-j",
            "3",
            "-f",
            "custom",
            "--skip-definer",
            "--strict",
            "--allow-missing",
            "-d",
        ],
        "",
    );
    assert_eq!(
        c.mode,
        BackupMode::Single {
            database: "shop".into()
        }
    );
    assert_eq!(c.engine, Engine::Native);
    assert_eq!(c.consistency, Consistency::Lock);
    assert_eq!(c.row_reader, RowReader::Driver);
    assert_eq!((c.statement_size, c.statement_size_given), (64 << 10, true));
    assert_eq!((c.lock_wait_timeout.as_secs(), c.threads), (5, 3));
    assert_eq!(c.filename.as_deref(), Some("custom"));
    assert!(c.ddl.skip_definer && c.strict && c.allow_missing && c.dry_run);

    // The mysqldump engine takes what it can pass on, and refuses the rest by name.
    let c = ok(
        &[
            "all",
            "-t",
            "T",
            "--engine",
            "mysqldump",
            "--consistency",
            "lock",
            "--statement-size",
            "64K",
            "-j",
            "1",
        ],
        "",
    );
    assert_eq!(
        (c.engine, c.consistency),
        (Engine::Mysqldump, Consistency::Lock)
    );
    for (flag, says) in [
        (&["-j", "3"][..], "-j/--threads"),
        (&["--lock-wait-timeout", "5"], "--lock-wait-timeout"),
        (&["--skip-definer"], "--skip-definer"),
        (&["--strict"], "--strict"),
        (&["--row-reader", "wire"], "--row-reader"),
        (&["--chunk-bytes", "1000"], "--chunk-bytes"),
        (&["--consistency", "none"], "--consistency none"),
    ] {
        let args: Vec<&str> = ["all", "-t", "T", "--engine", "mysqldump"]
            .iter()
            .chain(flag)
            .copied()
            .collect();
        let e = backup(&args, "", &env(None, None)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{flag:?}");
        let text = e.to_string();
        assert!(
            text.contains(&format!("--engine mysqldump cannot follow {says}")),
            "{text}"
        );
    }
}

/// `backup.mysqldump_args` for the native engine: the old tool's packaged options are met
/// without a word, what they select is followed (added to the flags), and the rest is a
/// configuration error naming the option.
#[test]
fn mysqldump_args_are_followed_or_refused_by_the_native_engine() {
    let old = "backup:\n  mysqldump_args: \"-fQq --max-statement-time=0 --max-allowed-packet=1G \
                   --hex-blob --order-by-primary --single-transaction --routines=true \
                   --triggers=true --opt --net-buffer-length=16M\"\n";
    let c = ok(&["all", "-t", "T"], old);
    assert!(c.tables.is_empty());
    assert_eq!(c.objects, sfdbtools::config::run::DumpObjects::default());

    let yaml = "backup:\n  mysqldump_args: [\"--ignore-table=shop.log\", \"--skip-triggers\", \
                    \"--where=id < 100\", \"--no-data\"]\n";
    let c = ok(&["all", "-t", "T"], yaml);
    assert!(!c.tables.takes("shop", "log") && c.tables.takes("shop", "orders"));
    assert_eq!(c.tables.condition("a", "b").as_deref(), Some("(id < 100)"));
    assert!(!c.objects.triggers && c.exclude_data && c.objects.events);

    let e = backup(
        &["all", "-t", "T"],
        "backup:\n  mysqldump_args: --single-transaction --compatible=ansi\n",
        &env(None, None),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let text = e.to_string();
    assert!(
        text.contains("backup.mysqldump_args: --compatible=ansi changes what the file holds")
            && text.contains("--engine mysqldump"),
        "{text}"
    );
    // The mysqldump engine refuses only what would write something else than its SQL file
    // (an `--xml` "backup" would succeed as a useless file), naming the config file.
    let e = backup(
        &["all", "-t", "T", "--engine", "mysqldump"],
        "backup:\n  mysqldump_args: --single-transaction --xml\n",
        &env(None, None),
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let text = e.to_string();
    assert!(
        text.contains("backup.mysqldump_args: --xml writes another kind of output")
            && text.contains("config file ")
            && !text.contains("  "),
        "{text}"
    );
    // Otherwise it passes them on untouched.
    let c = ok(
        &["all", "-t", "T", "--engine", "mysqldump"],
        "backup:\n  mysqldump_args: --compatible=ansi\n",
    );
    assert!(c.tables.is_empty());
}

#[test]
fn selection_flags_reach_the_config() {
    let c = ok(
        &[
            "all",
            "-t",
            "T",
            "--tables",
            "shop.*,crm.o*",
            "--ignore-table",
            "shop.tmp",
            "--ignore-table-data",
            "shop.log",
            "--where",
            "crm.orders:id > 1",
            "--skip-triggers",
            "--skip-routines",
        ],
        "",
    );
    assert_eq!(c.tables.tables.len(), 2);
    assert!(!c.tables.takes("shop", "tmp") && !c.tables.takes_rows("shop", "log"));
    assert_eq!(
        c.tables.condition("crm", "orders").as_deref(),
        Some("(id > 1)")
    );
    assert!(c.objects.create_info && c.objects.events);
    assert!(!c.objects.triggers && !c.objects.routines);
    let e = backup(
        &["all", "-t", "T", "--tables", "orders"],
        "",
        &env(None, None),
    );
    let e = e.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().starts_with("--tables: \"orders\""), "{e}");
}

#[test]
fn what_cannot_be_asked_with_q_is_a_usage_error() {
    let fails = |args: &[&str]| {
        let e = backup(args, "", &env(None, None)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}");
        e.to_string()
    };
    assert_eq!(
        fails(&["all"]),
        "missing ticket: pass -t/--ticket TICKET (running non-interactively, nothing is \
             prompted)"
    );
    assert!(fails(&["single", "-t", "T"]).starts_with("missing database: pass --database"));
    assert!(fails(&["filter", "-t", "T", "--mode", "single-file"]).starts_with("filter needs"));
    assert_eq!(
        fails(&["filter", "--db", "a", "-t", "T"]),
        "filter with -q needs --mode single-file or --mode multi-file"
    );
    // A dry run writes nothing, so it needs no ticket.
    assert_eq!(ok(&["all", "-d"], "").ticket, "");
}

#[test]
fn filter_takes_names_and_a_list_file_and_the_dmart_flag_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("dbs.txt");
    std::fs::write(&list, "# nightly\r\nb\r\n\r\n  c  \n").unwrap();
    let list = list.display().to_string();
    let args = [
        "filter",
        "--db",
        "a",
        "--db-file",
        &list,
        "--mode",
        "multi-file",
        "-t",
        "T",
    ];
    assert_eq!(
        ok(&args, "").mode,
        BackupMode::Filter {
            databases: vec!["a".into(), "b".into(), "c".into()],
            multi_file: true
        }
    );
    let c = ok(&["primary", "-t", "T", "--client-code", "x"], "");
    assert_eq!(
        (c.client_code.as_deref(), c.include_dmart),
        (Some("x"), false)
    );
    assert!(ok(&["primary", "-t", "T", "--include-dmart"], "").include_dmart);
    let dmart = "backup:\n  include: {include_dmart: true}\n";
    assert!(ok(&["secondary", "-t", "T"], dmart).include_dmart);
}

#[test]
fn the_metrics_file_is_the_flag_else_the_config_s() {
    let yaml = "backup:\n  metrics: {file: /var/lib/node_exporter/sfdbtools.prom}\n";
    assert_eq!(ok(&["all", "-t", "T"], "").metrics_file, None);
    assert_eq!(
        ok(&["all", "-t", "T"], yaml).metrics_file,
        Some(PathBuf::from("/var/lib/node_exporter/sfdbtools.prom"))
    );
    assert_eq!(
        ok(&["all", "-t", "T", "--metrics-file", "/tmp/m.prom"], yaml).metrics_file,
        Some(PathBuf::from("/tmp/m.prom"))
    );
    assert!(
        settings(yaml).warnings.is_empty(),
        "backup.metrics.file is a known key"
    );
}
