//! Opening the sealed secret argument values of confirmations and approval requests when they
//! turn into a job (SPEC §16), and erasing them once nothing can need them again.

use crate::secrets::{Place, SecretValues};
use crate::storage::{Sealed, Tx};

use super::Service;

impl Service {
    /// The answer to a Retry of `job` when its command has secret arguments: their values
    /// were erased when it ended (SPEC §16), so it cannot be run again as it was; `None` when
    /// a retry can go ahead.
    pub(super) fn secrets_gone(
        &self,
        job: &crate::jobs::Job,
    ) -> Option<(crate::chat::Reply, super::Handled)> {
        let secret = self
            .registry
            .get(&job.command)
            .is_some_and(|spec| spec.args.iter().any(|a| a.secret));
        (secret && job.secrets.is_none()).then(|| {
            (
                crate::chat::Reply::ephemeral(format!(
                    "{} cannot be retried: `{}` takes secret arguments, and their values were erased when the job ended. Run the command again with them.",
                    job.display_id(),
                    job.command
                )),
                super::Handled::Refused,
            )
        })
    }

    /// The secret argument values stored with row `id` of `column`, opened. A command without
    /// secret arguments has none; a value that does not open is an error naming why, never a
    /// fallback.
    pub(super) async fn open_sealed(
        &self,
        tx: &mut Tx,
        column: Sealed,
        id: i64,
    ) -> Result<SecretValues, String> {
        let stored = tx
            .sealed(column, id)
            .await
            .map_err(|e| format!("its secret arguments could not be read: {e:#}"))?;
        let Some(stored) = stored else {
            return Ok(SecretValues::default());
        };
        let keyring = self.runner.keyring.as_ref().ok_or_else(|| {
            "its secret arguments cannot be opened: WARDEN_ENCRYPTION_KEYS is not set".to_string()
        })?;
        let place = Place {
            table: column.table(),
            id,
            column: column.column(),
        };
        let text = keyring
            .open(place, &stored)
            .map_err(|e| format!("its secret arguments cannot be opened: {e}"))?;
        SecretValues::from_json(&text)
            .ok_or_else(|| "its secret arguments cannot be opened: they are damaged".to_string())
    }
}

/// Seals what an older warden stored in plaintext (SPEC §16): the secret argument values in
/// the arguments of jobs, confirmations and approval requests. A row that may still need them
/// gets them sealed apart; any other row only has them redacted (erased). Runs at start-up when
/// a key is configured; idempotent. Returns how many rows changed.
pub async fn seal_legacy(
    store: &crate::storage::Store,
    registry: &crate::commands::Registry,
    keyring: &crate::secrets::Keyring,
) -> anyhow::Result<usize> {
    let mut changed = 0;
    for column in Sealed::ALL {
        for (id, command, args, status) in store.unsealed_rows(column).await? {
            let Some(spec) = registry.get(&command) else {
                continue;
            };
            let Ok(args) = serde_json::from_str::<Vec<(String, String)>>(&args) else {
                continue;
            };
            let (plain, secrets) = crate::secrets::split_secrets(&args, |name| {
                spec.arg(name).is_some_and(|a| a.secret)
            });
            let leaked = secrets
                .0
                .iter()
                .any(|(_, v)| v != crate::commands::args::REDACTED);
            if !leaked {
                continue;
            }
            let sealed = column.is_live(&status).then(|| {
                keyring.seal(
                    Place {
                        table: column.table(),
                        id,
                        column: column.column(),
                    },
                    &secrets.to_json(),
                )
            });
            store
                .rewrite_args(
                    column,
                    id,
                    &serde_json::to_string(&plain)?,
                    sealed.as_deref(),
                )
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}
