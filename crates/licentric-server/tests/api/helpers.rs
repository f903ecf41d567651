//! `spawn_app()`: a fresh server and a fresh database for each test.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use licentric_core::ManualClock;
use licentric_server::{
    db, provision, AppState, Application, DemoData, ProvisionOptions, RunningServer,
};
use serde_json::Value;
use sqlx::SqlitePool;

/// When every test's clock starts.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub base_url: String,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    pub db: SqlitePool,
    pub demo: DemoData,
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("licentric.db");
    let db = db::connect(db_path.to_str().unwrap()).await.unwrap();
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
    let state = AppState {
        db: db.clone(),
        clock: Arc::new(clock.clone()),
    };
    let server = Application::with_state("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap()
        .spawn();
    TestApp {
        base_url: server.base_url(),
        http: reqwest::Client::new(),
        clock,
        db,
        demo: created.demo.unwrap(),
        _server: server,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// POSTs a JSON value to `/api/v1/licenses/validate-key`; returns status and body.
    pub async fn validate(&self, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url("/api/v1/licenses/validate-key"))
            .json(&body)
            .send()
            .await
            .unwrap();
        read(response).await
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

    pub async fn set_license_status(&self, status: &str) {
        sqlx::query("UPDATE licenses SET status = ? WHERE id = ?")
            .bind(status)
            .bind(&self.demo.license_id)
            .execute(&self.db)
            .await
            .unwrap();
    }
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
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
