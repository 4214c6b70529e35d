//! `warden serve` and `warden migrate`.

use std::process::ExitCode;

use crate::config::Settings;
use crate::storage::Store;

/// Runs the server until SIGTERM or Ctrl-C, then shuts down gracefully.
pub(super) async fn serve(settings: Settings) -> ExitCode {
    crate::telemetry::init(&settings);
    let server = match crate::app::start(settings).await {
        Ok(server) => server,
        Err(error) => return super::fail(error),
    };
    wait_for_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    match server.shutdown().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => super::fail(error),
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::warn!("cannot listen for SIGTERM: {error}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Applies pending migrations and exits.
pub(super) async fn migrate(settings: Settings) -> ExitCode {
    let store = match Store::connect_with(
        &settings.database_url,
        Some(settings.database_max_connections),
    )
    .await
    {
        Ok(store) => store,
        Err(error) => return super::fail(error),
    };
    match store.migrate().await {
        Ok(()) => {
            println!(
                "migrations applied to {}",
                crate::config::redact_url(&settings.database_url)
            );
            ExitCode::SUCCESS
        }
        Err(error) => super::fail(error),
    }
}
