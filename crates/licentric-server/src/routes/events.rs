//! `/api/v1/events`: the audit trail, newest first, under the `events:read` scope.

use axum::{extract::State, response::Response, Json};
use chrono::{DateTime, Utc};
use licentric_core::{
    wire::{AuditEvent, Page},
    Scope,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    auth::ApiKeyAuth,
    csv_rows,
    db::{self, audit::EventRow},
    openapi::ErrorResponses,
    params::{self, ApiQuery, Cursor, Paging, Problems},
    ApiError, AppState,
};

/// Query of `GET /events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEvents {
    /// Only events of this kind of record: `license`, `machine`, `product`, `policy`,
    /// `entitlement`, `webhook`, `api_key`, `signing_key`.
    resource_type: Option<String>,
    /// Only events of this record.
    resource_id: Option<String>,
    /// Only this action, e.g. `license.suspended`.
    action: Option<String>,
    /// Only events by this API key or license (its id).
    actor_id: Option<String>,
    /// Only events at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only events before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// Only events older than this event id: pass the last id of a page for the next one
    /// (stable while new events arrive).
    after: Option<String>,
    /// Page size, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Records to skip.
    #[param(minimum = 0, maximum = 2147483647)]
    offset: Option<u32>,
}

fn wire(row: EventRow) -> AuditEvent {
    AuditEvent {
        id: row.id.to_string(),
        occurred_at: row.occurred_at,
        actor_type: row.actor_type,
        actor_id: row.actor_id,
        actor_name: row.actor_name,
        action: row.action,
        resource_type: row.resource_type,
        resource_id: row.resource_id,
        client_address: row.client_address,
        request_id: row.request_id,
        changes: row.changes.and_then(|c| serde_json::from_str(&c).ok()),
    }
}

impl ListEvents {
    /// The page asked for and the filters, or each problem with them (paging included:
    /// the export ignores the page, but not a malformed one); `after` is read into
    /// `before_id`.
    fn read(&self) -> Result<(params::Page, db::audit::Filters<'_>), ApiError> {
        let mut problems = Problems::default();
        let page = Paging::from_query(self.limit, self.offset, None)
            .check(&[("createdAt", "id")], &mut problems);
        let before_id = self
            .after
            .as_deref()
            .and_then(|after| match after.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    problems.add("after", "must be an event id from an earlier page");
                    None
                }
            });
        problems.finish()?;
        let filters = db::audit::Filters {
            resource_type: self.resource_type.as_deref(),
            resource_id: self.resource_id.as_deref(),
            action: self.action.as_deref(),
            actor_id: self.actor_id.as_deref(),
            since: self.since,
            until: self.until,
            before_id,
        };
        Ok((page, filters))
    }
}

/// Lists the audit trail: every management write and runtime event, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(ListEvents),
    responses((status = 200, body = Page<AuditEvent>), ErrorResponses), security(("api_key" = [])))]
pub async fn list(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListEvents>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    auth.require(Scope::EventsRead)?;
    let (page, filters) = q.read()?;
    let before_id = filters.before_id;
    let (rows, total) =
        db::audit::list(&state.db, &auth.tenant, &filters, page.limit, page.offset).await?;
    let full = rows.len() == page.limit as usize;
    let mut answer = page.wrap(rows.into_iter().map(wire).collect::<Vec<_>>(), total);
    // The next page starts below the last event's id.
    answer.next_cursor = answer.data.last().filter(|_| full).map(|e| e.id.clone());
    if before_id.is_some() {
        answer.has_more = answer.next_cursor.is_some();
    }
    Ok(Json(answer))
}

/// Events an export reads a chunk at a time: memory stays flat whatever its size.
const EXPORT_CHUNK: u32 = 500;

/// Exports the events the list's filters match as CSV (RFC 4180, a header row, newest
/// first; `changes` as JSON text), in constant memory. `limit` and `offset` are ignored:
/// everything that matches is exported.
#[utoipa::path(get, path = "/api/v1/events/export.csv", tag = "events", params(ListEvents),
    responses((status = 200, description = "The CSV file", content_type = "text/csv", body = String), ErrorResponses),
    security(("api_key" = [])))]
pub async fn export_csv(
    auth: ApiKeyAuth,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListEvents>,
) -> Result<Response, ApiError> {
    auth.require(Scope::EventsRead)?;
    q.read()?;
    let writer = csv_rows::EventCsv::new().map_err(|e| ApiError::Internal(e.into()))?;
    let (tenant, query) = (auth.tenant, std::sync::Arc::new(q));
    Ok(super::csv_download(
        "audit-log.csv",
        writer,
        move |mut writer, cursor: Option<Cursor>| {
            let (state, tenant, query) = (state.clone(), tenant.clone(), query.clone());
            async move {
                let (_, mut filters) = query.read()?;
                // Each chunk starts below the last one's id (the cursor's rowid).
                if let Some(cursor) = cursor {
                    filters.before_id = Some(cursor.rowid);
                }
                let rows = db::audit::newest(&state.db, &tenant, &filters, EXPORT_CHUNK).await?;
                let next = (rows.len() == EXPORT_CHUNK as usize)
                    .then(|| rows.last().map(|row| row.id))
                    .flatten()
                    .map(|id| Cursor {
                        field: "id".into(),
                        descending: true,
                        value: id.into(),
                        rowid: id,
                    });
                let internal = |e: csv::Error| ApiError::Internal(e.into());
                for row in rows {
                    writer.push(&wire(row)).map_err(internal)?;
                }
                let bytes = writer.take().map_err(internal)?;
                Ok((writer, bytes, next))
            }
        },
    ))
}
