//! The JSON escaper: values placed in an http action's body.
//!
//! Input: the `body` of a command file as a JSON object on the first line, then the values of
//! its arguments `s` (string), `t` (string), `n` (int) and `f` (bool), one a line (`\n`, `\t`,
//! `\0` and `\\` escaped).
//!
//! Invariants, for every body the loader accepts and whatever values the argument step accepts:
//! - the body renders, and is valid JSON;
//! - its structure is the template's: the same keys, array lengths and non-string values; a
//!   string that is exactly `{{n}}` or `{{f}}` becomes that number or boolean; every other
//!   string is the template's with each reference replaced by the value, nothing else.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use warden::commands::args::{parse_args, ArgValue, RawArgs};
use warden::commands::load_str;

/// The body the template must render to, computed without warden's template code.
fn expected(template: &Value, values: &[(&str, String)], typed: &[(&str, Value)]) -> Value {
    match template {
        Value::String(s) => {
            for (name, value) in typed {
                if *s == format!("{{{{{name}}}}}") {
                    return value.clone();
                }
            }
            Value::String(warden_fuzz::substitute(s, values))
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| expected(v, values, typed)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expected(v, values, typed)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// JSON as TOML: `None` for what TOML cannot hold (null) or what the comparison cannot (floats).
fn to_toml(value: &Value) -> Option<toml::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => toml::Value::Integer(n.as_i64()?),
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => {
            toml::Value::Array(items.iter().map(to_toml).collect::<Option<_>>()?)
        }
        Value::Object(map) => toml::Value::Table(
            map.iter()
                .map(|(k, v)| Some((k.clone(), to_toml(v)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let (body, values) = warden_fuzz::head_and_values(text, 4);
    let Ok(template) = serde_json::from_str::<Value>(body) else {
        return;
    };
    let Some(toml::Value::Table(table)) = to_toml(&template) else {
        return;
    };
    let mut file = toml::Table::new();
    file.insert("name".into(), "fuzz".into());
    file.insert("summary".into(), "s".into());
    let arg = |name: &str, kind: &str| {
        let mut t = toml::Table::new();
        t.insert("name".into(), name.into());
        t.insert("type".into(), kind.into());
        toml::Value::Table(t)
    };
    file.insert(
        "args".into(),
        toml::Value::Array(vec![
            arg("s", "string"),
            arg("t", "string"),
            arg("n", "int"),
            arg("f", "bool"),
        ]),
    );
    let mut action = toml::Table::new();
    action.insert("type".into(), "http".into());
    action.insert("url".into(), "https://deployer.internal/deploys".into());
    action.insert("body".into(), toml::Value::Table(table));
    file.insert("action".into(), toml::Value::Table(action));
    let file = toml::to_string(&file).expect("a table serializes");
    let Ok(spec) = load_str(Path::new("fuzz.toml"), &file) else {
        return;
    };
    let raw = RawArgs {
        named: ["s", "t", "n", "f"]
            .iter()
            .zip(&values)
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
        ..RawArgs::default()
    };
    let Ok(args) = parse_args(&spec, &raw) else {
        return;
    };
    let plan = warden::actions::plan(&spec, &args, false)
        .unwrap_or_else(|e| panic!("accepted values do not render: {e}"));
    let rendered = plan
        .lines()
        .find_map(|l| l.strip_prefix("body: "))
        .expect("the plan shows the body");
    let rendered: Value = serde_json::from_str(rendered)
        .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {rendered}"));
    let strings: Vec<(&str, String)> = args
        .values
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_string()))
        .collect();
    let typed: Vec<(&str, Value)> = args
        .values
        .iter()
        .filter_map(|(n, v)| match v {
            ArgValue::Int(i) => Some((n.as_str(), Value::from(*i))),
            ArgValue::Bool(b) => Some((n.as_str(), Value::Bool(*b))),
            _ => None,
        })
        .collect();
    assert_eq!(
        rendered,
        expected(&template, &strings, &typed),
        "values {values:?}"
    );
});
