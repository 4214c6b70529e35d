//! [`Ctx`]: the problems of one command file, and the helpers that report a problem at the line
//! of the value it is about.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::raw::S;
use crate::commands::spec::ArgSpec;
use crate::commands::template;
use crate::model::{line_of, parse_duration, Problem};

/// Collects the problems of one file.
pub(super) struct Ctx<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) problems: Vec<Problem>,
}

impl Ctx<'_> {
    pub(super) fn line(&self, span: &Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    pub(super) fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let line = self.line(span);
        self.problems.push(Problem::at(self.file, line, message));
    }

    pub(super) fn at_line(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem::at(self.file, line, message));
    }

    /// The line of `needle` inside the source text of `span`, so that a bad reference in a
    /// multi-line string or a body table points at its own line; the span's line otherwise.
    pub(super) fn line_of_needle(&self, span: &Range<usize>, needle: &str) -> usize {
        let found = self
            .text
            .get(span.clone())
            .and_then(|source| source.find(needle));
        match found {
            Some(pos) => line_of(self.text, span.start + pos),
            None => self.line(span),
        }
    }

    /// Parses a value with `FromStr`, reporting the parser's message at the value's line.
    pub(super) fn parse<T: std::str::FromStr<Err = String>>(
        &mut self,
        value: &S<String>,
    ) -> Option<T> {
        match value.get_ref().parse() {
            Ok(v) => Some(v),
            Err(message) => {
                self.at(&value.span(), message);
                None
            }
        }
    }

    pub(super) fn duration(
        &mut self,
        key: &str,
        value: &Option<S<String>>,
        default: Duration,
    ) -> Duration {
        match value {
            None => default,
            Some(v) => match parse_duration(v.get_ref()) {
                Ok(d) => d,
                Err(message) => {
                    self.at(&v.span(), format!("{key}: {message}"));
                    default
                }
            },
        }
    }

    /// Checks that every reference in a template names an argument that always has a value.
    pub(super) fn check_template(
        &mut self,
        what: &str,
        text: &str,
        span: &Range<usize>,
        args: &[ArgSpec],
    ) {
        let refs = match template::references(text) {
            Ok(refs) => refs,
            Err(err) => {
                let line = self.line_of_needle(span, "{{");
                self.at_line(line, format!("{what}: {err}"));
                return;
            }
        };
        let mut seen = BTreeSet::new();
        for name in refs {
            if !seen.insert(name) {
                continue;
            }
            let line = self.line_of_needle(span, &format!("{{{{{name}}}}}"));
            match args.iter().find(|a| a.name == name) {
                None => self.at_line(
                    line,
                    format!("{what} uses `{{{{{name}}}}}`, but there is no argument `{name}`"),
                ),
                Some(arg) if !arg.required && arg.default.is_none() => self.at_line(
                    line,
                    format!(
                        "{what} uses `{{{{{name}}}}}`, but `{name}` is optional without a default, so it may have no value"
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    pub(super) fn check_spanned_template(
        &mut self,
        what: &str,
        value: &S<String>,
        args: &[ArgSpec],
    ) {
        self.check_template(what, value.get_ref(), &value.span(), args);
    }

    /// Reports a string that must not contain templates.
    pub(super) fn no_template(&mut self, what: &str, value: &S<String>) {
        if value.get_ref().contains("{{") {
            let line = self.line_of_needle(&value.span(), "{{");
            self.at_line(line, format!("{what} cannot contain templates"));
        }
    }
}
