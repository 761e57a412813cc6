//! Restore: a dump file (ours, the old tool's, or plain mysqldump output; compressed and/or
//! encrypted or not, told from the bytes) back into a server, its data loaded over several
//! connections at once.
//!
//! `plan` works out which files go where; `checks` refuses early what the server would refuse;
//! `proof` is what each file must prove against its metadata as it is read;
//! `script` opens each file and runs the splitter (`read::split`, `read::classify`) on its own
//! thread; `apply` runs the statements: definitions in order on one connection, data over N
//! (`execute` runs one, `load_data` sends our rows as LOAD DATA), post-data objects after the
//! data; `tables` follows each table's data to tell when its load is over; `target` prepares
//! the databases written into; `survey` is `--dry-run`; `accounts` applies the grants file;
//! `journal` keeps on the target what was committed, so that `--resume` can go on with a
//! restore that stopped.

pub mod accounts;
pub mod apply;
mod checks;
mod execute;
pub mod journal;
mod keys;
pub mod load_data;
pub mod plan;
mod proof;
mod script;
pub mod select;
pub mod survey;
pub mod tables;
mod target;

pub use target::database_objects as target_objects;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::Conn;
use mysql_async::prelude::*;

use crate::config::run::{GrantsSource, RestoreConfig, RestoreMode};
use crate::connect::{self, Flavor};
use crate::error::{Error, Result};
use crate::progress::{Event, Progress};
use crate::quote::ident;
use crate::sql::value::string_literal as literal;
use accounts::{AccountsFile, AccountsReport};
use apply::{Applied, Applier, Options};
use journal::Journal;
use plan::{Placement, Plan};
use proof::Proof;
use script::{Item, Opened, Script, open_sql, start_script};
use survey::{DryRunFile, dry_run_file};

#[derive(Clone, Debug)]
pub struct FileReport {
    pub path: PathBuf,
    pub applied: Applied,
    pub elapsed: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct RestoreReport {
    pub ticket: String,
    pub files: Vec<FileReport>,
    pub grants: Option<FileReport>,
    /// The accounts created and left alone (also with `--dry-run`).
    pub accounts: Option<AccountsReport>,
    pub dry_run: Vec<DryRunFile>,
    /// The restore's id in the journal on the target (None: `--no-journal`, a dry run, or a
    /// journal that could not be written).
    pub journal: Option<u64>,
    /// `--resume`: what the resume went on with.
    pub resume: Option<ResumeReport>,
}

/// What `--resume` went on with: the stopped restore's id in the journal, and the
/// non-transactional tables it reloaded whole (db, table).
#[derive(Clone, Debug, Default)]
pub struct ResumeReport {
    pub journal: u64,
    pub reloaded: Vec<(String, String)>,
}

impl RestoreReport {
    /// The databases written to, in order.
    pub fn databases(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for f in &self.files {
            for d in &f.applied.databases {
                if !all.contains(d) {
                    all.push(d.clone());
                }
            }
        }
        all
    }

    /// Statements that failed under `--continue-on-error`.
    pub fn failures(&self) -> usize {
        self.files
            .iter()
            .chain(&self.grants)
            .map(|f| f.applied.failures.len())
            .sum()
    }
}

/// The target databases a configuration names, for messages (an interrupted run's), and how
/// to go on with it when it keeps a journal.
pub fn targets_note(cfg: &RestoreConfig) -> String {
    let note = targets_of(cfg);
    if cfg.journal && !cfg.dry_run {
        format!(
            "{note}; to go on where it stopped, run the same command with --resume (its journal \
             is the database {} on the target)",
            ident(journal::DATABASE)
        )
    } else {
        note
    }
}

fn targets_of(cfg: &RestoreConfig) -> String {
    match &cfg.mode {
        RestoreMode::Single { target } => {
            format!("database {} may be partially restored", ident(target))
        }
        RestoreMode::Primary {
            target: Some(t), ..
        } => format!(
            "databases {} and {} may be partially restored",
            ident(t),
            ident(&format!("{t}_dmart"))
        ),
        _ => "the databases of the file may be partially restored".into(),
    }
}

/// Runs a restore as configured.
pub async fn run(cfg: &RestoreConfig, progress: Arc<dyn Progress>) -> Result<RestoreReport> {
    let mut plan = plan::plan(cfg, progress.as_ref())?;
    let patterns_checked = select::check_metadata(cfg, &plan)?;
    // Only once the patterns are known good: a file left out unread could not show them its
    // tables.
    if patterns_checked {
        select::leave_out_files(&cfg.tables, &mut plan, progress.as_ref());
    }
    if let GrantsSource::File(p) = &cfg.grants
        && !crate::read::source::is_file(p)
    {
        return Err(Error::Usage(format!(
            "the grants file {} does not exist",
            p.display()
        )));
    }
    if !cfg.verify {
        progress.event(&Event::Warning(
            "--no-verify: the files' size and SHA-256 are not compared with their metadata, \
             and a dump cut short is restored as far as it goes",
        ));
    }
    let mut opened = Vec::with_capacity(plan.files.len());
    for f in &plan.files {
        let file = open_sql(&f.path, cfg.passphrase.as_ref(), proof_for(cfg, f)).await;
        opened.push(file.map_err(untouched)?);
    }
    let grants = match &plan.grants {
        Some(g) => Some(
            open_sql(g, cfg.passphrase.as_ref(), Proof::none())
                .await
                .map_err(untouched)?,
        ),
        None => None,
    };
    let (mut main, server) =
        connect::open_with(&cfg.connection, "restore", connect::restore_setup_sql).await?;
    if let Some(w) = cfg.connection.plaintext_warning() {
        progress.event(&Event::Warning(&w));
    }
    let result = run_plan(
        cfg,
        &plan,
        opened,
        grants,
        &mut main,
        server.flavor,
        progress,
        patterns_checked,
    )
    .await;
    let _ = main.disconnect().await;
    result
}

/// A failure before the restore wrote anything (opening a file, reading its start, the checks
/// and reads before the first write, the read that hashes a file for the journal): the
/// message says the target is as it was. A refusal (usage) says so itself.
fn untouched(e: Error) -> Error {
    match e {
        Error::Usage(_) => e,
        e => Error::Restore {
            source: Box::new(e),
            state: "nothing was restored: the target is as it was".into(),
        },
    }
}

/// The longest statement of a copy's accounts file: our own grants file, one account's
/// `CREATE USER` or `GRANT` per statement.
const ACCOUNTS_STATEMENT_LIMIT: usize = 16 << 20;

/// `db-copy`'s restore: the SQL `reader` delivers as the source's dump writes it, into the
/// target as one file placed by `placement`. `name` stands for the stream in messages.
pub async fn run_stream(
    cfg: &RestoreConfig,
    name: PathBuf,
    reader: Box<dyn std::io::Read + Send>,
    placement: Placement,
    stream: plan::Stream,
    progress: Arc<dyn Progress>,
) -> Result<RestoreReport> {
    let plan = Plan {
        files: vec![plan::FilePlan {
            path: name.clone(),
            placement,
            recorded: None,
            source: None,
            stream: Some(stream),
        }],
        grants: None,
    };
    let opened = vec![Opened::stream(name, reader)];
    let (mut main, server) =
        connect::open_with(&cfg.connection, "restore", connect::restore_setup_sql).await?;
    if let Some(w) = cfg.connection.plaintext_warning() {
        progress.event(&Event::Warning(&w));
    }
    let result = run_plan(
        cfg,
        &plan,
        opened,
        None,
        &mut main,
        server.flavor,
        progress,
        true,
    )
    .await;
    let _ = main.disconnect().await;
    result
}

/// `--skip-binlog` on a connection that writes outside the data connections (the main one,
/// `db-copy`'s position table): nothing it does after reaches the binary log.
pub(crate) async fn binlog_off(conn: &mut Conn) -> Result<()> {
    conn.query_drop("SET SESSION sql_log_bin = 0")
        .await
        .map_err(|e| Error::server("turning the binary log off (--skip-binlog)", e))
}

/// `db-copy --grants`: the source's accounts file (`sql`, read in the dump's run) applied to
/// the target as `db-restore --grants` applies one: missing accounts created, existing ones
/// left alone.
///
/// `renamed`: (source, target) databases copied under another name; their grants are made on
/// the target's name, as `--grants-to-target` does for a restore.
pub async fn copy_accounts(
    cfg: &RestoreConfig,
    name: PathBuf,
    sql: String,
    renamed: &[(String, String)],
    progress: &dyn Progress,
) -> Result<(FileReport, AccountsReport)> {
    let started = Instant::now();
    let (mut main, _) =
        connect::open_with(&cfg.connection, "accounts", connect::restore_setup_sql).await?;
    let result = async {
        let nbe = checks::server_no_backslash_escapes(&mut main).await?;
        let opened = Opened::in_memory(name.clone(), sql.into_bytes());
        let mut file = read_accounts(&name, opened, nbe, ACCOUNTS_STATEMENT_LIMIT).await?;
        let existing = accounts::existing(&mut main, &file).await?;
        let counts = file.repoint(renamed, &existing);
        let opts = Options {
            threads: 1,
            skip_binlog: cfg.skip_binlog,
            strict: cfg.strict,
            continue_on_error: false,
            allow_other_databases: false,
            confirm_drop: None,
            resumable: None,
            deferred_keys: HashMap::new(),
            stream: None,
            source: None,
        };
        let (applied, mut outcome) =
            accounts::apply(&mut main, &file, existing, opts, progress).await?;
        outcome.repointed = renamed
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|((s, t), n)| (s.clone(), t.clone(), n))
            .collect();
        Ok((
            FileReport {
                path: name.clone(),
                applied,
                elapsed: started.elapsed(),
            },
            outcome,
        ))
    }
    .await;
    let _ = main.disconnect().await;
    result
}

/// The rows the metadata of the plan's files record, when the restore takes all of each file
/// and every file's metadata has its tables' rows: the rows it will restore.
fn recorded_rows(cfg: &RestoreConfig, plan: &Plan) -> Option<u64> {
    let whole = cfg.tables.is_empty()
        && !matches!(&cfg.mode, RestoreMode::All { exclude } if !exclude.is_empty());
    if !whole {
        return None;
    }
    plan.files
        .iter()
        .map(|f| {
            let tables = f.recorded.as_ref()?.tables();
            (!tables.is_empty()).then(|| tables.iter().map(|t| t.rows).sum::<u64>())
        })
        .sum()
}

/// The tables of `f` whose plain secondary keys are built after their rows (see `keys`): on
/// MariaDB, those its metadata records with `from` bytes of rows or more
/// (`--keys-after-rows`), by target database, with their rows. A stream (`db-copy`) has no
/// metadata: the tables its source reports that large (`Stream::large_tables`), their rows
/// known only as the dump finishes each (`Stream::rows`).
fn deferred_keys(
    f: &plan::FilePlan,
    flavor: Flavor,
    from: Option<u64>,
) -> HashMap<String, HashMap<String, Option<u64>>> {
    let mut out: HashMap<String, HashMap<String, Option<u64>>> = HashMap::new();
    let Some(from) = from.filter(|_| flavor == Flavor::MariaDb) else {
        return out;
    };
    // A stream's row counts come as the dump finishes each table (`Stream::rows`).
    for (db, table) in f.stream.iter().flat_map(|s| &s.large_tables) {
        out.entry(db.clone())
            .or_default()
            .insert(table.clone(), None);
    }
    let Some(recorded) = f.recorded.as_ref() else {
        return out;
    };
    for t in recorded.tables() {
        if t.bytes < from {
            continue;
        }
        let db = match &f.placement {
            Placement::Single { target } => target.clone(),
            Placement::All { .. } => t.database.clone(),
        };
        out.entry(db)
            .or_default()
            .insert(t.table.clone(), Some(t.rows));
    }
    out
}

/// What a file of the plan must prove as it is read: everything its metadata records, unless
/// `--no-verify`.
fn proof_for(cfg: &RestoreConfig, f: &plan::FilePlan) -> Proof {
    match cfg.verify {
        true => Proof::of(&f.path, f.recorded.as_ref()),
        false => Proof::none(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_plan(
    cfg: &RestoreConfig,
    plan: &Plan,
    opened: Vec<Opened>,
    grants: Option<Opened>,
    main: &mut Conn,
    flavor: Flavor,
    progress: Arc<dyn Progress>,
    patterns_checked: bool,
) -> Result<RestoreReport> {
    let run = Run::of(plan);
    // Checks and reads that write nothing: a failure among them leaves the target as it was.
    let prelude = async {
        let max_statement = checks::check_packet_size(main, plan, cfg).await?;
        let nbe = checks::server_no_backslash_escapes(main).await?;
        // A file without metadata is read whole here on a server with a binary log (see the
        // function): one cut short fails before anything is written.
        checks::check_function_creators(main, cfg, plan, nbe, max_statement).await?;
        checks::prove_before_dropping(main, cfg, plan, nbe, max_statement, progress.as_ref())
            .await?;
        // The accounts file is read and checked whole before anything changes: a file it
        // refuses, or a server where the accounts cannot be told apart, stops the restore here.
        let accounts = match (&plan.grants, grants) {
            (Some(g), Some(opened)) => {
                let mut file = read_accounts(g, opened, nbe, max_statement).await?;
                let existing = accounts::existing(main, &file).await?;
                let repointed = retarget(cfg, plan, &mut file, &existing, progress.as_ref())?;
                Some((file, repointed, existing))
            }
            _ => None,
        };
        Ok::<_, Error>((max_statement, nbe, accounts))
    };
    let (max_statement, nbe, accounts) = prelude.await.map_err(untouched)?;
    let mut report = RestoreReport {
        ticket: cfg.ticket.clone(),
        ..Default::default()
    };
    // The journal: found (--resume, which refuses with nothing changed when it cannot go on)
    // or started; its writes follow the run's binary log setting, as the data does.
    let mut resumable = None;
    let mut journal = None;
    // Before the first write on this connection: the journal's, and the target databases'
    // DROP and CREATE DATABASE. Logged, those would reach the target's replicas, and a
    // `db-copy --as-replica` target would hold GTIDs of its own in the source's domain.
    if !cfg.dry_run && cfg.skip_binlog {
        binlog_off(main).await?;
    }
    if !cfg.dry_run && cfg.journal {
        let files = identify(cfg, plan, progress.as_ref())
            .await
            .map_err(untouched)?;
        let options = journal::describe(cfg, plan);
        if cfg.resume {
            let j = Journal::resume(
                main,
                &files,
                &options,
                &planned_targets(cfg, plan),
                cfg.threads,
                progress.as_ref(),
            )
            .await?;
            let reloaded: Vec<String> =
                j.reloaded.iter().map(|(d, t)| format!("{d}.{t}")).collect();
            progress.event(&Event::Resuming {
                journal: j.id,
                committed: j.committed(),
                reloaded: &reloaded,
            });
            report.resume = Some(ResumeReport {
                journal: j.id,
                reloaded: j.reloaded.clone(),
            });
            journal = Some(j);
        } else {
            resumable = Journal::resumable(main, &files, &options).await;
            journal = Journal::start(main, &files, &options, cfg.threads, progress.as_ref()).await;
        }
    }
    report.journal = journal.as_ref().map(|j| j.id);
    let opts = Options {
        threads: cfg.threads,
        skip_binlog: cfg.skip_binlog,
        strict: cfg.strict,
        continue_on_error: cfg.continue_on_error,
        allow_other_databases: cfg.allow_other_databases,
        confirm_drop: cfg.confirm_drop.clone(),
        resumable,
        deferred_keys: HashMap::new(),
        stream: None,
        source: None,
    };
    // Databases written so far, for the message when a later step fails, and those of them
    // this restore created.
    let mut touched: Vec<String> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    if !cfg.dry_run {
        progress.event(&Event::RestorePlanned {
            files: opened.len(),
            bytes: opened.iter().map(|o| o.bytes).sum(),
            // A resume reads past what was committed: its rows are not counted again.
            rows: recorded_rows(cfg, plan).filter(|_| !cfg.resume),
        });
    }
    for (i, (f, opened)) in plan.files.iter().zip(opened).enumerate() {
        let selection = select::for_file(
            cfg,
            &f.placement,
            f.source.as_ref(),
            opened.header_database.as_ref(),
        );
        let Script {
            statements,
            bytes,
            feedback,
        } = start_script(
            opened,
            (!cfg.dry_run).then(|| load_data::Binary::for_flavor(flavor)),
            nbe,
            max_statement,
        )?;
        if cfg.dry_run {
            report
                .dry_run
                .push(dry_run_file(main, f, statements, selection).await?);
            continue;
        }
        let started = Instant::now();
        let targets = match &f.placement {
            Placement::Single { target } => vec![target.clone()],
            Placement::All { .. } => {
                let mut dbs = f
                    .recorded
                    .as_ref()
                    .map(|r| r.databases())
                    .unwrap_or_default();
                if let RestoreMode::All { exclude } = &cfg.mode {
                    dbs.retain(|d| !exclude.iter().any(|e| e.eq_ignore_ascii_case(d)));
                }
                dbs.retain(|d| cfg.tables.takes_database(d));
                dbs
            }
        };
        progress.event(&Event::RestoreStarted {
            file: &f.path,
            bytes,
            targets: &targets,
        });
        let mut file_journal = journal.as_mut().map(|j| j.file(i));
        if let Placement::Single { target } = &f.placement {
            let journaled = file_journal
                .as_ref()
                .and_then(|j| j.databases.get(target).copied());
            let prepared = match journaled {
                Some(was_created) => {
                    target::reopen_target(main, target, cfg.drop_target, progress.as_ref())
                        .await
                        .map(|()| was_created)
                }
                None => {
                    let fresh = target::prepare_target(
                        main,
                        target,
                        cfg.drop_target,
                        true,
                        opts.confirm_drop.as_ref(),
                        progress.as_ref(),
                        opts.resumable,
                    )
                    .await;
                    match (fresh, file_journal.as_mut()) {
                        (Ok(fresh), Some(j)) => {
                            j.mark_database(main, target, fresh).await.map(|()| fresh)
                        }
                        (fresh, _) => fresh,
                    }
                }
            };
            match prepared {
                Ok(fresh) => {
                    touched.push(target.clone());
                    if fresh {
                        created.push(target.clone());
                    }
                    if let Some(j) = journal.as_mut() {
                        j.merge(std::slice::from_ref(target), &created);
                    }
                }
                Err(e) => {
                    return Err(
                        failed(main, e, &touched, &created, 0, journal.as_mut(), run).await,
                    );
                }
            }
        }
        let mut file_opts = opts.clone();
        file_opts.deferred_keys = deferred_keys(f, flavor, cfg.keys_after_rows);
        file_opts.stream = f.stream.clone();
        file_opts.source = f
            .source
            .clone()
            .or_else(|| match (&f.stream, &f.placement) {
                (Some(s), Placement::Single { target }) => s.sources.get(target).cloned(),
                _ => None,
            });
        let applier = Applier::start(
            &f.path,
            main,
            &cfg.connection,
            f.placement.clone(),
            file_opts,
            progress.as_ref(),
            feedback,
            file_journal,
        )
        .await;
        let applier = match applier {
            Ok(a) => a.select(selection),
            Err(e) => {
                return Err(failed(main, e, &touched, &created, 0, journal.as_mut(), run).await);
            }
        };
        let (applied, result) = applier.run(statements).await;
        for db in &applied.databases {
            if !touched.contains(db) {
                touched.push(db.clone());
            }
        }
        created.extend(applied.created.iter().cloned());
        if let Some(j) = journal.as_mut() {
            j.merge(&applied.databases, &applied.created);
        }
        if let Err(e) = result {
            return Err(failed(
                main,
                e,
                &touched,
                &created,
                applied.statements,
                journal.as_mut(),
                run,
            )
            .await);
        }
        if cfg.verify && applied.ours && f.recorded.is_none() {
            progress.event(&Event::Warning(&format!(
                "{} has no metadata ({}): its size and SHA-256 could not be compared with what \
                 was written, only its footer was checked (`sfdbtools verify` says the same)",
                f.path.display(),
                crate::metadata::Recorded::path_for(&f.path).display()
            )));
        }
        // Our own dumps without it failed already, unless --no-verify.
        if !applied.completed_marker {
            progress.event(&Event::Warning(&format!(
                "{} does not end with a \"-- Dump completed\" line: if it is a dump, it may \
                 have been cut short (run `sfdbtools verify`)",
                f.path.display()
            )));
        }
        progress.event(&Event::FileRead {
            file: &f.path,
            statements: applied.statements,
            rows: applied.rows,
            elapsed: started.elapsed(),
        });
        report.files.push(FileReport {
            path: f.path.clone(),
            applied,
            elapsed: started.elapsed(),
        });
    }
    if !patterns_checked && let Err(e) = check_patterns_read(cfg, plan, &report) {
        // A database created for nothing is removed, as after a failure.
        return Err(failed(main, e, &[], &created, 0, journal.as_mut(), run).await);
    }
    if let Some((file, repointed, existing)) = accounts {
        let started = Instant::now();
        let mut outcome = if cfg.dry_run {
            accounts::plan(&file, &existing)
        } else {
            // Again: the data took a while, and accounts may have come since.
            let applied = async {
                let existing = accounts::existing(main, &file).await?;
                accounts::apply(main, &file, existing, opts, progress.as_ref()).await
            }
            .await;
            let (applied, outcome) = match applied {
                Ok(a) => a,
                Err(e) => {
                    if let Some(j) = &journal {
                        j.failed(main).await;
                    }
                    return Err(partial(e, &touched, 0, journal.as_ref().map(|j| j.id), run));
                }
            };
            report.grants = Some(FileReport {
                path: file.path.clone(),
                applied,
                elapsed: started.elapsed(),
            });
            outcome
        };
        outcome.repointed = repointed;
        report.accounts = Some(outcome);
    }
    if !cfg.dry_run {
        warn_missing_definers(main, &report, progress.as_ref()).await;
    }
    if let Some(j) = &journal
        && report.failures() > 0
    {
        // --continue-on-error: the statements that failed are not journaled, and run again
        // on resume once their cause is fixed.
        j.failed(main).await;
    } else if let Some(j) = &journal {
        match j.finish(main).await {
            Ok(discarded) if !discarded.is_empty() => {
                progress.event(&Event::Warning(&format!(
                    "the journal of stopped restore(s) {} was discarded: they had written into \
                     the same database(s), which this restore replaced, or into none",
                    discarded
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Ok(_) => {}
            Err(e) => progress.event(&Event::Warning(&format!(
                "the restore succeeded, but its journal (restore {} in database {} on the \
                 target) was not removed: {e}",
                j.id,
                ident(journal::DATABASE)
            ))),
        }
    }
    Ok(report)
}

/// Objects named in the warning per account, at most.
const NAMED_OBJECTS: usize = 5;

/// A view, routine, trigger or event is restored whatever its DEFINER, but one whose definer
/// is no account of the target fails each time it is used (ERROR 1449), and the dump's
/// `SQL_NOTES=0` keeps the server's note about it quiet: the restore says which accounts are
/// missing and which objects name them (a trial's restored view failed only when read).
/// `SHOW GRANTS FOR` tells a missing account (ERROR 1141) from one this account may not look
/// at; only the first is said.
async fn warn_missing_definers(main: &mut Conn, report: &RestoreReport, progress: &dyn Progress) {
    let mut by_account: std::collections::BTreeMap<(String, Option<String>), Vec<String>> =
        Default::default();
    for f in &report.files {
        for (user, host, object) in &f.applied.definers {
            by_account
                .entry((user.clone(), host.clone()))
                .or_default()
                .push(object.clone());
        }
    }
    let mut missing = Vec::new();
    let mut objects = 0;
    for ((user, host), defined) in by_account {
        let account = match &host {
            Some(h) => format!("{}@{}", literal(&user), literal(h)),
            None => literal(&user),
        };
        if let Err(mysql_async::Error::Server(e)) =
            main.query_drop(format!("SHOW GRANTS FOR {account}")).await
            && e.code == ER_NONEXISTING_GRANT
        {
            objects += defined.len();
            let mut named: Vec<&str> = defined
                .iter()
                .take(NAMED_OBJECTS)
                .map(String::as_str)
                .collect();
            let more = format!("and {} more", defined.len().saturating_sub(NAMED_OBJECTS));
            if defined.len() > NAMED_OBJECTS {
                named.push(&more);
            }
            missing.push(format!("{account} ({})", named.join(", ")));
        }
    }
    if !missing.is_empty() {
        progress.event(&Event::Warning(&format!(
            "{objects} restored object(s) name a DEFINER that is no account on the target: {}; \
             each fails when it is used (ERROR 1449) until the account exists: create it, or \
             restore the dump's accounts too (--grants)",
            missing.join("; ")
        )));
    }
}

/// "There is no such grant defined for user … on host …": the account does not exist.
const ER_NONEXISTING_GRANT: u16 = 1141;

/// The files' identities for the journal: the SHA-256 their metadata records (which the
/// restore proves as it reads), else one read of the file before the restore, said as it
/// starts.
async fn identify(
    cfg: &RestoreConfig,
    plan: &Plan,
    progress: &dyn Progress,
) -> Result<Vec<journal::Identity>> {
    let mut out = Vec::with_capacity(plan.files.len());
    for f in &plan.files {
        let recorded = proof_for(cfg, f).sha256;
        let sha256 = match recorded {
            Some(s) => s.to_ascii_lowercase(),
            None => {
                progress.event(&Event::Note(&format!(
                    "reading {} once to hash it for the restore's journal (no metadata records \
                     its SHA-256{}); --no-journal skips this, and the restore then cannot be \
                     resumed",
                    f.path.display(),
                    if cfg.verify {
                        ""
                    } else {
                        ", or --no-verify leaves it unproven"
                    }
                )));
                let path = f.path.clone();
                tokio::task::spawn_blocking(move || journal::hash_file(&path))
                    .await
                    .map_err(|e| Error::Internal(format!("hashing {}: {e}", f.path.display())))??
            }
        };
        out.push(journal::Identity {
            sha256,
            path: f.path.display().to_string(),
        });
    }
    Ok(out)
}

/// The databases a restore will write into, as far as known before the files are read: the
/// targets of single-database files, the metadata's databases of a combined file.
fn planned_targets(cfg: &RestoreConfig, plan: &Plan) -> Vec<String> {
    plan.files
        .iter()
        .flat_map(|f| file_targets(cfg, f))
        .collect()
}

/// The databases one file of the plan restores into.
fn file_targets(cfg: &RestoreConfig, f: &plan::FilePlan) -> Vec<String> {
    match &f.placement {
        Placement::Single { target } => vec![target.clone()],
        Placement::All { exclude, .. } => f
            .recorded
            .as_ref()
            .map(|r| r.databases())
            .unwrap_or_default()
            .into_iter()
            .filter(|d| !exclude.iter().any(|e| e.eq_ignore_ascii_case(d)))
            .filter(|d| cfg.tables.takes_database(d))
            .collect(),
    }
}

/// Once every file was read: the patterns of the selection against the tables and views the
/// files held (their metadata did not list them), before the accounts file is applied.
fn check_patterns_read(cfg: &RestoreConfig, plan: &Plan, report: &RestoreReport) -> Result<()> {
    let met: Vec<select::Selected> = report
        .files
        .iter()
        .flat_map(|f| f.applied.selected.iter())
        .chain(report.dry_run.iter().flat_map(|d| d.survey.selected.iter()))
        .cloned()
        .collect();
    let files = plan.file_names();
    let restored = met.iter().filter(|s| s.restored).count();
    match select::unmatched(&cfg.tables, &met, &files) {
        Some(problem) if cfg.dry_run || restored == 0 => Err(Error::Usage(problem)),
        Some(problem) => Err(select::unmatched_after(
            problem,
            &report.databases(),
            restored,
        )),
        None => Ok(()),
    }
}

/// Reads an accounts file whole and checks its statements.
async fn read_accounts(
    path: &Path,
    opened: Opened,
    nbe: bool,
    max_statement: usize,
) -> Result<AccountsFile> {
    let Script { mut statements, .. } = start_script(opened, None, nbe, max_statement)?;
    let mut read = Vec::new();
    while let Item::Statement(st, ..) = statements.next().await? {
        read.push(st);
    }
    AccountsFile::check(path, read, nbe)
}

/// A file restored under another name than it was dumped from leaves the accounts file's
/// grants naming the source database. With `--grants-to-target` they are re-pointed at the
/// target (returned: source, target, how many); without it the run says so.
fn retarget(
    cfg: &RestoreConfig,
    plan: &Plan,
    file: &mut AccountsFile,
    existing: &[accounts::Named],
    progress: &dyn Progress,
) -> Result<Vec<(String, String, usize)>> {
    let renamed: Vec<(Option<&String>, &String)> = plan
        .files
        .iter()
        .filter_map(|f| match &f.placement {
            Placement::Single { target } if f.source.as_ref() != Some(target) => {
                Some((f.source.as_ref(), target))
            }
            _ => None,
        })
        .collect();
    if cfg.grants_to_target {
        let mut pairs = Vec::new();
        for (source, target) in &renamed {
            let Some(source) = source else {
                return Err(Error::Usage(format!(
                    "--grants-to-target: the metadata of {} does not name the database the dump \
                     was made from, so its grants cannot be re-pointed at {}; nothing was \
                     restored. Restore without --grants-to-target, or correct the grants file \
                     and pass it with --grants-file",
                    cfg.file.display(),
                    ident(target)
                )));
            };
            pairs.push(((*source).clone(), (*target).clone()));
        }
        let counts = file.repoint(&pairs, existing);
        return Ok(pairs
            .into_iter()
            .zip(counts)
            .map(|((s, t), n)| (s, t, n))
            .collect());
    }
    for (source, target) in renamed {
        let message = match source {
            Some(source) => match file.grants_on(source) {
                0 => continue,
                n => format!(
                    "accounts file {}: {n} grant(s) name database {}, the one the dump was made \
                     from, not {} where it is restored: they are restored as they are and give \
                     no access to {}; pass --grants-to-target to make them on {} instead",
                    file.path.display(),
                    ident(source),
                    ident(target),
                    ident(target),
                    ident(target)
                ),
            },
            None => {
                let named = file.databases_named(std::slice::from_ref(target));
                if named.is_empty() {
                    continue;
                }
                format!(
                    "accounts file {}: its grants name {}, not {} where the dump is restored \
                     (its metadata does not say which database it was made from): they are \
                     restored as they are and give no access to {}",
                    file.path.display(),
                    named
                        .iter()
                        .map(|d| ident(d))
                        .collect::<Vec<_>>()
                        .join(", "),
                    ident(target),
                    ident(target)
                )
            }
        };
        progress.event(&Event::Warning(&message));
    }
    Ok(Vec::new())
}

/// Drops the databases this restore created that hold nothing (it failed before any table
/// or routine was made in them), then says what the failed restore left behind: a failure
/// never leaves an empty database of its own making.
async fn failed(
    main: &mut Conn,
    e: Error,
    touched: &[String],
    created: &[String],
    statements: u64,
    journal: Option<&mut Journal>,
    run: Run,
) -> Error {
    let mut removed = Vec::new();
    for db in created {
        if let Ok(Some(0)) = target::database_objects(main, db).await
            && main
                .query_drop(format!("DROP DATABASE IF EXISTS {}", ident(db)))
                .await
                .is_ok()
        {
            removed.push(db.clone());
        }
    }
    let left: Vec<String> = touched
        .iter()
        .filter(|d| !removed.contains(d))
        .cloned()
        .collect();
    let id = match journal {
        Some(j) => {
            j.forget(main, &removed).await;
            if j.databases().is_empty() {
                // Stopped before it made any database ready (a target refused, say): there is
                // nothing to go on with, and a journal kept for it would be found by --resume
                // instead of an earlier restore that can be resumed.
                let _ = j.finish(main).await;
                None
            } else {
                j.failed(main).await;
                Some(j.id)
            }
        }
        None => None,
    };
    let e = partial(e, &left, statements, id, run);
    if removed.is_empty() {
        return e;
    }
    let note = format!(
        "the empty database(s) this {} had created were removed again: {}",
        run.verb(),
        removed
            .iter()
            .map(|d| ident(d))
            .collect::<Vec<_>>()
            .join(", ")
    );
    match e {
        Error::Restore { source, state } => Error::Restore {
            source,
            state: format!("{state}; {note}"),
        },
        e => Error::Restore {
            source: Box::new(e),
            state: note,
        },
    }
}

/// What a failed run was, for the words of what it left behind: a restore of files, or
/// `db-copy`'s restore of the source's stream, which is run again as a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    Restore,
    Copy,
}

impl Run {
    fn of(plan: &Plan) -> Run {
        if plan.files.iter().any(|f| f.stream.is_some()) {
            Run::Copy
        } else {
            Run::Restore
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Run::Restore => "restore",
            Run::Copy => "copy",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Run::Restore => "restored",
            Run::Copy => "copied",
        }
    }
}

/// Says what a failed restore left behind, and how to go on with it when it keeps a journal
/// (`journal`: its id there).
fn partial(e: Error, touched: &[String], statements: u64, journal: Option<u64>, run: Run) -> Error {
    if touched.is_empty() {
        // No database of the target was written (the first CREATE DATABASE was refused,
        // say): saying so is what the operator needs, where the bare error left them to
        // guess. An error that already says what is left keeps its words.
        return match e {
            Error::Restore { .. } | Error::Usage(_) => e,
            e => Error::Restore {
                source: Box::new(e),
                state: format!("nothing was {}: the target is as it was", run.done()),
            },
        };
    }
    let names: Vec<String> = touched.iter().map(|d| ident(d)).collect();
    // Found at the end of the file: every statement it holds ran, from a file that is not
    // the one written; "partially" would say less than what is there.
    let how = match (&e, run) {
        (Error::Integrity { .. }, _) => "restored from that damaged file, all of it",
        (_, Run::Restore) => "partially restored",
        (_, Run::Copy) => "partially copied",
    };
    Error::Restore {
        source: Box::new(e),
        state: format!(
            "{} {} {how} ({statements} statement(s) applied before the failure): \
             drop {}, or {} again with --drop-target{}",
            if names.len() == 1 {
                "database"
            } else {
                "databases"
            },
            names.join(", ") + if names.len() == 1 { " is" } else { " are" },
            if names.len() == 1 { "it" } else { "them" },
            run.verb(),
            match journal {
                Some(id) => format!(
                    "; or, once the cause is fixed, go on where it stopped: the same command \
                     with --resume (restore {id} of the journal {} on the target)",
                    ident(journal::DATABASE)
                ),
                None => String::new(),
            }
        ),
    }
}
