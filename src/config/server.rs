//! [`ServerLimits`]: how long a connection may dawdle and how many may be open at once.

use std::time::Duration;

use crate::model::parse_duration;

/// Bounds on client connections, from `WARDEN_HEADER_TIMEOUT`, `WARDEN_IDLE_TIMEOUT` and
/// `WARDEN_MAX_CONNECTIONS`. A connection that is slow to send a request's headers, or that
/// sits idle between requests, is closed, so stalled or abandoned clients cannot hold the
/// connection slots that the cap hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a request's headers may take, from their first byte to their end
    /// (`WARDEN_HEADER_TIMEOUT`, default 10s).
    pub header_timeout: Duration,
    /// How long a connection may wait for its next request, including the first
    /// (`WARDEN_IDLE_TIMEOUT`, default 75s: longer than the usual load balancer's 60 s, so the
    /// balancer, not warden, closes an idle connection it keeps).
    pub idle_timeout: Duration,
    /// How many client connections are open at once; further ones wait to be accepted
    /// (`WARDEN_MAX_CONNECTIONS`, default 1024).
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: 1024,
        }
    }
}

impl ServerLimits {
    /// Reads the variables through `get`, adding a line to `errors` for each bad value.
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        errors: &mut Vec<String>,
    ) -> ServerLimits {
        let mut limits = ServerLimits::default();
        for (name, field) in [
            ("WARDEN_HEADER_TIMEOUT", &mut limits.header_timeout),
            ("WARDEN_IDLE_TIMEOUT", &mut limits.idle_timeout),
        ] {
            if let Some(value) = get(name) {
                match parse_duration(value) {
                    Ok(d) => *field = d,
                    Err(e) => errors.push(format!("{name}: {e}")),
                }
            }
        }
        if let Some(value) = get("WARDEN_MAX_CONNECTIONS") {
            match value.parse::<usize>() {
                Ok(n) if (1..=100_000).contains(&n) => limits.max_connections = n,
                _ => errors.push(format!(
                    "WARDEN_MAX_CONNECTIONS: `{value}` is not a number from 1 to 100000"
                )),
            }
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_values_and_errors() {
        let read = |pairs: &[(&str, &str)]| {
            let mut errors = Vec::new();
            let get = |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            (ServerLimits::from_env(get, &mut errors), errors)
        };
        assert_eq!(read(&[]), (ServerLimits::default(), vec![]));
        let (limits, errors) = read(&[
            ("WARDEN_HEADER_TIMEOUT", "2s"),
            ("WARDEN_IDLE_TIMEOUT", "2m"),
            ("WARDEN_MAX_CONNECTIONS", "16"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            limits,
            ServerLimits {
                header_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(120),
                max_connections: 16,
            }
        );
        let (_, errors) = read(&[
            ("WARDEN_HEADER_TIMEOUT", "0s"),
            ("WARDEN_MAX_CONNECTIONS", "0"),
        ]);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
