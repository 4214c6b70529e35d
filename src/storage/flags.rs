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
    pub async fn server_key(&self, name: &str, fresh: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(&mut *tx.inner)
        .await?;
        let key: Vec<u8> = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *tx.inner)
            .await?;
        tx.commit().await?;
        Ok(key)
    }
}
