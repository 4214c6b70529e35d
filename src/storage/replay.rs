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
}
