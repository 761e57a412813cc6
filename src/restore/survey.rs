//! `--dry-run`: what a file holds, read to its end without running anything, and the state of
//! the databases it would go into.

use std::collections::HashMap;
use std::path::PathBuf;

use mysql_async::Conn;

use super::plan::{FilePlan, Placement};
use super::script::{Item, Statements};
use super::select::{Selected, Selection, Verdict};
use super::target::database_objects;
use crate::error::Result;
use crate::read::classify::{Kind, Verb};

/// `--dry-run`: what one file holds and the state of its targets.
#[derive(Clone, Debug)]
pub struct DryRunFile {
    pub path: PathBuf,
    pub survey: Survey,
    /// Target database, and how many objects it holds now (None: it does not exist).
    pub targets: Vec<(String, Option<u64>)>,
}

/// What a script holds, without running it (`--dry-run`).
#[derive(Clone, Debug, Default)]
pub struct Survey {
    pub statements: u64,
    /// Per database named in the script (None: the single database of the file): tables
    /// created, data statements, objects created after the data.
    pub databases: Vec<(Option<String>, u64, u64, u64)>,
    pub completed_marker: bool,
    pub sql_bytes: u64,
    /// With `--tables`/`--ignore-table`: every table and view of the file and whether it would
    /// be restored (the counts above are of what would be).
    pub selected: Vec<Selected>,
}

/// Reads a whole script and counts what it would do.
async fn survey(
    f: &FilePlan,
    mut statements: Statements,
    mut selection: Option<Selection>,
) -> Result<Survey> {
    let mut s = Survey::default();
    let mut current: Option<String> = None;
    let mut index: HashMap<Option<String>, usize> = HashMap::new();
    // Inside a database of a combined file that is not restored: excluded, or left out whole
    // by the selection (as the applier does).
    let mut left_out = false;
    loop {
        match statements.next().await? {
            Item::End {
                completed,
                sql_bytes,
                ..
            } => {
                s.completed_marker = completed;
                s.sql_bytes = sql_bytes;
                s.selected = selection.map(Selection::into_seen).unwrap_or_default();
                return Ok(s);
            }
            Item::Statement(st, kind, ..) => {
                s.statements += 1;
                if let Some(sel) = selection.as_mut() {
                    if let (
                        Kind::Use(n)
                        | Kind::Database {
                            verb: Verb::Create,
                            name: n,
                        },
                        Placement::All { exclude, .. },
                    ) = (&kind, &f.placement)
                    {
                        left_out = !sel.takes_database(&n.name)
                            || exclude.iter().any(|e| e.eq_ignore_ascii_case(&n.name));
                    }
                    if left_out {
                        sel.pass(&st.sql, &kind);
                        continue;
                    }
                    let verdict = sel
                        .decide(&st.sql, &kind)
                        .map_err(|p| super::select::undecidable(&f.path, st.at, p))?;
                    if verdict == Verdict::Skip {
                        continue;
                    }
                }
                let (tables, data, post) = match &kind {
                    Kind::Use(n)
                    | Kind::Database {
                        verb: Verb::Create,
                        name: n,
                    } => {
                        current = Some(n.name.clone());
                        (0, 0, 0)
                    }
                    Kind::TableDdl
                        if head_has(&st.sql, b"CREATE") && head_has(&st.sql, b"TABLE") =>
                    {
                        (1, 0, 0)
                    }
                    Kind::Data { .. } => (0, 1, 0),
                    Kind::PostData if head_has(&st.sql, b"CREATE") => (0, 0, 1),
                    _ => (0, 0, 0),
                };
                if tables + data + post == 0
                    && !matches!(kind, Kind::Use(_) | Kind::Database { .. })
                {
                    continue;
                }
                let i = *index.entry(current.clone()).or_insert_with(|| {
                    s.databases.push((current.clone(), 0, 0, 0));
                    s.databases.len() - 1
                });
                let e = &mut s.databases[i];
                e.1 += tables;
                e.2 += data;
                e.3 += post;
            }
        }
    }
}

/// True when `word` occurs among the first bytes of `sql` (any case): tells `CREATE` from
/// `DROP` for counting, past a versioned comment's marker.
fn head_has(sql: &[u8], word: &[u8]) -> bool {
    let head: Vec<u8> = sql
        .iter()
        .take(32)
        .map(|b| b.to_ascii_uppercase())
        .collect();
    head.windows(word.len()).any(|w| w == word)
}

pub(super) async fn dry_run_file(
    main: &mut Conn,
    f: &FilePlan,
    statements: Statements,
    selection: Option<Selection>,
) -> Result<DryRunFile> {
    let survey = survey(f, statements, selection).await?;
    let names: Vec<String> = match &f.placement {
        Placement::Single { target } => vec![target.clone()],
        Placement::All { exclude, .. } => survey
            .databases
            .iter()
            .filter_map(|(db, ..)| db.clone())
            .filter(|d| !exclude.iter().any(|e| e.eq_ignore_ascii_case(d)))
            .collect(),
    };
    let mut targets = Vec::new();
    for n in names {
        let objects = database_objects(main, &n).await?;
        targets.push((n, objects));
    }
    Ok(DryRunFile {
        path: f.path.clone(),
        survey,
        targets,
    })
}
