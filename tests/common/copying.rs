//! What the `db-copy` and consistency tests share: a source with a writer that commits
//! transfers while a copy runs (each commit's GTID recorded), and a run's `finished` event.

use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::*;

use super::{TestDb, output_text, server};

/// The `finished` event of a JSON run.
pub fn finished(out: &Output) -> serde_json::Value {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "finished")
        .unwrap_or_else(|| panic!("no finished event:\n{}", output_text(out)))
}

/// The sequence number of the domain-0 part of a MariaDB GTID list.
pub fn gtid_seq(gtid: &str) -> u64 {
    gtid.split(',')
        .map(str::trim)
        .find(|g| g.starts_with("0-"))
        .and_then(|g| g.rsplit('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no domain-0 GTID in {gtid:?}"))
}

/// Transfers between accounts, each with a ledger row and a counter step, committed while the
/// copy runs; each commit's GTID sequence recorded. Stops when `stop` is set.
pub fn start_writer(
    db: String,
    stop: std::sync::Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(u64, u64)>> {
    tokio::spawn(async move {
        let mut conn = server().conn(Some(&db)).await;
        let mut commits = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut i: u64 = 0;
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            i += 1;
            let (a, b) = (1 + i % 50, 1 + (i * 7) % 50);
            conn.query_drop(format!(
                "START TRANSACTION;
                 UPDATE accounts SET balance = balance - {i} % 40 WHERE id = {a};
                 UPDATE accounts SET balance = balance + {i} % 40 WHERE id = {b};
                 INSERT INTO ledger (src, dst, amount) VALUES ({a}, {b}, {i} % 40);
                 UPDATE counter SET n = n + 1 WHERE id = 1;
                 COMMIT"
            ))
            .await
            .unwrap();
            let last: String = conn
                .query_first("SELECT @@last_gtid")
                .await
                .unwrap()
                .unwrap();
            commits.push((i, gtid_seq(&last)));
        }
        commits
    })
}

pub async fn writer_source(tag: &str) -> TestDb {
    let db = TestDb::new(tag).await;
    db.exec(
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL);
         INSERT INTO accounts SELECT seq, 1000 FROM seq_1_to_50;
         CREATE TABLE ledger (id BIGINT AUTO_INCREMENT PRIMARY KEY, src INT, dst INT, amount INT, pad CHAR(200) DEFAULT 'p');
         INSERT INTO ledger (src, dst, amount) SELECT 0, 0, 0 FROM seq_1_to_100000;
         CREATE TABLE counter (id INT PRIMARY KEY, n BIGINT NOT NULL);
         INSERT INTO counter VALUES (1, 0);",
    )
    .await;
    db
}

pub async fn wait_for_commits(db: &TestDb, n: u64) {
    let mut conn = db.conn().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: u64 = conn
            .query_first("SELECT n FROM counter")
            .await
            .unwrap()
            .unwrap();
        if got >= n {
            return;
        }
        assert!(Instant::now() < deadline, "the writer never committed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
