//! The YAML config file through the binary: where it is found, flags > config > built-in
//! defaults, the backup key order, warnings and errors, and that the file is never written.

use crate::common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::{
    TestDb, assert_success, dump_file_in, files_in, metadata_of, out_dir, server, stderr,
};
use sfdbtools::encrypt::Passphrase;

/// A config file in a directory of its own (so a stray write next to it would show).
struct Config {
    dir: tempfile::TempDir,
}

impl Config {
    fn new(yaml: &str) -> Config {
        let c = Config { dir: out_dir() };
        std::fs::write(c.path(), yaml).unwrap();
        c
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("config.yaml")
    }

    /// `sfdbtools <args>` with this config.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = server().sfdbtools();
        c.env("SFDB_APPS_CONFIG", self.path()).args(args);
        c
    }
}

/// `-q db-backup single --database db -t TEST <extra> <connection>` under `config`.
fn backup_single(config: &Path, db: &str, extra: &[&str]) -> Output {
    let mut c = server().sfdbtools();
    c.env("SFDB_APPS_CONFIG", config)
        .args(["-q", "db-backup", "single", "--database", db, "-t", "TEST"])
        .args(extra)
        .args(server().connection_args());
    c.output().expect("run sfdbtools")
}

fn sql_of(file: &Path, key: Option<&str>) -> Result<String, String> {
    let pass = key.map(Passphrase::from);
    let mut sql = String::new();
    sfdbtools::read::open(file, pass.as_ref())
        .map_err(|e| e.to_string())?
        .read_to_string(&mut sql)
        .map_err(|e| e.to_string())?;
    Ok(sql)
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn small_db(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10)); INSERT INTO t VALUES (1,'r1'),(2,'r2'),(3,'r3')")
        .await;
    db
}

/// The one directory under `base` that the pattern `{year}/in_{day}/` produced (the date is
/// taken before and after the run, so a run across midnight still finds its directory).
fn pattern_dir(base: &Path, before: chrono::DateTime<chrono::Local>) -> PathBuf {
    let after = chrono::Local::now();
    [before, after]
        .iter()
        .map(|t| {
            base.join(t.format("%Y").to_string())
                .join(format!("in_{}", t.format("%d")))
        })
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("no {{year}}/in_{{day}} directory under {}", base.display()))
}

#[tokio::test]
async fn config_sets_compression_exclusions_directory_and_modes_and_flags_override_it() {
    let db = small_db("cfg_prec").await;
    let base = out_dir();
    let config = Config::new(&format!(
        "# operator's comment\nbackup:\n  compression:\n    type: gzip\n    level: 2\n  exclude:\n    data: true\n  \
         output:\n    base_directory: {}\n    structure:\n      pattern: \"{{year}}/in_{{day}}/\"\n    \
         file_permissions: \"0640\"\n    metadata_permissions: \"0644\"\n",
        base.path().display()
    ));

    // No -o, -c, -x: everything from the config.
    let before = chrono::Local::now();
    let out = backup_single(&config.path(), &db.name, &[]);
    assert_success(&out, "backup under the config");
    let dir = pattern_dir(base.path(), before);
    let file = dump_file_in(&dir);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with(".sql.gz") && name.contains("_nodata_"),
        "{name}"
    );
    let sql = sql_of(&file, None).unwrap();
    assert!(
        sql.contains("CREATE TABLE") && !sql.contains("INSERT INTO"),
        "schema only"
    );
    assert_eq!(metadata_of(&file)["compression"]["type"], "gzip");
    assert_eq!(mode_of(&file), 0o640);
    assert_eq!(
        mode_of(Path::new(&format!("{}.meta.json", file.display()))),
        0o644
    );

    // Flags beat the config; a given -o is used as it is.
    let given = out_dir();
    let out = backup_single(
        &config.path(),
        &db.name,
        &[
            "-c",
            "zstd",
            "-x=false",
            "-o",
            &given.path().display().to_string(),
        ],
    );
    assert_success(&out, "backup with flags over the config");
    let file = dump_file_in(given.path());
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with(".sql.zst") && !name.contains("_nodata"),
        "{name}"
    );
    assert!(sql_of(&file, None).unwrap().contains("'r3'"));
    // The dump, its metadata and the accounts file, which stays 0600 whatever the config
    // says: it holds password hashes.
    let under_base = files_in(&dir);
    assert_eq!(
        under_base.len(),
        3,
        "nothing more under the configured base: {under_base:?}"
    );
    let accounts = under_base
        .iter()
        .find(|f| f.ends_with("_users.sql"))
        .expect("the accounts file");
    assert_eq!(mode_of(&dir.join(accounts)), 0o600);

    // Without a config: built-in defaults (zstd, data, 0600, ./{year}{month}{day}/).
    let cwd = out_dir();
    let before = chrono::Local::now();
    let mut c = server().sfdbtools();
    c.current_dir(cwd.path())
        .args([
            "-q",
            "db-backup",
            "single",
            "--database",
            &db.name,
            "-t",
            "TEST",
        ])
        .args(server().connection_args());
    assert_success(&c.output().unwrap(), "backup with built-in defaults");
    let dated = [before, chrono::Local::now()]
        .iter()
        .map(|t| cwd.path().join(t.format("%Y%m%d").to_string()))
        .find(|d| d.is_dir())
        .expect("./{year}{month}{day}/");
    let file = dump_file_in(&dated);
    assert!(file.to_string_lossy().ends_with(".sql.zst"));
    assert!(sql_of(&file, None).unwrap().contains("'r1'"));
    assert_eq!(mode_of(&file), 0o600);
}

/// The database names a dry run plans to dump (its table, not its "excluded:" line).
fn planned(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip_while(|l| !l.starts_with("database "))
        .skip(1)
        .take_while(|l| !l.starts_with("excluded:") && !l.starts_with("files:"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn config_exclusions_apply_and_flags_override_them() {
    let empty = TestDb::new("cfg_empty").await;
    let config = Config::new("backup:\n  exclude:\n    system_databases: false\n    empty: true\n");
    let run = |extra: &[&str]| {
        let out = config
            .command(&["-q", "db-backup", "all", "--dry-run"])
            .args(extra)
            .args(server().connection_args())
            .output()
            .unwrap();
        assert_success(&out, &format!("dry run {extra:?}"));
        planned(&out)
    };
    let by_config = run(&[]);
    assert!(by_config.iter().any(|d| d == "mysql"), "{by_config:?}");
    assert!(!by_config.contains(&empty.name), "{by_config:?}");
    let by_flags = run(&["-S", "-E=false"]);
    assert!(!by_flags.iter().any(|d| d == "mysql"), "{by_flags:?}");
    assert!(by_flags.contains(&empty.name), "{by_flags:?}");
}

/// The config's include and exclude lists (names and list files) select databases as docs/compat.md §2
/// says: a non-empty include list wins; otherwise excluded names are dropped;
/// `exclude.user` turns the accounts file off.
#[tokio::test]
async fn config_include_and_exclude_lists_select_databases() {
    let a = TestDb::new("cfg_inc_a").await;
    let b = TestDb::new("cfg_inc_b").await;
    let c = TestDb::new("cfg_inc_c").await;
    let lists = out_dir();
    let list_file = lists.path().join("exclude.txt");
    std::fs::write(
        &list_file,
        format!("# nightly exclusions\r\n{}\r\n", c.name),
    )
    .unwrap();
    let dry_run = |config: &Config| {
        let out = config
            .command(&["-q", "db-backup", "all", "--dry-run"])
            .args(server().connection_args())
            .output()
            .unwrap();
        assert_success(&out, "dry run");
        planned(&out)
    };
    // Include (in mixed case) wins over exclude.
    let include = Config::new(&format!(
        "backup:\n  include:\n    databases: [{}]\n  exclude:\n    databases: [{}]\n",
        a.name.to_uppercase(),
        a.name
    ));
    assert_eq!(dry_run(&include), vec![a.name.clone()]);
    // Exclude by name and by list file.
    let exclude = Config::new(&format!(
        "backup:\n  exclude:\n    databases: [{}]\n    file: {}\n",
        b.name,
        list_file.display()
    ));
    let planned = dry_run(&exclude);
    assert!(planned.contains(&a.name), "{planned:?}");
    assert!(
        !planned.contains(&b.name) && !planned.contains(&c.name),
        "{planned:?}"
    );

    // exclude.user: no accounts file.
    let no_users = Config::new("backup:\n  exclude:\n    user: true\n");
    let dir = out_dir();
    let out = backup_single(
        &no_users.path(),
        &a.name,
        &["-o", &dir.path().display().to_string()],
    );
    assert_success(&out, "backup with exclude.user");
    let files = files_in(dir.path());
    assert!(files.iter().all(|f| !f.contains("_users.sql")), "{files:?}");
    assert_eq!(files.len(), 2, "{files:?}");
}

#[test]
fn unknown_keys_warn_and_invalid_values_fail_naming_the_key() {
    let config = Config::new("backup:\n  compresion:\n    type: xz\n  output:\n    colour: red\n");
    let out = config
        .command(&["cleanup", "--days", "1", "--dry-run", "-o"])
        .arg(config.dir.path())
        .output()
        .unwrap();
    assert_success(&out, "a run with unknown keys");
    let err = stderr(&out);
    assert_eq!(err.matches("`backup.compresion`").count(), 1, "{err}");
    assert!(err.contains("warning"), "{err}");
    assert_eq!(err.matches("`backup.output.colour`").count(), 1, "{err}");
    assert!(err.contains(&config.path().display().to_string()), "{err}");

    let dir = out_dir();
    let config = Config::new("backup:\n  compression:\n    level: 12\n");
    let out = backup_single(
        &config.path(),
        "any",
        &["-o", &dir.path().display().to_string()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`backup.compression.level`"), "{err}");
    assert!(err.contains(&config.path().display().to_string()), "{err}");
    assert!(files_in(dir.path()).is_empty());

    let missing = config.dir.path().join("missing.yaml");
    let out = backup_single(&missing, "any", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.yaml"), "{}", stderr(&out));

    // $XDG_CONFIG_HOME/sfdbtools/config.yaml is read when SFDB_APPS_CONFIG is unset.
    assert!(
        !Path::new(sfdbtools::config::file::SYSTEM_CONFIG).exists(),
        "{} exists on this machine and would be read before the XDG file; move it away to run this test",
        sfdbtools::config::file::SYSTEM_CONFIG
    );
    let xdg = out_dir();
    let user_config = xdg.path().join("sfdbtools/config.yaml");
    std::fs::create_dir_all(user_config.parent().unwrap()).unwrap();
    std::fs::write(&user_config, "backup:\n  exclude:\n    data: perhaps\n").unwrap();
    let out = server()
        .sfdbtools()
        .env_remove("SFDB_APPS_CONFIG")
        .env("XDG_CONFIG_HOME", xdg.path())
        .args(["-q", "cleanup", "--days", "1", "--dry-run", "-o"])
        .arg(xdg.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`backup.exclude.data`") && err.contains(&user_config.display().to_string()),
        "{err}"
    );
}

#[tokio::test]
async fn backup_key_order_is_flag_then_config_then_environment() {
    let db = small_db("cfg_keys").await;
    let with_key = Config::new("backup:\n  encryption:\n    key: \"config key\"\n");
    let disabled =
        Config::new("backup:\n  encryption:\n    enabled: false\n    key: \"config key\"\n");
    let required = Config::new("backup:\n  encryption:\n    enabled: true\n");
    let none = PathBuf::from("/dev/null");
    let run = |config: &Path, env: Option<&str>, extra: &[&str]| {
        let dir = out_dir();
        let mut c = server().sfdbtools();
        c.env("SFDB_APPS_CONFIG", config)
            .args([
                "-q",
                "db-backup",
                "single",
                "--database",
                &db.name,
                "-t",
                "TEST",
                "-o",
            ])
            .arg(dir.path())
            .args(extra)
            .args(server().connection_args());
        if let Some(k) = env {
            c.env("SFDB_BACKUP_ENCRYPTION_KEY", k);
        }
        let out = c.output().unwrap();
        (dir, out)
    };
    let opens = |file: &Path, key: &str| sql_of(file, Some(key)).is_ok_and(|s| s.contains("'r2'"));

    let (dir, out) = run(&with_key.path(), Some("env key"), &["-K", "flag key"]);
    assert_success(&out, "-K with config and env keys");
    let file = dump_file_in(dir.path());
    assert!(file.to_string_lossy().ends_with(".enc"));
    assert!(opens(&file, "flag key") && !opens(&file, "config key"));

    let (dir, out) = run(&with_key.path(), Some("env key"), &[]);
    assert_success(&out, "config and env keys");
    let file = dump_file_in(dir.path());
    assert!(opens(&file, "config key") && !opens(&file, "env key"));

    let (dir, out) = run(&none, Some("env key"), &[]);
    assert_success(&out, "env key only");
    assert!(opens(&dump_file_in(dir.path()), "env key"));

    // enabled: false silences the config key and the environment, not an explicit -K.
    let (dir, out) = run(&disabled.path(), Some("env key"), &[]);
    assert_success(&out, "encryption disabled by config");
    let file = dump_file_in(dir.path());
    assert!(!file.to_string_lossy().ends_with(".enc"));
    assert!(sql_of(&file, None).unwrap().contains("'r2'"));
    let (dir, out) = run(&disabled.path(), None, &["-K", "flag key"]);
    assert_success(&out, "-K over enabled: false");
    assert!(opens(&dump_file_in(dir.path()), "flag key"));

    let (dir, out) = run(&with_key.path(), None, &["--skip-encrypt"]);
    assert_success(&out, "--skip-encrypt over a config key");
    assert!(!dump_file_in(dir.path()).to_string_lossy().ends_with(".enc"));

    let (dir, out) = run(&required.path(), None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("backup.encryption.key"),
        "{}",
        stderr(&out)
    );
    assert!(files_in(dir.path()).is_empty());
}

/// A config file as the old tool's operators have it: every key it knew (its packaged file,
/// and what its write-back left: empty strings for what was not set, `days: 0`).
const OLD_TOOL_CONFIG: &str = r#"
backup:
  compression: {type: zstd, level: 5, enabled: true}
  mysqldump_args: -fQq --max-statement-time=0 --max-allowed-packet=1G --hex-blob --order-by-primary --single-transaction --routines=true --triggers=true --opt --net-buffer-length=16M
  exclude: {user: false, system_databases: true, data: false, empty: false, databases: [], file: ""}
  include: {include_dmart: false, databases: [], file: ""}
  cleanup: {enabled: false, schedule: "", days: 0}
  encryption: {enabled: true, key: ""}
  output:
    base_directory: BASE
    cleanup_temp: false
    file_permissions: "0600"
    metadata_permissions: "0600"
    structure: {create_subdirs: true, pattern: "{year}{month}{day}/"}
    save_backup_info: true
  verification: {disk_space_check: false}
  replication: {capture_gtid: true, replication_user: repl_user, replication_password: repl_password}
  scheduler: {jobs: []}
config_dir: {database_profile: /etc/sfDBTools/config/db_profile, database_list: "", mariadb_config_templates: ""}
general:
  app_name: sfDBTools
  author: ""
  client_code: ""
  version: ""
  locale: {date_format: "2006-01-02", time_format: "15:04:05", timezone: Asia/Jakarta}
log:
  format: text
  level: info
  output:
    console: {enabled: true}
    file: {dir: /var/log/sfDBTools, enabled: true, filename_pattern: "sfDBTools_{date}.log", rotation: {compress_old: true, daily: true, max_size: 100MB, retention_days: 7}}
  timezone: Asia/Jakarta
profile: {connection: {timeout: 30s}}
mariadb: {key_maria_nbc_file: "", port: 3306, server_id: 1}
system_users: {users: []}
script: {bundle_output_dir: /etc/sfDBTools/scripts}
"#;

/// Cron mails whatever a job writes: with a valid old config file a `-q` backup (and a
/// verify of it) writes nothing at all. A key unknown to both tools is a warning, said once
/// per run and not under `-q`.
#[tokio::test]
async fn an_old_tool_config_keeps_quiet_runs_silent_and_warns_once_otherwise() {
    let db = small_db("cfg_old").await;
    let base = out_dir();
    let config = Config::new(&OLD_TOOL_CONFIG.replace("BASE", &base.path().display().to_string()));
    let run = |args: &[&str]| {
        config
            .command(args)
            .args(server().connection_args())
            .env("SFDB_BACKUP_ENCRYPTION_KEY", "old tool key")
            .output()
            .unwrap()
    };
    let out = run(&[
        "-q",
        "db-backup",
        "single",
        "--database",
        &db.name,
        "-t",
        "T",
    ]);
    assert_success(&out, "quiet backup under an old config");
    assert_eq!(stderr(&out), "", "a quiet run wrote to stderr");
    let day = base
        .path()
        .join(chrono::Local::now().format("%Y%m%d").to_string());
    let file = dump_file_in(&day);
    assert!(
        file.to_string_lossy().ends_with(".sql.zst.enc"),
        "{}",
        file.display()
    );
    let out = config
        .command(&["-q", "verify", "--file", file.to_str().unwrap()])
        .env("SFDB_BACKUP_ENCRYPTION_KEY", "old tool key")
        .output()
        .unwrap();
    assert_success(&out, "quiet verify under an old config");
    assert_eq!(stderr(&out), "");

    std::fs::write(
        config.path(),
        format!(
            "{}colour: red\n",
            OLD_TOOL_CONFIG.replace("BASE", &base.path().display().to_string())
        ),
    )
    .unwrap();
    let out = run(&[
        "-q",
        "db-backup",
        "single",
        "--database",
        &db.name,
        "-t",
        "T",
        "-f",
        "q",
    ]);
    assert_success(&out, "quiet backup with an unknown key");
    assert_eq!(stderr(&out), "", "-q said the unknown key");
    let out = run(&[
        "db-backup",
        "single",
        "--database",
        &db.name,
        "-t",
        "T",
        "-f",
        "loud",
    ]);
    assert_success(&out, "backup with an unknown key");
    let err = stderr(&out);
    assert_eq!(err.matches("unknown key `colour`").count(), 1, "{err}");
    assert_eq!(err.matches("warning").count(), 1, "{err}");
}

#[tokio::test]
async fn mysqldump_args_come_from_the_config() {
    let db = small_db("cfg_mdargs").await;
    let config = Config::new(
        "backup:\n  mysqldump_args: \"--single-transaction --skip-extended-insert --master-data=2\"\n",
    );
    let inserts = |config: &Path| {
        let dir = out_dir();
        let out = backup_single(
            config,
            &db.name,
            &[
                "--engine",
                "mysqldump",
                "-c",
                "none",
                "-o",
                &dir.path().display().to_string(),
            ],
        );
        assert_success(&out, "mysqldump engine");
        sql_of(&dump_file_in(dir.path()), None)
            .unwrap()
            .matches("INSERT INTO")
            .count()
    };
    assert_eq!(
        inserts(&config.path()),
        3,
        "one INSERT per row, as configured"
    );
    assert_eq!(
        inserts(Path::new("/dev/null")),
        1,
        "the default --opt extends INSERTs"
    );
}

/// The native engine reads `backup.mysqldump_args` too: the old tool's packaged options are met
/// without a word; an option it cannot follow stops the run before anything is written (exit
/// 2), naming the option and `--engine mysqldump`.
#[tokio::test]
async fn the_native_engine_meets_or_refuses_the_configs_mysqldump_args() {
    let db = small_db("cfg_mdnative").await;
    let old = Config::new(
        "backup:\n  mysqldump_args: \"-fQq --max-statement-time=0 --max-allowed-packet=1G \
         --hex-blob --order-by-primary --single-transaction --routines=true --triggers=true \
         --opt --net-buffer-length=16M\"\n",
    );
    let dir = out_dir();
    let out = backup_single(
        &old.path(),
        &db.name,
        &["-c", "none", "-o", &dir.path().display().to_string()],
    );
    assert_success(&out, "native engine with the old tool's mysqldump_args");
    assert!(!stderr(&out).contains("mysqldump_args"), "{}", stderr(&out));
    let sql = sql_of(&dump_file_in(dir.path()), None).unwrap();
    assert!(sql.contains("(3,'r3')"), "{sql}");

    // What they select is followed; a name that matches nothing is taken as mysqldump takes it.
    db.exec(
        "CREATE TABLE t2 (id INT PRIMARY KEY); INSERT INTO t2 VALUES (7); \
         CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.s = UPPER(NEW.s)",
    )
    .await;
    let selecting = Config::new(&format!(
        "backup:\n  mysqldump_args: \"--single-transaction --ignore-table={}.t2 \
         --ignore-table=no_such_db.x --skip-triggers --where=id>1\"\n",
        db.name
    ));
    let dir = out_dir();
    let out = backup_single(
        &selecting.path(),
        &db.name,
        &["-c", "none", "-o", &dir.path().display().to_string()],
    );
    assert_success(&out, "native engine with selecting mysqldump_args");
    let sql = sql_of(&dump_file_in(dir.path()), None).unwrap();
    assert!(
        sql.contains("(3,'r3')") && !sql.contains("(1,'r1')"),
        "{sql}"
    );
    assert!(!sql.contains("`t2`") && !sql.contains("TRIGGER"), "{sql}");

    let refused = Config::new("backup:\n  mysqldump_args: \"--single-transaction --xml\"\n");
    let dir = out_dir();
    let out = backup_single(
        &refused.path(),
        &db.name,
        &["-c", "none", "-o", &dir.path().display().to_string()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("backup.mysqldump_args: --xml writes another kind of output")
            && stderr(&out).contains("--engine mysqldump"),
        "{}",
        stderr(&out)
    );
    assert!(files_in(dir.path()).is_empty());
}

fn age(path: &Path, days: u64) {
    let when = SystemTime::now() - Duration::from_secs(days * 86_400);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[test]
fn cleanup_takes_days_and_base_directory_from_the_config() {
    let base = out_dir();
    let old = base.path().join("shop_20200101_000000_h.sql");
    let new = base.path().join("shop_20260101_000000_h.sql");
    std::fs::write(&old, "x").unwrap();
    std::fs::write(&new, "x").unwrap();
    // Only a dump with its metadata is a backup set.
    for f in [&old, &new] {
        std::fs::write(format!("{}.meta.json", f.display()), "{}").unwrap();
    }
    age(&old, 10);
    let config = Config::new(&format!(
        "backup:\n  cleanup:\n    days: 5\n  output:\n    base_directory: {}\n",
        base.path().display()
    ));
    let out = config.command(&["cleanup", "--dry-run"]).output().unwrap();
    assert_success(&out, "cleanup with the config's days and base");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(listed.contains(&old.display().to_string()), "{listed}");
    assert!(!listed.contains(&new.display().to_string()), "{listed}");

    let out = config
        .command(&["cleanup", "--dry-run", "--days", "20"])
        .output()
        .unwrap();
    assert_success(&out, "--days over the config");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("shop_"));

    let out = server()
        .sfdbtools()
        .args(["cleanup", "--dry-run", "-o"])
        .arg(base.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--days"), "{}", stderr(&out));
    assert!(old.exists() && new.exists(), "a dry run removes nothing");
}

#[tokio::test]
async fn the_config_file_is_never_written() {
    let db = small_db("cfg_ro").await;
    let out = out_dir();
    let profiles = out.path().join("profiles");
    let config = Config::new(&format!(
        "# kept exactly as written\nbackup:\n  compression:\n    type: none   # inline comment\n  \
         unknown_key: 1\nconfig_dir:\n  database_profile: {}\n",
        profiles.display()
    ));
    age(&config.path(), 3);
    let before = (
        std::fs::read(config.path()).unwrap(),
        std::fs::metadata(config.path())
            .unwrap()
            .modified()
            .unwrap(),
    );
    let runs: [&[&str]; 4] = [
        &[
            "-q",
            "db-backup",
            "single",
            "--database",
            &db.name,
            "-t",
            "T",
            "-o",
            &out.path().display().to_string(),
            "--host",
            &server().host,
            "--port",
            &server().port.to_string(),
            "--user",
            &server().user,
        ],
        &[
            "-q", "profile", "create", "-n", "p", "--host", "h", "-u", "u", "-k", "k",
        ],
        &[
            "-q", "profile", "edit", "-n", "p", "--host", "h2", "-k", "k",
        ],
        &[
            "-q",
            "cleanup",
            "--days",
            "1",
            "--dry-run",
            "-o",
            &out.path().display().to_string(),
        ],
    ];
    for args in runs {
        let result = config
            .command(args)
            .env("MYSQL_PWD", server().password.clone().unwrap_or_default())
            .output()
            .unwrap();
        assert_success(&result, &format!("{args:?}"));
    }
    let after = (
        std::fs::read(config.path()).unwrap(),
        std::fs::metadata(config.path())
            .unwrap()
            .modified()
            .unwrap(),
    );
    assert!(before == after, "the config file changed");
    assert_eq!(files_in(config.dir.path()), ["config.yaml"]);
    assert!(profiles.join("p.cnf.enc").exists());
}

/// `backup.output.save_backup_info: false`: the dump and its grants file are written, no
/// `.meta.json`, without a warning, and the summary says so; `db-restore primary` then names
/// the missing metadata instead of guessing at the `_dmart` companion.
#[tokio::test]
async fn save_backup_info_false_writes_no_metadata() {
    let db = small_db("cfg_nometa").await;
    let config = Config::new("backup:\n  output:\n    save_backup_info: false\n");
    let dir = out_dir();
    let out = config
        .command(&["db-backup", "single", "--database", &db.name, "-t", "TEST"])
        .args(["-c", "none", "-o"])
        .arg(dir.path())
        .args(server().connection_args())
        .output()
        .unwrap();
    assert_success(&out, "backup without metadata");
    let err = stderr(&out);
    assert!(!err.contains("warning"), "{err}");
    assert!(err.contains("no metadata written"), "{err}");
    let files = files_in(dir.path());
    assert!(
        files.iter().all(|f| !f.ends_with(".meta.json")),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with("_users.sql")), "{files:?}");
    let file = dump_file_in(dir.path());
    assert!(sql_of(&file, None).unwrap().contains("'r3'"));

    let target = TestDb::new("cfg_nometa_dst").await;
    let restore = |extra: &[&str]| {
        server()
            .sfdbtools()
            .args(["-q", "db-restore", "primary", "--file"])
            .arg(&file)
            .args(["--target-db", &target.name, "-t", "TEST", "--skip-grants"])
            .args(extra)
            .args(server().connection_args())
            .output()
            .unwrap()
    };
    let out = restore(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(".meta.json does not exist")
            && err.contains("save_backup_info")
            && err.contains("--skip-dmart"),
        "{err}"
    );
    let out = restore(&["--skip-dmart"]);
    assert_success(&out, "restore primary --skip-dmart without metadata");
    let mut c = target.conn().await;
    let n: Option<u64> =
        mysql_async::prelude::Queryable::query_first(&mut c, "SELECT COUNT(*) FROM t")
            .await
            .unwrap();
    assert_eq!(n, Some(3));
}

/// `backup.replication.capture_gtid: false`: no position is read, by either engine; the
/// metadata's `replication.gtid_info` is empty and its snapshot says `captured: false`,
/// without a warning. With the default the test server's position is recorded.
#[tokio::test]
async fn capture_gtid_false_records_no_position() {
    let db = small_db("cfg_nogtid").await;
    let config = Config::new("backup:\n  replication:\n    capture_gtid: false\n");
    let run = |config: &Path, engine: &str| {
        let dir = out_dir();
        let out = server()
            .sfdbtools()
            .env("SFDB_APPS_CONFIG", config)
            .args(["--log-format", "json", "db-backup", "single", "--database"])
            .args([
                &db.name, "-t", "TEST", "-c", "none", "--engine", engine, "-o",
            ])
            .arg(dir.path())
            .args(server().connection_args())
            .output()
            .unwrap();
        assert_success(&out, &format!("backup with the {engine} engine"));
        let finished: serde_json::Value = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .inspect(|e| assert_ne!(e["event"], "warning", "{e}"))
            .find(|e| e["event"] == "finished")
            .expect("a finished event");
        let file = dump_file_in(dir.path());
        (metadata_of(&file), finished, sql_of(&file, None).unwrap())
    };

    let (meta, finished, _) = run(Path::new("/dev/null"), "native");
    assert_ne!(meta["replication"]["gtid_info"], "", "{meta}");
    assert_eq!(finished["gtid_captured"], true);

    for engine in ["native", "mysqldump"] {
        let (meta, finished, sql) = run(&config.path(), engine);
        assert_eq!(meta["replication"]["gtid_info"], "", "{engine}: {meta}");
        assert_eq!(
            meta["snapshot"],
            serde_json::json!({"captured": false}),
            "{engine}"
        );
        assert_eq!(finished["gtid_captured"], false, "{engine}");
        assert_eq!(finished["gtid"], "", "{engine}");
        assert!(!sql.contains("CHANGE MASTER TO"), "{engine}");
    }
}
