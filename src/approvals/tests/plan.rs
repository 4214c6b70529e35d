//! The plan hash: stable, and sensitive to every part.

use super::*;

fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn stable() {
    let a = args(&[("service", "api"), ("version", "v1.2.3")]);
    let hash = plan_hash("deploy", &a, Some("prod"), "POST https://deploy/api");
    assert_eq!(
        hash,
        plan_hash("deploy", &a, Some("prod"), "POST https://deploy/api")
    );
    assert_eq!(hash.len(), 64);
    assert!(hash
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    // The exact bytes hashed are a storage format: pending requests compare against it.
    use sha2::{Digest, Sha256};
    let canonical = r#"{"command":"deploy","args":[["service","api"],["version","v1.2.3"]],"environment":"prod","plan":"POST https://deploy/api"}"#;
    assert_eq!(hash, hex::encode(Sha256::digest(canonical)));
}

#[test]
fn sensitive_to_every_part() {
    let base_args = args(&[("service", "api"), ("version", "v1")]);
    let base = plan_hash("deploy", &base_args, Some("prod"), "plan");
    let variants = [
        plan_hash("deploy2", &base_args, Some("prod"), "plan"),
        plan_hash(
            "deploy",
            &args(&[("service", "api"), ("version", "v2")]),
            Some("prod"),
            "plan",
        ),
        plan_hash(
            "deploy",
            &args(&[("service", "api"), ("versio", "v1")]),
            Some("prod"),
            "plan",
        ),
        plan_hash(
            "deploy",
            &args(&[("version", "v1"), ("service", "api")]),
            Some("prod"),
            "plan",
        ),
        plan_hash("deploy", &args(&[("service", "api")]), Some("prod"), "plan"),
        plan_hash("deploy", &base_args, Some("staging"), "plan"),
        plan_hash("deploy", &base_args, None, "plan"),
        plan_hash("deploy", &base_args, Some(""), "plan"),
        plan_hash("deploy", &base_args, Some("prod"), "plan "),
        plan_hash("deploy", &base_args, Some("prod"), ""),
        // Moving text between parts must not collide.
        plan_hash(
            "deploy",
            &args(&[("service", "apiversion"), ("", "v1")]),
            Some("prod"),
            "plan",
        ),
        plan_hash("deplo", &base_args, Some("yprod"), "plan"),
    ];
    for (i, other) in variants.iter().enumerate() {
        assert_ne!(&base, other, "variant {i}");
    }
    assert_ne!(
        plan_hash("x", &[], None, ""),
        plan_hash("x", &[], Some(""), "")
    );
}
