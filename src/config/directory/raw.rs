//! `warden.toml` as written: serde structs that keep the span of every value a semantic check
//! may complain about.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// The file as written, with spans kept for every value a semantic check may complain about.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirectory {
    #[serde(default)]
    pub(super) tenants: BTreeMap<Spanned<String>, RawTenant>,
    #[serde(default)]
    pub(super) people: BTreeMap<Spanned<String>, RawPerson>,
    #[serde(default)]
    pub(super) groups: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) bindings: Vec<Spanned<RawBinding>>,
    #[serde(default)]
    pub(super) digests: Vec<Spanned<RawDigest>>,
    #[serde(default)]
    pub(super) schedules: Vec<Spanned<RawSchedule>>,
    #[serde(default)]
    pub(super) alert_sources: BTreeMap<Spanned<String>, Spanned<RawAlertSource>>,
    #[serde(default)]
    pub(super) alert_routes: Vec<Spanned<RawAlertRoute>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlertSource {
    pub(super) kind: Spanned<String>,
    pub(super) token_env: Option<Spanned<String>>,
    pub(super) hmac_secret_env: Option<Spanned<String>>,
    pub(super) silence_url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlertRoute {
    pub(super) source: Spanned<String>,
    pub(super) tenant: Spanned<String>,
    pub(super) channel: Option<Spanned<String>>,
    #[serde(rename = "match", default)]
    pub(super) matches: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) match_re: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) actions: Vec<Spanned<RawAlertAction>>,
    pub(super) storm: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlertAction {
    pub(super) label: Spanned<String>,
    pub(super) command: Option<Spanned<String>>,
    pub(super) silence: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) name: Spanned<String>,
    pub(super) tenant: Spanned<String>,
    pub(super) run_as: Spanned<String>,
    pub(super) command: Spanned<String>,
    pub(super) schedule: Spanned<String>,
    pub(super) channel: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTenant {
    pub(super) slack_team: Option<Spanned<String>>,
    pub(super) discord_guild: Option<Spanned<String>>,
    pub(super) alert_channel: Option<Spanned<String>>,
    pub(super) audit_channel: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) breakglass: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerson {
    pub(super) slack: Option<Spanned<OneOrMany>>,
    pub(super) discord: Option<Spanned<OneOrMany>>,
    pub(super) display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBinding {
    pub(super) subject: Spanned<String>,
    pub(super) tenant: Spanned<String>,
    pub(super) role: Spanned<String>,
    pub(super) environments: Option<Spanned<Vec<String>>>,
    /// A `toml::Value` so that both a quoted string and a bare TOML datetime are accepted.
    pub(super) expires: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    pub(super) tenant: Spanned<String>,
    pub(super) channel: Option<Spanned<String>>,
    pub(super) schedule: Spanned<String>,
}

/// A string or a list of strings. It is deserialized by hand because serde's untagged enums
/// buffer the value and lose the spans of the list items.
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an identity string or a list of them")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}
