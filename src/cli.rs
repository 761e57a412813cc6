//! Raw command-line arguments (clap) and their turning into one validated `BackupConfig`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use sfdbtools::Error;
use sfdbtools::compress::{Codec, Level};
use sfdbtools::config::file::Settings;
use sfdbtools::config::profile;
use sfdbtools::config::run::{
    BackupConfig, BackupMode, GrantsSource, RestoreConfig, RestoreMode, VerifyConfig,
    parse_statement_size,
};
use sfdbtools::connect::{ConnectionSettings, DEFAULT_CONNECT_TIMEOUT};
use sfdbtools::dump::naming;
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;
use sfdbtools::sql::insert::DEFAULT_STATEMENT_SIZE;
use sfdbtools::sql::script::DdlOptions;

use crate::prompt;

#[derive(Parser, Debug)]
#[command(
    name = "sfdbtools",
    version,
    about = "Consistent, parallel, compressed and encrypted MySQL/MariaDB backups"
)]
pub struct Cli {
    /// Non-interactive: never prompt, fail fast on anything missing.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// text: bars on a terminal, a line every few seconds otherwise; json: one object per event.
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per run; boxing the large variant would only obscure the clap derive.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Back up databases (native engine).
    #[command(name = "db-backup", visible_aliases = ["backup", "dump"])]
    DbBackup {
        #[command(subcommand)]
        mode: BackupModeArgs,
    },
    /// Restore a dump file (ours, the old tool's or mysqldump's; compressed and/or encrypted),
    /// its data loaded over several connections.
    #[command(name = "db-restore", visible_aliases = ["restore", "import"])]
    DbRestore {
        #[command(subcommand)]
        mode: RestoreModeArgs,
    },
    /// Prove a backup file good: read all of it and check it against its metadata, or compare
    /// its recorded row counts and checksums with a live database (--against).
    Verify(VerifyArgs),
    /// Delete backup sets (dump, metadata, grants) older than --days under a directory.
    Cleanup {
        /// Age in days beyond which a backup set is removed [default: config backup.cleanup.days].
        #[arg(long)]
        days: Option<u64>,
        /// Only dump files whose name matches this glob (`*`, `?`).
        #[arg(long)]
        pattern: Option<String>,
        /// Print what would be removed; remove nothing.
        #[arg(short = 'd', long = "dry-run")]
        dry_run: bool,
        /// The base directory holding the backups [default: config backup.output.base_directory; required].
        #[arg(short = 'o', long = "backup-dir")]
        backup_dir: Option<PathBuf>,
    },
    /// Encrypt or decrypt a file with the sfdbtools `.enc` container.
    Crypto {
        #[command(subcommand)]
        action: CryptoArgs,
    },
    /// Manage encrypted connection profiles (`<name>.cnf.enc`).
    Profile {
        #[command(subcommand)]
        action: crate::profile_cmd::ProfileAction,
    },
}

impl Command {
    /// Whether the command reads the YAML config (crypto does not: a broken config must not
    /// stand between an operator and a decrypted backup).
    pub fn reads_config(&self) -> bool {
        !matches!(self, Command::Crypto { .. })
    }
}

#[derive(Subcommand, Debug)]
pub enum CryptoArgs {
    /// Encrypt a file into the chunked `.enc` container (600000 PBKDF2 iterations).
    EncryptFile(CryptoFiles),
    /// Decrypt a chunked `.enc` file or a one-shot blob (profiles), recognised by content.
    DecryptFile(CryptoFiles),
}

#[derive(Args, Debug)]
pub struct CryptoFiles {
    #[arg(short = 'i', long = "input")]
    pub input: PathBuf,
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Passphrase (or env SFDB_ENCRYPTION_KEY; prompted when interactive).
    #[arg(
        short = 'k',
        long = "key",
        env = "SFDB_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum RestoreModeArgs {
    /// A single-database file into --target-db, whatever name it was dumped from.
    Single {
        /// The database to restore into (created when missing).
        #[arg(long = "target-db")]
        target_db: Option<String>,
        /// With --grants: make the accounts file's grants on the dumped database on the
        /// target database instead (without it they keep naming the dumped database).
        #[arg(long = "grants-to-target")]
        grants_to_target: bool,
        #[command(flatten)]
        common: RestoreArgs,
    },
    /// Every database of a combined file, each under its own name.
    All {
        /// A database of the file to leave out (repeatable).
        #[arg(long = "exclude-db")]
        exclude_db: Vec<String>,
        #[command(flatten)]
        common: RestoreArgs,
    },
    /// A primary's dump, and its _dmart companion named in the metadata's database_details.
    Primary {
        /// The database to restore into (default: the name in the metadata); the companion
        /// goes into <target>_dmart.
        #[arg(long = "target-db")]
        target_db: Option<String>,
        /// Restore the primary only, not its _dmart companion.
        #[arg(long = "skip-dmart")]
        skip_dmart: bool,
        /// With --grants: make the accounts file's grants on the dumped databases on the
        /// target and <target>_dmart instead.
        #[arg(long = "grants-to-target")]
        grants_to_target: bool,
        #[command(flatten)]
        common: RestoreArgs,
    },
}

/// A backup file to read, and its key.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// The dump file (.sql, compressed, .enc: told from its bytes).
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Passphrase of an encrypted file [default: config backup.encryption.key, else env
    /// SFDB_BACKUP_ENCRYPTION_KEY].
    #[arg(short = 'K', long = "backup-key")]
    pub backup_key: Option<String>,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub profile: TargetProfileArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Audit ticket id.
    #[arg(short = 't', long)]
    pub ticket: Option<String>,
    /// Data connections (default: the number of CPUs, at most 8).
    #[arg(short = 'j', long = "threads")]
    pub threads: Option<usize>,
    /// Drop each target database before restoring (without it, a target that holds tables
    /// is refused).
    #[arg(long = "drop-target")]
    pub drop_target: bool,
    /// Also restore the dump's accounts file (its `_users.sql[.enc]` sibling, as its metadata
    /// names it) after the data: accounts that do not exist are created, those that exist are
    /// left entirely alone. Without it no account is touched.
    #[arg(long = "grants", conflicts_with = "skip_grants")]
    pub grants: bool,
    /// Restore the accounts of this file (`_users.sql[.enc]`) after the data, as --grants does.
    #[arg(long = "grants-file", conflicts_with_all = ["skip_grants", "grants"])]
    pub grants_file: Option<PathBuf>,
    /// Restore no accounts (the default; kept for scripts that pass it).
    #[arg(long = "skip-grants")]
    pub skip_grants: bool,
    /// Read the file and show what would be restored where; change nothing.
    #[arg(short = 'd', long = "dry-run")]
    pub dry_run: bool,
    /// Report a failing statement and go on (the restore still ends as failed).
    #[arg(long = "continue-on-error")]
    pub continue_on_error: bool,
    /// Fail on any server warning (a truncated value is data loss).
    #[arg(long)]
    pub strict: bool,
    /// Keep the restore out of the binary log (faster; replicas will not receive the data;
    /// needs the BINLOG ADMIN or SUPER privilege).
    #[arg(long = "skip-binlog")]
    pub skip_binlog: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub profile: TargetProfileArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Compare the recorded row counts and checksums with this live database instead.
    #[arg(long)]
    pub against: Option<String>,
}

/// What the binary was asked to do, validated.
pub enum Task {
    /// A backup, and what is still to be asked once the server can be listed.
    Backup(Box<BackupConfig>, Pending),
    Restore(Box<RestoreConfig>),
    Verify(Box<VerifyConfig>),
    Encrypt {
        input: PathBuf,
        output: PathBuf,
        key: Passphrase,
    },
    Decrypt {
        input: PathBuf,
        output: PathBuf,
        key: Passphrase,
    },
    Cleanup {
        base: PathBuf,
        days: u64,
        pattern: Option<String>,
        dry_run: bool,
    },
    Profile(crate::profile_cmd::ProfileTask),
}

/// Questions of an interactive backup that need the server's database list (see `prompt`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Pending {
    /// stdin is a terminal and `-q` was not given: the run is reviewed before it starts.
    pub interactive: bool,
    /// `single` without `--database`: pick it from the server's list.
    pub database: bool,
    /// `filter` without `--db`/`--db-file`: pick them from the server's list.
    pub databases: bool,
}

#[derive(Subcommand, Debug)]
pub enum BackupModeArgs {
    /// Every database (minus system databases) into one combined file.
    All {
        #[command(flatten)]
        common: BackupArgs,
    },
    /// The databases named with --db / --db-file, in one file or one file each.
    Filter {
        /// A database to include (repeatable; not comma-split).
        #[arg(long = "db")]
        db: Vec<String>,
        /// A file listing databases, one per line (# comments and blank lines skipped).
        #[arg(long = "db-file")]
        db_file: Option<PathBuf>,
        /// single-file: one combined file; multi-file: one file per database.
        #[arg(long, value_enum)]
        mode: Option<FilterMode>,
        #[command(flatten)]
        common: BackupArgs,
    },
    /// One database into one file (no CREATE DATABASE/USE: restores under any name).
    Single {
        #[arg(long)]
        database: Option<String>,
        #[command(flatten)]
        common: BackupArgs,
    },
    /// The dbsf_nbc_ primary databases, one file per database; the rows of the session tables
    /// (tsflpageview, tsfltokensess, tcllusersession) are left out, their schema kept.
    Primary {
        /// Only this client's databases: dbsf_nbc_<CODE> and dbsf_nbc_<CODE>_*.
        #[arg(long = "client-code")]
        client_code: Option<String>,
        /// Also back up each database's <name>_dmart companion (in its own file).
        #[arg(long = "include-dmart")]
        include_dmart: bool,
        #[command(flatten)]
        common: BackupArgs,
    },
    /// The dbsf_nbc_<client>_secondary_<instance> databases, like primary.
    Secondary {
        /// Only this client's secondaries: dbsf_nbc_<CODE>_secondary*.
        #[arg(long = "client-code")]
        client_code: Option<String>,
        /// Only this instance: …_secondary_<N> (or …_secondary_<N>_*).
        #[arg(long)]
        instance: Option<String>,
        /// Also back up each database's <name>_dmart companion (in its own file).
        #[arg(long = "include-dmart")]
        include_dmart: bool,
        #[command(flatten)]
        common: BackupArgs,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FilterMode {
    SingleFile,
    MultiFile,
}

/// Connection flags. No clap defaults: a flag that was not given must be told apart from one
/// given with the default value, so that a profile's field applies (see [`connection`]). The
/// profile flags come apart: their variables depend on which server the command talks to.
#[derive(Args, Debug)]
pub struct ConnectionArgs {
    /// Server host name or address [default: the profile's, else 127.0.0.1].
    #[arg(long)]
    pub host: Option<String>,
    /// Server port [default: the profile's, else 3306].
    #[arg(long, short = 'P')]
    pub port: Option<u16>,
    /// Account name [default: the profile's, else root].
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Password (prefer a profile or the MYSQL_PWD environment variable: a flag is visible in `ps`).
    #[arg(long)]
    pub password: Option<String>,
    /// Unix socket path (instead of host/port).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Seconds a connection may take to open (look-up, TCP, handshake, login) before failing.
    #[arg(long = "connect-timeout", value_name = "SECONDS", default_value_t = DEFAULT_CONNECT_TIMEOUT.as_secs())]
    pub connect_timeout: u64,
}

/// The profile of the server a backup reads from (compat §1: `SFDB_SOURCE_PROFILE[_KEY]`).
#[derive(Args, Debug)]
pub struct SourceProfileArgs {
    /// Encrypted connection profile of the server to back up: a path, or a bare name in the
    /// profile directory.
    #[arg(short = 'p', long = "profile", env = SOURCE_PROFILE_ENV)]
    pub profile: Option<String>,
    /// Passphrase of the profile (prefer the environment variable: a flag is visible in `ps`).
    #[arg(
        short = 'k',
        long = "profile-key",
        env = SOURCE_PROFILE_KEY_ENV,
        hide_env_values = true
    )]
    pub profile_key: Option<String>,
}

/// The profile of the server a restore writes to or `verify --against` compares with
/// (compat §7: `SFDB_TARGET_PROFILE[_KEY]`), so that one environment can name both ends.
#[derive(Args, Debug)]
pub struct TargetProfileArgs {
    /// Encrypted connection profile of the target server: a path, or a bare name in the
    /// profile directory.
    #[arg(short = 'p', long = "profile", env = TARGET_PROFILE_ENV)]
    pub profile: Option<String>,
    /// Passphrase of the profile (prefer the environment variable: a flag is visible in `ps`).
    #[arg(
        short = 'k',
        long = "profile-key",
        env = TARGET_PROFILE_KEY_ENV,
        hide_env_values = true
    )]
    pub profile_key: Option<String>,
}

const SOURCE_PROFILE_ENV: &str = "SFDB_SOURCE_PROFILE";
const SOURCE_PROFILE_KEY_ENV: &str = "SFDB_SOURCE_PROFILE_KEY";
const TARGET_PROFILE_ENV: &str = "SFDB_TARGET_PROFILE";
const TARGET_PROFILE_KEY_ENV: &str = "SFDB_TARGET_PROFILE_KEY";

/// The profile flags of either end, and the variable that gives their key.
pub struct ProfileChoice {
    profile: Option<String>,
    key: Option<String>,
    key_env: &'static str,
}

impl From<SourceProfileArgs> for ProfileChoice {
    fn from(a: SourceProfileArgs) -> Self {
        ProfileChoice {
            profile: a.profile,
            key: a.profile_key,
            key_env: SOURCE_PROFILE_KEY_ENV,
        }
    }
}

impl From<TargetProfileArgs> for ProfileChoice {
    fn from(a: TargetProfileArgs) -> Self {
        ProfileChoice {
            profile: a.profile,
            key: a.profile_key,
            key_env: TARGET_PROFILE_KEY_ENV,
        }
    }
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub profile: SourceProfileArgs,
    /// Output directory, used as given [default: config base_directory/pattern, else ./{year}{month}{day}/].
    #[arg(short = 'o', long = "backup-dir")]
    pub backup_dir: Option<PathBuf>,
    /// Custom base name of the (first) dump file.
    #[arg(short = 'f', long)]
    pub filename: Option<String>,
    /// Connect, select and print the plan; write nothing, create no directory.
    #[arg(short = 'd', long = "dry-run")]
    pub dry_run: bool,
    /// Audit ticket id, stored in the metadata.
    #[arg(short = 't', long)]
    pub ticket: Option<String>,
    /// Schema only (adds _nodata to the name) [default: config, else false].
    #[arg(short = 'x', long = "exclude-data", num_args = 0..=1, default_missing_value = "true")]
    pub exclude_data: Option<bool>,
    /// Drop system databases (--exclude-system=false keeps them) [default: config, else true].
    #[arg(short = 'S', long = "exclude-system", num_args = 0..=1, default_missing_value = "true")]
    pub exclude_system: Option<bool>,
    /// Drop databases that have no tables [default: config, else false].
    #[arg(short = 'E', long = "exclude-empty", num_args = 0..=1, default_missing_value = "true")]
    pub exclude_empty: Option<bool>,
    /// Compression: gzip, pgzip, zstd, xz, zlib, none [default: config, else zstd].
    #[arg(short = 'c', long = "compress")]
    pub compress: Option<String>,
    /// Compression level 1-9 [default: config, else 5].
    #[arg(short = 'l', long = "compress-level")]
    pub compress_level: Option<u8>,
    /// Same as -c none.
    #[arg(short = 'C', long = "skip-compress")]
    pub skip_compress: bool,
    /// Encryption passphrase [default: config backup.encryption.key, else env
    /// SFDB_BACKUP_ENCRYPTION_KEY]; a key turns encryption on.
    #[arg(short = 'K', long = "backup-key")]
    pub backup_key: Option<String>,
    /// No encryption even if a key is configured.
    #[arg(long = "skip-encrypt")]
    pub skip_encrypt: bool,
    /// Upper bound of one INSERT statement: bytes, or a number with K, M or G (4K to 16M;
    /// default 1M; with --engine mysqldump its --net-buffer-length, else the old tool's 16M).
    #[arg(long = "statement-size", value_name = "SIZE", value_parser = parse_statement_size)]
    pub statement_size: Option<usize>,
    /// native: the parallel engine; mysqldump: run mariadb-dump (or mysqldump) instead.
    #[arg(long, default_value = "native")]
    pub engine: String,
    /// Worker connections (default: the number of CPUs, at most 8).
    #[arg(short = 'j', long = "threads")]
    pub threads: Option<usize>,
    /// snapshot: one point in time, commits blocked only briefly; lock: writes blocked for the
    /// whole dump; none: no locks, no single point in time.
    #[arg(long, default_value = "snapshot")]
    pub consistency: String,
    /// Seconds to wait for the DDL and commit locks before failing.
    #[arg(long = "lock-wait-timeout", default_value_t = 60)]
    pub lock_wait_timeout: u64,
    /// Target bytes of table data per chunk when splitting big tables by key ranges.
    #[arg(long = "chunk-bytes", default_value_t = sfdbtools::dump::chunks::CHUNK_TARGET_BYTES, hide = true)]
    pub chunk_bytes: u64,
    /// Remove DEFINER clauses from views, routines, triggers and events.
    #[arg(long = "skip-definer")]
    pub skip_definer: bool,
    /// Fail instead of warning when something cannot be dumped exactly (the history of a
    /// table system-versioned by transaction id).
    #[arg(long)]
    pub strict: bool,
    /// Back up the databases that exist when one named by --db, --db-file or the config's
    /// include list does not (a warning); without it that is a usage error.
    #[arg(long = "allow-missing")]
    pub allow_missing: bool,
    /// Do not write the accounts file (<dump>_users.sql) next to the dump.
    #[arg(short = 'e', long = "exclude-user")]
    pub exclude_user: bool,
    /// wire: the in-place row reader (mysql_async when it cannot connect); driver: mysql_async.
    #[arg(long = "row-reader", default_value = "wire", hide = true)]
    pub row_reader: String,
}

impl Cli {
    /// Turns raw arguments and the config file's settings into a validated task, prompting
    /// only when interactive. Flags beat the config, the config beats built-in defaults.
    pub fn task(self, settings: &Settings) -> Result<Task, Error> {
        let quiet = self.quiet;
        match self.command {
            Command::DbBackup { mode } => {
                let (config, pending) = backup_config(mode, quiet, settings)?;
                Ok(Task::Backup(Box::new(config), pending))
            }
            Command::DbRestore { mode } => Ok(Task::Restore(Box::new(restore_config(
                mode, quiet, settings,
            )?))),
            Command::Verify(v) => {
                let against = match v.against {
                    Some(db) if !db.trim().is_empty() => {
                        Some((connection(v.connection, v.profile, quiet, settings)?, db))
                    }
                    Some(_) => return Err(Error::Usage("--against needs a database name".into())),
                    None => None,
                };
                Ok(Task::Verify(Box::new(VerifyConfig {
                    file: v.input.file,
                    passphrase: reading_passphrase(v.input.backup_key, settings),
                    against,
                })))
            }
            Command::Cleanup {
                days,
                pattern,
                dry_run,
                backup_dir,
            } => Ok(Task::Cleanup {
                // Never the current directory by default: run from a home directory, that
                // took anyone's `.sql` files.
                base: backup_dir
                    .or_else(|| settings.base_directory.clone())
                    .ok_or_else(|| {
                        Error::Usage(
                            "cleanup needs the directory that holds the backups: pass \
                             -o/--backup-dir DIR (or set backup.output.base_directory in the \
                             config file)"
                                .into(),
                        )
                    })?,
                days: days.or(settings.cleanup_days).ok_or_else(|| {
                    Error::Usage(
                        "missing --days N (or set backup.cleanup.days in the config file)".into(),
                    )
                })?,
                pattern,
                dry_run,
            }),
            Command::Profile { action } => Ok(Task::Profile(crate::profile_cmd::task(
                action, quiet, settings,
            )?)),
            Command::Crypto { action } => {
                let (encrypt, files) = match action {
                    CryptoArgs::EncryptFile(f) => (true, f),
                    CryptoArgs::DecryptFile(f) => (false, f),
                };
                let key = match files.key {
                    Some(k) if !k.trim().is_empty() => Passphrase::new(Secret::new(k)),
                    _ => prompt_key(
                        quiet,
                        "Encryption key",
                        "missing key: pass -k/--key or set SFDB_ENCRYPTION_KEY",
                        false,
                    )?,
                };
                let (input, output) = (files.input, files.output);
                Ok(if encrypt {
                    Task::Encrypt { input, output, key }
                } else {
                    Task::Decrypt { input, output, key }
                })
            }
        }
    }
}

/// mysqldump's `-h HOST` is `-h/--help` here (the old tool's short flags stay as they are), and
/// help exits 0: `sfdbtools db-backup all -h db1` from cron would "succeed" without a backup.
/// So `-h` prints help only on its own, after nothing but subcommand names; with any other
/// argument it is a usage error that names `--host`. `--help` is clap's, unchanged.
pub fn refuse_short_help_with_arguments(args: &[OsString]) -> Result<(), Error> {
    let mut root = Cli::command();
    root.build();
    let mut cmd = &root;
    let (mut help, mut others) = (false, false);
    for arg in args.iter().skip(1) {
        let Some(arg) = arg.to_str() else {
            others = true;
            continue;
        };
        if let Some(sub) = cmd.find_subcommand(arg) {
            cmd = sub;
            continue;
        }
        if arg == "-h" {
            help = true;
            continue;
        }
        others = true;
        // A cluster of short flags (`-qh`, `-hdb1`): clap reads `h` as help unless an earlier
        // short of the cluster takes the rest as its value (`-thost`: a ticket).
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.starts_with('-')) else {
            continue;
        };
        for short in cluster.chars() {
            if short == 'h' {
                help = true;
                break;
            }
            match cmd.get_arguments().find(|a| a.get_short() == Some(short)) {
                Some(a) if !a.get_action().takes_values() => {}
                _ => break,
            }
        }
    }
    if help && others {
        return Err(Error::Usage(
            "-h is short for --help here, not for --host, and it was given with other \
             arguments; name the server with --host HOST (see \"For mysqldump users\" in the \
             README), or ask for help with -h alone or --help"
                .into(),
        ));
    }
    Ok(())
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

/// The backup half of [`Cli::task`].
fn backup_config(
    mode: BackupModeArgs,
    quiet: bool,
    settings: &Settings,
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
        let passphrase = backup_passphrase(a.backup_key, a.skip_encrypt, settings, quiet)?;
        let threads = thread_count(a.threads)?;
        let consistency = a.consistency.parse().map_err(Error::Usage)?;
        let output_dir = a
            .backup_dir
            .unwrap_or_else(|| default_output_dir(settings, &now));
        if let Some(f) = &a.filename {
            naming::custom_file(f, codec, passphrase.is_some())?;
        }
        // Config include/exclude lists (compat §2): names plus list files.
        let mut include = settings.include_databases.clone();
        if let Some(path) = &settings.include_file {
            include.extend(read_list_file(path)?);
        }
        let mut exclude = settings.exclude_databases.clone();
        if let Some(path) = &settings.exclude_file {
            exclude.extend(read_list_file(path)?);
        }
        Ok((
            BackupConfig {
                engine: a.engine.parse().map_err(Error::Usage)?,
                dry_run: a.dry_run,
                mysqldump_args: settings.mysqldump_args.clone(),
                connection: connection(a.connection, a.profile, quiet, settings)?,
                mode: mode_settings.mode,
                include,
                exclude,
                allow_missing: a.allow_missing,
                include_dmart: mode_settings.include_dmart
                    || settings.include_dmart.unwrap_or(false),
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
                chunk_bytes: a.chunk_bytes.max(1),
                consistency,
                lock_wait_timeout: std::time::Duration::from_secs(a.lock_wait_timeout),
                ddl: DdlOptions {
                    skip_definer: a.skip_definer,
                },
                file_mode: settings.file_permissions.unwrap_or(DEFAULT_FILE_MODE),
                metadata_mode: settings.metadata_permissions.unwrap_or(DEFAULT_FILE_MODE),
                row_reader: a.row_reader.parse().map_err(Error::Usage)?,
                save_metadata: settings.save_backup_info.unwrap_or(true),
                capture_position: settings.capture_gtid.unwrap_or(true),
                strict: a.strict,
            },
            pending,
        ))
    }
}

/// The key of a file to read: `-K`, then config `backup.encryption.key`, then
/// `SFDB_BACKUP_ENCRYPTION_KEY` (the backup's order, compat §1). None when the file may be plain.
fn reading_passphrase(flag: Option<String>, settings: &Settings) -> Option<Passphrase> {
    if let Some(k) = flag.filter(|k| !k.trim().is_empty()) {
        return Some(Passphrase::new(Secret::new(k)));
    }
    if let Some(k) = &settings.encryption_key {
        return Some(Passphrase::new(k.clone()));
    }
    std::env::var(BACKUP_KEY_ENV)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(|k| Passphrase::new(Secret::new(k)))
}

/// The number of worker connections: the flag, or the CPUs (at most 8).
fn thread_count(flag: Option<usize>) -> Result<usize, Error> {
    match flag {
        Some(0) => Err(Error::Usage("-j/--threads must be at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism()
            .map(|n| n.get().min(8))
            .unwrap_or(1)),
    }
}

/// The restore half of [`Cli::task`].
fn restore_config(
    mode: RestoreModeArgs,
    quiet: bool,
    settings: &Settings,
) -> Result<RestoreConfig, Error> {
    let (mode, grants_to_target, a) = match mode {
        RestoreModeArgs::Single {
            target_db,
            grants_to_target,
            common,
        } => {
            let target = match target_db {
                Some(t) if !t.trim().is_empty() => t,
                _ => prompt::text_or_fail(quiet, "target database", "--target-db NAME", None)?,
            };
            (RestoreMode::Single { target }, grants_to_target, common)
        }
        RestoreModeArgs::All { exclude_db, common } => (
            RestoreMode::All {
                exclude: exclude_db,
            },
            false,
            common,
        ),
        RestoreModeArgs::Primary {
            target_db,
            skip_dmart,
            grants_to_target,
            common,
        } => (
            RestoreMode::Primary {
                target: target_db.filter(|t| !t.trim().is_empty()),
                companion: !skip_dmart,
            },
            grants_to_target,
            common,
        ),
    };
    let ticket = match a.ticket {
        Some(t) if !t.trim().is_empty() => t,
        _ if a.dry_run => String::new(),
        _ => {
            let default = format!("rs-{}", chrono::Local::now().format("%Y%m%d%H%M%S"));
            prompt::text_or_fail(quiet, "ticket", "-t/--ticket TICKET", Some(&default))?
        }
    };
    let grants = match (a.grants, a.grants_file) {
        (_, Some(f)) => GrantsSource::File(f),
        (true, None) => GrantsSource::Sibling,
        (false, None) => GrantsSource::Skip,
    };
    if grants_to_target && grants == GrantsSource::Skip {
        return Err(Error::Usage(
            "--grants-to-target re-points the grants of the accounts file: it needs --grants or \
             --grants-file"
                .into(),
        ));
    }
    Ok(RestoreConfig {
        threads: thread_count(a.threads)?,
        connection: connection(a.connection, a.profile, quiet, settings)?,
        file: a.input.file,
        passphrase: reading_passphrase(a.input.backup_key, settings),
        mode,
        ticket,
        drop_target: a.drop_target,
        // Set by main, which owns the terminal.
        confirm_drop: None,
        grants,
        grants_to_target,
        dry_run: a.dry_run,
        continue_on_error: a.continue_on_error,
        strict: a.strict,
        skip_binlog: a.skip_binlog,
    })
}

/// One name per line; CRLF tolerated; blank lines and `#` comments skipped (compat §2.5).
fn read_list_file(path: &std::path::Path) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("cannot read database list {}: {e}", path.display())))?;
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

/// The backup's encryption key variable; read after the config's key (compat §1 order).
const BACKUP_KEY_ENV: &str = "SFDB_BACKUP_ENCRYPTION_KEY";

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
    if let Some(k) = std::env::var(BACKUP_KEY_ENV)
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(Some(Passphrase::new(Secret::new(k))));
    }
    if settings.encryption_enabled == Some(true) {
        let config = settings
            .source
            .as_ref()
            .map_or_else(String::new, |p| format!(" in {}", p.display()));
        let key = prompt_key(
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

/// The connection: the profile's fields (when `-p` is given), each replaced by its flag when
/// the flag is given. The password: `--password`, else the profile's, else `MYSQL_PWD`, else a
/// prompt. `MYSQL_PWD` does not override a profile: it is ambient, the profile was asked for.
fn connection(
    c: ConnectionArgs,
    profile: impl Into<ProfileChoice>,
    quiet: bool,
    settings: &Settings,
) -> Result<ConnectionSettings, Error> {
    if c.connect_timeout == 0 {
        return Err(Error::Usage(
            "--connect-timeout must be at least 1 second".into(),
        ));
    }
    let profile: ProfileChoice = profile.into();
    let chosen = match profile.profile.as_deref().filter(|p| !p.is_empty()) {
        Some(arg) => Some(profile::resolve(arg, settings.profile_dir.as_deref())?),
        // Interactively, with no way of connecting given, offer the saved profiles.
        None if prompt::interactive(quiet)
            && c.host.is_none()
            && c.port.is_none()
            && c.user.is_none()
            && c.socket.is_none() =>
        {
            match profile::directory(settings.profile_dir.as_deref()) {
                Ok(dir) => prompt::pick_profile(&profile::list(&dir)?)?,
                Err(_) => None,
            }
        }
        None => None,
    };
    let (mut conn, from_profile) = match chosen {
        Some(path) => {
            let key = profile_key_from(profile.key, profile.key_env, quiet, false)?;
            let loaded = profile::load(&path, &key)?;
            let conn = loaded.connection(&path)?;
            if let Some(note) = loaded.ssh_note(&path).filter(|_| !quiet) {
                eprintln!("sfdbtools: note: {note}");
            }
            (conn, true)
        }
        None => (ConnectionSettings::default(), false),
    };
    if let Some(host) = c.host {
        conn.host = host;
    }
    if let Some(port) = c.port {
        conn.port = port;
    }
    if let Some(user) = c.user {
        conn.user = user;
    }
    conn.socket = c.socket;
    conn.connect_timeout = std::time::Duration::from_secs(c.connect_timeout);
    if let Some(p) = c.password {
        conn.password = Some(Secret::new(p));
    } else if !from_profile {
        conn.password = match std::env::var("MYSQL_PWD") {
            Ok(p) => Some(Secret::new(p)),
            Err(_) if prompt::interactive(quiet) => {
                let p = rpassword::prompt_password(format!("Password for {}: ", conn.user))
                    .map_err(|e| Error::Usage(format!("cannot read the password: {e}")))?;
                Some(Secret::new(p))
            }
            Err(_) => None,
        };
    }
    Ok(conn)
}

/// A profile's passphrase: `-k/--profile-key` (or `SFDB_SOURCE_PROFILE_KEY`), else a prompt.
pub(crate) fn profile_key(
    given: Option<String>,
    quiet: bool,
    confirm: bool,
) -> Result<Passphrase, Error> {
    profile_key_from(given, SOURCE_PROFILE_KEY_ENV, quiet, confirm)
}

/// A profile's passphrase: `-k/--profile-key` (or the variable `env`), else a prompt.
fn profile_key_from(
    given: Option<String>,
    env: &str,
    quiet: bool,
    confirm: bool,
) -> Result<Passphrase, Error> {
    match given.filter(|k| !k.trim().is_empty()) {
        Some(k) => Ok(Passphrase::new(Secret::new(k))),
        None => prompt_key(
            quiet,
            "Profile key",
            &format!("missing profile key: pass -k/--profile-key or set {env}"),
            confirm,
        ),
    }
}

/// A passphrase typed at the terminal ([`prompt_secret`]); an empty one is refused at once.
fn prompt_key(quiet: bool, what: &str, missing: &str, confirm: bool) -> Result<Passphrase, Error> {
    let key = prompt_secret(quiet, what, missing, confirm)?;
    if key.expose().trim().is_empty() {
        return Err(Error::Usage(format!(
            "the {} is empty",
            what.to_lowercase()
        )));
    }
    Ok(Passphrase::new(key))
}

/// Reads a secret on the terminal without echo (twice when `confirm`), or fails with
/// `missing` when `-q` or not interactive.
pub(crate) fn prompt_secret(
    quiet: bool,
    what: &str,
    missing: &str,
    confirm: bool,
) -> Result<Secret, Error> {
    if !prompt::interactive(quiet) {
        return Err(Error::Usage(format!(
            "{missing} (running non-interactively, nothing is prompted)"
        )));
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Secret::new)
            .map_err(|e| Error::Usage(format!("cannot read the {}: {e}", what.to_lowercase())))
    };
    let first = read(&format!("{what}: "))?;
    if confirm && read(&format!("{what} again: "))? != first {
        return Err(Error::Usage(format!(
            "the two entries of the {} differ; nothing was changed",
            what.to_lowercase()
        )));
    }
    Ok(first)
}
