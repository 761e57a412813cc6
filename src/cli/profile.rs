//! `sfdbtools profile create|list|show|edit|delete`: what each needs (its flags are in
//! `args`), the questions for what is missing, and the output.
//!
//! Secrets never need the command line: the database password comes from `MYSQL_PWD` or a
//! prompt, the profile key from `-k`, `SFDB_TARGET_PROFILE_KEY` / `SFDB_SOURCE_PROFILE_KEY` or
//! a prompt; `show` and `edit` take the profile from `SFDB_SOURCE_PROFILE` or
//! `SFDB_TARGET_PROFILE` when `-n` is not given, as the old tool did. With `-q` whatever is
//! missing is an error naming how to give it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use sfdbtools::Error;
use sfdbtools::config::file::Settings;
use sfdbtools::config::profile::{self, Profile};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;

use super::args::profile::{FieldArgs, ProfileAction};
use super::inputs::{Env, ProfileVars, profile_key_from, typed_profile_key};
use super::prompt::{self, text_or_fail};

/// A profile command with everything it needs.
pub enum ProfileTask {
    Create {
        path: PathBuf,
        profile: Profile,
        key: Passphrase,
    },
    List {
        dir: PathBuf,
        /// Tried in turn on each profile; none: names only.
        keys: Vec<Passphrase>,
    },
    Show {
        path: PathBuf,
        /// Tried in turn until one opens the profile.
        keys: Vec<Passphrase>,
        reveal: bool,
    },
    Edit {
        path: PathBuf,
        /// Tried in turn; the one that opens the profile seals it again.
        keys: Vec<Passphrase>,
        fields: FieldArgs,
        password: Option<Secret>,
    },
    Delete {
        path: PathBuf,
    },
}

/// Validates the arguments and asks for what is missing (or fails with `-q`).
pub fn task(
    action: ProfileAction,
    quiet: bool,
    settings: &Settings,
    env: &Env,
) -> Result<ProfileTask, Error> {
    let configured = settings.profile_dir.as_deref();
    let vars = &env.profiles;
    let path_of = |name: Option<String>| -> Result<PathBuf, Error> {
        let name = match name {
            Some(n) => n,
            None => text_or_fail(quiet, "profile name", "-n/--name NAME", None)?,
        };
        profile::resolve(&name, configured)
    };
    Ok(match action {
        ProfileAction::Create {
            name,
            mut fields,
            key,
        } => {
            let path = path_of(name.name)?;
            let host = match fields.host.take() {
                Some(h) => h,
                None => text_or_fail(quiet, "host", "--host HOST", Some("127.0.0.1"))?,
            };
            let user = match fields.user.take() {
                Some(u) => u,
                None => text_or_fail(quiet, "user", "-u/--user USER", Some("root"))?,
            };
            let password = new_password(quiet, env)?;
            ask_ssh_password(&mut fields, quiet)?;
            let port = fields.port.take().unwrap_or(3306);
            let mut profile = Profile::new(host, port, user, password);
            fields.apply(&mut profile);
            profile.check_storable()?;
            ProfileTask::Create {
                path,
                profile,
                key: sealing_key(key.key, vars, quiet)?,
            }
        }
        ProfileAction::List { key } => ProfileTask::List {
            dir: profile::directory(configured)?,
            keys: given_keys(key.key, vars, None),
        },
        ProfileAction::Show {
            name,
            key,
            reveal_password,
        } => {
            let (name, end) = named(name.name, vars)?;
            let path = path_of(name)?;
            ProfileTask::Show {
                keys: keys_to_try(key.key, vars, end, &path, quiet)?,
                path,
                reveal: reveal_password,
            }
        }
        ProfileAction::Edit {
            name,
            fields,
            change_password,
            key,
        } => {
            if !fields.any() && !change_password {
                return Err(Error::Usage(
                    "nothing to change: give --host, --port, --user, --ssl-mode, --ssl-ca, \
                     --ssl-cert/--ssl-key, --ssh-host, --ssh-port, --ssh-user, --ssh-identity, \
                     --ssh-ask-password, --no-ssh or --change-password"
                        .into(),
                ));
            }
            let mut fields = fields;
            ask_ssh_password(&mut fields, quiet)?;
            let (name, end) = named(name.name, vars)?;
            let path = path_of(name)?;
            let keys = keys_to_try(key.key, vars, end, &path, quiet)?;
            let password = if change_password {
                Some(new_password(quiet, env)?)
            } else {
                None
            };
            ProfileTask::Edit {
                path,
                keys,
                fields,
                password,
            }
        }
        // Never from a variable: a delete names what it deletes.
        ProfileAction::Delete { name, yes } => {
            let path = path_of(name.name)?;
            if !yes && !quiet {
                if !std::io::stdin().is_terminal() {
                    return Err(Error::Usage(format!(
                        "deleting {} needs confirmation: pass --yes (or -q)",
                        path.display()
                    )));
                }
                let answer = text_or_fail(
                    quiet,
                    &format!("delete profile {}? (y/N)", path.display()),
                    "--yes",
                    Some("n"),
                )?;
                if !answer.eq_ignore_ascii_case("y") && !answer.eq_ignore_ascii_case("yes") {
                    return Err(Error::Cancelled(format!(
                        "profile {} was not deleted (the answer was not yes)",
                        path.display()
                    )));
                }
            }
            ProfileTask::Delete { path }
        }
    })
}

/// Which end's variable named the profile of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Source,
    Target,
}

/// The two key variables, as messages name them.
const KEY_VARS: &str = "SFDB_TARGET_PROFILE_KEY or SFDB_SOURCE_PROFILE_KEY";

/// The profile `show` and `edit` work on: `-n`, else the one `SFDB_SOURCE_PROFILE` or
/// `SFDB_TARGET_PROFILE` names (as the old tool's did; a machine that only backs up, or only
/// restores, has one of them set), else none (asked, or an error with `-q`). Both naming
/// different profiles is a usage error: either could be meant.
fn named(name: Option<String>, vars: &ProfileVars) -> Result<(Option<String>, Option<End>), Error> {
    if name.is_some() {
        return Ok((name, None));
    }
    match (&vars.source, &vars.target) {
        (Some(s), Some(t)) if s != t => Err(Error::Usage(format!(
            "SFDB_SOURCE_PROFILE ({s}) and SFDB_TARGET_PROFILE ({t}) name two profiles: say \
             which with -n/--name"
        ))),
        (Some(s), _) => Ok((Some(s.clone()), Some(End::Source))),
        (None, Some(t)) => Ok((Some(t.clone()), Some(End::Target))),
        (None, None) => Ok((None, None)),
    }
}

/// `-k`, else the key variables that are set: the one of the end whose variable named the
/// profile first, otherwise `SFDB_TARGET_PROFILE_KEY` before `SFDB_SOURCE_PROFILE_KEY`, the
/// old tool's order. Each is tried on the profile until one opens it, so a machine with both
/// ends' keys opens either end's profile.
fn given_keys(given: Option<String>, vars: &ProfileVars, end: Option<End>) -> Vec<Passphrase> {
    if let Some(k) = given.filter(|k| !k.trim().is_empty()) {
        return vec![Passphrase::new(Secret::new(k))];
    }
    let (first, second) = match end {
        Some(End::Source) => (&vars.source_key, &vars.target_key),
        _ => (&vars.target_key, &vars.source_key),
    };
    let mut keys: Vec<&String> = first.iter().chain(second).collect();
    keys.dedup();
    keys.into_iter()
        .map(|k| Passphrase::new(Secret::new(k.clone())))
        .collect()
}

/// [`given_keys`], else one typed, and asked again until it opens the profile at `path` (or
/// an error naming the variables, with `-q`).
fn keys_to_try(
    given: Option<String>,
    vars: &ProfileVars,
    end: Option<End>,
    path: &Path,
    quiet: bool,
) -> Result<Vec<Passphrase>, Error> {
    let keys = given_keys(given, vars, end);
    if !keys.is_empty() {
        return Ok(keys);
    }
    let (_, key) = typed_profile_key(path, KEY_VARS, quiet)?;
    Ok(vec![key])
}

/// The key a new profile is sealed with: `-k`, else the one key variable set (both set to
/// different keys: either could be meant, so `-k` must say), else asked twice.
fn sealing_key(
    given: Option<String>,
    vars: &ProfileVars,
    quiet: bool,
) -> Result<Passphrase, Error> {
    let keys = given_keys(given.clone(), vars, None);
    match keys.len() {
        0 => profile_key_from(None, KEY_VARS, quiet, true),
        1 => Ok(keys.into_iter().next().expect("one key")),
        _ => Err(Error::Usage(
            "SFDB_TARGET_PROFILE_KEY and SFDB_SOURCE_PROFILE_KEY are both set, to different \
             keys: say which seals the new profile with -k/--profile-key"
                .into(),
        )),
    }
}

/// The profile at `path` opened with the first of `keys` that opens it, and that key; when
/// none does, the last one's error.
fn open(path: &Path, keys: &[Passphrase]) -> Result<(Profile, Passphrase), Error> {
    let mut last = None;
    for key in keys {
        match profile::load(path, key) {
            Ok(p) => return Ok((p, key.clone())),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Internal("no profile key to try".into())))
}

/// `--ssh-ask-password`: the `[ssh]` password, typed twice on the terminal.
fn ask_ssh_password(fields: &mut FieldArgs, quiet: bool) -> Result<(), Error> {
    if fields.ssh_ask_password {
        fields.ssh_password = Some(prompt::secret(
            quiet,
            "SSH password",
            "--ssh-ask-password needs a terminal to ask on",
            true,
        )?);
    }
    Ok(())
}

/// The database password of a new profile: `MYSQL_PWD` when set (even empty: an account
/// without a password), else a prompt, typed twice.
fn new_password(quiet: bool, env: &Env) -> Result<Secret, Error> {
    match env.mysql_pwd.clone() {
        Some(p) => Ok(Secret::new(p)),
        None => prompt::secret(
            quiet,
            "Database password",
            "missing database password: set MYSQL_PWD (empty for an account without one)",
            true,
        ),
    }
}

/// Carries out a profile command, printing its result on stdout.
pub fn run(task: ProfileTask, quiet: bool) -> Result<(), Error> {
    match task {
        ProfileTask::Create { path, profile, key } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
            profile::save(&path, &key, &profile, false)?;
            if !quiet {
                println!("created {}", path.display());
            }
        }
        ProfileTask::List { dir, keys } => {
            let files = profile::list(&dir)?;
            if files.is_empty() && !quiet {
                eprintln!("no profiles in {}", dir.display());
            }
            for path in files {
                let name = profile::name_of(&path);
                if keys.is_empty() {
                    println!("{name}\t{}", path.display());
                    continue;
                }
                match open(&path, &keys) {
                    Ok((p, _)) => {
                        let ssh = match p.tunnel() {
                            Some(t) => format!(
                                " (through ssh {}@{}:{})",
                                t.user.as_deref().unwrap_or("$USER"),
                                t.host.as_deref().unwrap_or("?"),
                                t.port
                            ),
                            None => String::new(),
                        };
                        println!("{name}\t{}@{}:{}{ssh}", p.user, p.host, p.port)
                    }
                    Err(_) => println!("{name}\t(does not open with the key(s) given)"),
                }
            }
        }
        ProfileTask::Show { path, keys, reveal } => {
            let (p, _) = open(&path, &keys)?;
            print!("{}", p.describe(&path, reveal));
        }
        ProfileTask::Edit {
            path,
            keys,
            fields,
            password,
        } => {
            let (mut p, key) = open(&path, &keys)?;
            fields.apply(&mut p);
            if let Some(pw) = password {
                p.password = pw;
            }
            profile::save(&path, &key, &p, true)?;
            if !quiet {
                println!("updated {}", path.display());
            }
        }
        ProfileTask::Delete { path } => {
            profile::delete(&path)?;
            if !quiet {
                println!("deleted {}", path.display());
            }
        }
    }
    Ok(())
}

/// Creates the profile directory (and its parents) readable by its owner only.
fn create_private_dir(dir: &std::path::Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(profile::DIR_MODE)
        .create(dir)
        .map_err(|e| Error::file("creating the profile directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::super::inputs::tests::is_key;
    use super::*;

    fn vars(source: Option<&str>, target: Option<&str>, keys: [Option<&str>; 2]) -> ProfileVars {
        let own = |v: Option<&str>| v.map(str::to_owned);
        ProfileVars {
            source: own(source),
            target: own(target),
            source_key: own(keys[0]),
            target_key: own(keys[1]),
        }
    }

    /// Whether `keys` are these passphrases, in this order.
    fn are(keys: &[Passphrase], texts: &[&str]) -> bool {
        keys.len() == texts.len() && keys.iter().zip(texts).all(|(k, t)| is_key(k, t))
    }

    #[test]
    fn the_profile_comes_from_n_else_the_one_variable_set() {
        let none = vars(None, None, [None, None]);
        assert_eq!(
            named(Some("n".into()), &none).unwrap(),
            (Some("n".into()), None)
        );
        assert_eq!(named(None, &none).unwrap(), (None, None));
        let src = vars(Some("s"), None, [None, None]);
        assert_eq!(
            named(None, &src).unwrap(),
            (Some("s".into()), Some(End::Source))
        );
        let tgt = vars(None, Some("t"), [None, None]);
        assert_eq!(
            named(None, &tgt).unwrap(),
            (Some("t".into()), Some(End::Target))
        );
        assert_eq!(
            named(Some("n".into()), &tgt).unwrap().0.as_deref(),
            Some("n")
        );
        let same = vars(Some("p"), Some("p"), [None, None]);
        assert_eq!(named(None, &same).unwrap().0.as_deref(), Some("p"));
        let e = named(None, &vars(Some("s"), Some("t"), [None, None])).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("say which with -n/--name"), "{e}");
    }

    #[test]
    fn keys_are_the_flag_else_the_variables_the_named_end_s_first() {
        let both = vars(None, None, [Some("sk"), Some("tk")]);
        assert!(are(&given_keys(Some("k".into()), &both, None), &["k"]));
        assert!(are(&given_keys(None, &both, None), &["tk", "sk"]));
        assert!(are(
            &given_keys(None, &both, Some(End::Target)),
            &["tk", "sk"]
        ));
        assert!(are(
            &given_keys(None, &both, Some(End::Source)),
            &["sk", "tk"]
        ));
        let one = vars(None, None, [Some("sk"), None]);
        assert!(are(&given_keys(None, &one, Some(End::Target)), &["sk"]));
        let nowhere = Path::new("/nonexistent/p.cnf.enc");
        let e =
            keys_to_try(None, &vars(None, None, [None, None]), None, nowhere, true).unwrap_err();
        assert!(e.to_string().contains(KEY_VARS), "{e}");
        // A new profile is sealed with one key: two different ones must be chosen from.
        assert!(are(&[sealing_key(None, &one, true).unwrap()], &["sk"]));
        let e = sealing_key(None, &both, true).unwrap_err();
        assert!(e.to_string().contains("-k/--profile-key"), "{e}");
        assert!(are(
            &[sealing_key(Some("k".into()), &both, true).unwrap()],
            &["k"]
        ));
    }

    #[test]
    fn a_profile_opens_with_whichever_key_fits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.cnf.enc");
        let p = Profile::new("h".into(), 1, "u".into(), Secret::new("pw"));
        profile::save(&path, &Passphrase::new(Secret::new("right")), &p, false).unwrap();
        let keys = [
            Passphrase::new(Secret::new("wrong")),
            Passphrase::new(Secret::new("right")),
        ];
        let (opened, key) = open(&path, &keys).unwrap();
        assert_eq!(opened.host, "h");
        assert!(is_key(&key, "right"));
        let e = open(&path, &keys[..1]).unwrap_err().to_string();
        assert!(
            e.contains("p.cnf.enc") && e.contains("SFDB_TARGET_PROFILE_KEY"),
            "{e}"
        );
    }
}
