//! Paging as streams: each stream yields every record of a listing once, fetching the next page
//! only when the caller has consumed the current one, so memory holds one page at a time.
//!
//! HighLevel pages in four ways, one per listing (README §4.1):
//!
//! | listing | cursor | end |
//! |---|---|---|
//! | search, [`search_stream`] | `searchAfter` of the page's last contact | a short page |
//! | search, [`search_pages_stream`] | `page` + `pageLimit` | a short page, or 10,000 records |
//! | deprecated list, [`list_stream`] | `startAfterId` + `startAfter` from `meta`, else the last contact | a short page |
//! | business contacts, [`business_contacts_stream`] | `skip` + `limit` | a short page, or `count` reached |
//!
//! A page shorter than asked for ends every listing; an empty page ends it too, so a service that
//! keeps answering cursors with no records cannot make a stream spin.

use std::collections::VecDeque;
use std::future::Future;

use futures::Stream;
use serde_json::Value;

use super::models::{
    BusinessContactsQuery, Contact, ContactPage, ListContactsQuery, SearchRequest,
};
use super::{ContactId, Error, GhlClient};

/// The deepest record `page` paging may reach: the service refuses `page * pageLimit` beyond it.
pub const MAX_PAGE_WINDOW: u64 = 10_000;

/// The deprecated list's largest page.
pub const MAX_LIST_LIMIT: u32 = 100;

/// The largest page of a business's contacts (documented by the v3 spec; v2 is silent).
pub const MAX_BUSINESS_LIMIT: u32 = 100;

/// One fetched page: its records, and the cursor of the next page when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C> {
    /// The records.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<C>,
}

/// Turns a page fetcher into a stream of records. `fetch` is called with the first cursor, then
/// with each page's `next`, and only once the previous page's records have all been taken.
pub fn into_stream<T, C, F, Fut>(first: C, fetch: F) -> impl Stream<Item = Result<T, Error>>
where
    F: FnMut(C) -> Fut,
    Fut: Future<Output = Result<Page<T, C>, Error>>,
{
    let state = (VecDeque::new(), Some(first), fetch);
    futures::stream::try_unfold(state, |(mut buffer, mut next, mut fetch)| async move {
        loop {
            if let Some(item) = buffer.pop_front() {
                return Ok(Some((item, (buffer, next, fetch))));
            }
            let Some(cursor) = next.take() else {
                return Ok(None);
            };
            let page = fetch(cursor).await?;
            if page.items.is_empty() {
                return Ok(None);
            }
            buffer.extend(page.items);
            next = page.next;
        }
    })
}

/// Every contact a search matches, with `searchAfter` cursors: the service's recommended way,
/// and the only one past 10,000 records. A `page` in `search` is ignored; a `searchAfter` in it
/// resumes after that record.
///
/// The cursor is the page's top-level `searchAfter` when the answer has one, else the
/// `searchAfter` of its last contact (where the search documentation puts it). A full page
/// without either is an [`Error::Protocol`]: stopping there would drop records silently.
pub fn search_stream(
    client: GhlClient,
    mut search: SearchRequest,
) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
    search.page = None;
    let first = search.search_after.take();
    into_stream(first, move |cursor: Option<Vec<Value>>| {
        let client = client.clone();
        let mut search = search.clone();
        search.search_after = cursor;
        async move {
            let page = client.contacts().search(&search).await?;
            let full = is_full(page.contacts.len(), search.page_limit);
            let cursor = page.search_after.clone().or_else(|| {
                page.contacts
                    .last()
                    .and_then(|last| last.search_after.clone())
            });
            let next = match (full, cursor) {
                (false, _) => None,
                (true, Some(cursor)) => Some(Some(cursor)),
                (true, None) => {
                    return Err(Error::Protocol {
                        message: "a full search page carries no searchAfter cursor".into(),
                    });
                }
            };
            Ok(Page {
                items: page.contacts,
                next,
            })
        }
    })
}

/// Every contact a search matches, with `page` / `pageLimit` paging from `search.page` (or 1).
/// Stops after the page that reaches 10,000 records, as the service refuses to go deeper: use
/// [`search_stream`] when a search may match more.
pub fn search_pages_stream(
    client: GhlClient,
    mut search: SearchRequest,
) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
    search.search_after = None;
    let first = search.page.unwrap_or(1).max(1);
    into_stream(first, move |page_number: u32| {
        let client = client.clone();
        let mut search = search.clone();
        search.page = Some(page_number);
        async move {
            let page = client.contacts().search(&search).await?;
            let limit = u64::from(search.page_limit);
            let next_reachable = (u64::from(page_number) + 1) * limit <= MAX_PAGE_WINDOW;
            let next = (is_full(page.contacts.len(), search.page_limit) && next_reachable)
                .then_some(page_number + 1);
            Ok(Page {
                items: page.contacts,
                next,
            })
        }
    })
}

/// Every contact of the deprecated `GET /contacts/`, following its `startAfterId` +
/// `startAfter` cursor: from the answer's `meta` when it has one, else from the last contact
/// (its id and its `dateAdded` in epoch milliseconds). `query.limit` defaults to the maximum,
/// 100, to make the fewest calls.
pub fn list_stream(
    client: GhlClient,
    mut query: ListContactsQuery,
) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
    let limit = query
        .limit
        .unwrap_or(MAX_LIST_LIMIT)
        .clamp(1, MAX_LIST_LIMIT);
    query.limit = Some(limit);
    let first = (query.start_after_id.take(), query.start_after.take());
    into_stream(first, move |(start_after_id, start_after)| {
        let client = client.clone();
        let mut query = query.clone();
        query.start_after_id = start_after_id;
        query.start_after = start_after;
        async move {
            let page = client.contacts().list(&query).await?;
            let next = if is_full(page.contacts.len(), limit) {
                Some(list_cursor(&page)?)
            } else {
                None
            };
            Ok(Page {
                items: page.contacts,
                next,
            })
        }
    })
}

/// The cursor after a page of the deprecated list.
fn list_cursor(page: &ContactPage) -> Result<(Option<ContactId>, Option<u64>), Error> {
    if let Some(meta) = &page.meta
        && meta.start_after_id.is_some()
        && meta.start_after.is_some()
    {
        return Ok((meta.start_after_id.clone(), meta.start_after));
    }
    let last = page.contacts.last().ok_or_else(|| Error::Protocol {
        message: "an empty page has no cursor".into(),
    })?;
    let date_added = last
        .date_added
        .as_deref()
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .ok_or_else(|| Error::Protocol {
            message: format!(
                "contact {} has no readable dateAdded to continue the list after",
                last.id
            ),
        })?;
    let start_after =
        u64::try_from(date_added.timestamp_millis()).map_err(|_| Error::Protocol {
            message: format!("contact {} was added before 1970", last.id),
        })?;
    Ok((Some(last.id.clone()), Some(start_after)))
}

/// Every contact of a business, by `skip` / `limit` from `query.skip` (or 0), with pages of at
/// most 100. Ends on a short page or once the answer's `count` is reached.
pub fn business_contacts_stream(
    client: GhlClient,
    mut query: BusinessContactsQuery,
) -> impl Stream<Item = Result<Contact, Error>> + Send + 'static {
    // The service's default page is 25; a larger one makes fewer calls. The v2 spec sets no
    // maximum, v3 documents 100, so no more is asked for.
    let limit = query
        .limit
        .unwrap_or(MAX_BUSINESS_LIMIT)
        .clamp(1, MAX_BUSINESS_LIMIT);
    query.limit = Some(limit);
    let first = query.skip.unwrap_or(0);
    into_stream(first, move |skip: u32| {
        let client = client.clone();
        let mut query = query.clone();
        query.skip = Some(skip);
        async move {
            let page = client.businesses().contacts(&query).await?;
            let n_items = u32::try_from(page.contacts.len()).unwrap_or(u32::MAX);
            let after = skip.saturating_add(n_items);
            let total_reached = page.total.is_some_and(|total| u64::from(after) >= total);
            let next = (is_full(page.contacts.len(), limit) && !total_reached).then_some(after);
            Ok(Page {
                items: page.contacts,
                next,
            })
        }
    })
}

/// Whether a page holds as many records as asked for (so another may follow).
fn is_full(n_items: usize, limit: u32) -> bool {
    u64::try_from(n_items).unwrap_or(u64::MAX) >= u64::from(limit)
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    /// Pages over `0..n_records` by `limit`, as a service would.
    fn pages(n_records: usize, limit: usize) -> impl Stream<Item = Result<usize, Error>> {
        into_stream(0usize, move |offset| async move {
            let items: Vec<usize> = (offset..n_records.min(offset + limit)).collect();
            let next = (items.len() == limit).then_some(offset + limit);
            Ok(Page { items, next })
        })
    }

    #[tokio::test]
    async fn every_record_comes_once_for_any_page_size() {
        for n_records in [0, 1, 5, 99, 100, 101, 250] {
            for limit in [1, 2, 7, 50, 100, 1000] {
                let seen: Vec<usize> = pages(n_records, limit).try_collect().await.unwrap();
                assert_eq!(
                    seen,
                    (0..n_records).collect::<Vec<_>>(),
                    "{n_records} by {limit}"
                );
            }
        }
    }

    #[tokio::test]
    async fn the_next_page_is_fetched_only_when_needed() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        use futures::StreamExt;

        let n_fetches = Arc::new(AtomicUsize::new(0));
        let counter = n_fetches.clone();
        let stream = into_stream(0usize, move |offset| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Page {
                    items: vec![offset, offset + 1],
                    next: Some(offset + 2),
                })
            }
        });
        let mut stream = std::pin::pin!(stream);
        assert_eq!(n_fetches.load(Ordering::SeqCst), 0);
        stream.next().await.unwrap().unwrap();
        stream.next().await.unwrap().unwrap();
        assert_eq!(n_fetches.load(Ordering::SeqCst), 1);
        stream.next().await.unwrap().unwrap();
        assert_eq!(n_fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_after_it_is_yielded() {
        let stream = into_stream(0usize, |offset| async move {
            if offset == 0 {
                Ok(Page {
                    items: vec![1],
                    next: Some(1),
                })
            } else {
                Err(Error::Protocol {
                    message: "boom".into(),
                })
            }
        });
        let results: Vec<Result<usize, Error>> = futures::StreamExt::collect(stream).await;
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(matches!(results[1], Err(Error::Protocol { .. })));
    }

    #[test]
    fn the_list_cursor_prefers_meta_and_falls_back_to_the_last_record() {
        let contact = |id: &str, date_added: &str| Contact {
            date_added: Some(date_added.into()),
            ..serde_json::from_value(serde_json::json!({"id": id})).unwrap()
        };
        let mut page = ContactPage {
            contacts: vec![
                contact("a", "2024-01-01T00:00:00.000Z"),
                contact("b", "2024-01-01T00:00:01.500Z"),
            ],
            ..ContactPage::default()
        };
        assert_eq!(
            list_cursor(&page).unwrap(),
            (Some(ContactId::new("b")), Some(1_704_067_201_500))
        );
        page.meta = Some(super::super::models::ListMeta {
            start_after_id: Some(ContactId::new("m")),
            start_after: Some(7),
            ..Default::default()
        });
        assert_eq!(
            list_cursor(&page).unwrap(),
            (Some(ContactId::new("m")), Some(7))
        );
    }
}
