//! `db-restore`: its arguments, config-file keys and environment turned into one
//! [`RestoreConfig`], and the run with its answer on the terminal.

use std::sync::Arc;

use sfdbtools::Error;
use sfdbtools::config::file::Settings;
use sfdbtools::config::run::{ConfirmDrop, GrantsSource, RestoreConfig, RestoreMode};
use sfdbtools::metadata::human_size;
use sfdbtools::progress::Progress;
use sfdbtools::quote::ident;
use sfdbtools::restore::{self, RestoreReport};
use sfdbtools::select::{TableFilter, TablePattern};

use super::args::{RestoreModeArgs, RestoreTablesArgs};
use super::inputs::{Env, connection, file_passphrase, thread_count};
use super::log;
use super::prompt;
use super::report::{self, Reporter, Style};
use super::runtime::{open_tunnel, runtime, through_tunnel, until_interrupted};

/// Runs the restore (or its dry run), asking before `--drop-target` drops a database when
/// someone can answer; statements that failed under `--continue-on-error` fail the run at the
/// end. SIGINT or SIGTERM stop it, saying what the targets hold.
pub fn run(mut config: RestoreConfig, style: Style) -> Result<(), Error> {
    let runtime = runtime()?;
    log::set_ticket(&config.ticket);
    let tunnel = open_tunnel(&mut config.connection, &runtime)?;
    let reporter = Arc::new(Reporter::new(style));
    if config.drop_target && !config.dry_run && prompt::can_confirm() {
        let r = reporter.clone();
        config.confirm_drop = Some(ConfirmDrop(Arc::new(move |db, objects| {
            r.asking(|| prompt::confirm_drop(db, objects))
        })));
    }
    let progress: Arc<dyn Progress> = reporter.clone();
    let outcome = until_interrupted(
        &runtime,
        restore::run(&config, progress),
        "stopping the restore",
    );
    match outcome {
        Some(Ok(report)) if config.dry_run => {
            print_dry_run(&report);
            Ok(())
        }
        Some(Ok(report)) => {
            report::restore_summary(&report, &reporter);
            match report.failures() {
                0 => Ok(()),
                n => Err(Error::Restore {
                    source: Box::new(Error::StatementsFailed(n)),
                    state: format!(
                        "restored with gaps: {}{}",
                        report
                            .databases()
                            .iter()
                            .map(|d| ident(d))
                            .collect::<Vec<_>>()
                            .join(", "),
                        match report.journal {
                            Some(id) => format!(
                                "; once their cause is fixed, the same command with --resume \
                                 runs again only what did not commit (restore \
                                 {id} of the journal {})",
                                ident(restore::journal::DATABASE)
                            ),
                            None => String::new(),
                        }
                    ),
                }),
            }
        }
        Some(Err(e)) => {
            let e = through_tunnel(&tunnel, e);
            reporter.failed();
            Err(e)
        }
        None => {
            std::process::exit(log::finish(Err(Error::Interrupted(restore::targets_note(
                &config,
            )))));
        }
    }
}

/// `db-restore --dry-run`: the plan on stdout.
fn print_dry_run(report: &RestoreReport) {
    println!("dry run: nothing was changed");
    for f in &report.dry_run {
        let s = &f.survey;
        println!(
            "{}: {} statements, {} of SQL{}",
            f.path.display(),
            s.statements,
            human_size(s.sql_bytes),
            if s.completed_marker {
                ""
            } else {
                " (no \"-- Dump completed\" footer)"
            }
        );
        println!(
            "  {:<40} {:>7} {:>12} {:>9}",
            "database in the file", "tables", "data stmts", "objects"
        );
        for (db, tables, data, post) in &s.databases {
            println!(
                "  {:<40} {tables:>7} {data:>12} {post:>9}",
                db.as_deref().unwrap_or("(unnamed: the single database)")
            );
        }
        if !s.selected.is_empty() {
            let restored: Vec<String> = s
                .selected
                .iter()
                .filter(|t| t.restored)
                .map(|t| t.display())
                .collect();
            println!("  {}", report::selection_line(&s.selected));
            println!(
                "  would restore: {}",
                if restored.is_empty() {
                    "(nothing)".to_owned()
                } else {
                    restored.join(", ")
                }
            );
        }
        for (target, objects) in &f.targets {
            match objects {
                None => println!("  target {target}: does not exist, would be created"),
                Some(0) => println!("  target {target}: exists and is empty"),
                Some(n) => println!(
                    "  target {target}: exists with {n} table(s)/routine(s): refused unless --drop-target"
                ),
            }
        }
    }
    if let Some(a) = &report.accounts {
        println!(
            "{}",
            report::accounts_lines(a, true, &format!("accounts file {}", a.path.display()))
        );
    }
}

/// The restore to run, from its arguments, the config file and the environment; prompting
/// only when interactive.
pub fn config(
    mode: RestoreModeArgs,
    quiet: bool,
    settings: &Settings,
    env: &Env,
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
        RestoreModeArgs::Secondary {
            client_code,
            instance,
            skip_dmart,
            grants_to_target,
            common,
        } => {
            let ask = |given: Option<String>, what: &str, flag: &str| match given {
                Some(v) if !v.trim().is_empty() => Ok(v),
                _ => prompt::text_or_fail(quiet, what, flag, None),
            };
            let client = ask(client_code, "client code", "--client-code CODE")?;
            let instance = ask(instance, "instance", "--instance NAME")?;
            // Into the secondary's name, as `primary` restores into a given --target-db.
            (
                RestoreMode::Primary {
                    target: Some(secondary_name(&client, &instance)?),
                    companion: !skip_dmart,
                },
                grants_to_target,
                common,
            )
        }
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
    // Before the connection: a file that cannot be read without a key says so first.
    a.input.s3.configure_for(&a.input.file)?;
    let passphrase = file_passphrase(a.input.backup_key, &a.input.file, quiet, settings, env)?;
    Ok(RestoreConfig {
        threads: thread_count(a.threads)?,
        connection: connection(a.connection, a.profile, quiet, settings, env)?,
        file: a.input.file,
        passphrase,
        mode,
        ticket,
        drop_target: a.drop_target,
        allow_other_databases: a.allow_other_databases,
        // Set by `run`, which owns the terminal.
        confirm_drop: None,
        grants,
        grants_to_target,
        dry_run: a.dry_run,
        continue_on_error: a.continue_on_error,
        strict: a.strict,
        skip_binlog: a.skip_binlog,
        verify: !a.no_verify,
        max_statement_size: a.max_statement_size,
        tables: table_filter(a.tables)?,
        journal: !a.no_journal,
        resume: a.resume,
        keys_after_rows: a.keys_after_rows.0,
    })
}

/// The secondary `db-restore secondary` restores into, as the old tool named it:
/// `dbsf_nbc_<client>_secondary_<instance>`, the client code also taken as the whole primary
/// name when it starts with `dbsf_nbc_`. Only letters, digits, `_` and `-`, at most 64
/// characters (the server's limit, whose refusal would come after the file was read): a typo
/// must not create an odd database.
fn secondary_name(client: &str, instance: &str) -> Result<String, Error> {
    let (client, instance) = (client.trim(), instance.trim());
    let primary = if client.to_ascii_lowercase().starts_with("dbsf_nbc_") {
        client.to_owned()
    } else {
        format!("dbsf_nbc_{client}")
    };
    let name = format!("{primary}_secondary_{instance}");
    let fine = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !fine(client) || !fine(instance) || name.len() > 64 {
        return Err(Error::Usage(format!(
            "--client-code {client:?} and --instance {instance:?} make the secondary {name:?}: \
             use letters, digits, _ and - only, at most 64 characters in all"
        )));
    }
    Ok(name)
}

/// `--tables`, `--tables-file`, `--ignore-table`, `--ignore-table-data` as one filter; a
/// pattern that does not parse is a usage error naming its flag (or file and line).
fn table_filter(a: RestoreTablesArgs) -> Result<TableFilter, Error> {
    let each = |flag: &str, list: &[String]| -> Result<Vec<TablePattern>, Error> {
        list.iter()
            .map(|p| {
                TablePattern::parse(p.trim()).map_err(|e| Error::Usage(format!("{flag}: {e}")))
            })
            .collect()
    };
    Ok(TableFilter {
        tables: super::selection::tables(&a.tables, a.tables_file.as_deref())?,
        ignore: each("--ignore-table", &a.ignore_table)?,
        ignore_data: each("--ignore-table-data", &a.ignore_table_data)?,
        wheres: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    //! Flags > config file > environment > defaults for a restore, without a terminal (`-q`).

    use std::path::PathBuf;

    use clap::Parser;

    use super::super::args::{Cli, Command, RestoreArgs, TargetProfileArgs};
    use super::super::inputs::tests::{config as settings, env, is_key};
    use super::*;

    /// `sfdbtools -q db-restore ARGS -f dump.sql` with the config file `yaml` and `env`.
    fn restore(args: &[&str], yaml: &str, env: &Env) -> Result<RestoreConfig, Error> {
        let argv = ["sfdbtools", "-q", "db-restore"]
            .iter()
            .chain(args)
            .chain(&["-f", "dump.sql"]);
        let Command::DbRestore { mut mode } = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        let common: &mut RestoreArgs = match &mut mode {
            RestoreModeArgs::Single { common, .. }
            | RestoreModeArgs::All { common, .. }
            | RestoreModeArgs::Primary { common, .. }
            | RestoreModeArgs::Secondary { common, .. } => common,
        };
        // clap also reads SFDB_TARGET_PROFILE[_KEY]: none here, whatever the test run's.
        common.profile = TargetProfileArgs {
            profile: None,
            profile_key: None,
        };
        config(mode, true, &settings(yaml), env)
    }

    fn ok(args: &[&str]) -> RestoreConfig {
        restore(args, "", &env(None, None)).unwrap()
    }

    #[test]
    fn max_statement_size_takes_the_size_suffixes_in_every_mode() {
        for mode in [&["single", "--target-db", "x"][..], &["all"], &["primary"]] {
            let mut args = mode.to_vec();
            args.extend(["-t", "T", "--max-statement-size", "64M"]);
            assert_eq!(ok(&args).max_statement_size, Some(64 << 20), "{mode:?}");
        }
        let argv = [
            "sfdbtools",
            "db-restore",
            "all",
            "-f",
            "d.sql",
            "--max-statement-size",
        ];
        let e = Cli::try_parse_from(argv.iter().chain(&["12"])).unwrap_err();
        assert!(e.to_string().contains("too small"), "{e}");
    }

    #[test]
    fn without_flags_a_restore_has_its_defaults() {
        let c = ok(&["single", "--target-db", "shop", "-t", "T"]);
        assert_eq!(
            c.mode,
            RestoreMode::Single {
                target: "shop".into()
            }
        );
        assert_eq!(
            (c.ticket.as_str(), c.file),
            ("T", PathBuf::from("dump.sql"))
        );
        assert_eq!(c.grants, GrantsSource::Skip);
        assert!(c.passphrase.is_none() && c.confirm_drop.is_none());
        assert!(!c.drop_target && !c.grants_to_target && !c.dry_run);
        assert!(!c.continue_on_error && !c.strict && !c.skip_binlog);
        assert_eq!(
            c.max_statement_size, None,
            "the server's max_allowed_packet decides"
        );
        assert!((1..=8).contains(&c.threads));
        assert_eq!(
            (c.connection.host.as_str(), c.connection.port),
            ("127.0.0.1", 3306)
        );
    }

    #[test]
    fn the_file_key_is_the_flag_then_the_config_then_the_environment() {
        let keyed = "backup:\n  encryption: {key: from-config}\n";
        let ambient = env(Some("from-env"), None);
        let key = |args: &[&str], yaml: &str| {
            let argv: Vec<&str> = ["all", "-t", "T"].iter().chain(args).copied().collect();
            restore(&argv, yaml, &ambient).unwrap().passphrase
        };
        assert!(is_key(&key(&["-K", "flag"], keyed).unwrap(), "flag"));
        assert!(is_key(&key(&[], keyed).unwrap(), "from-config"));
        assert!(is_key(&key(&[], "").unwrap(), "from-env"));
    }

    #[test]
    fn flags_reach_the_config() {
        let c = ok(&[
            "primary",
            "--target-db",
            "shop",
            "--skip-dmart",
            "--grants",
            "--grants-to-target",
            "-t",
            "T",
            "-j",
            "2",
            "--drop-target",
            "--continue-on-error",
            "--strict",
            "--skip-binlog",
            "--host",
            "db1",
        ]);
        assert_eq!(
            c.mode,
            RestoreMode::Primary {
                target: Some("shop".into()),
                companion: false
            }
        );
        assert_eq!(
            (c.grants, c.grants_to_target),
            (GrantsSource::Sibling, true)
        );
        assert_eq!(c.threads, 2);
        assert!(c.drop_target && c.continue_on_error && c.strict && c.skip_binlog);
        assert_eq!(c.connection.host, "db1");
        let c = ok(&[
            "all",
            "--exclude-db",
            "a",
            "--grants-file",
            "u.sql",
            "-t",
            "T",
        ]);
        assert_eq!(
            c.mode,
            RestoreMode::All {
                exclude: vec!["a".into()]
            }
        );
        assert_eq!(c.grants, GrantsSource::File("u.sql".into()));
    }

    #[test]
    fn what_cannot_be_asked_with_q_is_a_usage_error() {
        let fails = |args: &[&str]| {
            let e = restore(args, "", &env(None, None)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
            e.to_string()
        };
        assert_eq!(
            fails(&["single", "-t", "T"]),
            "missing target database: pass --target-db NAME (running non-interactively, \
             nothing is prompted)"
        );
        assert!(fails(&["all"]).starts_with("missing ticket: pass -t/--ticket TICKET"));
        assert!(fails(&["all", "-t", "T", "-j", "0"]).starts_with("-j/--threads"));
        assert!(
            fails(&[
                "single",
                "--target-db",
                "x",
                "-t",
                "T",
                "--grants-to-target"
            ])
            .starts_with("--grants-to-target re-points the grants")
        );
        // A dry run changes nothing, so it needs no ticket; primary's target may stay unset.
        let c = ok(&["primary", "-d"]);
        assert_eq!(c.ticket, "");
        assert!(c.dry_run);
        assert_eq!(
            c.mode,
            RestoreMode::Primary {
                target: None,
                companion: true
            }
        );
    }

    #[test]
    fn secondary_restores_into_the_secondary_s_name_with_its_companion() {
        let c = ok(&[
            "secondary",
            "--client-code",
            "acme",
            "--instance",
            "training",
            "-t",
            "T",
        ]);
        assert_eq!(
            c.mode,
            RestoreMode::Primary {
                target: Some("dbsf_nbc_acme_secondary_training".into()),
                companion: true
            }
        );
        let c = ok(&[
            "secondary",
            "--client-code",
            "DBSF_NBC_acme",
            "--instance",
            "2",
            "--skip-dmart",
            "-t",
            "T",
        ]);
        assert_eq!(
            c.mode,
            RestoreMode::Primary {
                target: Some("DBSF_NBC_acme_secondary_2".into()),
                companion: false
            }
        );
        let fails = |args: &[&str]| {
            let mut argv = vec!["secondary", "-t", "T"];
            argv.extend(args);
            let e = restore(&argv, "", &env(None, None)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
            e.to_string()
        };
        assert!(fails(&["--instance", "1"]).starts_with("missing client code: pass --client-code"));
        assert!(fails(&["--client-code", "a"]).starts_with("missing instance: pass --instance"));
        for bad in [["a b", "1"], ["a", "x;drop"], ["a", &"i".repeat(60)]] {
            let e = fails(&["--client-code", bad[0], "--instance", bad[1]]);
            assert!(e.contains("letters, digits, _ and -"), "{e}");
        }
    }

    /// `--tables` (comma lists, repeatable), `--tables-file`, `--ignore-table`,
    /// `--ignore-table-data` in every mode; a pattern that does not parse is a usage error
    /// naming its flag, or its file and line.
    #[test]
    fn table_flags_reach_the_filter() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("tables.txt");
        std::fs::write(&list, "# chosen\n\nshop.log_*\r\n  crm.`a,b`  \n").unwrap();
        let list = list.to_str().unwrap();
        let texts = |v: &[TablePattern]| v.iter().map(|p| p.text().to_owned()).collect::<Vec<_>>();
        for mode in [&["single", "--target-db", "x"][..], &["all"], &["primary"]] {
            let mut args = mode.to_vec();
            args.extend([
                "-t",
                "T",
                "--tables",
                "shop.orders, shop.items",
                "--tables",
                "crm.t",
                "--tables-file",
                list,
                "--ignore-table",
                "shop.tmp*",
                "--ignore-table-data",
                "shop.log_1",
            ]);
            let f = ok(&args).tables;
            assert_eq!(
                texts(&f.tables),
                [
                    "shop.orders",
                    "shop.items",
                    "crm.t",
                    "shop.log_*",
                    "crm.`a,b`"
                ],
                "{mode:?}"
            );
            assert_eq!(texts(&f.ignore), ["shop.tmp*"]);
            assert_eq!(texts(&f.ignore_data), ["shop.log_1"]);
            assert!(f.wheres.is_empty());
        }
        assert!(ok(&["all", "-t", "T"]).tables.is_empty());

        let fails = |args: &[&str]| {
            let mut all = vec!["all", "-t", "T"];
            all.extend(args);
            let e = restore(&all, "", &env(None, None)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
            e.to_string()
        };
        let e = fails(&["--tables", "shop.a,orders"]);
        assert!(
            e.starts_with("--tables: \"orders\": give the database too"),
            "{e}"
        );
        assert!(fails(&["--tables", " "]).contains("names no table"));
        assert!(fails(&["--ignore-table", "a.b.c"]).starts_with("--ignore-table: "));
        assert!(fails(&["--ignore-table-data", "x"]).starts_with("--ignore-table-data: "));
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "shop.a\norders\n").unwrap();
        let e = fails(&["--tables-file", bad.to_str().unwrap()]);
        assert!(e.contains("bad.txt line 2: \"orders\""), "{e}");
        std::fs::write(&bad, "# nothing\n\n").unwrap();
        assert!(fails(&["--tables-file", bad.to_str().unwrap()]).contains("lists no table"));
        let missing = dir.path().join("missing.txt");
        assert!(
            fails(&["--tables-file", missing.to_str().unwrap()])
                .starts_with("--tables-file: cannot read")
        );
    }

    /// Failed statements under `--continue-on-error` are a count, not a stop, with the words
    /// and the exit code they always had.
    #[test]
    fn failed_statements_fail_the_restore_with_exit_1() {
        let e = Error::Restore {
            source: Box::new(Error::StatementsFailed(3)),
            state: "restored with gaps: `shop`".into(),
        };
        assert_eq!(
            e.to_string(),
            "3 statement(s) failed (--continue-on-error); restored with gaps: `shop`"
        );
        assert_eq!(e.exit_code(), 1);
    }
}
