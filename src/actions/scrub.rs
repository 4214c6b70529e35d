//! [`Scrubber`]: removes the secret values a job knows from the text its action produced.
//!
//! An exec program may print its arguments, and a downstream may echo the request it got, so
//! a `secret = true` argument value (or a secret the action sends, such as the HMAC signing
//! secret) could come back in a log line or an error, and from there reach the job message,
//! the alert, the job page and the audit chain. Every log line and every outcome text is
//! scrubbed before it is stored or shown: each known secret, as typed and in the encodings
//! it is sent in (percent-encoded in URLs, form-encoded, escaped in JSON strings), is replaced
//! by `[redacted]`.

use secrecy::ExposeSecret;

use crate::chat::invocation::without_nul;
use crate::commands::args::REDACTED;
use crate::commands::spec::{ActionSpec, CommandSpec};

use super::env::ActionEnv;
use super::ActionOutcome;

/// Inherited environment values shorter than this are not scrubbed: a variable such as
/// `LANG=C` is no credential, and scrubbing it would mangle every log line. Secret arguments
/// and the signing secret are scrubbed whatever their length.
pub const MIN_INHERITED_SECRET_LEN: usize = 8;

/// How many characters of a secret's start, left at the end of a line that was cut short,
/// are enough to redact that end.
const MIN_CUT_PREFIX: usize = 2;

/// The secret values of one job, in every form they may come back in, longest first.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    needles: Vec<String>,
}

impl Scrubber {
    /// A scrubber that changes nothing, for jobs without secrets.
    pub fn none() -> Scrubber {
        Scrubber::default()
    }

    /// A scrubber for these secret values (empty ones are ignored), each also in its
    /// percent-encoded, form-encoded and JSON-escaped forms.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Scrubber {
        let mut needles = Vec::new();
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            let percent = crate::commands::template::percent_encode(&secret);
            let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            let json = serde_json::to_string(&secret)
                .map(|quoted| quoted[1..quoted.len() - 1].to_string())
                .unwrap_or_default();
            let lower_percent = percent.to_ascii_lowercase();
            for form in [secret, percent, lower_percent, form, json] {
                if !form.is_empty() && !needles.contains(&form) {
                    needles.push(form);
                }
            }
        }
        // Longer first, so that a secret containing another is replaced whole.
        needles.sort_by(|a: &String, b: &String| b.len().cmp(&a.len()).then(a.cmp(b)));
        Scrubber { needles }
    }

    /// The scrubber for one job: the values of its command's `secret = true` arguments (as
    /// stored with the job, before parsing), the signing secret of an http action, and the
    /// inherited environment values of an exec action that are at least
    /// [`MIN_INHERITED_SECRET_LEN`] long. Without a spec (the command is gone), every argument
    /// value counts as secret.
    pub fn for_job(
        spec: Option<&CommandSpec>,
        args: &[(String, String)],
        env: &ActionEnv,
    ) -> Scrubber {
        let mut secrets: Vec<String> = args
            .iter()
            .filter(|(name, _)| spec.is_none_or(|s| s.arg(name).is_none_or(|a| a.secret)))
            .map(|(_, value)| value.clone())
            .collect();
        match spec.map(|s| &s.action) {
            Some(ActionSpec::Http {
                sign_secret_env: Some(name),
                ..
            }) => {
                if let Some(value) = env.get(name) {
                    secrets.push(value.expose_secret().to_string());
                }
            }
            Some(ActionSpec::Exec { inherit_env, .. }) => {
                for name in inherit_env {
                    if let Some(value) = env.get(name) {
                        let value = value.expose_secret();
                        if value.chars().count() >= MIN_INHERITED_SECRET_LEN {
                            secrets.push(value.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
        Scrubber::new(secrets)
    }

    /// True when there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every occurrence of every secret replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }

    /// For text that was cut short (what followed it was dropped): also replaces an end that
    /// is the start of a secret, so that half a secret does not survive a cut. Call it on the
    /// kept part, after [`Scrubber::scrub`].
    pub fn scrub_cut_end(&self, kept: &str) -> String {
        for needle in &self.needles {
            let starts: Vec<usize> = needle.char_indices().map(|(i, _)| i).skip(1).collect();
            for end in starts.into_iter().rev() {
                let prefix = &needle[..end];
                if prefix.chars().count() >= MIN_CUT_PREFIX.min(needle.chars().count())
                    && kept.ends_with(prefix)
                {
                    return format!("{}{REDACTED}", &kept[..kept.len() - prefix.len()]);
                }
            }
        }
        kept.to_string()
    }

    /// The outcome with its text (summary or error) scrubbed, and any NUL character in it
    /// replaced (U+FFFD), because the text is stored and no database text column may hold one.
    pub fn outcome(&self, outcome: ActionOutcome) -> ActionOutcome {
        let clean = |text: &str| without_nul(&self.scrub(text));
        match outcome {
            ActionOutcome::Succeeded { summary } => ActionOutcome::Succeeded {
                summary: clean(&summary),
            },
            ActionOutcome::Failed { error } => ActionOutcome::Failed {
                error: clean(&error),
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_every_form_of_every_secret() {
        let s = Scrubber::new([
            "tok 1&2\"x".to_string(),
            "hunter2".to_string(),
            String::new(),
        ]);
        let cases = [
            ("plain tok 1&2\"x here", "plain [redacted] here"),
            ("url ?t=tok%201%262%22x&y", "url ?t=[redacted]&y"),
            ("lower ?t=tok%201%262%22x", "lower ?t=[redacted]"),
            ("form t=tok+1%262%22x", "form t=[redacted]"),
            (r#"json {"t":"tok 1&2\"x"}"#, r#"json {"t":"[redacted]"}"#),
            ("twice hunter2hunter2", "twice [redacted][redacted]"),
            ("nothing secret", "nothing secret"),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(s.scrub(text), want, "{text}");
        }
        assert!(Scrubber::new([String::new()]).is_empty());
        assert_eq!(Scrubber::none().scrub("hunter2"), "hunter2");
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let s = Scrubber::new(["abc".to_string(), "xxabcxx".to_string()]);
        assert_eq!(s.scrub("1 xxabcxx 2 abc"), "1 [redacted] 2 [redacted]");
    }

    #[test]
    fn half_a_secret_at_a_cut_is_redacted() {
        let s = Scrubber::new(["s3cr3t-value".to_string()]);
        assert_eq!(
            s.scrub_cut_end("line ends with s3cr"),
            "line ends with [redacted]"
        );
        assert_eq!(s.scrub_cut_end("line ends with s"), "line ends with s");
        assert_eq!(s.scrub_cut_end("an ordinary end"), "an ordinary end");
    }

    #[test]
    fn outcomes_are_scrubbed() {
        let s = Scrubber::new(["hunter2".to_string()]);
        assert_eq!(
            s.outcome(ActionOutcome::Failed {
                error: "HTTP 400: {\"password\":\"hunter2\"}".into()
            }),
            ActionOutcome::Failed {
                error: "HTTP 400: {\"password\":\"[redacted]\"}".into()
            }
        );
        assert_eq!(s.outcome(ActionOutcome::TimedOut), ActionOutcome::TimedOut);
        assert_eq!(
            Scrubber::none().outcome(ActionOutcome::Failed {
                error: "exit\0code".into()
            }),
            ActionOutcome::Failed {
                error: "exit\u{fffd}code".into()
            }
        );
    }

    #[test]
    fn a_job_knows_its_secret_arguments_signing_secret_and_inherited_tokens() {
        let spec = crate::commands::load::load_str(
            std::path::Path::new("t.toml"),
            r#"
name = "call"
summary = "Call"
role = "operator"
[[args]]
name = "service"
type = "string"
[[args]]
name = "token"
type = "string"
secret = true
[action]
type = "http"
method = "POST"
url = "https://h/x"
body = { t = "{{token}}", s = "{{service}}" }
sign_secret_env = "SIGNING"
"#,
        )
        .unwrap();
        let env = ActionEnv::from_values([("SIGNING", "hmac-signing-secret")]);
        let args = vec![
            ("service".to_string(), "api".to_string()),
            ("token".to_string(), "tok_abcdef12".to_string()),
        ];
        let s = Scrubber::for_job(Some(&spec), &args, &env);
        assert_eq!(
            s.scrub("api tok_abcdef12 hmac-signing-secret"),
            "api [redacted] [redacted]"
        );
        // Without the command, every value counts as secret.
        let s = Scrubber::for_job(None, &args, &env);
        assert_eq!(s.scrub("api tok_abcdef12"), "[redacted] [redacted]");
    }

    #[test]
    fn inherited_values_count_when_they_are_long_enough() {
        let spec = crate::commands::load::load_str(
            std::path::Path::new("t.toml"),
            r#"
name = "run"
summary = "Run"
role = "operator"
[action]
type = "exec"
program = "/bin/true"
inherit_env = ["API_TOKEN", "LANG"]
"#,
        )
        .unwrap();
        let env = ActionEnv::from_values([("API_TOKEN", "abcd1234efgh"), ("LANG", "C")]);
        let s = Scrubber::for_job(Some(&spec), &[], &env);
        assert_eq!(s.scrub("token abcd1234efgh in C"), "token [redacted] in C");
    }
}
