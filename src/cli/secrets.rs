//! `warden secrets status|rotate`: what is sealed under which key, and sealing everything
//! under the first key of `WARDEN_ENCRYPTION_KEYS` so an older key can then be removed.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::secrets::{key_id, Place};
use crate::storage::{Sealed, Store};

/// Secrets subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Count the stored sealed values per key id (and any plaintext left from before a key
    /// was configured).
    ///
    /// Example: warden secrets status
    Status,
    /// Re-seal every stored value under the first key of WARDEN_ENCRYPTION_KEYS. Afterwards
    /// `warden secrets status` shows only that key, and the others can be removed.
    ///
    /// Example: WARDEN_ENCRYPTION_KEYS=new:…,old:… warden secrets rotate
    Rotate,
}

pub(super) async fn run(cmd: SecretsCommand, settings: Settings) -> ExitCode {
    let store = match super::digest::open(&settings).await {
        Ok(store) => store,
        Err(error) => return super::fail(error),
    };
    match cmd {
        SecretsCommand::Status => status(&store).await,
        SecretsCommand::Rotate => match &settings.encryption {
            None => {
                eprintln!("warden secrets rotate: WARDEN_ENCRYPTION_KEYS is not set");
                ExitCode::FAILURE
            }
            Some(keyring) => rotate(&store, keyring).await,
        },
    }
}

async fn status(store: &Store) -> ExitCode {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for column in Sealed::ALL {
        match store.sealed_values(column).await {
            Ok(values) => {
                for (_, value) in values {
                    let id = key_id(&value).unwrap_or("(not sealed)").to_string();
                    *counts.entry(id).or_default() += 1;
                }
            }
            Err(error) => return super::fail(error),
        }
    }
    if counts.is_empty() {
        println!("no sealed values are stored");
    }
    for (id, n) in counts {
        println!("{id}: {n}");
    }
    ExitCode::SUCCESS
}

async fn rotate(store: &Store, keyring: &crate::secrets::Keyring) -> ExitCode {
    let current = keyring.current().to_string();
    let mut failed = 0usize;
    let mut total = 0usize;
    for column in Sealed::ALL {
        let mut problems = Vec::new();
        let result = store
            .reseal(column, |id, old| {
                if key_id(old) == Some(current.as_str()) {
                    return None;
                }
                let place = Place {
                    table: column.table(),
                    id,
                    column: column.column(),
                };
                match keyring.open(place, old) {
                    Ok(plain) => Some(keyring.seal(place, &plain)),
                    Err(error) => {
                        problems.push(format!("{} {id}: {error}", column.table()));
                        None
                    }
                }
            })
            .await;
        match result {
            Ok(n) => total += n,
            Err(error) => return super::fail(error),
        }
        for problem in &problems {
            eprintln!("not re-sealed: {problem}");
        }
        failed += problems.len();
    }
    println!("re-sealed {total} value(s) under key `{current}`");
    if failed > 0 {
        eprintln!("warden secrets rotate: {failed} value(s) could not be opened and were left as they are");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
