//! Exact wire checks of Flickr calls, read from the simulator's request log: reads as GET with
//! their arguments in the query, writes as form POSTs, uploads as multipart without `format`,
//! the OAuth signature in the `Authorization` header, and no secret in any request or log line.

use std::sync::{Arc, Mutex};

use tether_connectors::flickr::PhotoId;
use tether_connectors::flickr::upload::{UploadFile, UploadOptions};
use tether_sim::flickr::DEFAULT_CONSUMER_SECRET;
use tether_sim::ghl::log::LoggedRequest;
use tracing::instrument::WithSubscriber;

use crate::flickr_support::{FlickrTest, header, param, params};

fn only(requests: Vec<LoggedRequest>) -> LoggedRequest {
    assert_eq!(requests.len(), 1, "{requests:#?}");
    requests.into_iter().next().unwrap()
}

/// The request carries no secret anywhere: neither secret travels, only what they sign.
fn assert_no_secret(test: &FlickrTest, request: &LoggedRequest) {
    let everything = format!(
        "{:?} {:?} {:?}",
        request.query, request.headers, request.body
    );
    for secret in [DEFAULT_CONSUMER_SECRET, test.token.1.as_str()] {
        assert!(
            !everything.contains(secret),
            "a secret was sent: {everything}"
        );
    }
}

fn authorization(request: &LoggedRequest) -> String {
    header(request, "authorization")
        .expect("signed in the header")
        .to_owned()
}

#[tokio::test]
async fn reads_are_signed_gets() {
    let test = FlickrTest::start().await;
    let mark = test.log_mark();
    test.client.test().login().await.unwrap();
    let request = only(test.log_since(mark));
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/services/rest")
    );
    assert_eq!(request.body, "");
    assert_eq!(
        param(&request, "method").as_deref(),
        Some("flickr.test.login")
    );
    assert_eq!(param(&request, "format").as_deref(), Some("json"));
    assert_eq!(param(&request, "nojsoncallback").as_deref(), Some("1"));
    assert_eq!(
        param(&request, "api_key"),
        None,
        "the consumer key travels as oauth_consumer_key"
    );
    let auth = authorization(&request);
    assert!(
        auth.starts_with("OAuth oauth_consumer_key=\"sim-flickr-key\", "),
        "{auth}"
    );
    for field in [
        "oauth_nonce=",
        "oauth_timestamp=",
        "oauth_signature_method=\"HMAC-SHA1\"",
        "oauth_version=\"1.0\"",
        "oauth_signature=",
    ] {
        assert!(auth.contains(field), "{field} in {auth}");
    }
    assert!(
        auth.contains(&format!("oauth_token=\"{}\"", test.token.0)),
        "{auth}"
    );
    assert!(
        params(&request)
            .iter()
            .all(|(name, _)| !name.starts_with("oauth_")),
        "protocol parameters only in the header"
    );
    assert_no_secret(&test, &request);
    assert_eq!(request.status, 200);
}

#[tokio::test]
async fn writes_are_signed_form_posts() {
    let test = FlickrTest::start().await;
    let photo = PhotoId::new(test.photos(1, "p").remove(0));
    let mark = test.log_mark();
    test.client
        .photos()
        .set_meta(&photo, Some("Jane Doe; tags=a+b"), Some("é & ~ 100%"))
        .await
        .unwrap();
    let request = only(test.log_since(mark));
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/services/rest")
    );
    assert_eq!(request.query, None);
    assert_eq!(
        header(&request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let mut sent = params(&request);
    sent.sort();
    let mut expected: Vec<(String, String)> = [
        ("description", "é & ~ 100%"),
        ("format", "json"),
        ("method", "flickr.photos.setMeta"),
        ("nojsoncallback", "1"),
        ("photo_id", photo.as_str()),
        ("title", "Jane Doe; tags=a+b"),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    expected.sort();
    assert_eq!(sent, expected);
    assert!(authorization(&request).contains("oauth_signature=\""));
    assert_no_secret(&test, &request);
}

#[tokio::test]
async fn uploads_are_multipart_without_format() {
    let test = FlickrTest::start().await;
    let mark = test.log_mark();
    let file = UploadFile {
        bytes: bytes::Bytes::from_static(b"\xff\xd8\xff\xe0 fake jpeg"),
        filename: "tulips.jpg".into(),
        content_type: Some("image/jpeg".into()),
    };
    let options = UploadOptions {
        title: Some("Tulips".into()),
        tags: Some(vec!["spring".into()]),
        ..UploadOptions::default()
    };
    let uploaded = test.client.upload().upload(&file, &options).await.unwrap();
    assert!(uploaded.photo_id.is_some());
    let request = only(test.log_since(mark));
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/services/upload/")
    );
    assert!(
        header(&request, "content-type")
            .is_some_and(|value| value.starts_with("multipart/form-data; boundary=")),
        "{:?}",
        header(&request, "content-type")
    );
    assert!(
        request
            .body
            .contains("name=\"photo\"; filename=\"tulips.jpg\""),
        "{}",
        request.body
    );
    assert!(
        request.body.contains("name=\"title\"\r\n\r\nTulips\r\n"),
        "{}",
        request.body
    );
    assert!(
        !request.body.contains("name=\"format\""),
        "upload answers XML only"
    );
    assert!(authorization(&request).contains("oauth_signature=\""));
    assert_no_secret(&test, &request);
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let test = FlickrTest::start().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Scoped to this test's futures, so other tests' logs neither mix in nor need a global
    // subscriber.
    let calls = async {
        test.client.test().login().await.unwrap();
        let photo = PhotoId::new(test.photos(1, "p").remove(0));
        test.client
            .photos()
            .set_meta(&photo, Some("t"), None)
            .await
            .unwrap();
        let wrong = test.client_with_keys("wrong-secret", &test.token.0, &test.token.1);
        let error = wrong.test().login().await.unwrap_err();
        tracing::warn!(%error, "A refused call.");
        let unsigned_key =
            test.client_with_keys(DEFAULT_CONSUMER_SECRET, "no-such-token", &test.token.1);
        let error = unsigned_key.test().login().await.unwrap_err();
        tracing::warn!(%error, "Another refused call.");
    };
    calls.with_subscriber(subscriber).await;
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("A refused call."),
        "the capture works: {logs}"
    );
    for secret in [
        DEFAULT_CONSUMER_SECRET,
        test.token.1.as_str(),
        "wrong-secret",
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}
