//! `warden migrate --copy-from`: moving a SQLite deployment's whole history into a new,
//! empty PostgreSQL database.
//!
//! The copy is driven by the target's schema, not by a list in the code: every table of the
//! target's `public` schema (except sqlx's own `_sqlx_migrations`) is copied, and every value
//! travels as the type of the target column it goes into, read from `information_schema`.
//! A table added by a later migration is therefore copied without touching this file.
//!
//! Everything happens in one PostgreSQL transaction that holds the same advisory lock as every
//! other writer, so the copy is all or nothing and no replica writes in between. The source
//! is opened read-only and read in one SQLite read transaction, which sees one consistent
//! snapshot even if something were still writing to it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::TryStreamExt;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, Executor, Row};
use tokio::sync::Notify;

use super::{values_list, Backend, Store};

/// PostgreSQL refuses a statement with more bind parameters than this.
const MAX_PARAMETERS: usize = 65_535;

/// At most this many rows go into one INSERT: large enough that round trips do not dominate,
/// small enough that a batch of long job logs stays a few megabytes in memory.
const MAX_ROWS_PER_INSERT: usize = 1_000;

/// How many rows one table had in the source and has in the target after the copy. The copy
/// fails unless they are equal, so a report always shows equal numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    /// The table's name.
    pub table: String,
    /// Rows in the source's snapshot.
    pub source_rows: u64,
    /// Rows in the target, counted inside the copy's transaction.
    pub target_rows: u64,
}

/// The column types the PostgreSQL schema uses, and so the Rust types a value is read and
/// bound as. Binding by the target's type matters most for NULL, which PostgreSQL must
/// receive typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    BigInt,
    Double,
    Text,
    Bytea,
}

impl ColumnType {
    fn name(self) -> &'static str {
        match self {
            ColumnType::BigInt => "bigint",
            ColumnType::Double => "double precision",
            ColumnType::Text => "text",
            ColumnType::Bytea => "bytea",
        }
    }

    fn of(data_type: &str) -> Option<ColumnType> {
        match data_type {
            "bigint" => Some(ColumnType::BigInt),
            "double precision" => Some(ColumnType::Double),
            "text" => Some(ColumnType::Text),
            "bytea" => Some(ColumnType::Bytea),
            _ => None,
        }
    }
}

/// One value in transit, typed by its target column.
enum Value {
    BigInt(Option<i64>),
    Double(Option<f64>),
    Text(Option<String>),
    Bytea(Option<Vec<u8>>),
}

impl Value {
    fn read(row: &AnyRow, index: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
        Ok(match ty {
            ColumnType::BigInt => Value::BigInt(row.try_get(index)?),
            ColumnType::Double => Value::Double(row.try_get(index)?),
            ColumnType::Text => Value::Text(row.try_get(index)?),
            ColumnType::Bytea => Value::Bytea(row.try_get(index)?),
        })
    }
}

/// A target column.
struct Column {
    name: String,
    ty: ColumnType,
}

impl Store {
    /// Opens the SQLite database at `url` read-only, as the source of a copy. Unlike
    /// `connect`, it never creates the file: a mistyped path must be an error, not an empty
    /// database that looks as if it had no history.
    pub async fn open_copy_source(url: &str) -> anyhow::Result<Store> {
        if Backend::of_url(url)? != Backend::Sqlite {
            bail!("the source of a copy must be a SQLite database (sqlite://PATH)");
        }
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path.is_empty() || path.contains(":memory:") {
            bail!("the source of a copy must be a SQLite file, not `{url}`");
        }
        if !std::path::Path::new(path).is_file() {
            bail!("the source database `{path}` does not exist");
        }
        // Any `mode=` the operator gave is replaced: the source is only ever read.
        let kept: Vec<&str> = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty() && !p.starts_with("mode="))
            .chain(["mode=ro"])
            .collect();
        let read_only = format!("sqlite://{path}?{}", kept.join("&"));
        sqlx::any::install_default_drivers();
        // Not `connect`: its connections switch the file to WAL, which is a write. One
        // connection is all the copy uses, and `query_only` makes even a bug unable to write.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;")
                        .await?;
                    Ok(())
                })
            })
            .connect(&read_only)
            .await
            .with_context(|| format!("cannot open the source database `{path}`"))?;
        Ok(Store {
            keyring: None,
            pool,
            backend: Backend::Sqlite,
            sqlite_writer: None,
            // A read-only source commits nothing, so it keeps SQLite's automatic checkpoint.
            turn: super::writer_turn::WriterTurn::plain(),
            outbox_wake: Arc::new(Notify::new()),
        })
    }

    /// Copies every table of `source` (SQLite) into this store (PostgreSQL), preserving ids,
    /// in one transaction, and moves every identity sequence past the copied ids. Refuses
    /// unless both databases have applied the same migrations and every target table is
    /// empty. On any failure nothing is written, and the error names the table and the cause.
    pub async fn copy_from(&self, source: &Store) -> anyhow::Result<Vec<TableCopy>> {
        if self.backend != Backend::Postgres {
            bail!("the target of a copy must be a PostgreSQL database");
        }
        if source.backend != Backend::Sqlite {
            bail!("the source of a copy must be a SQLite database");
        }
        let mut snapshot = source
            .pool
            .begin()
            .await
            .context("opening a read transaction on the source")?;
        let mut tx = self.begin().await?;
        // Reading a large table from the source can leave this transaction idle for longer
        // than a request's transaction may be; warden is stopped, so nothing waits for it.
        sqlx::query("SET LOCAL idle_in_transaction_session_timeout = 0")
            .execute(&mut *tx.inner)
            .await
            .context("preparing the copy's transaction")?;
        let copied = copy_all(&mut snapshot, &mut tx.inner).await;
        // The source was only read: ending its transaction just releases the snapshot.
        let _ = snapshot.rollback().await;
        match copied {
            Ok(tables) => {
                tx.commit().await.context("committing the copy")?;
                Ok(tables)
            }
            Err(error) => {
                // The cause is the news. A rollback that fails (the connection is gone) has
                // aborted the transaction all the same.
                let _ = tx.inner.rollback().await;
                Err(error)
            }
        }
    }
}

/// The whole copy, inside the source snapshot `src` and the target transaction `dst`.
async fn copy_all(
    src: &mut AnyConnection,
    dst: &mut AnyConnection,
) -> anyhow::Result<Vec<TableCopy>> {
    check_migrations(src, dst).await?;
    let tables = target_tables(dst).await?;
    check_source_tables(src, &tables).await?;
    refuse_unless_empty(dst, &tables).await?;
    let mut report = Vec::with_capacity(tables.len());
    for table in &tables {
        let copied = copy_table(src, dst, table)
            .await
            .with_context(|| format!("copying table `{table}`"))?;
        report.push(copied);
    }
    // Sequences move last: `setval` is not undone by a rollback, so it runs only once every
    // row is in, leaving nothing behind when a table fails to copy.
    for table in &tables {
        move_sequences(src, dst, table)
            .await
            .with_context(|| format!("moving the id sequence of `{table}`"))?;
    }
    Ok(report)
}

/// The versions of the migrations a database has applied, in order.
async fn applied_migrations(conn: &mut AnyConnection) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(conn)
        .await
}

/// Refuses unless the source has applied exactly the migrations the target has: a source
/// behind would be missing columns the code needs, a source ahead was written by a newer
/// warden whose data this one may not carry over faithfully.
async fn check_migrations(src: &mut AnyConnection, dst: &mut AnyConnection) -> anyhow::Result<()> {
    let source = applied_migrations(src)
        .await
        .context("reading the source's migrations (is it a warden database?)")?;
    let target = applied_migrations(dst)
        .await
        .context("reading the target's migrations")?;
    let list = |v: Vec<&i64>| {
        v.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing: Vec<&i64> = target.iter().filter(|v| !source.contains(v)).collect();
    if !missing.is_empty() {
        bail!(
            "the source has not applied migration(s) {}: run `warden migrate` with \
             WARDEN_DATABASE_URL set to the source first, then copy again",
            list(missing)
        );
    }
    let unknown: Vec<&i64> = source.iter().filter(|v| !target.contains(v)).collect();
    if !unknown.is_empty() {
        bail!(
            "the source has applied migration(s) {} that this warden does not know: copy with \
             the warden version that wrote it",
            list(unknown)
        );
    }
    Ok(())
}

/// Every table of the target's `public` schema but sqlx's bookkeeping, by name. The casts
/// turn information_schema's `sql_identifier` into text, which the Any driver can decode.
async fn target_tables(dst: &mut AnyConnection) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .fetch_all(dst)
    .await
    .context("listing the target's tables")
}

/// Refuses unless both databases have the same tables: a table only the source has would be
/// left behind, and the history would not be whole.
async fn check_source_tables(src: &mut AnyConnection, tables: &[String]) -> anyhow::Result<()> {
    let source: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'
         ORDER BY name",
    )
    .fetch_all(src)
    .await
    .context("listing the source's tables")?;
    if let Some(table) = source.iter().find(|t| !tables.contains(t)) {
        bail!("the source has a table `{table}` that the target does not have");
    }
    if let Some(table) = tables.iter().find(|t| !source.contains(t)) {
        bail!("the source has no table `{table}`");
    }
    Ok(())
}

/// Refuses unless every target table is empty, so that a copy can never merge into or
/// overwrite live data. It runs under the write lock, so no writer can add a row after it.
async fn refuse_unless_empty(dst: &mut AnyConnection, tables: &[String]) -> anyhow::Result<()> {
    let mut filled = Vec::new();
    for table in tables {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(table));
        let any: bool = sqlx::query_scalar(&sql)
            .fetch_one(&mut *dst)
            .await
            .with_context(|| format!("reading the target table `{table}`"))?;
        if any {
            filled.push(table.as_str());
        }
    }
    if !filled.is_empty() {
        bail!(
            "the target database is not empty ({} already hold rows): --copy-from only copies \
             into a new, empty database, so that it never merges into or overwrites live data \
             (did a warden already start on it?)",
            filled.join(", ")
        );
    }
    Ok(())
}

/// The target's columns of `table`, in their order, with the type each value is copied as.
async fn target_columns(dst: &mut AnyConnection, table: &str) -> anyhow::Result<Vec<Column>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(dst)
    .await
    .context("reading the target's columns")?;
    rows.into_iter()
        .map(|(name, data_type)| match ColumnType::of(&data_type) {
            Some(ty) => Ok(Column { name, ty }),
            None => bail!(
                "the target column `{name}` has type {data_type}, which the copy does not know"
            ),
        })
        .collect()
}

/// Copies one table's rows in key order, in multi-row INSERTs, and checks the counts.
async fn copy_table(
    src: &mut AnyConnection,
    dst: &mut AnyConnection,
    table: &str,
) -> anyhow::Result<TableCopy> {
    let columns = target_columns(dst, table).await?;
    let (order, label) = source_order(src, table, &columns).await?;
    let source_rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(table)))
        .fetch_one(&mut *src)
        .await
        .context("counting the source's rows")?;
    let names = columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("SELECT {names} FROM {} ORDER BY {order}", quote(table));
    let batch_rows = (MAX_PARAMETERS / columns.len().max(1)).min(MAX_ROWS_PER_INSERT);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(batch_rows);
    let mut copied: u64 = 0;
    let mut rows = sqlx::query(&select).fetch(&mut *src);
    while let Some(row) = rows.try_next().await.context("reading the source")? {
        let mut values = Vec::with_capacity(columns.len());
        for (index, column) in columns.iter().enumerate() {
            let value = Value::read(&row, index, column.ty).map_err(|error| {
                // sqlx repeats its cause in its own message; the cause alone is the news.
                let cause = match error {
                    sqlx::Error::ColumnDecode { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                anyhow::anyhow!(
                    "row {} (ordered by {label}), column `{}` as {}: {cause}",
                    copied + batch.len() as u64 + 1,
                    column.name,
                    column.ty.name()
                )
            })?;
            values.push(value);
        }
        batch.push(values);
        if batch.len() == batch_rows {
            insert(dst, table, &names, columns.len(), &batch).await?;
            copied += batch.len() as u64;
            batch.clear();
        }
    }
    drop(rows);
    if !batch.is_empty() {
        insert(dst, table, &names, columns.len(), &batch).await?;
        copied += batch.len() as u64;
    }
    let target_rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(table)))
        .fetch_one(&mut *dst)
        .await
        .context("counting the target's rows")?;
    let source_rows = source_rows as u64;
    let target_rows = target_rows as u64;
    if copied != source_rows || target_rows != source_rows {
        bail!(
            "the source has {source_rows} rows, {copied} were copied, the target has {target_rows}"
        );
    }
    Ok(TableCopy {
        table: table.to_string(),
        source_rows,
        target_rows,
    })
}

/// The ORDER BY of the source read: the audit log by id (its chain order), every other table
/// by its primary key, or by rowid when it has none. Also checks that the source has exactly
/// the target's columns, so no value is dropped or invented. Returns the clause and the key
/// as people read it, for error messages.
async fn source_order(
    src: &mut AnyConnection,
    table: &str,
    columns: &[Column],
) -> anyhow::Result<(String, String)> {
    let info: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, pk FROM pragma_table_info($1) ORDER BY pk, cid")
            .bind(table)
            .fetch_all(src)
            .await
            .context("reading the source's columns")?;
    let source: HashSet<&str> = info.iter().map(|(name, _)| name.as_str()).collect();
    let target: HashSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    if let Some(missing) = columns.iter().find(|c| !source.contains(c.name.as_str())) {
        bail!("the source has no column `{}`", missing.name);
    }
    if let Some((extra, _)) = info
        .iter()
        .find(|(name, _)| !target.contains(name.as_str()))
    {
        bail!("the source has a column `{extra}` that the target does not have");
    }
    let key: Vec<&str> = if table == "audit_events" {
        vec!["id"]
    } else {
        info.iter()
            .filter(|(_, pk)| *pk > 0)
            .map(|(name, _)| name.as_str())
            .collect()
    };
    if key.is_empty() {
        return Ok(("rowid".to_string(), "rowid".to_string()));
    }
    let clause = key.iter().map(|k| quote(k)).collect::<Vec<_>>().join(", ");
    Ok((clause, key.join(", ")))
}

/// Inserts one batch with a `$n` placeholder per value, each bound as its column's type.
async fn insert(
    dst: &mut AnyConnection,
    table: &str,
    names: &str,
    width: usize,
    batch: &[Vec<Value>],
) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO {} ({names}) VALUES {}",
        quote(table),
        values_list(batch.len(), width)
    );
    let mut query = sqlx::query::<Any>(&sql);
    for row in batch {
        for value in row {
            query = match value {
                Value::BigInt(v) => query.bind(*v),
                Value::Double(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.as_deref()),
                Value::Bytea(v) => query.bind(v.as_deref()),
            };
        }
    }
    query
        .execute(dst)
        .await
        .context("writing rows to the target")?;
    Ok(())
}

/// Moves every identity sequence of `table` past both the largest copied id and SQLite's
/// AUTOINCREMENT counter (which is higher when the newest rows were purged), so that the next
/// row PostgreSQL generates never reuses an id the old deployment handed out.
async fn move_sequences(
    src: &mut AnyConnection,
    dst: &mut AnyConnection,
    table: &str,
) -> anyhow::Result<()> {
    let identities: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1 AND is_identity = 'YES'",
    )
    .bind(table)
    .fetch_all(&mut *dst)
    .await?;
    if identities.is_empty() {
        return Ok(());
    }
    // SQLite creates `sqlite_sequence` with the first AUTOINCREMENT table; it counts the
    // rowid, which is the `id` column of every such table.
    let has_counters: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
            .fetch_optional(&mut *src)
            .await?;
    let counter: Option<i64> = match has_counters {
        Some(_) => {
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = $1")
                .bind(table)
                .fetch_optional(&mut *src)
                .await?
        }
        None => None,
    };
    for column in identities {
        let max: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT MAX({}) FROM {}",
            quote(&column),
            quote(table)
        ))
        .fetch_one(&mut *dst)
        .await?;
        let next = max.unwrap_or(0).max(counter.unwrap_or(0)) + 1;
        sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3, false)")
            .bind(format!("public.{}", quote(table)))
            .bind(&column)
            .bind(next)
            .execute(&mut *dst)
            .await?;
    }
    Ok(())
}

/// A double-quoted SQL identifier (both databases read them the same way). The names come
/// from the target's catalog, so this is care rather than defence.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
