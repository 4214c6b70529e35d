//! Replay keys: a verified request is acted on once, however often it arrives.

use super::Tx;

impl Tx {
    /// Records `key` until `expires_at` (Unix seconds). Returns false when the key was already
    /// recorded, i.e. the request is a replay and must not be acted on again.
    pub async fn claim_replay_key(&mut self, key: &str, expires_at: i64) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO replay_keys (key, expires_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(expires_at)
        .execute(&mut *self.inner)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Records many keys at once and returns the ones that were new. A key that appears twice
    /// in `keys` is new only once.
    pub async fn claim_replay_keys(
        &mut self,
        keys: &[(String, i64)],
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        let mut fresh = std::collections::HashSet::new();
        for chunk in keys.chunks(500) {
            let sql = format!(
                "INSERT INTO replay_keys (key, expires_at) VALUES {} ON CONFLICT (key) DO NOTHING RETURNING key",
                super::values_list(chunk.len(), 2)
            );
            let mut insert = sqlx::query_as(&sql);
            for (key, expires) in chunk {
                insert = insert.bind(key).bind(*expires);
            }
            let rows: Vec<(String,)> = insert.fetch_all(&mut *self.inner).await?;
            fresh.extend(rows.into_iter().map(|(k,)| k));
        }
        Ok(fresh)
    }
}
