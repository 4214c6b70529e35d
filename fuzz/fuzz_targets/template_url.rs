//! The URL escaper: values placed in an http action's URL.
//!
//! Input: the `url` of a command file on the first line, then the values of its three string
//! arguments `a`, `b` and `c`, one a line (`\n`, `\t`, `\0` and `\\` escaped).
//!
//! Invariants, for every template the loader accepts and whatever the values:
//! - the argument step accepts the values, or refuses them naming a dot segment; values it
//!   accepts render (the plan people approve is the request that is sent);
//! - the rendered URL parses, and keeps the template's scheme, host, port, user, number of
//!   path segments, number of `&`-separated query pieces and fragment: compared with the same template
//!   rendered with a harmless value, as a WHATWG URL parser (the `url` crate, which reqwest
//!   sends with) reads them.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use url::Url;
use warden::commands::args::{parse_args, ArgError, RawArgs};
use warden::commands::load_str;

/// What a request's destination is made of, as the URL parser reads it.
fn shape(
    url: &Url,
) -> (
    String,
    Option<String>,
    Option<u16>,
    String,
    usize,
    usize,
    bool,
) {
    (
        url.scheme().to_string(),
        url.host_str().map(str::to_string),
        url.port_or_known_default(),
        url.username().to_string(),
        url.path_segments().map_or(0, |s| s.count()),
        // Pieces rather than `query_pairs`, which skips empty ones: an empty value in
        // `?{{a}}` is still one piece.
        url.query().map_or(0, |q| q.split('&').count()),
        url.fragment().is_some(),
    )
}

/// The URL of the plan's first line, `GET <url>` (the lines after it start with `headers: `).
fn planned_url(spec: &warden::commands::CommandSpec, raw: &RawArgs) -> Result<String, String> {
    let args = parse_args(spec, raw).map_err(|e| e.to_string())?;
    let plan = warden::actions::plan(spec, &args, false)?;
    let (first, _) = plan
        .rsplit_once("\nheaders: ")
        .expect("an http plan lists its headers");
    Ok(first
        .strip_prefix("GET ")
        .expect("the plan starts with the method")
        .to_string())
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let (template, values) = warden_fuzz::head_and_values(text, 3);
    let file = format!(
        "name = \"fuzz\"\nsummary = \"s\"\n\
         [[args]]\nname = \"a\"\ntype = \"string\"\n\
         [[args]]\nname = \"b\"\ntype = \"string\"\n\
         [[args]]\nname = \"c\"\ntype = \"string\"\n\
         [action]\ntype = \"http\"\nmethod = \"GET\"\nurl = {}\n",
        warden_fuzz::toml_str(template)
    );
    let Ok(spec) = load_str(Path::new("fuzz.toml"), &file) else {
        return;
    };
    let raw = |values: &[String]| RawArgs {
        named: ["a", "b", "c"]
            .iter()
            .zip(values)
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
        ..RawArgs::default()
    };
    let harmless = vec!["x".to_string(); 3];
    let Ok(reference) = planned_url(&spec, &raw(&harmless)) else {
        panic!("the template {template:?} does not render with harmless values");
    };
    let Ok(reference) = Url::parse(&reference) else {
        // The file's own URL does not parse; no value can make that worse.
        return;
    };
    let args = match parse_args(&spec, &raw(&values)) {
        Ok(args) => args,
        Err(ArgError::DotSegment { .. }) => return,
        Err(other) => panic!("a string argument without a pattern was refused: {other}"),
    };
    let plan = warden::actions::plan(&spec, &args, false);
    let Ok(rendered) = planned_url(&spec, &raw(&values)) else {
        panic!("values the argument step accepted do not render: {plan:?}");
    };
    let url = Url::parse(&rendered).unwrap_or_else(|e| panic!("{rendered:?} does not parse: {e}"));
    assert_eq!(
        shape(&url),
        shape(&reference),
        "values {values:?} changed where {template:?} goes: {url} vs {reference}"
    );
});
