//! `db-restore --grants` and the accounts file it takes: only a file that holds nothing but
//! accounts statements, found by name next to the dump (an encrypted one with an encrypted
//! dump); grants re-pointed at another target name only when asked; the dry run.

use crate::common;

use std::path::{Path, PathBuf};

use common::{
    TestDb, assert_success, backup, database_exists, dump_file_in, metadata_of, out_dir,
    output_text, quote, restore_single, server,
};
use mysql_async::prelude::*;

use super::{
    Accounts, account_exists, as_root, grants_file_of, line_of, logs_in, show_create_user,
    show_grants,
};

/// An accounts file holding anything but accounts statements (here a DROP USER) is refused
/// whole before anything runs: no account created or dropped, no database restored.
#[tokio::test]
async fn an_accounts_file_with_another_statement_is_refused_before_anything_runs() {
    let tag = format!("gx{}", std::process::id());
    let victim = format!("'{tag}_victim'@'%'");
    let _accounts = Accounts::create(
        &[victim.clone(), format!("'{tag}_a'@'%'")],
        &[],
        &[format!("CREATE USER {victim}")],
    )
    .await;
    let dir = out_dir();
    let dump = dir.path().join("app_20260105_020000_db01.sql");
    std::fs::write(
        &dump,
        "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app_20260105_020000_db01_users.sql"),
        format!(
            "-- accounts\nCREATE USER '{tag}_a'@'%' IDENTIFIED BY 'pw';\n\
             GRANT SELECT ON *.* TO '{tag}_a'@'%';\nDROP USER IF EXISTS {victim};\n\
             FLUSH PRIVILEGES;\n"
        ),
    )
    .unwrap();
    let target = format!("t_gr_refused_{}", std::process::id());
    let out = restore_single(&dump, &target, &["--grants"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("app_20260105_020000_db01_users.sql: statement 3 (line 4")
            && text.contains("is DROP USER")
            && text.contains("nothing was restored"),
        "{text}"
    );
    assert!(!account_exists(&format!("{tag}_a")).await, "created anyway");
    assert!(account_exists(&format!("{tag}_victim")).await, "dropped");
    assert!(!database_exists(&target).await, "the data was restored");
}

/// The metadata's accounts file is looked for by its name next to the dump, wherever the
/// metadata says it was written: a set moved elsewhere finds its own, and a path into another
/// directory is not followed.
#[tokio::test]
async fn the_accounts_file_is_found_by_name_next_to_the_dump_only() {
    let db = TestDb::new("gr_name").await;
    db.exec("CREATE TABLE t (id INT)").await;
    let tag = format!("gm{}", std::process::id());
    let there = format!("'{tag}_there'@'%'");
    let here = format!("'{tag}_here'@'%'");
    let _accounts = Accounts::create(
        &[there.clone(), here.clone()],
        &[],
        &[
            format!("CREATE USER {there}"),
            format!("GRANT SELECT ON {}.* TO {there}", quote(&db.name)),
        ],
    )
    .await;
    let first = out_dir();
    assert_success(
        &backup(
            &["single", "--database", &db.name, "-c", "none"],
            first.path(),
        ),
        "backup",
    );
    let dump = dump_file_in(first.path());
    let recorded = grants_file_of(&dump, false);
    assert_eq!(
        metadata_of(&dump)["additional_files"]["user_grants"],
        recorded.display().to_string(),
        "the metadata records a path"
    );
    as_root(&[format!("DROP USER {there}")]).await;
    // The set moved; next to it an accounts file of the same name with other content. The one
    // the metadata's path names is still where it was.
    let moved = out_dir();
    let name = |p: &Path| p.file_name().unwrap().to_owned();
    for f in [
        dump.clone(),
        PathBuf::from(format!("{}.meta.json", dump.display())),
    ] {
        std::fs::copy(&f, moved.path().join(name(&f))).unwrap();
    }
    let moved_dump = moved.path().join(name(&dump));
    let beside = moved.path().join(name(&recorded));
    std::fs::write(&beside, format!("CREATE USER {here};\n")).unwrap();

    let target = TestDb::new("gr_name_to").await;
    let out = restore_single(&moved_dump, &target.name, &["--grants"]);
    assert_success(&out, "restore --grants of the moved set");
    assert!(
        account_exists(&format!("{tag}_here")).await,
        "{}",
        output_text(&out)
    );
    assert!(
        !account_exists(&format!("{tag}_there")).await,
        "the metadata's directory was followed"
    );

    // No file of that name beside the dump: refused before anything, the other one unused.
    std::fs::remove_file(&beside).unwrap();
    let target = format!("t_gr_name_none_{}", std::process::id());
    let out = restore_single(&moved_dump, &target, &["--grants"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("no accounts file next to") && text.contains(&beside.display().to_string()),
        "{text}"
    );
    assert!(!account_exists(&format!("{tag}_there")).await);
    assert!(!database_exists(&target).await);
}

/// Next to an encrypted dump only the encrypted accounts file counts: a plaintext one (by
/// name or by content) is refused, with nothing restored; the real one restores.
#[tokio::test]
async fn an_encrypted_dump_takes_only_an_encrypted_accounts_file() {
    let db = TestDb::new("gr_enc").await;
    db.exec("CREATE TABLE t (id INT)").await;
    let tag = format!("gc{}", std::process::id());
    let real = format!("'{tag}_real'@'%'");
    let planted = format!("'{tag}_planted'@'%'");
    let _accounts = Accounts::create(
        &[real.clone(), planted.clone()],
        &[],
        &[
            format!("CREATE USER {real} IDENTIFIED BY 'pw-real'"),
            format!("GRANT SELECT ON {}.* TO {real}", quote(&db.name)),
        ],
    )
    .await;
    let dir = out_dir();
    assert_success(
        &backup(
            &["single", "--database", &db.name, "-c", "none", "-K", "gkey"],
            dir.path(),
        ),
        "backup -K",
    );
    let dump = dump_file_in(dir.path());
    let sealed = grants_file_of(&dump, true);
    let sealed_bytes = std::fs::read(&sealed).unwrap();
    as_root(&[format!("DROP USER {real}")]).await;
    let plant =
        format!("CREATE USER {planted} IDENTIFIED BY 'x';\nGRANT ALL ON *.* TO {planted};\n");
    let meta = PathBuf::from(format!("{}.meta.json", dump.display()));
    let meta_text = std::fs::read(&meta).unwrap();
    let refused = |out: &std::process::Output, what: &str| {
        let text = output_text(out);
        assert_eq!(out.status.code(), Some(2), "{what}: {text}");
        assert!(
            text.contains("is encrypted but its accounts file"),
            "{what}: {text}"
        );
    };
    let target = format!("t_gr_enc_none_{}", std::process::id());

    // Without metadata, by the naming rule: only the plaintext name is there.
    std::fs::remove_file(&sealed).unwrap();
    std::fs::remove_file(&meta).unwrap();
    std::fs::write(grants_file_of(&dump, false), &plant).unwrap();
    let out = restore_single(&dump, &target, &["--grants", "-K", "gkey"]);
    refused(&out, "a plaintext _users.sql");

    // The metadata names the .enc file, which holds plaintext.
    std::fs::write(&meta, &meta_text).unwrap();
    std::fs::write(&sealed, &plant).unwrap();
    let out = restore_single(&dump, &target, &["--grants", "-K", "gkey"]);
    refused(&out, "plaintext under the .enc name");
    assert!(!account_exists(&format!("{tag}_planted")).await);
    assert!(!database_exists(&target).await);

    std::fs::write(&sealed, &sealed_bytes).unwrap();
    let to = TestDb::new("gr_enc_to").await;
    let out = restore_single(&dump, &to.name, &["--grants", "-K", "gkey"]);
    assert_success(&out, "restore --grants with the encrypted accounts file");
    assert!(logs_in(&format!("{tag}_real"), "pw-real").await);
    assert!(!account_exists(&format!("{tag}_planted")).await);
}

/// Restored under another name, the accounts file's grants still name the source database:
/// the run says so; --grants-to-target makes them on the target instead.
#[tokio::test]
async fn grants_name_the_source_database_unless_repointed_at_the_target() {
    let db = TestDb::new("gr_src").await;
    db.exec("CREATE TABLE t (id INT); INSERT INTO t VALUES (1)")
        .await;
    let tag = format!("gt{}", std::process::id());
    let account = format!("'{tag}'@'%'");
    let d = quote(&db.name);
    let _accounts = Accounts::create(
        std::slice::from_ref(&account),
        &[],
        &[
            format!("CREATE USER {account} IDENTIFIED BY 'pw-t'"),
            format!("GRANT SELECT ON {d}.* TO {account}"),
            format!("GRANT UPDATE ON {d}.t TO {account}"),
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
    as_root(&[format!("DROP USER {account}")]).await;

    let plain = TestDb::new("gr_src_to").await;
    let out = restore_single(&dump, &plain.name, &["--grants"]);
    assert_success(&out, "restore --grants into another name");
    let text = output_text(&out);
    assert!(
        text.contains(&format!(
            "2 grant(s) name database {d}, the one the dump was made from, not {}",
            quote(&plain.name)
        )) && text.contains("pass --grants-to-target"),
        "{text}"
    );
    let grants = show_grants(&account).await;
    assert!(
        grants.iter().any(|g| g.contains(&format!("ON {d}.*"))),
        "{grants:?}"
    );
    assert!(
        !grants.iter().any(|g| g.contains(&plain.name)),
        "{grants:?}"
    );

    as_root(&[format!("DROP USER {account}")]).await;
    let moved = TestDb::new("gr_src_re").await;
    let m = quote(&moved.name);
    let out = restore_single(&dump, &moved.name, &["--grants", "--grants-to-target"]);
    assert_success(&out, "restore --grants --grants-to-target");
    let text = output_text(&out);
    assert!(
        text.contains(&format!("2 grant(s) on {d} made on {m}"))
            && !text.contains("pass --grants-to-target"),
        "{text}"
    );
    let grants = show_grants(&account).await;
    assert!(
        grants
            .iter()
            .any(|g| g.contains(&format!("GRANT SELECT ON {m}.*"))),
        "{grants:?}"
    );
    assert!(
        grants
            .iter()
            .any(|g| g.contains(&format!("GRANT UPDATE ON {m}.`t`"))),
        "{grants:?}"
    );
    assert!(!grants.iter().any(|g| g.contains(&db.name)), "{grants:?}");
    let mut c = mysql_async::Conn::new(
        mysql_async::OptsBuilder::from_opts(server().opts(Some(&moved.name)))
            .user(Some(tag.clone()))
            .pass(Some("pw-t")),
    )
    .await
    .expect("the account logs in to the target");
    let n: u64 = c
        .query_first("SELECT COUNT(*) FROM t")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    c.disconnect().await.unwrap();

    // Without --grants it has nothing to re-point.
    let out = restore_single(&dump, &moved.name, &["--grants-to-target", "--drop-target"]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
}

/// `--dry-run --grants` lists the accounts it would create and leave alone, and changes
/// nothing: no account, no password, no database.
#[tokio::test]
async fn a_dry_run_lists_the_accounts_and_changes_nothing() {
    let db = TestDb::new("gr_dry").await;
    db.exec("CREATE TABLE t (id INT)").await;
    let tag = format!("gd{}", std::process::id());
    let kept = format!("'{tag}_kept'@'%'");
    let missing = format!("'{tag}_missing'@'%'");
    let _accounts = Accounts::create(
        &[kept.clone(), missing.clone()],
        &[],
        &[
            format!("CREATE USER {kept} IDENTIFIED BY 'old'"),
            format!("GRANT SELECT ON {}.* TO {kept}", quote(&db.name)),
            format!("CREATE USER {missing}"),
            format!("GRANT SELECT ON {}.* TO {missing}", quote(&db.name)),
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
    as_root(&[
        format!("ALTER USER {kept} IDENTIFIED BY 'new'"),
        format!("DROP USER {missing}"),
    ])
    .await;
    let before = (show_create_user(&kept).await, show_grants(&kept).await);
    let target = format!("t_gr_dry_{}", std::process::id());
    let out = restore_single(&dump, &target, &["--grants", "--dry-run"]);
    assert_success(&out, "restore --grants --dry-run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        line_of(&stdout, "would create "),
        format!("would create 1 account(s): '{tag}_missing'@'%'"),
        "{stdout}"
    );
    assert!(
        line_of(&stdout, "would leave alone ")
            .starts_with("would leave alone 1 account(s) that exist")
            && line_of(&stdout, "would leave alone ").ends_with(&format!(": '{tag}_kept'@'%'")),
        "{stdout}"
    );
    assert!(!account_exists(&format!("{tag}_missing")).await);
    assert_eq!(
        (show_create_user(&kept).await, show_grants(&kept).await),
        before
    );
    assert!(!database_exists(&target).await);
}
