//! `db-backup all`, alone on its server ([`common::serial`], in the `serial` binary): it dumps
//! every database on the server, so a test creating or dropping databases next to it would
//! race it.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::{TestDb, assert_success, backup, files_in, metadata_of, out_dir};

#[tokio::test]
async fn all_writes_one_combined_file_without_system_databases() {
    let _serial = common::serial().await;
    let a = TestDb::new("all_a").await;
    a.exec("CREATE TABLE t (id INT PRIMARY KEY)").await;
    let dir = out_dir();
    let out = backup(&["all", "-c", "gzip", "-x"], dir.path());
    assert_success(&out, "all");
    let files: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".sql.gz"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].starts_with("all_nodata_") && files[0].ends_with("db.sql.gz"),
        "{}",
        files[0]
    );
    let meta = metadata_of(&dir.path().join(&files[0]));
    let dbs: Vec<String> = meta["backup"]["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    assert!(dbs.contains(&a.name), "{dbs:?}");
    for system in ["mysql", "information_schema", "performance_schema", "sys"] {
        assert!(
            !dbs.iter().any(|d| d == system),
            "{system} must be excluded: {dbs:?}"
        );
    }
    assert!(
        files[0].ends_with(&format!("_{}db.sql.gz", dbs.len())),
        "{}",
        files[0]
    );
    assert_eq!(meta["backup"]["exclude_data"], true);

    // Every account goes into the accounts file next to the dump (0600, never compressed).
    let base = files[0].trim_end_matches(".sql.gz");
    let grants = dir.path().join(format!("{base}_users.sql"));
    assert_eq!(
        meta["additional_files"]["user_grants"],
        grants.display().to_string()
    );
    let mode = std::fs::metadata(&grants).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&grants).unwrap();
    assert!(text.contains("-- Scope: every account\n"), "{text}");
    let me = common::server().user.clone();
    assert!(text.contains(&format!("\n-- Account '{me}'@'")), "{text}");
    assert!(text.ends_with("FLUSH PRIVILEGES;\n"));
}
