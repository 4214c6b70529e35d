//! Which database the integration tests run on. By default every test gets a SQLite file in
//! its temporary directory. When `WARDEN_TEST_DATABASE_URL` names a PostgreSQL server
//! (`.ci/run` starts a throwaway one), every test gets a fresh database on it instead, so the
//! whole suite runs unchanged against both backends.
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The variable that switches the suite to PostgreSQL: an administrator's URL, e.g.
/// `postgres://warden@127.0.0.1:55432/postgres`.
pub const POSTGRES_ENV: &str = "WARDEN_TEST_DATABASE_URL";

/// The PostgreSQL server the suite runs against, if any.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())
}

/// True when the suite runs against PostgreSQL.
pub fn on_postgres() -> bool {
    postgres_admin_url().is_some()
}

/// The database URL for a test whose SQLite file would be `path`. On PostgreSQL the same path
/// always gives the same database within one test process, so a restart or a CLI run against
/// `path` sees the same data.
pub fn database_url(path: &Path) -> String {
    match postgres_admin_url() {
        Some(admin) => postgres_database(&admin, path),
        None => format!("sqlite://{}", path.display()),
    }
}

/// `DROP TRIGGER name` in the dialect of the test database (PostgreSQL names the table).
pub fn drop_trigger(name: &str) -> String {
    if on_postgres() {
        format!("DROP TRIGGER {name} ON audit_events")
    } else {
        format!("DROP TRIGGER {name}")
    }
}

/// SQL that installs a trigger refusing every audit event whose target contains `poison`,
/// with PostgreSQL's error for a NUL byte in text (`22021`) or SQLite's trigger abort: a row
/// the database cannot store, for tests that one such request fails alone.
pub fn poison_trigger_sql() -> &'static str {
    if on_postgres() {
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.target LIKE '%poison%' THEN \
         RAISE EXCEPTION 'invalid byte sequence (test poison)' USING ERRCODE = '22021'; \
         END IF; RETURN NEW; END $$; \
         CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_events \
         FOR EACH ROW EXECUTE FUNCTION refuse_poison();"
    } else {
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_events \
         WHEN NEW.target LIKE '%poison%' \
         BEGIN SELECT RAISE(ABORT, 'test poison'); END;"
    }
}

/// Creates (once) the database for `path` and returns its URL.
fn postgres_database(admin: &str, path: &Path) -> String {
    // A per-process salt, so that a temporary path reused by a later run of the suite on the
    // same server never finds an earlier run's data.
    static SALT: OnceLock<String> = OnceLock::new();
    let salt = SALT.get_or_init(|| {
        format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        )
    });
    let digest = Sha256::digest(format!("{salt}:{}", path.display()));
    let name = format!("warden_t_{}", hex::encode(&digest[..10]));
    let (server, _) = admin
        .rsplit_once('/')
        .expect("WARDEN_TEST_DATABASE_URL ends in /DATABASE");
    let url = format!("{server}/{name}");
    let admin = admin.to_string();
    // The harness is called from sync and async code alike; a thread with its own runtime
    // works from both.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(create_database(&admin, &name))
    })
    .join()
    .expect("creating the test database");
    url
}

async fn create_database(admin: &str, name: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(admin)
        .await
        .expect("WARDEN_TEST_DATABASE_URL: cannot connect");
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let mut sweep = false;
    SWEPT.call_once(|| sweep = true);
    if sweep {
        drop_databases_of_ended_runs(&mut conn).await;
    }
    for attempt in 0.. {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_optional(&mut conn)
                .await
                .unwrap();
        if exists.is_some() {
            break;
        }
        match sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => {
                // The owner's process id, so that a later run can drop this database once
                // this process has ended (see `drop_databases_of_ended_runs`).
                let comment = format!(
                    "COMMENT ON DATABASE {name} IS '{}{}'",
                    owner_prefix(),
                    std::process::id()
                );
                sqlx::query(&comment).execute(&mut conn).await.unwrap();
                break;
            }
            // Two tests creating databases at the same instant can collide on the template
            // database; the second simply tries again.
            Err(e) if attempt < 20 => {
                eprintln!("CREATE DATABASE {name}: {e}; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("CREATE DATABASE {name}: {e}"),
        }
    }
    conn.close().await.ok();
}

/// The start of a test database's comment, before its owner's process id: the machine's
/// name, since only this machine's processes can be looked up.
fn owner_prefix() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .collect();
    format!("warden test on {host} pid ")
}

/// Drops the test databases whose test process has ended, so that running the suite again
/// and again against a developer's server does not fill its disk (CI throws the whole
/// server away). A database without the owner's comment (from before it was added) or
/// whose owner still runs (another test binary of this run, or a suite running beside
/// this one) is left alone; a failed drop is only reported, since it cannot affect this run.
async fn drop_databases_of_ended_runs(conn: &mut sqlx::postgres::PgConnection) {
    let owned: Vec<(String, String)> = match sqlx::query_as(
        "SELECT d.datname, shobj_description(d.oid, 'pg_database') FROM pg_database d \
         WHERE d.datname LIKE 'warden\\_t\\_%' \
         AND shobj_description(d.oid, 'pg_database') LIKE 'warden test on %'",
    )
    .fetch_all(&mut *conn)
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("listing old test databases: {e}");
            return;
        }
    };
    let prefix = owner_prefix();
    for (name, comment) in owned {
        // Only this machine's processes can be looked up in its /proc.
        let Some(pid) = comment.strip_prefix(&prefix) else {
            continue;
        };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        if let Err(e) = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut *conn)
            .await
        {
            eprintln!("dropping old test database {name}: {e}");
        }
    }
}
