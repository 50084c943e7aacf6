//! Building answers: JSON bodies and MP4 files, the two shapes every part of
//! the mock replies with.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use super::video::{self, VideoSpec};

/// A JSON response with `status` and `content_type`.
pub(crate) fn json_response(
    status: u16,
    content_type: &str,
    body: &Value,
) -> http::Response<Bytes> {
    json_bytes(
        status,
        content_type,
        serde_json::to_vec(body).expect("JSON values serialise"),
    )
}

/// A response whose body is already serialised JSON.
pub(crate) fn json_bytes(status: u16, content_type: &str, body: Vec<u8>) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = match content_type {
        "application/json" => http::HeaderValue::from_static("application/json"),
        other => other.parse().expect("a valid media type"),
    };
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, content_type);
    response
}

/// The MP4 `spec` describes, or a 500 naming why it could not be made.
pub(crate) fn mp4_response(spec: &VideoSpec) -> http::Response<Bytes> {
    match video::mp4(spec) {
        Ok(bytes) => {
            let mut response = http::Response::new(Bytes::from(bytes));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                "video/mp4".parse().expect("static"),
            );
            response
        }
        Err(e) => json_response(
            500,
            "application/json",
            &json!({ "message": format!("mock video: {e}") }),
        ),
    }
}
