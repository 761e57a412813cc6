//! `db-backup`: its arguments, config-file keys and environment turned into one
//! [`BackupConfig`] (flags > config file > environment > defaults, one key at a time), and
//! the run with its answer on the terminal.

use std::path::PathBuf;
use std::sync::Arc;

use sfdbtools::Error;
use sfdbtools::compress::{Codec, Level};
use sfdbtools::config::dump_args;
use sfdbtools::config::file::Settings;
use sfdbtools::config::run::{BackupConfig, BackupMode, CleanupAfter, Engine};
use sfdbtools::dump::plan::DryRun;
use sfdbtools::dump::{self, naming};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::metadata::human_size;
use sfdbtools::progress::Progress;
use sfdbtools::secret::Secret;
use sfdbtools::sql::insert::DEFAULT_STATEMENT_SIZE;
use sfdbtools::sql::script::DdlOptions;

use super::args::{BackupArgs, BackupModeArgs, FilterMode};
use super::inputs::{BACKUP_KEY_ENV, Env, connection, thread_count};
use super::prompt::{self, Pending};
use super::report::{self, Reporter, Style};
use super::runtime::{open_tunnel, runtime, through_tunnel, until_interrupted};

/// Runs the backup: the questions left for the server's list and the review, then the dry run
/// or the run itself, stopped cleanly (no file under a final name) by SIGINT or SIGTERM.
pub fn run(mut config: BackupConfig, pending: Pending, style: Style) -> Result<(), Error> {
    let runtime = runtime()?;
    let tunnel = open_tunnel(&mut config.connection, &runtime)?;
    let config = prompt::complete(config, pending, &runtime)?;
    let reporter = Arc::new(Reporter::new(style));
    let progress: Arc<dyn Progress> = reporter.clone();
    if config.dry_run {
        let plan = runtime.block_on(dump::plan::dry_run(&config, progress.as_ref()))?;
        print_dry_run(&plan);
        return Ok(());
    }
    let outcome = until_interrupted(
        &runtime,
        dump::run(&config, progress),
        "stopping, removing this run's files",
    );
    match outcome {
        Some(Ok(report)) => {
            report::summary(&report, &reporter);
            // Only here: after a run that wrote every file, never after a dry run or a
            // failure (an old set may be the only good one left when tonight's failed).
            if let Some(c) = &config.cleanup_after {
                let written: Vec<PathBuf> = report
                    .files
                    .iter()
                    .flat_map(|f| std::iter::once(f.path.clone()).chain(f.metadata_path.clone()))
                    .chain(report.user_grants.clone())
                    .collect();
                let done = sfdbtools::cleanup::after_backup(&c.base, c.days, &written);
                report::cleanup_after(&done, c, &reporter);
            }
            Ok(())
        }
        Some(Err(e)) => {
            let e = through_tunnel(&tunnel, e);
            reporter.error(&e.to_string());
            Err(e)
        }
        None => {
            // Exiting closes every connection, and the server drops their locks with
            // them; waiting for the runtime's threads could only delay that.
            sfdbtools::output::file::remove_files_of_this_run();
            sfdbtools::dump::mysqldump::stop_children();
            sfdbtools::dump::mysqldump::remove_option_files();
            eprintln!("sfdbtools: error: interrupted: nothing was written under a final name");
            std::process::exit(130);
        }
    }
}

/// `--dry-run`: the plan on stdout (it is the command's answer, not a log).
fn print_dry_run(plan: &DryRun) {
    println!(
        "dry run on {} ({}): nothing was written",
        plan.hostname, plan.server
    );
    println!(
        "{:<40} {:>7} {:>14} {:>12}",
        "database", "tables", "~rows", "~size"
    );
    for (db, tables, rows, bytes) in &plan.databases {
        println!("{db:<40} {tables:>7} {rows:>14} {:>12}", human_size(*bytes));
    }
    if !plan.excluded.is_empty() {
        println!("excluded: {}", plan.excluded.join(", "));
    }
    for p in plan.packages.iter().filter(|p| p.companion.is_some()) {
        println!(
            "package: {} with {}",
            p.database,
            p.companion.as_deref().unwrap_or_default()
        );
    }
    if !plan.databases_left_out.is_empty() {
        println!(
            "left out by --tables (none of their tables matches): {}",
            plan.databases_left_out.join(", ")
        );
    }
    for (db, taken, left_out) in &plan.table_counts {
        println!("{db}: {taken} table(s) and view(s) taken, {left_out} left out");
    }
    if !plan.data_skipped.is_empty() {
        let names: Vec<String> = plan
            .data_skipped
            .iter()
            .map(|t| format!("{}.{}", t.database, t.table))
            .collect();
        println!("rows left out (schema kept): {}", names.join(", "));
    }
    for (t, condition) in &plan.conditions {
        println!("rows of {}.{} where {condition}", t.database, t.table);
    }
    println!("files:");
    for f in plan.files.iter().chain(&plan.user_grants) {
        println!("  {}", f.display());
    }
}

/// Mode-specific settings of a backup, before the common flags are applied.
struct ModeSettings {
    mode: BackupMode,
    client_code: Option<String>,
    instance: Option<String>,
    include_dmart: bool,
}

impl ModeSettings {
    fn plain(mode: BackupMode) -> ModeSettings {
        ModeSettings {
            mode,
            client_code: None,
            instance: None,
            include_dmart: false,
        }
    }
}

/// The backup to run, from its arguments, the config file and the environment; prompting only
/// when interactive, and leaving to [`prompt::complete`] what needs the server's list.
pub fn config(
    mode: BackupModeArgs,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<(BackupConfig, Pending), Error> {
    {
        let mut pending = Pending {
            interactive: prompt::interactive(quiet),
            ..Pending::default()
        };
        let (mode_settings, common) = match mode {
            BackupModeArgs::All { common } => (ModeSettings::plain(BackupMode::All), common),
            BackupModeArgs::Single { database, common } => {
                let database = match database {
                    Some(d) if !d.trim().is_empty() => d,
                    _ if pending.interactive => {
                        pending.database = true;
                        String::new()
                    }
                    _ => return Err(prompt::missing("database", "--database NAME")),
                };
                (ModeSettings::plain(BackupMode::Single { database }), common)
            }
            BackupModeArgs::Primary {
                client_code,
                include_dmart,
                common,
            } => (
                ModeSettings {
                    mode: BackupMode::Primary,
                    client_code,
                    instance: None,
                    include_dmart,
                },
                common,
            ),
            BackupModeArgs::Secondary {
                client_code,
                instance,
                include_dmart,
                common,
            } => (
                ModeSettings {
                    mode: BackupMode::Secondary,
                    client_code,
                    instance,
                    include_dmart,
                },
                common,
            ),
            BackupModeArgs::Filter {
                db,
                db_file,
                mode,
                common,
            } => {
                let mut databases = db;
                if let Some(path) = db_file {
                    databases.extend(read_list_file(&path)?);
                }
                if databases.is_empty() {
                    if !pending.interactive {
                        return Err(Error::Usage(
                            "filter needs at least one database: --db NAME (repeatable) or \
                             --db-file PATH"
                                .into(),
                        ));
                    }
                    pending.databases = true;
                }
                let multi_file = match mode {
                    Some(FilterMode::MultiFile) => true,
                    Some(FilterMode::SingleFile) => false,
                    None if quiet => {
                        return Err(Error::Usage(
                            "filter with -q needs --mode single-file or --mode multi-file".into(),
                        ));
                    }
                    None => {
                        prompt::text_or_fail(quiet, "mode", "--mode", Some("single-file"))?
                            == "multi-file"
                    }
                };
                (
                    ModeSettings::plain(BackupMode::Filter {
                        databases,
                        multi_file,
                    }),
                    common,
                )
            }
        };
        let a = common;
        let (tables, objects) = super::selection::dump_selection(&a.selection)?;
        if a.engine == Engine::Mysqldump {
            refuse_native_only(&a)?;
        }
        let now = chrono::Local::now();
        let ticket = match a.ticket {
            Some(t) if !t.trim().is_empty() => t,
            // A dry run writes nothing, so there is nothing to audit.
            _ if a.dry_run => String::new(),
            _ => {
                let default = format!("bk-{}", now.format("%Y%m%d%H%M%S"));
                prompt::text_or_fail(quiet, "ticket", "-t/--ticket TICKET", Some(&default))?
            }
        };
        let codec = codec(a.compress.as_deref(), a.skip_compress, settings)?;
        let level = match a.compress_level {
            Some(l) => {
                Level::new(l).map_err(|e| Error::Usage(format!("-l/--compress-level: {e}")))?
            }
            None => settings.compression_level.unwrap_or_default(),
        };
        let passphrase = backup_passphrase(a.backup_key, a.skip_encrypt, settings, env, quiet)?;
        let threads = thread_count(a.threads)?;
        let output_dir = a
            .backup_dir
            .unwrap_or_else(|| default_output_dir(settings, &now));
        if let Some(f) = &a.filename {
            naming::custom_file(f, codec, passphrase.is_some())?;
        }
        // Config include/exclude lists (docs/compat.md §2): names plus list files.
        let mut include = settings.include_databases.clone();
        if let Some(path) = &settings.include_file {
            include.extend(read_list_file(path)?);
        }
        let mut exclude = settings.exclude_databases.clone();
        if let Some(path) = &settings.exclude_file {
            exclude.extend(read_list_file(path)?);
        }
        let mut cfg = BackupConfig {
            engine: a.engine,
            dry_run: a.dry_run,
            mysqldump_args: settings.mysqldump_args.clone(),
            connection: connection(a.connection, a.profile, quiet, settings, env)?,
            mode: mode_settings.mode,
            include,
            exclude,
            allow_missing: a.allow_missing,
            include_dmart: mode_settings.include_dmart || settings.include_dmart.unwrap_or(false),
            client_code: mode_settings.client_code,
            instance: mode_settings.instance,
            export_grants: !(a.exclude_user || settings.exclude_user.unwrap_or(false)),
            exclude_system: a
                .exclude_system
                .or(settings.exclude_system_databases)
                .unwrap_or(true),
            exclude_empty: a.exclude_empty.or(settings.exclude_empty).unwrap_or(false),
            exclude_data: a.exclude_data.or(settings.exclude_data).unwrap_or(false),
            output_dir,
            filename: a.filename,
            ticket,
            codec,
            level,
            passphrase,
            statement_size: a.statement_size.unwrap_or(DEFAULT_STATEMENT_SIZE),
            statement_size_given: a.statement_size.is_some(),
            threads,
            chunk_bytes: a
                .chunk_bytes
                .unwrap_or(sfdbtools::dump::chunks::CHUNK_TARGET_BYTES)
                .max(1),
            consistency: a.consistency,
            lock_wait_timeout: std::time::Duration::from_secs(
                a.lock_wait_timeout.unwrap_or(DEFAULT_LOCK_WAIT_SECS),
            ),
            ddl: DdlOptions {
                skip_definer: a.skip_definer,
            },
            file_mode: settings.file_permissions.unwrap_or(DEFAULT_FILE_MODE),
            metadata_mode: settings.metadata_permissions.unwrap_or(DEFAULT_FILE_MODE),
            row_reader: a.row_reader.unwrap_or_default(),
            save_metadata: settings.save_backup_info.unwrap_or(true),
            capture_position: settings.capture_gtid.unwrap_or(true),
            strict: a.strict,
            tables,
            objects,
            cleanup_after: cleanup_after(settings, quiet)?,
        };
        follow_mysqldump_args(&mut cfg)?;
        Ok((cfg, pending))
    }
}

/// `--lock-wait-timeout` when not given.
const DEFAULT_LOCK_WAIT_SECS: u64 = 60;

/// Flags of the native engine given with `--engine mysqldump`: the ones mariadb-dump can follow
/// are translated (`--statement-size`, `--consistency`, the table selection: see
/// `dump::mysqldump`); these it cannot, and they are refused rather than ignored.
fn refuse_native_only(a: &BackupArgs) -> Result<(), Error> {
    let mut given = Vec::new();
    if a.threads.is_some_and(|n| n > 1) {
        given.push("-j/--threads (mariadb-dump reads over one connection)");
    }
    if a.consistency == sfdbtools::snapshot::Consistency::None {
        given.push(
            "--consistency none (mariadb-dump takes a global read lock to record its position)",
        );
    }
    if a.lock_wait_timeout.is_some() {
        given.push("--lock-wait-timeout (mariadb-dump has no such setting)");
    }
    if a.skip_definer {
        given.push("--skip-definer (mariadb-dump keeps every DEFINER)");
    }
    if a.strict {
        given.push("--strict (its checks are made by the native engine's reader)");
    }
    if a.row_reader.is_some() {
        given.push("--row-reader");
    }
    if a.chunk_bytes.is_some() {
        given.push("--chunk-bytes");
    }
    if given.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--engine mysqldump cannot follow {}: leave them out, or back up with the native          engine",
        given.join(", ")
    )))
}

/// The config's `backup.mysqldump_args`, for the native engine: what they select is added to
/// what the flags select, and an option the native engine cannot follow is a configuration
/// error (see `config::dump_args`). The mysqldump engine passes them on as they are.
fn follow_mysqldump_args(cfg: &mut BackupConfig) -> Result<(), Error> {
    let Some(args) = cfg
        .mysqldump_args
        .as_deref()
        .filter(|_| cfg.engine == Engine::Native)
    else {
        return Ok(());
    };
    let asked = dump_args::read(args).map_err(|e| {
        Error::Config(format!(
            "backup.mysqldump_args: {e}. Remove it from backup.mysqldump_args, or back up              with --engine mysqldump, which passes the options to mariadb-dump"
        ))
    })?;
    let t = &mut cfg.tables;
    t.ignore.extend(asked.tables.ignore);
    t.ignore_data.extend(asked.tables.ignore_data);
    t.wheres.extend(asked.tables.wheres);
    cfg.exclude_data |= asked.no_data;
    // A flag that leaves something out wins over the config asking for it.
    let o = &mut cfg.objects;
    for (kind, said) in [
        (&mut o.create_info, asked.create_info),
        (&mut o.triggers, asked.triggers),
        (&mut o.routines, asked.routines),
        (&mut o.events, asked.events),
    ] {
        *kind &= said.unwrap_or(true);
    }
    Ok(())
}

fn read_list_file(path: &std::path::Path) -> Result<Vec<String>, Error> {
    let text =
        sfdbtools::limits::read_text(path, sfdbtools::limits::LIST_FILE, "list of databases")
            .map_err(|e| {
                Error::Usage(format!("cannot read database list {}: {e}", path.display()))
            })?;
    Ok(text
        .lines()
        .map(|l| l.trim_end_matches('\r').trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

// Flags > config file > built-in defaults, one key at a time.

/// Permission bits of dump and metadata files unless the config sets others.
const DEFAULT_FILE_MODE: u32 = 0o600;

/// `-C`, then `-c`, then config `backup.compression.enabled: false` (none) or `.type`, then zstd.
fn codec(flag: Option<&str>, skip: bool, settings: &Settings) -> Result<Codec, Error> {
    if skip {
        return Ok(Codec::None);
    }
    if let Some(name) = flag {
        return name
            .parse()
            .map_err(|e| Error::Usage(format!("-c/--compress: {e}")));
    }
    if settings.compression_enabled == Some(false) {
        return Ok(Codec::None);
    }
    Ok(settings.compression_type.unwrap_or(Codec::Zstd))
}

/// `--skip-encrypt` wins; then `-K`; config `backup.encryption.enabled: false` turns the config
/// key and the environment off; then config `backup.encryption.key`; then
/// `SFDB_BACKUP_ENCRYPTION_KEY`. `enabled: true` without any key prompts (or fails with -q).
fn backup_passphrase(
    flag: Option<String>,
    skip: bool,
    settings: &Settings,
    env: &Env,
    quiet: bool,
) -> Result<Option<Passphrase>, Error> {
    if skip {
        return Ok(None);
    }
    if let Some(k) = flag.filter(|k| !k.trim().is_empty()) {
        return Ok(Some(Passphrase::new(Secret::new(k))));
    }
    if settings.encryption_enabled == Some(false) {
        return Ok(None);
    }
    if let Some(k) = &settings.encryption_key {
        return Ok(Some(Passphrase::new(k.clone())));
    }
    if let Some(k) = env.backup_key.clone() {
        return Ok(Some(Passphrase::new(Secret::new(k))));
    }
    if settings.encryption_enabled == Some(true) {
        let config = settings
            .source
            .as_ref()
            .map_or_else(String::new, |p| format!(" in {}", p.display()));
        let key = prompt::key(
            quiet,
            "Backup encryption key",
            &format!(
                "backup.encryption.enabled is true{config} but no key is given: pass \
                 -K/--backup-key, set backup.encryption.key or {BACKUP_KEY_ENV}"
            ),
            true,
        )?;
        return Ok(Some(key));
    }
    Ok(None)
}

/// `backup.cleanup.enabled`: the age and the base directory of the cleanup after a backup.
/// Without an age (0, the old tool's packaged value, means no cleanup) it is off, with a
/// warning; without a base directory there is nothing it could clean, which is the config's
/// error to fix before anything runs.
fn cleanup_after(settings: &Settings, quiet: bool) -> Result<Option<CleanupAfter>, Error> {
    if settings.cleanup_enabled != Some(true) {
        return Ok(None);
    }
    let file = settings
        .source
        .as_ref()
        .map_or_else(String::new, |p| format!(" in {}", p.display()));
    let days = settings.cleanup_days.unwrap_or(0);
    if days == 0 {
        if !quiet {
            eprintln!(
                "sfdbtools: warning: backup.cleanup.enabled is true{file} but \
                 backup.cleanup.days is {}: no backup set is removed after the backup (0 means \
                 no cleanup, as for the old tool); set the age in days",
                settings
                    .cleanup_days
                    .map_or_else(|| "not set".to_owned(), |d| d.to_string())
            );
        }
        return Ok(None);
    }
    let base = settings.base_directory.clone().ok_or_else(|| {
        Error::Config(format!(
            "backup.cleanup.enabled is true{file} but backup.output.base_directory is not set: \
             the cleanup after a backup removes the old sets under that directory; set it, or \
             set backup.cleanup.enabled: false"
        ))
    })?;
    Ok(Some(CleanupAfter { base, days }))
}

/// `<backup.output.base_directory>/<backup.output.structure.pattern>`, expanded at `now`;
/// without a base directory the pattern is relative to the current directory.
fn default_output_dir(settings: &Settings, now: &chrono::DateTime<chrono::Local>) -> PathBuf {
    let pattern = settings
        .structure_pattern
        .as_deref()
        .unwrap_or(sfdbtools::config::file::DEFAULT_PATTERN);
    let dir = naming::expand_pattern(pattern, now);
    match &settings.base_directory {
        Some(base) => base.join(dir),
        None => PathBuf::from(dir),
    }
}

#[cfg(test)]
mod tests {
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
        // The mysqldump engine passes them on untouched.
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
}
