//! The `X-Request-Id` a client may send: kept when it is a short, plain token, replaced by
//! warden's own otherwise.
//!
//! The request id lands in logs, in audit events (which are never rewritten) and in answers
//! shown to people, so a client must not be able to put 10 KB, line breaks, markup or
//! non-ASCII bytes there. An unacceptable id is removed before the request-id layer runs, which
//! then generates a UUID as it does for a request without one.

use axum::extract::Request;
use axum::http::HeaderName;

/// The header carrying the request id.
pub(super) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-supplied request id kept.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// True for an id of 1 to [`MAX_REQUEST_ID_LEN`] characters from `[A-Za-z0-9._:-]`.
pub fn acceptable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Removes the client's `X-Request-Id` unless there is exactly one and it is acceptable, so
/// that the request-id layer after this one generates warden's own.
pub(super) fn drop_unacceptable(mut req: Request) -> Request {
    let headers = req.headers_mut();
    let mut values = headers.get_all(&REQUEST_ID).iter();
    let keep = match (values.next(), values.next()) {
        (Some(one), None) => acceptable(one.as_bytes()),
        _ => false,
    };
    if !keep {
        headers.remove(&REQUEST_ID);
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_ids() {
        let long = "a".repeat(MAX_REQUEST_ID_LEN);
        let too_long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        let cases: &[(&[u8], bool)] = &[
            (b"2f1c7e0a-9b1d-4d7e-8c1a-0e5b7f3a9c21", true),
            (b"req.42:retry_1-A", true),
            (long.as_bytes(), true),
            (too_long.as_bytes(), false),
            (b"", false),
            (b"a b", false),
            (b"a\tb", false),
            (b"a\nb", false),
            (b"a\r\nX-Evil: 1", false),
            (b"a\0b", false),
            ("caf\u{e9}".as_bytes(), false),
            (b"\xff\xfe", false),
            (b"<script>", false),
            (b"../../etc/passwd", false),
            (b"a\"b", false),
            (b"a`b", false),
            (b"a/b", false),
            (b"a%0Ab", false),
        ];
        for (id, want) in cases {
            assert_eq!(acceptable(id), *want, "{:?}", String::from_utf8_lossy(id));
        }
    }

    #[test]
    fn only_one_acceptable_id_is_kept() {
        let request = |ids: &[&str]| {
            let mut builder = Request::builder();
            for id in ids {
                builder = builder.header("x-request-id", *id);
            }
            drop_unacceptable(builder.body(axum::body::Body::empty()).unwrap())
        };
        let kept = request(&["abc-1"]);
        assert_eq!(kept.headers().get(&REQUEST_ID).unwrap(), "abc-1");
        assert!(request(&["a b"]).headers().get(&REQUEST_ID).is_none());
        assert!(request(&["abc-1", "abc-2"])
            .headers()
            .get(&REQUEST_ID)
            .is_none());
        assert!(request(&[]).headers().get(&REQUEST_ID).is_none());
    }
}
