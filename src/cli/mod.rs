//! The binary's own code: everything that knows about the command line, the environment and
//! the terminal; the library below it knows none of them.
//!
//! `args` is the command line as clap sees it. Each command has one module that turns its
//! arguments, the config file and the environment into one validated run (flags, then the
//! config file, then the environment, then built-in defaults) and then carries it out:
//! `backup`, `restore`, `verify`, `cleanup`, `list`, `crypto`, `profile`. What several of them
//! resolve alike (the connection, keys, the worker count) is in `inputs`, a backup's table
//! selection flags in `selection`; questions on the terminal in `prompt`; progress and
//! summaries in `report`, which draws them, and `log`, through which every line for stderr goes
//! (JSON, the log file, the `finished` event); the runtime and signal handling in `runtime`;
//! shell completions and man pages, generated from `args`, in `docs`.
//! Imports go one way: commands → `inputs` → `prompt`; any of them may use `args`, which uses
//! none of them.

pub mod args;
pub mod backup;
pub mod cleanup;
pub mod copy;
pub mod crypto;
pub mod docs;
pub mod hidden;
pub mod inputs;
pub mod list;
pub mod log;
pub mod profile;
pub mod prompt;
pub mod report;
pub mod restore;
pub mod runtime;
pub mod selection;
pub mod signals;
pub mod verify;
