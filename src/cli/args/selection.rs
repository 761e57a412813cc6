//! The clap types of a backup's table selection (docs/compat.md §2): which tables of the
//! chosen databases, which of their rows, and which kinds of objects. Patterns are `db.table`
//! with shell globs (`select::TablePattern`); turning them into a filter is
//! `cli::selection`'s job.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug, Default)]
pub struct DumpSelectionArgs {
    /// Only these tables (and views), as db.table patterns with shell globs (`shop.log_*`,
    /// `*.orders`); comma-separated, repeatable. Databases none of them matches are left out.
    #[arg(long = "tables", value_name = "DB.TABLE,…")]
    pub tables: Vec<String>,
    /// A file of --tables patterns, one per line (# comments and blank lines skipped).
    #[arg(long = "tables-file", value_name = "FILE")]
    pub tables_file: Option<PathBuf>,
    /// Leave this table or view out entirely, with its triggers (db.table pattern, repeatable).
    #[arg(long = "ignore-table", value_name = "DB.TABLE")]
    pub ignore_table: Vec<String>,
    /// Keep this table's schema but leave its rows out (db.table pattern, repeatable).
    #[arg(long = "ignore-table-data", value_name = "DB.TABLE")]
    pub ignore_table_data: Vec<String>,
    /// Only the rows of the matching tables that the SQL condition accepts ("db.t:id > 100",
    /// repeatable; two matching one table both apply).
    #[arg(long = "where", value_name = "DB.TABLE:CONDITION")]
    pub wheres: Vec<String>,
    /// No CREATE TABLE, CREATE VIEW or CREATE DATABASE: rows (and triggers, routines,
    /// events) for tables that exist where the file is restored.
    #[arg(long = "no-create-info")]
    pub no_create_info: bool,
    /// Leave the triggers out.
    #[arg(long = "skip-triggers")]
    pub skip_triggers: bool,
    /// Leave the stored procedures, functions and packages out.
    #[arg(long = "skip-routines")]
    pub skip_routines: bool,
    /// Leave the events out.
    #[arg(long = "skip-events")]
    pub skip_events: bool,
}
