//! SDK-side shapes that are not shared wire types: list parameters and the answers of
//! the offline endpoints.

/// An Ed25519-signed offline license file, as `checkout` returns it (seed 000's
/// `LicenseFile`: `certificate`, `license`, `fingerprint`, `ttl`).
pub type LicenseFile = licentric_core::wire::LicenseCheckout;

pub use licentric_core::wire::OfflineActivation;

/// Paging, sorting, search and filters of a list call.
///
/// One type for every list: the filter names are the API's query parameters (camelCase,
/// as in the OpenAPI description), and the server refuses a name it does not know with
/// a 400 naming it, so a misspelt filter fails loudly instead of silently matching all.
///
/// ```
/// use licentric_client::ListParams;
/// let params = ListParams::new()
///     .search("buyer@example.com")
///     .filter("status", "active")
///     .filter("expiresBefore", "2026-12-31T00:00:00Z")
///     .sort("-uses")
///     .limit(100);
/// # let _ = params;
/// ```
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
    /// Free-text search (`q`): for licenses a key fragment, id, name or metadata value;
    /// for machines the start of a fingerprint or a fragment of the name.
    pub search: Option<String>,
    /// The page after this cursor: a page's `nextCursor` (licenses, machines), or the
    /// last event's id (events).
    pub after: Option<String>,
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

    /// Sets the free-text search (`q`).
    pub fn search(mut self, q: impl Into<String>) -> Self {
        self.search = Some(q.into());
        self
    }

    /// Asks for the page after `cursor` (see [`Self::after`]).
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.after = Some(cursor.into());
        self
    }

    /// These parameters for the page after `page`, following its `nextCursor`; `None` on
    /// the last page. The offset is dropped: a cursor page starts where the last one ended.
    ///
    /// ```no_run
    /// # async fn run(admin: licentric_client::Licentric) -> Result<(), licentric_client::Error> {
    /// let mut params = licentric_client::ListParams::new().search("acme").limit(100);
    /// loop {
    ///     let page = admin.list_licenses(&params).await?;
    ///     for license in &page.data { println!("{}", license.id); }
    ///     match params.next_page(&page) {
    ///         Some(next) => params = next,
    ///         None => break,
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn next_page<T>(&self, page: &licentric_core::wire::Page<T>) -> Option<Self> {
        let cursor = page.next_cursor.clone()?;
        Some(Self {
            offset: None,
            after: Some(cursor),
            ..self.clone()
        })
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
        if let Some(q) = &self.search {
            query.push(("q".into(), q.clone()));
        }
        if let Some(after) = &self.after {
            query.push(("after".into(), after.clone()));
        }
        query
    }
}
