//! The commands that need no provider and no network: `spec diff` and
//! `webhook verify`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::output::{self, Output};
use super::{documents, tasks};
use crate::Error;

/// `spec diff`: 0 nothing breaks, 1 something does, 2 bad input.
pub(super) fn spec_diff(
    vendored: Option<crate::Provider>,
    files: &[PathBuf],
    out: Output,
) -> Result<u8, Error> {
    use crate::spec::{diff, Document};
    let documents = match (vendored, files) {
        (Some(p), [new]) => Document::read(new).map(|new| (Document::vendored(p), new)),
        (None, [old, new]) => Document::read(old).and_then(|old| Ok((old, Document::read(new)?))),
        (Some(_), _) => {
            return Err(Error::validation("--vendored", "takes one file: NEW.yaml"));
        }
        (None, _) => {
            return Err(Error::validation(
                "FILE",
                "give OLD.yaml NEW.yaml, or --vendored PROVIDER NEW.yaml",
            ))
        }
    };
    let report = documents
        .and_then(|(old, new)| diff(&old, &new))
        .map_err(|e| Error::validation(&e.name, e.message))?;
    if out.json {
        output::emit(&documents::SpecDiff {
            schema_version: documents::Version,
            exit_code: report.exit_code(),
            report: report.clone(),
        });
    } else {
        // Through the printer's rule: a reader that has gone is not an error.
        let written = std::io::stdout()
            .lock()
            .write_all(report.render().as_bytes());
        if tasks::quietly(written) != 0 {
            return Ok(3);
        }
    }
    Ok(report.exit_code())
}

pub(super) fn verify_webhook(
    secret: &str,
    headers: &Path,
    body: &Path,
    now: SystemTime,
    out: Output,
) -> Result<u8, Error> {
    let read = |p: &Path, field: &str| {
        std::fs::read(p)
            .map_err(|e| Error::validation(field, format!("cannot read {}: {e}", p.display())))
    };
    let raw_headers = read(headers, "--headers")?;
    let body = read(body, "--body")?;
    let map =
        parse_headers(&raw_headers).map_err(|reason| Error::validation("--headers", reason))?;
    let event = crate::webhook::verify(secret, &map, &body, now)?;
    out.event(&event);
    Ok(0)
}

/// `Name: value` lines (as an HTTP dump has them) or a JSON object.
fn parse_headers(raw: &[u8]) -> Result<reqwest::header::HeaderMap, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "is not UTF-8 text".to_string())?;
    let pairs: Vec<(String, String)> = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
    };
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("`{k}` is not a header name"))?;
        let value = reqwest::header::HeaderValue::from_str(&v)
            .map_err(|_| format!("the value of `{k}` is not a header value"))?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_from_lines_or_json() {
        let lines = parse_headers(b"webhook-id: msg_1\r\nWebhook-Timestamp: 17\n").unwrap();
        assert_eq!(lines["webhook-timestamp"], "17");
        let json = parse_headers(br#"{"webhook-id": "msg_1", "webhook-timestamp": 17}"#).unwrap();
        assert_eq!(json["webhook-timestamp"], "17");
        assert!(parse_headers(b"bad header: \x01").is_err());
    }
}
