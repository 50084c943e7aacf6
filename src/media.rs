//! Images, videos and audio given as a URL, as bytes, or as a local path,
//! and encoded the way each provider takes them.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use bytes::Bytes;

use crate::{Error, RequestField};

/// An image, video or audio input.
#[derive(Clone, PartialEq, Eq)]
pub enum Media {
    /// A URL the provider fetches itself (also `data:` URIs and `asset://` ids).
    Url(String),
    /// Bytes in memory, with their MIME type.
    Bytes {
        /// The content.
        data: Bytes,
        /// Its MIME type, such as `image/png`.
        mime: String,
    },
    /// A local file, read when the request is sent.
    Path(PathBuf),
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Media::Url(u) if u.starts_with("data:") => {
                write!(f, "Url(data URI, {} chars)", u.len())
            }
            Media::Url(u) => f.debug_tuple("Url").field(u).finish(),
            Media::Bytes { data, mime } => write!(f, "Bytes({} bytes of {mime})", data.len()),
            Media::Path(p) => f.debug_tuple("Path").field(p).finish(),
        }
    }
}

impl Media {
    /// A URL.
    pub fn url(url: impl Into<String>) -> Self {
        Media::Url(url.into())
    }

    /// Bytes with their MIME type.
    pub fn bytes(data: impl Into<Bytes>, mime: impl Into<String>) -> Self {
        Media::Bytes {
            data: data.into(),
            mime: mime.into(),
        }
    }

    /// A local file.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        Media::Path(path.into())
    }

    /// Whether this is a URL (or data URI / asset id) rather than local content.
    pub fn is_url(&self) -> bool {
        matches!(self, Media::Url(_))
    }

    /// Checks what can be checked without sending: a URL is absolute, a file
    /// exists and is a file, and local content is within `max_bytes`.
    pub(crate) fn check(&self, field: RequestField, max_bytes: Option<u64>) -> Result<(), Error> {
        let size = match self {
            Media::Url(u) => {
                let ok = ["http://", "https://", "data:", "asset://"]
                    .iter()
                    .any(|p| u.starts_with(p));
                if !ok {
                    return Err(Error::validation(
                        field,
                        format!("`{u}` is not an http(s), data: or asset:// URL"),
                    ));
                }
                return Ok(());
            }
            Media::Bytes { data, .. } => data.len() as u64,
            Media::Path(p) => {
                let meta = std::fs::metadata(p).map_err(|e| {
                    Error::validation(field, format!("cannot read {}: {e}", p.display()))
                })?;
                if !meta.is_file() {
                    return Err(Error::validation(
                        field,
                        format!("{} is not a file", p.display()),
                    ));
                }
                meta.len()
            }
        };
        if size == 0 {
            return Err(Error::validation(field, "is empty"));
        }
        match max_bytes {
            Some(max) if size > max => Err(Error::validation(
                field,
                format!(
                    "is {size} bytes; the provider takes at most {} MB",
                    max / 1_000_000
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The content and MIME type of local media; `None` for a URL.
    pub(crate) async fn load(&self, field: RequestField) -> Result<Option<(Bytes, String)>, Error> {
        match self {
            Media::Url(_) => Ok(None),
            Media::Bytes { data, mime } => Ok(Some((data.clone(), mime.clone()))),
            Media::Path(p) => {
                let data = tokio::fs::read(p).await.map_err(|e| {
                    Error::validation(field, format!("cannot read {}: {e}", p.display()))
                })?;
                let mime = mime_of(p, &data);
                Ok(Some((Bytes::from(data), mime)))
            }
        }
    }

    /// A URL as given, or local content as plain base64 (Magnific's form).
    pub(crate) async fn to_url_or_base64(&self, field: RequestField) -> Result<String, Error> {
        match (self, self.load(field).await?) {
            (Media::Url(u), _) => Ok(u.clone()),
            (_, Some((data, _))) => Ok(base64::engine::general_purpose::STANDARD.encode(&data)),
            (_, None) => unreachable!("local media always loads"),
        }
    }

    /// A URL as given, or local content as a `data:` URI (Anyfast's form).
    pub(crate) async fn to_url_or_data_uri(&self, field: RequestField) -> Result<String, Error> {
        match (self, self.load(field).await?) {
            (Media::Url(u), _) => Ok(u.clone()),
            (_, Some((data, mime))) => Ok(format!(
                "data:{mime};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&data)
            )),
            (_, None) => unreachable!("local media always loads"),
        }
    }
}

/// A path or a URL, as typed on a command line.
impl From<&str> for Media {
    fn from(s: &str) -> Self {
        if ["http://", "https://", "data:", "asset://"]
            .iter()
            .any(|p| s.starts_with(p))
        {
            Media::Url(s.to_string())
        } else {
            Media::Path(PathBuf::from(s))
        }
    }
}

/// The ledger's form: a URL as written; anything local as its digest
/// (`sha256`, `bytes`), never its content, with the path it was read from
/// and a `data:` URI as its digest and length. What a job is, and what the
/// journal records of it.
impl serde::Serialize for Media {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(None)?;
        match self {
            Media::Url(url) if url.starts_with("data:") => {
                map.serialize_entry("data_uri_sha256", &crate::hash::sha256_hex(url.as_bytes()))?;
                map.serialize_entry("chars", &url.len())?;
            }
            Media::Url(url) => map.serialize_entry("url", url)?,
            Media::Bytes { data, mime } => {
                map.serialize_entry("sha256", &crate::hash::sha256_hex(data))?;
                map.serialize_entry("bytes", &data.len())?;
                map.serialize_entry("mime", mime)?;
            }
            Media::Path(path) => {
                map.serialize_entry("path", &path.to_string_lossy())?;
                if let Ok(data) = std::fs::read(path) {
                    map.serialize_entry("sha256", &crate::hash::sha256_hex(&data))?;
                    map.serialize_entry("bytes", &data.len())?;
                }
            }
        }
        map.end()
    }
}

/// A string, as `--image` and a batch file's `"image"` take it: a URL
/// (`http(s)://`, `data:`, `asset://`) or a local path.
impl<'de> serde::Deserialize<'de> for Media {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Media::from)
    }
}

impl From<String> for Media {
    fn from(s: String) -> Self {
        Media::from(s.as_str())
    }
}

impl From<PathBuf> for Media {
    fn from(p: PathBuf) -> Self {
        Media::Path(p)
    }
}

impl From<&Path> for Media {
    fn from(p: &Path) -> Self {
        Media::Path(p.to_path_buf())
    }
}

/// The MIME type of a file, from its first bytes, else its extension.
pub(crate) fn mime_of(path: &Path, data: &[u8]) -> String {
    let sniffed = match data {
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => Some("audio/wav"),
        [b'B', b'M', ..] => Some("image/bmp"),
        [_, _, _, _, b'f', b't', b'y', b'p', b'q', b't', ..] => Some("video/quicktime"),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Some("video/mp4"),
        [b'I', b'D', b'3', ..] | [0xFF, 0xFB, ..] => Some("audio/mpeg"),
        _ => None,
    };
    if let Some(m) = sniffed {
        return m.into();
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_look_like_urls_are_urls_and_the_rest_are_paths() {
        assert!(Media::from("https://x/y.png").is_url());
        assert!(Media::from("data:image/png;base64,AA==").is_url());
        assert_eq!(Media::from("./y.png"), Media::Path("./y.png".into()));
    }

    #[test]
    fn mime_comes_from_content_before_extension() {
        assert_eq!(mime_of(Path::new("a.jpg"), b"\x89PNG\r\n"), "image/png");
        assert_eq!(mime_of(Path::new("a.jpg"), b"??"), "image/jpeg");
        assert_eq!(mime_of(Path::new("a"), b"??"), "application/octet-stream");
    }

    #[tokio::test]
    async fn local_bytes_encode_as_base64_or_data_uri() {
        let m = Media::bytes(&b"hi"[..], "image/png");
        assert_eq!(
            m.to_url_or_base64(RequestField::FirstFrame).await.unwrap(),
            "aGk="
        );
        assert_eq!(
            m.to_url_or_data_uri(RequestField::FirstFrame)
                .await
                .unwrap(),
            "data:image/png;base64,aGk="
        );
    }

    #[test]
    fn checks_name_the_field_and_the_rule() {
        let err = Media::path("/nonexistent/first.png")
            .check(RequestField::FirstFrame, None)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid `first_frame`: cannot read /nonexistent/first.png"),
            "{err}"
        );
        let err = Media::bytes(vec![0u8; 11], "image/png")
            .check(RequestField::ReferenceImages, Some(10))
            .unwrap_err();
        assert!(err.to_string().contains("is 11 bytes"), "{err}");
        assert!(Media::url("ftp://x")
            .check(RequestField::FirstFrame, None)
            .is_err());
    }
}
