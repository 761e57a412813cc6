//! The `dbsf_nbc_` modes end to end: which databases primary, secondary and single take, the
//! exact files and metadata they write, the session tables whose rows they leave out, the
//! dry run, and the interactive questions.
//!
//! Every test works on its own client code (`dbsf_nbc_<code>…`), so tests run in parallel on
//! the binary's one server without seeing each other's databases.

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    TestDb, assert_success, backup, files_in, metadata_of, out_dir, quote, restore_with_client,
    server,
};
use mysql_async::prelude::*;

static CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// The databases of one made-up client, dropped with the value.
struct Client {
    code: String,
    dbs: Vec<String>,
}

impl Client {
    /// Creates `dbsf_nbc_<code><suffix>` for each suffix (and any `extra` full names), each with
    /// `orders` (2 rows) and the three session tables (1 row each; one of them MyISAM).
    async fn new(tag: &str, suffixes: &[&str], extra: &[&str]) -> Client {
        let code = format!(
            "{tag}{}p{}",
            CLIENTS.fetch_add(1, Ordering::SeqCst),
            std::process::id()
        );
        let mut dbs: Vec<String> = suffixes
            .iter()
            .map(|s| format!("dbsf_nbc_{code}{s}"))
            .collect();
        dbs.extend(extra.iter().map(|e| e.replace("{code}", &code)));
        let mut c = server().conn(None).await;
        for db in &dbs {
            let q = quote(db);
            c.query_drop(format!(
                "DROP DATABASE IF EXISTS {q}; CREATE DATABASE {q};
                 CREATE TABLE {q}.orders (id INT PRIMARY KEY, note VARCHAR(20));
                 INSERT INTO {q}.orders VALUES (1, 'a'), (2, 'b');
                 CREATE TABLE {q}.tsflpageview (id INT PRIMARY KEY, url VARCHAR(50));
                 INSERT INTO {q}.tsflpageview VALUES (1, '/home');
                 CREATE TABLE {q}.tsfltokensess (token VARCHAR(40) PRIMARY KEY);
                 INSERT INTO {q}.tsfltokensess VALUES ('secret-token');
                 CREATE TABLE {q}.tcllusersession (id INT PRIMARY KEY) ENGINE=MyISAM;
                 INSERT INTO {q}.tcllusersession VALUES (42);"
            ))
            .await
            .unwrap_or_else(|e| panic!("creating {db}: {e}"));
        }
        c.disconnect().await.unwrap();
        Client { code, dbs }
    }

    fn db(&self, suffix: &str) -> String {
        format!("dbsf_nbc_{}{suffix}", self.code)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping databases {:?} for inspection", self.dbs);
            return;
        }
        for db in &self.dbs {
            let _ = server()
                .client(None)
                .arg("-e")
                .arg(format!("DROP DATABASE IF EXISTS {}", quote(db)))
                .output();
        }
    }
}

async fn hostname() -> String {
    let mut c = server().conn(None).await;
    let h: String = c.query_first("SELECT @@hostname").await.unwrap().unwrap();
    c.disconnect().await.unwrap();
    h
}

/// `databases` in the server's `SHOW DATABASES` order.
async fn in_server_order(databases: &[String]) -> Vec<String> {
    let mut c = server().conn(None).await;
    let all: Vec<String> = c.query("SHOW DATABASES").await.unwrap();
    c.disconnect().await.unwrap();
    all.into_iter().filter(|d| databases.contains(d)).collect()
}

/// The `YYYYMMDD_HHMMSS` of `{db}_{YYYYMMDD}_{HHMMSS}_{host}.sql` among `files`.
fn timestamp_of(files: &[String], db: &str, host: &str) -> String {
    files
        .iter()
        .find_map(|f| {
            let ts = f
                .strip_prefix(&format!("{db}_"))?
                .strip_suffix(&format!("_{host}.sql"))?;
            let ok = ts.len() == 15
                && ts.as_bytes()[8] == b'_'
                && ts.chars().filter(|c| c.is_ascii_digit()).count() == 14;
            ok.then(|| ts.to_owned())
        })
        .unwrap_or_else(|| panic!("no dump file of {db} in {files:?}"))
}

/// The exact files of a one-file-per-database run: each dump and its metadata, and the
/// accounts file of the first dump.
fn expected_files(dbs: &[String], ts: &str, host: &str) -> Vec<String> {
    let mut v: Vec<String> = dbs
        .iter()
        .flat_map(|db| {
            let f = format!("{db}_{ts}_{host}.sql");
            [format!("{f}.meta.json"), f]
        })
        .collect();
    v.push(format!("{}_{ts}_{host}_users.sql", dbs[0]));
    v.sort();
    v
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a file's `database_details`: each (database, file) with its exact final size.
fn assert_details(meta: &serde_json::Value, expected: &[(&str, &Path)]) {
    let details = meta["database_details"]
        .as_array()
        .unwrap_or_else(|| panic!("no database_details in {meta}"));
    assert_eq!(details.len(), expected.len(), "{details:?}");
    for (d, (db, path)) in details.iter().zip(expected) {
        assert_eq!(d["database_name"], *db);
        assert_eq!(d["backup_file"], path.display().to_string());
        let size = std::fs::metadata(path).unwrap().len();
        assert_eq!(d["file_size_bytes"], size, "{db}: the exact final size");
        assert!(d["file_size_human"].as_str().unwrap().ends_with('B'));
    }
}

/// Session tables keep their schema but not their rows; everything else is dumped whole.
async fn assert_session_rows_left_out(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    for t in ["tsflpageview", "tsfltokensess", "tcllusersession"] {
        assert!(text.contains(&format!("CREATE TABLE `{t}`")), "{t} schema");
        assert!(!text.contains(&format!("INSERT INTO `{t}`")), "{t} rows");
    }
    assert!(!text.contains("secret-token"));
    assert!(text.contains("INSERT INTO `orders`"));
    let copy = TestDb::new("pkg_copy").await;
    restore_with_client(&copy.name, file);
    assert_eq!(common::count_rows(&copy.name, "orders").await, 2);
    for t in ["tsflpageview", "tsfltokensess", "tcllusersession"] {
        assert_eq!(common::count_rows(&copy.name, t).await, 0, "{t}");
    }
}

#[tokio::test]
async fn primary_writes_each_database_of_the_client_and_its_companion() {
    let client = Client::new(
        "pri",
        &["", "_dmart", "_secondary_1", "_temp", "_archive"],
        &["Dbsf_Nbc_{code}_Sales", "dbsf_nbc_{code}x"],
    )
    .await;
    let (main, dmart) = (client.db(""), client.db("_dmart"));
    let sales = format!("Dbsf_Nbc_{}_Sales", client.code);
    let dir = out_dir();
    let out = backup(
        &[
            "primary",
            "--client-code",
            &client.code.to_uppercase(),
            "--include-dmart",
            "-c",
            "none",
        ],
        dir.path(),
    );
    assert_success(&out, "primary");

    // The client's primaries in server order, the companion right after its database; not the
    // secondary, _temp, _archive, nor dbsf_nbc_<code>x (another client).
    let mut dbs = in_server_order(&[main.clone(), sales.clone()]).await;
    let at = dbs.iter().position(|d| *d == main).unwrap();
    dbs.insert(at + 1, dmart.clone());
    let host = hostname().await;
    let files = files_in(dir.path());
    let ts = timestamp_of(&files, &main, &host);
    assert_eq!(files, expected_files(&dbs, &ts, &host));

    let path = |db: &str| dir.path().join(format!("{db}_{ts}_{host}.sql"));
    let grants = dir.path().join(format!("{}_{ts}_{host}_users.sql", dbs[0]));
    for db in &dbs {
        let meta = metadata_of(&path(db));
        assert_eq!(meta["backup"]["type"], "primary");
        assert_eq!(
            strings(&meta["backup"]["databases"]),
            std::slice::from_ref(db)
        );
        let excluded = strings(&meta["backup"]["excluded_databases"]);
        for other in ["_secondary_1", "_temp", "_archive", "x"] {
            assert!(
                excluded.contains(&client.db(other)),
                "{other}: {excluded:?}"
            );
        }
        assert_eq!(meta["ticket"], "TEST");
        assert_eq!(
            meta["additional_files"]["user_grants"],
            grants.display().to_string()
        );
        let skipped: Vec<(String, String)> = meta["data_skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["database"].as_str().unwrap().to_owned(),
                    t["table"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = ["tcllusersession", "tsflpageview", "tsfltokensess"]
            .iter()
            .map(|t| (db.clone(), t.to_string()))
            .collect();
        assert_eq!(skipped, want);
    }
    let package = [(main.as_str(), path(&main)), (dmart.as_str(), path(&dmart))];
    let package: Vec<(&str, &Path)> = package.iter().map(|(d, p)| (*d, p.as_path())).collect();
    assert_details(&metadata_of(&path(&main)), &package);
    assert_details(&metadata_of(&path(&dmart)), &package);
    assert_details(
        &metadata_of(&path(&sales)),
        &[(sales.as_str(), &path(&sales))],
    );

    assert_session_rows_left_out(&path(&main)).await;
    assert_session_rows_left_out(&path(&dmart)).await;
}

#[tokio::test]
async fn secondary_takes_the_instance_and_its_companion_only() {
    let client = Client::new(
        "sec",
        &[
            "",
            "_secondary_1",
            "_secondary_1_dmart",
            "_secondary_10",
            "_secondary_2",
            "_secondary_2_temp",
        ],
        &[],
    )
    .await;
    let dir = out_dir();
    let out = backup(
        &[
            "secondary",
            "--client-code",
            &client.code,
            "--instance",
            "1",
            "--include-dmart",
            "-c",
            "none",
        ],
        dir.path(),
    );
    assert_success(&out, "secondary");
    let (s1, s1d) = (client.db("_secondary_1"), client.db("_secondary_1_dmart"));
    let host = hostname().await;
    let files = files_in(dir.path());
    let ts = timestamp_of(&files, &s1, &host);
    assert_eq!(
        files,
        expected_files(&[s1.clone(), s1d.clone()], &ts, &host)
    );
    let path = |db: &str| dir.path().join(format!("{db}_{ts}_{host}.sql"));
    let meta = metadata_of(&path(&s1));
    assert_eq!(meta["backup"]["type"], "secondary");
    assert_details(&meta, &[(&s1, &path(&s1)), (&s1d, &path(&s1d))]);
    assert_session_rows_left_out(&path(&s1)).await;

    // Without an instance: every secondary of the client, no companion, no _temp. A dry run
    // prints that plan and writes nothing.
    let target = dir.path().join("dry");
    let out = backup(
        &["secondary", "--client-code", &client.code, "--dry-run"],
        &target,
    );
    assert_success(&out, "secondary --dry-run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let planned: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("dbsf_nbc_"))
        .collect();
    let want = in_server_order(&[
        s1.clone(),
        client.db("_secondary_10"),
        client.db("_secondary_2"),
    ])
    .await;
    assert_eq!(planned, want);
    assert!(
        stdout.contains("rows left out (schema kept)")
            && stdout.contains(&format!("{s1}.tsflpageview")),
        "{stdout}"
    );
    assert!(
        stdout.contains("_users.sql"),
        "the grants file is planned: {stdout}"
    );
    assert!(!target.exists(), "a dry run creates no directory");
}

#[tokio::test]
async fn single_refuses_temp_and_archive_and_dumps_only_the_named_database() {
    let client = Client::new("sgl", &["", "_temp", "_archive", "_dmart"], &[]).await;
    let dir = out_dir();
    for suffix in ["_temp", "_archive"] {
        let db = client.db(suffix);
        let out = backup(&["single", "--database", &db, "-c", "none"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("`{db}` ends in {suffix}")) && stderr.contains("filter --db"),
            "{stderr}"
        );
    }
    assert!(files_in(dir.path()).is_empty());

    let main = client.db("");
    let out = backup(&["single", "--database", &main, "-c", "none"], dir.path());
    assert_success(&out, "single");
    let dumps: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| common::is_dump_file(f))
        .collect();
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    let meta = metadata_of(&dir.path().join(&dumps[0]));
    assert_eq!(strings(&meta["backup"]["databases"]), [main]);
    assert!(meta.get("database_details").is_none(), "{meta}");
    // single keeps the session tables' rows.
    let text = std::fs::read_to_string(dir.path().join(&dumps[0])).unwrap();
    assert!(text.contains("INSERT INTO `tsflpageview`"));
}

/// The mysqldump engine leaves out the same rows (`--ignore-table-data`).
#[tokio::test]
async fn primary_with_mysqldump_leaves_out_session_rows() {
    let client = Client::new("mdp", &[""], &[]).await;
    let dir = out_dir();
    let out = backup(
        &[
            "primary",
            "--client-code",
            &client.code,
            "--engine",
            "mysqldump",
            "-c",
            "none",
        ],
        dir.path(),
    );
    assert_success(&out, "primary --engine mysqldump");
    let main = client.db("");
    let host = hostname().await;
    let files = files_in(dir.path());
    let ts = timestamp_of(&files, &main, &host);
    assert_eq!(
        files,
        expected_files(std::slice::from_ref(&main), &ts, &host)
    );
    let file = dir.path().join(format!("{main}_{ts}_{host}.sql"));
    let meta = metadata_of(&file);
    assert_eq!(meta["engine"], "mysqldump");
    assert_eq!(meta["data_skipped"].as_array().unwrap().len(), 3);
    assert_details(&meta, &[(&main, &file)]);
    let text = std::fs::read_to_string(&file).unwrap();
    for t in ["tsflpageview", "tsfltokensess", "tcllusersession"] {
        assert!(text.contains(&format!("CREATE TABLE `{t}`")), "{t}");
        assert!(!text.contains(&format!("INSERT INTO `{t}`")), "{t}");
    }
    assert!(text.contains("INSERT INTO `orders`"));
}

/// `--ignore-table-data` adds to the session tables of primary (both in `data_skipped`, with
/// either engine); `--tables` leaves out the companion none of whose tables it matches.
#[tokio::test]
async fn primary_adds_ignore_table_data_to_the_session_tables() {
    let client = Client::new("pid", &["", "_dmart"], &[]).await;
    let main = client.db("");
    for engine in ["native", "mysqldump"] {
        let dir = out_dir();
        let out = backup(
            &[
                "primary",
                "--client-code",
                &client.code,
                "--include-dmart",
                "-c",
                "none",
                "--engine",
                engine,
                "--tables",
                &format!("{main}.*"),
                "--ignore-table-data",
                &format!("{main}.orders"),
            ],
            dir.path(),
        );
        assert_success(&out, &format!("primary --ignore-table-data ({engine})"));
        let dumps: Vec<String> = files_in(dir.path())
            .into_iter()
            .filter(|f| common::is_dump_file(f))
            .collect();
        assert_eq!(
            dumps.len(),
            1,
            "{engine}: the companion is left out: {dumps:?}"
        );
        let file = dir.path().join(&dumps[0]);
        let meta = metadata_of(&file);
        let skipped: Vec<&str> = meta["data_skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["table"].as_str().unwrap())
            .collect();
        assert_eq!(
            skipped,
            ["orders", "tcllusersession", "tsflpageview", "tsfltokensess"],
            "{engine}"
        );
        assert_eq!(
            meta["selection"]["databases_left_out"],
            serde_json::json!([client.db("_dmart")]),
            "{engine}"
        );
        let copy = TestDb::new("pid_copy").await;
        restore_with_client(&copy.name, &file);
        for t in ["orders", "tsflpageview", "tsfltokensess", "tcllusersession"] {
            assert_eq!(common::count_rows(&copy.name, t).await, 0, "{engine}: {t}");
        }
    }
}

/// `-E` drops databases without tables, also a package's companion.
#[tokio::test]
async fn exclude_empty_drops_empty_databases() {
    let client = Client::new("emp", &[""], &[]).await;
    let empty = client.db("_dmart");
    let mut c = server().conn(None).await;
    c.query_drop(format!("CREATE DATABASE {}", quote(&empty)))
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    let _drop_empty = Client {
        code: client.code.clone(),
        dbs: vec![empty.clone()],
    };
    let dir = out_dir();
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "primary",
            "--client-code",
            &client.code,
            "--include-dmart",
            "--dry-run",
        ];
        args.extend_from_slice(extra);
        let out = backup(&args, dir.path());
        assert_success(&out, "primary --dry-run");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let with_empty = plan(&[]);
    assert!(with_empty.contains(&format!("\n{empty} ")), "{with_empty}");
    let without = plan(&["-E"]);
    assert!(!without.contains(&format!("\n{empty} ")), "{without}");
    assert!(without.contains("excluded: ") && without.contains(&empty));
    assert!(
        without.contains(&format!("\n{} ", client.db(""))),
        "{without}"
    );
}

/// With `-q` nothing is asked: what is missing is a usage error naming its flag.
#[test]
fn quiet_runs_name_what_is_missing() {
    let dir = out_dir();
    let cases: [(&[&str], &str); 3] = [
        (&["single", "-t", "T"], "--database"),
        (&["filter", "--mode", "multi-file", "-t", "T"], "--db"),
        (
            &["primary", "--client-code", "nobody_here_at_all"],
            "ticket",
        ),
    ];
    for (args, flag) in cases {
        let out = server()
            .sfdbtools()
            .args(["-q", "db-backup"])
            .args(args)
            .args(server().connection_args())
            .arg("-o")
            .arg(dir.path().join("never"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {flag} in {stderr}");
    }
    let out = backup(
        &["primary", "--client-code", "nobody_here_at_all"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--client-code nobody_here_at_all"),
        "{stderr}"
    );
    assert!(files_in(dir.path()).is_empty());
}

/// Runs the binary on a pseudo-terminal (`script`), typing `input`; returns exit code and the
/// terminal's output.
fn on_terminal(args: &[String], input: &str) -> (Option<i32>, String) {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_sfdbtools").to_owned())
        .chain(args.iter().cloned())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let mut child = std::process::Command::new("script")
        .env_remove("SFDB_BACKUP_ENCRYPTION_KEY")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run script(1)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn terminal_args(dir: &Path, mode: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["db-backup"]
        .iter()
        .chain(mode)
        .map(|s| s.to_string())
        .collect();
    v.extend(server().connection_args());
    v.push(format!(
        "--password={}",
        server().password.clone().unwrap_or_default()
    ));
    v.extend([
        "-t".into(),
        "T-TTY".into(),
        "-c".into(),
        "none".into(),
        "-o".into(),
    ]);
    v.push(dir.display().to_string());
    v
}

/// Interactively, `single` without `--database` offers a numbered list (without `_temp`), the
/// run is reviewed, and only the chosen database is dumped.
#[tokio::test]
async fn interactive_single_picks_from_a_list_and_is_reviewed() {
    let client = Client::new("tty", &["", "_temp"], &[]).await;
    let main = client.db("");
    let dir = out_dir();
    let (code, screen) = on_terminal(
        &terminal_args(dir.path(), &["single"]),
        &format!("{main}\n1\n"),
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains(&format!(") {main}\r\n")),
        "the list: {screen}"
    );
    assert!(
        !screen.contains(&format!(") {}", client.db("_temp"))),
        "{screen}"
    );
    assert!(
        screen.contains("backup to run") && screen.contains("T-TTY"),
        "{screen}"
    );
    assert!(screen.contains("1) start the backup  2) change an option  3) cancel"));
    let dumps: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| common::is_dump_file(f))
        .collect();
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    assert!(dumps[0].starts_with(&format!("{main}_")), "{dumps:?}");
    let meta = metadata_of(&dir.path().join(&dumps[0]));
    assert_eq!(meta["ticket"], "T-TTY");

    // Changing an option (schema only), then cancelling: nothing is written, exit 3.
    let other = out_dir();
    let (code, screen) = on_terminal(
        &terminal_args(other.path(), &["single", "--database", &main]),
        "2\n5\n3\n",
    );
    assert_eq!(code, Some(3), "{screen}");
    assert!(screen.contains("schema only    yes"), "{screen}");
    assert!(screen.contains("cancelled"), "{screen}");
    assert!(files_in(other.path()).is_empty());
}

/// `--filename` names the package's first file (verbatim with `.sql`); the companion keeps its
/// generated name, and the accounts file follows the first file's name.
#[tokio::test]
async fn filename_applies_to_the_first_file_of_a_package() {
    let client = Client::new("fnm", &["", "_dmart"], &[]).await;
    let dir = out_dir();
    let custom = format!("pkg_{}.sql", client.code);
    let out = backup(
        &[
            "primary",
            "--client-code",
            &client.code,
            "--include-dmart",
            "-c",
            "none",
            "-f",
            &custom,
        ],
        dir.path(),
    );
    assert_success(&out, "primary -f");
    let dmart = client.db("_dmart");
    let host = hostname().await;
    let files = files_in(dir.path());
    let ts = timestamp_of(&files, &dmart, &host);
    let generated = format!("{dmart}_{ts}_{host}.sql");
    let users = format!("pkg_{}_users.sql", client.code);
    let mut want = vec![
        custom.clone(),
        format!("{custom}.meta.json"),
        generated.clone(),
        format!("{generated}.meta.json"),
        users.clone(),
    ];
    want.sort();
    assert_eq!(files, want);
    let first = dir.path().join(&custom);
    let meta = metadata_of(&first);
    assert_eq!(strings(&meta["backup"]["databases"]), [client.db("")]);
    assert_details(
        &meta,
        &[
            (&client.db(""), &first),
            (&dmart, &dir.path().join(&generated)),
        ],
    );
    assert_eq!(
        meta["additional_files"]["user_grants"],
        dir.path().join(&users).display().to_string()
    );
}
