//! The row reader (`connect::wire`, rows decoded in place) against the real server: the same SQL
//! as the mysql_async path for every type, rows of 16 MiB and more, a connection killed while
//! it streams, password and Unix socket authentication, and the fallback when it cannot
//! connect.

use crate::common;

use common::{TestDb, assert_success, dump_file_in, metadata_of, out_dir, server, stderr};
use mysql_async::prelude::*;
use sfdbtools::connect::wire::{self, RowBlock, WireConn};
use sfdbtools::connect::{ConnectionSettings, Flavor};
use sfdbtools::rows::decode::{self, Layout};
use sfdbtools::secret::Secret;
use sfdbtools::sql::insert::InsertBuilder;
use sfdbtools::sql::value::CellKind;

const FALLBACK: &str = "the row reader could not connect";

/// Payloads around the 16 MiB packet limit: exactly 0xFFFFFF (followed by an empty packet), one
/// byte more, and over two full packets; small rows between them share buffers with nothing.
#[tokio::test]
async fn rows_of_16_mib_and_more_are_reassembled() {
    const MAX: usize = 0xff_ffff;
    let db = TestDb::new("reader_big").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB)")
        .await;
    // A row's payload: header 1 + NULL bitmap 1 + INT 4 + length prefix (4, or 9 from 16 MiB).
    let sizes = [(2, MAX - 10), (4, MAX - 9), (5, 2 * MAX + 100 - 15)];
    let mut conn = db.conn().await;
    conn.query_drop("INSERT INTO t VALUES (1, 'x'), (3, ''), (6, NULL), (7, X'00')")
        .await
        .unwrap();
    for (id, n) in sizes {
        conn.exec_drop(
            "INSERT INTO t VALUES (?, CONCAT(REPEAT(X'00FF5C27', ? DIV 4), REPEAT('a', ? MOD 4)))",
            (id, n, n),
        )
        .await
        .unwrap();
    }
    conn.disconnect().await.unwrap();

    let (wire_dir, driver_dir) = (out_dir(), out_dir());
    let (wire, out) = common::dump_with_reader(&db.name, wire_dir.path(), "wire", &["-j", "1"]);
    assert!(!stderr(&out).contains(FALLBACK), "{}", stderr(&out));
    let text = std::fs::read_to_string(&wire).unwrap();
    for (id, n) in sizes {
        let expected = format!(
            "({id},0x{}{})",
            "00FF5C27".repeat(n / 4),
            "61".repeat(n % 4)
        );
        assert!(
            text.contains(&expected),
            "row {id} ({n} bytes) is not whole"
        );
    }
    assert!(text.contains("(1,0x78)") && text.contains("(6,NULL)") && text.contains("(3,'')"));
    assert_eq!(common::table_sums(&wire)[0].1, 7);
    drop(text);
    let (driver, _) = common::dump_with_reader(&db.name, driver_dir.path(), "driver", &["-j", "1"]);
    common::assert_same_dump(&wire, &driver);
}

/// The reader's connection killed while it streams: the run fails naming the table, the chunk
/// and the rows read so far.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_stream_names_table_chunk_and_rows() {
    let db = TestDb::new("reader_killed").await;
    db.exec(
        "CREATE TABLE big (id INT PRIMARY KEY, pad CHAR(255));
         INSERT INTO big SELECT seq, REPEAT('p', 255) FROM seq_1_to_300000;",
    )
    .await;
    let (name, dir) = (db.name.clone(), out_dir());
    let path = dir.path().to_owned();
    let run = tokio::task::spawn_blocking(move || {
        common::backup(
            &["single", "--database", &name, "-c", "none", "-j", "1"],
            &path,
        )
    });
    let id = common::wait_for_rows(&db.name).await;
    let mut conn = server().conn(None).await;
    conn.query_drop(format!("KILL CONNECTION {id}"))
        .await
        .unwrap();
    let out = run.await.unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains(FALLBACK), "{err}");
    let expected = format!("dumping rows of `{}`.`big` (chunk ", db.name);
    assert!(err.contains(&expected), "{err}");
    assert!(
        err.contains(" rows): ") && err.contains("the dump is incomplete"),
        "{err}"
    );
    assert!(common::files_in(dir.path()).is_empty());
    common::assert_no_lock_left(&db.name, "big").await;
}

/// An account with a password (mysql_native_password) and odd characters in it.
#[tokio::test]
async fn a_password_account_reads_through_the_reader() {
    let db = TestDb::new("reader_user").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20)); INSERT INTO t VALUES (1,'a'),(2,NULL)",
    )
    .await;
    let user = common::TestUser::new(
        "reader_pw",
        "pä ss'wörd\\",
        "SELECT, RELOAD, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT ON *.*",
    )
    .await;
    let dir = out_dir();
    let out = user.backup(
        &["single", "--database", &db.name, "-c", "none", "-j", "2"],
        dir.path(),
    );
    assert_success(&out, "dump as a password account");
    assert!(!stderr(&out).contains(FALLBACK), "{}", stderr(&out));
    let file = dump_file_in(dir.path());
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("VALUES (1,'a'),(2,NULL);")
    );
    assert_eq!(metadata_of(&file)["threads"], 2);
}

/// Over the server's Unix socket, as over TCP.
#[tokio::test]
async fn the_reader_connects_over_a_unix_socket() {
    let Some(dir) = &server().dir else {
        return; // an external server's socket is not ours to know
    };
    let socket = dir.join("mysqld.sock");
    let db = TestDb::new("reader_socket").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, d DATETIME(3)); INSERT INTO t VALUES (1,'2001-02-03 04:05:06.789')")
        .await;
    let out_dir = out_dir();
    let out = server()
        .sfdbtools()
        .args(["-q", "db-backup", "single", "--database", &db.name])
        .args(["-c", "none", "-t", "TEST", "--user", &server().user])
        .arg("--socket")
        .arg(&socket)
        .arg("-o")
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_success(&out, "dump over the socket");
    assert!(!stderr(&out).contains(FALLBACK), "{}", stderr(&out));
    let text = std::fs::read_to_string(dump_file_in(out_dir.path())).unwrap();
    assert!(
        text.contains("VALUES (1,'2001-02-03 04:05:06.789');"),
        "{text}"
    );
}

/// No room for the reader's connection (the account's connection limit): the dump says so once
/// and reads its rows through mysql_async, with the same result.
#[tokio::test]
async fn a_reader_that_cannot_connect_falls_back_with_one_warning() {
    let db = TestDb::new("reader_fallback").await;
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, f FLOAT, b BLOB); INSERT INTO t VALUES (1, 0.1, X'00FF'), (2, NULL, '')")
        .await;
    let user = common::TestUser::new(
        "reader_limit",
        "pw",
        &format!("SELECT, SHOW VIEW, TRIGGER, EVENT ON `{}`.*", db.name),
    )
    .await;
    // The control and the one worker connection fit; a reader does not.
    let mut root = server().conn(None).await;
    root.query_drop(format!(
        "ALTER USER '{}'@'%' WITH MAX_USER_CONNECTIONS 2",
        user.name
    ))
    .await
    .unwrap();
    let dir = out_dir();
    let out = user.backup(
        &[
            "single",
            "--database",
            &db.name,
            "-c",
            "none",
            "-j",
            "1",
            "--consistency",
            "none",
        ],
        dir.path(),
    );
    assert_success(&out, "dump with no room for the reader");
    let err = stderr(&out);
    assert_eq!(err.matches(FALLBACK).count(), 1, "{err}");
    assert!(err.contains("max_user_connections"), "{err}");
    let fell_back = dump_file_in(dir.path());

    let driver_dir = out_dir();
    let (driver, _) = common::dump_with_reader(
        &db.name,
        driver_dir.path(),
        "driver",
        &["-j", "1", "--consistency", "none"],
    );
    assert_eq!(common::table_sums(&fell_back), common::table_sums(&driver));
    assert!(
        std::fs::read_to_string(&fell_back)
            .unwrap()
            .contains("VALUES (1,0.10000000149011612,0x00FF),(2,NULL,'');")
    );
}

fn settings(user: &str, password: Option<&str>) -> ConnectionSettings {
    ConnectionSettings {
        host: server().host.clone(),
        port: server().port,
        user: user.to_owned(),
        password: password.map(Secret::new),
        ..Default::default()
    }
}

fn flavor() -> Flavor {
    if server().is_mariadb() {
        Flavor::MariaDb
    } else {
        Flavor::MySql
    }
}

/// Both framings of result sets (EOF packets, and the OK packet that replaced them) against the
/// server: text results, an error, a prepared statement's binary rows, and the connection still
/// usable after each.
#[tokio::test]
async fn both_result_set_framings_read_the_same_rows() {
    let db = TestDb::new("reader_framing").await;
    db.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10), d DATE, f DOUBLE);
         INSERT INTO t VALUES (1, 'a', '2001-02-03', 1.5), (2, NULL, NULL, NULL)",
    )
    .await;
    let s = settings(&server().user, server().password.as_deref());
    let mut outputs = Vec::new();
    for eof_packets in [false, true] {
        let mut conn = if eof_packets {
            WireConn::open_with_eof_packets(&s, flavor(), "test").await
        } else {
            WireConn::open(&s, flavor(), "test").await
        }
        .unwrap();
        assert_eq!(conn.deprecates_eof(), !eof_packets);
        assert_eq!(
            conn.query("SELECT 1, NULL, 'x'").await.unwrap(),
            vec![vec![Some(b"1".to_vec()), None, Some(b"x".to_vec())]]
        );
        match conn
            .prepare(&format!("SELECT * FROM `{}`.no_such_table", db.name))
            .await
        {
            Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1146, "{e}"),
            other => panic!("{other:?}"),
        }
        let stmt = conn
            .prepare(&format!(
                "SELECT id, s, d, f FROM `{}`.t ORDER BY id",
                db.name
            ))
            .await
            .unwrap();
        let columns = conn.execute(stmt).await.unwrap();
        let layouts: Vec<Layout> = columns
            .iter()
            .map(|c| Layout::of(c.column_type, c.flags).unwrap())
            .collect();
        let kinds = columns
            .iter()
            .map(|c| CellKind::of(c.column_type, c.flags, c.charset, c.decimals))
            .collect();
        let mut builder = InsertBuilder::new("`t`", "`id`,`s`,`d`,`f`", kinds, 1 << 20);
        let mut out = Vec::new();
        loop {
            match conn.next_rows(|| vec![0; 4096]).await.unwrap() {
                RowBlock::Packets { buf, len, .. } => {
                    for p in wire::packets(&buf[..len]) {
                        decode::push_row(&mut builder, &mut out, &layouts, p).unwrap();
                    }
                }
                RowBlock::Large(p) => {
                    decode::push_row(&mut builder, &mut out, &layouts, &p).unwrap();
                }
                RowBlock::End => break,
            }
        }
        builder.finish_statement(&mut out);
        conn.close_statement(stmt).await.unwrap();
        assert_eq!(
            conn.query("SELECT 2").await.unwrap(),
            vec![vec![Some(b"2".to_vec())]]
        );
        conn.close().await;
        outputs.push(String::from_utf8(out).unwrap());
    }
    assert_eq!(
        outputs[0],
        "INSERT INTO `t` (`id`,`s`,`d`,`f`) VALUES (1,'a','2001-02-03',1.5),(2,NULL,NULL,NULL);\n"
    );
    assert_eq!(outputs[0], outputs[1]);
}

/// mysql_native_password: the right password gets in, a wrong one gets the server's refusal.
#[tokio::test]
async fn the_reader_authenticates_with_the_password() {
    let user = common::TestUser::new("reader_auth", "r1ght-pässword", "USAGE ON *.*").await;
    let conn = WireConn::open(
        &settings(&user.name, Some(&user.password)),
        flavor(),
        "test",
    )
    .await
    .unwrap();
    assert!(conn.id() > 0);
    conn.close().await;
    let wrong = WireConn::open(&settings(&user.name, Some("wrong")), flavor(), "test")
        .await
        .err()
        .expect("a wrong password must be refused")
        .to_string();
    assert!(wrong.contains("ERROR 1045"), "{wrong}");
    assert!(!wrong.contains("wrong\""), "{wrong}");
}

/// An account whose authentication plugin the reader does not speak (the server switches to
/// it): a clean error naming the plugin, which the dump turns into the fallback.
#[tokio::test]
async fn an_unsupported_authentication_plugin_is_named() {
    if !server().is_mariadb() {
        return; // ed25519 is MariaDB's
    }
    let mut root = server().conn(None).await;
    root.query_drop("INSTALL PLUGIN IF NOT EXISTS ed25519 SONAME 'auth_ed25519'")
        .await
        .unwrap();
    let name = format!("reader_ed_{}", std::process::id());
    root.query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
        .await
        .unwrap();
    root.query_drop(format!(
        "CREATE USER '{name}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('pw')"
    ))
    .await
    .unwrap();
    let err = WireConn::open(&settings(&name, Some("pw")), flavor(), "test")
        .await
        .err()
        .map(|e| e.to_string());
    root.query_drop(format!("DROP USER '{name}'@'%'"))
        .await
        .unwrap();
    let err = err.expect("the reader cannot speak ed25519");
    assert!(err.contains("client_ed25519"), "{err}");
}
