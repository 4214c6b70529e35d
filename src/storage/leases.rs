//! Leases on transports that only one replica may run at a time (the Discord Gateway session).
//! Each statement is one atomic upsert or update, the same SQL on SQLite and PostgreSQL, so
//! two replicas racing for a lapsed lease cannot both win.

use super::Store;

/// Who holds a lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// The holder's name (host/pid/random, see `transport::discord_gateway::owner_name`).
    pub owner: String,
    /// When it lapses unless renewed (Unix milliseconds).
    pub expires_ms: i64,
}

impl Store {
    /// Takes or renews the lease `name` for `owner` until `until_ms`. It succeeds when nobody
    /// holds it, when `owner` already does, or when the current holder's lease lapsed before
    /// `now_ms`; otherwise nothing changes and the answer is false.
    pub async fn acquire_lease(
        &self,
        name: &str,
        owner: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> anyhow::Result<bool> {
        // The conflict branch's WHERE decides: on PostgreSQL the upsert locks the row, on
        // SQLite the statement runs under the single writer lock, so the check and the write
        // are one step on both.
        let row: Option<(String,)> = sqlx::query_as(
            "INSERT INTO transport_leases (name, owner, expires_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms
             WHERE transport_leases.owner = excluded.owner OR transport_leases.expires_ms < $4
             RETURNING owner",
        )
        .bind(name)
        .bind(owner)
        .bind(until_ms)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some_and(|(held_by,)| held_by == owner))
    }

    /// Gives the lease back, if `owner` still holds it, so another replica can take it at
    /// once instead of waiting for it to lapse.
    pub async fn release_lease(&self, name: &str, owner: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM transport_leases WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Who holds the lease `name` (possibly lapsed), if anyone.
    pub async fn lease_holder(&self, name: &str) -> anyhow::Result<Option<LeaseHolder>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT owner, expires_ms FROM transport_leases WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(owner, expires_ms)| LeaseHolder { owner, expires_ms }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_and_takeover_after_lapse() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("l.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let name = "discord_gateway";
        assert!(store.acquire_lease(name, "a", 1_000, 16_000).await.unwrap());
        // Another replica cannot take a lease in force; its holder can renew it.
        assert!(!store.acquire_lease(name, "b", 2_000, 17_000).await.unwrap());
        assert!(store.acquire_lease(name, "a", 5_000, 20_000).await.unwrap());
        assert!(!store
            .acquire_lease(name, "b", 19_999, 34_999)
            .await
            .unwrap());
        // Once it lapsed, the other takes it, and the old holder cannot renew.
        assert!(store
            .acquire_lease(name, "b", 20_001, 35_001)
            .await
            .unwrap());
        assert!(!store
            .acquire_lease(name, "a", 20_002, 35_002)
            .await
            .unwrap());
        let holder = store.lease_holder(name).await.unwrap().unwrap();
        assert_eq!((holder.owner.as_str(), holder.expires_ms), ("b", 35_001));
        // Releasing is only the holder's to do.
        store.release_lease(name, "a").await.unwrap();
        assert!(store.lease_holder(name).await.unwrap().is_some());
        store.release_lease(name, "b").await.unwrap();
        assert!(store.lease_holder(name).await.unwrap().is_none());
        assert!(store
            .acquire_lease(name, "a", 20_003, 35_003)
            .await
            .unwrap());
    }
}
