//! The inputs of a modal submit that sit in Discord's newer Label components (type 18, one
//! `component` each, e.g. a text input or a select). Serenity 0.12.5 predates them: it reads a
//! label as an action row of unknown type with no components, so their values would be lost.
//! They are read here from the verified body instead, and only from modal submits. Warden's
//! own modals use action rows (`render::modal`), which serenity reads.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Discord's component type of a Label.
const LABEL: u64 = 18;

/// Discord's interaction type of a modal submit.
const MODAL_SUBMIT: u64 = 5;

/// `custom_id` → submitted value of every labelled input; a select contributes its first
/// choice, since warden's forms take one.
pub(super) fn values(interaction: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    if interaction.get("type").and_then(Value::as_u64) != Some(MODAL_SUBMIT) {
        return values;
    }
    let rows = interaction
        .get("data")
        .and_then(|d| d.get("components"))
        .and_then(Value::as_array);
    for row in rows.into_iter().flatten() {
        if row.get("type").and_then(Value::as_u64) != Some(LABEL) {
            continue;
        }
        let Some(input) = row.get("component") else {
            continue;
        };
        let id = input.get("custom_id").and_then(Value::as_str);
        let value = input
            .get("value")
            .and_then(Value::as_str)
            .or_else(|| input.get("values")?.as_array()?.first()?.as_str());
        if let (Some(id), Some(value)) = (id, value) {
            values.insert(id.to_string(), value.to_string());
        }
    }
    values
}
