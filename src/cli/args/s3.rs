//! The flags of an `s3://` destination (issue #22). Credentials have none on purpose: they
//! come from the AWS chain (environment, web identity, instance), never from the command line,
//! where every user of the machine could read them.

use clap::Args;

use sfdbtools::config::run::parse_bytes;
use sfdbtools::output::s3::{MAX_PART_SIZE, MIN_PART_SIZE};

#[derive(Args, Debug, Default)]
pub struct S3Args {
    /// With -o s3://…: the endpoint of an S3-compatible store (MinIO, Ceph RGW, Garage, R2)
    /// [default: env AWS_ENDPOINT_URL, else AWS].
    #[arg(long = "s3-endpoint", value_name = "URL")]
    pub endpoint: Option<String>,
    /// With -o s3://…: the bucket's region [default: env AWS_REGION, else us-east-1].
    #[arg(long = "s3-region", value_name = "REGION")]
    pub region: Option<String>,
    /// With -o s3://…: path-style addressing (endpoint/bucket/key), as self-hosted stores want;
    /// always on with an endpoint.
    #[arg(long = "s3-path-style")]
    pub path_style: bool,
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
