//! `db-restore`: its arguments, config-file keys and environment turned into one
//! [`RestoreConfig`], and the run with its answer on the terminal.

use std::sync::Arc;

use sfdbtools::Error;
use sfdbtools::config::{ConfirmDrop, GrantsSource, RestoreConfig, RestoreMode};
use sfdbtools::progress::Progress;
use sfdbtools::restore;
use sfdbtools::settings::Settings;
use sfdbtools::sql::ident::ident;

use super::args::RestoreModeArgs;
use super::inputs::{Env, connection, reading_passphrase, thread_count};
use super::prompt;
use super::report::{self, Reporter, Style};
use super::runtime::{interrupted, runtime};

/// Runs the restore (or its dry run), asking before `--drop-target` drops a database when
/// someone can answer; statements that failed under `--continue-on-error` fail the run at the
/// end. SIGINT or SIGTERM stop it, saying what the targets hold.
pub fn run(mut config: RestoreConfig, style: Style) -> Result<(), Error> {
    let runtime = runtime()?;
    let reporter = Arc::new(Reporter::new(style));
    if config.drop_target && !config.dry_run && prompt::can_confirm() {
        let r = reporter.clone();
        config.confirm_drop = Some(ConfirmDrop(Arc::new(move |db, objects| {
            r.asking(|| prompt::confirm_drop(db, objects))
        })));
    }
    let progress: Arc<dyn Progress> = reporter.clone();
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = restore::run(&config, progress) => Some(r),
            signal = interrupted() => {
                eprintln!("sfdbtools: {signal}: stopping the restore");
                None
            }
        }
    });
    match outcome {
        Some(Ok(report)) if config.dry_run => {
            report::restore_dry_run(&report);
            Ok(())
        }
        Some(Ok(report)) => {
            report::restore_summary(&report, &reporter);
            match report.failures() {
                0 => Ok(()),
                n => Err(Error::Restore {
                    source: Box::new(Error::StatementsFailed(n)),
                    state: format!(
                        "restored with gaps: {}",
                        report
                            .databases()
                            .iter()
                            .map(|d| ident(d))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            }
        }
        Some(Err(e)) => {
            reporter.error(&e.to_string());
            Err(e)
        }
        None => {
            eprintln!(
                "sfdbtools: error: interrupted: {}",
                restore::targets_note(&config)
            );
            std::process::exit(130);
        }
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
        connection: connection(a.connection, a.profile, quiet, settings, env)?,
        file: a.input.file,
        passphrase: reading_passphrase(a.input.backup_key, settings, env),
        mode,
        ticket,
        drop_target: a.drop_target,
        // Set by `run`, which owns the terminal.
        confirm_drop: None,
        grants,
        grants_to_target,
        dry_run: a.dry_run,
        continue_on_error: a.continue_on_error,
        strict: a.strict,
        skip_binlog: a.skip_binlog,
    })
}
