//! The directory loader (`warden.toml`: tenants, people, groups, bindings, digests, schedules).
//!
//! Input: the text of a `warden.toml`.
//!
//! Invariants:
//! - loading never panics, and gives the same answer twice;
//! - a refusal lists problems that each name the file and, with a line, a line of the file;
//! - a loaded directory keeps the file's key facts: the names of its tenants, people and
//!   groups, the number of bindings, digests and schedules; every binding's tenant exists and
//!   its source is a line of this file; every group member is a person; every schedule is
//!   written back as text that reads as the same schedule.
#![no_main]

use std::collections::BTreeSet;
use std::path::Path;

use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;
use warden::config::{parse_directory, Schedule};

fn keys(toml: &toml::Table, table: &str) -> BTreeSet<String> {
    toml.get(table)
        .and_then(|t| t.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

fn count(toml: &toml::Table, array: &str) -> usize {
    toml.get(array)
        .and_then(|a| a.as_array())
        .map_or(0, Vec::len)
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = warden_fuzz::text(data) else {
        return;
    };
    let file = Path::new("warden.toml");
    let directory = match parse_directory(file, text) {
        Ok(directory) => directory,
        Err(problems) => {
            warden_fuzz::check_problems(&problems, file, text);
            assert_eq!(parse_directory(file, text), Err(problems));
            return;
        }
    };
    assert_eq!(parse_directory(file, text).as_ref(), Ok(&directory));
    let toml: toml::Table = toml::from_str(text).expect("a loaded file is TOML");
    assert_eq!(
        directory.tenants.keys().cloned().collect::<BTreeSet<_>>(),
        keys(&toml, "tenants")
    );
    assert_eq!(
        directory.people.keys().cloned().collect::<BTreeSet<_>>(),
        keys(&toml, "people")
    );
    assert_eq!(
        directory.groups.keys().cloned().collect::<BTreeSet<_>>(),
        keys(&toml, "groups")
    );
    assert_eq!(directory.bindings.len(), count(&toml, "bindings"));
    assert_eq!(directory.digests.len(), count(&toml, "digests"));
    assert_eq!(directory.schedules.len(), count(&toml, "schedules"));
    let lines = text.split('\n').count();
    for binding in &directory.bindings {
        assert!(
            directory.tenants.contains_key(&binding.tenant),
            "{binding:?}"
        );
        let line = binding
            .source
            .strip_prefix("warden.toml:")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("source {:?}", binding.source));
        assert!((1..=lines).contains(&line), "{binding:?}");
    }
    for (group, members) in &directory.groups {
        for member in members {
            assert!(directory.people.contains_key(member), "{member} of {group}");
        }
    }
    let schedules = directory
        .digests
        .iter()
        .map(|d| d.schedule)
        .chain(directory.schedules.iter().map(|s| s.schedule));
    for schedule in schedules {
        let written = schedule.to_string();
        assert_eq!(written.parse::<Schedule>(), Ok(schedule), "{written}");
    }
    let _ = directory.warnings(chrono::Utc.timestamp_opt(1_767_225_600, 0).unwrap());
});
