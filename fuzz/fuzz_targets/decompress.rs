//! Codec detection and the decompressors on compressed-then-damaged and raw streams.
//! The properties checked are documented on `sfdbtools::fuzzing::decompress`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sfdbtools::fuzzing::decompress(data));
