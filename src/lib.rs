//! sfdbtools: a native MySQL/MariaDB dump engine (library). The binary in `main.rs` is only glue.
//!
//! The modules follow the data's path: `connect` (sessions, snapshot) → `catalog` (what exists)
//! → `rows` (streaming cells) → `sql` (serialising) → `compress` → `encrypt` → `output` (files).
//! `dump` drives a whole backup run.

pub mod compress;
pub mod encrypt;
pub mod secret;
