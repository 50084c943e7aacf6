//! Webhook verification against vectors computed outside this crate, with
//! Python's standard library:
//!
//! ```text
//! python3 -c 'import hmac,hashlib,base64
//! body=b"{\"task_id\":\"046b6c7f-0b8a-43b9-b35d-6489e6daee91\",\"status\":\"COMPLETED\",\"generated\":[\"https://cdn.example/v.mp4\"]}"
//! for key in [b"my-raw-secret", base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]:
//!     print(base64.b64encode(hmac.new(key, b"msg_2Kq8xZ.1795238000."+body, hashlib.sha256).digest()).decode())'
//! ```

use std::time::{Duration, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};
use seedance_mini::webhook::{sign, verify, WebhookError};
use seedance_mini::TaskStatus;

const BODY: &[u8] = br#"{"task_id":"046b6c7f-0b8a-43b9-b35d-6489e6daee91","status":"COMPLETED","generated":["https://cdn.example/v.mp4"]}"#;
const ID: &str = "msg_2Kq8xZ";
const TS: u64 = 1795238000;
const RAW_SECRET: &str = "my-raw-secret";
const RAW_SIG: &str = "v1,zwmyR5HVuH42YynxrmSJbh5nMj5bV4l+2m3K60oHuH0=";
const WHSEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WHSEC_SIG: &str = "v1,z6pFtCC9++ry4KpVarIfq1GOF6jig8eH3uBUZHfBiNA=";

fn headers(signature: &str, ts: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("webhook-id", HeaderValue::from_static(ID));
    h.insert(
        "webhook-timestamp",
        HeaderValue::from_str(&ts.to_string()).unwrap(),
    );
    h.insert(
        "webhook-signature",
        HeaderValue::from_str(signature).unwrap(),
    );
    h
}

fn at(secs: u64) -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn a_raw_secret_verifies_and_yields_the_task_event() {
    let event = verify(RAW_SECRET, &headers(RAW_SIG, TS), BODY, at(TS + 10)).unwrap();
    assert_eq!(event.id, ID);
    assert_eq!(event.task_id, "046b6c7f-0b8a-43b9-b35d-6489e6daee91");
    assert_eq!(event.status, TaskStatus::Completed);
    assert_eq!(event.generated, ["https://cdn.example/v.mp4"]);
    assert_eq!(event.timestamp, at(TS));
}

#[test]
fn a_whsec_secret_is_base64_decoded_first() {
    verify(WHSEC_SECRET, &headers(WHSEC_SIG, TS), BODY, at(TS)).unwrap();
}

#[test]
fn any_of_several_signatures_may_match() {
    let several = format!("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v2,ignored {RAW_SIG}");
    verify(RAW_SECRET, &headers(&several, TS), BODY, at(TS)).unwrap();
}

#[test]
fn a_tampered_body_fails() {
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("COMPLETED", "FAILED");
    let err = verify(
        RAW_SECRET,
        &headers(RAW_SIG, TS),
        tampered.as_bytes(),
        at(TS),
    )
    .unwrap_err();
    assert_eq!(err, WebhookError::NoMatchingSignature);
}

#[test]
fn a_wrong_secret_fails() {
    let err = verify("not-the-secret", &headers(RAW_SIG, TS), BODY, at(TS)).unwrap_err();
    assert_eq!(err, WebhookError::NoMatchingSignature);
}

#[test]
fn a_stale_or_future_timestamp_fails_beyond_five_minutes() {
    verify(RAW_SECRET, &headers(RAW_SIG, TS), BODY, at(TS + 300)).unwrap();
    let err = verify(RAW_SECRET, &headers(RAW_SIG, TS), BODY, at(TS + 301)).unwrap_err();
    assert_eq!(err, WebhookError::StaleTimestamp { skew_secs: 301 });
    let err = verify(RAW_SECRET, &headers(RAW_SIG, TS), BODY, at(TS - 400)).unwrap_err();
    assert_eq!(err, WebhookError::StaleTimestamp { skew_secs: 400 });
}

#[test]
fn missing_headers_are_named() {
    let mut h = headers(RAW_SIG, TS);
    h.remove("webhook-signature");
    assert_eq!(
        verify(RAW_SECRET, &h, BODY, at(TS)).unwrap_err(),
        WebhookError::MissingHeader("webhook-signature")
    );
}

#[test]
fn sign_produces_what_python_computed() {
    assert_eq!(sign(RAW_SECRET, ID, TS, BODY).unwrap(), RAW_SIG);
    assert_eq!(sign(WHSEC_SECRET, ID, TS, BODY).unwrap(), WHSEC_SIG);
}

#[test]
fn thousands_of_empty_entries_cost_nothing_and_hide_no_signature() {
    // Empty `v1,` entries are skipped and only the first entries are read:
    // a valid signature placed after 2,000 empty ones is not looked at.
    let padded = format!("{} {RAW_SIG}", "v1, ".repeat(2000));
    let err = verify(RAW_SECRET, &headers(&padded, TS), BODY, at(TS)).unwrap_err();
    assert_eq!(err, WebhookError::NoMatchingSignature);
    // Within the cap, a valid one still matches beside empty and bad ones.
    let few = format!("v1, v1,AAAA {RAW_SIG}");
    assert!(verify(RAW_SECRET, &headers(&few, TS), BODY, at(TS)).is_ok());
}

#[test]
fn secrets_that_give_an_empty_or_garbled_key_are_refused() {
    for secret in ["", "whsec_", "whsec_!!!not base64!!!"] {
        let err = verify(secret, &headers(RAW_SIG, TS), BODY, at(TS)).unwrap_err();
        assert!(
            matches!(err, WebhookError::InvalidSecret(_)),
            "{secret:?}: {err:?}"
        );
        assert!(sign(secret, ID, TS, BODY).is_err(), "{secret:?}");
    }
    // An empty key's signature, which anyone can compute, never verifies.
    let forged = {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"").unwrap();
        mac.update(format!("{ID}.{TS}.").as_bytes());
        mac.update(BODY);
        use base64::Engine as _;
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    };
    assert!(verify("whsec_", &headers(&forged, TS), BODY, at(TS)).is_err());
}
