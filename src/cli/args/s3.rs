//! The flags of `s3://` locations (issue #22): where the store is, and the part size of uploads. Credentials have none on purpose: they
//! come from the AWS chain (environment, web identity, instance), never from the command line,
//! where every user of the machine could read them.

use clap::Args;

use sfdbtools::config::run::parse_bytes;
use std::path::Path;

use sfdbtools::Error;
use sfdbtools::s3::{AwsEnv, DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE, S3Options};

/// Where the store is, for every command that reads or writes `s3://…`.
#[derive(Args, Debug, Default)]
pub struct S3Endpoint {
    /// For s3://… locations: the endpoint of an S3-compatible store (MinIO, Ceph RGW, Garage,
    /// R2) [default: env AWS_ENDPOINT_URL, else AWS].
    #[arg(long = "s3-endpoint", value_name = "URL")]
    pub endpoint: Option<String>,
    /// For s3://… locations: the bucket's region [default: env AWS_REGION, else us-east-1].
    #[arg(long = "s3-region", value_name = "REGION")]
    pub region: Option<String>,
    /// For s3://… locations: path-style addressing (endpoint/bucket/key), as self-hosted
    /// stores want; always on with an endpoint.
    #[arg(long = "s3-path-style")]
    pub path_style: bool,
}

impl S3Endpoint {
    fn given(&self) -> bool {
        self.endpoint.is_some() || self.region.is_some() || self.path_style
    }

    /// The client's options, with `part_size` for uploads, and the AWS chain's variables of
    /// this process (read here: the library reads no environment).
    pub fn options(&self, part_size: usize) -> S3Options {
        S3Options {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            path_style: self.path_style,
            part_size,
            environment: AwsEnv::new(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            ),
        }
    }

    /// For a command that reads `location`: the flags are how its bucket is reached, and a
    /// usage error when they are given for a path on disk (a typo in the location, most
    /// likely, that would otherwise be ignored).
    pub fn configure_for(&self, location: &Path) -> Result<(), Error> {
        if !sfdbtools::s3::is_s3(location) {
            if self.given() {
                return Err(Error::Usage(format!(
                    "--s3-endpoint, --s3-region and --s3-path-style are for an s3:// location, \
                     and {} is a path on disk; leave them out, or name s3://BUCKET/KEY",
                    location.display()
                )));
            }
            return Ok(());
        }
        sfdbtools::s3::configure(self.options(DEFAULT_PART_SIZE));
        Ok(())
    }
}

/// The flags of an `-o s3://…` destination.
#[derive(Args, Debug, Default)]
pub struct S3Args {
    #[command(flatten)]
    pub endpoint: S3Endpoint,
    /// With -o s3://…: the size of each uploaded part, 5M to 5G; memory holds up to five
    /// [default: 16M].
    #[arg(long = "s3-part-size", value_name = "SIZE", value_parser = parse_part_size)]
    pub part_size: Option<usize>,
}

/// `--s3-part-size`: bytes or K/M/G, within S3's part sizes.
fn parse_part_size(text: &str) -> Result<usize, String> {
    let bytes = parse_bytes(text)?;
    if bytes < MIN_PART_SIZE as u64 {
        return Err("too small: S3 takes parts of 5M (5242880 bytes) at least".into());
    }
    if bytes > MAX_PART_SIZE as u64 {
        return Err("too large: S3 takes parts of 5G at most".into());
    }
    usize::try_from(bytes).map_err(|_| "too large for this machine".to_owned())
}
