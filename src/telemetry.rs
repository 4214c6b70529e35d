//! Logging: `tracing` with an env filter, JSON when not on a terminal (or when asked).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber. Called once by `serve`; a second call is a no-op.
pub fn init(settings: &Settings) {
    let mut filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // tungstenite traces every WebSocket frame with its payload: the Discord Gateway's
    // IDENTIFY carries the bot token, its interactions their tokens, and Socket Mode envelopes
    // carry response URLs and command text. Its debug lines (close frames) hold none of that,
    // so the WebSocket crates never log below debug, whatever `RUST_LOG` says.
    for target in ["tungstenite", "tokio_tungstenite"] {
        if let Ok(directive) = format!("{target}=debug").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let json = match settings.log_format {
        Some(LogFormat::Json) => true,
        Some(LogFormat::Pretty) => false,
        None => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}
