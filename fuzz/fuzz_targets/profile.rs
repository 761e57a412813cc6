//! The INI connection profile parser, and its round trip through to_ini.
//! The properties checked are documented on `sfdbtools::fuzzing::profile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sfdbtools::fuzzing::profile(data));
