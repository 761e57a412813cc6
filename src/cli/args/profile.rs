//! The clap types of `sfdbtools profile …`: the actions, and the fields a profile's
//! `[client]` and `[ssh]` sections take from flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use sfdbtools::connect::SslMode;

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
    /// Profile: a bare name (in the profile directory, `.cnf.enc` appended), or a path
    /// [show, edit: default env SFDB_SOURCE_PROFILE or SFDB_TARGET_PROFILE].
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
    /// The profile's ssl-mode (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY).
    #[arg(long = "ssl-mode", value_name = "MODE", ignore_case = true)]
    pub ssl_mode: Option<SslMode>,
    /// The profile's ssl-ca: CA certificate(s), PEM.
    #[arg(long = "ssl-ca", value_name = "FILE")]
    pub ssl_ca: Option<PathBuf>,
    /// The profile's ssl-cert: client certificate (PEM); needs --ssl-key.
    #[arg(long = "ssl-cert", value_name = "FILE", requires = "ssl_key")]
    pub ssl_cert: Option<PathBuf>,
    /// The profile's ssl-key: the client certificate's private key (PEM); needs --ssl-cert.
    #[arg(long = "ssl-key", value_name = "FILE", requires = "ssl_cert")]
    pub ssl_key: Option<PathBuf>,
    /// The profile's [ssh] tunnel: the SSH host (sets enabled=true).
    #[arg(long = "ssh-host")]
    pub ssh_host: Option<String>,
    /// The [ssh] port [default: 22].
    #[arg(long = "ssh-port")]
    pub ssh_port: Option<u16>,
    /// The [ssh] account [default when connecting: the local user name].
    #[arg(long = "ssh-user")]
    pub ssh_user: Option<String>,
    /// The [ssh] identity_file: a private key (OpenSSH or PEM; `~/` is the home directory).
    #[arg(long = "ssh-identity", value_name = "FILE")]
    pub ssh_identity: Option<String>,
    /// Ask for the [ssh] ssh_password on the terminal (password auth, when no identity file).
    #[arg(long = "ssh-ask-password")]
    pub ssh_ask_password: bool,
    /// Switch the profile's [ssh] tunnel off (enabled=false), keeping its keys.
    #[arg(long = "no-ssh", conflicts_with_all = ["ssh_host", "ssh_port", "ssh_user", "ssh_identity", "ssh_ask_password"])]
    pub no_ssh: bool,
    /// The SSH password, once asked for (never a flag: it would show in `ps`).
    #[arg(skip)]
    pub ssh_password: Option<sfdbtools::secret::Secret>,
}

impl FieldArgs {
    /// Whether any field is given (edit needs one).
    pub fn any(&self) -> bool {
        self.host.is_some()
            || self.port.is_some()
            || self.user.is_some()
            || self.ssl_mode.is_some()
            || self.ssl_ca.is_some()
            || self.ssl_cert.is_some()
            || self.ssl_key.is_some()
            || self.touches_ssh()
            || self.no_ssh
    }

    /// Whether a key of the `[ssh]` section is given (which switches the tunnel on).
    fn touches_ssh(&self) -> bool {
        self.ssh_host.is_some()
            || self.ssh_port.is_some()
            || self.ssh_user.is_some()
            || self.ssh_identity.is_some()
            || self.ssh_ask_password
    }

    /// Sets the given fields in `p`, leaving the others as they are.
    pub fn apply(self, p: &mut sfdbtools::config::profile::Profile) {
        let ssh = self.touches_ssh();
        if let Some(h) = self.host {
            p.host = h;
        }
        if let Some(port) = self.port {
            p.port = port;
        }
        if let Some(u) = self.user {
            p.user = u;
        }
        let tls = &mut p.tls;
        tls.mode = self.ssl_mode.or(tls.mode);
        tls.ca = self.ssl_ca.or(tls.ca.take());
        tls.cert = self.ssl_cert.or(tls.cert.take());
        tls.key = self.ssl_key.or(tls.key.take());
        if self.no_ssh
            && let Some(t) = p.ssh.as_mut()
        {
            t.enabled = false;
        }
        if ssh {
            let t = p.ssh.get_or_insert_with(Default::default);
            t.enabled = true;
            t.host = self.ssh_host.or(t.host.take());
            t.port = self.ssh_port.unwrap_or(t.port);
            t.user = self.ssh_user.or(t.user.take());
            t.identity_file = self.ssh_identity.or(t.identity_file.take());
            t.password = self.ssh_password.or(t.password.take());
        }
    }
}

#[derive(Args, Debug)]
pub struct KeyArg {
    /// Passphrase of the profile [default: env SFDB_TARGET_PROFILE_KEY or
    /// SFDB_SOURCE_PROFILE_KEY, whichever opens it] (prefer the variables: a flag is visible
    /// in `ps`).
    #[arg(short = 'k', long = "profile-key")]
    pub key: Option<String>,
}
