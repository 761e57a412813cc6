//! `crypto encrypt-file` / `decrypt-file`: the key (flag or `SFDB_ENCRYPTION_KEY` through
//! clap, else `SFDB_BACKUP_ENCRYPTION_KEY`, else a prompt), and the file written only when
//! complete and valid.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use sfdbtools::Error;
use sfdbtools::encrypt::{self, Passphrase};
use sfdbtools::output::file::AtomicFile;
use sfdbtools::secret::Secret;

use super::args::CryptoArgs;
use super::inputs::{BACKUP_KEY_ENV, Env};
use super::prompt;
use super::runtime::{runtime, until_interrupted};

/// One file to encrypt or decrypt, with its key.
pub struct Crypt {
    pub encrypting: bool,
    pub input: PathBuf,
    pub output: PathBuf,
    pub key: Passphrase,
}

/// The files and the key: `-k`/`SFDB_ENCRYPTION_KEY` (the old tool's), else
/// `SFDB_BACKUP_ENCRYPTION_KEY` (the key backups are written with, so that one of them
/// decrypts without typing it again), each unless blank; else a prompt (or, with `-q`, a
/// usage error). The config file is not read: see `Command::reads_config`.
pub fn task(action: CryptoArgs, quiet: bool, env: &Env) -> Result<Crypt, Error> {
    let (encrypting, files) = match action {
        CryptoArgs::EncryptFile(f) => (true, f),
        CryptoArgs::DecryptFile(f) => (false, f),
    };
    let given = files.key.filter(|k| !k.trim().is_empty()).or_else(|| {
        // Said, since the old tool asked here instead: a file encrypted with the backups' key
        // by surprise would be opened with a key nobody meant for it.
        if env.backup_key.is_some() && !quiet {
            eprintln!("sfdbtools: note: using the key in {BACKUP_KEY_ENV}");
        }
        env.backup_key.clone()
    });
    let key = match given {
        Some(k) => Passphrase::new(Secret::new(k)),
        // Asked twice when encrypting: a typo would make the file unrecoverable.
        None => prompt::key(
            quiet,
            "Encryption key",
            &format!("missing key: pass -k/--key, or set SFDB_ENCRYPTION_KEY or {BACKUP_KEY_ENV}"),
            encrypting,
        )?,
    };
    Ok(Crypt {
        encrypting,
        input: files.input,
        output: files.output,
        key,
    })
}

/// The output appears only when complete and valid: it is written under a temporary name
/// and renamed at the end ([`AtomicFile`]), like a backup. A failure mid-way (a corrupted
/// chunk, a wrong key found late) drops the temporary file; SIGINT or SIGTERM, which would
/// end the process without running any `Drop`, remove it by name before exiting. An existing
/// output file is never replaced.
pub fn run(c: Crypt) -> Result<(), Error> {
    let runtime = runtime()?;
    // The work runs on a blocking thread; this one waits for it or for a signal.
    let work = runtime.spawn_blocking(move || crypt(c));
    let stopping = "stopping, removing the unfinished output";
    match until_interrupted(&runtime, work, stopping) {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(Error::Internal(format!(
            "the encryption thread ended without an answer ({e})"
        ))),
        None => {
            sfdbtools::output::file::remove_files_of_this_run();
            std::process::exit(super::log::finish(Err(Error::Interrupted(
                "no output file was written".into(),
            ))));
        }
    }
}

fn crypt(c: Crypt) -> Result<(), Error> {
    let Crypt {
        encrypting,
        input,
        output,
        key,
    } = c;
    let source = File::open(&input).map_err(|e| Error::file("opening", &input, e))?;
    let target =
        AtomicFile::create(&output, 0o600).map_err(|e| Error::file("creating", &output, e))?;
    let reader = BufReader::with_capacity(1 << 20, source);
    let crypto_err = |e: encrypt::EncryptError| {
        let action = if encrypting {
            "encrypting"
        } else {
            "decrypting"
        };
        Error::file(action, &input, std::io::Error::other(e))
    };
    let target = if encrypting {
        encrypt::encrypt_stream(reader, target, &key)
            .map_err(crypto_err)?
            .0
    } else {
        let mut target = target;
        let summary = encrypt::decrypt_any(reader, &mut target, &key).map_err(crypto_err)?;
        // Header and end marker only: what encrypting an empty file gives, and what opens
        // with any key, since there is no tag to check. Not an error, but never silent.
        if summary.iterations.is_none() {
            eprintln!(
                "sfdbtools: warning: {} holds no data (an encrypted empty file): the key could \
                 not be checked, and the output is empty",
                input.display()
            );
        }
        target
    };
    target
        .finish()
        .map_err(|e| Error::file("completing", &output, e))?;
    Ok(())
}
