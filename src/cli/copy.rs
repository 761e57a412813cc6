//! `db-copy`: its arguments turned into one [`CopyConfig`] (the source's side through
//! `db-backup`'s own rules, so that a mode selects the same databases here as there; the
//! target's through `db-restore`'s), and the run with its answer on the terminal.

use std::path::PathBuf;
use std::sync::Arc;

use sfdbtools::Error;
use sfdbtools::compress::Codec;
use sfdbtools::config::file::Settings;
use sfdbtools::config::run::{ConfirmDrop, Engine, GrantsSource, RestoreConfig, RestoreMode};
use sfdbtools::copy::{self, CopyConfig, CopyPlan, CopyReport, PositionRecord, ReplicaSetup};
use sfdbtools::metadata::human_size;
use sfdbtools::progress::Progress;
use sfdbtools::quote::ident;
use sfdbtools::secret::Secret;

use super::args::copy::{CopyArgs, CopyModeArgs};
use super::args::s3::S3Args;
use super::args::{BackupArgs, BackupModeArgs, FilterMode, TargetProfileArgs};
use super::inputs::{Env, connection};
use super::log;
use super::prompt::{self, Pending};
use super::report::{self, Reporter, Style};
use super::runtime::{open_tunnel, runtime, through_tunnel, until_interrupted};

/// The copy to run, from its arguments, the config file and the environment.
pub fn config(
    mode: CopyModeArgs,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<(CopyConfig, Pending), Error> {
    let (backup_mode, common, target_db) = split(mode)?;
    let CopyArgs {
        connection: source_connection,
        profile,
        target,
        dry_run,
        ticket,
        threads,
        drop_target,
        allow_other_databases,
        grants,
        skip_binlog,
        strict,
        keys_after_rows,
        exclude_data,
        exclude_system,
        exclude_empty,
        allow_missing,
        statement_size,
        consistency,
        lock_wait_timeout,
        skip_definer,
        position_table,
        position_file,
        as_replica,
        start_replica,
        replication_host,
        replication_port,
        replication_user,
        selection,
        row_reader,
    } = common;
    let connect_timeout = source_connection.connect_timeout;
    let source_host = (source_connection.socket.is_none()
        && source_connection.ssh.ssh_host.is_none())
    .then(|| source_connection.host.clone())
    .flatten();
    let ticket = ticket
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("cp-{}", chrono::Local::now().format("%Y%m%d%H%M%S")));
    let backup = BackupArgs {
        connection: source_connection,
        profile,
        // Never written to: a copy's stream is a pipe. Given so that the config's base
        // directory (an s3:// one, say) is not looked at.
        backup_dir: Some(std::env::temp_dir()),
        filename: None,
        dry_run,
        ticket: Some(ticket.clone()),
        exclude_data,
        exclude_system,
        exclude_empty,
        compress: None,
        compress_level: None,
        skip_compress: true,
        backup_key: None,
        skip_encrypt: true,
        statement_size,
        engine: Engine::Native,
        threads,
        consistency,
        lock_wait_timeout,
        chunk_bytes: None,
        skip_definer,
        strict,
        allow_missing,
        exclude_user: !grants,
        metrics_file: None,
        selection,
        s3: S3Args::default(),
        row_reader,
    };
    let (mut source, mut pending) =
        super::backup::config(backup_mode.with(backup), quiet, settings, env)?;
    // The database is still picked from the server's list when not given; the backup's review
    // of files to write is not a copy's (`--dry-run` shows a copy's plan, and `--drop-target`
    // still asks before it drops).
    pending.interactive = false;
    source.bucket = None;
    source.codec = Codec::None;
    source.passphrase = None;
    source.save_metadata = false;
    source.export_grants = grants;
    source.cleanup_after = None;
    source.metrics_file = None;
    let target_env = Env {
        mysql_pwd: env.target_pwd.clone().or_else(|| env.mysql_pwd.clone()),
        home: env.home.clone(),
        user: env.user.clone(),
        ..Env::default()
    };
    let target_connection = connection(
        target.connection(connect_timeout),
        TargetProfileArgs {
            profile: target.target_profile.clone(),
            profile_key: target.target_profile_key.clone(),
        },
        quiet,
        settings,
        &target_env,
    )?;
    let mode = match (&source.mode, target_db) {
        (sfdbtools::config::run::BackupMode::Single { database }, t) => RestoreMode::Single {
            target: t.unwrap_or_else(|| database.clone()),
        },
        _ => RestoreMode::All {
            exclude: Vec::new(),
        },
    };
    let position = match (position_table, position_file) {
        (Some(t), _) => Some(position_table_of(&t)?),
        (None, Some(f)) => Some(PositionRecord::File(f)),
        (None, None) => None,
    };
    let source_tcp_port = source_host.is_some().then_some(source.connection.port);
    let replica = as_replica.then(|| ReplicaSetup {
        host: replication_host.or(source_host),
        // Over a socket the port given (or defaulted) is not the server's: asked of it.
        port: replication_port.or(source_tcp_port),
        user: replication_user,
        password: env.replication_pwd.clone().map(Secret::new),
        start: start_replica,
    });
    let target = RestoreConfig {
        connection: target_connection,
        file: PathBuf::from("the copy stream"),
        passphrase: None,
        mode,
        ticket,
        threads: source.threads,
        drop_target,
        allow_other_databases,
        confirm_drop: None,
        grants: GrantsSource::Skip,
        grants_to_target: false,
        dry_run,
        continue_on_error: false,
        strict,
        // A replica's seed is not its own transactions: in its binary log under its own
        // server id they would clash with the source's GTIDs (gtid_strict_mode).
        skip_binlog: skip_binlog || as_replica,
        verify: false,
        max_statement_size: None,
        tables: Default::default(),
        // A stream can't be read again: a copy that stops is copied again (--drop-target),
        // so it keeps no journal to resume from.
        journal: false,
        resume: false,
        // The stream has no metadata: the source's sizes tell the large tables
        // (`copy::preflight`).
        keys_after_rows: keys_after_rows.0,
    };
    Ok((
        CopyConfig {
            source,
            target,
            position,
            replica,
        },
        pending,
    ))
}

/// `--position-table DB.TABLE`: both parts, each bare or in backquotes (`` `my.db`.t ``).
fn position_table_of(text: &str) -> Result<PositionRecord, Error> {
    /// One name and the rest after it.
    fn name(s: &str) -> Option<(String, &str)> {
        let Some(quoted) = s.strip_prefix('`') else {
            let end = s.find('.').unwrap_or(s.len());
            return Some((s[..end].to_owned(), &s[end..]));
        };
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '`' {
                out.push(c);
                continue;
            }
            if quoted[i + 1..].starts_with('`') {
                out.push('`');
                chars.next();
                continue;
            }
            return Some((out, &quoted[i + 1..]));
        }
        None
    }
    let parts = name(text).and_then(|(db, rest)| {
        let (table, rest) = name(rest.strip_prefix('.')?)?;
        rest.is_empty().then_some((db, table))
    });
    match parts {
        Some((database, table)) if !database.is_empty() && !table.is_empty() => {
            Ok(PositionRecord::Table { database, table })
        }
        _ => Err(Error::Usage(format!(
            "--position-table {text}: name it as DB.TABLE (the database must exist on the target)"
        ))),
    }
}

/// The backup mode a copy mode selects with, its flags, and `single`'s `--target-db`.
struct ModeOf {
    make: Box<dyn FnOnce(BackupArgs) -> BackupModeArgs>,
}

impl ModeOf {
    fn with(self, common: BackupArgs) -> BackupModeArgs {
        (self.make)(common)
    }
}

fn split(mode: CopyModeArgs) -> Result<(ModeOf, CopyArgs, Option<String>), Error> {
    let of = |make: Box<dyn FnOnce(BackupArgs) -> BackupModeArgs>| ModeOf { make };
    Ok(match mode {
        CopyModeArgs::All { common } => (
            of(Box::new(|common| BackupModeArgs::All { common })),
            common,
            None,
        ),
        CopyModeArgs::Filter {
            db,
            db_file,
            common,
        } => (
            of(Box::new(move |common| BackupModeArgs::Filter {
                db,
                db_file,
                mode: Some(FilterMode::SingleFile),
                common,
            })),
            common,
            None,
        ),
        CopyModeArgs::Single {
            database,
            target_db,
            common,
        } => {
            if let Some(t) = &target_db
                && t.trim().is_empty()
            {
                return Err(Error::Usage("--target-db is empty".into()));
            }
            (
                of(Box::new(move |common| BackupModeArgs::Single {
                    database,
                    common,
                })),
                common,
                target_db,
            )
        }
        CopyModeArgs::Primary {
            client_code,
            include_dmart,
            common,
        } => (
            of(Box::new(move |common| BackupModeArgs::Primary {
                client_code,
                include_dmart,
                common,
            })),
            common,
            None,
        ),
        CopyModeArgs::Secondary {
            client_code,
            instance,
            include_dmart,
            common,
        } => (
            of(Box::new(move |common| BackupModeArgs::Secondary {
                client_code,
                instance,
                include_dmart,
                common,
            })),
            common,
            None,
        ),
    })
}

/// Runs the copy (or its dry run). SIGINT or SIGTERM stop both sides, saying what the target
/// holds.
pub fn run(mut config: CopyConfig, pending: Pending, style: Style) -> Result<(), Error> {
    let runtime = runtime()?;
    let source_tunnel = open_tunnel(&mut config.source.connection, &runtime)?;
    let target_tunnel = open_tunnel(&mut config.target.connection, &runtime)?;
    config.source = prompt::complete(config.source, pending, &runtime)?;
    if let (sfdbtools::config::run::BackupMode::Single { database }, RestoreMode::Single { target }) =
        (&config.source.mode, &mut config.target.mode)
        && target.is_empty()
    {
        target.clone_from(database);
    }
    log::set_ticket(&config.target.ticket);
    let reporter = Arc::new(Reporter::for_copy(style));
    if config.target.drop_target && !config.target.dry_run && prompt::can_confirm() {
        let r = reporter.clone();
        config.target.confirm_drop = Some(ConfirmDrop(Arc::new(move |db, objects| {
            r.asking(|| prompt::confirm_drop(db, objects))
        })));
    }
    let progress: Arc<dyn Progress> = reporter.clone();
    if config.target.dry_run {
        let plan = runtime.block_on(copy::preflight(&config, progress.as_ref()));
        return match plan {
            Ok(plan) => {
                print_dry_run(&config, &plan);
                Ok(())
            }
            Err(e) => Err(through_tunnel(
                &target_tunnel,
                through_tunnel(&source_tunnel, e),
            )),
        };
    }
    let outcome = until_interrupted(
        &runtime,
        copy::run(&config, progress),
        "stopping the copy on both sides",
    );
    match outcome {
        Some(Ok(done)) => {
            summary(&done, &reporter);
            Ok(())
        }
        Some(Err(e)) => {
            reporter.failed();
            Err(through_tunnel(
                &target_tunnel,
                through_tunnel(&source_tunnel, e),
            ))
        }
        None => {
            let what = match &config.target.mode {
                RestoreMode::Single { target } => format!(
                    "database {} on the target may hold part of the copy: drop it",
                    ident(target)
                ),
                _ => "the target's copied databases may hold part of the copy: drop them".into(),
            };
            std::process::exit(log::finish(Err(Error::Interrupted(format!(
                "{what}, or copy again with --drop-target"
            )))));
        }
    }
}

fn print_dry_run(config: &CopyConfig, plan: &CopyPlan) {
    println!("dry run: nothing was read or changed");
    println!("source: {}", plan.source_server);
    println!("target: {}", plan.target_server);
    for d in &plan.databases {
        let size = plan
            .source
            .databases
            .iter()
            .find(|s| s.0 == d.source)
            .map(|s| format!("{} table(s), ~{} rows, ~{}", s.1, s.2, human_size(s.3)))
            .unwrap_or_default();
        let state = match d.objects_on_target {
            None => "new on the target".to_owned(),
            Some(0) => "exists on the target, empty".to_owned(),
            Some(n) => format!("REPLACED on the target ({n} object(s) dropped, --drop-target)"),
        };
        let name = match d.source == d.target {
            true => ident(&d.source),
            false => format!("{} as {}", ident(&d.source), ident(&d.target)),
        };
        println!("  {name}: {size}; {state}");
    }
    if config.source.export_grants {
        println!("accounts: those of the copied databases, created where missing");
    }
    if config.target.skip_binlog {
        println!("the target's binary log: off for the copy");
    }
    if let Some(r) = &config.replica {
        println!(
            "after the copy: replica statements {} (from the snapshot's GTID)",
            if r.start {
                "run on the target"
            } else {
                "printed"
            }
        );
    }
}

fn summary(done: &CopyReport, reporter: &Reporter) {
    report::copy_summary(done, reporter);
    if !done.replica_statements.is_empty() {
        let header = match done.replica_started {
            true => "the target now replicates from the source; it ran:",
            false => "to make the target a replica of the source, run on the target:",
        };
        println!("{header}");
        for s in &done.replica_statements {
            println!("  {s};");
        }
        if done
            .replica_statements
            .iter()
            .any(|s| s.contains("replicate_wild_do_table"))
        {
            // MariaDB applies table filters to tables only: routine and event DDL of every
            // database reaches the replica, and fails there on a database it lacks.
            println!(
                "note: the replica applies the copied databases' tables only; a procedure, \
                 function or event created or dropped on the source in another database stops \
                 it (SHOW SLAVE STATUS: Last_SQL_Errno 1049 or 1305); skip that event with \
                 SET GLOBAL sql_slave_skip_counter = 1; START SLAVE"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::args::{Cli, Command};
    use super::super::inputs::tests::{config as settings, env};
    use super::*;

    /// `sfdbtools -q db-copy ARGS` with an empty config file and `env`.
    fn copy(args: &[&str], env: &Env) -> Result<CopyConfig, Error> {
        let argv = ["sfdbtools", "-q", "db-copy"].iter().chain(args);
        let Command::DbCopy { mut mode } = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        let common = match &mut mode {
            CopyModeArgs::All { common }
            | CopyModeArgs::Filter { common, .. }
            | CopyModeArgs::Single { common, .. }
            | CopyModeArgs::Primary { common, .. }
            | CopyModeArgs::Secondary { common, .. } => common,
        };
        // clap also reads the profile variables: none here, whatever the test run's.
        common.profile.profile = None;
        common.profile.profile_key = None;
        common.target.target_profile = None;
        common.target.target_profile_key = None;
        config(mode, true, &settings(""), env).map(|(c, _)| c)
    }

    fn with_passwords(
        source: Option<&str>,
        target: Option<&str>,
        replication: Option<&str>,
    ) -> Env {
        let mut e = env(None, source);
        e.target_pwd = target.map(str::to_owned);
        e.replication_pwd = replication.map(str::to_owned);
        e
    }

    #[test]
    fn each_side_has_its_own_connection_and_password() {
        let c = copy(
            &[
                "single",
                "--database",
                "shop",
                "--host",
                "src",
                "--port",
                "3307",
                "-u",
                "a",
                "--target-host",
                "dst",
                "--target-port",
                "3308",
                "--target-user",
                "b",
            ],
            &with_passwords(Some("srcpw"), Some("dstpw"), None),
        )
        .unwrap();
        let (s, t) = (&c.source.connection, &c.target.connection);
        assert_eq!(
            (s.host.as_str(), s.port, s.user.as_str()),
            ("src", 3307, "a")
        );
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("dst", 3308, "b")
        );
        assert_eq!(s.password.as_ref().map(|p| p.expose()), Some("srcpw"));
        assert_eq!(t.password.as_ref().map(|p| p.expose()), Some("dstpw"));
        // Without SFDB_TARGET_PASSWORD the target takes MYSQL_PWD, as the source does.
        let c = copy(
            &["single", "--database", "shop", "--target-host", "dst"],
            &with_passwords(Some("both"), None, None),
        )
        .unwrap();
        assert_eq!(
            c.target.connection.password.as_ref().map(|p| p.expose()),
            Some("both")
        );
    }

    #[test]
    fn single_copies_under_its_name_or_target_db_and_the_others_under_their_own() {
        let e = with_passwords(None, None, None);
        let c = copy(&["single", "--database", "shop"], &e).unwrap();
        assert!(matches!(&c.target.mode, RestoreMode::Single { target } if target == "shop"));
        let c = copy(
            &["single", "--database", "shop", "--target-db", "shop_test"],
            &e,
        )
        .unwrap();
        assert!(matches!(&c.target.mode, RestoreMode::Single { target } if target == "shop_test"));
        let c = copy(&["filter", "--db", "a", "--db", "b"], &e).unwrap();
        assert!(matches!(&c.target.mode, RestoreMode::All { exclude } if exclude.is_empty()));
        assert!(
            c.source.combined(),
            "a copy of several databases is one combined stream"
        );
        // Nothing of a backup's files: no codec, no key, no metadata, no accounts file.
        assert_eq!(c.source.codec, Codec::None);
        assert!(c.source.passphrase.is_none() && !c.source.save_metadata);
        assert!(!c.source.export_grants && c.source.engine == Engine::Native);
        // Nor a journal: a stream can't be read again to resume.
        assert!(!c.target.journal && !c.target.resume);
        let c = copy(&["all", "--grants"], &e).unwrap();
        assert!(c.source.export_grants);
    }

    #[test]
    fn as_replica_loads_outside_the_binary_log_and_takes_its_password_from_the_environment() {
        let c = copy(
            &[
                "single",
                "--database",
                "shop",
                "--host",
                "db1",
                "--port",
                "3310",
                "--as-replica",
                "--replication-user",
                "repl",
            ],
            &with_passwords(None, None, Some("replpw")),
        )
        .unwrap();
        assert!(c.target.skip_binlog);
        let r = c.replica.unwrap();
        assert_eq!(r.host.as_deref(), Some("db1"));
        assert_eq!(r.port, Some(3310));
        assert_eq!(r.user.as_deref(), Some("repl"));
        assert_eq!(r.password.as_ref().map(|p| p.expose()), Some("replpw"));
        assert!(!r.start);
        // Over a socket the source has no host the target could reach (a placeholder), and
        // the port is the one the server reports, not the default of the flag.
        let c = copy(
            &[
                "single",
                "--database",
                "shop",
                "--socket",
                "/run/x.sock",
                "--as-replica",
            ],
            &with_passwords(None, None, None),
        )
        .unwrap();
        let r = c.replica.unwrap();
        assert_eq!(r.host, None);
        assert_eq!(r.port, None);
        assert!(
            !copy(
                &["single", "--database", "shop"],
                &with_passwords(None, None, None)
            )
            .unwrap()
            .target
            .skip_binlog
        );
    }

    #[test]
    fn replica_flags_need_as_replica() {
        for flag in [&["--start-replica"][..], &["--replication-user", "r"]] {
            let argv = ["sfdbtools", "db-copy", "single", "--database", "x"]
                .iter()
                .chain(flag);
            assert!(Cli::try_parse_from(argv).is_err(), "{flag:?}");
        }
    }

    #[test]
    fn the_position_table_is_db_dot_table_with_backquotes_allowed() {
        let t = |s: &str| match position_table_of(s) {
            Ok(PositionRecord::Table { database, table }) => Some((database, table)),
            _ => None,
        };
        assert_eq!(t("ops.copies"), Some(("ops".into(), "copies".into())));
        assert_eq!(t("`my.db`.`t``x`"), Some(("my.db".into(), "t`x".into())));
        for bad in ["ops", "ops.", ".t", "a.b.c", "`a.b", "`a`b.c"] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }
}
