//! Profile parsing, writing, the tunnel it describes, and the profile files.

use super::*;
use crate::encrypt::{LEGACY_ITERATIONS, seal_oneshot_with_params};
use std::os::unix::fs::PermissionsExt;

fn origin() -> &'static Path {
    Path::new("/p/test.cnf.enc")
}

#[test]
fn the_old_tools_ini_parses() {
    let text = "\u{feff}; written by sfDBTools\r\n[Client]\r\nHOST = 10.0.0.5\r\nport=3307\r\n\
                user=admin\r\n# a comment\r\npassword=p=w;#x \r\n\r\n[ssh]   ; optional\r\n\
                Enabled=False\r\nhost=jump\r\nuser=ops\r\nssh_password=pw2\r\n\
                identity_file=/k/id\r\nlocal_port=3310\r\n";
    let p = Profile::parse(text, origin()).unwrap();
    assert_eq!(p.host, "10.0.0.5");
    assert_eq!(p.port, 3307);
    assert_eq!(p.user, "admin");
    assert_eq!(p.password.expose(), "p=w;#x", "split at the first `=` only");
    let t = p.ssh.as_ref().unwrap();
    assert!(!t.enabled);
    assert_eq!(t.host.as_deref(), Some("jump"));
    assert_eq!(t.port, 22);
    assert_eq!(t.user.as_deref(), Some("ops"));
    assert_eq!(t.password.as_ref().unwrap().expose(), "pw2");
    assert_eq!(t.identity_file.as_deref(), Some("/k/id"));
    assert_eq!(t.local_port, Some(3310));
    assert!(p.other.is_empty());
    assert!(p.connection(origin(), None).is_ok());
    assert!(p.ssh_note(origin()).unwrap().contains("enabled=false"));
}

#[test]
fn defaults_and_missing_fields() {
    let p = Profile::parse("[client]\nhost=h\nuser=u\n", origin()).unwrap();
    assert_eq!((p.port, p.password.is_empty()), (3306, true));
    assert_eq!(p.connection(origin(), None).unwrap().password, None);
    for (text, needle) in [
        ("[client]\nuser=u\n", "no host"),
        ("[client]\nhost=h\n", "no user"),
        ("host=h\n", "line 1: a key before any [section]"),
        ("[client]\nhost=h\nport=99999\n", "line 3: port"),
        ("[client]\nhost\n", "line 2: expected `key=value`"),
        ("[client\n", "line 1: a section header"),
        (
            "[client]\nhost=h\nuser=u\n[ssh]\nenabled=perhaps\n",
            "line 5: [ssh] enabled",
        ),
    ] {
        let e = Profile::parse(text, origin()).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle:?} not in {e}");
        assert!(e.contains("/p/test.cnf.enc"), "{e}");
    }
}

#[test]
fn a_parse_error_never_quotes_the_line() {
    let e = Profile::parse("[client]\nhunter2secret\n", origin())
        .unwrap_err()
        .to_string();
    assert!(!e.contains("hunter2secret"), "{e}");
}

#[test]
fn an_enabled_tunnel_becomes_the_connection_s_ssh_settings() {
    let p = Profile::parse(
        "[client]\nhost=db\nuser=u\n[ssh]\nenabled=true\nhost=jump\nport=2222\nuser=ops\n\
         identity_file=~/.ssh/id_ed25519\nssh_password=pw\nlocal_port=3307\n",
        origin(),
    )
    .unwrap();
    let c = p
        .connection(origin(), Some(Path::new("/home/ops")))
        .unwrap();
    assert_eq!((c.host.as_str(), c.port), ("db", 3306));
    let t = c.ssh.expect("a tunnel");
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("jump", 2222, "ops")
    );
    assert_eq!(t.local_port, Some(3307));
    assert_eq!(t.known_hosts, Path::new("/home/ops/.ssh/known_hosts"));
    assert_eq!(t.unknown_host, UnknownHost::Refuse);
    // The key wins over the password, and ~/ is the home directory.
    assert!(
        matches!(&t.auth, SshAuth::Key { path, .. } if path == Path::new("/home/ops/.ssh/id_ed25519"))
    );

    let p = Profile::parse(
        "[client]\nhost=db\nuser=u\n[ssh]\nenabled=true\nhost=jump\nuser=ops\nssh_password=pw\n",
        origin(),
    )
    .unwrap();
    let t = p
        .connection(origin(), Some(Path::new("/h")))
        .unwrap()
        .ssh
        .unwrap();
    assert!(matches!(&t.auth, SshAuth::Password(p) if p.expose() == "pw"));
    assert_eq!(t.port, 22);
}

#[test]
fn an_incomplete_tunnel_is_refused_with_the_profile_named() {
    for (section, missing) in [
        (
            "host=jump\nuser=ops\n",
            "neither identity_file nor ssh_password",
        ),
        ("user=ops\nssh_password=pw\n", "no host"),
        ("host=jump\nssh_password=pw\n", "no user"),
    ] {
        let p = Profile::parse(
            &format!("[client]\nhost=db\nuser=u\n[ssh]\nenabled=true\n{section}"),
            origin(),
        )
        .unwrap();
        let e = p.connection(origin(), Some(Path::new("/h"))).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let e = e.to_string();
        assert!(e.contains(missing) && e.contains("/p/test.cnf.enc"), "{e}");
    }
}

#[test]
fn ini_round_trips_including_unknown_keys() {
    let text = "[client]\nhost=h\nport=1\nuser=u\npassword=pw\nsocket=/s\n[ssh]\nenabled=true\n\
                host=j\nport=2222\nkeepalive=5\n[extra]\na=b\n";
    let p = Profile::parse(text, origin()).unwrap();
    assert_eq!(p.other.len(), 3);
    let again = Profile::parse(&p.to_ini(), origin()).unwrap();
    assert_eq!(again, p);
    assert!(p.to_ini().contains("[extra]\na=b\n"));
}

#[test]
fn values_the_format_cannot_keep_are_refused() {
    for pw in ["two\nlines", " padded", "trailing "] {
        let p = Profile::new("h".into(), 1, "u".into(), Secret::new(pw));
        assert!(p.check_storable().is_err(), "{pw:?}");
    }
    let p = Profile::new("h".into(), 1, "u".into(), Secret::new("in ner=;#"));
    p.check_storable().unwrap();
}

#[test]
fn show_hides_the_passwords_unless_asked() {
    let text =
        "[client]\nhost=h\nuser=u\npassword=hunter2\n[ssh]\nssh_password=jump2\n[x]\ntoken=t0k3n\n";
    let p = Profile::parse(text, origin()).unwrap();
    let hidden = p.describe(origin(), false);
    for secret in ["hunter2", "jump2", "t0k3n"] {
        assert!(!hidden.contains(secret), "{hidden}");
        assert!(p.describe(origin(), true).contains(secret));
    }
    assert!(!format!("{p:?}").contains("hunter2"));
}

#[test]
fn save_and_load_round_trip_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prod.cnf.enc");
    let key = Passphrase::from("k");
    let p = Profile::new("db".into(), 3307, "me".into(), Secret::new("pw"));
    save(&path, &key, &p, false).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(load(&path, &key).unwrap(), p);
    assert!(
        save(&path, &key, &p, false).is_err(),
        "create never overwrites"
    );
    let mut changed = p.clone();
    changed.port = 1;
    save(&path, &key, &changed, true).unwrap();
    assert_eq!(load(&path, &key).unwrap().port, 1);
    let e = load(&path, &Passphrase::from("wrong"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("wrong key") && e.contains("prod.cnf.enc"), "{e}");
    assert_eq!(files_in(dir.path()), ["prod.cnf.enc"], "no temp file left");
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn legacy_profiles_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.cnf.enc");
    let key = Passphrase::from("k");
    let sealed = seal_oneshot_with_params(
        b"[client]\nhost=old\nuser=u\npassword=p\n",
        &key,
        rand::random(),
        rand::random(),
        LEGACY_ITERATIONS,
    )
    .unwrap();
    std::fs::write(&path, sealed).unwrap();
    assert_eq!(load(&path, &key).unwrap().host, "old");
}

#[test]
fn names_resolve_to_paths() {
    let dir = Some(Path::new("/profiles"));
    assert_eq!(
        resolve("prod", dir).unwrap(),
        Path::new("/profiles/prod.cnf.enc")
    );
    assert_eq!(
        resolve("prod.cnf.enc", dir).unwrap(),
        Path::new("/profiles/prod.cnf.enc")
    );
    assert_eq!(resolve("./prod", dir).unwrap(), Path::new("./prod"));
    assert_eq!(
        resolve("a/b.cnf.enc", dir).unwrap(),
        Path::new("a/b.cnf.enc")
    );
    assert_eq!(resolve("/x/y", dir).unwrap(), Path::new("/x/y"));
    assert!(resolve("", dir).is_err());
    assert!(resolve("..", dir).is_err());
    assert_eq!(name_of(Path::new("/profiles/prod.cnf.enc")), "prod");
}

#[test]
fn list_and_delete_touch_only_profiles() {
    let dir = tempfile::tempdir().unwrap();
    assert!(list(&dir.path().join("missing")).unwrap().is_empty());
    let key = Passphrase::from("k");
    let p = Profile::new("h".into(), 1, "u".into(), Secret::default());
    for name in ["b", "a"] {
        save(
            &dir.path().join(format!("{name}{EXTENSION}")),
            &key,
            &p,
            false,
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    std::fs::write(dir.path().join("fake.cnf.enc"), "plain text").unwrap();
    let names: Vec<String> = list(dir.path())
        .unwrap()
        .iter()
        .map(|p| name_of(p))
        .collect();
    assert_eq!(names, ["a", "b", "fake"]);
    assert!(delete(&dir.path().join("fake.cnf.enc")).is_err());
    assert!(delete(&dir.path().join("nope.cnf.enc")).is_err());
    delete(&dir.path().join("a.cnf.enc")).unwrap();
    assert_eq!(
        files_in(dir.path()),
        ["b.cnf.enc", "fake.cnf.enc", "notes.txt"]
    );
}

#[test]
fn tls_keys_parse_in_either_spelling_and_round_trip() {
    use crate::connect::SslMode;
    let text = "[client]\nhost=h\nuser=u\nSSL-Mode = verify_identity\nssl_ca=/etc/ca.pem\n\
                ssl-cert=/etc/c.pem\nSSL_KEY=/etc/k.pem\nssl-crl=/etc/crl.pem\n";
    let p = Profile::parse(text, origin()).unwrap();
    assert_eq!(p.tls.mode, Some(SslMode::VerifyIdentity));
    assert_eq!(p.tls.ca.as_deref(), Some(Path::new("/etc/ca.pem")));
    assert_eq!(p.tls.cert.as_deref(), Some(Path::new("/etc/c.pem")));
    assert_eq!(p.tls.key.as_deref(), Some(Path::new("/etc/k.pem")));
    // A key this version does not use stays, as before.
    assert_eq!(p.other.len(), 1);
    let ini = p.to_ini();
    assert!(
        ini.contains("ssl-mode=VERIFY_IDENTITY\nssl-ca=/etc/ca.pem\n"),
        "{}",
        *ini
    );
    assert_eq!(Profile::parse(&ini, origin()).unwrap(), p);
    let c = p.connection(origin(), None).unwrap();
    assert_eq!(c.tls.mode, SslMode::VerifyIdentity);
    assert_eq!(c.tls.key.as_deref(), Some(Path::new("/etc/k.pem")));
    let shown = p.describe(origin(), false);
    assert!(
        shown.contains("ssl-mode: VERIFY_IDENTITY\n") && shown.contains("ssl-ca:   /etc/ca.pem\n"),
        "{shown}"
    );
    // No mode but a CA: VERIFY_CA, as the flags do.
    let p = Profile::parse("[client]\nhost=h\nuser=u\nssl-ca=/ca\n", origin()).unwrap();
    assert_eq!(
        p.connection(origin(), None).unwrap().tls.mode,
        SslMode::VerifyCa
    );
}

#[test]
fn a_bad_ssl_mode_names_the_file_the_line_and_the_allowed_values() {
    let e = Profile::parse("[client]\nhost=h\nuser=u\nssl-mode=sometimes\n", origin())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/p/test.cnf.enc")
            && e.contains("line 4")
            && e.contains("DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"),
        "{e}"
    );
}

#[test]
fn a_certificate_without_its_key_is_not_stored() {
    let mut p = Profile::new("h".into(), 1, "u".into(), Secret::default());
    p.tls.cert = Some("/c.pem".into());
    assert!(p.check_storable().is_err());
    p.tls.key = Some("/k.pem".into());
    p.check_storable().unwrap();
}

#[test]
fn an_enabled_tunnel_without_key_or_password_takes_the_default_keys_in_order() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    for name in ["id_rsa", "id_ed25519", "id_dsa"] {
        std::fs::write(home.path().join(".ssh").join(name), "a key").unwrap();
    }
    let p = Profile::parse(
        "[client]\nhost=db\nuser=u\n[ssh]\nenabled=true\nhost=jump\nuser=ops\n",
        origin(),
    )
    .unwrap();
    let t = p
        .connection(origin(), Some(home.path()))
        .unwrap()
        .ssh
        .unwrap();
    let SshAuth::Keys(keys) = &t.auth else {
        panic!("{:?}", t.auth)
    };
    let names: Vec<_> = keys.iter().map(|k| k.path.file_name().unwrap()).collect();
    assert_eq!(names, ["id_ed25519", "id_rsa"]);
    assert!(p.describe(origin(), false).contains("the default keys"));
}

#[test]
fn a_profile_larger_than_any_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.cnf.enc");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(2 << 20)
        .unwrap();
    let e = load(&path, &Passphrase::from("k")).unwrap_err().to_string();
    assert!(
        e.contains("big.cnf.enc") && e.contains("more than 1048576 bytes"),
        "{e}"
    );
}
