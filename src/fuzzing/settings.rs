//! The two text formats an operator's files are read from: the INI connection profile (the
//! plaintext of a `.cnf.enc`) and the YAML config file.

use std::path::Path;

use crate::config::{file, profile::Profile};

const ORIGIN: &str = "/fuzz/origin.cnf";

/// Parses `data` (UTF-8) as a profile and checks:
/// - an error names the profile;
/// - a profile that [`Profile::check_storable`] accepts is written by [`Profile::to_ini`] so
///   that it reads back as the same profile (the unknown keys may come back grouped by
///   section), and writing that again gives the same text.
pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = Path::new(ORIGIN);
    let parsed = match Profile::parse(text, origin) {
        Ok(p) => p,
        Err(e) => {
            assert!(
                e.to_string().contains(ORIGIN),
                "error without the profile's name: {e}"
            );
            return;
        }
    };
    if parsed.check_storable().is_err() {
        return;
    }
    let ini = parsed.to_ini();
    let again = Profile::parse(&ini, origin).expect("a stored profile reads back");
    let sorted = |p: &Profile| {
        let mut other: Vec<(String, String, String)> = p
            .other
            .iter()
            .map(|e| {
                (
                    e.section.clone(),
                    e.key.clone(),
                    e.value.expose().to_owned(),
                )
            })
            .collect();
        other.sort();
        other
    };
    assert_eq!(
        sorted(&again),
        sorted(&parsed),
        "the unknown keys changed on a round trip"
    );
    let known = |p: &Profile| {
        let mut p = p.clone();
        p.other.clear();
        p
    };
    assert_eq!(
        known(&again),
        known(&parsed),
        "a profile changed on a round trip"
    );
    assert_eq!(*again.to_ini(), *ini, "writing a profile twice differs");
}

const CONFIG: &str = "/fuzz/config.yaml";

/// Parses `data` (UTF-8) as the YAML config file: no panic, no stack overflow on deep
/// nesting, an error names the file, and a success records it as the source.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match file::parse(text, Path::new(CONFIG)) {
        Ok(settings) => {
            assert_eq!(settings.source.as_deref(), Some(Path::new(CONFIG)));
            for w in &settings.warnings {
                assert!(w.contains(CONFIG), "a warning without the file's name: {w}");
            }
        }
        Err(e) => assert!(
            e.to_string().contains(CONFIG),
            "error without the file's name: {e}"
        ),
    }
}
