//! The vendor console's commands, one file per management area, mirroring the SDK's
//! `management.rs` and the server's `routes/<area>.rs`. Each is thin: it takes its typed
//! arguments, runs one SDK call through [`run`] with the console's connection, and
//! answers the server's types. Only the console window may call them
//! (`capabilities/console.json`; see `commands/list.rs`).

pub mod analytics;
pub mod api_keys;
pub mod connections;
pub mod entitlements;
pub mod events;
pub mod licenses;
pub mod machines;
pub mod policies;
pub mod products;
pub mod signing_keys;
pub mod support;
pub mod webhooks;

use std::{collections::BTreeMap, future::Future, sync::Arc};

use licentric_client::{Licentric, ListParams};
use serde::Deserialize;

use crate::{console::Session, error::Error, state::AppState};

/// The connection in use, opened on first use; a failure is remembered for diagnostics.
pub(crate) async fn session(state: &AppState, during: &str) -> Result<Arc<Session>, Error> {
    let local = state.local_server().await;
    state
        .console()
        .session(local.as_deref())
        .await
        .map_err(|error| state.remember(during, error))
}

/// Runs one SDK call with the console's connection: the one helper every console command
/// goes through, so each error is mapped to `{code, message, details}` and remembered
/// (as `during`) for the diagnostics export in one place.
pub(crate) async fn run<T, F, Fut>(state: &AppState, during: &str, call: F) -> Result<T, Error>
where
    F: FnOnce(Licentric) -> Fut,
    Fut: Future<Output = Result<T, licentric_client::Error>>,
{
    let session = session(state, during).await?;
    call(session.api.clone())
        .await
        .map_err(|error| state.remember(during, error.into()))
}

/// Paging, sorting, search and filters of any console list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct ListQuery {
    /// Page size, 1–100.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
    /// Records to skip.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub offset: Option<u32>,
    /// A field to sort by; `-field` for descending.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub sort: Option<String>,
    /// Free-text search.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub q: Option<String>,
    /// The page after this cursor (a page's `nextCursor`).
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub after: Option<String>,
    /// Filters by the API's query parameter names, e.g. `status` → `active`.
    #[serde(default)]
    #[cfg_attr(test, ts(optional))]
    pub filters: Option<BTreeMap<String, String>>,
}

impl ListQuery {
    /// The SDK's parameters; empty values mean "not given".
    pub fn params(&self) -> ListParams {
        let given = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let mut params = ListParams::new();
        params.limit = self.limit;
        params.offset = self.offset;
        params.sort = given(&self.sort);
        params.search = given(&self.q);
        params.after = given(&self.after);
        for (name, value) in self.filters.iter().flatten() {
            if !value.trim().is_empty() {
                params.filters.push((name.clone(), value.trim().to_owned()));
            }
        }
        params
    }
}
