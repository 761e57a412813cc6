//! The `.enc` readers (chunked, one-shot, decrypt_any) on sealed-then-damaged and raw containers.
//! The properties checked are documented on `sfdbtools::fuzzing::container`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sfdbtools::fuzzing::container(data));
