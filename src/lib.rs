//! sfdbtools: a native MySQL/MariaDB dump engine (library). The binary (`main.rs`, `cli/`) only
//! turns the command line into a validated run and draws the events this library emits.
//!
//! The modules follow the data's path: `config` (the validated run) → `select` (which
//! databases) → `connect` and `snapshot` (sessions, one point in time) → `catalog` (what
//! exists) → `rows` (streaming cells) → `sql` (serialising) → `compress` → `encrypt` →
//! `output` (files) → `grants` (accounts file) → `metadata`; `dump` drives a whole backup run.
//! Back the other way: `read` opens a backup and splits and classifies its statements;
//! `restore` loads it into a server; `verify` proves it good. README.md's layout section
//! names every module; `scripts/module-cycles.py` checks that none import each other in a
//! cycle.

pub mod catalog;
pub mod cleanup;
pub mod compress;
pub mod config;
pub mod connect;
pub mod copy;
pub mod dump;
pub mod encrypt;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod grants;
pub mod inventory;
pub mod lexing;
pub mod limits;
pub mod metadata;
pub mod metrics;
pub mod output;
pub mod pattern;
pub mod progress;
pub mod quote;
pub mod read;
pub mod restore;
pub mod rows;
pub mod s3;
pub mod secret;
pub mod select;
pub mod snapshot;
pub mod sql;
pub mod verify;

pub use error::{Error, Result};
