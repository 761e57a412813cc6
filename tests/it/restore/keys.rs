//! Secondary keys built after the rows (`--keys-after-rows`): which tables have them so, and
//! that every table comes out with the definition it had.

use super::restore_events;
use crate::common::{
    self, TestDb, assert_same, backup, dump_file_in, key_notes, keys_built_after as built_after,
    out_dir,
};

/// With a threshold under the large tables' size: a table's plain keys are built after its
/// rows (but the one an AUTO_INCREMENT column leads); tables a foreign key involves, one with
/// a FULLTEXT key and the small table keep theirs while loading. Every table comes out as the
/// source has it. `off` builds none after the rows.
#[tokio::test]
async fn large_tables_get_their_plain_keys_after_their_rows_and_come_out_the_same() {
    let src = TestDb::new("keys_src").await;
    src.exec(
        "CREATE TABLE orders (id INT NOT NULL AUTO_INCREMENT, customer INT, status VARCHAR(10),
           created DATETIME(3), code CHAR(12) NOT NULL, PRIMARY KEY (id), UNIQUE KEY ucode (code),
           KEY kc (customer), KEY ks (status(4), created DESC) COMMENT 'by status');
         INSERT INTO orders (customer, status, created, code)
           SELECT seq % 977, ELT(1 + seq % 3, 'new', 'paid', 'void'),
                  '2026-01-01' + INTERVAL seq SECOND, CONCAT('c', seq) FROM seq_1_to_20000;
         CREATE TABLE led (id INT NOT NULL, n INT NOT NULL AUTO_INCREMENT, v INT,
           PRIMARY KEY (id), KEY kn (n), KEY kv (v) IGNORED);
         INSERT INTO led (id, v) SELECT seq, seq % 13 FROM seq_1_to_20000;
         CREATE TABLE parent (id INT PRIMARY KEY, code INT, pad CHAR(60) DEFAULT 'p', KEY kcode (code));
         INSERT INTO parent (id, code) SELECT seq, seq FROM seq_1_to_20000;
         CREATE TABLE child (id INT PRIMARY KEY, pcode INT, pad CHAR(60) DEFAULT 'c', KEY kp (pcode),
           CONSTRAINT fk_parent FOREIGN KEY (pcode) REFERENCES parent (code));
         INSERT INTO child (id, pcode) SELECT seq, seq FROM seq_1_to_20000;
         CREATE TABLE docs (id INT PRIMARY KEY, body TEXT, k INT, KEY kk (k), FULLTEXT KEY fb (body));
         INSERT INTO docs SELECT seq, CONCAT('word', seq, ' other text here'), seq % 5 FROM seq_1_to_20000;
         CREATE TABLE small (id INT PRIMARY KEY, k INT, KEY kk (k));
         INSERT INTO small VALUES (1, 1), (2, 2);",
    )
    .await;
    let dir = out_dir();
    let out = backup(
        &[
            "single",
            "--database",
            &src.name,
            "-c",
            "none",
            "-j",
            "2",
            "--statement-size",
            "64K",
        ],
        dir.path(),
    );
    common::assert_success(&out, "backup");
    let file = dump_file_in(dir.path());
    let f = file.to_str().unwrap();

    let dst = TestDb::new("keys_after").await;
    let events = restore_events(
        "single",
        &[
            "--file",
            f,
            "--target-db",
            &dst.name,
            "-j",
            "2",
            "--keys-after-rows",
            "100K",
        ],
    );
    let q = |t: &str| format!("`{}`.`{t}`", dst.name);
    assert_eq!(built_after(&events), [q("led"), q("orders")], "{events:?}");
    let notes = key_notes(&events);
    assert!(
        notes.iter().any(|m| m.contains("`kc`, `ks`"))
            && notes
                .iter()
                .any(|m| m.contains("`kv`") && !m.contains("`kn`")),
        "{notes:?}"
    );
    assert_same(&src.name, &dst.name).await;

    let off = TestDb::new("keys_off").await;
    let events = restore_events(
        "single",
        &[
            "--file",
            f,
            "--target-db",
            &off.name,
            "--keys-after-rows",
            "off",
        ],
    );
    assert_eq!(built_after(&events), Vec::<String>::new());
    assert_same(&src.name, &off.name).await;
}
