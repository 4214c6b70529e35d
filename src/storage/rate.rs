//! Rate-limit uses, counted in a sliding window per tenant, principal and command.

use super::{Store, Tx};

/// Uses of one command by one principal inside the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowUses {
    /// How many uses fall in the window.
    pub count: u32,
    /// When the oldest of them happened (Unix milliseconds), if any.
    pub oldest_ms: Option<i64>,
}

impl Store {
    /// Counts the uses since `since_ms` outside any transaction, for `why`, which decides
    /// nothing: a concurrent use may change the count a moment later.
    pub async fn rate_uses(
        &self,
        tenant: &str,
        principal: &str,
        command: &str,
        since_ms: i64,
    ) -> anyhow::Result<WindowUses> {
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(at_ms) FROM rate_uses
             WHERE tenant = $1 AND principal = $2 AND command = $3 AND at_ms > $4",
        )
        .bind(tenant)
        .bind(principal)
        .bind(command)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(WindowUses {
            count: count.try_into().unwrap_or(u32::MAX),
            oldest_ms: oldest,
        })
    }
}

impl Tx {
    /// Counts the uses since `since_ms`. Read inside the write transaction, so that two
    /// concurrent requests cannot both see room for one more use.
    pub async fn rate_uses(
        &mut self,
        tenant: &str,
        principal: &str,
        command: &str,
        since_ms: i64,
    ) -> anyhow::Result<WindowUses> {
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(at_ms) FROM rate_uses
             WHERE tenant = $1 AND principal = $2 AND command = $3 AND at_ms > $4",
        )
        .bind(tenant)
        .bind(principal)
        .bind(command)
        .bind(since_ms)
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(WindowUses {
            count: count.try_into().unwrap_or(u32::MAX),
            oldest_ms: oldest,
        })
    }

    /// Records one use and forgets this key's uses that have left the window.
    pub async fn record_rate_use(
        &mut self,
        tenant: &str,
        principal: &str,
        command: &str,
        at_ms: i64,
        window_start_ms: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "DELETE FROM rate_uses WHERE tenant = $1 AND principal = $2 AND command = $3 AND at_ms <= $4",
        )
        .bind(tenant)
        .bind(principal)
        .bind(command)
        .bind(window_start_ms)
        .execute(&mut *self.inner)
        .await?;
        sqlx::query(
            "INSERT INTO rate_uses (tenant, principal, command, at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(principal)
        .bind(command)
        .bind(at_ms)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }
}
