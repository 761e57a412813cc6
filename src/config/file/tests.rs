//! Tests of the YAML config file's reading.

use super::*;

fn parse_ok(text: &str) -> Settings {
    parse(text, Path::new("/etc/test.yaml")).unwrap()
}

fn parse_err(text: &str) -> String {
    parse(text, Path::new("/etc/test.yaml"))
        .unwrap_err()
        .to_string()
}

const FULL: &str = r#"
backup:
  compression:
    type: XZ
    level: 7
    enabled: true
  encryption:
    enabled: true
    key: "  s3cret key "
  exclude:
    system_databases: false
    data: yes
    empty: true
    user: true
    databases: [scratch, tmp_db]
    file: /etc/sfDBTools/exclude.txt
  include:
    databases:
      - shop
      - crm
    file: include.txt
    include_dmart: true
  output:
    base_directory: /backup
    structure:
      pattern: "{year}/{month}/{day}_{hour}{minute}/"
    file_permissions: "0640"
    metadata_permissions: 0600
    save_backup_info: true
  replication:
    capture_gtid: true
  cleanup:
    days: 14
    enabled: true
  mysqldump_args: "--hex-blob  --single-transaction"
config_dir:
  database_profile: /etc/sfDBTools/database_profile
connection:
  ssl:
    mode: verify_identity
    ca: /etc/ssl/db-ca.pem
    cert: /etc/ssl/client.pem
    key: /etc/ssl/client.key
  ssh:
    host: bastion.example.com
    port: 2222
    user: ops
    identity_file: ~/.ssh/bastion
    accept_new: true
"#;

#[test]
fn every_key_is_read() {
    let s = parse_ok(FULL);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(s.compression_type, Some(Codec::Xz));
    assert_eq!(s.compression_level, Some(Level::new(7).unwrap()));
    assert_eq!(s.compression_enabled, Some(true));
    assert_eq!(s.encryption_enabled, Some(true));
    assert_eq!(
        s.encryption_key.as_ref().map(Secret::expose),
        Some("  s3cret key ")
    );
    assert_eq!(s.exclude_system_databases, Some(false));
    assert_eq!(s.exclude_data, Some(true));
    assert_eq!(s.exclude_empty, Some(true));
    assert_eq!(s.exclude_user, Some(true));
    assert_eq!(s.exclude_databases, ["scratch", "tmp_db"]);
    assert_eq!(
        s.exclude_file.as_deref(),
        Some(Path::new("/etc/sfDBTools/exclude.txt"))
    );
    assert_eq!(s.include_databases, ["shop", "crm"]);
    assert_eq!(s.include_file.as_deref(), Some(Path::new("include.txt")));
    assert_eq!(s.include_dmart, Some(true));
    assert_eq!(s.base_directory.as_deref(), Some(Path::new("/backup")));
    assert_eq!(
        s.structure_pattern.as_deref(),
        Some("{year}/{month}/{day}_{hour}{minute}/")
    );
    assert_eq!(s.file_permissions, Some(0o640));
    assert_eq!(s.metadata_permissions, Some(0o600));
    assert_eq!(s.save_backup_info, Some(true));
    assert_eq!(s.capture_gtid, Some(true));
    assert_eq!((s.cleanup_days, s.cleanup_enabled), (Some(14), Some(true)));
    assert_eq!(
        s.mysqldump_args,
        Some(vec!["--hex-blob".into(), "--single-transaction".into()])
    );
    assert_eq!(
        s.profile_dir.as_deref(),
        Some(Path::new("/etc/sfDBTools/database_profile"))
    );
    assert_eq!(s.tls.mode, Some(SslMode::VerifyIdentity));
    assert_eq!(s.tls.ca.as_deref(), Some(Path::new("/etc/ssl/db-ca.pem")));
    assert_eq!(
        s.tls.cert.as_deref(),
        Some(Path::new("/etc/ssl/client.pem"))
    );
    assert_eq!(s.tls.key.as_deref(), Some(Path::new("/etc/ssl/client.key")));
    assert_eq!(
        s.ssh,
        SshKeys {
            host: Some("bastion.example.com".into()),
            port: Some(2222),
            user: Some("ops".into()),
            identity_file: Some("~/.ssh/bastion".into()),
            accept_new: Some(true),
        }
    );
}

#[test]
fn empty_files_and_null_values_set_nothing() {
    for text in [
        "",
        "  \n# only a comment\n",
        "backup:\n",
        "backup:\n  compression:\n    type:\n",
    ] {
        let s = parse_ok(text);
        assert!(
            s.compression_type.is_none() && s.warnings.is_empty(),
            "{text:?}"
        );
    }
}

#[test]
fn keys_are_case_insensitive() {
    let s = parse_ok("Backup:\n  Compression:\n    TYPE: gzip\n");
    assert_eq!(s.compression_type, Some(Codec::Gzip));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn unknown_keys_warn_once_per_unknown_node() {
    let s = parse_ok(
        "backup:\n  compression:\n    typo: zstd\n  retention: {a: 1, b: 2}\nlogging:\n  level: info\n  file: x\n",
    );
    assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
    for key in ["backup.compression.typo", "backup.retention", "`logging`"] {
        assert!(
            s.warnings.iter().any(|w| w.contains(key)),
            "{key} in {:?}",
            s.warnings
        );
    }
    assert!(s.warnings.iter().all(|w| w.contains("/etc/test.yaml")));
}

#[test]
fn invalid_values_name_the_key_and_the_file() {
    for (text, key) in [
        (
            "backup:\n  compression:\n    type: lz4\n",
            "backup.compression.type",
        ),
        (
            "backup:\n  compression:\n    level: 12\n",
            "backup.compression.level",
        ),
        (
            "backup:\n  compression:\n    level: [1]\n",
            "backup.compression.level",
        ),
        (
            "backup:\n  exclude:\n    data: maybe\n",
            "backup.exclude.data",
        ),
        (
            "backup:\n  exclude:\n    databases: a,b\n",
            "backup.exclude.databases",
        ),
        (
            "backup:\n  output:\n    file_permissions: \"0666\"\n",
            "backup.output.file_permissions",
        ),
        (
            "backup:\n  output:\n    metadata_permissions: \"0400\"\n",
            "backup.output.metadata_permissions",
        ),
        (
            "backup:\n  output:\n    file_permissions: \"rw\"\n",
            "backup.output.file_permissions",
        ),
        (
            "backup:\n  output:\n    structure:\n      pattern: \"/abs/{day}\"\n",
            "backup.output.structure.pattern",
        ),
        (
            "backup:\n  output:\n    structure:\n      pattern: \"{week}/\"\n",
            "backup.output.structure.pattern",
        ),
        (
            "backup:\n  output:\n    structure:\n      pattern: \"../{day}\"\n",
            "backup.output.structure.pattern",
        ),
        (
            "backup:\n  cleanup:\n    days: soon\n",
            "backup.cleanup.days",
        ),
        ("backup:\n  compression: zstd\n", "backup.compression"),
        (
            "backup:\n  mysqldump_args: {a: 1}\n",
            "backup.mysqldump_args",
        ),
        ("backup:\n  cleanup:\n    days: -1\n", "backup.cleanup.days"),
        (
            "backup:\n  cleanup:\n    enabled: sometimes\n",
            "backup.cleanup.enabled",
        ),
        (
            "connection:\n  ssl:\n    mode: sometimes\n",
            "connection.ssl.mode",
        ),
        ("connection:\n  ssl:\n    ca: 5\n", "connection.ssl.ca"),
        (
            "connection:\n  ssh:\n    port: 70000\n",
            "connection.ssh.port",
        ),
        (
            "connection:\n  ssh:\n    host: \"a b\"\n",
            "connection.ssh.host",
        ),
        (
            "connection:\n  ssh:\n    accept_new: maybe\n",
            "connection.ssh.accept_new",
        ),
    ] {
        let e = parse_err(text);
        assert!(e.contains(&format!("`{key}`")), "{key} not in: {e}");
        assert!(e.contains("/etc/test.yaml"), "no path in: {e}");
    }
}

#[test]
fn a_config_file_larger_than_any_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(
        e.contains("c.yaml") && e.contains("more than 16777216 bytes"),
        "{e}"
    );
}

#[test]
fn a_top_level_that_is_no_mapping_and_broken_yaml_fail() {
    assert!(parse_err("- a\n- b\n").contains("top level"));
    assert!(parse_err("backup: [\n").contains("not valid YAML"));
}

#[test]
fn permissions_accept_the_usual_spellings() {
    for (v, mode) in [
        (Yaml::String("0600".into()), 0o600),
        (Yaml::String("0o644".into()), 0o644),
        (Yaml::String("640".into()), 0o640),
        (Yaml::Integer(600), 0o600),
    ] {
        assert_eq!(permissions(&v), Ok(mode));
    }
    assert!(permissions(&Yaml::Integer(777)).is_err());
    assert!(permissions(&Yaml::Integer(1000)).is_err());
}

#[test]
fn mysqldump_args_as_a_list_keep_spaces() {
    let s = parse_ok("backup:\n  mysqldump_args: [\"--where=a = 1\", --hex-blob]\n");
    assert_eq!(
        s.mysqldump_args,
        Some(vec!["--where=a = 1".into(), "--hex-blob".into()])
    );
}

#[test]
fn metadata_and_position_can_be_turned_off_without_a_warning() {
    let s = parse_ok(
        "backup:\n  output:\n    save_backup_info: false\n  replication:\n    capture_gtid: false\n",
    );
    assert_eq!(s.save_backup_info, Some(false));
    assert_eq!(s.capture_gtid, Some(false));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn the_explicit_file_wins_and_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("etc.yaml");
    let xdg = dir.path().join("xdg");
    let user = xdg.join("sfdbtools/config.yaml");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    assert_eq!(locate_in(None, &system, Some(xdg.clone())).unwrap(), None);
    std::fs::write(&user, "").unwrap();
    assert_eq!(
        locate_in(None, &system, Some(xdg.clone())).unwrap(),
        Some(user.clone())
    );
    std::fs::write(&system, "").unwrap();
    assert_eq!(
        locate_in(None, &system, Some(xdg.clone())).unwrap(),
        Some(system.clone()),
        "the system file comes first (docs/compat.md §7 order)"
    );
    let explicit = dir.path().join("mine.yaml");
    assert!(locate_in(Some(explicit.clone()), &system, None).is_err());
    std::fs::write(&explicit, "").unwrap();
    assert_eq!(
        locate_in(Some(explicit.clone()), &system, None).unwrap(),
        Some(explicit)
    );
    assert_eq!(
        locate_in(Some(PathBuf::new()), &system, None).unwrap(),
        Some(system),
        "an empty variable counts as unset"
    );
}

/// `log.level` (the old tool's key, its logrus names too) and `log.file` (ours) are read; a
/// level that is not one is an error naming the key; the old tool's other `log` keys stay
/// silent, and a typo under `log` warns.
#[test]
fn log_keys_are_read_and_checked() {
    let s = parse_ok(
        "log:\n  level: WARNING\n  file: /var/log/sfdbtools.log\n  format: text\n  output: {console: {enabled: true}}\n",
    );
    assert_eq!(s.log_level.as_deref(), Some("warning"));
    assert_eq!(
        s.log_file.as_deref(),
        Some(Path::new("/var/log/sfdbtools.log"))
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let e = parse_err("log:\n  level: loud\n");
    assert!(e.contains("`log.level`") && e.contains("\"loud\""), "{e}");
    let s = parse_ok("log:\n  levle: info\n");
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0].contains("`log.levle`"), "{:?}", s.warnings);
}
