//! `db-restore secondary`: a primary's package restored as the secondary
//! `dbsf_nbc_<client>_secondary_<instance>`, its `_dmart` companion as that name's `_dmart`,
//! as the old tool does from a file.

use crate::common;

use common::{
    assert_same, assert_success, backup, database_exists, files_in, out_dir, quote, server,
};
use mysql_async::prelude::*;

use super::restore;

/// Databases of exact names (a client's), dropped with the value unless the test failed.
struct Named(Vec<String>);

impl Drop for Named {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping databases {:?} for inspection", self.0);
            return;
        }
        for db in &self.0 {
            let _ = server()
                .client(None)
                .arg("-e")
                .arg(format!("DROP DATABASE IF EXISTS {}", quote(db)))
                .output();
        }
    }
}

#[tokio::test]
async fn secondary_restores_a_primary_package_as_the_instance() {
    let code = format!("rsec{}", std::process::id());
    let (main, dmart) = (format!("dbsf_nbc_{code}"), format!("dbsf_nbc_{code}_dmart"));
    let training = format!("dbsf_nbc_{code}_secondary_training");
    let second = format!("dbsf_nbc_{code}_secondary_2");
    let _dbs = Named(vec![
        main.clone(),
        dmart.clone(),
        training.clone(),
        format!("{training}_dmart"),
        second.clone(),
        format!("{second}_dmart"),
    ]);
    let mut c = server().conn(None).await;
    for (db, sql) in [
        (
            &main,
            "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(20)); INSERT INTO orders VALUES (1, 'a'), (2, 'b')",
        ),
        (
            &dmart,
            "CREATE TABLE facts (id INT PRIMARY KEY, n BIGINT); INSERT INTO facts VALUES (7, 49)",
        ),
    ] {
        c.query_drop(format!(
            "DROP DATABASE IF EXISTS {0}; CREATE DATABASE {0}; USE {0}; {sql}",
            quote(db)
        ))
        .await
        .unwrap();
    }
    c.disconnect().await.unwrap();
    let dir = out_dir();
    let out = backup(
        &[
            "primary",
            "--client-code",
            &code,
            "--include-dmart",
            "-c",
            "none",
        ],
        dir.path(),
    );
    assert_success(&out, "backup primary");
    let file = files_in(dir.path())
        .into_iter()
        .find(|f| f.starts_with(&format!("{main}_2")) && f.ends_with(".sql"))
        .map(|f| dir.path().join(f))
        .expect("the primary's dump");
    let f = file.to_str().unwrap();

    let out = restore(
        "secondary",
        &[
            "--file",
            f,
            "--client-code",
            &code,
            "--instance",
            "training",
        ],
    );
    assert_success(&out, "restore secondary");
    assert_same(&main, &training).await;
    assert_same(&dmart, &format!("{training}_dmart")).await;

    // --skip-dmart: the secondary alone.
    let out = restore(
        "secondary",
        &[
            "--file",
            f,
            "--client-code",
            &code,
            "--instance",
            "2",
            "--skip-dmart",
        ],
    );
    assert_success(&out, "restore secondary --skip-dmart");
    assert_same(&main, &second).await;
    assert!(!database_exists(&format!("{second}_dmart")).await);

    // With -q nothing is asked: the instance is named or it is a usage error.
    let out = restore("secondary", &["--file", f, "--client-code", &code]);
    assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
    assert!(
        common::output_text(&out).contains("--instance"),
        "{}",
        common::output_text(&out)
    );
}
