//! sfdbtools: a native MySQL/MariaDB dump engine (library). The binary in `main.rs` is only glue.
//!
//! The modules follow the data's path: `select` (which databases), `connect` and `snapshot`
//! (sessions, one point in time) → `catalog` (what exists) → `rows` (streaming cells) → `sql`
//! (serialising) → `compress` → `encrypt` → `output` (files) → `grants` (accounts file) →
//! `metadata`; `read` reads a backup back (opens it, splits and classifies its statements).
//! `dump` drives a whole backup run; `restore` loads a file back into a server; `verify` proves
//! a file good.

pub mod catalog;
pub mod cleanup;
pub mod compress;
pub mod config;
pub mod connect;
pub mod dump;
pub mod encrypt;
pub mod error;
pub mod grants;
pub mod metadata;
pub mod output;
pub mod progress;
pub mod quote;
pub mod read;
pub mod restore;
pub mod rows;
pub mod secret;
pub mod select;
pub mod snapshot;
pub mod sql;
pub mod verify;

pub use error::{Error, Result};
