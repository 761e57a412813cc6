//! Raw command-line arguments (clap) and their turning into one validated `BackupConfig`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use sfdbtools::Error;
use sfdbtools::compress::{Codec, Level};
use sfdbtools::config::{
    BackupConfig, BackupMode, GrantsSource, RestoreConfig, RestoreMode, VerifyConfig,
};
use sfdbtools::connect::ConnectionSettings;
use sfdbtools::dump::naming;
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;
use sfdbtools::sql::insert::DEFAULT_STATEMENT_SIZE;
use sfdbtools::sql::script::DdlOptions;

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
        /// Age in days beyond which a backup set is removed.
        #[arg(long)]
        days: u64,
        /// Only dump files whose name matches this glob (`*`, `?`).
        #[arg(long)]
        pattern: Option<String>,
        /// Print what would be removed; remove nothing.
        #[arg(short = 'd', long = "dry-run")]
        dry_run: bool,
        /// The base directory holding the backups.
        #[arg(short = 'o', long = "backup-dir", default_value = ".")]
        backup_dir: PathBuf,
    },
    /// Encrypt or decrypt a file with the sfdbtools `.enc` container.
    Crypto {
        #[command(subcommand)]
        action: CryptoArgs,
    },
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
        #[command(flatten)]
        common: RestoreArgs,
    },
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The dump file (.sql, compressed, .enc: told from its bytes).
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Passphrase of an encrypted file (or env SFDB_BACKUP_ENCRYPTION_KEY).
    #[arg(
        short = 'K',
        long = "backup-key",
        env = "SFDB_BACKUP_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub backup_key: Option<String>,
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
    /// A grants file (`_users.sql[.enc]`) to apply after the data (default: the one next to
    /// the dump, if any).
    #[arg(long = "grants-file", conflicts_with = "skip_grants")]
    pub grants_file: Option<PathBuf>,
    /// Apply no grants file.
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
    /// The dump file to verify.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Passphrase of an encrypted file (or env SFDB_BACKUP_ENCRYPTION_KEY).
    #[arg(
        short = 'K',
        long = "backup-key",
        env = "SFDB_BACKUP_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub backup_key: Option<String>,
    /// Compare the recorded row counts and checksums with this live database instead.
    #[arg(long)]
    pub against: Option<String>,
}

/// What the binary was asked to do, validated.
pub enum Task {
    Backup(Box<BackupConfig>),
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

#[derive(Args, Debug)]
pub struct ConnectionArgs {
    /// Server host name or address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, short = 'P', default_value_t = 3306)]
    pub port: u16,
    #[arg(long, short = 'u', default_value = "root")]
    pub user: String,
    /// Password (prefer the MYSQL_PWD environment variable: a flag is visible in `ps`).
    #[arg(long, env = "MYSQL_PWD", hide_env_values = true)]
    pub password: Option<String>,
    /// Unix socket path (instead of host/port).
    #[arg(long)]
    pub socket: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Output directory (default: ./{year}{month}{day}/).
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
    /// Schema only (adds _nodata to the name).
    #[arg(short = 'x', long = "exclude-data")]
    pub exclude_data: bool,
    /// Drop system databases (true by default; --exclude-system=false keeps them).
    #[arg(short = 'S', long = "exclude-system", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub exclude_system: bool,
    /// Drop databases that have no tables.
    #[arg(short = 'E', long = "exclude-empty")]
    pub exclude_empty: bool,
    /// Compression: gzip, pgzip, zstd, xz, zlib, none.
    #[arg(short = 'c', long = "compress", default_value = "zstd")]
    pub compress: String,
    /// Compression level 1-9.
    #[arg(short = 'l', long = "compress-level", default_value_t = 5)]
    pub compress_level: u8,
    /// Same as -c none.
    #[arg(short = 'C', long = "skip-compress")]
    pub skip_compress: bool,
    /// Encryption passphrase (or env SFDB_BACKUP_ENCRYPTION_KEY); a key turns encryption on.
    #[arg(
        short = 'K',
        long = "backup-key",
        env = "SFDB_BACKUP_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub backup_key: Option<String>,
    /// No encryption even if a key is configured.
    #[arg(long = "skip-encrypt")]
    pub skip_encrypt: bool,
    /// Upper bound of one INSERT statement, in bytes.
    #[arg(long = "statement-size", default_value_t = DEFAULT_STATEMENT_SIZE)]
    pub statement_size: usize,
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
}

impl Cli {
    /// Turns raw arguments into a validated task, prompting only when interactive.
    pub fn task(self) -> Result<Task, Error> {
        let quiet = self.quiet;
        match self.command {
            Command::DbBackup { mode } => Ok(Task::Backup(Box::new(backup_config(mode, quiet)?))),
            Command::DbRestore { mode } => {
                Ok(Task::Restore(Box::new(restore_config(mode, quiet)?)))
            }
            Command::Verify(v) => {
                let against = match v.against {
                    Some(db) if !db.trim().is_empty() => {
                        Some((connection_settings(v.connection, quiet)?, db))
                    }
                    Some(_) => return Err(Error::Usage("--against needs a database name".into())),
                    None => None,
                };
                Ok(Task::Verify(Box::new(VerifyConfig {
                    file: v.file,
                    passphrase: passphrase(v.backup_key),
                    against,
                })))
            }
            Command::Cleanup {
                days,
                pattern,
                dry_run,
                backup_dir,
            } => Ok(Task::Cleanup {
                base: backup_dir,
                days,
                pattern,
                dry_run,
            }),
            Command::Crypto { action } => {
                let (encrypt, files) = match action {
                    CryptoArgs::EncryptFile(f) => (true, f),
                    CryptoArgs::DecryptFile(f) => (false, f),
                };
                let key = match files.key {
                    Some(k) if !k.trim().is_empty() => k,
                    _ if quiet || !std::io::stdin().is_terminal() => {
                        return Err(Error::Usage(
                            "missing key: pass -k/--key or set SFDB_ENCRYPTION_KEY".into(),
                        ));
                    }
                    _ => rpassword::prompt_password("Encryption key: ")
                        .map_err(|e| Error::Usage(format!("cannot read the key: {e}")))?,
                };
                let key = Passphrase::new(Secret::new(key));
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

/// The backup half of [`Cli::task`].
fn backup_config(mode: BackupModeArgs, quiet: bool) -> Result<BackupConfig, Error> {
    {
        let (mode, common) = match mode {
            BackupModeArgs::All { common } => (BackupMode::All, common),
            BackupModeArgs::Single { database, common } => {
                let database = match database {
                    Some(d) if !d.trim().is_empty() => d,
                    _ => prompt_or_fail(quiet, "database", "--database NAME", None)?,
                };
                (BackupMode::Single { database }, common)
            }
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
                    return Err(Error::Usage(
                        "filter needs at least one database: --db NAME (repeatable) or --db-file PATH"
                            .into(),
                    ));
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
                        prompt_or_fail(quiet, "mode", "--mode", Some("single-file"))?
                            == "multi-file"
                    }
                };
                (
                    BackupMode::Filter {
                        databases,
                        multi_file,
                    },
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
                prompt_or_fail(quiet, "ticket", "-t/--ticket TICKET", Some(&default))?
            }
        };
        let codec: Codec = if a.skip_compress {
            Codec::None
        } else {
            a.compress
                .parse()
                .map_err(|e| Error::Usage(format!("{e}")))?
        };
        let level = Level::new(a.compress_level).map_err(|e| Error::Usage(format!("{e}")))?;
        let passphrase = match (a.skip_encrypt, a.backup_key) {
            (false, Some(k)) if !k.trim().is_empty() => Some(Passphrase::new(Secret::new(k))),
            _ => None,
        };
        if a.statement_size < 4096 {
            return Err(Error::Usage(
                "--statement-size must be at least 4096 bytes".into(),
            ));
        }
        let threads = thread_count(a.threads)?;
        let consistency = a.consistency.parse().map_err(Error::Usage)?;
        let output_dir = a
            .backup_dir
            .unwrap_or_else(|| PathBuf::from(naming::expand_pattern("{year}{month}{day}/", &now)));
        if let Some(f) = &a.filename {
            naming::custom_file(f, codec, passphrase.is_some())?;
        }
        Ok(BackupConfig {
            engine: a.engine.parse().map_err(Error::Usage)?,
            dry_run: a.dry_run,
            mysqldump_args: None,
            connection: connection_settings(a.connection, quiet)?,
            mode,
            exclude_system: a.exclude_system,
            exclude_empty: a.exclude_empty,
            exclude_data: a.exclude_data,
            output_dir,
            filename: a.filename,
            ticket,
            codec,
            level,
            passphrase,
            statement_size: a.statement_size,
            threads,
            chunk_bytes: a.chunk_bytes.max(1),
            consistency,
            lock_wait_timeout: std::time::Duration::from_secs(a.lock_wait_timeout),
            ddl: DdlOptions {
                skip_definer: a.skip_definer,
            },
            file_mode: 0o600,
        })
    }
}

/// Connection flags as settings; the password is prompted for only when interactive.
fn connection_settings(c: ConnectionArgs, quiet: bool) -> Result<ConnectionSettings, Error> {
    let password = match c.password {
        Some(p) => Some(Secret::new(p)),
        None if !quiet && std::io::stdin().is_terminal() => {
            let p = rpassword::prompt_password(format!("Password for {}: ", c.user))
                .map_err(|e| Error::Usage(format!("cannot read the password: {e}")))?;
            Some(Secret::new(p))
        }
        None => None,
    };
    Ok(ConnectionSettings {
        host: c.host,
        port: c.port,
        user: c.user,
        password,
        socket: c.socket,
    })
}

/// A non-blank key as a passphrase.
fn passphrase(key: Option<String>) -> Option<Passphrase> {
    key.filter(|k| !k.trim().is_empty())
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
fn restore_config(mode: RestoreModeArgs, quiet: bool) -> Result<RestoreConfig, Error> {
    let (mode, a) = match mode {
        RestoreModeArgs::Single { target_db, common } => {
            let target = match target_db {
                Some(t) if !t.trim().is_empty() => t,
                _ => prompt_or_fail(quiet, "target database", "--target-db NAME", None)?,
            };
            (RestoreMode::Single { target }, common)
        }
        RestoreModeArgs::All { exclude_db, common } => (
            RestoreMode::All {
                exclude: exclude_db,
            },
            common,
        ),
        RestoreModeArgs::Primary {
            target_db,
            skip_dmart,
            common,
        } => (
            RestoreMode::Primary {
                target: target_db.filter(|t| !t.trim().is_empty()),
                companion: !skip_dmart,
            },
            common,
        ),
    };
    let ticket = match a.ticket {
        Some(t) if !t.trim().is_empty() => t,
        _ if a.dry_run => String::new(),
        _ => {
            let default = format!("rs-{}", chrono::Local::now().format("%Y%m%d%H%M%S"));
            prompt_or_fail(quiet, "ticket", "-t/--ticket TICKET", Some(&default))?
        }
    };
    let grants = match (a.skip_grants, a.grants_file) {
        (true, _) => GrantsSource::Skip,
        (false, Some(f)) => GrantsSource::File(f),
        (false, None) => GrantsSource::Sibling,
    };
    Ok(RestoreConfig {
        threads: thread_count(a.threads)?,
        connection: connection_settings(a.connection, quiet)?,
        file: a.file,
        passphrase: passphrase(a.backup_key),
        mode,
        ticket,
        drop_target: a.drop_target,
        grants,
        dry_run: a.dry_run,
        continue_on_error: a.continue_on_error,
        strict: a.strict,
        skip_binlog: a.skip_binlog,
    })
}

/// Asks on the terminal, or fails naming the flag when `-q` or not interactive.
fn prompt_or_fail(
    quiet: bool,
    what: &str,
    flag: &str,
    default: Option<&str>,
) -> Result<String, Error> {
    if quiet || !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "missing {what}: pass {flag} (running non-interactively, nothing is prompted)"
        )));
    }
    match default {
        Some(d) => eprint!("{what} [{d}]: "),
        None => eprint!("{what}: "),
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Usage(format!("cannot read {what}: {e}")))?;
    let line = line.trim();
    match (line.is_empty(), default) {
        (false, _) => Ok(line.to_owned()),
        (true, Some(d)) => Ok(d.to_owned()),
        (true, None) => Err(Error::Usage(format!("missing {what}"))),
    }
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
