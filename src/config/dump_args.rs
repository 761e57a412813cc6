//! `backup.mysqldump_args` as the native engine reads it (docs/compat.md §9): the old tool's
//! users keep mysqldump options in their config, and the engine that replaced mysqldump must
//! not drop them without a word.
//!
//! Each option is one of three things. *Followed*: it chooses what is dumped (tables left out,
//! rows filtered, triggers or routines left out), and the native engine does the same. *Met*:
//! it only says how mysqldump reads or writes content the native engine writes anyway
//! (`--single-transaction`, `--hex-blob`, `--quick`, `-f`, …), or it would make mysqldump's
//! file less exact than the native one and is not followed in that direction. *Refused*:
//! everything else, known or not, is a configuration error naming the option, with `--engine
//! mysqldump` as the way to keep it.

use crate::pattern::{RowFilter, TableFilter, TablePattern};

/// What the options ask of the native engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asked {
    /// `--ignore-table`, `--ignore-table-data`, `--where` (which applies to every table).
    pub tables: TableFilter,
    /// `--no-data`/`-d`.
    pub no_data: bool,
    /// Set where an option says so (`--no-create-info`, `--skip-triggers`, `--routines`, …);
    /// None where the options are silent, which keeps the native default (everything).
    pub create_info: Option<bool>,
    pub triggers: Option<bool>,
    pub routines: Option<bool>,
    pub events: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Takes {
    /// A switch: `--x`, `--skip-x`, `--x=0`.
    Switch,
    /// A value: `--x=V` or `--x V` (`-wV` or `-w V` for a short one).
    Value,
    /// A value only after `=` (`--master-data`, `--master-data=2`).
    OptionalValue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    IgnoreTable,
    IgnoreTableData,
    Where,
    NoData,
    NoCreateInfo,
    Triggers,
    Routines,
    Events,
    /// Met either way.
    Met,
    /// Met when on; off would make the file less exact (`--skip-quote-names`), so refused.
    MetWhenOn,
    /// Met for a UTF-8 name (the native engine writes utf8mb4).
    Utf8Charset,
    /// Refused, saying why.
    Refused(&'static str),
    /// Refused by the native engine and by `--engine mysqldump` too ([`check_for_tool`]).
    RefusedBoth(&'static str),
}

/// mariadb-dump's options (10.11; mysqldump 8's where they differ), by long name.
const OPTIONS: &[(&str, Option<char>, Takes, Effect)] = {
    use Effect::*;
    use Takes::*;
    const CONNECTION: Effect = RefusedBoth(
        "is a connection option: a run connects with the profile's or the command line's \
         settings",
    );
    const OUTPUT: Effect = RefusedBoth("writes another kind of output than one SQL script");
    const SELECTS: Effect = RefusedBoth(
        "selects databases or tables: give them with the backup mode, --db, --tables or \
         --ignore-table instead",
    );
    const CHANGES: Effect =
        Refused("changes what the file holds in a way the native engine does not write");
    const SERVER: Effect = Refused("acts on the server (logs, replication) besides reading it");
    &[
        ("ignore-table", None, Value, IgnoreTable),
        ("ignore-table-data", None, Value, IgnoreTableData),
        ("where", Some('w'), Value, Where),
        ("no-data", Some('d'), Switch, NoData),
        ("no-create-info", Some('t'), Switch, NoCreateInfo),
        ("triggers", None, Switch, Triggers),
        ("routines", Some('R'), Switch, Routines),
        ("events", Some('E'), Switch, Events),
        ("quick", Some('q'), Switch, Met),
        ("force", Some('f'), Switch, Met),
        ("single-transaction", None, Switch, Met),
        ("lock-tables", Some('l'), Switch, Met),
        ("lock-all-tables", Some('x'), Switch, Met),
        ("add-locks", None, Switch, Met),
        ("disable-keys", Some('K'), Switch, Met),
        ("hex-blob", None, Switch, Met),
        ("order-by-primary", None, Switch, Met),
        ("complete-insert", Some('c'), Switch, Met),
        ("comments", Some('i'), Switch, Met),
        ("dump-date", None, Switch, Met),
        ("compress", Some('C'), Switch, Met),
        ("verbose", Some('v'), Switch, Met),
        ("allow-keywords", None, Switch, Met),
        ("flush-privileges", None, Switch, Met),
        ("gtid", None, Switch, Met),
        ("include-master-host-port", None, Switch, Met),
        ("master-data", None, OptionalValue, Met),
        ("source-data", None, OptionalValue, Met),
        ("max-allowed-packet", None, Value, Met),
        ("net-buffer-length", None, Value, Met),
        ("max-statement-time", None, Value, Met),
        ("quote-names", Some('Q'), Switch, MetWhenOn),
        ("opt", None, Switch, MetWhenOn),
        ("extended-insert", Some('e'), Switch, MetWhenOn),
        ("add-drop-table", None, Switch, MetWhenOn),
        ("create-options", None, Switch, MetWhenOn),
        ("set-charset", None, Switch, MetWhenOn),
        ("tz-utc", None, Switch, MetWhenOn),
        ("default-character-set", None, Value, Utf8Charset),
        ("host", Some('h'), Value, CONNECTION),
        ("user", Some('u'), Value, CONNECTION),
        ("password", Some('p'), OptionalValue, CONNECTION),
        ("port", Some('P'), Value, CONNECTION),
        ("socket", Some('S'), Value, CONNECTION),
        ("protocol", None, Value, CONNECTION),
        ("ssl", None, Switch, CONNECTION),
        ("ssl-ca", None, Value, CONNECTION),
        ("ssl-cert", None, Value, CONNECTION),
        ("ssl-key", None, Value, CONNECTION),
        ("ssl-mode", None, Value, CONNECTION),
        ("defaults-file", None, Value, CONNECTION),
        ("defaults-extra-file", None, Value, CONNECTION),
        ("databases", Some('B'), Switch, SELECTS),
        ("all-databases", Some('A'), Switch, SELECTS),
        ("tables", None, Switch, SELECTS),
        ("ignore-database", None, Value, SELECTS),
        ("xml", Some('X'), Switch, OUTPUT),
        ("tab", Some('T'), Value, OUTPUT),
        ("result-file", Some('r'), Value, OUTPUT),
        ("compact", None, Switch, CHANGES),
        ("compatible", None, Value, CHANGES),
        ("insert-ignore", None, Switch, CHANGES),
        ("replace", None, Switch, CHANGES),
        ("no-autocommit", None, Switch, CHANGES),
        ("add-drop-database", None, Switch, CHANGES),
        ("add-drop-trigger", None, Switch, CHANGES),
        ("no-create-db", Some('n'), Switch, CHANGES),
        ("no-set-names", Some('N'), Switch, CHANGES),
        ("dump-slave", None, OptionalValue, SERVER),
        ("dump-replica", None, OptionalValue, SERVER),
        ("apply-slave-statements", None, Switch, SERVER),
        ("delete-master-logs", None, Switch, SERVER),
        ("flush-logs", Some('F'), Switch, SERVER),
    ]
};

/// Reads the options; the error names the first one that cannot be followed, and why.
pub fn read(args: &[String]) -> Result<Asked, String> {
    let mut asked = Asked::default();
    walk(args, &mut |seen| match seen {
        Seen::Option {
            arg,
            effect,
            on,
            value,
        } => apply(&mut asked, &arg, effect, on, value),
        Seen::Unknown(arg) => Err(unknown(&arg)),
        Seen::Name(arg) => Err(format!(
            "{arg:?} is a name, not an option: mysqldump would read it as a database or \
             table; the native engine takes its databases from the backup mode and its \
             tables from --tables"
        )),
    })?;
    Ok(asked)
}

/// For `--engine mysqldump`, which passes the options to the tool: those that would make it
/// write something else than the one SQL script the run names, connect elsewhere, or choose
/// other databases are refused (an `--xml` "backup" would otherwise succeed as a useless
/// file); the rest, known here or not, is the tool's business.
pub fn check_for_tool(args: &[String]) -> Result<(), String> {
    walk(args, &mut |seen| match seen {
        Seen::Option {
            arg,
            effect: Effect::RefusedBoth(why),
            ..
        } => Err(format!("{arg} {why}")),
        _ => Ok(()),
    })
}

/// One option as [`walk`] reads it.
enum Seen<'a> {
    Option {
        /// As written (`--x=1`, or `-x` out of a bundle).
        arg: String,
        effect: Effect,
        on: bool,
        value: Option<String>,
    },
    /// An option not in [`OPTIONS`] (its value, if it takes one, comes next as a `Name`).
    Unknown(String),
    /// A word that is not an option.
    Name(&'a str),
}

/// mysqldump's option syntax: `--name[=value]`, `--name value`, the `skip-`/`disable-`/
/// `enable-` prefixes and `=0/1` of switches, short bundles (`-fQq`) and short values
/// (`-wcond`, `-w cond`).
fn walk<'a>(
    args: &'a [String],
    visit: &mut dyn FnMut(Seen<'a>) -> Result<(), String>,
) -> Result<(), String> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if let Some(long) = arg.strip_prefix("--") {
            let (written, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let name = written.replace('_', "-");
            let (name, on) = match ["skip-", "disable-", "enable-"]
                .iter()
                .find_map(|p| name.strip_prefix(p).map(|n| (n, *p == "enable-")))
            {
                Some((n, on)) if lookup(n).is_some() => (n.to_string(), on),
                _ => (name.clone(), true),
            };
            let Some(&(_, _, takes, effect)) = lookup(&name) else {
                visit(Seen::Unknown(arg.clone()))?;
                continue;
            };
            let value = match (takes, value) {
                (Takes::Value, None) => Some(
                    rest.next()
                        .ok_or_else(|| format!("{arg} needs a value"))?
                        .clone(),
                ),
                (_, v) => v,
            };
            let on = match (takes, &value) {
                (Takes::Switch, Some(v)) => on && switch_value(arg, v)?,
                _ => on,
            };
            visit(Seen::Option {
                arg: arg.clone(),
                effect,
                on,
                value,
            })?;
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (k, c) in shorts.char_indices() {
                let Some(&(_, _, takes, effect)) = OPTIONS.iter().find(|o| o.1 == Some(c)) else {
                    visit(Seen::Unknown(format!("-{c} (in {arg})")))?;
                    break;
                };
                let attached = &shorts[k + c.len_utf8()..];
                let value = if takes == Takes::Switch {
                    None
                } else if !attached.is_empty() {
                    Some(attached.to_string())
                } else if takes == Takes::Value {
                    Some(
                        rest.next()
                            .ok_or_else(|| format!("-{c} needs a value"))?
                            .clone(),
                    )
                } else {
                    None
                };
                let takes_rest = value.is_some() || takes != Takes::Switch;
                visit(Seen::Option {
                    arg: format!("-{c}"),
                    effect,
                    on: true,
                    value,
                })?;
                if takes_rest {
                    break;
                }
            }
        } else {
            visit(Seen::Name(arg))?;
        }
    }
    Ok(())
}

fn lookup(name: &str) -> Option<&'static (&'static str, Option<char>, Takes, Effect)> {
    OPTIONS.iter().find(|o| o.0 == name)
}

fn unknown(arg: &str) -> String {
    format!("{arg} is not an option the native engine can follow")
}

/// mysqldump's boolean values: 1/0, true/false, on/off, in any case.
fn switch_value(arg: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" => Ok(true),
        "0" | "false" | "off" => Ok(false),
        _ => Err(format!(
            "{arg}: {v:?} is not a boolean (1/0, true/false, on/off)"
        )),
    }
}

fn apply(
    asked: &mut Asked,
    arg: &str,
    effect: Effect,
    on: bool,
    value: Option<String>,
) -> Result<(), String> {
    let value = || value.clone().unwrap_or_default();
    match effect {
        Effect::IgnoreTable => asked.tables.ignore.push(named_table(arg, &value())?),
        Effect::IgnoreTableData => asked.tables.ignore_data.push(named_table(arg, &value())?),
        Effect::Where => {
            let condition = value();
            if condition.trim().is_empty() {
                return Err(format!("{arg}: the condition is empty"));
            }
            asked.tables.wheres.push(RowFilter {
                pattern: TablePattern::parse("*.*")
                    .expect("a valid pattern")
                    .from_config(),
                condition,
            });
        }
        Effect::NoData => asked.no_data = on,
        Effect::NoCreateInfo => asked.create_info = Some(!on),
        Effect::Triggers => asked.triggers = Some(on),
        Effect::Routines => asked.routines = Some(on),
        Effect::Events => asked.events = Some(on),
        Effect::Met => {}
        Effect::MetWhenOn if on => {}
        Effect::MetWhenOn => {
            return Err(format!(
                "{arg} would make the file less exact than the native engine writes it"
            ));
        }
        Effect::Utf8Charset => {
            let v = value().to_ascii_lowercase();
            if !matches!(v.as_str(), "utf8mb4" | "utf8mb3" | "utf8") {
                return Err(format!(
                    "{arg}: the native engine writes utf8mb4 (every character of every \
                     column, exactly), not {v}"
                ));
            }
        }
        Effect::Refused(why) | Effect::RefusedBoth(why) => return Err(format!("{arg} {why}")),
    }
    Ok(())
}

/// mysqldump's `db.table` for `--ignore-table`: split at the first dot, both parts literal.
fn named_table(arg: &str, text: &str) -> Result<TablePattern, String> {
    match text.split_once('.') {
        Some((db, t)) if !db.is_empty() && !t.is_empty() => {
            Ok(TablePattern::literal(db, t).from_config())
        }
        _ => Err(format!(
            "{arg}: {text:?} is not database.table (mysqldump needs both, as this does)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &str) -> Result<Asked, String> {
        read(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    /// The old tool's packaged `backup.mysqldump_args` asks nothing of the native engine.
    #[test]
    fn the_old_tools_default_is_met_whole() {
        let old = "-fQq --max-statement-time=0 --max-allowed-packet=1G --hex-blob \
                   --order-by-primary --single-transaction --routines=true --triggers=true --opt \
                   --net-buffer-length=16M";
        let asked = read_str(old).unwrap();
        assert_eq!(
            asked,
            Asked {
                triggers: Some(true),
                routines: Some(true),
                ..Asked::default()
            }
        );
    }

    #[test]
    fn selection_options_are_followed() {
        let args: Vec<String> = [
            "--ignore-table=shop.log",
            "--ignore-table",
            "shop.t*",
            "--ignore-table-data=shop.sessions",
            "-w",
            "id > 10",
            "--skip-triggers",
            "--routines=0",
            "--disable-events",
            "-t",
            "--no-data",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = read(&args).unwrap();
        assert_eq!(a.tables.ignore.len(), 2);
        assert!(
            a.tables.ignore[1].matches("shop", "t*") && !a.tables.ignore[1].matches("shop", "t1")
        );
        assert!(a.tables.takes("shop", "t1") && !a.tables.takes("shop", "log"));
        assert!(!a.tables.takes_rows("shop", "sessions"));
        assert_eq!(a.tables.condition("crm", "x").as_deref(), Some("(id > 10)"));
        assert_eq!(
            (a.triggers, a.routines, a.events, a.create_info, a.no_data),
            (Some(false), Some(false), Some(false), Some(false), true)
        );
        let w = read(&["-wa=1".to_string(), "--where=b = 2".to_string()]).unwrap();
        assert_eq!(
            w.tables.condition("d", "t").as_deref(),
            Some("(a=1) AND (b = 2)")
        );
    }

    /// Every refusal names the option as written and says why; nothing is dropped silently.
    #[test]
    fn what_cannot_be_followed_is_refused_by_name() {
        for (args, says) in [
            ("--xml", "--xml writes another kind"),
            ("-fX", "-X writes another kind"),
            (
                "--skip-quote-names",
                "--skip-quote-names would make the file less exact",
            ),
            ("--opt=0", "--opt=0 would make"),
            ("--skip-opt", "--skip-opt would make"),
            ("--skip-extended-insert", "less exact"),
            ("--host=db2", "--host=db2 is a connection option"),
            ("-udba", "-u is a connection option"),
            ("--default-character-set=latin1", "not latin1"),
            ("--insert-ignore", "changes what the file holds"),
            ("--flush-logs", "acts on the server"),
            ("--databases", "selects databases"),
            ("--no-such-thing", "--no-such-thing is not an option"),
            ("-Z", "-Z (in -Z) is not an option"),
            ("shop", "\"shop\" is a name"),
            ("--ignore-table=log", "not database.table"),
            ("--ignore-table", "needs a value"),
            ("--triggers=maybe", "not a boolean"),
            ("--where=", "the condition is empty"),
        ] {
            let e = read_str(args).map(|_| ()).unwrap_err();
            assert!(e.contains(says), "{args}: {e}");
        }
        assert!(
            read_str("--default-character-set=UTF8MB4 --skip-lock-tables --skip-comments").is_ok()
        );
    }

    /// For `--engine mysqldump` only another output, connection or database choice is refused;
    /// what the tool can do, known here or not, is left to it.
    #[test]
    fn the_tool_is_refused_only_other_outputs_connections_and_databases() {
        for ok in [
            "--compatible=ansi --insert-ignore --skip-opt",
            "--some-new-option value -fQq",
            "--flush-logs --dump-slave=2",
        ] {
            let args: Vec<String> = ok.split_whitespace().map(String::from).collect();
            assert_eq!(check_for_tool(&args), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("--single-transaction --xml", "--xml writes another kind"),
            ("-qX", "-X writes another kind"),
            ("--tab=/tmp", "--tab=/tmp writes another kind"),
            ("-r out.sql", "-r writes another kind"),
            ("--host db2", "--host is a connection option"),
            ("--all-databases", "--all-databases selects databases"),
        ] {
            let args: Vec<String> = bad.split_whitespace().map(String::from).collect();
            let e = check_for_tool(&args).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
