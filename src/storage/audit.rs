//! The audit tables: appending to a tenant's chain inside a transaction, and reading events
//! back for verification, tailing and export.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;

use super::{Store, Tx};
use crate::audit::chain::{event_hash, ChainedFields, GENESIS};
use crate::audit::search::SearchFilter;
use crate::audit::{AuditEvent, ChainHead, NewEvent};

pub(super) const EVENT_COLUMNS: &str =
    "id, tenant, seq, at, actor, kind, target, channel, request_id, details, prev_hash, hash";

pub(super) fn event_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        kind: row.try_get("kind")?,
        target: row.try_get("target")?,
        channel: row.try_get("channel")?,
        request_id: row.try_get("request_id")?,
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// How many events go into one multi-row INSERT: 11 columns each, far below SQLite's limit of
/// 32766 bound variables.
const INSERT_CHUNK: usize = 200;

/// An event waiting in a transaction, with its time already fixed.
pub(super) struct PendingEvent {
    event: NewEvent,
    at: String,
}

/// An event's time as the chain hashes and stores it: RFC 3339, milliseconds, UTC.
pub(super) fn chain_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl PendingEvent {
    /// `event` at `at`, its time fixed as the chain hashes it (RFC 3339, milliseconds, UTC).
    pub(super) fn new(event: NewEvent, at: DateTime<Utc>) -> PendingEvent {
        PendingEvent {
            event,
            at: chain_time(at),
        }
    }
}

impl Tx {
    /// Appends an event to its tenant's chain as part of this transaction. The event is
    /// buffered and written, with every other event of the transaction, when it commits: one
    /// read of each chain head, one multi-row insert, one head update per tenant. The
    /// transaction holds the write lock, so no other writer can extend a chain in between.
    pub fn append_audit(&mut self, event: NewEvent, at: DateTime<Utc>) {
        self.pending_audit.push(PendingEvent::new(event, at));
    }

    /// Writes the buffered events, chained, and moves the chain heads. Called by `commit`.
    ///
    /// Every round trip here is time the write lock is held (on PostgreSQL, time every other
    /// replica's writer waits), so: one read of every head the events need, then the events
    /// in multi-row inserts; on PostgreSQL the last insert also moves the heads (a
    /// data-modifying `WITH`), on SQLite one upsert per tenant follows. A single-tenant
    /// batch thus costs two statements on PostgreSQL (it was four: head read, insert, head
    /// update, plus one read and one update per further tenant).
    pub(super) async fn flush_audit(&mut self) -> anyhow::Result<()> {
        if self.pending_audit.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending_audit);
        let mut heads = self.read_heads(&pending).await?;
        let mut rows: Vec<AuditEvent> = Vec::with_capacity(pending.len());
        for PendingEvent { event, at } in pending {
            let head = heads
                .entry(event.tenant.clone())
                .or_insert_with(|| (0, GENESIS.to_string()));
            rows.push(link(head, PendingEvent { event, at })?);
        }
        let postgres = self.backend == super::Backend::Postgres;
        let chunks = rows.len().div_ceil(INSERT_CHUNK);
        for (n, chunk) in rows.chunks(INSERT_CHUNK).enumerate() {
            let values = super::values_list(chunk.len(), 11);
            let columns = "tenant, seq, at, actor, kind, target, channel, request_id, details, prev_hash, hash";
            let with_heads = postgres && n + 1 == chunks;
            let sql = if with_heads {
                let first = chunk.len() * 11;
                let heads_values: Vec<String> = (0..heads.len())
                    .map(|h| {
                        let p = first + h * 3;
                        format!("(${}, ${}, ${})", p + 1, p + 2, p + 3)
                    })
                    .collect();
                format!(
                    "WITH events AS (INSERT INTO audit_events ({columns}) VALUES {values}) \
                     INSERT INTO audit_heads (tenant, seq, hash) VALUES {} \
                     ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                    heads_values.join(", ")
                )
            } else {
                format!("INSERT INTO audit_events ({columns}) VALUES {values}")
            };
            let mut insert = sqlx::query(&sql);
            for e in chunk {
                insert = insert
                    .bind(&e.tenant)
                    .bind(e.seq)
                    .bind(&e.at)
                    .bind(&e.actor)
                    .bind(&e.kind)
                    .bind(&e.target)
                    .bind(&e.channel)
                    .bind(&e.request_id)
                    .bind(&e.details)
                    .bind(&e.prev_hash)
                    .bind(&e.hash);
            }
            if with_heads {
                for (tenant, (seq, hash)) in &heads {
                    insert = insert.bind(tenant).bind(*seq).bind(hash);
                }
            }
            insert.execute(&mut *self.inner).await?;
        }
        if postgres {
            return Ok(());
        }
        for (tenant, (seq, hash)) in heads {
            sqlx::query(
                "INSERT INTO audit_heads (tenant, seq, hash) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            )
            .bind(&tenant)
            .bind(seq)
            .bind(&hash)
            .execute(&mut *self.inner)
            .await?;
        }
        Ok(())
    }

    /// The heads of every tenant `pending` names, in one read. A tenant without a head yet
    /// (its first event) is absent.
    async fn read_heads(
        &mut self,
        pending: &[PendingEvent],
    ) -> anyhow::Result<HashMap<String, (i64, String)>> {
        let mut tenants: Vec<&str> = pending.iter().map(|p| p.event.tenant.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let mut heads = HashMap::with_capacity(tenants.len());
        // Far below both databases' limits on bound values.
        for chunk in tenants.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT tenant, seq, hash FROM audit_heads WHERE tenant IN ({})",
                placeholders.join(", ")
            );
            let mut read = sqlx::query_as::<_, (String, i64, String)>(&sql);
            for tenant in chunk {
                read = read.bind(*tenant);
            }
            for (tenant, seq, hash) in read.fetch_all(&mut *self.inner).await? {
                heads.insert(tenant, (seq, hash));
            }
        }
        Ok(heads)
    }
}

/// Chains one event after `head` (the tenant's last sequence number and hash) and moves the
/// head to it. Both writers use it, the sqlx transaction and the SQLite writer thread, so an
/// event hashes the same whichever of them commits it.
pub(super) fn link(head: &mut (i64, String), pending: PendingEvent) -> anyhow::Result<AuditEvent> {
    let PendingEvent { event, at } = pending;
    let Linked {
        seq,
        details,
        prev_hash,
        hash,
    } = link_borrowed(head, &event, &at)?;
    Ok(AuditEvent {
        id: 0,
        tenant: event.tenant,
        seq,
        at,
        actor: event.actor,
        kind: event.kind,
        target: event.target,
        channel: event.channel,
        request_id: event.request_id,
        details,
        prev_hash,
        hash,
    })
}

/// What chaining adds to an event: its place in the chain, its details as stored, and the
/// hashes.
pub(super) struct Linked {
    pub seq: i64,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// [`link`] without taking the event: the SQLite writer thread binds the event's own fields
/// and keeps the records, so that a batch it must retry unit by unit needs no copies.
/// `at` is the time as the chain hashes it ([`chain_time`]).
pub(super) fn link_borrowed(
    head: &mut (i64, String),
    event: &NewEvent,
    at: &str,
) -> anyhow::Result<Linked> {
    let details = serde_json::to_string(&event.details)?;
    let seq = head.0 + 1;
    let hash = event_hash(
        &head.1,
        &ChainedFields {
            tenant: &event.tenant,
            seq,
            at,
            actor: &event.actor,
            kind: &event.kind,
            target: &event.target,
            channel: &event.channel,
            request_id: &event.request_id,
            details: &details,
        },
    );
    let prev_hash = std::mem::replace(&mut head.1, hash.clone());
    head.0 = seq;
    Ok(Linked {
        seq,
        details,
        prev_hash,
        hash,
    })
}

/// Filters for reading the audit log back.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this tenant's events.
    pub tenant: Option<String>,
    /// Only events of this kind.
    pub kind: Option<String>,
    /// At most this many events (the newest ones when set).
    pub last: Option<u32>,
    /// Only events by this actor.
    pub actor: Option<String>,
    /// Only events whose target is this, or whose details name it as `command`.
    pub target: Option<String>,
    /// Only events of this kind family: `job` or `job.` matches `job.*`, `job.failed` only
    /// itself.
    pub kind_prefix: Option<String>,
    /// Only events at or after this time, RFC 3339 UTC with milliseconds (as stored).
    pub since: Option<String>,
    /// Only events before this time, RFC 3339 UTC with milliseconds (as stored).
    pub until: Option<String>,
}

impl AuditQuery {
    /// The query a search filter runs.
    pub fn from_filter(filter: &SearchFilter) -> AuditQuery {
        let stored = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        AuditQuery {
            tenant: filter.tenant.clone(),
            kind: None,
            last: Some(filter.last),
            actor: filter.actor.clone(),
            target: filter.command.clone(),
            kind_prefix: filter.kind.clone(),
            since: filter.since.map(stored),
            until: filter.until.map(stored),
        }
    }
}

impl Store {
    /// Streams every event in id order into `visit`, without loading the log into memory.
    pub async fn for_each_audit_event(
        &self,
        tenant: Option<&str>,
        mut visit: impl FnMut(AuditEvent) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE ($1 IS NULL OR tenant = $1) ORDER BY id"
        );
        let mut rows = sqlx::query(&sql).bind(tenant).fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            visit(event_from_row(&row)?)?;
        }
        Ok(())
    }

    /// The newest events matching `query`, oldest first.
    pub async fn audit_events(&self, query: &AuditQuery) -> anyhow::Result<Vec<AuditEvent>> {
        let command_of_details = match self.backend {
            super::Backend::Sqlite => "json_extract(details, '$.command')",
            super::Backend::Postgres => "(details::jsonb ->> 'command')",
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events
             WHERE ($1 IS NULL OR tenant = $1) AND ($2 IS NULL OR kind = $2)
               AND ($4 IS NULL OR actor = $4)
               AND ($5 IS NULL OR target = $5 OR {command_of_details} = $5)
               AND ($6 IS NULL OR kind = $6 OR substr(kind, 1, length($7)) = $7)
               AND ($8 IS NULL OR at >= $8) AND ($9 IS NULL OR at < $9)
             ORDER BY id DESC LIMIT $3"
        );
        // `job` and `job.` both mean the family `job.*`.
        let family = query
            .kind_prefix
            .as_deref()
            .map(|k| format!("{}.", k.trim_end_matches('.')));
        let rows = sqlx::query(&sql)
            .bind(query.tenant.as_deref())
            .bind(query.kind.as_deref())
            .bind(i64::from(query.last.unwrap_or(u32::MAX)))
            .bind(query.actor.as_deref())
            .bind(query.target.as_deref())
            .bind(query.kind_prefix.as_deref())
            .bind(family)
            .bind(query.since.as_deref())
            .bind(query.until.as_deref())
            .fetch_all(&self.pool)
            .await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// The newest `filter.last` events matching a search, oldest first.
    pub async fn search_audit(&self, filter: &SearchFilter) -> anyhow::Result<Vec<AuditEvent>> {
        self.audit_events(&AuditQuery::from_filter(filter)).await
    }

    /// The audit trail of one job: the events about it, and those of the request that created
    /// it, oldest first.
    pub async fn job_audit(
        &self,
        tenant: &str,
        job: &str,
        request_id: &str,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events
             WHERE tenant = $1 AND (target = $2 OR (request_id = $3 AND request_id != ''))
             ORDER BY id LIMIT 1000"
        );
        let rows = sqlx::query(&sql)
            .bind(tenant)
            .bind(job)
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Every tenant's chain head.
    pub async fn audit_heads(&self) -> anyhow::Result<Vec<ChainHead>> {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT tenant, seq, hash FROM audit_heads ORDER BY tenant")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(tenant, seq, hash)| ChainHead { tenant, seq, hash })
            .collect())
    }

    /// Walks every tenant's chain from its first event to its recorded head, streaming (the
    /// log is never held in memory). `Ok(Ok(n))`: `n` events, every chain intact;
    /// `Ok(Err(broken))`: the first broken event. This is `warden audit verify`.
    pub async fn verify_audit(&self) -> anyhow::Result<Result<u64, crate::audit::verify::Broken>> {
        let mut verifier = crate::audit::verify::Verifier::default();
        let mut broken = None;
        self.for_each_audit_event(None, |event| {
            if broken.is_none() {
                broken = verifier.push(&event).err();
            }
            Ok(())
        })
        .await?;
        Ok(match broken {
            Some(broken) => Err(broken),
            None => verifier.finish(&self.audit_heads().await?),
        })
    }

    /// Runs a raw statement. Only tests use it, to tamper with the log the way an attacker with
    /// file access would.
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> anyhow::Result<u64> {
        Ok(sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
