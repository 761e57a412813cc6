//! The configuration layers a user knows, each in its own module so that "config" never means
//! two things: [`run`] is the validated configuration of one run (what the binary builds from
//! flags > config file > defaults, and what the engine obeys); [`file`](mod@file) is the YAML
//! config file an operator edits (every value optional, read only); [`profile`] holds the
//! encrypted connection profiles. Secrets are `crate::secret`, below all of them (see its
//! header).

pub mod file;
pub mod profile;
pub mod run;
