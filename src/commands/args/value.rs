//! [`ArgSpec::parse_value`]: the check of one value against its argument's type, choices,
//! pattern and range.

use super::error::shown;
use super::{ArgError, ArgValue, REDACTED};
use crate::commands::spec::{ArgSpec, ArgType};
use crate::model::parse_duration;

impl ArgSpec {
    /// Checks one value against this argument's type, choices, pattern and range. Used for
    /// typed values as well as for defaults and `when` values in files.
    pub fn parse_value(&self, raw: &str) -> Result<ArgValue, ArgError> {
        let name = self.name.clone();
        let value = if self.secret {
            REDACTED.to_string()
        } else {
            shown(raw)
        };
        match self.kind {
            ArgType::String => {
                if let Some(pattern) = &self.pattern {
                    if !matches_whole(pattern, raw) {
                        return Err(ArgError::NoMatch {
                            name,
                            value,
                            pattern: pattern.as_str().to_string(),
                        });
                    }
                }
                Ok(ArgValue::Str(raw.to_string()))
            }
            ArgType::Choice => {
                if self.choices.iter().any(|c| c == raw) {
                    Ok(ArgValue::Str(raw.to_string()))
                } else {
                    Err(ArgError::NotAChoice {
                        name,
                        value,
                        choices: self.choices.clone(),
                    })
                }
            }
            ArgType::Int => {
                let n: i64 = raw
                    .trim()
                    .parse()
                    .map_err(|_| ArgError::NotAnInt { name, value })?;
                let too_small = self.min.is_some_and(|lo| n < lo);
                let too_large = self.max.is_some_and(|hi| n > hi);
                if too_small || too_large {
                    return Err(ArgError::OutOfRange {
                        name: self.name.clone(),
                        // The number itself, not only the text, is the secret.
                        value: if self.secret {
                            REDACTED.to_string()
                        } else {
                            n.to_string()
                        },
                        min: self.min,
                        max: self.max,
                    });
                }
                Ok(ArgValue::Int(n))
            }
            ArgType::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(ArgValue::Bool(true)),
                "false" | "no" | "off" | "0" => Ok(ArgValue::Bool(false)),
                _ => Err(ArgError::NotABool { name, value }),
            },
            ArgType::Duration => parse_duration(raw)
                .map(ArgValue::Duration)
                .map_err(|_| ArgError::NotADuration { name, value }),
        }
    }
}

/// Whether `pattern` matches all of `value`. Patterns always apply to the whole value, as if
/// written `^(?:…)$`, so that an unanchored `[a-z]+` cannot let `api; rm -rf /` through.
fn matches_whole(pattern: &regex::Regex, value: &str) -> bool {
    // Anchoring a pattern that compiled cannot fail in practice; should it ever, refusing the
    // value is the safe answer.
    regex::Regex::new(&format!("^(?:{})$", pattern.as_str())).is_ok_and(|re| re.is_match(value))
}
