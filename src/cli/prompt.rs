//! Questions on the terminal, for interactive runs only (stdin a terminal, no `-q`): missing
//! values, databases picked from the server's list, and a last review of the run with the
//! choice to start it, change an option, or cancel; and whether `--drop-target` may drop a
//! database (whenever stdin is a terminal). The library never asks anything itself: it calls
//! the question it is given. Passphrases and passwords are read here too, without echo.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use sfdbtools::Error;
use sfdbtools::compress::{Codec, Level};
use sfdbtools::config::run::{BackupConfig, BackupMode, Engine};
use sfdbtools::dump::plan::DryRun;
use sfdbtools::dump::{self, naming};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::error::ConnectError;
use sfdbtools::metadata::human_size;
use sfdbtools::progress::Silent;
use sfdbtools::secret::Secret;
use sfdbtools::select;

/// A line of a question, a menu or an answer to a wrong answer: for the person at the
/// terminal, never a log line (the log has what was decided, not the dialogue). A closed
/// terminal is not this run's failure.
macro_rules! tell {
    ($($arg:tt)*) => {{
        let _ = writeln!(screen(), $($arg)*);
    }};
}

/// Where questions and the review are shown: stderr, unless it is redirected (`2>run.log`)
/// while the operator answers on the terminal: then the terminal itself, or the questions
/// would go to the file and the run would seem to hang waiting for an answer.
fn screen() -> Box<dyn Write> {
    if !std::io::stderr().is_terminal()
        && std::io::stdin().is_terminal()
        && let Ok(tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty")
    {
        return Box::new(tty);
    }
    Box::new(std::io::stderr())
}

/// [`tell!`] for the other modules' questions (a key asked again).
pub fn tell(line: &str) {
    tell!("{line}");
}

/// Questions of an interactive backup that need the server's database list (see [`complete`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// stdin is a terminal and `-q` was not given: the run is reviewed before it starts.
    pub interactive: bool,
    /// `single` without `--database`: pick it from the server's list.
    pub database: bool,
    /// `filter` without `--db`/`--db-file`: pick them from the server's list.
    pub databases: bool,
}

/// True when questions may be asked: no `-q`, and stdin is a terminal.
pub fn interactive(quiet: bool) -> bool {
    !quiet && std::io::stdin().is_terminal()
}

/// True when the terminal is there to answer whether a database may be dropped: stdin is a
/// terminal (with `-q` too: dropping is the one question that is never skipped when someone
/// can answer it).
pub fn can_confirm() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks before `--drop-target` drops `database`; only "y" or "yes" drops it (end of input
/// or any other answer keeps it).
pub fn confirm_drop(database: &str, objects: u64) -> bool {
    let question = format!(
        "--drop-target: database {} exists and holds {objects} table(s), view(s) and \
         routine(s). Drop it and load into it? [y/N]: ",
        sfdbtools::quote::ident(database)
    );
    ask(&question).is_ok_and(|a| matches!(a.to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// The usage error of a value that cannot be asked for.
pub fn missing(what: &str, flag: &str) -> Error {
    Error::Usage(format!(
        "missing {what}: pass {flag} (running non-interactively, nothing is prompted)"
    ))
}

/// Asks on the terminal, or fails naming the flag when `-q` or not interactive.
pub fn text_or_fail(
    quiet: bool,
    what: &str,
    flag: &str,
    default: Option<&str>,
) -> Result<String, Error> {
    if !interactive(quiet) {
        return Err(missing(what, flag));
    }
    let answer = match default {
        Some(d) => ask(&format!("{what} [{d}]: "))?,
        None => ask(&format!("{what}: "))?,
    };
    match (answer.is_empty(), default) {
        (false, _) => Ok(answer),
        (true, Some(d)) => Ok(d.to_owned()),
        (true, None) => Err(Error::Usage(format!("missing {what}"))),
    }
}

/// Asks for one of `options` (by number or name, any case; empty: the first) until the answer
/// is one of them, or fails naming `flag` when `-q` or not interactive. Returns its index.
pub fn choose(quiet: bool, what: &str, flag: &str, options: &[&str]) -> Result<usize, Error> {
    if !interactive(quiet) {
        return Err(missing(what, flag));
    }
    let listed: Vec<String> = options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{}) {o}", i + 1))
        .collect();
    let question = format!("{what}: {} [1]: ", listed.join("  "));
    let named: Vec<String> = options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{} ({o})", i + 1))
        .collect();
    loop {
        let answer = ask(&question)?;
        match choice_of(&answer, options) {
            Some(i) => return Ok(i),
            None => tell!("{answer:?} is not a {what}: answer {}", named.join(" or ")),
        }
    }
}

/// The option `answer` names: its number (1-based) or its name in any case; empty is the
/// first.
fn choice_of(answer: &str, options: &[&str]) -> Option<usize> {
    if answer.is_empty() {
        return Some(0);
    }
    if let Ok(n) = answer.parse::<usize>() {
        return (1..=options.len()).contains(&n).then(|| n - 1);
    }
    options.iter().position(|o| o.eq_ignore_ascii_case(answer))
}

/// A prompt's name inside a sentence: its first letter in lower case, the rest (a path the
/// prompt names) as it is.
fn in_a_sentence(what: &str) -> String {
    let mut chars = what.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A passphrase typed at the terminal ([`secret`]); an empty one is refused at once.
pub fn key(quiet: bool, what: &str, missing: &str, confirm: bool) -> Result<Passphrase, Error> {
    let key = secret(quiet, what, missing, confirm)?;
    if key.expose().trim().is_empty() {
        return Err(Error::Usage(format!(
            "the {} is empty",
            in_a_sentence(what)
        )));
    }
    Ok(Passphrase::new(key))
}

/// Reads a secret on the terminal without echo (twice when `confirm`, again when the two
/// differ), or fails with `missing` when `-q` or not interactive.
pub fn secret(quiet: bool, what: &str, missing: &str, confirm: bool) -> Result<Secret, Error> {
    if !interactive(quiet) {
        return Err(Error::Usage(format!(
            "{missing} (running non-interactively, nothing is prompted)"
        )));
    }
    let read = |prompt: &str| {
        super::hidden::read(prompt)
            .map_err(|e| Error::Usage(format!("cannot read the {}: {e}", in_a_sentence(what))))
    };
    // Entries that differ are typed again (a typo, not a decision), up to three times: the
    // answers given before the secret (a new profile's host and user) are not lost.
    for attempt in 1..=SECRET_TRIES {
        let first = read(&format!("{what}: "))?;
        if !confirm || read(&format!("{what} again: "))? == first {
            return Ok(first);
        }
        if attempt < SECRET_TRIES {
            tell!(
                "sfdbtools: the two entries of the {} differ; type it again",
                in_a_sentence(what)
            );
        }
    }
    Err(Error::Usage(format!(
        "the two entries of the {} differed {SECRET_TRIES} times; nothing was changed",
        in_a_sentence(what)
    )))
}

/// How many times a secret typed twice may differ from its repetition.
const SECRET_TRIES: u32 = 3;

/// One trimmed line from stdin after showing `question` on stderr; end of input is an error.
fn ask(question: &str) -> Result<String, Error> {
    let mut screen = screen();
    let _ = write!(screen, "{question}");
    let _ = screen.flush();
    let mut line = String::new();
    let n = std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Usage(format!("cannot read the answer: {e}")))?;
    if n == 0 {
        return Err(Error::Usage(
            "no answer (end of input): nothing was done".into(),
        ));
    }
    Ok(line.trim().to_owned())
}

/// Completes an interactive backup: picks what is missing from the server's list, then shows
/// the run and lets the operator start, change or cancel it. A dry run is not reviewed. The
/// run is given the time of the file names the review showed, so that it writes those files.
pub fn complete(
    mut cfg: BackupConfig,
    pending: Pending,
    runtime: &tokio::runtime::Runtime,
) -> Result<BackupConfig, Error> {
    let mut server: Option<Vec<String>> = None;
    if pending.database || pending.databases {
        pick_databases(&mut cfg, &mut server, runtime)?;
    }
    if !pending.interactive || cfg.dry_run {
        return Ok(cfg);
    }
    loop {
        let mut preview = cfg.clone();
        preview.dry_run = true;
        let names_at = cfg.names_at.unwrap_or_else(chrono::Local::now);
        preview.names_at = Some(names_at);
        let plan = runtime.block_on(dump::plan::dry_run(&preview, &Silent));
        show(&cfg, &plan);
        match ask("1) start the backup  2) change an option  3) cancel [1]: ")?
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "1" | "s" | "start" | "y" | "yes" => {
                cfg.names_at = Some(names_at);
                return Ok(cfg);
            }
            "2" | "c" | "change" => change(&mut cfg, &mut server, runtime)?,
            "3" | "q" | "cancel" | "n" | "no" => {
                return Err(Error::Cancelled(
                    "the backup was cancelled at the review; nothing was written".into(),
                ));
            }
            other => tell!("unknown choice {other:?}: answer 1, 2 or 3"),
        }
    }
}

/// Chooses the database of `single` or the databases of `filter` from the server's list.
fn pick_databases(
    cfg: &mut BackupConfig,
    server: &mut Option<Vec<String>>,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), Error> {
    if server.is_none() {
        *server = Some(runtime.block_on(dump::plan::server_databases(cfg))?);
    }
    let all = server.as_deref().unwrap_or_default();
    match &mut cfg.mode {
        BackupMode::Single { database } => {
            let offered = select::single_candidates(all);
            let chosen = pick(&offered, false)?;
            *database = chosen[0].clone();
        }
        BackupMode::Filter { databases, .. } => {
            let offered: Vec<String> = all
                .iter()
                .filter(|d| {
                    !sfdbtools::catalog::is_system_database(d)
                        && !sfdbtools::catalog::is_journal_database(d)
                })
                .cloned()
                .collect();
            *databases = pick(&offered, true)?;
        }
        _ => {}
    }
    Ok(())
}

/// Offers the saved profiles; None (the connection flags' defaults) when there are none or the
/// operator answers 0.
pub fn pick_profile(profiles: &[std::path::PathBuf]) -> Result<Option<std::path::PathBuf>, Error> {
    if profiles.is_empty() {
        return Ok(None);
    }
    tell!("connection profiles:");
    tell!("   0) none (--host/--port/--user defaults)");
    let names: Vec<String> = profiles
        .iter()
        .map(|p| sfdbtools::config::profile::name_of(p))
        .collect();
    for (i, name) in names.iter().enumerate() {
        tell!("{:>4}) {name}", i + 1);
    }
    loop {
        let answer = ask("profile (number or name) [0]: ")?;
        if answer.is_empty() || answer == "0" {
            return Ok(None);
        }
        match parse_choice(&answer, &names) {
            Ok(c) if c.len() == 1 => return Ok(Some(profiles[c[0]].clone())),
            Ok(_) => tell!("choose one profile"),
            Err(e) => tell!("{e}"),
        }
    }
}

/// Shows a numbered list and reads a choice until it is valid.
fn pick(offered: &[String], many: bool) -> Result<Vec<String>, Error> {
    if offered.is_empty() {
        return Err(Error::Usage(
            "the server has no database to choose from".into(),
        ));
    }
    for (i, db) in offered.iter().enumerate() {
        tell!("{:>4}) {db}", i + 1);
    }
    let question = if many {
        "databases (numbers or names, e.g. 1,3 5-7): "
    } else {
        "database (number or name): "
    };
    loop {
        match parse_choice(&ask(question)?, offered) {
            Ok(c) if !many && c.len() != 1 => tell!("choose exactly one database"),
            Ok(c) => return Ok(c.into_iter().map(|i| offered[i].clone()).collect()),
            Err(e) => tell!("{e}"),
        }
    }
}

/// `1,3 5-7 shop`: numbers (1-based), ranges and names (case-insensitive) of `offered`, in the
/// order given, without repeats.
pub fn parse_choice(answer: &str, offered: &[String]) -> Result<Vec<usize>, String> {
    let mut out: Vec<usize> = Vec::new();
    let mut push = |i: usize| {
        if !out.contains(&i) {
            out.push(i);
        }
    };
    let number = |s: &str| -> Result<usize, String> {
        match s.parse::<usize>() {
            Ok(n) if (1..=offered.len()).contains(&n) => Ok(n - 1),
            _ => Err(format!("{s} is not between 1 and {}", offered.len())),
        }
    };
    for part in answer.split([',', ' ']).filter(|p| !p.is_empty()) {
        if let Some(i) = offered.iter().position(|d| d.eq_ignore_ascii_case(part)) {
            push(i);
        } else if let Some((a, b)) = part.split_once('-')
            && a.chars().all(|c| c.is_ascii_digit())
            && b.chars().all(|c| c.is_ascii_digit())
            && !a.is_empty()
            && !b.is_empty()
        {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(format!("{part}: the range runs backwards"));
            }
            (a..=b).for_each(&mut push);
        } else if part.chars().all(|c| c.is_ascii_digit()) {
            push(number(part)?);
        } else {
            return Err(format!(
                "{part:?} is neither a number nor a database in the list"
            ));
        }
    }
    if out.is_empty() {
        return Err("nothing chosen".into());
    }
    Ok(out)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn mode_text(cfg: &BackupConfig) -> String {
    let mut s = cfg.mode.metadata_type().to_owned();
    if let Some(c) = &cfg.client_code {
        s.push_str(&format!(", client {c}"));
    }
    if let Some(i) = &cfg.instance {
        s.push_str(&format!(", instance {i}"));
    }
    if cfg.mode.is_package() && cfg.include_dmart {
        s.push_str(", with _dmart companions");
    }
    s
}

/// The review: the options, then what the run would back up and write.
fn show(cfg: &BackupConfig, plan: &Result<DryRun, Error>) {
    let mut out = String::from("\nbackup to run\n");
    let mut row = |k: &str, v: String| out.push_str(&format!("  {k:<14} {v}\n"));
    row("mode", mode_text(cfg));
    row("server", cfg.connection.describe());
    row("ticket", cfg.ticket.clone());
    row("directory", cfg.output_dir.display().to_string());
    row(
        "compression",
        match cfg.codec {
            Codec::None => "none".into(),
            c => format!("{} level {}", c.name(), cfg.level.get()),
        },
    );
    row("encryption", yes_no(cfg.passphrase.is_some()).into());
    row("threads", cfg.threads.to_string());
    row("schema only", yes_no(cfg.exclude_data).into());
    row("user grants", yes_no(cfg.export_grants).into());
    match plan {
        Ok(p) => {
            out.push_str(&format!("  on {} ({}):\n", p.hostname, p.server));
            for (db, tables, rows, bytes) in &p.databases {
                out.push_str(&format!(
                    "    {db:<40} {tables:>5} tables {rows:>12} rows ~{}\n",
                    human_size(*bytes)
                ));
            }
            if !p.data_skipped.is_empty() {
                let skipped: Vec<String> = p
                    .data_skipped
                    .iter()
                    .map(|t| format!("{}.{}", t.database, t.table))
                    .collect();
                out.push_str(&format!("  rows left out: {}\n", skipped.join(", ")));
            }
            if !p.databases_left_out.is_empty() {
                out.push_str(&format!(
                    "  left out by --tables: {}\n",
                    p.databases_left_out.join(", ")
                ));
            }
            for (db, taken, left_out) in &p.table_counts {
                out.push_str(&format!(
                    "  {db}: {taken} table(s) taken, {left_out} left out\n"
                ));
            }
            out.push_str("  files:\n");
            for f in p.files.iter().chain(&p.user_grants) {
                out.push_str(&format!("    {}\n", f.display()));
            }
        }
        Err(e) => {
            out.push_str(&format!("  cannot plan this run: {e}\n"));
            if matches!(
                e,
                Error::Connect {
                    source: ConnectError::Denied(_),
                    ..
                }
            ) {
                out.push_str("  (2, then \"password\", types the password again)\n");
            }
        }
    }
    let _ = write!(screen(), "{out}");
}

/// What "change an option" offers, by mode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Ticket,
    Directory,
    Compression,
    Level,
    SchemaOnly,
    FileName,
    Grants,
    Encryption,
    Threads,
    Databases,
    ClientCode,
    Instance,
    Companions,
    Password,
}

fn change(
    cfg: &mut BackupConfig,
    server: &mut Option<Vec<String>>,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), Error> {
    let mut fields = vec![
        (Field::Ticket, "ticket", cfg.ticket.clone()),
        (
            Field::Directory,
            "backup directory",
            cfg.output_dir.display().to_string(),
        ),
        (
            Field::Compression,
            "compression",
            cfg.codec.name().to_owned(),
        ),
        (
            Field::Level,
            "compression level",
            cfg.level.get().to_string(),
        ),
        (
            Field::SchemaOnly,
            "schema only",
            yes_no(cfg.exclude_data).into(),
        ),
        (
            Field::FileName,
            "file name",
            cfg.filename.clone().unwrap_or_else(|| "(generated)".into()),
        ),
        (
            Field::Grants,
            "user grants",
            yes_no(cfg.export_grants).into(),
        ),
        (
            Field::Encryption,
            "encryption",
            yes_no(cfg.passphrase.is_some()).into(),
        ),
    ];
    // mariadb-dump reads over one connection (`-j` above 1 is refused for it).
    if cfg.engine == Engine::Native {
        fields.push((Field::Threads, "threads", cfg.threads.to_string()));
    }
    match &cfg.mode {
        BackupMode::Single { database } => {
            fields.push((Field::Databases, "database", database.clone()))
        }
        BackupMode::Filter { databases, .. } => {
            fields.push((Field::Databases, "databases", databases.join(", ")))
        }
        BackupMode::Primary | BackupMode::Secondary => {
            let code = cfg.client_code.clone().unwrap_or_else(|| "(any)".into());
            fields.push((Field::ClientCode, "client code", code));
            if cfg.mode == BackupMode::Secondary {
                let inst = cfg.instance.clone().unwrap_or_else(|| "(any)".into());
                fields.push((Field::Instance, "instance", inst));
            }
            fields.push((
                Field::Companions,
                "_dmart companions",
                yes_no(cfg.include_dmart).into(),
            ));
        }
        BackupMode::All => {}
    }
    // Last, so that the other options keep their numbers: a password mistyped at its prompt
    // is typed again here instead of starting the command over.
    let password = match &cfg.connection.password {
        Some(p) if !p.is_empty() => "(given)",
        _ => "(none)",
    };
    fields.push((Field::Password, "password", password.into()));
    for (i, (_, label, value)) in fields.iter().enumerate() {
        tell!("{:>4}) {label:<18} {value}", i + 1);
    }
    let answer = ask("option to change (empty: none): ")?;
    if answer.is_empty() {
        return Ok(());
    }
    let Some((field, label, _)) = answer
        .parse::<usize>()
        .ok()
        .and_then(|n| fields.get(n.wrapping_sub(1)))
        .cloned()
    else {
        tell!("no option {answer:?}");
        return Ok(());
    };
    let value = || ask(&format!("new {label}: "));
    let outcome: Result<(), String> = match field {
        Field::Ticket => match value()? {
            t if t.is_empty() => Err("the ticket cannot be empty".into()),
            t => {
                cfg.ticket = t;
                Ok(())
            }
        },
        Field::Directory => {
            let d = value()?;
            if d.is_empty() {
                Err("the directory cannot be empty".into())
            } else {
                cfg.output_dir = PathBuf::from(d);
                Ok(())
            }
        }
        Field::Compression => value()?
            .parse::<Codec>()
            .map(|c| cfg.codec = c)
            .map_err(|e| e.to_string()),
        Field::Level => value()?
            .parse::<u8>()
            .map_err(|e| e.to_string())
            .and_then(|n| Level::new(n).map_err(|e| e.to_string()))
            .map(|l| cfg.level = l),
        Field::SchemaOnly => {
            cfg.exclude_data = !cfg.exclude_data;
            Ok(())
        }
        Field::Grants => {
            cfg.export_grants = !cfg.export_grants;
            Ok(())
        }
        Field::Companions => {
            cfg.include_dmart = !cfg.include_dmart;
            Ok(())
        }
        // Off drops the key; on asks for one (twice: a typo would make the backup
        // unreadable). The accounts file follows the dump's encryption.
        Field::Encryption => match cfg.passphrase.take() {
            Some(_) => Ok(()),
            None => key(false, "Backup encryption key", "no terminal", true)
                .map(|k| cfg.passphrase = Some(k))
                .map_err(|e| e.to_string()),
        },
        Field::Threads => match value()?.parse::<usize>() {
            Ok(n) if n >= 1 => {
                cfg.threads = n;
                Ok(())
            }
            _ => Err("threads is a whole number, at least 1".into()),
        },
        Field::FileName => {
            let f = value()?;
            if f.is_empty() {
                cfg.filename = None;
                Ok(())
            } else {
                naming::custom_file(&f, cfg.codec, cfg.passphrase.is_some())
                    .map(|_| cfg.filename = Some(f))
                    .map_err(|e| e.to_string())
            }
        }
        Field::ClientCode => {
            let c = value()?;
            cfg.client_code = (!c.is_empty()).then_some(c);
            Ok(())
        }
        Field::Instance => {
            let i = value()?;
            cfg.instance = (!i.is_empty()).then_some(i);
            Ok(())
        }
        Field::Databases => {
            pick_databases(cfg, server, runtime)?;
            Ok(())
        }
        Field::Password => {
            let what = format!("Password for {}", cfg.connection.describe());
            secret(false, &what, "no terminal", false)
                .map(|p| cfg.connection.password = (!p.is_empty()).then_some(p))
                .map_err(|e| e.to_string())
        }
    };
    if let Err(e) = outcome {
        // The key's own messages say it already.
        tell!(
            "not changed: {}",
            e.trim_end_matches("; nothing was changed")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_named_in_a_sentence_keeps_its_path() {
        assert_eq!(
            in_a_sentence("Profile key for /Home/Ops/P.cnf.enc"),
            "profile key for /Home/Ops/P.cnf.enc"
        );
        assert_eq!(in_a_sentence("Backup key"), "backup key");
        assert_eq!(in_a_sentence(""), "");
    }

    #[test]
    fn choices_take_numbers_ranges_and_names() {
        let offered: Vec<String> = ["a", "Shop", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(parse_choice("2", &offered).unwrap(), [1]);
        assert_eq!(parse_choice("shop", &offered).unwrap(), [1]);
        assert_eq!(parse_choice("1,3 4-5", &offered).unwrap(), [0, 2, 3, 4]);
        assert_eq!(parse_choice("3,3, 1-3", &offered).unwrap(), [2, 0, 1]);
        assert!(parse_choice("6", &offered).is_err());
        assert!(parse_choice("0", &offered).is_err());
        assert!(parse_choice("4-2", &offered).is_err());
        assert!(parse_choice("nope", &offered).is_err());
        assert!(parse_choice(" ", &offered).is_err());
    }

    #[test]
    fn a_choice_is_a_number_or_a_name_and_nothing_else() {
        let modes = ["single-file", "multi-file"];
        assert_eq!(choice_of("", &modes), Some(0));
        assert_eq!(choice_of("2", &modes), Some(1));
        assert_eq!(choice_of("Multi-File", &modes), Some(1));
        for wrong in ["3", "0", "multi", "multifile", "yes", "-1"] {
            assert_eq!(choice_of(wrong, &modes), None, "{wrong}");
        }
    }
}
