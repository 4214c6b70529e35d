//! [`ActionEnv`]: the environment variables command files reference, captured once.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use secrecy::SecretString;

use crate::commands::spec::ActionSpec;
use crate::commands::Registry;

/// Values of the environment variables that command definitions reference (`sign_secret_env`,
/// `inherit_env`), captured once at start-up: nothing reads the process environment later.
/// Every value is kept as a secret, because an inherited variable may well be a token.
#[derive(Default)]
pub struct ActionEnv {
    values: HashMap<String, SecretString>,
}

impl ActionEnv {
    /// Captures the variables the registry's commands reference from `env`. Returns the names
    /// of referenced variables that are missing, sorted and without duplicates, so that start-up
    /// and `warden check` can warn about them.
    pub fn capture(registry: &Registry, env: &HashMap<String, String>) -> (ActionEnv, Vec<String>) {
        let mut wanted = BTreeSet::new();
        for spec in registry.iter() {
            match &spec.action {
                ActionSpec::Http {
                    sign_secret_env: Some(name),
                    ..
                } => {
                    wanted.insert(name.as_str());
                }
                ActionSpec::Exec { inherit_env, .. } => {
                    wanted.extend(inherit_env.iter().map(String::as_str));
                }
                _ => {}
            }
        }
        let mut values = HashMap::new();
        let mut missing = Vec::new();
        for name in wanted {
            match env.get(name) {
                Some(value) => {
                    values.insert(name.to_string(), SecretString::from(value.clone()));
                }
                None => missing.push(name.to_string()),
            }
        }
        (ActionEnv { values }, missing)
    }

    /// An environment with no variables, for tests and for registries that reference none.
    pub fn empty() -> ActionEnv {
        ActionEnv::default()
    }

    /// The captured value of `name`, if the variable was referenced and set at start-up.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// Builds an environment from explicit values, for tests and embedding.
    pub fn from_values<I, K, V>(values: I) -> ActionEnv
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        ActionEnv {
            values: values
                .into_iter()
                .map(|(k, v)| (k.into(), SecretString::from(v.into())))
                .collect(),
        }
    }
}

impl fmt::Debug for ActionEnv {
    /// Shows the variable names only: the values may be secrets and end up in logs otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: BTreeSet<&str> = self.values.keys().map(String::as_str).collect();
        f.debug_struct("ActionEnv").field("names", &names).finish()
    }
}
