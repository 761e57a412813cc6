//! The integration tests that must have a server to themselves: a test binary of their own, so a
//! private MariaDB of their own, and one test at a time on it — every test here holds
//! [`common::serial`] for its whole run (a test that never reaches the server needs no guard).
//!
//! Why each module cannot run beside other tests:
//! - `fidelity`, `restore_fidelity`, `corpus`: DDL from start to end (the fidelity corpus has
//!   foreign keys added by `ALTER TABLE`); InnoDB answers DDL that runs while other DDL does
//!   with ERROR 1213 on its dictionary at times, the server's behaviour under load.
//! - `exclusive`: restarts the server (every connection of every test drops) and holds a
//!   transaction open on purpose (any dump's FLUSH TABLES WITH READ LOCK waits for it).
//! - `mode_all`: `db-backup all` dumps every database; one created or dropped next to it would
//!   race it.
//! - `resume`: holds the whole server still (`FLUSH TABLES WITH READ LOCK`) to kill a restore
//!   at a chosen point, restarts it, and looks for the journal database, which any restore
//!   running beside it would make.
//! - `copy_replica`: leaves a server replicating one database of this one; another test's
//!   `CREATE PROCEDURE` in a database of its own would stop it (MariaDB's table filters do not
//!   cover routines), which is the server's behaviour, not the code under test.
//! - `copy_same_server`: leaves an `ALTER TABLE` waiting for a copy on purpose; a waiting DDL
//!   statement holds off every other dump's FLUSH TABLES WITH READ LOCK until it ends.
//! - `statement_size`: lowers the server's `max_allowed_packet` for a moment, which must not
//!   meet another test's larger rows.
//!
//! One binary with one guard rather than one binary per reason: cargo runs test binaries one
//! after another anyway, so tests that run one at a time lose nothing by sharing a binary, and
//! each binary more is one more link and one more server start.

mod common;

mod copy_replica;
mod copy_same_server;
mod corpus;
mod exclusive;
mod fidelity;
mod mode_all;
mod mysql_test_suite;
mod restore_fidelity;
mod resume;
mod statement_size;
