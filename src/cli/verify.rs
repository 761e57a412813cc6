//! `verify`: its arguments turned into one [`VerifyConfig`], and the check with its answer on
//! stdout; a file that fails is an error (exit 1).

use sfdbtools::Error;
use sfdbtools::config::VerifyConfig;
use sfdbtools::settings::Settings;
use sfdbtools::verify;

use super::args::VerifyArgs;
use super::inputs::{Env, connection, reading_passphrase};
use super::report::{self, Reporter, Style};
use super::runtime::runtime;

/// What to verify, and against which database when `--against` is given.
pub fn config(
    v: VerifyArgs,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<VerifyConfig, Error> {
    let against = match v.against {
        Some(db) if !db.trim().is_empty() => Some((
            connection(v.connection, v.profile, quiet, settings, env)?,
            db,
        )),
        Some(_) => return Err(Error::Usage("--against needs a database name".into())),
        None => None,
    };
    Ok(VerifyConfig {
        file: v.input.file,
        passphrase: reading_passphrase(v.input.backup_key, settings, env),
        against,
    })
}

/// Reads the whole file (and, with `--against`, the live tables) and prints every check.
pub fn run(config: VerifyConfig, style: Style) -> Result<(), Error> {
    let reporter = Reporter::new(style);
    let report = match &config.against {
        None => verify::verify_file(&config.file, config.passphrase.as_ref(), &reporter)?,
        Some((settings, db)) => runtime()?.block_on(verify::verify_against(
            &config.file,
            settings,
            db,
            &reporter,
        ))?,
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
