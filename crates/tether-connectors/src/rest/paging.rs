//! Listings as streams, in either paging style a manifest declares: each record once, the next
//! page fetched only when the current one has been consumed, so memory holds one page.
//!
//! `page` style ends at a page shorter than asked for (or an empty one); `cursor` style ends when
//! the answer has no next cursor (or an empty page, so a service that keeps answering cursors with
//! no records cannot make a stream spin).

use std::collections::VecDeque;

use futures::Stream;
use serde_json::Value;
use tether_core::manifest::{PagingStyle, Resource};
use tether_http::ApiRequest;

use super::{Error, RestApp};

/// What a listing asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Query parameters sent with every page: `search_by` fields, `updated_since`,
    /// `created_since`.
    pub filters: Vec<(String, String)>,
    /// Records per page; `None` asks for the manifest's largest.
    pub page_size: Option<u32>,
}

/// Where the next page starts.
#[derive(Debug, Clone)]
enum Next {
    Page(u64),
    Cursor(Option<String>),
}

/// One decoded page.
struct Page {
    items: Vec<Value>,
    next: Option<Next>,
}

impl RestApp {
    /// Every record of `resource` that `query` selects, fetched page by page as consumed.
    pub fn list_stream(
        &self,
        resource: &str,
        query: ListQuery,
    ) -> impl Stream<Item = Result<Value, Error>> + Send + 'static {
        let app = self.clone();
        let resource = resource.to_owned();
        let first = match self.manifest.resource(&resource).map(|r| r.paging.style) {
            Some(PagingStyle::Cursor) => Next::Cursor(None),
            _ => Next::Page(1),
        };
        let state = (VecDeque::new(), Some(first), app, resource, query);
        futures::stream::try_unfold(
            state,
            |(mut buffer, mut next, app, resource, query)| async move {
                loop {
                    if let Some(item) = buffer.pop_front() {
                        return Ok(Some((item, (buffer, next, app, resource, query))));
                    }
                    let Some(cursor) = next.take() else {
                        return Ok(None);
                    };
                    let page = app.fetch_page(&resource, &query, cursor).await?;
                    if page.items.is_empty() {
                        return Ok(None);
                    }
                    buffer.extend(page.items);
                    next = page.next;
                }
            },
        )
    }

    async fn fetch_page(&self, name: &str, query: &ListQuery, at: Next) -> Result<Page, Error> {
        let resource = self.resource(name)?;
        let paging = &resource.paging;
        let size = query
            .page_size
            .unwrap_or(paging.max_size)
            .clamp(1, paging.max_size);
        let mut request = ApiRequest::get(resource.path.clone())
            .query(paging.size_param.clone(), size.to_string());
        for (name, value) in &query.filters {
            request = request.query(name.clone(), value.clone());
        }
        match &at {
            Next::Page(page) => {
                request = request.query(paging.page_param.clone(), page.to_string())
            }
            Next::Cursor(Some(cursor)) => {
                request = request.query(paging.cursor_param.clone(), cursor.clone());
            }
            Next::Cursor(None) => {}
        }
        let mut body: Value = self.send(resource, None, request).await?;
        let items = match body.get_mut(&paging.items_field).map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(Error::Protocol(format!(
                    "a {} listing has no `{}` array",
                    resource.name, paging.items_field
                )));
            }
        };
        let next = next_page(resource, &body, &at, items.len(), size);
        Ok(Page { items, next })
    }
}

fn next_page(
    resource: &Resource,
    body: &Value,
    at: &Next,
    n_items: usize,
    size: u32,
) -> Option<Next> {
    match at {
        Next::Page(page) => {
            (n_items >= size as usize).then_some(Next::Page(page.saturating_add(1)))
        }
        Next::Cursor(_) => body
            .get(&resource.paging.next_field)
            .and_then(Value::as_str)
            .filter(|cursor| !cursor.is_empty())
            .map(|cursor| Next::Cursor(Some(cursor.to_owned()))),
    }
}
