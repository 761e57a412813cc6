//! `sfdbtools profile create|list|show|edit|delete`: what each needs (its flags are in
//! `args`), the questions for what is missing, and the output.
//!
//! Secrets never need the command line: the database password comes from `MYSQL_PWD` or a
//! prompt, the profile key from `-k`, `SFDB_SOURCE_PROFILE_KEY` or a prompt. With `-q` whatever
//! is missing is an error naming how to give it.

use std::io::IsTerminal;
use std::path::PathBuf;

use sfdbtools::Error;
use sfdbtools::config::file::Settings;
use sfdbtools::config::profile::{self, Profile};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;

use super::args::profile::{FieldArgs, NameArg, ProfileAction};
use super::inputs::{Env, profile_key};
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
        key: Option<Passphrase>,
    },
    Show {
        path: PathBuf,
        key: Passphrase,
        reveal: bool,
    },
    Edit {
        path: PathBuf,
        key: Passphrase,
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
    let path_of = |name: NameArg| -> Result<PathBuf, Error> {
        let name = match name.name {
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
            let path = path_of(name)?;
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
                key: profile_key(key.key, quiet, true)?,
            }
        }
        ProfileAction::List { key } => ProfileTask::List {
            dir: profile::directory(configured)?,
            key: key
                .key
                .filter(|k| !k.trim().is_empty())
                .map(|k| Passphrase::new(Secret::new(k))),
        },
        ProfileAction::Show {
            name,
            key,
            reveal_password,
        } => ProfileTask::Show {
            path: path_of(name)?,
            key: profile_key(key.key, quiet, false)?,
            reveal: reveal_password,
        },
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
            let path = path_of(name)?;
            let key = profile_key(key.key, quiet, false)?;
            let password = if change_password {
                Some(new_password(quiet, env)?)
            } else {
                None
            };
            ProfileTask::Edit {
                path,
                key,
                fields,
                password,
            }
        }
        ProfileAction::Delete { name, yes } => {
            let path = path_of(name)?;
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
                    return Err(Error::Usage("not deleted".into()));
                }
            }
            ProfileTask::Delete { path }
        }
    })
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
        ProfileTask::List { dir, key } => {
            let files = profile::list(&dir)?;
            if files.is_empty() && !quiet {
                eprintln!("no profiles in {}", dir.display());
            }
            for path in files {
                let name = profile::name_of(&path);
                match &key {
                    None => println!("{name}\t{}", path.display()),
                    Some(key) => match profile::load(&path, key) {
                        Ok(p) => {
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
                        Err(_) => println!("{name}\t(does not open with this key)"),
                    },
                }
            }
        }
        ProfileTask::Show { path, key, reveal } => {
            let p = profile::load(&path, &key)?;
            print!("{}", p.describe(&path, reveal));
        }
        ProfileTask::Edit {
            path,
            key,
            fields,
            password,
        } => {
            let mut p = profile::load(&path, &key)?;
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
