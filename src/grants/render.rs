//! The accounts file as text: a header naming the server and the scope, roles first, then
//! one block per account, then `FLUSH PRIVILEGES`.

use super::Account;
use crate::connect::ServerInfo;
use crate::quote::comment_safe;

pub(super) struct Block {
    pub(super) account: Account,
    pub(super) create: Option<String>,
    pub(super) grants: Vec<String>,
    pub(super) left_out_global: bool,
}

fn statement(s: &str) -> String {
    let s = s.trim_end();
    if s.ends_with(';') {
        format!("{s}\n")
    } else {
        format!("{s};\n")
    }
}

pub(super) fn render(
    info: &ServerInfo,
    dbs: Option<&[String]>,
    blocks: &[Block],
    warnings: &[String],
) -> String {
    let mut out = String::from("-- sfdbtools user grants\n");
    out.push_str(&format!(
        "-- Server: {} ({})\n",
        comment_safe(&info.hostname),
        comment_safe(&info.version)
    ));
    match dbs {
        None => out.push_str("-- Scope: every account\n"),
        Some(dbs) => out.push_str(&format!(
            "-- Scope: accounts with a privilege on {}\n",
            dbs.iter()
                .map(|d| comment_safe(d))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    out.push_str(&format!(
        "-- Accounts: {}\n-- Generated: {}\n\
         -- Restore with `sfdbtools db-restore ... --grants`: accounts that exist are left\n\
         -- alone. The stock client also replays it, but gives an account that exists these\n\
         -- privileges and (MariaDB: GRANT ... IDENTIFIED BY PASSWORD) its password here.\n",
        blocks.len(),
        chrono::Local::now().to_rfc3339()
    ));
    for w in warnings {
        out.push_str(&format!("-- Skipped: {}\n", w.replace(['\n', '\r'], " ")));
    }
    let hoisted: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.account.is_role && b.create.is_some())
        .collect();
    if !hoisted.is_empty() {
        out.push_str("\n-- Roles\n");
        for b in &hoisted {
            out.push_str(&statement(b.create.as_deref().unwrap_or_default()));
        }
    }
    for b in blocks {
        let kind = if b.account.is_role { "Role" } else { "Account" };
        out.push_str(&format!(
            "\n-- {kind} {}\n",
            b.account.literal().replace(['\n', '\r'], " ")
        ));
        if !b.account.is_role
            && let Some(c) = &b.create
        {
            out.push_str(&statement(c));
        }
        for g in &b.grants {
            out.push_str(&statement(g));
        }
        if b.left_out_global {
            out.push_str(
                "-- Global privileges (ON *.*) of this account are not part of a per-database \
                 export; back up with `all` to keep them.\n",
            );
        }
    }
    out.push_str("\nFLUSH PRIVILEGES;\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::Flavor;
    use crate::grants::tests::acct;

    #[test]
    fn the_file_has_a_header_roles_first_blocks_and_a_flush() {
        let info = ServerInfo {
            flavor: Flavor::MariaDb,
            version: "10.11.6-MariaDB".into(),
            hostname: "db\n01".into(),
            numeric: (10, 11, 6),
        };
        let blocks = vec![
            Block {
                account: acct("r1", "", true),
                create: Some("CREATE ROLE IF NOT EXISTS `r1`".into()),
                grants: vec!["GRANT SELECT ON `shop`.* TO `r1`".into()],
                left_out_global: false,
            },
            Block {
                account: acct("u1", "%", false),
                create: Some("CREATE USER IF NOT EXISTS `u1`@`%`".into()),
                grants: vec![
                    "GRANT USAGE ON *.* TO `u1`@`%`".into(),
                    "GRANT `r1` TO `u1`@`%`".into(),
                ],
                left_out_global: true,
            },
        ];
        let dbs = vec!["shop".to_string()];
        let sql = render(&info, Some(&dbs), &blocks, &["x\ny".into()]);
        assert!(
            sql.starts_with("-- sfdbtools user grants\n-- Server: `db\\n01` (`10.11.6-MariaDB`)\n")
        );
        assert!(sql.contains("-- Scope: accounts with a privilege on `shop`\n"));
        assert!(sql.contains("-- Accounts: 2\n"));
        assert!(sql.contains("-- Skipped: x y\n"));
        let roles = sql
            .find("\n-- Roles\nCREATE ROLE IF NOT EXISTS `r1`;\n")
            .unwrap();
        let role_block = sql
            .find("\n-- Role 'r1'\nGRANT SELECT ON `shop`.* TO `r1`;\n")
            .unwrap();
        let user_block = sql
            .find(
                "\n-- Account 'u1'@'%'\nCREATE USER IF NOT EXISTS `u1`@`%`;\n\
                 GRANT USAGE ON *.* TO `u1`@`%`;\nGRANT `r1` TO `u1`@`%`;\n-- Global privileges",
            )
            .unwrap();
        assert!(roles < role_block && role_block < user_block);
        assert!(sql.ends_with("\nFLUSH PRIVILEGES;\n"));
        assert_eq!(sql.matches("CREATE ROLE").count(), 1);
    }
}
