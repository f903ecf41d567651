//! `spawn_app()`: a fresh server and a fresh database for each test, and a small client.

use std::{
    collections::HashMap,
    io,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{http::HeaderMap, routing::post, Router};
use chrono::{DateTime, Utc};
use licentric_core::{Environment, ManualClock, PublicKeySet};
use licentric_server::{
    db,
    delivery::DeliveryConfig,
    provision,
    tenant::Tenant,
    webhook_target::{Lookup, LookupFuture, PrivateTargets, SystemLookup},
    AppState, Application, DemoData, ProvisionOptions, RunningServer, Settings,
};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{postgres::PgConnectOptions, Executor, PgPool, SqlitePool};

/// When every test's clock starts.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Settings for tests: webhooks are polled quickly and retried on a short schedule that the
/// manual clock steps through, and may go to loopback, where the tests' receivers listen.
/// Tests of the refusal use [`refusing_settings`].
pub fn test_settings() -> Settings {
    Settings {
        deliveries: DeliveryConfig {
            poll_interval: Duration::from_millis(20),
            retry_schedule: vec![Duration::from_secs(60), Duration::from_secs(600)],
            timeout: Duration::from_secs(2),
            private_targets: PrivateTargets::Loopback,
            ..DeliveryConfig::default()
        },
        ..Settings::default()
    }
}

/// [`test_settings`] with the server's default for webhook targets: public addresses only.
pub fn refusing_settings() -> Settings {
    let mut settings = test_settings();
    settings.deliveries.private_targets = PrivateTargets::default();
    settings
}

/// Which credential a request carries.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    License(&'a str),
}

/// Whether the API tests run on PostgreSQL: `LICENTRIC_TEST_DATABASE=postgres`, inside
/// `pg_virtualenv` (which sets PGHOST, PGPORT, PGUSER, PGPASSWORD for a superuser).
pub fn on_postgres() -> bool {
    std::env::var("LICENTRIC_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// What `/health` names the database the tests run on.
pub fn database_kind() -> &'static str {
    if on_postgres() {
        "postgresql"
    } else {
        "sqlite"
    }
}

const PG_PASSWORD: &str = "licentric-test";
const PG_OWNER: &str = "licentric_test_owner";
const PG_APP: &str = "licentric_test_app";
const PG_TEMPLATE: &str = "licentric_test_template";

/// Creating databases from the template is one at a time (PostgreSQL refuses to copy a
/// template someone is connected to, and the first test migrates it).
static PG_SETUP: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// A fresh PostgreSQL database for one test server: a copy of a template migrated once by
/// the owner role, served by a login member of `licentric_runtime` (never the owner, so
/// row-level security holds as in production). Returns the runtime role's pool.
pub async fn fresh_postgres() -> PgPool {
    let admin_options = PgConnectOptions::new();
    let admin = PgPool::connect_with(admin_options.clone()).await.expect(
        "LICENTRIC_TEST_DATABASE=postgres needs a PostgreSQL server: run inside pg_virtualenv",
    );
    let url = |user: &str, database: &str| {
        format!(
            "postgres://{user}:{PG_PASSWORD}@{}:{}/{database}",
            admin_options.get_host(),
            admin_options.get_port()
        )
    };
    let name = format!("lt_api_{}", uuid::Uuid::new_v4().simple());
    {
        let mut ready = PG_SETUP.lock().await;
        if !*ready {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(PG_TEMPLATE)
                    .fetch_one(&admin)
                    .await
                    .unwrap();
            if !exists {
                for statement in [
                    format!("CREATE ROLE {PG_OWNER} LOGIN CREATEROLE PASSWORD '{PG_PASSWORD}'"),
                    format!("CREATE ROLE {PG_APP} LOGIN PASSWORD '{PG_PASSWORD}'"),
                    format!("CREATE DATABASE {PG_TEMPLATE} OWNER {PG_OWNER} TEMPLATE template0"),
                ] {
                    admin.execute(statement.as_str()).await.unwrap();
                }
                let owner = db::postgres::connect(
                    &url(PG_OWNER, PG_TEMPLATE),
                    &db::postgres::PoolSettings::default(),
                )
                .await
                .unwrap();
                db::postgres::migrate(&owner).await.unwrap();
                owner.close().await;
                admin
                    .execute(format!("GRANT {} TO {PG_APP}", db::postgres::RUNTIME_ROLE).as_str())
                    .await
                    .unwrap();
            }
            *ready = true;
        }
        admin
            .execute(
                format!("CREATE DATABASE {name} OWNER {PG_OWNER} TEMPLATE {PG_TEMPLATE}").as_str(),
            )
            .await
            .unwrap();
    }
    admin.close().await;
    let settings = db::postgres::PoolSettings {
        max_connections: 4,
        ..db::postgres::PoolSettings::default()
    };
    let pool = db::postgres::connect(&url(PG_APP, &name), &settings)
        .await
        .unwrap();
    db::postgres::check_runtime_role(&pool).await.unwrap();
    pool
}

pub struct TestApp {
    pub base_url: String,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    /// The server's database (SQLite's file or a fresh PostgreSQL database).
    pub database: db::Db,
    pub demo: DemoData,
    /// The demo account.
    pub account_id: String,
    /// The demo account's live key with every scope.
    pub api_key: String,
    /// The demo account's test key with every scope.
    pub test_api_key: String,
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_with_dns(settings, Arc::new(SystemLookup)).await
}

/// A server whose webhook host names are resolved by `dns`.
pub async fn spawn_app_with_dns(settings: Settings, dns: Arc<dyn Lookup>) -> TestApp {
    // A 500's cause is logged, never sent: show it in the failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("licentric_server=warn")
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let db: db::Db = if on_postgres() {
        fresh_postgres().await.into()
    } else {
        let db_path = dir.path().join("licentric.db");
        db::connect(db_path.to_str().unwrap()).await.unwrap().into()
    };
    let clock = ManualClock::new(start_time());
    let created = provision(
        &db,
        &ProvisionOptions {
            account_name: "Test account".into(),
            demo: true,
        },
        start_time(),
    )
    .await
    .unwrap();
    let mut state = AppState::with_settings(db.clone(), Arc::new(clock.clone()), settings);
    state.dns = dns;
    let server = Application::with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap()
        .spawn();
    TestApp {
        base_url: server.base_url(),
        http: reqwest::Client::new(),
        clock,
        database: db,
        demo: created.demo.unwrap(),
        account_id: created.account_id,
        api_key: created.api_key,
        test_api_key: created.test_api_key,
        _server: server,
        _dir: dir,
    }
}

impl TestApp {
    /// The SQLite pool, for tests that read or write the file behind the server's back;
    /// such a test runs on SQLite only (it fails, by this panic, on PostgreSQL).
    pub fn db(&self) -> SqlitePool {
        match &self.database {
            db::Db::Sqlite(pool) => pool.clone(),
            db::Db::Postgres(_) => panic!("this test reads or writes SQLite directly"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a request; returns the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        request = match auth {
            Auth::None => request,
            Auth::Bearer(key) => request.header("authorization", format!("Bearer {key}")),
            Auth::License(key) => request.header("authorization", format!("License {key}")),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    /// A call with the demo account's all-scopes live key.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, path, Auth::Bearer(&self.api_key), body)
            .await
    }

    /// POSTs a JSON value to `/api/v1/licenses/validate-key`; returns status and body.
    pub async fn validate(&self, body: Value) -> (u16, Value) {
        self.call(
            Method::POST,
            "/api/v1/licenses/validate-key",
            Auth::None,
            Some(body),
        )
        .await
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut request = self.http.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        read(request.send().await.unwrap()).await
    }

    /// Creates something with the admin key, asserting 201; returns the body.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (status, created) = self.admin(Method::POST, path, Some(body.clone())).await;
        assert_eq!(status, 201, "POST {path} {body} -> {created}");
        created
    }

    /// A product, a policy with `policy` fields, and a license of it; returns the license.
    pub async fn license_with_policy(&self, policy: Value) -> Value {
        let product = self
            .create(
                "/api/v1/products",
                json!({ "name": "Pro App", "keyPrefix": "PROAPP" }),
            )
            .await;
        let mut body = json!({ "productId": product["id"], "name": "Policy" });
        body.as_object_mut()
            .unwrap()
            .extend(policy.as_object().unwrap().clone());
        let policy = self.create("/api/v1/policies", body).await;
        self.create("/api/v1/licenses", json!({ "policyId": policy["id"] }))
            .await
    }

    /// Activates `fingerprint` on the license with this key; returns status and body.
    pub async fn activate(&self, key: &str, fingerprint: &str) -> (u16, Value) {
        self.call(
            Method::POST,
            "/api/v1/machines",
            Auth::License(key),
            Some(json!({ "fingerprint": fingerprint, "name": format!("Machine {fingerprint}"), "platform": "linux" })),
        )
        .await
    }

    /// Another account on the same server: its live API key.
    pub async fn other_account(&self) -> (String, DemoData) {
        let created = provision(
            &self.database,
            &ProvisionOptions {
                account_name: "Other".into(),
                demo: true,
            },
            start_time(),
        )
        .await
        .unwrap();
        (created.api_key, created.demo.unwrap())
    }

    /// The account's JWKS fetched over HTTP, with no credentials (`query` e.g.
    /// `?environment=test`), as the key set a client would pin.
    pub async fn key_set(&self, account_id: &str, query: &str) -> PublicKeySet {
        let (status, jwks) = self
            .call(
                Method::GET,
                &format!("/api/v1/accounts/{account_id}/jwks.json{query}"),
                Auth::None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{jwks}");
        serde_json::from_value(jwks).unwrap()
    }

    /// The server's current (manual) time.
    pub fn clock_now(&self) -> DateTime<Utc> {
        licentric_core::Clock::now(&self.clock)
    }

    /// Sets the demo license's status behind the server's back (any status, even one no
    /// route would give it from where it is).
    pub async fn set_license_status(&self, status: &str) {
        let changed = self
            .execute(
                "UPDATE licenses SET status = ? WHERE id = ?",
                &[status.into(), self.demo.license_id.as_str().into()],
            )
            .await;
        assert_eq!(changed, 1);
    }

    /// The demo account's live tenant.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            account_id: self.account_id.clone(),
            environment: Environment::Live,
        }
    }

    /// Runs one statement on the server's database behind its back, on whichever database
    /// the test server uses: on SQLite on the file; on PostgreSQL as the server's runtime
    /// role in a transaction set for the demo account's live tenant (row-level security
    /// lets nothing else through). Placeholders are `?` (numbered `$1`… for PostgreSQL).
    /// Returns the rows affected.
    pub async fn execute(&self, sql: &str, params: &[Param]) -> u64 {
        self.execute_as(&self.tenant(), sql, params).await
    }

    /// [`Self::execute`] in `tenant`'s transaction on PostgreSQL.
    pub async fn execute_as(&self, tenant: &Tenant, sql: &str, params: &[Param]) -> u64 {
        match &self.database {
            db::Db::Sqlite(pool) => bind_sqlite(sqlx::query(sql), params)
                .execute(pool)
                .await
                .unwrap()
                .rows_affected(),
            db::Db::Postgres(pool) => {
                let sql = numbered(sql);
                let mut tx = db::postgres::begin_for(pool, tenant).await.unwrap();
                let done = bind_postgres(sqlx::query(&sql), params)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                done.rows_affected()
            }
        }
    }

    /// The one integer a query answers (e.g. `SELECT count(*) …`), read as
    /// [`Self::execute`] writes.
    pub async fn scalar(&self, sql: &str, params: &[Param]) -> i64 {
        match &self.database {
            db::Db::Sqlite(pool) => {
                let row = bind_sqlite(sqlx::query(sql), params)
                    .fetch_one(pool)
                    .await
                    .unwrap();
                sqlx::Row::get(&row, 0)
            }
            db::Db::Postgres(pool) => {
                let sql = numbered(sql);
                let mut tx = db::postgres::begin_for(pool, &self.tenant()).await.unwrap();
                let row = bind_postgres(sqlx::query(&sql), params)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                sqlx::Row::get(&row, 0)
            }
        }
    }
}

impl TestApp {
    /// The rows `sql` finds in the whole database, of every tenant and of none (e.g. a
    /// client address's audit events), each column as text (`CAST(… AS TEXT)` where it
    /// is not). On PostgreSQL no request's transaction sees across tenants (row-level
    /// security): a superuser of the cluster reads them, on the test server's database.
    pub async fn all_rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.all_rows_with(sql, &[]).await
    }

    /// [`Self::all_rows`] with `params` bound to its `?` placeholders.
    pub async fn all_rows_with(&self, sql: &str, params: &[Param]) -> Vec<Vec<Option<String>>> {
        use sqlx::Row;
        match &self.database {
            db::Db::Sqlite(pool) => bind_sqlite(sqlx::query(sql), params)
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|row| (0..row.len()).map(|i| row.get(i)).collect())
                .collect(),
            db::Db::Postgres(_) => {
                let superuser = self.superuser().await;
                let sql = numbered(sql);
                let rows = bind_postgres(sqlx::query(&sql), params)
                    .fetch_all(&superuser)
                    .await
                    .unwrap();
                superuser.close().await;
                rows.iter()
                    .map(|row| (0..row.len()).map(|i| row.get(i)).collect())
                    .collect()
            }
        }
    }

    /// Runs statements (e.g. a trigger's definition) on the server's database as its
    /// owner would, behind the server's back: on SQLite on the file, on PostgreSQL as a
    /// superuser of the cluster.
    pub async fn execute_as_owner(&self, sql: &str) {
        match &self.database {
            db::Db::Sqlite(pool) => {
                sqlx::raw_sql(sql).execute(pool).await.unwrap();
            }
            db::Db::Postgres(_) => {
                let superuser = self.superuser().await;
                sqlx::raw_sql(sql).execute(&superuser).await.unwrap();
                superuser.close().await;
            }
        }
    }

    /// A superuser's pool on the test server's PostgreSQL database (pg_virtualenv's PG*
    /// settings).
    async fn superuser(&self) -> PgPool {
        let db::Db::Postgres(pool) = &self.database else {
            panic!("only PostgreSQL has a superuser");
        };
        let database = pool.connect_options().get_database().unwrap().to_owned();
        PgPool::connect_with(PgConnectOptions::new().database(&database))
            .await
            .unwrap()
    }
}

/// A value bound to a statement of [`TestApp::execute`] or [`TestApp::scalar`].
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

impl From<&str> for Param {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Param {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<i64> for Param {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}

impl From<DateTime<Utc>> for Param {
    fn from(at: DateTime<Utc>) -> Self {
        Self::Time(at)
    }
}

/// `?` placeholders numbered as PostgreSQL's `$1`, `$2`….
fn numbered(sql: &str) -> String {
    let mut n = 0;
    sql.chars()
        .map(|c| {
            if c == '?' {
                n += 1;
                format!("${n}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind_sqlite<'q>(mut query: SqliteQuery<'q>, params: &[Param]) -> SqliteQuery<'q> {
    for param in params {
        query = match param.clone() {
            Param::Text(text) => query.bind(text),
            Param::Int(n) => query.bind(n),
            Param::Time(at) => query.bind(at),
        };
    }
    query
}

fn bind_postgres<'q>(mut query: PgQuery<'q>, params: &[Param]) -> PgQuery<'q> {
    for param in params {
        query = match param.clone() {
            Param::Text(text) => query.bind(text),
            Param::Int(n) => query.bind(n),
            Param::Time(at) => query.bind(at),
        };
    }
    query
}

/// A CSV export (`path` with its query) with `key`: the status and the body; a 200 must
/// say it is CSV.
pub async fn csv_export(app: &TestApp, key: &str, path: &str) -> (u16, String) {
    let response = app
        .http
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
    }
    (status, response.text().await.unwrap())
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("HTTP {status}: body is not JSON ({e}): {text:?}"));
    (status, body)
}

/// Asserts the error envelope of every non-2xx answer and returns its code.
pub fn error_code(status: u16, body: &Value, expected_status: u16) -> String {
    assert_eq!(status, expected_status, "{body}");
    let error = body
        .get("error")
        .unwrap_or_else(|| panic!("no error envelope: {body}"));
    let message = error["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "error without a message: {body}");
    error["code"].as_str().unwrap().to_owned()
}

/// A webhook endpoint on loopback that records what it receives and answers with the
/// statuses it is given, in order (then 200).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    pub async fn start(statuses: Vec<u16>) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(statuses));
        let (r, s) = (received.clone(), statuses.clone());
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: String| {
                let (r, s) = (r.clone(), s.clone());
                async move {
                    r.lock().unwrap().push((headers, body));
                    let mut s = s.lock().unwrap();
                    let status = if s.is_empty() { 200 } else { s.remove(0) };
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, received }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Waits until `n` requests have arrived (bounded: 15 s, for a test suite of 140
    /// servers sharing two busy cores; it returns as soon as they are in).
    pub async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String)> {
        for _ in 0..750 {
            if self.count() >= n {
                return self.received.lock().unwrap().clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} deliveries, got {}", self.count());
    }
}

/// A resolver whose answers the test sets, and may change (as a rebinding attacker's DNS
/// server would); a name without an answer does not resolve.
#[derive(Debug, Default)]
pub struct FakeDns(Mutex<HashMap<String, Vec<IpAddr>>>);

impl FakeDns {
    /// From now on `name` resolves to `addresses`.
    pub fn answer(&self, name: &str, addresses: &[&str]) {
        self.0.lock().unwrap().insert(
            name.to_owned(),
            addresses.iter().map(|a| a.parse().unwrap()).collect(),
        );
    }
}

impl Lookup for FakeDns {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a> {
        let answer = self.0.lock().unwrap().get(host).cloned();
        Box::pin(async move {
            answer.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such name"))
        })
    }
}
