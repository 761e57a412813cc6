//! The integration tests that share one private MariaDB and run in parallel on it: one test
//! binary, so the crate's tests link once instead of once per file (linking was most of a CI
//! run), and one server start.
//!
//! They can share the server because each test works on its own objects: databases from
//! `common::TestDb` (a counter and the process id in the name), accounts named with a tag and
//! the process id, client codes of its own in `modes`, its own output directories. What is
//! still server-wide is harmless by design and said where it happens: a dump's DDL block and
//! commit block make other tests' DDL and writes wait a moment (the "nothing is left locked"
//! checks wait up to 60 s for that), `restore` turns `local_infile` off for a moment (other
//! restores then send INSERTs, which is what that test shows to be harmless), `row_reader`
//! installs the ed25519 plugin.
//!
//! Tests that must not run beside others (a server restart, `max_allowed_packet` lowered,
//! `db-backup all`, DDL-heavy corpus tests) are in the `serial` binary, on a server of its own.

mod common;

mod cleanup;
mod cli;
mod compress_tools;
mod config;
mod consistency;
mod copy;
mod crypto_interop;
mod disk_faults;
mod grants;
mod hostile;
mod interactive;
mod list;
mod log;
mod metadata;
mod metrics;
mod modes;
mod mysqldump_engine;
mod output_chain;
mod profiles;
mod progress;
mod restore;
mod row_reader;
mod s3;
mod s3_read;
mod secrets;
mod selection;
mod ssh;
mod tls;
mod verify;
