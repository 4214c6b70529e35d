//! The envelope: round trips, and every way a value must fail to open.

use super::*;

const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn ring(spec: &str) -> Keyring {
    Keyring::parse(spec).unwrap()
}

fn at(id: i64) -> Place<'static> {
    Place {
        table: "jobs",
        id,
        column: "secrets",
    }
}

#[test]
fn round_trip_and_the_first_key_seals() {
    let keys = ring(&format!("new:{K2},old:{K1}"));
    let sealed = keys.seal(at(7), "tok_s3cr3t");
    assert!(is_sealed(&sealed));
    assert_eq!(key_id(&sealed), Some("new"));
    assert!(!sealed.contains("tok_s3cr3t"));
    assert_eq!(keys.open(at(7), &sealed).unwrap(), "tok_s3cr3t");
    // Two seals of the same value differ (random nonces).
    assert_ne!(sealed, keys.seal(at(7), "tok_s3cr3t"));
    // A value sealed by the old key still opens while that key is configured.
    let old = ring(&format!("old:{K1}")).seal(at(7), "v");
    assert_eq!(keys.open(at(7), &old).unwrap(), "v");
    assert_eq!(keys.ids(), ["new", "old"]);
    assert_eq!(keys.current(), "new");
}

#[test]
fn every_wrong_value_fails_to_open() {
    let keys = ring(&format!("k1:{K1}"));
    let sealed = keys.seal(at(1), "secret");
    // Moved to another row, or another column.
    assert!(matches!(
        keys.open(at(2), &sealed),
        Err(OpenError::Tampered(_))
    ));
    let other_column = Place {
        column: "reply_to",
        ..at(1)
    };
    assert!(matches!(
        keys.open(other_column, &sealed),
        Err(OpenError::Tampered(_))
    ));
    // Any single changed character of the payload.
    let start = PREFIX.len() + "k1:".len();
    for i in start..sealed.len() {
        let mut bytes = sealed.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap();
        if changed == sealed {
            continue;
        }
        assert!(keys.open(at(1), &changed).is_err(), "byte {i}");
    }
    // The same id with another key, an unknown id, plaintext.
    let impostor = ring(&format!("k1:{K2}"));
    assert!(matches!(
        impostor.open(at(1), &sealed),
        Err(OpenError::Tampered(_))
    ));
    let unknown = ring(&format!("k9:{K1}"));
    assert_eq!(
        unknown.open(at(1), &sealed),
        Err(OpenError::UnknownKey("k1".into()))
    );
    assert_eq!(keys.open(at(1), "secret"), Err(OpenError::NotSealed));
    // No error names the value.
    for e in [
        OpenError::Tampered("k1".into()),
        OpenError::UnknownKey("k1".into()),
    ] {
        assert!(!e.to_string().contains("secret\""));
    }
}

#[test]
fn malformed_keys_are_refused_without_showing_them() {
    let cases = [
        ("", "names no key"),
        ("k1", "not KID:BASE64KEY"),
        ("k 1:AAAA", "a key id is"),
        ("k1:not base64!", "not valid base64"),
        ("k1:AAAA", "must be 32"),
        (&format!("k1:{K1},k1:{K2}") as &str, "given twice"),
    ];
    for (spec, want) in cases {
        let err = Keyring::parse(spec).unwrap_err();
        assert!(err.contains(want), "{spec}: {err}");
        assert!(!err.contains(K1) && !err.contains(K2), "{err}");
    }
    let debug = format!("{:?}", ring(&format!("k1:{K1}")));
    assert!(!debug.contains(K1) && debug.contains("k1"), "{debug}");
}

#[test]
fn secret_arguments_split_and_merge() {
    let args = vec![
        ("service".to_string(), "api".to_string()),
        ("token".to_string(), "tok_abc".to_string()),
    ];
    let (plain, secrets) = split_secrets(&args, |n| n == "token");
    assert_eq!(plain[1].1, "[redacted]");
    assert_eq!(plain[0].1, "api");
    assert_eq!(format!("{secrets:?}"), "SecretValues([\"token\"])");
    let back = SecretValues::from_json(&secrets.to_json()).unwrap();
    assert_eq!(merge_secrets(&plain, &back), args);
}
