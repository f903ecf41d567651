//! SDK-side shapes that are not shared wire types: list parameters and the answers of
//! the offline endpoints.

/// An Ed25519-signed offline license file, as `checkout` returns it (seed 000's
/// `LicenseFile`: `certificate`, `license`, `fingerprint`, `ttl`).
pub type LicenseFile = licentric_core::wire::LicenseCheckout;

pub use licentric_core::wire::OfflineActivation;

/// Paging, sorting and filters of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Page size, 1–100 (server default 25).
    pub limit: Option<u32>,
    /// Records to skip.
    pub offset: Option<u32>,
    /// A field to sort by; `-field` for descending.
    pub sort: Option<String>,
    /// Filters, e.g. `("productId", "…")`, `("status", "active")`.
    pub filters: Vec<(String, String)>,
}

impl ListParams {
    /// No paging, no filters: the server's first page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter.
    pub fn filter(mut self, name: &str, value: impl Into<String>) -> Self {
        self.filters.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets the offset.
    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Sets the sort field (`-field` for descending).
    pub fn sort(mut self, sort: &str) -> Self {
        self.sort = Some(sort.to_owned());
        self
    }

    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut query = self.filters.clone();
        if let Some(limit) = self.limit {
            query.push(("limit".into(), limit.to_string()));
        }
        if let Some(offset) = self.offset {
            query.push(("offset".into(), offset.to_string()));
        }
        if let Some(sort) = &self.sort {
            query.push(("sort".into(), sort.clone()));
        }
        query
    }
}
