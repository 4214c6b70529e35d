//! Sealed columns (SPEC §16): the sealed secret argument values of jobs, confirmations and
//! approvals. Storage keeps the sealed text as it is given and knows nothing of keys; the
//! value is written after the row's insert because the row id is part of what it is sealed to.

use super::{Store, Tx};

/// A column that holds a sealed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// `jobs.secrets`.
    JobSecrets,
    /// `confirmations.secrets`.
    ConfirmationSecrets,
    /// `approvals.secrets`.
    ApprovalSecrets,
}

impl Sealed {
    /// Every sealed column.
    pub const ALL: [Sealed; 3] = [
        Sealed::JobSecrets,
        Sealed::ConfirmationSecrets,
        Sealed::ApprovalSecrets,
    ];

    /// The table.
    pub fn table(self) -> &'static str {
        match self {
            Sealed::JobSecrets => "jobs",
            Sealed::ConfirmationSecrets => "confirmations",
            Sealed::ApprovalSecrets => "approvals",
        }
    }

    /// The column.
    pub fn column(self) -> &'static str {
        "secrets"
    }

    /// Whether a row of this table in `status` may still need its secret values.
    pub fn is_live(self, status: &str) -> bool {
        match self {
            Sealed::JobSecrets => matches!(status, "queued" | "running"),
            Sealed::ConfirmationSecrets | Sealed::ApprovalSecrets => status == "pending",
        }
    }
}

/// How long a stored reply capability is kept after its row was created.
const CAPABILITY_LIFETIME_MS: i64 = 3_600_000;

/// The column name both outbox handles are sealed to: a post's `fallback` becomes its
/// `reply_to` when it is used, so the two must open alike.
pub(super) const OUTBOX_HANDLE: &str = "handle";

/// Seals a capability (a Slack `response_url`, a Discord interaction token: see
/// `chat::ReplyHandle::stored`) for `table`/`id`/`column`, when a key is configured. Without
/// one it stays as it is: capabilities expire within minutes and are erased soon after, and a
/// deployment without a key has chosen not to seal.
pub(super) fn seal_capability(
    keyring: Option<&crate::secrets::Keyring>,
    table: &str,
    id: i64,
    column: &str,
    plain: &str,
) -> String {
    match keyring {
        Some(keys) => keys.seal(crate::secrets::Place { table, id, column }, plain),
        None => plain.to_string(),
    }
}

/// Opens a stored capability. A value that does not open (no key, another key, moved or
/// altered) counts as no capability at all: warden then cannot answer through it, which is
/// the safe failure; it never uses the text as it is.
pub(super) fn open_capability(
    keyring: Option<&crate::secrets::Keyring>,
    table: &str,
    id: i64,
    column: &str,
    stored: Option<String>,
) -> Option<String> {
    let stored = stored?;
    if !crate::secrets::is_sealed(&stored) {
        // Written before a key was configured (sealed at the next start-up with a key).
        return Some(stored);
    }
    let keys = keyring?;
    match keys.open(crate::secrets::Place { table, id, column }, &stored) {
        Ok(plain) => Some(plain),
        Err(error) => {
            tracing::warn!(
                table,
                id,
                column,
                "a stored reply capability does not open: {error}"
            );
            None
        }
    }
}

impl Tx {
    /// Seals `values` into `column` of the row `id` just inserted. Nothing to seal, nothing
    /// written; something to seal without a key is an error (the guard refuses such commands
    /// before anything is written, so this only guards against a path that forgot to).
    pub(super) async fn seal_after_insert(
        &mut self,
        column: Sealed,
        id: i64,
        values: &crate::secrets::SecretValues,
    ) -> anyhow::Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let keyring = self.keyring.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "secret argument values cannot be stored: WARDEN_ENCRYPTION_KEYS is not set"
            )
        })?;
        let place = crate::secrets::Place {
            table: column.table(),
            id,
            column: column.column(),
        };
        let sealed = keyring.seal(place, &values.to_json());
        self.set_sealed(column, id, &sealed).await
    }

    /// Stores `value` (already sealed) in `column` of row `id`.
    pub async fn set_sealed(&mut self, column: Sealed, id: i64, value: &str) -> anyhow::Result<()> {
        let sql = format!(
            "UPDATE {} SET {} = $1 WHERE id = $2",
            column.table(),
            column.column()
        );
        sqlx::query(&sql)
            .bind(value)
            .bind(id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// The sealed value of row `id`, if any.
    pub async fn sealed(&mut self, column: Sealed, id: i64) -> anyhow::Result<Option<String>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1",
            column.column(),
            column.table()
        );
        let value: Option<Option<String>> = sqlx::query_scalar(&sql)
            .bind(id)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(value.flatten())
    }

    /// Erases the sealed value of row `id`: nothing will need it again.
    pub async fn erase_sealed(&mut self, column: Sealed, id: i64) -> anyhow::Result<()> {
        let sql = format!(
            "UPDATE {} SET {} = NULL WHERE id = $1 AND {} IS NOT NULL",
            column.table(),
            column.column(),
            column.column()
        );
        sqlx::query(&sql).bind(id).execute(&mut *self.inner).await?;
        Ok(())
    }
}

/// A row whose arguments may still hold secret values in plaintext (written before secrets
/// were sealed): id, command, arguments JSON, status.
pub type LegacyRow = (i64, String, String, String);

impl Store {
    /// The rows of `column`'s table without a sealed value, for sealing what an older warden
    /// stored in plaintext.
    pub async fn unsealed_rows(&self, column: Sealed) -> anyhow::Result<Vec<LegacyRow>> {
        let sql = format!(
            "SELECT id, command, args, status FROM {} WHERE {} IS NULL ORDER BY id",
            column.table(),
            column.column()
        );
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    /// Seals the reply capabilities an older warden (or one without a key) stored in
    /// plaintext, when a key is configured now. Returns how many were sealed.
    pub async fn seal_plain_capabilities(&self) -> anyhow::Result<usize> {
        let Some(keyring) = self.keyring.clone() else {
            return Ok(0);
        };
        let mut sealed = 0;
        let jobs: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, reply_to FROM jobs WHERE reply_to IS NOT NULL AND reply_to NOT LIKE 'enc:v1:%'",
        )
        .fetch_all(&self.pool)
        .await?;
        let outbox: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, reply_to, fallback FROM outbox
             WHERE (reply_to IS NOT NULL AND reply_to NOT LIKE 'enc:v1:%')
                OR (fallback IS NOT NULL AND fallback NOT LIKE 'enc:v1:%')",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tx = self.begin().await?;
        for (id, handle) in jobs {
            let value = seal_capability(Some(&keyring), "jobs", id, "reply_to", &handle);
            sqlx::query("UPDATE jobs SET reply_to = $1 WHERE id = $2 AND reply_to = $3")
                .bind(value)
                .bind(id)
                .bind(&handle)
                .execute(&mut *tx.inner)
                .await?;
            sealed += 1;
        }
        for (id, reply_to, fallback) in outbox {
            let seal = |h: Option<String>| {
                h.map(|h| {
                    if crate::secrets::is_sealed(&h) {
                        h
                    } else {
                        seal_capability(Some(&keyring), "outbox", id, OUTBOX_HANDLE, &h)
                    }
                })
            };
            sqlx::query("UPDATE outbox SET reply_to = $1, fallback = $2 WHERE id = $3")
                .bind(seal(reply_to))
                .bind(seal(fallback))
                .bind(id)
                .execute(&mut *tx.inner)
                .await?;
            sealed += 1;
        }
        tx.commit().await?;
        Ok(sealed)
    }

    /// Every reply handle as stored (sealed or not), for checking what a copy of the database
    /// would hand out; never printed by warden itself.
    pub async fn stored_reply_handles(&self) -> anyhow::Result<Vec<String>> {
        let mut all: Vec<String> =
            sqlx::query_scalar("SELECT reply_to FROM jobs WHERE reply_to IS NOT NULL")
                .fetch_all(&self.pool)
                .await?;
        let outbox: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT reply_to, fallback FROM outbox WHERE reply_to IS NOT NULL OR fallback IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        for (reply_to, fallback) in outbox {
            all.extend(reply_to);
            all.extend(fallback);
        }
        Ok(all)
    }

    /// Replaces a row's arguments with `args` (secret values redacted) and, when given, stores
    /// the values sealed for it, in one transaction.
    pub async fn rewrite_args(
        &self,
        column: Sealed,
        id: i64,
        args: &str,
        sealed: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        let sql = format!("UPDATE {} SET args = $1 WHERE id = $2", column.table());
        sqlx::query(&sql)
            .bind(args)
            .bind(id)
            .execute(&mut *tx.inner)
            .await?;
        if let Some(sealed) = sealed {
            tx.set_sealed(column, id, sealed).await?;
        }
        tx.commit().await
    }

    /// Erases every sealed value nothing can need any more: of jobs in a final state, of
    /// decided or expired approval requests, and of confirmations that were settled or whose
    /// window closed before `now_ms` (a prompt nobody clicked). The paths that end these rows
    /// erase at once; this sweep catches the rest. Returns how many were erased.
    pub async fn erase_finished_secrets(&self, now_ms: i64) -> anyhow::Result<u64> {
        let mut tx = self.begin().await?;
        let mut erased = 0;
        for sql in [
            "UPDATE jobs SET secrets = NULL WHERE secrets IS NOT NULL
             AND status IN ('succeeded', 'failed', 'timed_out', 'cancelled')",
            "UPDATE approvals SET secrets = NULL WHERE secrets IS NOT NULL AND status <> 'pending'",
        ] {
            erased += sqlx::query(sql)
                .execute(&mut *tx.inner)
                .await?
                .rows_affected();
        }
        erased += sqlx::query(
            "UPDATE confirmations SET secrets = NULL WHERE secrets IS NOT NULL
             AND (status <> 'pending' OR expires_ms < $1)",
        )
        .bind(now_ms)
        .execute(&mut *tx.inner)
        .await?
        .rows_affected();
        // Reply capabilities outlive their use by an hour at most: a Slack response_url lasts
        // 30 minutes, a Discord interaction token 15.
        let hour_ago_ms = now_ms - CAPABILITY_LIFETIME_MS;
        let hour_ago = chrono::DateTime::from_timestamp_millis(hour_ago_ms)
            .map(super::jobs::ts)
            .unwrap_or_default();
        erased += sqlx::query(
            "UPDATE jobs SET reply_to = NULL WHERE reply_to IS NOT NULL AND created_at < $1",
        )
        .bind(hour_ago)
        .execute(&mut *tx.inner)
        .await?
        .rows_affected();
        erased += sqlx::query(
            "UPDATE outbox SET reply_to = NULL, fallback = NULL
             WHERE (reply_to IS NOT NULL OR fallback IS NOT NULL) AND created_ms < $1
             AND status NOT IN ('pending', 'sending')",
        )
        .bind(hour_ago_ms)
        .execute(&mut *tx.inner)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(erased)
    }

    /// Every stored sealed value of `column`, with its row id (for rotation and status).
    pub async fn sealed_values(&self, column: Sealed) -> anyhow::Result<Vec<(i64, String)>> {
        let sql = format!(
            "SELECT id, {} FROM {} WHERE {} IS NOT NULL ORDER BY id",
            column.column(),
            column.table(),
            column.column()
        );
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    /// The sealed value of row `id`, if any (outside a transaction).
    pub async fn sealed(&self, column: Sealed, id: i64) -> anyhow::Result<Option<String>> {
        let mut tx = self.begin().await?;
        let value = tx.sealed(column, id).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Replaces every value of `column` by `reseal(id, old)` in one transaction; returns how
    /// many changed. The closure returns `None` to leave a value as it is.
    pub async fn reseal(
        &self,
        column: Sealed,
        mut reseal: impl FnMut(i64, &str) -> Option<String>,
    ) -> anyhow::Result<usize> {
        let values = self.sealed_values(column).await?;
        let mut tx = self.begin().await?;
        let mut changed = 0;
        for (id, old) in values {
            let Some(new) = reseal(id, &old) else {
                continue;
            };
            // Compare-and-set: a value erased or replaced meanwhile is left alone, so rotation
            // never brings an erased secret back.
            let sql = format!(
                "UPDATE {} SET {} = $1 WHERE id = $2 AND {} = $3",
                column.table(),
                column.column(),
                column.column()
            );
            let done = sqlx::query(&sql)
                .bind(&new)
                .bind(id)
                .bind(&old)
                .execute(&mut *tx.inner)
                .await?
                .rows_affected();
            changed += done as usize;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
