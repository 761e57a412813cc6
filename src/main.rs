//! The `sfdbtools` binary: parse arguments, build the config, run, map errors to exit codes.

mod cli;
mod report;

use clap::Parser;

/// Rows arrive as one allocation per cell and are freed on another thread (the serialiser):
/// glibc malloc spent a third of the client's time on that; mimalloc handles it cheaply.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = cli::Cli::parse();
    let quiet = cli.quiet;
    let code = match run(cli, quiet) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sfdbtools: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn run(cli: cli::Cli, quiet: bool) -> Result<(), sfdbtools::Error> {
    let config = cli.backup_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| sfdbtools::Error::Internal(format!("cannot start the runtime: {e}")))?;
    let progress = std::sync::Arc::new(report::Lines::new(quiet));
    let report = runtime.block_on(sfdbtools::dump::run(&config, progress))?;
    report::summary(&report, quiet);
    Ok(())
}
