//! `db-backup`: its arguments, config-file keys and environment turned into one
//! [`BackupConfig`] (flags > config file > environment > defaults, one key at a time), and
//! the run with its answer on the terminal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use sfdbtools::Error;
use sfdbtools::compress::{Codec, Level};
use sfdbtools::config::dump_args;
use sfdbtools::config::file::Settings;
use sfdbtools::config::run::{BackupConfig, BackupMode, CleanupAfter, Engine};
use sfdbtools::dump::plan::DryRun;
use sfdbtools::dump::{self, naming};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::metadata::human_size;
use sfdbtools::metrics;
use sfdbtools::progress::Progress;
use sfdbtools::s3::Bucket;
use sfdbtools::secret::Secret;
use sfdbtools::sql::insert::DEFAULT_STATEMENT_SIZE;
use sfdbtools::sql::script::DdlOptions;

use super::args::s3::S3Args;
use super::args::{BackupArgs, BackupModeArgs, FilterMode};
use super::inputs::{BACKUP_KEY_ENV, Env, connection, thread_count};
use super::log;
use super::prompt::{self, Pending};
use super::report::{self, Reporter, Style};
use super::runtime::{open_tunnel, runtime, through_tunnel, until_interrupted};

/// Runs the backup: the questions left for the server's list and the review, then the dry run
/// or the run itself, stopped cleanly (no file under a final name) by SIGINT or SIGTERM. The
/// metrics file, when there is one, records the outcome of a run that started (not of a dry
/// run, nor of one cancelled at the review).
pub fn run(mut config: BackupConfig, pending: Pending, style: Style) -> Result<(), Error> {
    let metrics = Metrics::of(&config);
    let said = |w: &str| eprintln!("sfdbtools: warning: {w}");
    let runtime = runtime()?;
    let tunnel = open_tunnel(&mut config.connection, &runtime)
        .inspect_err(|_| Metrics::failed(&metrics, &config, &said))?;
    let config = prompt::complete(config, pending, &runtime)?;
    log::set_ticket(&config.ticket);
    let reporter = Arc::new(Reporter::new(style));
    let progress: Arc<dyn Progress> = reporter.clone();
    let warn = |w: &str| reporter.event(&sfdbtools::progress::Event::Warning(w));
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
            if let Some(m) = &metrics {
                m.write(&metrics::Outcome::succeeded(&report), &warn);
            }
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
            reporter.failed();
            Metrics::failed(&metrics, &config, &warn);
            Err(e)
        }
        None => {
            // Exiting closes every connection, and the server drops their locks with
            // them; waiting for the runtime's threads could only delay that.
            sfdbtools::output::file::remove_files_of_this_run();
            // Bounded: a store that does not answer must not keep the process from exiting;
            // its incomplete uploads are then left to the bucket's lifecycle rule.
            runtime.block_on(async {
                let aborting = sfdbtools::s3::abort_uploads_of_this_run();
                let _ = tokio::time::timeout(ABORT_UPLOADS_WITHIN, aborting).await;
            });
            sfdbtools::dump::mysqldump::stop_children();
            sfdbtools::dump::mysqldump::remove_option_files();
            // After the removal, which would take the metrics file for one of the run's.
            Metrics::failed(&metrics, &config, &warn);
            std::process::exit(log::finish(Err(Error::Interrupted(
                "nothing was written under a final name".into(),
            ))));
        }
    }
}

/// How long an interrupted run may take to abort its uploads and delete its objects.
const ABORT_UPLOADS_WITHIN: Duration = Duration::from_secs(30);

/// The metrics file of a run (`--metrics-file`, config `backup.metrics.file`; none for a dry
/// run), and when the run started.
struct Metrics {
    path: PathBuf,
    started: Instant,
}

impl Metrics {
    fn of(cfg: &BackupConfig) -> Option<Metrics> {
        cfg.metrics_file
            .clone()
            .filter(|_| !cfg.dry_run)
            .map(|path| Metrics {
                path,
                started: Instant::now(),
            })
    }

    /// Rewrites the file for `outcome`. A file that cannot be written is a warning: the
    /// backup's own outcome stands, and the monitoring notices the missing update by itself.
    fn write(&self, outcome: &metrics::Outcome, warn: &dyn Fn(&str)) {
        match metrics::update(&self.path, outcome, SystemTime::now()) {
            Ok(warnings) => warnings.iter().for_each(|w| warn(w)),
            Err(e) => warn(&format!(
                "{e}; the monitoring keeps the previous run's values: check that the directory \
                 exists and this user may write in it, or give another --metrics-file"
            )),
        }
    }

    /// A run of `cfg` that failed or was interrupted.
    fn failed(metrics: &Option<Metrics>, cfg: &BackupConfig, warn: &dyn Fn(&str)) {
        if let Some(m) = metrics {
            m.write(&metrics::Outcome::failed(cfg, m.started.elapsed()), warn);
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
                        prompt::choose(quiet, "mode", "--mode", &["single-file", "multi-file"])?
                            == 1
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
        let bucket = bucket(&output_dir, &a.s3, a.engine)?;
        let writes_to_bucket = bucket.is_some();
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
            bucket,
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
            ddl_scope: Default::default(),
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
            cleanup_after: cleanup_after(settings, quiet)?.inspect(|c| {
                // A bucket to clean that the backup does not write into: reached through
                // the AWS environment (the --s3-* flags are for an s3:// destination).
                if sfdbtools::s3::is_s3(&c.base) && !writes_to_bucket {
                    sfdbtools::s3::configure(
                        super::args::s3::S3Endpoint::default()
                            .options(sfdbtools::s3::DEFAULT_PART_SIZE),
                    );
                }
            }),
            metrics_file: a.metrics_file.or_else(|| settings.metrics_file.clone()),
            names_at: None,
            pipe: None,
        };
        follow_mysqldump_args(&mut cfg, settings)?;
        Ok((cfg, pending))
    }
}

/// The bucket of an `-o s3://…` destination (the config's base directory may be one too), or
/// None for a directory. Only the native engine streams into a bucket.
fn bucket(dest: &Path, a: &S3Args, engine: Engine) -> Result<Option<Arc<Bucket>>, Error> {
    if !sfdbtools::s3::is_s3(dest) {
        let e = &a.endpoint;
        if e.endpoint.is_some() || e.region.is_some() || e.path_style || a.part_size.is_some() {
            return Err(Error::Usage(format!(
                "--s3-endpoint, --s3-region, --s3-path-style and --s3-part-size are for an \
                 s3:// destination, and the backup goes to {}; leave them out, or give -o \
                 s3://BUCKET/PREFIX",
                dest.display()
            )));
        }
        return Ok(None);
    }
    if engine == Engine::Mysqldump {
        return Err(Error::Usage(format!(
            "--engine mysqldump cannot write to {}: only the native engine streams into a \
             bucket; back up with the native engine, or to a directory",
            dest.display()
        )));
    }
    let url = dest
        .to_str()
        .ok_or_else(|| Error::Usage(format!("-o {}: not UTF-8", dest.display())))?;
    let options = a
        .endpoint
        .options(a.part_size.unwrap_or(sfdbtools::s3::DEFAULT_PART_SIZE));
    // The cleanup after the backup lists and removes in the same store.
    sfdbtools::s3::configure(options.clone());
    Ok(Some(Arc::new(Bucket::open(url, &options)?)))
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
        "--engine mysqldump cannot follow {}: leave {} out, or back up with the native \
         engine",
        given.join(", "),
        if given.len() == 1 { "it" } else { "them" }
    )))
}

/// The config's `backup.mysqldump_args`. For the native engine, what they select is added to
/// what the flags select, and an option it cannot follow is a configuration error (see
/// `config::dump_args`). The mysqldump engine passes them on, except those that would make the
/// tool write something else than the run's one SQL script, connect elsewhere or choose other
/// databases.
fn follow_mysqldump_args(cfg: &mut BackupConfig, settings: &Settings) -> Result<(), Error> {
    let Some(args) = cfg.mysqldump_args.as_deref() else {
        return Ok(());
    };
    let refused = |e: String, way: &str| {
        let file = settings
            .source
            .as_ref()
            .map(|p| format!("config file {}: ", p.display()))
            .unwrap_or_default();
        Error::Config(format!(
            "{file}backup.mysqldump_args: {e}. Remove it from backup.mysqldump_args{way}"
        ))
    };
    if cfg.engine == Engine::Mysqldump {
        return dump_args::check_for_tool(args).map_err(|e| refused(e, ""));
    }
    let asked = dump_args::read(args).map_err(|e| {
        refused(
            e,
            ", or back up with --engine mysqldump, which passes the options to mariadb-dump",
        )
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
mod tests;
