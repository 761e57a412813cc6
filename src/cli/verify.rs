//! `verify`: its arguments turned into one [`VerifyConfig`], and the check with its answer on
//! stdout; a file that fails is an error (exit 1).

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use sfdbtools::Error;
use sfdbtools::config::file::Settings;
use sfdbtools::config::run::VerifyConfig;
use sfdbtools::progress::{Event, Progress};
use sfdbtools::quote::comment_safe;
use sfdbtools::verify::{self, VerifyReport};

use super::args::VerifyArgs;
use super::inputs::{Env, connection, file_passphrase};
use super::report::{Reporter, Style};
use super::runtime::{open_tunnel, runtime, through_tunnel};

/// What to verify, and against which database when `--against` is given.
pub fn config(
    v: VerifyArgs,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<VerifyConfig, Error> {
    v.input.s3.configure_for(&v.input.file)?;
    let passphrase = file_passphrase(v.input.backup_key, &v.input.file, quiet, settings, env)?;
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
        passphrase,
        against,
        max_statement_size: v.max_statement_size,
    })
}

/// Reads the whole file (and, with `--against`, the live tables) and prints every check.
pub fn run(config: VerifyConfig, style: Style) -> Result<(), Error> {
    let reporter = Arc::new(Reporter::new(style));
    let report = match &config.against {
        None => verify::verify_file(
            &config.file,
            config.passphrase.as_ref(),
            config.max_statement_size,
            reporter.as_ref(),
        )?,
        Some((settings, db)) => {
            let runtime = runtime()?;
            let mut settings = settings.clone();
            let tunnel = open_tunnel(&mut settings, &runtime)?;
            runtime
                .block_on(verify::verify_against(
                    &config.file,
                    config.passphrase.as_ref(),
                    &settings,
                    db,
                    reporter.clone(),
                ))
                .map_err(|e| through_tunnel(&tunnel, e))?
        }
    };
    reporter.clear();
    print_report(&report);
    // A record of a verify that came to a verdict, passed or failed: what `list` shows.
    let record = match verify::record::write(&report) {
        Ok(path) => path,
        Err(e) => {
            reporter.event(&Event::Warning(&format!(
                "{e}: the verdict stands, but `list` will not show it; fix the directory's \
                 permissions and verify again"
            )));
            None
        }
    };
    // For the log (the file gets them whatever the terminal shows; stderr with JSON).
    verdict_events(&reporter, &report, record.as_deref());
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

/// For the log: one `check` event per check, one `table_check` per table compared, then the
/// `verdict`, whose fields the `finished` event repeats (the answer on stdout stays the same).
fn verdict_events(reporter: &Reporter, report: &VerifyReport, record: Option<&Path>) {
    for c in &report.checks {
        reporter.json(json!({
            "event": "check", "name": c.what, "passed": c.ok, "detail": c.detail,
        }));
    }
    for t in &report.tables {
        let (expected, actual) = (t.recorded.as_ref(), t.found.as_ref());
        reporter.json(json!({
            "event": "table_check", "database": t.database, "table": t.table,
            "condition": t.condition, "passed": t.ok(), "verdict": t.verdict(),
            "expected_rows": expected.map(|e| e.0), "actual_rows": actual.map(|a| a.0),
            "rows_match": expected.zip(actual).is_some_and(|(e, a)| e.0 == a.0),
            "expected_checksum": expected.map(|e| &e.1),
            "actual_checksum": actual.map(|a| &a.1),
            "checksum_match": expected.zip(actual).is_some_and(|(e, a)| e.1 == a.1),
        }));
    }
    let verdict = json!({
        "event": "verdict", "file": report.file, "against": report.against,
        "passed": report.ok(), "sha256": report.sha256,
        "checks": report.checks.len(),
        "checks_failed": report.checks.iter().filter(|c| !c.ok).count(),
        "tables": report.tables.len(),
        "tables_failed": report.tables.iter().filter(|t| !t.ok()).count(),
        "record": record,
    });
    let mut summary = verdict.clone();
    if let Some(fields) = summary.as_object_mut() {
        fields.remove("event");
    }
    super::log::result(json!({ "verdict": summary }));
    reporter.json(verdict);
}

/// `verify`: every check and, when there are any, the per-table comparison, on stdout.
fn print_report(report: &VerifyReport) {
    match &report.against {
        Some(db) => println!("{} against database {db}:", report.file.display()),
        None => println!("{}:", report.file.display()),
    }
    for c in &report.checks {
        println!(
            "  {:<12} {:<4} {}",
            c.what,
            if c.ok { "ok" } else { "FAIL" },
            c.detail
        );
    }
    if !report.tables.is_empty() {
        println!(
            "  {:<40} {:>12} {:>12}  {:<20} checksum (backup)",
            "table", "rows (backup)", "rows (found)", "verdict"
        );
        for t in &report.tables {
            let rows = |v: &Option<(u64, String)>| {
                v.as_ref().map(|(r, _)| r.to_string()).unwrap_or("-".into())
            };
            // Names may hold anything, line breaks included: shown quoted and escaped.
            println!(
                "  {:<40} {:>12} {:>12}  {:<20} {}",
                format!("{}.{}", comment_safe(&t.database), comment_safe(&t.table)),
                rows(&t.recorded),
                rows(&t.found),
                t.verdict(),
                t.recorded.as_ref().map(|(_, c)| c.as_str()).unwrap_or("-")
            );
            if let Some(c) = &t.condition {
                // The dump holds only these rows, and only these were compared.
                println!("    rows where {} (--where)", c.replace(['\n', '\r'], " "));
            }
        }
    }
    println!(
        "{}",
        if report.ok() {
            "verified: ok"
        } else {
            "verification FAILED"
        }
    );
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::super::args::{Cli, Command, TargetProfileArgs};
    use super::super::inputs::tests::{env, is_key};
    use super::*;

    fn verify(args: &[&str], env: &Env) -> Result<VerifyConfig, Error> {
        let argv = ["sfdbtools", "-q", "verify", "-f", "dump.sql"]
            .iter()
            .chain(args);
        let Command::Verify(mut v) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        // clap also reads SFDB_TARGET_PROFILE[_KEY]: none here, whatever the test run's.
        v.profile = TargetProfileArgs {
            profile: None,
            profile_key: None,
        };
        config(v, true, &Settings::default(), env)
    }

    #[test]
    fn against_takes_a_database_and_the_key_follows_the_file_rule() {
        let c = verify(&["--against", "shop", "-P", "3307"], &env(Some("k"), None)).unwrap();
        let (conn, db) = c.against.unwrap();
        assert_eq!((conn.port, db.as_str()), (3307, "shop"));
        assert!(is_key(c.passphrase.as_ref().unwrap(), "k"));
        let c = verify(&["-K", "flag"], &env(Some("k"), None)).unwrap();
        assert!(c.against.is_none());
        assert!(is_key(c.passphrase.as_ref().unwrap(), "flag"));
        assert_eq!(c.max_statement_size, 1 << 30);
        let c = verify(&["--max-statement-size", "64m"], &env(None, None)).unwrap();
        assert_eq!(c.max_statement_size, 64 << 20);
        let e = verify(&["--against", " "], &env(None, None)).unwrap_err();
        assert_eq!(e.to_string(), "--against needs a database name");
        assert_eq!(e.exit_code(), 2);
    }
}
