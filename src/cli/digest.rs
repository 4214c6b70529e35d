//! `warden digest send --tenant NAME`: one audit digest now.
//!
//! The digest is enqueued in the outbox, like every outgoing message; the dispatcher that
//! delivers it runs in `warden serve`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::config::{Directory, Settings};
use crate::storage::Store;

/// Digest subcommands.
#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Enqueue a digest of the tenant's last 24 hours for its digest (or audit) channel.
    ///
    /// Example: warden digest send --tenant acme
    Send {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
}

pub(super) async fn run(cmd: DigestCommand, settings: Settings) -> ExitCode {
    let DigestCommand::Send { tenant } = cmd;
    let directory = match load_directory(&settings) {
        Ok(directory) => directory,
        Err(code) => return code,
    };
    let store = match open(&settings).await {
        Ok(store) => store,
        Err(error) => return super::fail(error),
    };
    let result = async {
        let key = link_key(&store).await?;
        let now = chrono::Utc::now();
        crate::digests::send_now(&store, &directory, &settings.public_url, &key, &tenant, now).await
    }
    .await;
    match result {
        Ok(()) => {
            println!(
                "digest for `{tenant}` queued; `warden serve` delivers it (the outbox dispatcher runs in the server)"
            );
            ExitCode::SUCCESS
        }
        Err(error) => super::fail(error),
    }
}

/// Opens the database and checks that it is migrated.
pub(super) async fn open(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect_with(
        &settings.database_url,
        Some(settings.database_max_connections),
    )
    .await?
    .with_keyring(settings.encryption.clone());
    store
        .ready()
        .await
        .context("the database is not migrated; run `warden migrate`")?;
    Ok(store)
}

/// The key that signs job links, shared with the server through the database.
pub(super) async fn link_key(store: &Store) -> anyhow::Result<Vec<u8>> {
    let mut fresh = Vec::with_capacity(32);
    fresh.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    fresh.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    store.server_key("job-links", &fresh).await
}

/// `warden.toml`, or the empty directory when none is configured; problems are printed one a
/// line and end the command with exit code 2.
fn load_directory(settings: &Settings) -> Result<Directory, ExitCode> {
    match &settings.config_path {
        None => Ok(Directory::default()),
        Some(path) => crate::config::load_directory(path).map_err(|problems| {
            for problem in problems {
                eprintln!("warden: {problem}");
            }
            ExitCode::from(2)
        }),
    }
}
