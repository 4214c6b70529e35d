//! The `alerts` and `alert_storms` tables (SPEC §15): one row per alert (tenant +
//! fingerprint), and the new-card count of each route's minute, read and written in the
//! transaction that takes a payload.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, Tx};

/// A stored alert.
#[derive(Debug, Clone)]
pub struct AlertRow {
    /// Shown as `AL-{id}`.
    pub id: i64,
    /// The tenant.
    pub tenant: String,
    /// The sender's fingerprint.
    pub fingerprint: String,
    /// The source it came from.
    pub source: String,
    /// The position of the route that took it.
    pub route: i64,
    /// Where its card is.
    pub channel: String,
    /// Its name.
    pub name: String,
    /// `firing` or `resolved`.
    pub status: String,
    /// The latest payload, as `alerts::Alert` JSON.
    pub alert: String,
    /// The card's actions, as `alerts::card::CardAction` JSON.
    pub actions: String,
    /// The storm it was folded into, if it has no card of its own.
    pub storm: Option<i64>,
    /// When it last started firing (Unix ms).
    pub fired_ms: i64,
    /// When it last resolved (Unix ms).
    pub resolved_ms: Option<i64>,
}

/// An alert about to be recorded.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The fingerprint.
    pub fingerprint: &'a str,
    /// The source.
    pub source: &'a str,
    /// The route's position.
    pub route: i64,
    /// Where its card goes.
    pub channel: &'a str,
    /// Its name.
    pub name: &'a str,
    /// `firing` or `resolved`.
    pub status: &'a str,
    /// The payload JSON.
    pub alert: &'a str,
    /// The actions JSON.
    pub actions: &'a str,
    /// The storm it is folded into.
    pub storm: Option<i64>,
    /// When it started firing (Unix ms).
    pub fired_ms: i64,
    /// When it resolved, if it arrived resolved.
    pub resolved_ms: Option<i64>,
}

/// One route's minute: how many cards it posted, how many alerts it folded, and its summary
/// card's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StormWindow {
    /// The row id (the summary card is `alert-storm:{id}`).
    pub id: i64,
    /// New cards posted in the minute.
    pub cards: i64,
    /// Alerts folded into the summary.
    pub folded: i64,
}

const COLUMNS: &str = "id, tenant, fingerprint, source, route, channel, name, status, alert, actions, storm, fired_ms, resolved_ms";

fn alert_row(row: &AnyRow) -> Result<AlertRow, sqlx::Error> {
    Ok(AlertRow {
        id: row.try_get("id")?,
        tenant: row.try_get("tenant")?,
        fingerprint: row.try_get("fingerprint")?,
        source: row.try_get("source")?,
        route: row.try_get("route")?,
        channel: row.try_get("channel")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        alert: row.try_get("alert")?,
        actions: row.try_get("actions")?,
        storm: row.try_get("storm")?,
        fired_ms: row.try_get("fired_ms")?,
        resolved_ms: row.try_get("resolved_ms")?,
    })
}

impl Store {
    /// One alert by id.
    pub async fn alert(&self, id: i64) -> anyhow::Result<Option<AlertRow>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM alerts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(alert_row).transpose()?)
    }

    /// The tenant's firing alerts, newest first, at most `limit`.
    pub async fn firing_alerts(&self, tenant: &str, limit: i64) -> anyhow::Result<Vec<AlertRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM alerts WHERE tenant = $1 AND status = 'firing' ORDER BY fired_ms DESC LIMIT $2"
        ))
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(alert_row).collect::<Result<_, _>>()?)
    }
}

impl Tx {
    /// The alert of a tenant with this fingerprint.
    pub async fn alert_by_fingerprint(
        &mut self,
        tenant: &str,
        fingerprint: &str,
    ) -> anyhow::Result<Option<AlertRow>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM alerts WHERE tenant = $1 AND fingerprint = $2"
        ))
        .bind(tenant)
        .bind(fingerprint)
        .fetch_optional(&mut *self.inner)
        .await?;
        Ok(row.as_ref().map(alert_row).transpose()?)
    }

    /// Records a new alert; returns its id.
    pub async fn insert_alert(&mut self, a: &NewAlert<'_>, now_ms: i64) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (tenant, fingerprint, source, route, channel, name, status, alert, actions, storm, fired_ms, resolved_ms, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
        )
        .bind(a.tenant)
        .bind(a.fingerprint)
        .bind(a.source)
        .bind(a.route)
        .bind(a.channel)
        .bind(a.name)
        .bind(a.status)
        .bind(a.alert)
        .bind(a.actions)
        .bind(a.storm)
        .bind(a.fired_ms)
        .bind(a.resolved_ms)
        .bind(now_ms)
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(id)
    }

    /// Records an alert's new state: its status, latest payload and actions, and when it
    /// started firing and resolved.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_alert(
        &mut self,
        id: i64,
        status: &str,
        alert: &str,
        actions: &str,
        fired_ms: i64,
        resolved_ms: Option<i64>,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE alerts SET status = $1, alert = $2, actions = $3, fired_ms = $4, resolved_ms = $5, updated_ms = $6 WHERE id = $7",
        )
        .bind(status)
        .bind(alert)
        .bind(actions)
        .bind(fired_ms)
        .bind(resolved_ms)
        .bind(now_ms)
        .bind(id)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    /// The route's window for `minute`, created empty when it is the minute's first alert.
    pub async fn storm_window(
        &mut self,
        tenant: &str,
        source: &str,
        route: i64,
        minute: i64,
        channel: &str,
    ) -> anyhow::Result<StormWindow> {
        sqlx::query(
            "INSERT INTO alert_storms (tenant, source, route, minute, cards, folded, channel)
             VALUES ($1, $2, $3, $4, 0, 0, $5) ON CONFLICT (tenant, source, route, minute) DO NOTHING",
        )
        .bind(tenant)
        .bind(source)
        .bind(route)
        .bind(minute)
        .bind(channel)
        .execute(&mut *self.inner)
        .await?;
        let row = sqlx::query(
            "SELECT id, cards, folded FROM alert_storms WHERE tenant = $1 AND source = $2 AND route = $3 AND minute = $4",
        )
        .bind(tenant)
        .bind(source)
        .bind(route)
        .bind(minute)
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(StormWindow {
            id: row.try_get("id")?,
            cards: row.try_get("cards")?,
            folded: row.try_get("folded")?,
        })
    }

    /// Stores a window's counts.
    pub async fn set_storm_window(&mut self, w: &StormWindow) -> anyhow::Result<()> {
        sqlx::query("UPDATE alert_storms SET cards = $1, folded = $2 WHERE id = $3")
            .bind(w.cards)
            .bind(w.folded)
            .bind(w.id)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// The alerts folded into a storm, by name: (name, firing, resolved), most first.
    pub async fn storm_counts(&mut self, storm: i64) -> anyhow::Result<Vec<(String, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT name,
                    SUM(CASE WHEN status = 'firing' THEN 1 ELSE 0 END) AS firing,
                    SUM(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END) AS resolved
             FROM alerts WHERE storm = $1 GROUP BY name ORDER BY COUNT(*) DESC, name",
        )
        .bind(storm)
        .fetch_all(&mut *self.inner)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>("name")?,
                    r.try_get::<i64, _>("firing")?,
                    r.try_get::<i64, _>("resolved")?,
                ))
            })
            .collect()
    }

    /// The minute a storm window counts, for its summary.
    pub async fn storm_minute_of(&mut self, storm: i64) -> anyhow::Result<Option<(i64, i64)>> {
        let row = sqlx::query("SELECT minute, route FROM alert_storms WHERE id = $1")
            .bind(storm)
            .fetch_optional(&mut *self.inner)
            .await?;
        Ok(match row {
            Some(r) => Some((r.try_get("minute")?, r.try_get("route")?)),
            None => None,
        })
    }
}
