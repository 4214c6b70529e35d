//! Feature flags per tenant and environment, and the server's own keys.

use chrono::{DateTime, Utc};

use super::jobs::ts;
use super::{Store, Tx};

/// A flag's value and who set it last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The environment.
    pub environment: String,
    /// The flag name.
    pub name: String,
    /// The value, as text.
    pub value: String,
    /// Who set it.
    pub updated_by: String,
    /// When (RFC 3339 UTC).
    pub updated_at: String,
}

impl Tx {
    /// Sets a flag and returns its previous value.
    pub async fn set_flag(
        &mut self,
        tenant: &str,
        environment: &str,
        name: &str,
        value: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        let old: Option<String> = sqlx::query_scalar(
            "SELECT value FROM flags WHERE tenant = $1 AND environment = $2 AND name = $3",
        )
        .bind(tenant)
        .bind(environment)
        .bind(name)
        .fetch_optional(&mut *self.inner)
        .await?;
        sqlx::query(
            "INSERT INTO flags (tenant, environment, name, value, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant, environment, name) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(tenant)
        .bind(environment)
        .bind(name)
        .bind(value)
        .bind(by)
        .bind(ts(now))
        .execute(&mut *self.inner)
        .await?;
        Ok(old)
    }
}

impl Store {
    /// Flags of a tenant, optionally of one environment and one name, sorted.
    pub async fn flags(
        &self,
        tenant: &str,
        environment: Option<&str>,
        name: Option<&str>,
    ) -> anyhow::Result<Vec<Flag>> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT environment, name, value, updated_by, updated_at FROM flags
             WHERE tenant = $1 AND ($2 IS NULL OR environment = $2) AND ($3 IS NULL OR name = $3)
             ORDER BY name, environment",
        )
        .bind(tenant)
        .bind(environment)
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(environment, name, value, updated_by, updated_at)| Flag {
                environment,
                name,
                value,
                updated_by,
                updated_at,
            })
            .collect())
    }

    /// The server key called `name`, created from `fresh` the first time. Every replica
    /// sharing the database reads the same key.
    ///
    /// It grants access (the job-link key signs page links), so with `WARDEN_ENCRYPTION_KEYS`
    /// it is stored sealed like every capability (SPEC §16); one stored in plaintext is sealed
    /// when read with a key. A sealed key that no configured key opens (the key was lost) is
    /// replaced by `fresh`: links signed with the old one stop working, which is all a lost
    /// key may cost here.
    pub async fn server_key(&self, name: &str, fresh: &[u8]) -> anyhow::Result<Vec<u8>> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let keyring = self.keyring.clone();
        let place = crate::secrets::Place {
            table: "server_keys",
            id: 0,
            column: name,
        };
        let stored_form = |key: &[u8]| -> Vec<u8> {
            match &keyring {
                Some(keys) => keys.seal(place, &b64.encode(key)).into_bytes(),
                None => key.to_vec(),
            }
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(stored_form(fresh))
        .execute(&mut *tx.inner)
        .await?;
        let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *tx.inner)
            .await?;
        let sealed = std::str::from_utf8(&stored)
            .ok()
            .filter(|s| crate::secrets::is_sealed(s));
        let (key, rewrite) = match (sealed, &keyring) {
            (Some(text), Some(keys)) => match keys
                .open(place, text)
                .ok()
                .and_then(|plain| b64.decode(plain).ok())
            {
                Some(key) => (key, false),
                None => {
                    tracing::warn!(server_key = name, "the stored server key does not open with the configured keys; a new one replaces it");
                    (fresh.to_vec(), true)
                }
            },
            (Some(_), None) => {
                // Left as it is: a tool run without the key must not replace the servers' key.
                tracing::warn!(server_key = name, "the stored server key is sealed but WARDEN_ENCRYPTION_KEYS is not set; links made here will not verify elsewhere");
                (fresh.to_vec(), false)
            }
            // Plaintext from before a key was configured: sealed now when there is a key.
            (None, Some(_)) => (stored, true),
            (None, None) => (stored, false),
        };
        if rewrite {
            sqlx::query("UPDATE server_keys SET value = $1 WHERE name = $2")
                .bind(stored_form(&key))
                .bind(name)
                .execute(&mut *tx.inner)
                .await?;
        }
        tx.commit().await?;
        Ok(key)
    }
}
