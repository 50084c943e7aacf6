//! Streaming a finished video to disk: chunks go to a temporary file in the
//! target's directory, which is renamed into place only when every byte the
//! server promised has arrived. An error, or a dropped future, removes the
//! temporary file, so the target is either whole or absent.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::Error;

/// Called with bytes received so far and the total, when known.
pub type DownloadProgress<'a> = &'a (dyn Fn(u64, Option<u64>) + Send + Sync);

/// Where a download went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The file written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, as lower-case hex.
    pub sha256: String,
}

/// A temporary file that deletes itself unless kept.
struct PartFile {
    path: PathBuf,
    kept: bool,
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn part_path(target: &Path) -> Result<PathBuf, Error> {
    let name = target.file_name().ok_or_else(|| {
        Error::validation("output", format!("{} has no file name", target.display()))
    })?;
    let part = format!(
        ".{}.{}.part",
        name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    );
    Ok(target.with_file_name(part))
}

/// An I/O error that names the file it happened on.
pub(crate) fn io_at(path: &Path, e: std::io::Error) -> Error {
    Error::Io(std::io::Error::new(
        e.kind(),
        format!("{}: {e}", path.display()),
    ))
}

/// Writes `body` to `target` through a temporary file; checks the length
/// against `expected` (the response's `Content-Length`) before renaming.
pub(crate) async fn to_file<S, E>(
    expected: Option<u64>,
    mut body: S,
    target: &Path,
    progress: Option<DownloadProgress<'_>>,
) -> Result<Downloaded, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    Error: From<E>,
{
    let mut part = PartFile {
        path: part_path(target)?,
        kept: false,
    };
    let file = tokio::fs::File::create(&part.path)
        .await
        .map_err(|e| io_at(&part.path, e))?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 16, file);
    let mut received = 0u64;
    let mut hash = Sha256::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        received += chunk.len() as u64;
        if expected.is_some_and(|n| received > n) {
            break;
        }
        hash.update(&chunk);
        out.write_all(&chunk)
            .await
            .map_err(|e| io_at(&part.path, e))?;
        if let Some(report) = progress {
            report(received, expected);
        }
    }
    if let Some(n) = expected.filter(|n| *n != received) {
        return Err(Error::TruncatedDownload {
            expected: n,
            received,
        });
    }
    out.flush().await.map_err(|e| io_at(&part.path, e))?;
    out.get_mut()
        .sync_all()
        .await
        .map_err(|e| io_at(&part.path, e))?;
    drop(out);
    tokio::fs::rename(&part.path, target)
        .await
        .map_err(|e| io_at(target, e))?;
    part.kept = true;
    Ok(Downloaded {
        path: target.to_path_buf(),
        bytes: received,
        sha256: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: Vec<Result<&'static [u8], std::io::Error>>,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|r| r.map(Bytes::from_static)))
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_whole_body_lands_at_the_target_and_nothing_else_remains() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v.mp4");
        let got = to_file(Some(6), chunks(vec![Ok(b"abc"), Ok(b"def")]), &target, None)
            .await
            .unwrap();
        assert_eq!(got.bytes, 6);
        assert_eq!(std::fs::read(&target).unwrap(), b"abcdef");
        assert_eq!(leftovers(dir.path()), ["v.mp4"]);
    }

    #[tokio::test]
    async fn a_short_body_or_a_broken_stream_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v.mp4");
        let err = to_file(Some(10), chunks(vec![Ok(b"abc")]), &target, None)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 10 bytes (Content-Length) but received 3"),
            "{err}"
        );
        let broken = chunks(vec![Ok(b"abc"), Err(std::io::Error::other("reset"))]);
        assert!(to_file(None, broken, &target, None).await.is_err());
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[tokio::test]
    async fn an_existing_target_survives_a_failed_download() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v.mp4");
        std::fs::write(&target, b"old").unwrap();
        assert!(to_file(Some(5), chunks(vec![Ok(b"ab")]), &target, None)
            .await
            .is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
    }
}
