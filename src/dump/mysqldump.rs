//! The compatibility engine: `mariadb-dump` (or `mysqldump`) as a child process, its output fed
//! through the same compress → encrypt → file chain, with the same names and metadata.
//!
//! The password never goes on the child's command line: it is passed in a 0600 option file,
//! in a 0700 directory of its own, that lives only while the child runs (a signal removes it
//! too). Any non-zero exit is a failure, whatever stderr says.

use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Local;

use super::finish::{self, FileFacts};
use super::plan::prepare;
use super::translate::{self, DumpCall};
use super::{BackupReport, FileReport, PlannedFile, file_spec};
use crate::config::run::BackupConfig;
use crate::connect::{ConnectionSettings, Flavor};
use crate::error::{Error, Result};
use crate::metadata::SnapshotInfo;
use crate::output::OutputChain;
use crate::progress::Progress;

/// The old tool's packaged `backup.mysqldump_args`, without `-f` (which let a dump continue
/// past SQL errors and still look successful). `--master-data=2` records the binlog position of
/// the dump's own snapshot as a comment, which is read back for the metadata.
const DEFAULT_ARGS: &[&str] = &[
    "-Qq",
    "--max-allowed-packet=1G",
    "--hex-blob",
    "--order-by-primary",
    "--single-transaction",
    "--routines=true",
    "--triggers=true",
    "--events",
    "--opt",
    "--net-buffer-length=16M",
    "--master-data=2",
];

/// MariaDB-only options of the default set.
const MARIADB_ARGS: &[&str] = &["--max-statement-time=0", "--gtid"];

/// The child's arguments: option file, options (custom or default, never `-f`), `--no-data` for
/// `-x`, the table selection's options, then the databases.
fn command_args(
    cfg: &BackupConfig,
    flavor: Flavor,
    option_file: &Path,
    databases: &[String],
    call: &DumpCall,
) -> Vec<String> {
    // --defaults-extra-file must come first to be honoured.
    let mut args = vec![format!("--defaults-extra-file={}", option_file.display())];
    args.extend(with_consistency(
        option_args(cfg.mysqldump_args.as_deref(), flavor, cfg.capture_position),
        cfg.consistency,
    ));
    // An explicit --statement-size bounds the dump tool's INSERTs too (the last
    // --net-buffer-length wins); otherwise the old tool's 16M stands.
    if cfg.statement_size_given {
        args.push(format!("--net-buffer-length={}", cfg.statement_size));
    }
    if cfg.exclude_data {
        args.push("--no-data".into());
    }
    // The session tables of primary/secondary keep their schema, their rows are left out
    // (docs/compat.md §2), as are those of --ignore-table-data; then the rest of the selection.
    args.extend(call.options.iter().cloned());
    if cfg.mode.is_combined() {
        args.push("--databases".into());
    }
    // After `--` a name is a name, whatever it starts with ([`check_names`] refuses a leading
    // `-` as well). Single: a bare name, no CREATE DATABASE / USE, so the file restores under
    // any name.
    args.push("--".into());
    args.extend(databases.iter().cloned());
    args
}

/// `--consistency` as mariadb-dump says it: `lock` blocks writes for the whole dump as
/// `--lock-all-tables` does, and mariadb-dump refuses that together with
/// `--single-transaction` (which the default options hold), so that one goes; `snapshot` is
/// the options as they are. `none` is refused before a run starts (`cli::backup`):
/// mariadb-dump takes a global read lock to record its position.
fn with_consistency(mut opts: Vec<String>, c: crate::snapshot::Consistency) -> Vec<String> {
    if c == crate::snapshot::Consistency::Lock {
        opts.retain(|o| {
            let name = o.split('=').next().unwrap_or("").replace('_', "-");
            name != "--single-transaction"
        });
        opts.push("--lock-all-tables".into());
    }
    opts
}

/// Refuses database names that begin with `-`: the server's names reach the child's command
/// line, and one named `--host=…` would otherwise become an option of it, with our password.
fn check_names(databases: &[String]) -> Result<()> {
    match databases.iter().find(|d| d.starts_with('-')) {
        Some(d) => Err(Error::Unsupported(format!(
            "database {} begins with '-': the mysqldump engine does not pass such a name to \
             the dump tool; back it up with the native engine (--engine native), or leave it \
             out",
            crate::quote::ident(d)
        ))),
        None => Ok(()),
    }
}

/// The dump options: the configured ones without `-f` and with `--master-data=2` unless they
/// ask for a position themselves (the metadata needs it), or the defaults. With `capture`
/// off (config `backup.replication.capture_gtid: false`) no position option is added, since
/// reading it needs privileges the account may lack; configured options stay as given.
fn option_args(custom: Option<&[String]>, flavor: Flavor, capture: bool) -> Vec<String> {
    let Some(custom) = custom else {
        let mut args: Vec<String> = DEFAULT_ARGS
            .iter()
            .filter(|a| capture || !is_position_option(a))
            .map(|s| s.to_string())
            .collect();
        if flavor == Flavor::MariaDb {
            args.extend(
                MARIADB_ARGS
                    .iter()
                    .filter(|a| capture || **a != "--gtid")
                    .map(|s| s.to_string()),
            );
        }
        return args;
    };
    let mut args: Vec<String> = custom.iter().filter_map(|a| without_force(a)).collect();
    if capture && !custom.iter().any(|a| is_position_option(a)) {
        args.push("--master-data=2".into());
    }
    args
}

/// An option that makes mysqldump write the binlog position.
fn is_position_option(arg: &str) -> bool {
    arg.starts_with("--master-data") || arg.starts_with("--source-data")
}

/// The argument without `-f`/`--force`: None when nothing else is left. A cluster of short
/// options (`-fQq`) keeps its other letters; letters after one that takes a value (`-hfoo`,
/// host "foo") are that value and stay untouched.
fn without_force(arg: &str) -> Option<String> {
    if arg == "--force" || arg.starts_with("--force=") {
        return None;
    }
    let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.starts_with('-')) else {
        return Some(arg.to_owned());
    };
    // mysqldump's short options that take a value.
    const WITH_VALUE: &[char] = &['h', 'u', 'p', 'P', 'S', 'r', 'w', 'T', 'W', 'O', 'o', 'X'];
    let mut kept = String::from("-");
    for (i, c) in cluster.char_indices() {
        if WITH_VALUE.contains(&c) {
            kept.push_str(&cluster[i..]);
            break;
        }
        if c != 'f' {
            kept.push(c);
        }
    }
    (kept.len() > 1).then_some(kept)
}

/// The private directories holding option files right now. A signal ends the process without
/// running any `Drop`, so the binary's signal handler removes them by name before exiting.
static OPTION_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn option_dirs() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    OPTION_DIRS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Dump tools running right now. A signal ends this process, not them: a `mariadb-dump`
/// left waiting for FLUSH TABLES WITH READ LOCK would keep every write on the server queued
/// behind its request until it got the lock, so the signal handler stops them.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn children() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stops every dump tool this process started that is still running: for the signal handler.
/// SIGTERM: the client closes its connection, and the server drops its lock request with it.
pub fn stop_children() {
    for pid in std::mem::take(&mut *children()) {
        if let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// Removes every option file (and its directory) of this process: for the signal handler.
pub fn remove_option_files() {
    for dir in std::mem::take(&mut *option_dirs()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A directory only this user can enter, made for one option file under `parent` ($TMPDIR),
/// removed with everything in it when dropped.
struct OptionDir(PathBuf);

impl OptionDir {
    fn create(parent: &Path) -> io::Result<OptionDir> {
        use std::os::unix::fs::DirBuilderExt;
        let mut tries = 0;
        loop {
            let dir = parent.join(format!(
                ".sfdbtools-mysqldump-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ));
            // mkdir never follows or reuses what is there: a name taken is tried again.
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    option_dirs().push(dir.clone());
                    return Ok(OptionDir(dir));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for OptionDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        option_dirs().retain(|d| d != &self.0);
    }
}

/// The connection settings for the dump tool: through the guard of `connect::auth` when its
/// connection would be plaintext TCP to a server on the network (MariaDB's tool, like
/// mysql_async, fetches the RSA key of `caching_sha2_password` from the server unasked). Not
/// under REQUIRED and above: the tool speaks TLS then, and would check the certificate against
/// the guard's address. Runs on a blocking thread of the runtime, whose handle starts the guard.
fn guarded(settings: &ConnectionSettings) -> Result<ConnectionSettings> {
    use crate::connect::{SslMode, auth};
    if settings.socket.is_some()
        || !matches!(settings.tls.mode, SslMode::Preferred | SslMode::Disabled)
    {
        return Ok(settings.clone());
    }
    let guarded = tokio::runtime::Handle::current().block_on(async {
        let resolved = settings.resolve().await?;
        auth::guard_unless_local(settings, &resolved).await
    });
    let guarded = guarded.map_err(|source| Error::Connect {
        target: settings.describe(),
        source,
        flags: crate::error::FlagSet::Main,
    })?;
    let Some((local, _)) = guarded else {
        return Ok(settings.clone());
    };
    Ok(ConnectionSettings {
        host: local.ip().to_string(),
        port: local.port(),
        ..settings.clone()
    })
}

/// The `[client]` option file: connection settings, password included, mode 0600.
fn write_option_file(
    dir: &Path,
    settings: &ConnectionSettings,
    program: &str,
) -> io::Result<PathBuf> {
    let path = dir.join("client.cnf");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let text = option_text(settings, program);
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(path)
}

/// The option file's text, in a buffer zeroed when dropped and sized before the password goes
/// in: a `String` that grows moves to a new buffer and frees the old one as it was, password
/// included, where zeroing on drop no longer reaches.
fn option_text(settings: &ConnectionSettings, program: &str) -> zeroize::Zeroizing<String> {
    let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    let head = format!("[client]\nuser={}\n", quote(&settings.user));
    let mut rest = String::new();
    match &settings.socket {
        Some(s) => rest.push_str(&format!(
            "socket={}\nprotocol=SOCKET\n",
            quote(&s.to_string_lossy())
        )),
        None => rest.push_str(&format!(
            "host={}\nport={}\nprotocol=TCP\n",
            quote(&settings.host),
            settings.port
        )),
    }
    if settings.socket.is_none() {
        let mariadb = program == "mariadb-dump";
        for line in tls_options(&settings.tls, mariadb)
            .into_iter()
            .chain(server_key_options(&settings.server_key, mariadb))
        {
            rest.push_str(&line);
            rest.push('\n');
        }
    }
    let password = settings.password.as_ref().map(|p| p.expose());
    // `password="…"\n`, each `\` and `"` escaped with one more byte.
    let password_line = password.map_or(0, |p| {
        "password=\"\"\n".len() + p.len() + p.bytes().filter(|b| matches!(b, b'\\' | b'"')).count()
    });
    let mut text = zeroize::Zeroizing::new(String::with_capacity(
        head.len() + password_line + rest.len(),
    ));
    text.push_str(&head);
    if let Some(p) = password {
        text.push_str("password=\"");
        for c in p.chars() {
            if matches!(c, '\\' | '"') {
                text.push('\\');
            }
            text.push(c);
        }
        text.push_str("\"\n");
    }
    text.push_str(&rest);
    text
}

/// The `--ssl-mode` of the run in the dump tool's own option names. MariaDB's tool has no
/// `ssl-mode`: `ssl` asks for TLS, `ssl-verify-server-cert` checks the chain and the name
/// (VERIFY_CA too, as our own connections do for now). MySQL's `mysqldump` takes `ssl-mode`.
/// PREFERRED writes nothing, so that a tool that knows neither spelling (an old MariaDB
/// `mysqldump`) still runs with the defaults.
fn tls_options(tls: &crate::connect::TlsSettings, mariadb: bool) -> Vec<String> {
    use crate::connect::SslMode;
    let quote = |p: &Path| format!("\"{}\"", p.to_string_lossy().replace('\\', "\\\\"));
    let mut lines = Vec::new();
    match (tls.mode, mariadb) {
        (SslMode::Preferred, _) => return lines,
        (SslMode::Disabled, true) => lines.push("skip-ssl".to_owned()),
        (SslMode::Required, true) => lines.push("ssl".to_owned()),
        (SslMode::VerifyCa | SslMode::VerifyIdentity, true) => {
            lines.push("ssl".to_owned());
            lines.push("ssl-verify-server-cert".to_owned());
        }
        (mode, false) => lines.push(format!("ssl-mode={}", mode.name())),
    }
    for (key, path) in [
        ("ssl-ca", &tls.ca),
        ("ssl-cert", &tls.cert),
        ("ssl-key", &tls.key),
    ] {
        if let Some(path) = path {
            lines.push(format!("{key}={}", quote(path)));
        }
    }
    lines
}

/// `--get-server-public-key` and `--server-public-key-path` for MySQL's `mysqldump`, which
/// refuses a full `caching_sha2_password` login outside TLS without one of them. MariaDB's tool
/// has neither option (the guard applies the rule to it).
fn server_key_options(key: &crate::connect::auth::ServerKey, mariadb: bool) -> Vec<String> {
    use crate::connect::auth::ServerKey;
    match (key, mariadb) {
        (_, true) | (ServerKey::Refuse, _) => Vec::new(),
        (ServerKey::Fetch, false) => vec!["get-server-public-key".to_owned()],
        (ServerKey::Pinned(path), false) => vec![format!(
            "server-public-key-path=\"{}\"",
            path.to_string_lossy().replace('\\', "\\\\")
        )],
    }
}

/// `mariadb-dump` when installed, else `mysqldump`.
fn program() -> &'static str {
    let found = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
    };
    if found("mariadb-dump") {
        "mariadb-dump"
    } else {
        "mysqldump"
    }
}

/// Reads the position `--master-data=2` (and MariaDB's `--gtid`) wrote near the top.
fn parse_position(head: &[u8]) -> SnapshotInfo {
    let text = String::from_utf8_lossy(head);
    let mut snap = SnapshotInfo::default();
    for line in text.lines().take(200) {
        if let Some(rest) = line.strip_prefix("-- CHANGE MASTER TO ") {
            for part in rest.trim_end_matches(';').split(',') {
                let (k, v) = part.split_once('=').unwrap_or(("", ""));
                match k.trim() {
                    "MASTER_LOG_FILE" => {
                        snap.binlog_file = Some(v.trim().trim_matches('\'').to_owned())
                    }
                    "MASTER_LOG_POS" => snap.binlog_position = v.trim().parse().ok(),
                    "MASTER_USE_GTID" | "MASTER_AUTO_POSITION" => {}
                    _ => {}
                }
            }
        } else if let Some(rest) = line.strip_prefix("-- SET GLOBAL gtid_slave_pos=") {
            snap.gtid_binlog_pos = Some(rest.trim_end_matches(';').trim_matches('\'').to_owned());
        }
    }
    snap
}

/// Runs the mysqldump engine for every planned file, one after the other.
pub(super) async fn run(cfg: &BackupConfig, progress: Arc<dyn Progress>) -> Result<BackupReport> {
    let (control, run) = prepare(cfg, progress.as_ref()).await?;
    let _ = control.disconnect().await;
    check_names(&run.selection.databases)?;
    // Every file's call first: what the tool cannot be told stops the run before it writes.
    let asked = translate::Asked::of(&run);
    let calls = run
        .planned
        .iter()
        .map(|plan| translate::call_for(&asked, plan))
        .collect::<Result<Vec<_>>>()?;
    if !cfg.dry_run {
        super::plan::create_output_dir(cfg)?;
    }
    let mut files = Vec::new();
    let mut position = SnapshotInfo::default();
    for (plan, call) in run.planned.iter().zip(calls) {
        let cfg2 = cfg.clone();
        let flavor = run.info.flavor;
        let owned = plan.clone();
        let result = tokio::task::spawn_blocking(move || dump_one(&cfg2, flavor, &owned, &call))
            .await
            .map_err(|e| Error::Internal(format!("mysqldump task failed: {e}")))?;
        let (summary, snap, started, clock, longest) = match result {
            Ok(r) => r,
            Err(e) => {
                for f in &files {
                    let f: &FileReport = f;
                    let _ = std::fs::remove_file(&f.path);
                }
                return Err(e);
            }
        };
        let file = FileFacts {
            plan,
            engine: "mysqldump",
            threads: 1,
            method: "mysqldump --single-transaction",
            snapshot: &snap,
            started,
            clock,
            tables: Vec::new(),
            largest: longest,
            notes: None,
        };
        files.push(finish::file_written(
            &run,
            file,
            &summary,
            progress.as_ref(),
        ));
        position = snap;
    }
    finish::report(&run, files, position, None)
}

type DumpOne = (
    crate::output::OutputSummary,
    SnapshotInfo,
    chrono::DateTime<Local>,
    Instant,
    usize,
);

fn dump_one(
    cfg: &BackupConfig,
    flavor: Flavor,
    plan: &PlannedFile,
    call: &DumpCall,
) -> Result<DumpOne> {
    let started = Local::now();
    let clock = Instant::now();
    check_names(&plan.databases)?;
    let temp = std::env::temp_dir();
    let private = OptionDir::create(&temp).map_err(|e| {
        Error::file(
            "creating a private directory for the option file in",
            &temp,
            e,
        )
    })?;
    let program = program();
    let settings = guarded(&cfg.connection)?;
    let option_file = write_option_file(private.path(), &settings, program)
        .map_err(|e| Error::file("writing the client option file in", private.path(), e))?;
    let mut chain = OutputChain::create(file_spec(cfg, &plan.path))?;
    let mut command = Command::new(program);
    command
        .args(command_args(
            cfg,
            flavor,
            &option_file,
            &plan.databases,
            call,
        ))
        .env_remove("MYSQL_PWD");
    // The keys of encrypted backups and profiles are none of the child's business.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SFDB_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::Unsupported(format!("cannot run {program}: {e}; install mariadb-client"))
        })?;
    let pid = child.id();
    children().push(pid);
    let mut stderr = child.stderr.take().expect("piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut text);
        let _ = io::copy(&mut stderr, &mut io::sink());
        String::from_utf8_lossy(&text).into_owned()
    });
    let mut stdout = child.stdout.take().expect("piped");
    let mut buf = vec![0u8; 1 << 20];
    let mut head: Vec<u8> = Vec::new();
    // The longest line, for the metadata's max_statement_bytes: the dump tool writes each
    // (extended) INSERT on one line, newlines inside values escaped, so its longest line is at
    // least its longest statement, which a restore compares with max_allowed_packet.
    let mut lines = LongestLine::default();
    let pumped: Result<()> = loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(Error::file("reading the output of", Path::new(program), e)),
        };
        if head.len() < 64 << 10 {
            head.extend_from_slice(&buf[..n.min((64 << 10) - head.len())]);
        }
        lines.feed(&buf[..n]);
        if let Err(e) = chain.write_sql(&buf[..n]) {
            let _ = child.kill();
            break Err(e);
        }
    };
    let status = child.wait();
    // Reaped: its pid may now be another process's, so it must not be signalled any more.
    children().retain(|p| *p != pid);
    let status = status.map_err(|e| Error::file("waiting for", Path::new(program), e))?;
    let stderr_text = stderr_reader.join().unwrap_or_default();
    drop(private);
    pumped?;
    if !status.success() {
        return Err(Error::Unsupported(format!(
            "{program} failed ({status}) dumping {}: {}",
            plan.databases.join(", "),
            stderr_text.trim()
        )));
    }
    let summary = chain.finish()?;
    let position = if cfg.capture_position {
        parse_position(&head)
    } else {
        SnapshotInfo::not_captured()
    };
    Ok((summary, position, started, clock, lines.longest()))
}

/// The length of the longest line of a stream fed in pieces, its newline included.
#[derive(Default)]
struct LongestLine {
    current: usize,
    longest: usize,
}

impl LongestLine {
    fn feed(&mut self, data: &[u8]) {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', data) {
            self.longest = self.longest.max(self.current + nl + 1 - start);
            self.current = 0;
            start = nl + 1;
        }
        self.current += data.len() - start;
    }

    fn longest(&self) -> usize {
        self.longest.max(self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The password is escaped as the tools read it, and the buffer never grew (a grown
    /// buffer leaves an unzeroed copy of the password in freed memory).
    #[test]
    fn the_option_text_holds_the_password_in_a_buffer_that_never_grew() {
        let settings = ConnectionSettings {
            user: "u".into(),
            password: Some(crate::secret::Secret::new(r#"p"w\ä"#)),
            ..ConnectionSettings::default()
        };
        for program in ["mariadb-dump", "mysqldump"] {
            let text = option_text(&settings, program);
            assert!(
                text.starts_with("[client]\nuser=\"u\"\npassword=\"p\\\"w\\\\ä\"\n"),
                "{}",
                text.as_str()
            );
            assert_eq!(text.capacity(), text.len(), "sized once, exactly");
        }
    }

    #[test]
    fn tls_options_use_each_tool_s_spelling() {
        use crate::connect::{SslMode, TlsSettings};
        let tls = |mode| TlsSettings {
            mode,
            ca: Some("/etc/ca dir/ca.pem".into()),
            ..TlsSettings::default()
        };
        assert!(tls_options(&tls(SslMode::Preferred), true).is_empty());
        assert_eq!(
            tls_options(&tls(SslMode::VerifyIdentity), true),
            [
                "ssl",
                "ssl-verify-server-cert",
                "ssl-ca=\"/etc/ca dir/ca.pem\""
            ]
        );
        assert_eq!(tls_options(&tls(SslMode::Disabled), true)[0], "skip-ssl");
        assert_eq!(
            tls_options(&tls(SslMode::VerifyCa), false)[0],
            "ssl-mode=VERIFY_CA"
        );
    }

    #[test]
    fn mysql_s_tool_gets_the_server_key_options_and_mariadb_s_none() {
        use crate::connect::auth::ServerKey;
        assert!(server_key_options(&ServerKey::Refuse, false).is_empty());
        assert_eq!(
            server_key_options(&ServerKey::Fetch, false),
            ["get-server-public-key"]
        );
        assert_eq!(
            server_key_options(&ServerKey::Pinned("/keys/pub.pem".into()), false),
            ["server-public-key-path=\"/keys/pub.pem\""]
        );
        assert!(server_key_options(&ServerKey::Fetch, true).is_empty());
    }

    #[test]
    fn the_longest_line_is_found_across_pieces() {
        let mut l = LongestLine::default();
        for piece in [&b"ab"[..], b"c\nINSERT", b" 1234", b"5;\n", b"", b"x\n\n"] {
            l.feed(piece);
        }
        assert_eq!(l.longest(), "INSERT 12345;\n".len());
        let mut tail = LongestLine::default();
        tail.feed(b"a\nno newline at the end");
        assert_eq!(tail.longest(), "no newline at the end".len());
    }

    #[test]
    fn consistency_lock_locks_all_tables_instead_of_the_transaction() {
        use crate::snapshot::Consistency;
        let opts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let given = opts(&[
            "-Qq",
            "--single-transaction",
            "--single_transaction=1",
            "--opt",
        ]);
        assert_eq!(
            with_consistency(given.clone(), Consistency::Lock),
            opts(&["-Qq", "--opt", "--lock-all-tables"])
        );
        assert_eq!(
            with_consistency(given.clone(), Consistency::Snapshot),
            given
        );
    }

    #[test]
    fn force_is_never_passed_on() {
        assert_eq!(without_force("-f"), None);
        assert_eq!(without_force("--force"), None);
        assert_eq!(without_force("-fQq").as_deref(), Some("-Qq"));
        assert_eq!(without_force("-Qfq").as_deref(), Some("-Qq"));
        assert_eq!(
            without_force("--flush-logs").as_deref(),
            Some("--flush-logs")
        );
        assert_eq!(without_force("-Qq").as_deref(), Some("-Qq"));
        // A value is not options: host "fast.example".
        assert_eq!(
            without_force("-hfast.example").as_deref(),
            Some("-hfast.example")
        );
        assert_eq!(without_force("-fhfast").as_deref(), Some("-hfast"));
    }

    #[test]
    fn the_old_packaged_options_lose_only_force_and_gain_the_position() {
        let old: Vec<String> = "-fQq --max-statement-time=0 --max-allowed-packet=1G --hex-blob \
             --order-by-primary --single-transaction --routines=true --triggers=true --opt \
             --net-buffer-length=16M"
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let args = option_args(Some(&old), Flavor::MariaDb, true);
        assert_eq!(args[0], "-Qq");
        assert_eq!(&args[1..old.len()], &old[1..]);
        assert_eq!(args.last().map(String::as_str), Some("--master-data=2"));
        let own = vec!["--source-data=2".to_owned()];
        assert_eq!(option_args(Some(&own), Flavor::MySql, true), own);
    }

    #[test]
    fn without_capture_no_position_option_is_added() {
        let defaults = option_args(None, Flavor::MariaDb, false);
        assert!(
            !defaults
                .iter()
                .any(|a| is_position_option(a) || a == "--gtid"),
            "{defaults:?}"
        );
        assert!(defaults.contains(&"--single-transaction".to_owned()));
        let own = vec!["--hex-blob".to_owned()];
        assert_eq!(option_args(Some(&own), Flavor::MariaDb, false), own);
    }

    #[test]
    fn positions_are_read_from_the_dump_head() {
        let head = b"-- MariaDB dump\n--\n-- Position to start replication or point-in-time recovery from\n--\n\n-- CHANGE MASTER TO MASTER_LOG_FILE='sandbox-bin.000002', MASTER_LOG_POS=1234;\n\n-- SET GLOBAL gtid_slave_pos='0-1-77';\n";
        let s = parse_position(head);
        assert_eq!(s.binlog_file.as_deref(), Some("sandbox-bin.000002"));
        assert_eq!(s.binlog_position, Some(1234));
        assert_eq!(s.gtid_binlog_pos.as_deref(), Some("0-1-77"));
    }
}
