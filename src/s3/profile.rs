//! The AWS CLI's shared files, `~/.aws/credentials` and `~/.aws/config`, which `object_store`
//! does not read: the keys, token, region and endpoint of the profile `AWS_PROFILE` names
//! (`default` without it), for an `s3://` destination when the environment holds no keys.
//! The precedence is the AWS tools': keys in the environment win over the files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// What a profile says; every field optional.
#[derive(Debug, Default)]
pub struct Profile {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The profile of the environment (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`,
/// `AWS_CONFIG_FILE`, `HOME`); empty when the files do not exist. A file that exists but
/// cannot be read, or a profile named by `AWS_PROFILE` that neither file has, is an error.
pub fn from_environment(vars: &super::AwsEnv) -> Result<Profile> {
    let env = |k: &str| vars.get(k).map(str::to_owned);
    let home = env("HOME").map(PathBuf::from);
    let file = |var: &str, name: &str| {
        env(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let named = env("AWS_PROFILE");
    let name = named.clone().unwrap_or_else(|| "default".into());
    let credentials = match file("AWS_SHARED_CREDENTIALS_FILE", "credentials") {
        Some(p) => section(&p, &name)?,
        None => None,
    };
    // In `config` a profile's section is `[profile NAME]`, except `[default]`.
    let config_section = match name.as_str() {
        "default" => "default".to_owned(),
        n => format!("profile {n}"),
    };
    let config = match file("AWS_CONFIG_FILE", "config") {
        Some(p) => section(&p, &config_section)?,
        None => None,
    };
    if named.is_some() && credentials.is_none() && config.is_none() {
        return Err(Error::Config(format!(
            "AWS_PROFILE={name}: no such profile in ~/.aws/credentials or ~/.aws/config (or \
             the files AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE name); add it, or unset \
             AWS_PROFILE"
        )));
    }
    let (mut c, mut f) = (credentials.unwrap_or_default(), config.unwrap_or_default());
    // The credentials file wins over the config file for the keys, as with the AWS CLI.
    let mut take = |key: &str| c.remove(key).or_else(|| f.remove(key));
    Ok(Profile {
        access_key_id: take("aws_access_key_id"),
        secret_access_key: take("aws_secret_access_key").map(Secret::new),
        session_token: take("aws_session_token").map(Secret::new),
        region: take("region"),
        endpoint_url: take("endpoint_url"),
    })
}

/// The `key = value` lines of `[name]` in the INI file `path`; None when the file or the
/// section is absent.
fn section(path: &Path, name: &str) -> Result<Option<HashMap<String, String>>> {
    let what = "AWS credentials or config file";
    let text = match crate::limits::read_text(path, crate::limits::AWS_FILE, what) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::file(
                "reading the AWS profile file",
                path.to_owned(),
                e,
            ));
        }
    };
    Ok(parse_section(&text, name))
}

fn parse_section(text: &str, name: &str) -> Option<HashMap<String, String>> {
    let mut found: Option<HashMap<String, String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            if inside {
                found.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            let map = found.get_or_insert_with(HashMap::new);
            map.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_found_by_name_and_keys_read() {
        let text = "[default]\naws_access_key_id = A\n\n[profile nightly]\n# comment\n\
                    Region=eu-west-1\nendpoint_url = http://x:9000\n[other]\nregion = no\n";
        let d = parse_section(text, "default").unwrap();
        assert_eq!(d["aws_access_key_id"], "A");
        let n = parse_section(text, "profile nightly").unwrap();
        assert_eq!(n["region"], "eu-west-1");
        assert_eq!(n["endpoint_url"], "http://x:9000");
        assert_eq!(n.len(), 2);
        assert!(parse_section(text, "nightly").is_none());
        assert!(parse_section("[empty]\n", "empty").unwrap().is_empty());
    }
}
