//! The YAML config file parser.
//! The properties checked are documented on `sfdbtools::fuzzing::config_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sfdbtools::fuzzing::config_file(data));
