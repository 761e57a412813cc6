//! What the commands that talk to a server share to run: the async runtime, and the signals
//! that stop a run.

use sfdbtools::Error;
use sfdbtools::connect::ConnectionSettings;
use sfdbtools::connect::tunnel::Tunnel;

pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))
}

/// Runs `work` to its end, or until the first SIGINT or SIGTERM: then says so with
/// `stopping` ("stopping the restore") and returns None, leaving the cleanup to the caller.
pub fn until_interrupted<T>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = T>,
    stopping: &str,
) -> Option<T> {
    runtime.block_on(async {
        tokio::select! {
            r = work => Some(r),
            signal = interrupted() => {
                eprintln!("sfdbtools: {signal}: {stopping}");
                None
            }
        }
    })
}

/// Opens the run's SSH tunnel when `conn` asks for one, and points `conn` at its local end.
/// Before anything else connects (the interactive database choice does): every connection of
/// the run, the mysqldump engine's included, then goes through it. The tunnel lives as long as
/// the returned value, which must outlive the run; it is served by `runtime`.
pub fn open_tunnel(
    conn: &mut ConnectionSettings,
    runtime: &tokio::runtime::Runtime,
) -> Result<Option<Tunnel>, Error> {
    let Some(ssh) = conn.ssh.clone() else {
        return Ok(None);
    };
    let tunnel = runtime.block_on(Tunnel::open(&ssh, &conn.host, conn.port))?;
    *conn = tunnel.point(conn);
    Ok(Some(tunnel))
}

/// A run's failure as it reads with the run's tunnel, if any ([`Tunnel::explain`]: a tunnel
/// lost mid-run is named as the cause).
pub fn through_tunnel(tunnel: &Option<Tunnel>, error: Error) -> Error {
    match tunnel {
        Some(t) => t.explain(error),
        None => error,
    }
}

/// Resolves on the first SIGINT or SIGTERM, naming it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without handlers the default action (exit) applies; never resolve.
        return std::future::pending().await;
    };
    super::signals::run_listens();
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
