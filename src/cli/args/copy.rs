//! `db-copy`'s command line: the source's flags as `db-backup` has them (its connection, the
//! modes' selection, the snapshot), the target's under `--target-*`, and what the copy does on
//! the target.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use sfdbtools::config::run::{KeysAfterRows, parse_keys_after_rows, parse_statement_size};
use sfdbtools::connect::SslMode;
use sfdbtools::rows::RowReader;
use sfdbtools::snapshot::Consistency;

use super::selection::DumpSelectionArgs;
use super::{ConnectionArgs, SourceProfileArgs, TARGET_PROFILE_ENV, TARGET_PROFILE_KEY_ENV};

/// The environment variable of the target's password (before `MYSQL_PWD`, which may be the
/// source's).
pub const TARGET_PASSWORD_ENV: &str = "SFDB_TARGET_PASSWORD";

/// The environment variable of the replication account's password (`--start-replica`).
pub const REPLICATION_PASSWORD_ENV: &str = "SFDB_REPLICATION_PASSWORD";

#[derive(Subcommand, Debug)]
pub enum CopyModeArgs {
    /// Every database (minus system databases), each under its own name.
    All {
        #[command(flatten)]
        common: CopyArgs,
    },
    /// The databases named with --db / --db-file, each under its own name.
    Filter {
        /// A database to include (repeatable; not comma-split).
        #[arg(long = "db")]
        db: Vec<String>,
        /// A file listing databases, one per line (# comments and blank lines skipped).
        #[arg(long = "db-file")]
        db_file: Option<PathBuf>,
        #[command(flatten)]
        common: CopyArgs,
    },
    /// One database, under its own name or --target-db.
    Single {
        /// The database to copy.
        #[arg(long)]
        database: Option<String>,
        /// Its name on the target [default: the same name].
        #[arg(long = "target-db")]
        target_db: Option<String>,
        #[command(flatten)]
        common: CopyArgs,
    },
    /// The dbsf_nbc_ primary databases (their session tables' rows left out, as db-backup).
    Primary {
        /// Only this client's databases: dbsf_nbc_<CODE> and dbsf_nbc_<CODE>_*.
        #[arg(long = "client-code")]
        client_code: Option<String>,
        /// Also copy each database's <name>_dmart companion.
        #[arg(long = "include-dmart")]
        include_dmart: bool,
        #[command(flatten)]
        common: CopyArgs,
    },
    /// The dbsf_nbc_<client>_secondary_<instance> databases, like primary.
    Secondary {
        /// Only this client's secondaries: dbsf_nbc_<CODE>_secondary*.
        #[arg(long = "client-code")]
        client_code: Option<String>,
        /// Only this instance: …_secondary_<N> (or …_secondary_<N>_*).
        #[arg(long)]
        instance: Option<String>,
        /// Also copy each database's <name>_dmart companion.
        #[arg(long = "include-dmart")]
        include_dmart: bool,
        #[command(flatten)]
        common: CopyArgs,
    },
}

/// The server a copy writes into. No clap defaults, as for the source's flags: a flag not
/// given leaves the profile's value.
#[derive(Args, Debug)]
pub struct TargetArgs {
    /// Target server host name or address [default: the target profile's, else 127.0.0.1].
    #[arg(long = "target-host")]
    pub target_host: Option<String>,
    /// Target server port [default: the target profile's, else 3306].
    #[arg(long = "target-port")]
    pub target_port: Option<u16>,
    /// Target account [default: the target profile's, else root].
    #[arg(long = "target-user")]
    pub target_user: Option<String>,
    /// Target password (prefer a profile or SFDB_TARGET_PASSWORD, else MYSQL_PWD is used: a
    /// flag is visible in `ps`).
    #[arg(long = "target-password")]
    pub target_password: Option<String>,
    /// Target Unix socket path (instead of host/port).
    #[arg(long = "target-socket")]
    pub target_socket: Option<PathBuf>,
    /// TLS to the target (the values of --ssl-mode).
    #[arg(long = "target-ssl-mode", value_name = "MODE", ignore_case = true)]
    pub target_ssl_mode: Option<SslMode>,
    /// CA certificate(s), PEM, that the target's certificate must chain to.
    #[arg(long = "target-ssl-ca", value_name = "FILE")]
    pub target_ssl_ca: Option<PathBuf>,
    /// Encrypted connection profile of the target server: a path, or a bare name in the
    /// profile directory.
    #[arg(long = "target-profile", env = TARGET_PROFILE_ENV)]
    pub target_profile: Option<String>,
    /// Passphrase of the target profile (prefer the environment variable).
    #[arg(
        long = "target-profile-key",
        env = TARGET_PROFILE_KEY_ENV,
        hide_env_values = true
    )]
    pub target_profile_key: Option<String>,
}

impl TargetArgs {
    /// The target's flags in the shape the connection rules take (the source's flags'
    /// shape), with the connect timeout of the run.
    pub fn connection(&self, connect_timeout: u64) -> ConnectionArgs {
        ConnectionArgs {
            host: self.target_host.clone(),
            port: self.target_port,
            user: self.target_user.clone(),
            password: self.target_password.clone(),
            socket: self.target_socket.clone(),
            connect_timeout,
            ssl_mode: self.target_ssl_mode,
            ssl_ca: self.target_ssl_ca.clone(),
            ssl_cert: None,
            ssl_key: None,
            get_server_public_key: false,
            server_public_key_path: None,
            ssh: Default::default(),
        }
    }
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub profile: SourceProfileArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Check both servers and show what would be copied where; change nothing.
    #[arg(short = 'd', long = "dry-run")]
    pub dry_run: bool,
    /// Audit ticket id.
    #[arg(short = 't', long)]
    pub ticket: Option<String>,
    /// Connections on each side: dump workers on the source, data connections on the target
    /// (default: the number of CPUs, at most 8).
    #[arg(short = 'j', long = "threads")]
    pub threads: Option<usize>,
    /// Replace a target database that exists (without it, a target database that holds
    /// tables stops the copy before anything is read).
    #[arg(long = "drop-target")]
    pub drop_target: bool,
    /// For `single`: run statements that write into another database by name as they are
    /// (a trigger or routine of the source that writes elsewhere); without it such a
    /// statement stops the copy before it runs, as in db-restore.
    #[arg(long = "allow-other-databases")]
    pub allow_other_databases: bool,
    /// Also copy the accounts of the copied databases (all of them for `all`): accounts the
    /// target lacks are created, those it has are left entirely alone.
    #[arg(long = "grants")]
    pub grants: bool,
    /// Keep the copy out of the target's binary log (its replicas will not get it; needs
    /// BINLOG ADMIN or SUPER). On with --as-replica.
    #[arg(long = "skip-binlog")]
    pub skip_binlog: bool,
    /// Fail on any warning of either side.
    #[arg(long)]
    pub strict: bool,
    /// On a MariaDB target, an InnoDB table whose data the source reports at SIZE or more
    /// (bytes, or K/M/G, its `DATA_LENGTH`; 0: every table) is loaded without its plain
    /// secondary keys, which are built from its rows once they are all in (as
    /// `db-restore --keys-after-rows`). Tables with foreign keys, FULLTEXT or SPATIAL keys,
    /// partitions or system versioning keep their keys. `off`: every table is loaded with its
    /// keys.
    #[arg(long = "keys-after-rows", value_name = "SIZE|off", value_parser = parse_keys_after_rows, default_value = "16M", allow_hyphen_values = true)]
    pub keys_after_rows: KeysAfterRows,
    /// Schema only: no rows.
    #[arg(short = 'x', long = "exclude-data", num_args = 0..=1, default_missing_value = "true")]
    pub exclude_data: Option<bool>,
    /// Drop system databases (--exclude-system=false keeps them) [default: config, else true].
    #[arg(short = 'S', long = "exclude-system", num_args = 0..=1, default_missing_value = "true")]
    pub exclude_system: Option<bool>,
    /// Drop databases that have no tables [default: config, else false].
    #[arg(short = 'E', long = "exclude-empty", num_args = 0..=1, default_missing_value = "true")]
    pub exclude_empty: Option<bool>,
    /// Copy the databases that exist when one named by --db or --db-file does not.
    #[arg(long = "allow-missing")]
    pub allow_missing: bool,
    /// Upper bound of one INSERT statement (4K to 16M; default 1M).
    #[arg(long = "statement-size", value_name = "SIZE", value_parser = parse_statement_size)]
    pub statement_size: Option<usize>,
    /// snapshot: one point in time, commits blocked only briefly; lock: writes blocked for the
    /// whole copy; none: no locks, no single point in time.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        hide_possible_values = true,
        default_value = "snapshot"
    )]
    pub consistency: Consistency,
    /// Seconds to wait for the source's DDL and commit locks before failing [default: 60].
    #[arg(long = "lock-wait-timeout")]
    pub lock_wait_timeout: Option<u64>,
    /// Remove DEFINER clauses from views, routines, triggers and events.
    #[arg(long = "skip-definer")]
    pub skip_definer: bool,
    /// Record the snapshot's GTID/binlog position in this table of the target (DB.TABLE; its
    /// database must exist and not be one the copy writes; the table is created when missing,
    /// one row per copy).
    #[arg(long = "position-table", value_name = "DB.TABLE")]
    pub position_table: Option<String>,
    /// Record the snapshot's position in this JSON file (it must not exist).
    #[arg(
        long = "position-file",
        value_name = "PATH",
        conflicts_with = "position_table"
    )]
    pub position_file: Option<PathBuf>,
    /// MariaDB: print the statements that make the target replicate from the source from the
    /// copy's snapshot (gtid_slave_pos, CHANGE MASTER TO … MASTER_USE_GTID); loads with
    /// --skip-binlog.
    #[arg(long = "as-replica")]
    pub as_replica: bool,
    /// With --as-replica: run those statements on the target and start replicating.
    #[arg(long = "start-replica", requires = "as_replica")]
    pub start_replica: bool,
    /// The source as the target reaches it, for CHANGE MASTER TO [default: the source's
    /// --host, unless that is a socket or a tunnel].
    #[arg(long = "replication-host", requires = "as_replica")]
    pub replication_host: Option<String>,
    /// The source's port as the target reaches it [default: the source's port].
    #[arg(long = "replication-port", requires = "as_replica")]
    pub replication_port: Option<u16>,
    /// The replication account on the source (its password: environment
    /// SFDB_REPLICATION_PASSWORD).
    #[arg(long = "replication-user", requires = "as_replica")]
    pub replication_user: Option<String>,
    #[command(flatten)]
    pub selection: DumpSelectionArgs,
    /// wire: the in-place row reader (mysql_async when it cannot connect); driver: mysql_async.
    #[arg(long = "row-reader", value_enum, ignore_case = true, hide = true)]
    pub row_reader: Option<RowReader>,
}
