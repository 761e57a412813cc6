//! `db-copy` into another database of the source server itself: the copy may not block the
//! server's DDL, and holds its tables' metadata instead.
//!
//! Alone on its server ([`common::serial`], in the `serial` binary): it leaves an `ALTER TABLE`
//! waiting for the copy on purpose, and a DDL statement that waits holds off every other
//! test's `FLUSH TABLES WITH READ LOCK` on the server until it ends.

use std::time::{Duration, Instant};

use crate::common;

use common::{TestDb, assert_success, output_text, server};
use mysql_async::prelude::*;

/// A copy into another database of the source server itself: the target's DDL runs on the
/// server the dump is reading, so the dump may not block the server's DDL for its whole run
/// (it used to: the target's first CREATE TABLE waited for the dump, the dump for the target,
/// with more rows than the stream holds). It holds the copied tables' metadata instead: while
/// the copy is stopped mid-read, an ALTER of the source table waits and DDL elsewhere goes on.
/// And an ALTER of a table not read yet, left waiting, does not stop the copy when it comes
/// to that table (it once did: the read queued behind the ALTER, which waited for the copy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_into_another_database_of_the_same_server_blocks_ddl_only_on_its_tables() {
    let _serial = common::serial().await;
    let src = TestDb::new("copy_same").await;
    common::create_big_table(&src).await;
    // Small: read after `big` (largest first), by the one worker.
    src.exec("CREATE TABLE zz_later (id INT PRIMARY KEY); INSERT INTO zz_later VALUES (1), (2);")
        .await;
    let dst = TestDb::new("copy_same_to").await;
    let elsewhere = TestDb::new("copy_same_ddl").await;
    let mut child = server()
        .sfdbtools()
        .args([
            "--log-format",
            "json",
            "db-copy",
            "single",
            "--database",
            &src.name,
        ])
        .args(["--target-db", &dst.name, "-j", "1", "-t", "TEST", "-q"])
        .args(server().connection_args())
        .arg(format!("--target-host={}", server().host))
        .arg(format!("--target-port={}", server().port))
        .arg(format!("--target-user={}", server().user))
        .env(
            "SFDB_TARGET_PASSWORD",
            server().password.clone().unwrap_or_default(),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for_rows(&src.name).await;
    // Stopped, the copy is certainly inside its snapshot, holding what it holds.
    common::signal("-STOP", child.id());
    let mut c = server().conn(None).await;
    c.query_drop("SET SESSION lock_wait_timeout = 1")
        .await
        .unwrap();
    let altered = c
        .query_drop(format!(
            "ALTER TABLE {}.big COMMENT 'changed mid-copy'",
            common::quote(&src.name)
        ))
        .await;
    let code = match &altered {
        Err(mysql_async::Error::Server(e)) => Some(e.code),
        _ => None,
    };
    // DDL on another database does not wait for the copy (another test's backup may hold the
    // server's DDL for a while: a minute is the bound, not a second).
    c.query_drop("SET SESSION lock_wait_timeout = 60")
        .await
        .unwrap();
    let created = c
        .query_drop(format!(
            "CREATE TABLE {}.t (id INT PRIMARY KEY)",
            common::quote(&elsewhere.name)
        ))
        .await;
    // Left waiting (five minutes at most) while the copy goes on.
    let mut a = server().conn(None).await;
    let later = common::quote(&src.name);
    let waiting_alter = tokio::spawn(async move {
        a.query_drop(format!(
            "SET SESSION lock_wait_timeout = 300; ALTER TABLE {later}.zz_later FORCE"
        ))
        .await
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: Option<u64> = c
            .query_first(format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE \
                 'Waiting for table metadata lock' AND INFO LIKE 'ALTER TABLE %{}%zz_later%'",
                src.name
            ))
            .await
            .unwrap();
        if n >= Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "the ALTER never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    common::signal("-CONT", child.id());
    assert_eq!(
        code,
        Some(1205),
        "an ALTER of a table being copied must wait for the copy: {altered:?}"
    );
    assert!(
        created.is_ok(),
        "DDL on another database waited for the copy: {created:?}"
    );
    // Well within the ALTER's five minutes: a copy stuck behind it would end only after.
    let deadline = Instant::now() + Duration::from_secs(240);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the copy into the same server did not end within 240 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert_success(&out, "copy into another database of the same server");
    common::assert_same(&src.name, &dst.name).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(r#""status":"ok""#),
        "{}",
        output_text(&out)
    );
    // The ALTER (a rebuild: the definition compared above is the same) ran once the copy
    // let go.
    waiting_alter.await.unwrap().unwrap();
}
