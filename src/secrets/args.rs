//! Secret argument values kept apart from the arguments stored in plain: a command's
//! `secret = true` values travel sealed in their own column, and the arguments column holds
//! `[redacted]` in their place.

use crate::commands::args::REDACTED;

/// The values of secret arguments, by name. `Debug` never shows a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(pub Vec<(String, String)>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        write!(f, "SecretValues({names:?})")
    }
}

impl SecretValues {
    /// True when there is nothing secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The plaintext to seal: a JSON list of `[name, value]`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// Back from [`SecretValues::to_json`]; `None` for anything else.
    pub fn from_json(text: &str) -> Option<SecretValues> {
        serde_json::from_str(text).ok().map(SecretValues)
    }
}

/// Splits `args` into the arguments to store in plain (each secret value replaced by
/// `[redacted]`) and the secret values, by `is_secret(name)`.
pub fn split_secrets(
    args: &[(String, String)],
    is_secret: impl Fn(&str) -> bool,
) -> (Vec<(String, String)>, SecretValues) {
    let mut plain = Vec::with_capacity(args.len());
    let mut secrets = Vec::new();
    for (name, value) in args {
        if is_secret(name) {
            secrets.push((name.clone(), value.clone()));
            plain.push((name.clone(), REDACTED.to_string()));
        } else {
            plain.push((name.clone(), value.clone()));
        }
    }
    (plain, SecretValues(secrets))
}

/// Puts the secret values back into the arguments they were split from.
pub fn merge_secrets(args: &[(String, String)], secrets: &SecretValues) -> Vec<(String, String)> {
    args.iter()
        .map(|(name, value)| {
            let secret = secrets.0.iter().find(|(n, _)| n == name);
            (
                name.clone(),
                secret.map_or_else(|| value.clone(), |(_, v)| v.clone()),
            )
        })
        .collect()
}
