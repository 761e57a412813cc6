//! Raw command-line arguments (clap) and their turning into one validated `BackupConfig`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use sfdbtools::Error;
use sfdbtools::compress::{Codec, Level};
use sfdbtools::config::{BackupConfig, BackupMode};
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

/// What the binary was asked to do, validated.
pub enum Task {
    Backup(Box<BackupConfig>),
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
    /// wire: the in-place row reader (mysql_async when it cannot connect); driver: mysql_async.
    #[arg(long = "row-reader", default_value = "wire", hide = true)]
    pub row_reader: String,
}

impl Cli {
    /// Turns raw arguments into a validated task, prompting only when interactive.
    pub fn task(self) -> Result<Task, Error> {
        let quiet = self.quiet;
        match self.command {
            Command::DbBackup { mode } => Ok(Task::Backup(Box::new(backup_config(mode, quiet)?))),
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
        let threads = match a.threads {
            Some(0) => return Err(Error::Usage("-j/--threads must be at least 1".into())),
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map(|n| n.get().min(8))
                .unwrap_or(1),
        };
        let consistency = a.consistency.parse().map_err(Error::Usage)?;
        let output_dir = a
            .backup_dir
            .unwrap_or_else(|| PathBuf::from(naming::expand_pattern("{year}{month}{day}/", &now)));
        if let Some(f) = &a.filename {
            naming::custom_file(f, codec, passphrase.is_some())?;
        }
        let c = a.connection;
        let password = match c.password {
            Some(p) => Some(Secret::new(p)),
            None if !quiet && std::io::stdin().is_terminal() => {
                let p = rpassword::prompt_password(format!("Password for {}: ", c.user))
                    .map_err(|e| Error::Usage(format!("cannot read the password: {e}")))?;
                Some(Secret::new(p))
            }
            None => None,
        };
        Ok(BackupConfig {
            engine: a.engine.parse().map_err(Error::Usage)?,
            dry_run: a.dry_run,
            mysqldump_args: None,
            connection: ConnectionSettings {
                host: c.host,
                port: c.port,
                user: c.user,
                password,
                socket: c.socket,
            },
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
            row_reader: a.row_reader.parse().map_err(Error::Usage)?,
        })
    }
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
