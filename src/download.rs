//! Streaming a finished video to disk: chunks go to a temporary file in the
//! target's directory, which is renamed into place only when every byte the
//! server promised has arrived. An error, or a dropped future, removes the
//! temporary file, so the target is either whole or absent.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::Error;

/// Called with bytes received so far and the total, when known: shared, as
/// the crate's other callbacks ([`Acceptor`](crate::wait::Acceptor),
/// [`OnEvent`](crate::batch::OnEvent)) are.
pub type DownloadProgress = std::sync::Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// A borrowed [`DownloadProgress`], as it is passed along inside.
pub(crate) type ProgressRef<'a> = &'a (dyn Fn(u64, Option<u64>) + Send + Sync);

/// Where a download went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

/// The most top-level boxes [`is_whole_mp4`] reads before giving up.
const MAX_TOP_LEVEL_BOXES: usize = 4096;

/// Whether `path` holds a whole MP4: its top-level boxes tile the file
/// exactly, starting with `ftyp`, and include `moov` and `mdat`. Only box
/// headers are read (at most 4,096 of them), so checking
/// a large file costs a few reads. Written here rather than with the `mp4`
/// crate, which parses every sample table and is an optional dependency.
pub fn is_whole_mp4(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    let (mut offset, mut seen) = (0u64, [false; 3]);
    for index in 0..MAX_TOP_LEVEL_BOXES {
        if offset == len {
            return seen == [true; 3];
        }
        let mut header = [0u8; 16];
        if file.seek(SeekFrom::Start(offset)).is_err() || file.read_exact(&mut header[..8]).is_err()
        {
            return false;
        }
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => len - offset,
            1 => match file.read_exact(&mut header[8..16]) {
                Ok(()) => u64::from_be_bytes(header[8..16].try_into().unwrap_or_default()),
                Err(_) => return false,
            },
            n => u64::from(n),
        };
        if size < 8 || (index == 0) != (&kind == b"ftyp") {
            return false;
        }
        for (flag, name) in seen.iter_mut().zip([b"ftyp", b"moov", b"mdat"]) {
            *flag |= &kind == name;
        }
        offset = match offset.checked_add(size) {
            Some(next) if next <= len => next,
            _ => return false,
        };
    }
    false
}

/// A video file's frame size and length, read from its `moov` box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoShape {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Length in seconds.
    pub seconds: f64,
}

/// The most `moov` bytes [`probe_mp4`] reads.
const MAX_MOOV: u64 = 16 << 20;

/// The frame size (the first track with one) and length of the MP4 at
/// `path`, from its `mvhd` and `tkhd` boxes; `None` if it is not a whole MP4
/// or its `moov` is larger than 16 MiB.
pub fn probe_mp4(path: &Path) -> Option<VideoShape> {
    use std::io::{Read, Seek, SeekFrom};
    if !is_whole_mp4(path) {
        return None;
    }
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut offset = 0u64;
    let moov = loop {
        let mut header = [0u8; 8];
        file.seek(SeekFrom::Start(offset)).ok()?;
        file.read_exact(&mut header).ok()?;
        let size = u64::from(u32::from_be_bytes(header[..4].try_into().ok()?));
        let size = match size {
            0 => len - offset,
            1 => {
                let mut large = [0u8; 8];
                file.read_exact(&mut large).ok()?;
                u64::from_be_bytes(large)
            }
            n => n,
        };
        if &header[4..] == b"moov" {
            if !(8..=MAX_MOOV).contains(&size) {
                return None;
            }
            let mut body = vec![0u8; size as usize - 8];
            file.read_exact(&mut body).ok()?;
            break body;
        }
        offset = offset.checked_add(size).filter(|o| *o < len)?;
    };
    let mut shape = VideoShape {
        width: 0,
        height: 0,
        seconds: 0.0,
    };
    for (kind, body) in boxes(&moov) {
        match kind {
            b"mvhd" => {
                let (scale, duration) = match *body.first()? {
                    1 => (be32(body, 20)?, be64(body, 24)?),
                    _ => (be32(body, 12)?, u64::from(be32(body, 16)?)),
                };
                shape.seconds = duration as f64 / f64::from(scale.max(1));
            }
            b"trak" if shape.width == 0 => {
                if let Some((_, tkhd)) = boxes(body).find(|(k, _)| *k == b"tkhd") {
                    // Width and height are 16.16 fixed point, at the end.
                    let at = if *tkhd.first()? == 1 { 88 } else { 76 };
                    shape.width = be32(tkhd, at)? >> 16;
                    shape.height = be32(tkhd, at + 4)? >> 16;
                }
            }
            _ => {}
        }
    }
    (shape.width > 0 && shape.height > 0).then_some(shape)
}

/// The boxes directly inside `data`, as (type, body).
fn boxes(data: &[u8]) -> impl Iterator<Item = (&[u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let size = be32(rest, 0)? as usize;
        let kind: &[u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let body = rest.get(8..size.max(8))?;
        rest = &rest[size.max(8)..];
        Some((kind, body))
    })
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// Removes the temporary files that earlier, killed downloads left in `dir`
/// for any of `names` (a killed process cannot clean up after itself). The
/// directory is listed once, however many names there are.
pub(crate) fn remove_stale_parts(dir: &Path, names: &std::collections::HashSet<&std::ffi::OsStr>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let target = file
            .strip_prefix('.')
            .and_then(|f| f.strip_suffix(".part"))
            .and_then(|f| f.rsplit_once('.'))
            .map(|(name, _)| name);
        if target.is_some_and(|name| names.contains(std::ffi::OsStr::new(name))) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
    progress: Option<ProgressRef<'_>>,
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
    let mut hash = crate::hash::Sha256::new();
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
        sha256: crate::hash::hex(&hash.finish()),
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

    fn mp4_box(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut b = ((8 + body) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.resize(8 + body, 0);
        b
    }

    #[test]
    fn a_whole_mp4_is_told_from_a_cut_or_foreign_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.mp4");
        let whole = [
            mp4_box(b"ftyp", 16),
            mp4_box(b"moov", 40),
            mp4_box(b"mdat", 100),
        ]
        .concat();
        std::fs::write(&path, &whole).unwrap();
        assert!(is_whole_mp4(&path));
        std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        assert!(!is_whole_mp4(&path), "cut short");
        std::fs::write(&path, [mp4_box(b"ftyp", 16), mp4_box(b"mdat", 10)].concat()).unwrap();
        assert!(!is_whole_mp4(&path), "no moov");
        std::fs::write(
            &path,
            [
                mp4_box(b"moov", 16),
                mp4_box(b"ftyp", 16),
                mp4_box(b"mdat", 1),
            ]
            .concat(),
        )
        .unwrap();
        assert!(!is_whole_mp4(&path), "ftyp not first");
        std::fs::write(&path, b"not a video at all").unwrap();
        assert!(!is_whole_mp4(&path));
        assert!(!is_whole_mp4(&dir.path().join("absent.mp4")));
    }

    #[test]
    fn stale_parts_of_the_named_files_alone_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            ".a.mp4.0f0f.part",
            ".b.mp4.1e1e.part",
            "a.mp4",
            ".c.mp4.2d2d.part",
        ] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let names = [std::ffi::OsStr::new("a.mp4"), std::ffi::OsStr::new("b.mp4")];
        remove_stale_parts(dir.path(), &names.into_iter().collect());
        let mut left = leftovers(dir.path());
        left.sort();
        assert_eq!(left, [".c.mp4.2d2d.part", "a.mp4"]);
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
