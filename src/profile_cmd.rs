//! `sfdbtools profile create|list|show|edit|delete`: arguments, prompts and output.
//!
//! Secrets never need the command line: the database password comes from `MYSQL_PWD` or a
//! prompt, the profile key from `-k`, `SFDB_SOURCE_PROFILE_KEY` or a prompt. With `-q` whatever
//! is missing is an error naming how to give it.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use sfdbtools::Error;
use sfdbtools::config::file::Settings;
use sfdbtools::config::profile::{self, Profile};
use sfdbtools::encrypt::Passphrase;
use sfdbtools::secret::Secret;

use crate::cli::{profile_key, prompt_secret};
use crate::prompt::text_or_fail;

#[derive(Subcommand, Debug)]
pub enum ProfileAction {
    /// Create a profile (password from MYSQL_PWD or a prompt; never a flag).
    Create {
        #[command(flatten)]
        name: NameArg,
        #[command(flatten)]
        fields: FieldArgs,
        #[command(flatten)]
        key: KeyArg,
    },
    /// List the profiles in the profile directory (with a key: also where each connects).
    List {
        #[command(flatten)]
        key: KeyArg,
    },
    /// Show a profile; the password only with --reveal-password.
    Show {
        #[command(flatten)]
        name: NameArg,
        #[command(flatten)]
        key: KeyArg,
        /// Print the passwords in clear.
        #[arg(long = "reveal-password")]
        reveal_password: bool,
    },
    /// Change the given fields of a profile; the others stay as they are.
    Edit {
        #[command(flatten)]
        name: NameArg,
        #[command(flatten)]
        fields: FieldArgs,
        /// Replace the password (from MYSQL_PWD or a prompt).
        #[arg(long = "change-password")]
        change_password: bool,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Delete a profile (asks first unless -q or --yes).
    Delete {
        #[command(flatten)]
        name: NameArg,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

#[derive(Args, Debug)]
pub struct NameArg {
    /// Profile: a bare name (in the profile directory, `.cnf.enc` appended), or a path.
    #[arg(short = 'n', long = "name")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct FieldArgs {
    /// Server host name or address (create: prompted, default 127.0.0.1).
    #[arg(long)]
    pub host: Option<String>,
    /// Server port (create: default 3306).
    #[arg(short = 'P', long)]
    pub port: Option<u16>,
    /// Account name (create: prompted, default root).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
}

#[derive(Args, Debug)]
pub struct KeyArg {
    /// Passphrase of the profile (prefer the environment variable: a flag is visible in `ps`).
    #[arg(
        short = 'k',
        long = "profile-key",
        env = "SFDB_SOURCE_PROFILE_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
}

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
pub fn task(action: ProfileAction, quiet: bool, settings: &Settings) -> Result<ProfileTask, Error> {
    let configured = settings.profile_dir.as_deref();
    let path_of = |name: NameArg| -> Result<PathBuf, Error> {
        let name = match name.name {
            Some(n) => n,
            None => text_or_fail(quiet, "profile name", "-n/--name NAME", None)?,
        };
        profile::resolve(&name, configured)
    };
    Ok(match action {
        ProfileAction::Create { name, fields, key } => {
            let path = path_of(name)?;
            let host = match fields.host {
                Some(h) => h,
                None => text_or_fail(quiet, "host", "--host HOST", Some("127.0.0.1"))?,
            };
            let user = match fields.user {
                Some(u) => u,
                None => text_or_fail(quiet, "user", "-u/--user USER", Some("root"))?,
            };
            let password = new_password(quiet)?;
            let profile = Profile::new(host, fields.port.unwrap_or(3306), user, password);
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
            if fields.host.is_none()
                && fields.port.is_none()
                && fields.user.is_none()
                && !change_password
            {
                return Err(Error::Usage(
                    "nothing to change: give --host, --port, --user or --change-password".into(),
                ));
            }
            let path = path_of(name)?;
            let key = profile_key(key.key, quiet, false)?;
            let password = if change_password {
                Some(new_password(quiet)?)
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

/// The database password of a new profile: `MYSQL_PWD` when set (even empty: an account
/// without a password), else a prompt, typed twice.
fn new_password(quiet: bool) -> Result<Secret, Error> {
    match std::env::var("MYSQL_PWD") {
        Ok(p) => Ok(Secret::new(p)),
        Err(_) => prompt_secret(
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
                            let ssh = if p.ssh.as_ref().is_some_and(|t| t.enabled) {
                                " (ssh tunnel: not supported yet)"
                            } else {
                                ""
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
            if let Some(h) = fields.host {
                p.host = h;
            }
            if let Some(port) = fields.port {
                p.port = port;
            }
            if let Some(u) = fields.user {
                p.user = u;
            }
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
