//! The keys of the old tool's config file that this version reads past (docs/compat.md §7):
//! what tells a valid old file, which must run silently from cron, from a typo.

/// Keys (and whole sections) of the old tool's config (its v1.2 `config.example.yaml` and
/// config types) that this version has no use for. They are read past without a word: one
/// file serves both tools during a migration, and a warning on every run of a valid old file
/// would be mail from cron every night. Anything else unknown is a typo to warn about.
pub(super) const KEYS: [&str; 17] = [
    "backup.cleanup.schedule",
    "backup.output.cleanup_temp",
    "backup.output.structure.create_subdirs",
    "backup.verification",
    "backup.replication.replication_user",
    "backup.replication.replication_password",
    "backup.scheduler",
    "config_dir.database_list",
    "config_dir.mariadb_config_templates",
    "general",
    "log.format",
    "log.output",
    "log.timezone",
    "mariadb",
    "profile",
    "system_users",
    "script",
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Settings, parse};

    fn parse_ok(text: &str) -> Settings {
        parse(text, Path::new("/etc/test.yaml")).unwrap()
    }

    /// Every key of the old tool's v1.2 config, as its packaged file and its write-back (which
    /// left empty strings for what was not set) have them: read without a warning, so that
    /// `-q` runs stay silent, and `days: 0` is its "no cleanup".
    const OLD_TOOL_CONFIG: &str = r#"
backup:
  compression: {type: zstd, level: 5, enabled: true}
  mysqldump_args: "-fQq --max-statement-time=0 --hex-blob --single-transaction --routines=true --triggers=true --opt"
  exclude: {user: false, system_databases: true, data: false, empty: false, databases: [], file: ""}
  include: {include_dmart: false, databases: [], file: ""}
  cleanup: {enabled: false, schedule: "", days: 0}
  encryption: {enabled: false, key: ""}
  output:
    base_directory: /srv/backup
    cleanup_temp: true
    file_permissions: "0600"
    metadata_permissions: "0600"
    structure: {create_subdirs: true, pattern: "{year}{month}{day}/"}
    save_backup_info: true
  verification: {disk_space_check: false}
  replication: {capture_gtid: true, replication_user: repl, replication_password: secret}
  scheduler:
    jobs:
      - {name: nightly, enabled: true, schedule: "0 2 * * *", mode: separated}
config_dir: {database_profile: /etc/sfDBTools/config/db_profile, database_list: "", mariadb_config_templates: ""}
general:
  app_name: sfDBTools
  client_code: ""
  locale: {date_format: "2006-01-02", time_format: "15:04:05", timezone: Asia/Jakarta}
log:
  format: text
  level: info
  output:
    console: {enabled: true}
    file: {dir: /var/log/sfDBTools, enabled: true, filename_pattern: "x_{date}.log", rotation: {compress_old: true, daily: true, max_size: 100MB, retention_days: 7}}
  timezone: Asia/Jakarta
profile: {connection: {timeout: 30s}}
mariadb: {key_maria_nbc_file: "", port: 3306}
system_users: {users: [root]}
script: {bundle_output_dir: /etc/sfDBTools/scripts}
"#;

    #[test]
    fn an_old_tool_config_reads_without_a_warning() {
        let s = parse_ok(OLD_TOOL_CONFIG);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!((s.cleanup_enabled, s.cleanup_days), (Some(false), Some(0)));
        assert_eq!(s.encryption_enabled, Some(false));
        // Its log level is honoured; its own log files (log.output.file) are not written.
        assert_eq!(
            (s.log_level.as_deref(), s.log_file.as_deref()),
            (Some("info"), None)
        );
        assert!(s.encryption_key.is_none() && s.include_file.is_none() && s.exclude_file.is_none());
        assert_eq!(s.base_directory.as_deref(), Some(Path::new("/srv/backup")));
        // Its unknown keys still warn, sections and keys alike.
        let s = parse_ok(&format!("{OLD_TOOL_CONFIG}loggin: {{level: info}}\n"));
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("`loggin`"), "{:?}", s.warnings);
    }

    #[test]
    fn empty_strings_set_nothing() {
        let s = parse_ok(
            "backup:\n  output:\n    base_directory: \"\"\n    file_permissions: \"\"\nconfig_dir:\n  database_profile: \" \"\n",
        );
        assert!(s.base_directory.is_none() && s.file_permissions.is_none());
        assert!(s.profile_dir.is_none() && s.warnings.is_empty());
    }
}
