//! The hash approvers sign off on.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The canonical form that is hashed. A struct rather than a map, so that the field order (and
/// therefore the bytes) is fixed by the code, whatever features serde_json is built with.
/// Changing it changes every stored hash, which makes every pending request stale: don't.
#[derive(Serialize)]
struct Canonical<'a> {
    command: &'a str,
    args: Vec<[&'a str; 2]>,
    environment: Option<&'a str>,
    plan: &'a str,
}

/// The hash approvers sign off on: hex SHA-256 over the compact JSON
/// `{"command":…,"args":[[name,value],…],"environment":…|null,"plan":…}`, arguments in the
/// order given. JSON keeps the parts apart (no separator a value could contain), so any change
/// to any part, including moving text from one part to another, changes the hash.
///
/// The service computes it when the request is made and again before the job is created;
/// if the two differ the request becomes stale and nothing runs.
pub fn plan_hash(
    command: &str,
    args: &[(String, String)],
    environment: Option<&str>,
    plan: &str,
) -> String {
    let canonical = Canonical {
        command,
        args: args.iter().map(|(n, v)| [n.as_str(), v.as_str()]).collect(),
        environment,
        plan,
    };
    // Falling back to some other bytes would sign off on the wrong thing; this cannot fail
    // anyway, since only strings are serialized.
    let json = serde_json::to_vec(&canonical).expect("strings always serialize to JSON");
    hex::encode(Sha256::digest(&json))
}
