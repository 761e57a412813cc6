//! The `sfdbtools` binary: parse arguments, build the config, run, map errors to exit codes.

// The terminal may go away while a run works: `sfdbtools … 2>&1 | head`, a log shipper that
// dies. std's print macros panic when a write fails (EPIPE), which ended a backup with exit
// 101 and its temporary files on disk. A message that cannot be shown is dropped instead; the
// run's outcome is its exit code and its files. Declared before the modules so that they all
// use these.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! print {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;
mod profile_cmd;
mod prompt;
mod report;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use clap::Parser;
use sfdbtools::Error;
use sfdbtools::encrypt::{self, Passphrase};
use sfdbtools::output::file::AtomicFile;

/// Rows arrive as one allocation per cell and are freed on another thread (the serialiser):
/// glibc malloc spent a third of the client's time on that; mimalloc handles it cheaply.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(e) = cli::refuse_short_help_with_arguments(&args) {
        eprintln!("sfdbtools: error: {e}");
        std::process::exit(e.exit_code());
    }
    let cli = cli::Cli::parse_from(args);
    let quiet = cli.quiet;
    let json = cli.log_format == cli::LogFormat::Json;
    let code = match run(cli, quiet, json) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sfdbtools: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn run(cli: cli::Cli, quiet: bool, json: bool) -> Result<(), Error> {
    let settings = if cli.command.reads_config() {
        sfdbtools::settings::load_default()?
    } else {
        sfdbtools::settings::Settings::default()
    };
    for warning in &settings.warnings {
        eprintln!("sfdbtools: warning: {warning}");
    }
    match cli.task(&settings)? {
        cli::Task::Backup(config, pending) => {
            let runtime = runtime()?;
            let config = prompt::complete(*config, pending, &runtime)?;
            let reporter =
                std::sync::Arc::new(report::Reporter::new(report::Style::choose(quiet, json)));
            let progress: std::sync::Arc<dyn sfdbtools::progress::Progress> = reporter.clone();
            if config.dry_run {
                let plan =
                    runtime.block_on(sfdbtools::dump::plan::dry_run(&config, progress.as_ref()))?;
                report::dry_run(&plan);
                return Ok(());
            }
            let outcome = runtime.block_on(async {
                tokio::select! {
                    r = sfdbtools::dump::run(&config, progress) => Some(r),
                    signal = interrupted() => {
                        eprintln!("sfdbtools: {signal}: stopping, removing this run's files");
                        None
                    }
                }
            });
            match outcome {
                Some(Ok(report)) => {
                    report::summary(&report, &reporter);
                    Ok(())
                }
                Some(Err(e)) => {
                    reporter.error(&e.to_string());
                    Err(e)
                }
                None => {
                    // Exiting closes every connection, and the server drops their locks with
                    // them; waiting for the runtime's threads could only delay that.
                    sfdbtools::output::file::remove_files_of_this_run();
                    sfdbtools::dump::mysqldump::stop_children();
                    sfdbtools::dump::mysqldump::remove_option_files();
                    eprintln!(
                        "sfdbtools: error: interrupted: nothing was written under a final name"
                    );
                    std::process::exit(130);
                }
            }
        }
        cli::Task::Restore(mut config) => {
            let runtime = runtime()?;
            let reporter =
                std::sync::Arc::new(report::Reporter::new(report::Style::choose(quiet, json)));
            if config.drop_target && !config.dry_run && prompt::can_confirm() {
                let r = reporter.clone();
                config.confirm_drop = Some(sfdbtools::config::ConfirmDrop(std::sync::Arc::new(
                    move |db, objects| r.asking(|| prompt::confirm_drop(db, objects)),
                )));
            }
            let progress: std::sync::Arc<dyn sfdbtools::progress::Progress> = reporter.clone();
            let outcome = runtime.block_on(async {
                tokio::select! {
                    r = sfdbtools::restore::run(&config, progress) => Some(r),
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
                            source: Box::new(Error::Stopped(format!(
                                "{n} statement(s) failed (--continue-on-error)"
                            ))),
                            state: format!(
                                "restored with gaps: {}",
                                report
                                    .databases()
                                    .iter()
                                    .map(|d| sfdbtools::sql::ident::ident(d))
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
                        sfdbtools::restore::targets_note(&config)
                    );
                    std::process::exit(130);
                }
            }
        }
        cli::Task::Verify(config) => {
            let reporter = report::Reporter::new(report::Style::choose(quiet, json));
            let report =
                match &config.against {
                    None => sfdbtools::verify::verify_file(
                        &config.file,
                        config.passphrase.as_ref(),
                        &reporter,
                    )?,
                    Some((settings, db)) => runtime()?.block_on(
                        sfdbtools::verify::verify_against(&config.file, settings, db, &reporter),
                    )?,
                };
            report::verify_report(&report);
            if report.ok() {
                Ok(())
            } else {
                Err(Error::Verify(format!(
                    "{}: {}",
                    config.file.display(),
                    report.problems().join("; ")
                )))
            }
        }
        cli::Task::Cleanup {
            base,
            days,
            pattern,
            dry_run,
        } => {
            let scan = sfdbtools::cleanup::find_old(&base, days, pattern.as_deref())?;
            for warning in &scan.warnings {
                eprintln!("sfdbtools: warning: {warning}");
            }
            let sets = scan.sets;
            let verb = if dry_run { "would remove" } else { "removing" };
            for set in &sets {
                println!("{verb} {}", set.dump.display());
                for c in &set.companions {
                    println!("{verb} {}", c.display());
                }
            }
            if !dry_run {
                sfdbtools::cleanup::remove(&sets)?;
            }
            if !quiet {
                eprintln!("{} backup set(s) older than {days} day(s)", sets.len());
            }
            Ok(())
        }
        cli::Task::Profile(task) => profile_cmd::run(task, quiet),
        cli::Task::Encrypt { input, output, key } => crypt(&input, &output, &key, true),
        cli::Task::Decrypt { input, output, key } => crypt(&input, &output, &key, false),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))
}

/// Resolves on the first SIGINT or SIGTERM, naming it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without handlers the default action (exit) applies; never resolve.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// `crypto encrypt-file` / `decrypt-file`: the output appears only when complete and valid.
fn crypt(input: &Path, output: &Path, key: &Passphrase, encrypting: bool) -> Result<(), Error> {
    let source = File::open(input).map_err(|e| Error::file("opening", input, e))?;
    let target =
        AtomicFile::create(output, 0o600).map_err(|e| Error::file("creating", output, e))?;
    let reader = BufReader::with_capacity(1 << 20, source);
    let crypto_err = |e: encrypt::EncryptError| {
        let action = if encrypting {
            "encrypting"
        } else {
            "decrypting"
        };
        Error::file(action, input, std::io::Error::other(e))
    };
    let target = if encrypting {
        encrypt::encrypt_stream(reader, target, key)
            .map_err(crypto_err)?
            .0
    } else {
        let mut target = target;
        encrypt::decrypt_any(reader, &mut target, key).map_err(crypto_err)?;
        target
    };
    target
        .finish()
        .map_err(|e| Error::file("completing", output, e))?;
    Ok(())
}
