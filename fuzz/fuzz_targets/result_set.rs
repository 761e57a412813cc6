//! The row reader's packet decoding: column count, definitions, text and binary rows, and the INSERTs written from them read back.
//! The properties checked are documented on `sfdbtools::fuzzing::result_set`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sfdbtools::fuzzing::result_set(data));
