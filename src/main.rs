//! The `sfdbtools` binary: parse arguments, read the config file and the environment, run one
//! command (each in its module under `cli/`), map errors to exit codes.

// Every line for stderr goes through the run's log (`cli::log`): with `--log-format json` it
// becomes a JSON object, and the log file gets it whatever the terminal shows. The terminal may
// go away while a run works (`sfdbtools … 2>&1 | head`, a log shipper that dies): std's print
// macros panic when a write fails (EPIPE), which ended a backup with exit 101 and its temporary
// files on disk. A message that cannot be shown is dropped instead; the run's outcome is its
// exit code and its files. Declared before the modules so that they all use these.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        $crate::cli::log::message(&format!($($arg)*));
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

mod cli;

use clap::Parser;
use sfdbtools::Error;
use sfdbtools::config::file::{self, Settings};

use cli::args::profile::ProfileAction;
use cli::args::{
    BackupModeArgs, CleanupArgs, Cli, Command, CryptoArgs, ListArgs, LogFormat, LogLevel,
    RestoreModeArgs, VerifyArgs,
};
use cli::inputs::Env;
use cli::report::Style;
use cli::{backup, cleanup, crypto, list, log, profile, restore, verify};

/// Rows arrive as one allocation per cell and are freed on another thread (the serialiser):
/// glibc malloc spent a third of the client's time on that; mimalloc handles it cheaply.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    log::begin(&args);
    forbid_core_dumps();
    cli::signals::install();
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        log::panicked(&message, &at);
    }));
    // A panic of this thread still ends with the `finished` event (exit 101, as Rust's own).
    let code = match std::panic::catch_unwind(|| run(args)) {
        Ok(Ok(())) => log::finish(Ok(())),
        Ok(Err(Failure::Run(e))) => log::finish(Err(e)),
        Ok(Err(Failure::Clap(e))) => log::usage(e),
        Err(_) => log::finish(Err(Error::Internal("the run panicked".into()))).max(101),
    };
    std::process::exit(code);
}

/// How `run` ends when it fails: clap's own errors (and its help) are shown its way.
enum Failure {
    Clap(clap::Error),
    Run(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Run(e)
    }
}

/// Core dumps off, before anything reads a secret: a crash (or a `kill -QUIT`, or `gcore`)
/// would otherwise write the passwords, passphrases and derived keys this process holds to a
/// file anyone with access to the dump directory can read. Non-dumpable also keeps other
/// processes of the same user from attaching with ptrace or reading `/proc/<pid>/mem`. A
/// kernel that refuses (not Linux, a seccomp filter) costs that protection, not the run.
fn forbid_core_dumps() {
    use rustix::process::{DumpableBehavior, set_dumpable_behavior};
    if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        eprintln!(
            "sfdbtools: warning: cannot turn core dumps off for this process ({e}); a crash \
             could write the secrets it holds to a core file: check the core dump settings \
             (ulimit -c, kernel.core_pattern) of this host"
        );
    }
}

/// Parses the arguments, reads the config file and the environment, sets up the log, and runs
/// the command.
fn run(args: Vec<std::ffi::OsString>) -> Result<(), Failure> {
    cli::args::refuse_short_help_with_arguments(&args)?;
    let cli = Cli::try_parse_from(args).map_err(Failure::Clap)?;
    let settings = if cli.command.reads_config() {
        file::load_default()?
    } else {
        Settings::default()
    };
    let level = cli
        .log_level
        .or_else(|| settings.log_level.as_deref().and_then(LogLevel::parse))
        .unwrap_or(LogLevel::Info);
    log::configure(
        cli.command.name(),
        level,
        cli.log_file.as_deref().or(settings.log_file.as_deref()),
    )?;
    let (quiet, json) = (cli.quiet, cli.log_format == LogFormat::Json);
    // Once per run, here and nowhere else; not with `-q`: a key the file has that this version
    // does not know is the same every night, and cron mails whatever a job writes.
    if !quiet {
        for warning in &settings.warnings {
            eprintln!("sfdbtools: warning: {warning}");
        }
    }
    let env = Env::read();
    Ok(match cli.command {
        Command::DbBackup { mode } => db_backup(mode, quiet, json, &settings, &env),
        Command::DbRestore { mode } => db_restore(mode, quiet, json, &settings, &env),
        Command::DbCopy { mode } => {
            let (config, pending) = cli::copy::config(mode, quiet, &settings, &env)?;
            cli::copy::run(config, pending, Style::choose(quiet, json))
        }
        Command::Verify(args) => verify(args, quiet, json, &settings, &env),
        Command::Cleanup(args) => cleanup(args, quiet, &settings),
        Command::List(args) => list(args, quiet, json, &settings),
        Command::Crypto { action } => crypto(action, quiet, &env),
        Command::Profile { action } => profile(action, quiet, &settings, &env),
        Command::Completions { shell } => {
            use std::io::Write as _;
            // A closed pipe (`… | head`) is not an error of the command.
            let _ = std::io::stdout().write_all(&cli::docs::completions(shell));
            Ok(())
        }
        Command::ManPages { dir } => {
            for page in cli::docs::man_pages(&dir)? {
                println!("{}", page.display());
            }
            Ok(())
        }
    }?)
}

fn db_backup(
    mode: BackupModeArgs,
    quiet: bool,
    json: bool,
    settings: &Settings,
    env: &Env,
) -> Result<(), Error> {
    let (config, pending) = backup::config(mode, quiet, settings, env)?;
    backup::run(config, pending, Style::choose(quiet, json))
}

fn db_restore(
    mode: RestoreModeArgs,
    quiet: bool,
    json: bool,
    settings: &Settings,
    env: &Env,
) -> Result<(), Error> {
    let config = restore::config(mode, quiet, settings, env)?;
    restore::run(config, Style::choose(quiet, json))
}

fn verify(
    args: VerifyArgs,
    quiet: bool,
    json: bool,
    settings: &Settings,
    env: &Env,
) -> Result<(), Error> {
    let config = verify::config(args, quiet, settings, env)?;
    verify::run(config, Style::choose(quiet, json))
}

fn cleanup(args: CleanupArgs, quiet: bool, settings: &Settings) -> Result<(), Error> {
    cleanup::run(cleanup::config(args, settings)?, quiet)
}

fn list(args: ListArgs, quiet: bool, json: bool, settings: &Settings) -> Result<(), Error> {
    list::run(list::config(args, settings)?, Style::choose(quiet, json))
}

fn crypto(action: CryptoArgs, quiet: bool, env: &Env) -> Result<(), Error> {
    crypto::run(crypto::task(action, quiet, env)?)
}

fn profile(
    action: ProfileAction,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<(), Error> {
    profile::run(profile::task(action, quiet, settings, env)?, quiet)
}
