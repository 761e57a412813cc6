//! Test harness shared by the integration test binaries (`it`, `serial`): one private MariaDB
//! per test binary, a database per test, the stock client for restores, and a precise database
//! comparison. Each binary includes it through its own `common.rs`, next to the helpers only
//! that binary uses.
//!
//! `SFDB_TEST_URL=mysql://user:pass@host:port` points the tests at an external server instead
//! (MySQL 8, another MariaDB); nothing is started then.

pub mod compare;
pub mod copying;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::*;

pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    /// Where the private server lives (None for an external one).
    pub dir: Option<PathBuf>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The server of this test binary, started on first use.
pub fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var("SFDB_TEST_URL") {
        Ok(url) if !url.is_empty() => parse_url(&url),
        _ => start_private(),
    })
}

fn parse_url(url: &str) -> Server {
    let rest = url
        .strip_prefix("mysql://")
        .expect("SFDB_TEST_URL must look like mysql://user:pass@host:port");
    let (auth, addr) = rest
        .rsplit_once('@')
        .expect("SFDB_TEST_URL needs user@host");
    let (user, password) = match auth.split_once(':') {
        Some((u, p)) => (u.to_owned(), Some(p.to_owned())),
        None => (auth.to_owned(), None),
    };
    let addr = addr.trim_end_matches('/');
    let (host, port) = match addr.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().expect("port")),
        None => (addr.to_owned(), 3306),
    };
    Server {
        host,
        port,
        user,
        password,
        dir: None,
    }
}

fn start_private() -> Server {
    start_sandbox("", &[])
}

impl Server {
    /// MariaDB (its GTID replication, its system tables), not MySQL.
    pub fn is_mariadb(&self) -> bool {
        let out = self
            .client(None)
            .args(["-N", "-e", "SELECT VERSION()"])
            .output()
            .expect("run mariadb");
        String::from_utf8_lossy(&out.stdout)
            .to_lowercase()
            .contains("mariadb")
    }
}

/// A private server of this test binary from `scripts/sandbox.sh start` (`tag` tells the
/// directories of two servers of one binary apart, `extra` are sandbox options).
pub fn start_sandbox(tag: &str, extra: &[&str]) -> Server {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "test".into());
    let dir = std::env::temp_dir().join(format!("sfdb-test-{}-{binary}{tag}", std::process::id()));
    let out = Command::new(root().join("scripts/sandbox.sh"))
        .arg("start")
        .arg(&dir)
        .arg("--watch")
        .arg(std::process::id().to_string())
        .args(extra)
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/sandbox.sh");
    assert!(
        out.status.success(),
        "scripts/sandbox.sh could not start a MariaDB server"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let port = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("sandbox.sh printed no port: {text}"));
    Server {
        host: "127.0.0.1".into(),
        port,
        user: "root".into(),
        password: None,
        dir: Some(dir),
    }
}

impl Server {
    pub fn opts(&self, db: Option<&str>) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(self.password.clone())
            .db_name(db.map(str::to_owned))
            .prefer_socket(false)
            .into()
    }

    pub async fn conn(&self, db: Option<&str>) -> mysql_async::Conn {
        mysql_async::Conn::new(self.opts(db))
            .await
            .expect("connect to the test server")
    }

    /// The stock client, connected by TCP, password through the environment.
    pub fn client(&self, db: Option<&str>) -> Command {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("--host={}", self.host))
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={}", self.user))
            .arg("--protocol=TCP")
            .arg("--max-allowed-packet=1G");
        if let Some(p) = &self.password {
            c.env("MYSQL_PWD", p);
        }
        if let Some(db) = db {
            c.arg(db);
        }
        c
    }

    /// Our binary with this server's connection flags.
    pub fn sfdbtools(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_sfdbtools"));
        c.env_remove("SFDB_BACKUP_ENCRYPTION_KEY");
        // No config file and no profile of the machine may change what a test runs: an empty
        // config means built-in defaults. Tests of the config set their own.
        c.env("SFDB_APPS_CONFIG", "/dev/null")
            .env_remove("SFDB_SOURCE_PROFILE")
            .env_remove("SFDB_SOURCE_PROFILE_KEY")
            .env_remove("SFDB_TARGET_PROFILE")
            .env_remove("SFDB_TARGET_PROFILE_KEY");
        match &self.password {
            Some(p) => c.env("MYSQL_PWD", p),
            None => c.env_remove("MYSQL_PWD"),
        };
        c
    }

    pub fn connection_args(&self) -> Vec<String> {
        vec![
            format!("--host={}", self.host),
            format!("--port={}", self.port),
            format!("--user={}", self.user),
        ]
    }

    /// Feeds an SQL file to the stock client (`--show-warnings`); returns its output.
    pub fn load_file(&self, db: &str, file: &Path) -> Output {
        let input = std::fs::File::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // --comments: the stock client strips comments inside routine bodies by default.
        self.client(Some(db))
            .arg("--show-warnings")
            .arg("--comments")
            .stdin(input)
            .output()
            .expect("run mariadb")
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database of one test, dropped when the test passes (kept for inspection when it fails).
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    /// Creates `t_<tag>_<n>_<pid>` (an odd `tag` makes an odd name).
    pub async fn new(tag: &str) -> TestDb {
        let name = format!(
            "t_{tag}_{}_{}",
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::process::id()
        );
        let mut conn = server().conn(None).await;
        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(&name)))
            .await
            .unwrap();
        conn.query_drop(format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4",
            quote(&name)
        ))
        .await
        .unwrap();
        conn.disconnect().await.unwrap();
        TestDb { name }
    }

    pub async fn conn(&self) -> mysql_async::Conn {
        server().conn(Some(&self.name)).await
    }

    pub async fn exec(&self, sql: &str) {
        let mut c = self.conn().await;
        c.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        c.disconnect().await.unwrap();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping database {} for inspection", self.name);
            return;
        }
        let _ = server()
            .client(None)
            .arg("-e")
            .arg(format!("DROP DATABASE IF EXISTS {}", quote(&self.name)))
            .output();
    }
}

pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A fresh, empty directory for one test's output files.
pub fn out_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sfdb-out-")
        .tempdir()
        .expect("temp dir")
}

/// Files in `dir` (names only), sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Panics with both streams when a command failed.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `sfdbtools -q db-backup <args…>` against the test server into `dir`, ticket `TEST`, with
/// the defaults (zstd; no key in the environment, so unencrypted) unless `args` say otherwise;
/// to run or to spawn.
pub fn backup_command(args: &[&str], dir: &Path) -> Command {
    let mut c = server().sfdbtools();
    c.arg("-q")
        .arg("db-backup")
        .args(args)
        .args(server().connection_args())
        .arg("-o")
        .arg(dir)
        .args(["-t", "TEST"]);
    c
}

/// Runs [`backup_command`] to its end.
pub fn backup(args: &[&str], dir: &Path) -> Output {
    backup_command(args, dir).output().expect("run sfdbtools")
}

/// An account of one test, created with `grants` and dropped with the value.
pub struct TestUser {
    pub name: String,
    pub password: String,
}

impl TestUser {
    pub async fn new(tag: &str, password: &str, grants: &str) -> TestUser {
        let name = format!("{tag}_{}", std::process::id());
        let mut root = server().conn(None).await;
        root.query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
            .await
            .unwrap();
        root.query_drop(format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY {}",
            sql_string(password)
        ))
        .await
        .unwrap();
        root.query_drop(format!("GRANT {grants} TO '{name}'@'%'"))
            .await
            .unwrap();
        TestUser {
            name,
            password: password.to_owned(),
        }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = server()
            .client(None)
            .arg("-e")
            .arg(format!("DROP USER IF EXISTS '{}'@'%'", self.name))
            .output();
    }
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Asserts that no lock of a finished dump is left on the server: FLUSH TABLES WITH READ LOCK
/// and a DDL on `db.table` go through. Waits up to 60 s, since other tests' dumps may hold
/// their own locks for a while, and the server may still be tearing down the connections of a
/// process that just died (a deadlock error then picks our statement as the victim); a lock
/// really left behind never goes away.
pub async fn assert_no_lock_left(db: &str, table: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let alter = format!(
        "ALTER TABLE {}.{} ADD COLUMN lock_probe INT",
        quote(db),
        quote(table)
    );
    let mut c = server().conn(None).await;
    c.query_drop("SET SESSION lock_wait_timeout = 10")
        .await
        .unwrap();
    loop {
        let attempt = async {
            c.query_drop("FLUSH TABLES WITH READ LOCK").await?;
            c.query_drop("UNLOCK TABLES").await?;
            c.query_drop(&alter).await
        }
        .await;
        match attempt {
            Ok(()) => return,
            // Deadlock victim or lock wait timeout: a lock still held, for now.
            Err(mysql_async::Error::Server(e))
                if (e.code == 1213 || e.code == 1205) && Instant::now() < deadline =>
            {
                let _ = c.query_drop("UNLOCK TABLES").await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("a lock is left on the server ({db}.{table}): {e}"),
        }
    }
}

/// True for a dump file's name: not its metadata, not the accounts file, not the record
/// `verify` leaves, not a temporary file.
pub fn is_dump_file(name: &str) -> bool {
    !name.ends_with(".meta.json")
        && !name.ends_with(".verify.json")
        && !name.starts_with('.')
        && !name.ends_with("_users.sql")
        && !name.ends_with("_users.sql.enc")
}

/// The single dump file (not metadata, not the accounts file) in `dir`.
pub fn dump_file_in(dir: &Path) -> PathBuf {
    let files: Vec<String> = files_in(dir)
        .into_iter()
        .filter(|f| is_dump_file(f))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one dump file expected in {}, found {files:?}",
        dir.display()
    );
    dir.join(&files[0])
}

/// The metadata of a dump file.
pub fn metadata_of(file: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{}.meta.json", file.display()))
        .unwrap_or_else(|e| panic!("metadata of {}: {e}", file.display()));
    serde_json::from_str(&text).unwrap()
}

/// Restores `file` into `db` with the stock client; panics on any error or warning.
pub fn restore_with_client(db: &str, file: &Path) {
    let out = server().load_file(db, file);
    let noise =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !noise.trim().is_empty() {
        let kept = std::env::temp_dir().join(format!("sfdb-failed-{}.sql", std::process::id()));
        let _ = std::fs::copy(file, &kept);
        panic!(
            "the restore ({}) printed:\n{noise}\n(dump kept as {})",
            out.status,
            kept.display()
        );
    }
}

/// Sends `signal` (`-STOP`, `-CONT`, `-INT`…) to process `pid`, with `kill`.
pub fn signal(signal: &str, pid: u32) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} failed");
}

/// Waits until a dump streams the rows of `db`.`big`; returns that worker's connection id.
pub async fn wait_for_rows(db: &str) -> u64 {
    wait_for_statement_on_big(
        db,
        "INFO LIKE 'SELECT /*!40001 SQL_NO_CACHE */%'",
        "the dump never started reading",
    )
    .await
}

/// Waits until a statement about `db`.`big` matching `condition` (on PROCESSLIST) runs;
/// returns its connection id.
pub async fn wait_for_statement_on_big(db: &str, condition: &str, never: &str) -> u64 {
    let mut conn = server().conn(None).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let sql = format!(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE {condition} AND INSTR(INFO, ?) > 0 LIMIT 1"
    );
    loop {
        let id: Option<u64> = conn
            .exec_first(sql.as_str(), (format!("`{db}`.`big`"),))
            .await
            .unwrap();
        if let Some(id) = id {
            return id;
        }
        assert!(Instant::now() < deadline, "{never}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `big`: 300000 rows of 255 bytes (about 80 MB of SQL), enough for a dump to be caught while
/// it streams.
pub async fn create_big_table(db: &TestDb) {
    db.exec(
        "CREATE TABLE big (id INT PRIMARY KEY, pad CHAR(255));
         INSERT INTO big SELECT seq, REPEAT('b', 255) FROM seq_1_to_300000;",
    )
    .await;
}

/// A finished command's stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Both streams of a finished command, for messages and `contains` checks.
pub fn output_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `sfdbtools -q db-restore single --file F --target-db DB <extra…>` against the test server,
/// ticket `TEST`.
pub fn restore_single(file: &Path, target: &str, extra: &[&str]) -> Output {
    server()
        .sfdbtools()
        .args(["-q", "db-restore", "single", "--file"])
        .arg(file)
        .args(["--target-db", target])
        .args(extra)
        .args(server().connection_args())
        .args(["-t", "TEST"])
        .output()
        .expect("run sfdbtools")
}

/// `db-backup single` of `db`, uncompressed and unencrypted, into `dir`; the dump's path.
pub fn dump_plain(db: &str, dir: &Path) -> PathBuf {
    assert_success(
        &backup(
            &["single", "--database", db, "-c", "none", "--skip-encrypt"],
            dir,
        ),
        "backup",
    );
    dump_file_in(dir)
}

/// Panics with every difference when the two databases differ (see `compare`).
pub async fn assert_same(src: &str, dst: &str) {
    let mut conn = server().conn(None).await;
    let a = compare::image(&mut conn, src).await;
    let b = compare::image(&mut conn, dst).await;
    let d = compare::diff(&a, &b);
    assert!(d.is_empty(), "differences after restore:\n{}", d.join("\n"));
}

/// Whether a database of exactly this name exists.
pub async fn database_exists(name: &str) -> bool {
    let mut c = server().conn(None).await;
    let n: Option<String> = c
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (name,),
        )
        .await
        .unwrap();
    n.is_some()
}

/// `SELECT COUNT(*)` of `db`.`table`.
pub async fn count_rows(db: &str, table: &str) -> u64 {
    let mut c = server().conn(None).await;
    let n: u64 = c
        .query_first(format!(
            "SELECT COUNT(*) FROM {}.{}",
            quote(db),
            quote(table)
        ))
        .await
        .unwrap()
        .unwrap();
    c.disconnect().await.unwrap();
    n
}

/// `sfdbtools db-backup single` of `db` into `dir`, uncompressed, with `--row-reader reader`.
pub fn dump_with_reader(db: &str, dir: &Path, reader: &str, extra: &[&str]) -> (PathBuf, Output) {
    let out = backup(
        &[
            &[
                "single",
                "--database",
                db,
                "-c",
                "none",
                "--row-reader",
                reader,
            ][..],
            extra,
        ]
        .concat(),
        dir,
    );
    assert_success(&out, &format!("dump with --row-reader {reader}"));
    (dump_file_in(dir), out)
}

/// The dump without its comment lines (which carry the time and the tool version).
pub fn sql_body(file: &Path) -> Vec<u8> {
    let bytes = std::fs::read(file).unwrap();
    bytes
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| !l.starts_with(b"-- "))
        .flatten()
        .copied()
        .collect()
}

/// Per table: (name, rows, checksum) from a dump's metadata.
pub fn table_sums(file: &Path) -> Vec<(String, u64, String)> {
    let meta = metadata_of(file);
    meta["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap_or_default().to_owned(),
                t["rows"].as_u64().unwrap(),
                t["checksum"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Asserts both files hold the same SQL and the same per-table checksums.
pub fn assert_same_dump(wire: &Path, driver: &Path) {
    let (a, b) = (sql_body(wire), sql_body(driver));
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let show = |v: &[u8]| {
            String::from_utf8_lossy(&v[at.saturating_sub(80)..(at + 80).min(v.len())]).into_owned()
        };
        panic!(
            "the readers' dumps differ at byte {at} (lengths {} and {}):\nwire:   {}\ndriver: {}",
            a.len(),
            b.len(),
            show(&a),
            show(&b)
        );
    }
    assert_eq!(table_sums(wire), table_sums(driver));
}
