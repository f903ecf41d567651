//! The end user's license: its status, activation, machine slots and deactivation.
//! Every call goes through the SDK's `LicenseClient`; the key stays in the OS keyring.

use chrono::{DateTime, Utc};
use licentric_client::{LicenseError, LicenseInfo, LicenseKey};
use licentric_core::wire::{HeartbeatStatus, LicenseOverview, Platform};
use serde::Serialize;
use tauri::State;

use crate::{
    error::Error,
    state::{AppState, Connection},
};

/// What the License view shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct LicenseView {
    /// Whether the application may run (including degraded).
    pub licensed: bool,
    /// Why not (or the degraded warning).
    pub error: Option<LicenseError>,
    /// What is known about the license.
    pub info: Option<LicenseInfo>,
    /// The machine slots, when the server could be asked.
    pub slots: Option<Slots>,
    /// Whether this app is sending the heartbeats the license's policy requires.
    pub heartbeats: bool,
    /// When this was checked, by the app's clock: what "in 3 days" is counted from.
    pub checked_at: DateTime<Utc>,
}

/// A license's machine slots.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct Slots {
    /// Slots in use.
    pub used: u32,
    /// Slots in all; `null` for unlimited.
    pub max: Option<u32>,
    /// The machines, oldest first.
    pub machines: Vec<SlotMachine>,
}

/// One machine in a slot.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct SlotMachine {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its platform.
    pub platform: Option<Platform>,
    /// Whether it checks in as required.
    pub heartbeat_status: HeartbeatStatus,
    /// Its last heartbeat.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// When it was activated.
    pub activated_at: DateTime<Utc>,
    /// Whether it is the machine this app runs on.
    pub this_machine: bool,
}

fn slots(overview: LicenseOverview, fingerprint: Option<&str>) -> Slots {
    Slots {
        used: overview.machines_used,
        max: overview.max_machines,
        machines: overview
            .machines
            .into_iter()
            .map(|m| SlotMachine {
                this_machine: Some(m.fingerprint.as_str()) == fingerprint,
                id: m.id,
                name: m.name,
                platform: m.platform,
                heartbeat_status: m.heartbeat_status,
                last_heartbeat_at: m.last_heartbeat_at,
                activated_at: m.created_at,
            })
            .collect(),
    }
}

pub(crate) async fn view(state: &AppState, connection: &Connection) -> Result<LicenseView, Error> {
    let client = connection.license()?;
    let licensed = client.check_license().await;
    connection.keep_heartbeat(licensed);
    let info = client.get_license_info();
    let fingerprint = client.fingerprint().ok();
    let error = client.get_error();
    if let Some(error) = error.clone().filter(|e| e.code.as_str() != "not_activated") {
        state.remember("license check", Error::License(error));
    }
    if let Some(info) = &info {
        state.review_notices(info);
    }
    // Slots come from the server; offline there are none to show.
    let slots = match info.as_ref().and_then(|i| i.last_online_at) {
        Some(_) if licensed || info.as_ref().is_some_and(|i| i.machine_id.is_some()) => client
            .overview(None)
            .await
            .ok()
            .map(|o| slots(o, fingerprint.as_deref())),
        _ => None,
    };
    Ok(LicenseView {
        licensed,
        error,
        info,
        slots,
        heartbeats: connection.heartbeat_running(),
        checked_at: state.now(),
    })
}

/// Checks the license (online when possible) and reports everything the view shows.
#[tauri::command]
pub async fn license_status(state: State<'_, AppState>) -> Result<LicenseView, Error> {
    view(&state, &*state.connection().await)
        .await
        .map_err(|e| state.remember("license_status", e))
}

/// Activates `key` on this machine.
#[tauri::command]
pub async fn activate_license(
    state: State<'_, AppState>,
    key: String,
) -> Result<LicenseView, Error> {
    async {
        let key = parse_key(&key)?;
        let connection = state.connection().await;
        connection.license()?.activate(key.as_str()).await?;
        view(&state, &connection).await
    }
    .await
    .map_err(|e| state.remember("activate_license", e))
}

/// The machine slots of `key` (a key being activated) or of the activated license.
#[tauri::command]
pub async fn license_slots(
    state: State<'_, AppState>,
    key: Option<String>,
) -> Result<Slots, Error> {
    async {
        let connection = state.connection().await;
        let client = connection.license()?;
        let key = key.as_deref().map(parse_key).transpose()?;
        let overview = client
            .overview(key.as_ref().map(LicenseKey::as_str))
            .await?;
        Ok(slots(overview, client.fingerprint().ok().as_deref()))
    }
    .await
    .map_err(|e| state.remember("license_slots", e))
}

/// Deactivates another machine of the license, freeing its seat.
#[tauri::command]
pub async fn deactivate_machine(
    state: State<'_, AppState>,
    machine_id: String,
    key: Option<String>,
) -> Result<Slots, Error> {
    async {
        let connection = state.connection().await;
        let client = connection.license()?;
        let key = key.as_deref().map(parse_key).transpose()?;
        client
            .deactivate_machine(&machine_id, key.as_ref().map(LicenseKey::as_str))
            .await?;
        let overview = client
            .overview(key.as_ref().map(LicenseKey::as_str))
            .await?;
        Ok(slots(overview, client.fingerprint().ok().as_deref()))
    }
    .await
    .map_err(|e| state.remember("deactivate_machine", e))
}

/// Deactivates this machine: frees its seat and forgets the key and the cached license.
#[tauri::command]
pub async fn deactivate_this_machine(state: State<'_, AppState>) -> Result<LicenseView, Error> {
    async {
        let connection = state.connection().await;
        connection.license()?.deactivate().await?;
        view(&state, &connection).await
    }
    .await
    .map_err(|e| state.remember("deactivate_this_machine", e))
}

fn parse_key(key: &str) -> Result<LicenseKey, Error> {
    LicenseKey::parse(key).map_err(|_| {
        Error::InvalidInput(
            "That is not a license key. It looks like PREFIX-XXXX-XXXX-XXXX-XXXX; copy it again from your purchase e-mail.".to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::{routing::post, Json, Router};
    use licentric_core::{dangerous, issue_token, AccountSigningKey, Jwks, PublicKeySet};
    use serde_json::{json, Value};

    use super::*;
    use crate::{config::AppConfig, notices::Recorder, settings::Settings};

    type Answer = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

    /// A fake license server: a real HTTP server on 127.0.0.1 answering `validate-key`
    /// with whatever `answer` makes of the request. Returns its URL; stops when the task
    /// is aborted.
    async fn impostor(answer: Answer) -> (String, tokio::task::JoinHandle<()>) {
        let app = Router::new().route(
            "/api/v1/licenses/validate-key",
            post(move |Json(body): Json<Value>| {
                let answer = answer.clone();
                async move { Json(answer(&body)) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (url, task)
    }

    #[tokio::test]
    async fn an_impostor_server_cannot_license_the_app_and_the_license_survives_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = AppConfig::from_vars(None, None, dir.path().into());
        let state = AppState::start(config, Box::new(Recorder::default())).await;
        let local = state.server().await;
        let key = local.demo_license_key.clone().unwrap();
        let connection = state.connection().await;
        let client = connection.license().unwrap().clone();
        client.activate(&key).await.unwrap();
        assert!(view(&state, &connection).await.unwrap().licensed);

        // What a user who points the app elsewhere (Settings, or a hosts-file entry) could
        // have at hand: the demo product, its pinned key, and a genuine answer to an
        // earlier request of this machine.
        let demo: Value = serde_json::from_slice(
            &std::fs::read(crate::local_server::directory(dir.path()).join("demo.json")).unwrap(),
        )
        .unwrap();
        let url = local.url.clone().unwrap();
        let jwks = reqwest::get(format!(
            "{url}/api/v1/accounts/{}/jwks.json",
            demo["accountId"].as_str().unwrap()
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        let earlier: Value = reqwest::Client::new()
            .post(format!("{url}/api/v1/licenses/validate-key"))
            .json(&json!({
                "key": key,
                "fingerprint": client.fingerprint().unwrap(),
                "nonce": "an-earlier-request-0001",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(earlier["code"], "VALID");
        drop((client, connection));

        let genuine_kid = PublicKeySet::from_jwks(&serde_json::from_str::<Jwks>(&jwks).unwrap())
            .unwrap()
            .iter()
            .next()
            .unwrap()
            .key_id()
            .to_owned();
        let posing = AccountSigningKey::from_secret_seed(&[9; 32])
            .with_key_id(&genuine_kid)
            .unwrap();
        let unsigned = {
            let mut answer = earlier.clone();
            answer["token"] = Value::Null;
            answer
        };
        let replayed = earlier.clone();
        let answers: [(&str, Answer, &str); 3] = [
            (
                "unsigned VALID",
                Arc::new(move |_| unsigned.clone()),
                "without a token signed by the vendor's key",
            ),
            (
                "replayed genuine answer",
                Arc::new(move |_| replayed.clone()),
                "does not answer this request",
            ),
            (
                "signed with another key",
                Arc::new(move |request| {
                    // The genuine claims, for this very request, under the wrong key.
                    let token = earlier["token"].as_str().unwrap();
                    let mut claims = dangerous::decode_token_unverified(token).unwrap();
                    claims.nonce = request["nonce"].as_str().map(str::to_owned);
                    let mut answer = earlier.clone();
                    answer["token"] = issue_token(&claims, &posing).unwrap().into();
                    answer
                }),
                "not signed by the vendor's key",
            ),
        ];
        for (impostor_kind, answer, says) in answers {
            let (fake_url, server) = impostor(answer).await;
            let pointed_elsewhere = Settings {
                local_server: false,
                server_url: fake_url,
                product_id: demo["productId"].as_str().unwrap().to_owned(),
                product_salt: crate::state::DEMO_PRODUCT_SALT.to_owned(),
                public_key: jwks.clone(),
                ..Settings::default()
            };
            state.apply(pointed_elsewhere).await.unwrap();

            let shown = view(&state, &*state.connection().await).await.unwrap();
            assert!(!shown.licensed, "{impostor_kind}");
            let error = shown.error.unwrap();
            assert_eq!(error.code.as_str(), "invalid_token", "{impostor_kind}");
            assert!(error.message.contains(says), "{impostor_kind}: {error:?}");
            assert!(
                error.message.contains("Check the license server address"),
                "{impostor_kind}: {error:?}"
            );
            assert_ne!(
                shown.info.and_then(|i| i.status).as_deref(),
                Some("active"),
                "{impostor_kind}"
            );
            let remembered = state.recent_errors().pop().unwrap();
            assert_eq!(remembered.code, "invalid_token", "{impostor_kind}");
            server.abort();
        }

        // Back on the genuine server, the license the impostors could not touch still works.
        state.apply(Settings::default()).await.unwrap();
        let shown = view(&state, &*state.connection().await).await.unwrap();
        assert!(shown.licensed, "{:?}", shown.error);
        assert_eq!(shown.info.and_then(|i| i.status).as_deref(), Some("active"));
    }
}
