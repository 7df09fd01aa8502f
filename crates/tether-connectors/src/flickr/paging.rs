//! Paging as streams: each stream yields every record of a listing, fetching the next page only
//! once the caller has taken the current one's records, so memory holds one page at a time.
//!
//! Flickr pages with `page` (from 1) and `per_page`, and each answer says `page` and `pages`
//! (reference README §9). A stream ends after the page where `page >= pages`, and also at an
//! empty page, so a service that keeps answering `pages` larger than it can fill cannot make a
//! stream spin. Flickr repeats earlier results past `photos.search`'s 4,000th and
//! `people.getPhotos`' page 10,000; split such queries by date windows rather than page deeper.

use std::collections::VecDeque;
use std::future::Future;

use futures::Stream;

use super::Error;
use super::models::Paging;

/// One fetched page: its records and its paging attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// `page`, `pages` … as answered.
    pub paging: Paging,
}

/// Turns a page fetcher into a stream of records. `fetch` is called with page `first`, then with
/// each next page number, and only once the previous page's records have all been taken.
pub fn into_stream<T, F, Fut>(first: u64, fetch: F) -> impl Stream<Item = Result<T, Error>>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let state = (VecDeque::new(), Some(first.max(1)), fetch);
    futures::stream::try_unfold(state, |(mut buffer, mut next, mut fetch)| async move {
        loop {
            if let Some(item) = buffer.pop_front() {
                return Ok(Some((item, (buffer, next, fetch))));
            }
            let Some(page_number) = next.take() else {
                return Ok(None);
            };
            let page = fetch(page_number).await?;
            if page.items.is_empty() {
                return Ok(None);
            }
            // The answer's own page number decides, so a service that clamps an out-of-range
            // page (answering its last page again) ends the stream instead of repeating it.
            let answered = if page.paging.page == 0 {
                page_number
            } else {
                page.paging.page
            };
            if answered < page.paging.pages && answered >= page_number {
                next = Some(answered + 1);
            }
            buffer.extend(page.items);
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use futures::{StreamExt, TryStreamExt};

    use super::*;

    fn paging(page: u64, pages: u64) -> Paging {
        Paging {
            page,
            pages,
            ..Paging::default()
        }
    }

    #[tokio::test]
    async fn pages_are_fetched_until_the_last() {
        let fetched = Arc::new(AtomicU64::new(0));
        let counter = fetched.clone();
        let stream = into_stream(1, move |page| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Page {
                    items: vec![page * 10, page * 10 + 1],
                    paging: paging(page, 3),
                })
            }
        });
        let items: Vec<u64> = stream.try_collect().await.unwrap();
        assert_eq!(items, vec![10, 11, 20, 21, 30, 31]);
        assert_eq!(fetched.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_next_page_is_fetched_only_when_needed() {
        let fetched = Arc::new(AtomicU64::new(0));
        let counter = fetched.clone();
        let stream = into_stream(1, move |page| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Page {
                    items: vec![page; 5],
                    paging: paging(page, 100),
                })
            }
        });
        let first: Vec<_> = stream.take(5).collect().await;
        assert_eq!(first.len(), 5);
        assert_eq!(fetched.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn empty_or_clamped_pages_end_the_stream() {
        let empty = into_stream(1, |page| async move {
            Ok(Page::<u64> {
                items: Vec::new(),
                paging: paging(page, 9),
            })
        });
        assert!(empty.try_collect::<Vec<_>>().await.unwrap().is_empty());
        // A service answering page 2 of 2 for every request past it.
        let clamped = into_stream(3, |_| async move {
            Ok(Page {
                items: vec![1u64],
                paging: paging(2, 2),
            })
        });
        assert_eq!(clamped.try_collect::<Vec<_>>().await.unwrap(), vec![1]);
        let failing = into_stream(1, |_| async move {
            Err::<Page<u64>, _>(Error::Protocol {
                message: "x".into(),
            })
        });
        assert!(failing.try_collect::<Vec<_>>().await.is_err());
    }
}
