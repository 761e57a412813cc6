//! The accounts file written next to a dump: which accounts it holds, that the stock client
//! restores them exactly into a server without them, its mode, its encrypted form, and what
//! happens without the privilege to read accounts or with `--exclude-user`. Restoring it with
//! `db-restore --grants`: only when asked, accounts that exist left alone; only a checked file
//! found next to the dump, grants re-pointed at another target name only when asked (in
//! [`files`]).
//!
//! Accounts are server-wide: every test names its own with a tag and the process id, and only
//! looks at those, so the tests run in parallel.

use crate::common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{
    TestDb, TestUser, assert_success, backup, dump_file_in, metadata_of, out_dir, output_text,
    quote, restore_single, server,
};
use mysql_async::prelude::*;
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;

/// Accounts and roles of one test, dropped with the value.
struct Accounts {
    users: Vec<String>,
    roles: Vec<String>,
}

impl Accounts {
    /// Runs `sql` as root; `users` (`'u'@'h'` literals) and `roles` are dropped at the end.
    async fn create(users: &[String], roles: &[String], sql: &[String]) -> Accounts {
        let accounts = Accounts {
            users: users.to_vec(),
            roles: roles.to_vec(),
        };
        accounts.drop_all().await;
        let mut c = server().conn(None).await;
        for s in sql {
            c.query_drop(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        c.disconnect().await.unwrap();
        accounts
    }

    async fn drop_all(&self) {
        let mut c = server().conn(None).await;
        for u in &self.users {
            c.query_drop(format!("DROP USER IF EXISTS {u}"))
                .await
                .unwrap();
        }
        for r in &self.roles {
            c.query_drop(format!("DROP ROLE IF EXISTS {r}"))
                .await
                .unwrap();
        }
        c.disconnect().await.unwrap();
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        let mut sql = String::new();
        for u in &self.users {
            sql.push_str(&format!("DROP USER IF EXISTS {u};"));
        }
        for r in &self.roles {
            sql.push_str(&format!("DROP ROLE IF EXISTS {r};"));
        }
        let _ = server().client(None).arg("-e").arg(sql).output();
    }
}

async fn show_grants(account: &str) -> BTreeSet<String> {
    let mut c = server().conn(None).await;
    let lines: Vec<String> = c
        .query(format!("SHOW GRANTS FOR {account}"))
        .await
        .unwrap_or_else(|e| panic!("SHOW GRANTS FOR {account}: {e}"));
    c.disconnect().await.unwrap();
    lines.into_iter().collect()
}

/// The accounts file next to `dump`, by the docs/compat.md §3 rule.
fn grants_file_of(dump: &Path, encrypted: bool) -> PathBuf {
    let name = dump.file_name().unwrap().to_string_lossy().into_owned();
    let base = name
        .trim_end_matches(".enc")
        .trim_end_matches(".zst")
        .trim_end_matches(".sql");
    dump.with_file_name(format!(
        "{base}_users.sql{}",
        if encrypted { ".enc" } else { "" }
    ))
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The `-- Account …`/`-- Role …` headers of the file that contain `tag`.
fn exported(sql: &str, tag: &str) -> BTreeSet<String> {
    sql.lines()
        .filter(|l| l.starts_with("-- Account ") || l.starts_with("-- Role "))
        .filter(|l| l.contains(tag))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn filtered_export_selects_accounts_and_restores_them_exactly() {
    let db = TestDb::new("grants").await;
    let other = TestDb::new("grants_other").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, secret VARCHAR(10)); CREATE PROCEDURE p() SELECT 1",
    )
    .await;
    let tag = format!("gf{}", std::process::id());
    let (d, o) = (common::quote(&db.name), common::quote(&other.name));
    let escaped = common::quote(&db.name.replace('_', "\\_"));
    let wildcard = common::quote(&format!("{}%", db.name));
    let user = |n: &str, host: &str| format!("'{tag}_{n}'@'{host}'");
    let quoted_name = format!("'{tag}_o\\'q'@'%'");
    let role = format!("`{tag}_r`");
    let users = vec![
        user("db", "%"),
        user("col", "10.0.0.%"),
        user("esc", "%"),
        user("wild", "%"),
        user("viar", "%"),
        user("exec", "%"),
        user("other", "%"),
        quoted_name.clone(),
    ];
    let sql: Vec<String> = vec![
        format!("CREATE USER {} IDENTIFIED BY 'pw-db'", user("db", "%")),
        format!("GRANT SELECT, INSERT ON {d}.* TO {}", user("db", "%")),
        format!(
            "CREATE USER {} IDENTIFIED BY 'pw-col' WITH MAX_QUERIES_PER_HOUR 7",
            user("col", "10.0.0.%")
        ),
        format!("GRANT SELECT (id) ON {d}.t TO {}", user("col", "10.0.0.%")),
        format!("GRANT PROCESS ON *.* TO {}", user("col", "10.0.0.%")),
        format!("CREATE USER {}", user("esc", "%")),
        format!("GRANT SELECT ON {escaped}.* TO {}", user("esc", "%")),
        format!("CREATE USER {}", user("wild", "%")),
        format!("GRANT SELECT ON {wildcard}.* TO {}", user("wild", "%")),
        format!("CREATE ROLE {role}"),
        format!("GRANT SELECT ON {d}.* TO {role}"),
        format!("CREATE USER {} IDENTIFIED BY 'pw-r'", user("viar", "%")),
        format!("GRANT {role} TO {}", user("viar", "%")),
        format!("SET DEFAULT ROLE {role} FOR {}", user("viar", "%")),
        format!("CREATE USER {}", user("exec", "%")),
        format!("GRANT EXECUTE ON PROCEDURE {d}.p TO {}", user("exec", "%")),
        format!("CREATE USER {}", user("other", "%")),
        format!("GRANT SELECT ON {o}.* TO {}", user("other", "%")),
        format!("CREATE USER {quoted_name} IDENTIFIED BY 'pw-q'"),
        format!("GRANT UPDATE ON {d}.t TO {quoted_name}"),
    ];
    let accounts = Accounts::create(&users, std::slice::from_ref(&role), &sql).await;

    let dir = out_dir();
    let out = backup(
        &["single", "--database", &db.name, "-c", "zstd"],
        dir.path(),
    );
    assert_success(&out, "single");
    let dump = dump_file_in(dir.path());
    let grants = grants_file_of(&dump, false);
    assert!(grants.exists(), "{} missing", grants.display());
    assert_eq!(mode_of(&grants), 0o600);
    assert_eq!(
        metadata_of(&dump)["additional_files"]["user_grants"],
        grants.display().to_string()
    );
    let text = std::fs::read_to_string(&grants).unwrap();
    assert!(text.starts_with("-- sfdbtools user grants\n"), "{text}");
    assert!(
        text.contains(&format!(
            "-- Scope: accounts with a privilege on `{}`",
            db.name
        )),
        "{text}"
    );
    assert!(text.ends_with("\nFLUSH PRIVILEGES;\n"), "{text}");

    let want: BTreeSet<String> = [
        format!("-- Account '{tag}_col'@'10.0.0.%'"),
        format!("-- Account '{tag}_db'@'%'"),
        format!("-- Account '{tag}_esc'@'%'"),
        format!("-- Account '{tag}_exec'@'%'"),
        format!("-- Account '{tag}_o\\'q'@'%'"),
        format!("-- Account '{tag}_viar'@'%'"),
        format!("-- Account '{tag}_wild'@'%'"),
        format!("-- Role '{tag}_r'"),
    ]
    .into_iter()
    .collect();
    assert_eq!(exported(&text, &tag), want, "{text}");
    assert!(
        !text.contains("GRANT PROCESS"),
        "global privileges stay out: {text}"
    );
    assert!(text.contains("Global privileges (ON *.*) of this account are not part"));
    assert!(!text.contains(&other.name), "{text}");
    assert!(text.find("\n-- Roles\n").unwrap() < text.find("-- Account ").unwrap());

    // Into a server without these accounts: the stock client replays the file silently and
    // every account comes back with the same grants (the left-out PROCESS aside).
    let restored: Vec<String> = users
        .iter()
        .filter(|u| !u.contains("_other'"))
        .cloned()
        .chain(std::iter::once(role.clone()))
        .collect();
    let mut before = Vec::new();
    for a in &restored {
        before.push(show_grants(a).await);
    }
    accounts.drop_all().await;
    let out = server()
        .client(None)
        .arg("--show-warnings")
        .stdin(std::fs::File::open(&grants).unwrap())
        .output()
        .unwrap();
    assert_success(&out, "restoring the accounts file");
    let noise =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(noise.trim().is_empty(), "the restore printed: {noise}");
    for (a, before) in restored.iter().zip(before) {
        let after = show_grants(a).await;
        if a.contains("_col'") {
            let without_process: BTreeSet<String> = before
                .iter()
                .map(|l| l.replace("GRANT PROCESS ON", "GRANT USAGE ON"))
                .collect();
            assert_eq!(after, without_process, "{a}");
        } else {
            assert_eq!(after, before, "{a}");
        }
    }
    // Passwords come back too.
    let mut c = mysql_async::Conn::new(
        mysql_async::OptsBuilder::from_opts(server().opts(Some(&db.name)))
            .user(Some(format!("{tag}_db")))
            .pass(Some("pw-db")),
    )
    .await
    .expect("the restored account logs in with its password");
    let n: u64 = c
        .query_first("SELECT COUNT(*) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    c.disconnect().await.unwrap();
}

#[tokio::test]
async fn an_encrypted_dump_gets_an_encrypted_accounts_file() {
    let db = TestDb::new("grants_enc").await;
    db.exec("CREATE TABLE t (id INT)").await;
    let tag = format!("ge{}", std::process::id());
    let account = format!("'{tag}'@'%'");
    let _accounts = Accounts::create(
        std::slice::from_ref(&account),
        &[],
        &[
            format!("CREATE USER {account} IDENTIFIED BY 'pw'"),
            format!("GRANT SELECT ON {}.* TO {account}", common::quote(&db.name)),
        ],
    )
    .await;
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "zstd",
            "-K",
            "grants-key",
        ],
        dir.path(),
    );
    assert_success(&out, "single -K");
    let dump = dump_file_in(dir.path());
    assert!(dump.to_string_lossy().ends_with(".sql.zst.enc"));
    let grants = grants_file_of(&dump, true);
    assert!(grants.exists(), "{} missing", grants.display());
    assert!(!grants_file_of(&dump, false).exists(), "no plaintext copy");
    assert_eq!(mode_of(&grants), 0o600);
    let sealed = std::fs::read(&grants).unwrap();
    assert!(sealed.starts_with(b"Salted__"));
    let mut plain = Vec::new();
    sfdbtools::encrypt::decrypt_any(
        &sealed[..],
        &mut plain,
        &Passphrase::new(Secret::new("grants-key")),
    )
    .expect("the accounts file decrypts with the dump's key");
    let text = String::from_utf8(plain).unwrap();
    assert!(text.contains(&format!("-- Account '{tag}'@'%'")), "{text}");
    assert!(text.ends_with("FLUSH PRIVILEGES;\n"));
    assert_eq!(
        metadata_of(&dump)["additional_files"]["user_grants"],
        grants.display().to_string()
    );
}

#[tokio::test]
async fn exclude_user_writes_no_accounts_file() {
    let db = TestDb::new("grants_off").await;
    db.exec("CREATE TABLE t (id INT)").await;
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "--exclude-user",
        ],
        dir.path(),
    );
    assert_success(&out, "single --exclude-user");
    let dump = dump_file_in(dir.path());
    assert_eq!(
        common::files_in(dir.path()).len(),
        2,
        "dump and metadata only"
    );
    assert_eq!(
        metadata_of(&dump)["additional_files"]["user_grants"],
        "none"
    );
}

/// Without SELECT on `mysql` the dump still succeeds; the export is skipped with a warning
/// that says what to grant, and the metadata says `none`.
#[tokio::test]
async fn without_the_privilege_the_export_is_skipped_with_a_warning() {
    let db = TestDb::new("grants_noprv").await;
    db.exec("CREATE TABLE t (id INT); INSERT INTO t VALUES (1)")
        .await;
    let user = TestUser::new(
        "grants_noprv",
        "pw-noprv",
        &format!("SELECT ON {}.*", common::quote(&db.name)),
    )
    .await;
    let dir = out_dir();
    let out = user.backup(
        &["single", "--database", &db.name, "-c", "none"],
        dir.path(),
    );
    assert_success(&out, "single without SELECT on mysql");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("user grants are not exported") && stderr.contains("SELECT ON mysql.*"),
        "{stderr}"
    );
    let dump = dump_file_in(dir.path());
    assert_eq!(common::files_in(dir.path()).len(), 2, "no accounts file");
    assert_eq!(
        metadata_of(&dump)["additional_files"]["user_grants"],
        "none"
    );
}

/// `all` exports every account (roles first), never the servers' own system accounts.
#[tokio::test]
async fn the_all_scope_holds_every_account() {
    let tag = format!("ga{}", std::process::id());
    let account = format!("'{tag}'@'%'");
    let role = format!("`{tag}_r`");
    let _accounts = Accounts::create(
        std::slice::from_ref(&account),
        std::slice::from_ref(&role),
        &[
            format!("CREATE USER {account}"),
            format!("CREATE ROLE {role}"),
            format!("GRANT {role} TO {account}"),
        ],
    )
    .await;
    let s = server();
    let settings = sfdbtools::connect::ConnectionSettings {
        host: s.host.clone(),
        port: s.port,
        user: s.user.clone(),
        password: s.password.clone().map(Secret::new),
        ..Default::default()
    };
    let (mut conn, info) = sfdbtools::connect::open(&settings, "test").await.unwrap();
    let export = sfdbtools::grants::read(&mut conn, &info, sfdbtools::grants::Scope::All)
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    let sql = &export.sql;
    assert!(sql.contains("-- Scope: every account\n"), "{sql}");
    assert!(
        sql.contains(&format!("\n-- Account '{}'@'", s.user)),
        "{sql}"
    );
    assert!(
        sql.contains(&format!("\n-- Account '{tag}'@'%'\n")),
        "{sql}"
    );
    assert!(
        sql.contains(&format!("GRANT `{tag}_r` TO `{tag}`@`%`;")),
        "{sql}"
    );
    let roles = sql.find("\n-- Roles\n").expect("a roles section");
    let create_role = sql
        .find(&format!("CREATE ROLE IF NOT EXISTS `{tag}_r`;"))
        .unwrap();
    assert!(roles < create_role && create_role < sql.find("-- Account ").unwrap());
    assert!(!sql.contains("mariadb.sys"), "{sql}");
    assert!(export.accounts >= 3, "{}", export.accounts);
}

async fn show_create_user(account: &str) -> String {
    let mut c = server().conn(None).await;
    let text: Option<String> = c
        .query_first(format!("SHOW CREATE USER {account}"))
        .await
        .unwrap_or_else(|e| panic!("SHOW CREATE USER {account}: {e}"));
    c.disconnect().await.unwrap();
    text.unwrap()
}

async fn account_exists(user: &str) -> bool {
    let mut c = server().conn(None).await;
    let n: Option<u64> = c
        .exec_first("SELECT COUNT(*) FROM mysql.user WHERE User = ?", (user,))
        .await
        .unwrap();
    c.disconnect().await.unwrap();
    n.unwrap_or(0) > 0
}

/// Runs statements as root.
async fn as_root(sql: &[String]) {
    let mut c = server().conn(None).await;
    for s in sql {
        c.query_drop(s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    c.disconnect().await.unwrap();
}

/// Whether `user`@'%' logs in with `password`.
async fn logs_in(user: &str, password: &str) -> bool {
    match mysql_async::Conn::new(
        mysql_async::OptsBuilder::from_opts(server().opts(None))
            .user(Some(user))
            .pass(Some(password)),
    )
    .await
    {
        Ok(c) => {
            c.disconnect().await.unwrap();
            true
        }
        Err(_) => false,
    }
}

/// The line of a restore's output that starts with `prefix` (after blanks).
fn line_of<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

/// The case: the backup's accounts file carries an account's old password (MariaDB's
/// GRANT lines say IDENTIFIED BY PASSWORD), the server has a newer one. `--grants` creates
/// the account that is missing, with everything the file says, and leaves the existing
/// account and role exactly as they are: password, limits and privileges; under -q the run
/// lists both.
#[tokio::test]
async fn a_restore_with_grants_creates_missing_accounts_and_leaves_existing_ones_alone() {
    let db = TestDb::new("gr_keep").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let tag = format!("gk{}", std::process::id());
    let d = quote(&db.name);
    let app = format!("'{tag}_app'@'%'");
    let new = format!("'{tag}_new'@'%'");
    let role = format!("`{tag}_r`");
    let _accounts = Accounts::create(
        &[app.clone(), new.clone()],
        std::slice::from_ref(&role),
        &[
            format!("CREATE USER {app} IDENTIFIED BY 'backup-pw' WITH MAX_QUERIES_PER_HOUR 7"),
            format!("GRANT SELECT ON {d}.* TO {app}"),
            format!("CREATE ROLE {role}"),
            format!("GRANT SELECT ON {d}.* TO {role}"),
            format!("CREATE USER {new} IDENTIFIED BY 'new-pw'"),
            format!("GRANT {role} TO {new}"),
            format!("SET DEFAULT ROLE {role} FOR {new}"),
            format!("GRANT INSERT ON {d}.t TO {new}"),
        ],
    )
    .await;
    let dir = out_dir();
    assert_success(
        &backup(
            &["single", "--database", &db.name, "-c", "none"],
            dir.path(),
        ),
        "backup",
    );
    let dump = dump_file_in(dir.path());
    let file = std::fs::read_to_string(grants_file_of(&dump, false)).unwrap();
    assert!(
        file.contains(&format!("TO `{tag}_app`@`%` IDENTIFIED BY PASSWORD")),
        "the file re-sets the password: {file}"
    );
    // Since the backup: a new password and no limit for app, the role lost its privilege,
    // and the other account is gone.
    as_root(&[
        format!("ALTER USER {app} IDENTIFIED BY 'current-pw' WITH MAX_QUERIES_PER_HOUR 0"),
        format!("REVOKE SELECT ON {d}.* FROM {role}"),
        format!("DROP USER {new}"),
    ])
    .await;
    let app_before = (show_create_user(&app).await, show_grants(&app).await);
    let role_before = show_grants(&role).await;

    let target = TestDb::new("gr_keep_to").await;
    let out = restore_single(&dump, &target.name, &["--grants"]);
    assert_success(&out, "restore --grants");
    let text = output_text(&out);
    assert_eq!(
        line_of(&text, "created "),
        format!("created 1 account(s): '{tag}_new'@'%'"),
        "{text}"
    );
    let left = line_of(&text, "left alone ");
    assert!(
        left.starts_with("left alone 2 account(s)")
            && left.contains(&format!("'{tag}_app'@'%'"))
            && left.contains(&format!("'{tag}_r'")),
        "{text}"
    );

    assert_eq!(show_create_user(&app).await, app_before.0, "app's account");
    assert_eq!(show_grants(&app).await, app_before.1, "app's privileges");
    assert_eq!(
        show_grants(&role).await,
        role_before,
        "the role's privileges"
    );
    assert!(logs_in(&format!("{tag}_app"), "current-pw").await);
    assert!(!logs_in(&format!("{tag}_app"), "backup-pw").await);

    assert!(logs_in(&format!("{tag}_new"), "new-pw").await);
    let grants = show_grants(&new).await;
    let has = |needle: String| grants.iter().any(|g| g.contains(&needle));
    assert!(
        has(format!("GRANT `{tag}_r` TO `{tag}_new`@`%`")),
        "{grants:?}"
    );
    assert!(has(format!("SET DEFAULT ROLE `{tag}_r` FOR")), "{grants:?}");
    assert!(has(format!("GRANT INSERT ON {d}.`t` TO")), "{grants:?}");
}

/// Restoring data creates no account: not by default, not with --skip-grants, even with the
/// accounts file next to the dump.
#[tokio::test]
async fn without_grants_a_restore_creates_no_account() {
    let db = TestDb::new("gr_none").await;
    db.exec("CREATE TABLE t (id INT)").await;
    let tag = format!("gn{}", std::process::id());
    let account = format!("'{tag}'@'%'");
    let _accounts = Accounts::create(
        std::slice::from_ref(&account),
        &[],
        &[
            format!("CREATE USER {account} IDENTIFIED BY 'pw'"),
            format!("GRANT SELECT ON {}.* TO {account}", quote(&db.name)),
        ],
    )
    .await;
    let dir = out_dir();
    assert_success(
        &backup(
            &["single", "--database", &db.name, "-c", "none"],
            dir.path(),
        ),
        "backup",
    );
    let dump = dump_file_in(dir.path());
    assert!(grants_file_of(&dump, false).exists());
    as_root(&[format!("DROP USER {account}")]).await;
    for extra in [&[][..], &["--skip-grants"][..]] {
        let target = TestDb::new("gr_none_to").await;
        let out = restore_single(&dump, &target.name, extra);
        assert_success(&out, &format!("restore {extra:?}"));
        assert!(!account_exists(&tag).await, "{extra:?} created the account");
        assert!(
            !output_text(&out).contains("accounts file"),
            "{}",
            output_text(&out)
        );
    }
}

/// Which accounts file `db-restore --grants` takes, re-pointing, the dry run.
mod files;
