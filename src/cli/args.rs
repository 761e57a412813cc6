//! The command line as clap sees it: every command, flag and default value, and nothing that
//! reads a file, the environment or the terminal (turning these into a validated run is the
//! job of each command's module). The one check that cannot be a clap rule,
//! [`refuse_short_help_with_arguments`], is here too: it looks only at the raw arguments.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use sfdbtools::Error;
use sfdbtools::config::run::Engine;
use sfdbtools::config::run::{
    KeysAfterRows, parse_keys_after_rows, parse_max_statement_size, parse_statement_size,
};
use sfdbtools::connect::{DEFAULT_CONNECT_TIMEOUT, SslMode};
use sfdbtools::rows::RowReader;
use sfdbtools::snapshot::Consistency;

pub use super::log::{Format as LogFormat, Level as LogLevel};

pub mod copy;
pub mod profile;
pub mod s3;
pub mod selection;
pub mod version;
use profile::ProfileAction;

#[derive(Parser, Debug)]
#[command(
    name = "sfdbtools",
    version = version::short(),
    long_version = version::long(),
    about = "Consistent, parallel, compressed and encrypted MySQL/MariaDB backups"
)]
pub struct Cli {
    /// Non-interactive: never prompt, fail fast on anything missing.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// text: bars on a terminal, a line every few seconds otherwise; json: every line on
    /// stderr is one JSON object (the README lists the events).
    #[arg(long = "log-format", global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Least severe level logged, on stderr and in the log file [default: config log.level,
    /// else info]. The `finished` event and errors are always logged.
    #[arg(long = "log-level", global = true, value_enum)]
    pub log_level: Option<LogLevel>,

    /// Append every event of the run to this file as JSON lines, whatever the terminal shows
    /// [default: config log.file].
    #[arg(long = "log-file", global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

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
    /// Copy databases from one server into another in one consistent stream: the source's
    /// snapshot dumped and loaded at once, no file in between.
    #[command(name = "db-copy", visible_aliases = ["copy"])]
    DbCopy {
        #[command(subcommand)]
        mode: copy::CopyModeArgs,
    },
    /// Prove a backup file good: read all of it and check it against its metadata, or compare
    /// its recorded row counts and checksums with a live database (--against).
    Verify(VerifyArgs),
    /// Delete backup sets (dump, metadata, grants) older than --days under a directory.
    Cleanup(CleanupArgs),
    /// List the backup sets under a directory: time, databases, size, codec, encryption,
    /// GTID, ticket, and what the last verify said.
    List(ListArgs),
    /// Encrypt or decrypt a file with the sfdbtools `.enc` container.
    Crypto {
        #[command(subcommand)]
        action: CryptoArgs,
    },
    /// Manage encrypted connection profiles (`<name>.cnf.enc`).
    Profile {
        #[command(subcommand)]
        action: ProfileAction,
    },
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell on stdout
    /// (bash: `sfdbtools completions bash > /etc/bash_completion.d/sfdbtools`).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages, one per command, into DIR (`sfdbtools man-pages
    /// /usr/local/share/man/man1`; `scripts/man.sh` writes them into man/).
    #[command(name = "man-pages")]
    ManPages {
        /// The directory to write `sfdbtools.1`, `sfdbtools-db-backup.1`, … into (created
        /// when missing).
        dir: PathBuf,
    },
}

impl Command {
    /// Whether the command reads the YAML config (crypto does not: a broken config must not
    /// stand between an operator and a decrypted backup; completions and man pages are about
    /// the command line alone).
    pub fn reads_config(&self) -> bool {
        !matches!(
            self,
            Command::Crypto { .. } | Command::Completions { .. } | Command::ManPages { .. }
        )
    }

    /// The command's name in the log's envelope.
    pub fn name(&self) -> &'static str {
        match self {
            Command::DbBackup { .. } => "db-backup",
            Command::DbRestore { .. } => "db-restore",
            Command::DbCopy { .. } => "db-copy",
            Command::Verify(_) => "verify",
            Command::Cleanup(_) => "cleanup",
            Command::List(_) => "list",
            Command::Crypto { .. } => "crypto",
            Command::Profile { .. } => "profile",
            Command::Completions { .. } => "completions",
            Command::ManPages { .. } => "man-pages",
        }
    }
}

// No `///` here: clap would take it for the command's about text, which the variant gives.
#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// Age in days beyond which a backup set is removed [default: config backup.cleanup.days].
    #[arg(long)]
    pub days: Option<u64>,
    /// Only dump files whose name matches this glob (`*`, `?`).
    #[arg(long)]
    pub pattern: Option<String>,
    /// Print what would be removed; remove nothing.
    #[arg(short = 'd', long = "dry-run")]
    pub dry_run: bool,
    /// The base directory holding the backups [default: config backup.output.base_directory; required].
    #[arg(short = 'o', long = "backup-dir")]
    pub backup_dir: Option<PathBuf>,
    #[command(flatten)]
    pub s3: s3::S3Endpoint,
}

// No `///` here: clap would take it for the command's about text, which the variant gives.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// The directory holding the backups, searched with its subdirectories [default: config
    /// backup.output.base_directory; required].
    pub dir: Option<PathBuf>,
    /// A JSON array on stdout instead of the table (schema in the README).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub s3: s3::S3Endpoint,
}

#[derive(Subcommand, Debug)]
pub enum CryptoArgs {
    /// Encrypt a file into the chunked `.enc` container (600000 PBKDF2 iterations).
    EncryptFile(CryptoFiles),
    /// Decrypt a chunked `.enc` file or a one-shot blob (profiles), recognised by content.
    DecryptFile(CryptoFiles),
}

/// The old tool's short flags (`-i`, `-o`, `-k`) and, as aliases, its long ones (`--in`,
/// `--out`): scripts written for it keep working (docs/compat.md §1). `-K` too, which names a
/// backup file's key in every other command.
#[derive(Args, Debug)]
pub struct CryptoFiles {
    /// The file to read.
    #[arg(short = 'i', long = "input", visible_alias = "in")]
    pub input: PathBuf,
    /// The file to write; it must not exist, and appears only once complete (mode 0600).
    #[arg(short = 'o', long = "output", visible_alias = "out")]
    pub output: PathBuf,
    /// Passphrase [default: env SFDB_ENCRYPTION_KEY, else SFDB_BACKUP_ENCRYPTION_KEY; else
    /// prompted when interactive] (prefer the variables: a flag is visible in `ps`).
    #[arg(
        short = 'k',
        long = "key",
        visible_short_alias = 'K',
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
    /// A dump (a primary's, usually) as the secondary dbsf_nbc_<client>_secondary_<instance>,
    /// and its _dmart companion (named in the metadata's database_details) as <that>_dmart.
    Secondary {
        /// The client: dbsf_nbc_<CODE> (or the whole dbsf_nbc_… name).
        #[arg(long = "client-code")]
        client_code: Option<String>,
        /// The instance: …_secondary_<INSTANCE> (training, 1, …).
        #[arg(long)]
        instance: Option<String>,
        /// Restore the dump only, not its _dmart companion.
        #[arg(long = "skip-dmart")]
        skip_dmart: bool,
        /// With --grants: make the accounts file's grants on the dumped databases on the
        /// secondary and its _dmart instead.
        #[arg(long = "grants-to-target")]
        grants_to_target: bool,
        #[command(flatten)]
        common: RestoreArgs,
    },
}

/// A backup file to read, and its key.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// The dump file (.sql, compressed, .enc: told from its bytes), or its object
    /// s3://BUCKET/KEY.
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Passphrase of an encrypted file [default: config backup.encryption.key, else env
    /// SFDB_BACKUP_ENCRYPTION_KEY; else prompted when interactive] (`--encryption-key` is the
    /// old tool's name for it).
    #[arg(short = 'K', long = "backup-key", alias = "encryption-key")]
    pub backup_key: Option<String>,
    #[command(flatten)]
    pub s3: s3::S3Endpoint,
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
    /// is refused). A file that would replace a database holding objects is read to its end
    /// and proven first (unless --no-verify): a damaged file leaves the database as it was.
    #[arg(long = "drop-target")]
    pub drop_target: bool,
    /// `single` only: run statements that write into a database other than the target as
    /// written (`INSERT INTO other.t`, `DROP TABLE other.t`, `GRANT … ON other.*`); without
    /// it such a statement stops the restore before it runs.
    #[arg(long = "allow-other-databases")]
    pub allow_other_databases: bool,
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
    /// Skip the integrity checks: the file's size and SHA-256 are not compared with its
    /// metadata, and a dump of ours without its "-- Dump completed" footer (cut short) is
    /// restored with a warning instead of failing. For a damaged copy that is the last one.
    /// With --drop-target the database is then dropped before anything of the file is
    /// checked: a damaged file leaves it with what was restored up to the damage.
    #[arg(long = "no-verify")]
    pub no_verify: bool,
    /// The longest statement read from the file (bytes, or K/M/G): a longer one stops the
    /// restore, and memory holds no more [default: the target server's max_allowed_packet,
    /// which refuses a longer one anyway].
    #[arg(long = "max-statement-size", value_name = "SIZE", value_parser = parse_max_statement_size)]
    pub max_statement_size: Option<usize>,
    /// Go on with a restore of this file that stopped (killed, failed, a server restart):
    /// the same command plus --resume. What its journal on the target (database
    /// sfdbtools_journal) says was committed is read past; nothing runs twice. A different
    /// file, target or table selection is refused.
    #[arg(long = "resume", conflicts_with_all = ["no_journal", "dry_run"])]
    pub resume: bool,
    /// On MariaDB, a table of our dump with at least SIZE of rows (bytes, or K/M/G, as its
    /// metadata records them; 0: every table) is loaded without its plain secondary keys,
    /// which are then built in one ALTER TABLE from the loaded rows: faster than keeping
    /// every key's B-tree in order row by row. Tables with foreign keys, FULLTEXT or SPATIAL
    /// keys, partitions or system versioning keep their keys. `off`: every table is loaded
    /// with its keys.
    #[arg(long = "keys-after-rows", value_name = "SIZE|off", value_parser = parse_keys_after_rows, default_value = "16M", allow_hyphen_values = true)]
    pub keys_after_rows: KeysAfterRows,
    /// Keep no journal on the target (the database sfdbtools_journal): a restore that stops
    /// cannot be resumed, and the target gets nothing but the dump's own statements.
    #[arg(long = "no-journal")]
    pub no_journal: bool,
    #[command(flatten)]
    pub tables: RestoreTablesArgs,
}

/// Part of a file: which of its tables and views a restore takes.
#[derive(Args, Debug)]
pub struct RestoreTablesArgs {
    /// Restore only these tables and views, with their triggers (comma-separated, repeatable):
    /// `shop.orders,shop.log_*`.
    ///
    /// Patterns, here and in the options below, are db.table with shell globs (`*`, `?`; `\`
    /// or backticks for a literal dot, star or comma). The database part is the database as
    /// the file names it, the one the dump was made from (its USE, else its metadata, else
    /// its header), never --target-db; when a single-database file names it nowhere, only
    /// `*.table` matches. Table names compare exactly, database names ignoring case. A view is
    /// chosen by its own name. Statements about no table (routines, events, the database's
    /// own) are restored; a database no --tables pattern can match is left out whole (in
    /// `all`, and primary's _dmart companion). A pattern that matches no table or view of the
    /// file is an error.
    #[arg(long = "tables", value_name = "DB.TABLE,…")]
    pub tables: Vec<String>,
    /// Restore only the tables and views this file lists, one pattern per line (# comments and
    /// blank lines skipped); adds to --tables.
    #[arg(long = "tables-file", value_name = "FILE")]
    pub tables_file: Option<PathBuf>,
    /// Leave this table or view out: its definition, rows and triggers (repeatable).
    #[arg(long = "ignore-table", value_name = "DB.TABLE")]
    pub ignore_table: Vec<String>,
    /// Restore this table's definition and triggers but not its rows (repeatable).
    #[arg(long = "ignore-table-data", value_name = "DB.TABLE")]
    pub ignore_table_data: Vec<String>,
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
    /// The longest statement read from the file (bytes, or K/M/G): a longer one fails the
    /// check, and memory holds no more.
    #[arg(long = "max-statement-size", value_name = "SIZE", value_parser = parse_max_statement_size, default_value = "1G")]
    pub max_statement_size: usize,
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
        /// single-file: one combined file; multi-file: one file per database (required with
        /// -q; asked when interactive).
        #[arg(long, value_enum)]
        mode: Option<FilterMode>,
        #[command(flatten)]
        common: BackupArgs,
    },
    /// One database into one file (no CREATE DATABASE/USE: restores under any name).
    Single {
        /// The database to back up (interactively: chosen from the server's list when not
        /// given).
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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FilterMode {
    SingleFile,
    MultiFile,
}

/// Connection flags. No clap defaults: a flag that was not given must be told apart from one
/// given with the default value, so that a profile's field applies (see `inputs::connection`). The
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
    /// TLS for TCP connections [default: VERIFY_CA with --ssl-ca, else PREFERRED]. PREFERRED:
    /// TLS when offered, unverified unless --ssl-ca is given; REQUIRED: TLS or fail;
    /// VERIFY_CA: the certificate must chain to --ssl-ca (or a public root), and for now must
    /// also name --host (the driver cannot skip the name); VERIFY_IDENTITY: and name --host.
    #[arg(long = "ssl-mode", value_name = "MODE", ignore_case = true)]
    pub ssl_mode: Option<SslMode>,
    /// CA certificate(s), PEM, that the server's certificate must chain to.
    #[arg(long = "ssl-ca", value_name = "FILE")]
    pub ssl_ca: Option<PathBuf>,
    /// Client certificate (PEM) for accounts that REQUIRE X509; needs --ssl-key.
    #[arg(long = "ssl-cert", value_name = "FILE", requires = "ssl_key")]
    pub ssl_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM); needs --ssl-cert.
    #[arg(long = "ssl-key", value_name = "FILE", requires = "ssl_cert")]
    pub ssl_key: Option<PathBuf>,
    /// Fetch the server's RSA key for a caching_sha2_password login outside TLS (unverified:
    /// a man in the middle could replace it and read the password). Off by default.
    #[arg(
        long = "get-server-public-key",
        conflicts_with = "server_public_key_path"
    )]
    pub get_server_public_key: bool,
    /// The server's RSA public key (PEM), pinned, for caching_sha2_password logins outside TLS.
    #[arg(long = "server-public-key-path", value_name = "FILE")]
    pub server_public_key_path: Option<PathBuf>,
    #[command(flatten)]
    pub ssh: SshArgs,
}

/// An SSH tunnel for every connection of the run (issue #18): --host/--port then name the
/// database as the SSH host reaches it.
#[derive(Args, Debug, Default)]
pub struct SshArgs {
    /// SSH host to tunnel the connections through (host keys checked in ~/.ssh/known_hosts).
    #[arg(long = "ssh-host")]
    pub ssh_host: Option<String>,
    /// SSH port [default: 22].
    #[arg(long = "ssh-port")]
    pub ssh_port: Option<u16>,
    /// SSH account name.
    #[arg(long = "ssh-user")]
    pub ssh_user: Option<String>,
    /// Private key file for the SSH login (OpenSSH or PEM format; a passphrase is asked for).
    #[arg(long = "ssh-identity", value_name = "FILE")]
    pub ssh_identity: Option<PathBuf>,
    /// Trust an SSH host key that ~/.ssh/known_hosts does not know and record it there (a
    /// changed key is still refused).
    #[arg(long = "ssh-accept-new")]
    pub ssh_accept_new: bool,
}

/// The profile of the server a backup reads from (docs/compat.md §1: `SFDB_SOURCE_PROFILE[_KEY]`).
#[derive(Args, Debug)]
pub struct SourceProfileArgs {
    /// Encrypted connection profile of the server read from (the one backed up, or a copy's
    /// source): a path, or a bare name in the profile directory.
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
/// (docs/compat.md §7: `SFDB_TARGET_PROFILE[_KEY]`), so that one environment can name both ends.
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

pub const SOURCE_PROFILE_ENV: &str = "SFDB_SOURCE_PROFILE";
pub const SOURCE_PROFILE_KEY_ENV: &str = "SFDB_SOURCE_PROFILE_KEY";
pub const TARGET_PROFILE_ENV: &str = "SFDB_TARGET_PROFILE";
pub const TARGET_PROFILE_KEY_ENV: &str = "SFDB_TARGET_PROFILE_KEY";

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
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        hide_possible_values = true,
        default_value = "native"
    )]
    pub engine: Engine,
    /// Worker connections (default: the number of CPUs, at most 8).
    #[arg(short = 'j', long = "threads")]
    pub threads: Option<usize>,
    /// snapshot: one point in time, commits blocked only briefly; lock: writes blocked for the
    /// whole dump; none: no locks, no single point in time.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        hide_possible_values = true,
        default_value = "snapshot"
    )]
    pub consistency: Consistency,
    /// Seconds to wait for the DDL and commit locks before failing [default: 60].
    #[arg(long = "lock-wait-timeout")]
    pub lock_wait_timeout: Option<u64>,
    /// Target bytes of table data per chunk when splitting big tables by key ranges [default:
    /// `dump::chunks::CHUNK_TARGET_BYTES`].
    #[arg(long = "chunk-bytes", hide = true)]
    pub chunk_bytes: Option<u64>,
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
    /// After the run, success or not, rewrite this Prometheus textfile-collector file with
    /// each database's last run, last success, status, duration, bytes and rows [default:
    /// config backup.metrics.file].
    #[arg(long = "metrics-file", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    #[command(flatten)]
    pub selection: selection::DumpSelectionArgs,
    #[command(flatten)]
    pub s3: s3::S3Args,
    /// wire: the in-place row reader (mysql_async when it cannot connect); driver: mysql_async.
    #[arg(long = "row-reader", value_enum, ignore_case = true, hide = true)]
    pub row_reader: Option<RowReader>,
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

#[cfg(test)]
mod help_tests;

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;

    use super::*;

    fn backup_args(extra: &[&str]) -> Result<BackupArgs, clap::Error> {
        let argv = ["sfdbtools", "db-backup", "all"].iter().chain(extra);
        match Cli::try_parse_from(argv)?.command {
            Command::DbBackup {
                mode: BackupModeArgs::All { common },
            } => Ok(common),
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn engine_consistency_and_row_reader_take_any_case_and_the_old_aliases() {
        let a = backup_args(&[]).unwrap();
        assert_eq!(
            (a.engine, a.consistency, a.row_reader),
            (Engine::Native, Consistency::Snapshot, None)
        );
        let a = backup_args(&[
            "--engine",
            "MariaDB-Dump",
            "--consistency",
            "LOCK",
            "--row-reader",
            "mysql_async",
        ])
        .unwrap();
        assert_eq!(
            (a.engine, a.consistency, a.row_reader),
            (
                Engine::Mysqldump,
                Consistency::Lock,
                Some(RowReader::Driver)
            )
        );
        let a = backup_args(&[
            "--engine=mysqldump",
            "--consistency=none",
            "--row-reader=Driver",
        ])
        .unwrap();
        assert_eq!(
            (a.engine, a.consistency, a.row_reader),
            (
                Engine::Mysqldump,
                Consistency::None,
                Some(RowReader::Driver)
            )
        );
    }

    #[test]
    fn ssl_mode_takes_any_case_and_a_client_certificate_needs_its_key() {
        let a = backup_args(&["--ssl-mode", "verify_identity"]).unwrap();
        assert_eq!(a.connection.ssl_mode, Some(SslMode::VerifyIdentity));
        let a = backup_args(&["--ssl-mode=DISABLED"]).unwrap();
        assert_eq!(a.connection.ssl_mode, Some(SslMode::Disabled));
        assert_eq!(backup_args(&[]).unwrap().connection.ssl_mode, None);
        for lone in ["--ssl-cert=/c.pem", "--ssl-key=/k.pem"] {
            let e = backup_args(&[lone]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MissingRequiredArgument, "{lone}");
        }
        assert!(backup_args(&["--ssl-cert=/c.pem", "--ssl-key=/k.pem"]).is_ok());
    }

    #[test]
    fn profile_edit_sets_the_tls_keys_given_and_keeps_the_others() {
        use sfdbtools::config::profile::Profile;
        use sfdbtools::secret::Secret;
        let argv = [
            "sfdbtools",
            "profile",
            "edit",
            "-n",
            "p",
            "--ssl-mode",
            "verify_ca",
            "--ssl-ca",
            "/ca.pem",
        ];
        let Command::Profile {
            action: ProfileAction::Edit { fields, .. },
        } = Cli::try_parse_from(argv).unwrap().command
        else {
            unreachable!()
        };
        assert!(fields.any());
        let mut p = Profile::new("h".into(), 1, "u".into(), Secret::default());
        p.tls.key = Some("/k.pem".into());
        fields.apply(&mut p);
        assert_eq!(p.tls.mode, Some(SslMode::VerifyCa));
        assert_eq!(p.tls.ca.as_deref(), Some(std::path::Path::new("/ca.pem")));
        assert_eq!(p.tls.key.as_deref(), Some(std::path::Path::new("/k.pem")));
        assert_eq!((p.host.as_str(), p.port), ("h", 1));
    }

    #[test]
    fn an_unknown_engine_consistency_or_row_reader_is_clap_s_usage_error() {
        for flag in ["--engine", "--consistency", "--row-reader"] {
            let e = backup_args(&[flag, "bogus"]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidValue, "{flag}");
            assert_eq!(e.exit_code(), 2, "{flag}");
            assert!(e.to_string().contains("[possible values: "), "{e}");
        }
    }

    /// The variable clap reads for `--long` of the command at `path`.
    fn env_of(path: &[&str], long: &str) -> Option<String> {
        let mut root = Cli::command();
        root.build();
        let mut cmd = &root;
        for name in path {
            cmd = cmd.find_subcommand(name).unwrap();
        }
        let arg = cmd.get_arguments().find(|a| a.get_long() == Some(long));
        arg.and_then(|a| a.get_env())
            .map(|v| v.to_string_lossy().into_owned())
    }

    /// A backup reads the source server's profile variables; a restore and `verify --against`
    /// the target's, so that one environment can name both ends (docs/compat.md §1, §7).
    #[test]
    fn each_end_has_its_own_profile_variables() {
        for path in [&["db-backup", "all"][..], &["db-backup", "filter"]] {
            assert_eq!(
                env_of(path, "profile").as_deref(),
                Some("SFDB_SOURCE_PROFILE")
            );
            assert_eq!(
                env_of(path, "profile-key").as_deref(),
                Some("SFDB_SOURCE_PROFILE_KEY")
            );
        }
        for path in [
            &["db-restore", "single"][..],
            &["db-restore", "all"],
            &["db-restore", "primary"],
            &["db-restore", "secondary"],
            &["verify"],
        ] {
            assert_eq!(
                env_of(path, "profile").as_deref(),
                Some("SFDB_TARGET_PROFILE")
            );
            assert_eq!(
                env_of(path, "profile-key").as_deref(),
                Some("SFDB_TARGET_PROFILE_KEY")
            );
        }
        // The profile commands serve either end: `cli::profile` reads both ends' variables.
        for action in ["create", "list", "show", "edit"] {
            assert_eq!(
                env_of(&["profile", action], "profile-key"),
                None,
                "{action}"
            );
        }
        assert_eq!(
            env_of(&["crypto", "encrypt-file"], "key").as_deref(),
            Some("SFDB_ENCRYPTION_KEY")
        );
        // Read by the binary itself, after the config (see `inputs::Env`), never by clap.
        assert_eq!(env_of(&["db-backup", "all"], "backup-key"), None);
        assert_eq!(env_of(&["db-backup", "all"], "password"), None);
    }

    #[test]
    fn short_h_is_help_only_alone() {
        let check = |args: &[&str]| {
            let args: Vec<OsString> = ["sfdbtools"]
                .iter()
                .chain(args)
                .map(OsString::from)
                .collect();
            refuse_short_help_with_arguments(&args)
        };
        assert!(check(&["db-backup", "all", "-h"]).is_ok());
        assert!(check(&["db-backup", "all", "--help", "-t", "T"]).is_ok());
        assert!(check(&["db-backup", "all", "-thost"]).is_ok());
        for refused in [
            &["db-backup", "all", "-h", "db1"][..],
            &["-qh", "db-backup"],
            &["db-backup", "all", "-hdb1"],
        ] {
            let e = check(refused).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{refused:?}");
            assert!(
                e.to_string().starts_with("-h is short for --help here"),
                "{e}"
            );
        }
    }
}
