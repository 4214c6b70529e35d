//! Command files as written: serde structs that keep the span of every value a check may
//! complain about. Unknown keys are refused by the deserializer, at their own line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(super) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCommand {
    pub(super) name: Option<S<String>>,
    pub(super) summary: Option<S<String>>,
    pub(super) description: Option<String>,
    pub(super) command: Option<S<String>>,
    pub(super) role: Option<S<String>>,
    pub(super) environment: Option<S<String>>,
    pub(super) risk: Option<S<String>>,
    pub(super) dry_run: Option<bool>,
    pub(super) rate_limit: Option<S<String>>,
    pub(super) timeout: Option<S<String>>,
    pub(super) retries: Option<S<u32>>,
    pub(super) alert_channel: Option<S<String>>,
    pub(super) thread: Option<bool>,
    pub(super) remind: Option<bool>,
    #[serde(default)]
    pub(super) args: Vec<S<RawArg>>,
    pub(super) approval: Option<S<RawApproval>>,
    pub(super) action: Option<S<RawAction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArg {
    pub(super) name: Option<S<String>>,
    #[serde(rename = "type")]
    pub(super) kind: Option<S<String>>,
    pub(super) choices: Option<S<Vec<S<String>>>>,
    pub(super) description: Option<S<String>>,
    pub(super) pattern: Option<S<String>>,
    pub(super) default: Option<S<toml::Value>>,
    pub(super) required: Option<S<bool>>,
    pub(super) secret: Option<bool>,
    pub(super) min: Option<S<i64>>,
    pub(super) max: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApproval {
    pub(super) when: Option<BTreeMap<S<String>, S<toml::Value>>>,
    pub(super) approvals: Option<S<i64>>,
    pub(super) approvers: Option<Vec<S<String>>>,
    pub(super) approver_role: Option<S<String>>,
    pub(super) allow_self: Option<bool>,
    pub(super) expires_in: Option<S<String>>,
}

/// One struct for all action types, so that a field that does not belong to the chosen type
/// is reported at its own line instead of as a vague "unknown variant" error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAction {
    #[serde(rename = "type")]
    pub(super) kind: Option<S<String>>,
    pub(super) method: Option<S<String>>,
    pub(super) url: Option<S<String>>,
    pub(super) headers: Option<BTreeMap<S<String>, S<String>>>,
    pub(super) body: Option<S<toml::Table>>,
    pub(super) sign_secret_env: Option<S<String>>,
    pub(super) program: Option<S<String>>,
    pub(super) args: Option<Vec<S<String>>>,
    pub(super) env: Option<BTreeMap<S<String>, S<String>>>,
    pub(super) inherit_env: Option<Vec<S<String>>>,
    pub(super) dry_run_args: Option<Vec<S<String>>>,
    pub(super) workdir: Option<S<String>>,
    pub(super) name: Option<S<String>>,
}
