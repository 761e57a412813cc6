//! The harness of the `it` binary: the shared one (`tests/common`, re-exported whole, so tests
//! say `common::…` for either) and the helpers only these tests use. A helper that the other
//! binary starts to use moves to `tests/common`; one that no test uses any more is flagged by
//! the compiler (there is no blanket `dead_code` allow).

#[path = "../common/mod.rs"]
mod shared;

pub use shared::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mysql_async::prelude::*;

impl TestUser {
    /// `sfdbtools -q db-backup <args…>` as this account (password through MYSQL_PWD).
    pub fn backup(&self, args: &[&str], dir: &Path) -> Output {
        self.backup_command(args, dir)
            .output()
            .expect("run sfdbtools")
    }

    /// [`TestUser::backup`], to run or to spawn.
    pub fn backup_command(&self, args: &[&str], dir: &Path) -> Command {
        let mut c = server().sfdbtools();
        c.env("MYSQL_PWD", &self.password)
            .args(["-q", "db-backup"])
            .args(args)
            .arg(format!("--host={}", server().host))
            .arg(format!("--port={}", server().port))
            .arg(format!("--user={}", self.name))
            .arg("-o")
            .arg(dir)
            .args(["-t", "TEST"]);
        c
    }
}

/// A finished command's stdout, as text (stderr's twin is shared with the serial tests).
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until a connection is running exactly `statement` (60 s at most).
pub async fn wait_for_statement(statement: &str) {
    let mut conn = server().conn(None).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: u64 = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = ?",
                (statement,),
            )
            .await
            .unwrap()
            .unwrap();
        if n > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no connection started {statement:?} within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `signal` (`-INT`, `-TERM`) to a running `sfdbtools` and waits for its output.
pub async fn interrupt(child: std::process::Child, signal: &str) -> Output {
    shared::signal(signal, child.id());
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// The TLS-only server of this test binary (`sandbox.sh start --tls`: require_secure_transport,
/// certificates made when it starts), started on first use and apart from [`server`], so that
/// the other tests keep their plaintext server. Always a private one, even with SFDB_TEST_URL:
/// its certificates must be ours.
pub fn tls_server() -> &'static TlsServer {
    static TLS: OnceLock<TlsServer> = OnceLock::new();
    TLS.get_or_init(|| {
        let server = shared::start_sandbox("-tls", &["--tls"]);
        let certs = server.dir.as_ref().expect("a private server").join("tls");
        TlsServer { server, certs }
    })
}

pub struct TlsServer {
    /// Root on 127.0.0.1; it connects over TCP only with TLS.
    pub server: Server,
    /// The files `sandbox.sh` made: ca.pem, server-cert.pem, client-cert.pem, client-key.pem,
    /// and an unrelated CA: other-ca.pem, other-client-cert.pem, other-client-key.pem.
    pub certs: PathBuf,
}

impl TlsServer {
    pub fn cert(&self, file: &str) -> PathBuf {
        self.certs.join(file)
    }

    /// The stock client, TLS with the server's certificate checked against our CA.
    pub fn client(&self, db: Option<&str>) -> Command {
        let mut c = self.server.client(db);
        c.arg("--ssl-verify-server-cert")
            .arg(format!("--ssl-ca={}", self.cert("ca.pem").display()));
        c
    }

    /// Driver options with TLS verified against our CA, for setting up test data.
    pub fn opts(&self, db: Option<&str>) -> mysql_async::Opts {
        let ssl = mysql_async::SslOpts::default()
            .with_root_certs(vec![self.cert("ca.pem").into()])
            .with_disable_built_in_roots(true);
        mysql_async::OptsBuilder::from_opts(self.server.opts(db))
            .ssl_opts(Some(ssl))
            .into()
    }

    pub async fn conn(&self, db: Option<&str>) -> mysql_async::Conn {
        mysql_async::Conn::new(self.opts(db))
            .await
            .expect("connect to the TLS test server")
    }
}
/// The private OpenSSH server of this test binary (`scripts/sshd.sh`), started on first use:
/// key auth for the user running the tests, a host key and user keys generated at its start.
pub struct Sshd {
    pub port: u16,
    pub user: String,
    /// The account for password auth (`sfdbssh`, created by the script when run as root), its
    /// password in `dir/ssh_password`; None when the script could not offer one.
    pub pw_user: Option<String>,
    /// Holds `known_hosts` (its host key), `user_key` (no passphrase), `user_key_pass` (PEM
    /// RSA) and `user_key_enc` (OpenSSH ed25519), both with the passphrase
    /// [`Sshd::KEY_PASSPHRASE`], `host_key.pub`, `sshd.log`.
    pub dir: std::path::PathBuf,
}

impl Sshd {
    pub const KEY_PASSPHRASE: &str = "ssh key ✓";
}

static SSHD: std::sync::OnceLock<Sshd> = std::sync::OnceLock::new();

pub fn sshd() -> &'static Sshd {
    SSHD.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sfdb-sshd-{}", std::process::id()));
        let out = Command::new(root().join("scripts/sshd.sh"))
            .arg("start")
            .arg(&dir)
            .arg("--watch")
            .arg(std::process::id().to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run scripts/sshd.sh");
        assert!(out.status.success(), "scripts/sshd.sh could not start sshd");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |name: &str| {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("sshd.sh printed no {name}: {text}"))
                .to_owned()
        };
        Sshd {
            port: field("port=").parse().expect("port"),
            user: field("user="),
            pw_user: text
                .split_whitespace()
                .find_map(|w| w.strip_prefix("pw_user="))
                .map(str::to_owned),
            dir,
        }
    })
}

/// `sfdbtools -q verify --file F <extra…>`.
pub fn verify(file: &Path, extra: &[&str]) -> Output {
    server()
        .sfdbtools()
        .args(["-q", "verify", "--file"])
        .arg(file)
        .args(extra)
        .output()
        .expect("run sfdbtools")
}

/// A copy of the dump `src` in `dir`, changed by `change`, with a copy of its metadata when
/// `with_metadata`.
pub fn copy_with(
    src: &Path,
    dir: &Path,
    with_metadata: bool,
    change: impl FnOnce(&mut Vec<u8>),
) -> PathBuf {
    let mut bytes = std::fs::read(src).unwrap();
    change(&mut bytes);
    let dst = dir.join(src.file_name().unwrap());
    std::fs::write(&dst, bytes).unwrap();
    if with_metadata {
        std::fs::copy(
            format!("{}.meta.json", src.display()),
            format!("{}.meta.json", dst.display()),
        )
        .unwrap();
    }
    dst
}

/// A command run on a pseudo-terminal (`script`), so that it asks its questions: what it shows
/// is read as it comes, and lines are typed when the test chooses. Secrets typed at a
/// password prompt go through the same terminal (`cli::hidden` reads `/dev/tty`).
pub struct Terminal {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    screen: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// Where the last [`Terminal::wait_for`] match ended: the next one looks only after it, so
    /// a menu shown again is waited for, not found in its first showing.
    seen: std::cell::Cell<usize>,
}

impl Terminal {
    /// Starts `cmd` (its program, arguments, environment and directory) on a terminal.
    pub fn spawn(cmd: &Command) -> Terminal {
        Terminal::spawn_with(cmd, "")
    }

    /// [`Terminal::spawn`], the shell line ending with `tail` (a redirection, more commands).
    pub fn spawn_with(cmd: &Command, tail: &str) -> Terminal {
        let quote =
            |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
        let line: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(quote)
            .collect();
        let mut script = Command::new("script");
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => script.env(key, v),
                None => script.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            script.current_dir(dir);
        }
        let mut child = script
            .args(["-qec", &format!("{}{tail}", line.join(" ")), "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run script(1)");
        let mut out = child.stdout.take().unwrap();
        let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let shown = screen.clone();
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal {
            stdin: child.stdin.take(),
            child,
            screen,
            reader: Some(reader),
            seen: std::cell::Cell::new(0),
        }
    }

    /// What the terminal has shown so far.
    pub fn screen(&self) -> String {
        self.screen.lock().unwrap().clone()
    }

    /// Waits until the terminal shows `text` after what the previous wait matched (60 s at
    /// most); returns the whole screen.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if let Some(at) = screen[self.seen.get()..].find(text) {
                self.seen.set(self.seen.get() + at + text.len());
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} not shown within 60 s: {screen}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types `line` and Enter.
    pub fn type_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("the terminal's input is open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the input and waits for the command: its exit code and everything it showed.
    pub fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("wait for script(1)");
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        (status.code(), self.screen())
    }
}

/// The private S3 API server of this test binary (`scripts/s3server.sh`: moto's server on a
/// loopback port, authentication on), started on first use.
pub struct S3Server {
    pub port: u16,
    /// The keys of the account allowed everything; any other keys are refused.
    pub key_id: String,
    pub secret: String,
}

static S3: OnceLock<S3Server> = OnceLock::new();
static S3_PAST: OnceLock<S3Server> = OnceLock::new();

pub fn s3_server() -> &'static S3Server {
    S3.get_or_init(|| start_s3("now", &[]))
}

/// A second S3 server whose clock runs [`S3_PAST_DAYS`] days behind (faketime): what it
/// stores is that old, as `cleanup` sees it.
pub fn s3_server_in_the_past() -> &'static S3Server {
    S3_PAST.get_or_init(|| start_s3("past", &["--days-ago", &S3_PAST_DAYS.to_string()]))
}

pub const S3_PAST_DAYS: u64 = 10;

fn start_s3(tag: &str, extra: &[&str]) -> S3Server {
    let dir = std::env::temp_dir().join(format!("sfdb-s3-{tag}-{}", std::process::id()));
    let out = Command::new(root().join("scripts/s3server.sh"))
        .arg("start")
        .arg(&dir)
        .arg("--watch")
        .arg(std::process::id().to_string())
        .args(extra)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run scripts/s3server.sh");
    assert!(out.status.success(), "scripts/s3server.sh could not start");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let port = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("port="))
        .unwrap_or_else(|| panic!("s3server.sh printed no port: {text}"))
        .parse()
        .expect("port");
    let creds = std::fs::read_to_string(dir.join("credentials")).expect("credentials");
    let (key_id, secret) = creds.trim().split_once(' ').expect("KEY_ID SECRET");
    S3Server {
        port,
        key_id: key_id.to_owned(),
        secret: secret.to_owned(),
    }
}

static BUCKETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl S3Server {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `scripts/s3tool.py ARGS…` against this server, with its keys; stdout.
    fn tool(&self, args: &[&str]) -> String {
        let out = Command::new("python3")
            .arg(root().join("scripts/s3tool.py"))
            .args(args)
            .env("S3_PORT", self.port.to_string())
            .env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .output()
            .expect("run s3tool.py");
        assert_success(&out, &format!("s3tool.py {args:?}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new, empty bucket for one test.
    pub fn new_bucket(&self, tag: &str) -> String {
        let name = format!(
            "sfdb-{tag}-{}-{}",
            std::process::id(),
            BUCKETS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        self.tool(&["mb", &name]);
        name
    }

    /// The parts stored so far by each incomplete multipart upload of the bucket.
    pub fn upload_parts(&self, bucket: &str) -> Vec<usize> {
        self.tool(&["uploads", bucket])
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2).and_then(|n| n.parse().ok()))
            .collect()
    }

    /// Aborts every incomplete multipart upload of the bucket, from outside the tool.
    pub fn abort_uploads(&self, bucket: &str) {
        self.tool(&["abort-uploads", bucket]);
    }

    /// The keys of the bucket's incomplete multipart uploads.
    pub fn incomplete_uploads(&self, bucket: &str) -> Vec<String> {
        self.tool(&["uploads", bucket])
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    }

    /// The bucket through the crate the tool uses, as a reader independent of the tool's code.
    pub fn store(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        let _ = rustls::crypto::ring::default_provider().install_default();
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .build()
            .expect("S3 client")
    }

    /// The keys of the bucket's objects, sorted.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        use futures_util::StreamExt;
        use object_store::ObjectStore;
        let store = self.store(bucket);
        let mut keys: Vec<String> = store
            .list(None)
            .map(|m| m.expect("list").location.to_string())
            .collect()
            .await;
        keys.sort();
        keys
    }

    /// Downloads `key` into `dir` under its last name; the local path.
    pub async fn download(&self, bucket: &str, key: &str, dir: &Path) -> PathBuf {
        use object_store::ObjectStoreExt;
        let store = self.store(bucket);
        let bytes = store
            .get(&object_store::path::Path::from(key))
            .await
            .unwrap_or_else(|e| panic!("GET {key}: {e}"))
            .bytes()
            .await
            .expect("object body");
        let path = dir.join(key.rsplit('/').next().unwrap());
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `sfdbtools db-backup …` of the test server into `s3://bucket/prefix`, with this server's
    /// keys in the environment (and no other AWS settings of the machine).
    pub fn backup_command(&self, args: &[&str], dest: &str) -> Command {
        let mut c = self.command();
        c.arg("-q")
            .arg("db-backup")
            .args(args)
            .args(server().connection_args())
            .args(["-o", dest, "-t", "TEST"]);
        c
    }

    /// `sfdbtools` with this server's keys in the environment and no other AWS settings of
    /// the machine; the endpoint is the test's to give.
    pub fn command(&self) -> Command {
        let mut c = server().sfdbtools();
        for v in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
        ] {
            c.env_remove(v);
        }
        c.env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret);
        c
    }
}

/// The notes of a run that say a table's secondary keys are built after its rows
/// (`--keys-after-rows`), from its JSON events.
pub fn key_notes(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.contains("building its secondary keys"))
        .collect()
}

/// The tables (`` `db`.`t` ``) of [`key_notes`], sorted.
pub fn keys_built_after(events: &[serde_json::Value]) -> Vec<String> {
    let mut out: Vec<String> = key_notes(events)
        .iter()
        .map(|m| m.split(':').next().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    out
}
