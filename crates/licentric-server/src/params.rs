//! Query strings and field checks: pagination, sorting, and the per-field `details` of a 400.

use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
};
use serde::{de::DeserializeOwned, Deserialize};
use serde_json::{json, Map, Value};

use crate::ApiError;

/// A query string. A wrong type or an unknown parameter is a 400 that names it.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| Self(value))
            .map_err(|rejection| {
                let reason = rejection.body_text();
                ApiError::invalid(
                    format!("Invalid query string: {reason}."),
                    json!({ "query": reason }),
                )
            })
    }
}

/// The largest page a list returns.
pub const MAX_LIMIT: u32 = 100;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 25;
/// The largest offset: the documented (32-bit signed) bound.
pub const MAX_OFFSET: u32 = 2_147_483_647;

/// `?limit=&offset=&sort=` of every list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Paging {
    /// Page size, 1–100 (default 25).
    pub limit: Option<u32>,
    /// Records to skip.
    pub offset: Option<u32>,
    /// A field to sort by; `-field` for descending. Default `-createdAt`.
    pub sort: Option<String>,
}

/// Paging checked against a resource's sortable fields.
#[derive(Debug, Clone)]
pub struct Page {
    /// Page size.
    pub limit: u32,
    /// Records to skip.
    pub offset: u32,
    /// A safe `ORDER BY` clause (from the whitelist, never from the request's text).
    pub order_by: String,
    /// The sort field's API name, e.g. `expiresAt`.
    pub sort_field: String,
    /// The SQL expression sorted by (from the whitelist).
    pub column: String,
    /// The table's rowid expression that breaks ties, e.g. `l.rowid`.
    pub rowid: String,
    /// Whether the sort is descending.
    pub descending: bool,
}

/// A position in a sorted list (`after=`): the sort field and direction it belongs to,
/// and the last row's sort value and rowid. Opaque to clients (base64url JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct Cursor {
    /// The sort field's API name.
    #[serde(rename = "f")]
    pub field: String,
    /// Whether the sort is descending.
    #[serde(rename = "d")]
    pub descending: bool,
    /// The last row's sort value: text, or an integer.
    #[serde(rename = "v")]
    pub value: Value,
    /// The last row's rowid.
    #[serde(rename = "r")]
    pub rowid: i64,
}

impl Cursor {
    /// The opaque text a client passes back as `after`.
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads `after` for a list sorted as `page` is; a problem names `after` otherwise.
    pub fn decode(text: &str, page: &Page, problems: &mut Problems) -> Option<Self> {
        use base64::Engine;
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Self>(&bytes).ok());
        match cursor {
            Some(cursor)
                if cursor.field == page.sort_field && cursor.descending == page.descending =>
            {
                Some(cursor)
            }
            Some(_) => {
                problems.add("after", "belongs to a list sorted another way: send the same sort as the page it came from");
                None
            }
            None => {
                problems.add(
                    "after",
                    "is not a cursor from this list: pass the nextCursor of the page before",
                );
                None
            }
        }
    }
}

impl Paging {
    /// Paging from a list's query parameters.
    pub fn from_query(limit: Option<u32>, offset: Option<u32>, sort: Option<String>) -> Self {
        Self {
            limit,
            offset,
            sort,
        }
    }

    /// Checks limit, offset and sort against `sortable`; a 400 names what is wrong.
    pub fn page(&self, sortable: &[(&str, &str)]) -> Result<Page, ApiError> {
        let mut problems = Problems::default();
        let page = self.check(sortable, &mut problems);
        problems.finish()?;
        Ok(page)
    }

    /// Checks limit and sort; `sortable` maps API field names to SQL columns.
    pub fn check(&self, sortable: &[(&str, &str)], problems: &mut Problems) -> Page {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            problems.add("limit", format!("must be between 1 and {MAX_LIMIT}"));
        }
        if self.offset.is_some_and(|offset| offset > MAX_OFFSET) {
            problems.add("offset", format!("must be at most {MAX_OFFSET}"));
        }
        let sort = self.sort.as_deref().unwrap_or("-createdAt");
        let (field, direction) = match sort.strip_prefix('-') {
            Some(field) => (field, "DESC"),
            None => (sort, "ASC"),
        };
        let column = sortable
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, c)| *c);
        let (column, direction) = match column {
            Some(column) => (column, direction),
            None => {
                let names: Vec<&str> = sortable.iter().map(|(n, _)| *n).collect();
                problems.add(
                    "sort",
                    format!(
                        "must be one of {} (prefix - for descending)",
                        names.join(", ")
                    ),
                );
                (sortable.first().map_or("created_at", |(_, c)| *c), "DESC")
            }
        };
        // Ties (same second, same name) fall back to insertion order, of the same table.
        let rowid = column
            .trim_start_matches("ifnull(")
            .split_once('.')
            .map_or("rowid".to_owned(), |(table, _)| format!("{table}.rowid"));
        let order_by = format!("{column} {direction}, {rowid} {direction}");
        Page {
            limit: limit.clamp(1, MAX_LIMIT),
            offset: self.offset.unwrap_or(0),
            order_by,
            sort_field: field.to_owned(),
            column: column.to_owned(),
            rowid,
            descending: direction == "DESC",
        }
    }
}

impl Page {
    /// Wraps one page of records with the list's pagination fields.
    pub fn wrap<T>(&self, data: Vec<T>, total: u32) -> licentric_core::wire::Page<T> {
        licentric_core::wire::Page {
            has_more: self
                .offset
                .saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX))
                < total,
            data,
            total,
            limit: self.limit,
            offset: self.offset,
            next_cursor: None,
        }
    }
}

/// The keyset condition after `cursor`, spelled out as a range of the sort expression
/// (`col >= v AND (col > v OR rowid > r)`): SQLite turns that into a range of an
/// expression index, where a row-value comparison would walk the index from its start.
pub fn push_after(query: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>, page: &Page, cursor: &Cursor) {
    let (col, rowid) = (page.column.as_str(), page.rowid.as_str());
    let (at_least, past) = if page.descending {
        ("<=", "<")
    } else {
        (">=", ">")
    };
    let bind_value = |query: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>| match &cursor.value {
        serde_json::Value::Number(n) => {
            query.push_bind(n.as_i64().unwrap_or_default());
        }
        other => {
            query.push_bind(other.as_str().unwrap_or_default().to_owned());
        }
    };
    query.push(format!(" AND {col} {at_least} "));
    bind_value(query);
    query.push(format!(" AND ({col} {past} "));
    bind_value(query);
    query
        .push(format!(" OR {rowid} {past} "))
        .push_bind(cursor.rowid)
        .push(")");
}

/// Refuses a search text (`q`) longer than `max` characters with a 400 naming `q`.
pub fn check_search(q: Option<&str>, max: usize) -> Result<(), ApiError> {
    if q.is_some_and(|q| q.chars().count() > max) {
        let mut problems = Problems::default();
        problems.add("q", format!("must be at most {max} characters"));
        problems.finish()?;
    }
    Ok(())
}

/// Collects per-field problems and turns them into one 400.
#[derive(Debug, Default)]
pub struct Problems(Map<String, Value>);

impl Problems {
    /// Records a problem with `field` (the first one per field wins).
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| Value::String(problem.into()));
    }

    /// Whether nothing is wrong so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was recorded, else a 400 naming every field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let fields: Vec<String> = self.0.keys().cloned().collect();
        let first = self
            .0
            .iter()
            .next()
            .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or_default()));
        Err(ApiError::invalid(
            format!(
                "Invalid {}: {}{}.",
                fields.join(", "),
                first.unwrap_or_default(),
                if fields.len() > 1 {
                    " (see details for the others)"
                } else {
                    ""
                }
            ),
            Value::Object(self.0),
        ))
    }

    /// Checks a display name: trimmed, 1–`max` characters, no control characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.add(field, "must not be empty");
        } else if trimmed.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(char::is_control) {
            self.add(field, "must not contain control characters");
        }
        trimmed.to_owned()
    }

    /// Checks an entitlement code: 1–64 of `a–z 0–9 _ . -`, starting with a letter.
    pub fn entitlement_code(&mut self, field: &str, code: &str) {
        let ok = (1..=64).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')
            });
        if !ok {
            self.add(
                field,
                format!("{code:?} is not a valid entitlement code: use 1-64 of a-z, 0-9, _ . -, starting with a letter"),
            );
        }
    }

    /// Checks a number is within `range`.
    pub fn range(&mut self, field: &str, value: u32, range: std::ops::RangeInclusive<u32>) {
        if !range.contains(&value) {
            self.add(
                field,
                format!("must be between {} and {}", range.start(), range.end()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_is_whitelisted_and_limits_are_bounded() {
        let sortable = [("createdAt", "created_at"), ("name", "name")];
        let mut problems = Problems::default();
        let page = Paging {
            limit: Some(10),
            offset: Some(20),
            sort: Some("name".into()),
        }
        .check(&sortable, &mut problems);
        assert!(problems.is_empty());
        assert_eq!(
            (page.limit, page.offset, page.order_by.as_str()),
            (10, 20, "name ASC, rowid ASC")
        );
        let joined = Paging {
            limit: None,
            offset: None,
            sort: None,
        }
        .check(&[("createdAt", "l.created_at")], &mut problems);
        assert_eq!(joined.order_by, "l.created_at DESC, l.rowid DESC");

        let page = Paging {
            limit: Some(0),
            offset: None,
            sort: Some("name; DROP TABLE x".into()),
        }
        .check(&sortable, &mut problems);
        assert_eq!(page.order_by, "created_at DESC, rowid DESC");
        let ApiError::BadRequest { details, .. } = problems.finish().unwrap_err() else {
            panic!()
        };
        let details = details.unwrap();
        assert!(
            details.get("limit").is_some() && details.get("sort").is_some(),
            "{details}"
        );
    }

    #[test]
    fn pages_know_whether_more_follow() {
        let page = Paging::from_query(Some(2), None, None)
            .page(&[("createdAt", "created_at")])
            .unwrap();
        assert!(page.wrap(vec![1, 2], 3).has_more);
        assert!(!page.wrap(vec![1, 2], 2).has_more);
    }

    #[test]
    fn a_cursor_round_trips_and_belongs_to_its_sort() {
        let sortable = [
            ("createdAt", "l.created_at"),
            ("name", "ifnull(l.name, '')"),
        ];
        let page = Paging::from_query(None, None, Some("name".into()))
            .page(&sortable)
            .unwrap();
        assert_eq!(
            page.rowid, "l.rowid",
            "the rowid of an ifnull() column's table"
        );
        let cursor = Cursor {
            field: "name".into(),
            descending: false,
            value: "Acme".into(),
            rowid: 42,
        };
        let mut problems = Problems::default();
        assert_eq!(
            Cursor::decode(&cursor.encode(), &page, &mut problems),
            Some(cursor.clone())
        );
        let newest = Paging::from_query(None, None, None)
            .page(&sortable)
            .unwrap();
        assert_eq!(
            Cursor::decode(&cursor.encode(), &newest, &mut problems),
            None
        );
        assert_eq!(Cursor::decode("not-a-cursor", &newest, &mut problems), None);
        assert!(!problems.is_empty());
    }
}
