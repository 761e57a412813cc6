//! SIGTERM before a run listens for it: a terminal a secret prompt holds without echo is given
//! back, and the command ends as an interrupted one (its `finished` log line, exit 130).
//!
//! A run stops on SIGINT or SIGTERM itself ([`super::runtime::until_interrupted`]). Before
//! that, SIGTERM killed the process outright: one sent during a password prompt (`timeout`, a
//! service manager) left the operator's terminal without echo, and the log without its last
//! line. This listener, started first thing, answers SIGTERM until a run listens; from then on
//! it leaves SIGTERM to the run (as before, a SIGTERM after the run is not acted on).

use std::sync::atomic::{AtomicBool, Ordering};

use sfdbtools::Error;

/// Set once a run listens for SIGINT and SIGTERM itself.
static RUN_LISTENS: AtomicBool = AtomicBool::new(false);

/// Starts the listener on a thread of its own (its own small runtime: prompts come before the
/// command's runtime, and block it).
pub fn install() {
    let _ = std::thread::Builder::new()
        .name("sfdb-signals".into())
        .spawn(|| {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                // Without the handler SIGTERM keeps its default action.
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    return;
                };
                while term.recv().await.is_some() {
                    if RUN_LISTENS.load(Ordering::SeqCst) {
                        continue;
                    }
                    super::hidden::give_back();
                    let stopped = Error::Interrupted("SIGTERM before the run started".into());
                    std::process::exit(super::log::finish(Err(stopped)));
                }
            });
        });
}

/// A run now listens for SIGINT and SIGTERM itself (called once its handlers exist, so that
/// no SIGTERM falls between the two).
pub fn run_listens() {
    RUN_LISTENS.store(true, Ordering::SeqCst);
}
