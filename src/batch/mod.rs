//! Batch files: JSON Lines, one job per line, whose keys are the `generate`
//! options in snake_case. `resolution`, `duration` and `aspect_ratio` may be
//! lists: a line expands into their cross product, one output file each.
//!
//! Every line is checked (its keys, their types, and the target provider's
//! rules) before anything is paid for; an error names the line and the key
//! as the file wrote it.
//!
//! A job is what it asks for, not where it sits: its key is a digest of its
//! provider, its request (local media as digests) and, for identical
//! requests, which copy it is. Inserting, removing or reordering lines leaves
//! every other job's key, and its default file name, as it was, so running
//! the edited file again finds those jobs in the [`Journal`](crate::Journal)
//! and pays only for the new ones. A changed prompt is a new job.

#[cfg(feature = "mock")]
pub mod inbox;
pub(crate) mod pipeline;
mod plan;
pub(crate) mod runner;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use plan::{plan, Plan, PlanGroup};
pub use runner::{events, run, BatchEvent, BatchOptions, JobOutcome, OnEvent, RECOVERY_FILE};

use crate::hash::Sha256;
use serde_json::{Map, Value};

use serde::Deserialize as _;

use crate::{AspectRatio, Error, Field, Media, Provider, Resolution, VideoRequest};

/// One job of a batch: a line, or one variation of it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJob {
    /// The line it comes from (1-based).
    pub line: usize,
    /// Its identity across runs: a digest of provider, request and which
    /// copy of that request it is.
    pub key: String,
    /// Its key as versions before content identity computed it (provider,
    /// request and a line-numbered output name), so a batch begun with one
    /// of them resumes instead of paying again.
    pub previous_key: String,
    /// Who runs it.
    pub provider: Provider,
    /// What is asked for.
    pub request: VideoRequest,
    /// The output file's name, relative to the output directory.
    pub output: PathBuf,
}

/// A line's own keys: who runs the job, where it goes, and the three
/// variations (each a value or a list).
#[derive(Debug, serde::Deserialize)]
struct Own {
    provider: Option<Provider>,
    output: Option<String>,
    #[serde(default, deserialize_with = "variations")]
    resolution: Option<Vec<Resolution>>,
    #[serde(default, deserialize_with = "variations")]
    duration: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "variations")]
    aspect_ratio: Option<Vec<AspectRatio>>,
}

/// One line of a batch file: its own keys, and the request beside them (the
/// request's `resolution`, `duration` and `aspect_ratio` are the line's, so
/// they stay unset there and are filled in per variation).
#[derive(Debug, serde::Deserialize)]
struct Line {
    #[serde(flatten)]
    own: Own,
    #[serde(flatten)]
    request: VideoRequest,
}

/// A variation key: absent or null is `None`; a value or a non-empty list.
fn variations<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct List<T>(Vec<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for List<T> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            crate::request::one_or_many(d).map(List)
        }
    }
    match Option::<List<T>>::deserialize(d)? {
        Some(List(list)) if list.is_empty() => Err(serde::de::Error::custom("is an empty list")),
        other => Ok(other.map(|List(list)| list)),
    }
}

/// Every key a line may have: its own, and the request's (with the names
/// batch files have long used: `image`, `image_end`, `reference_image`,
/// `reference_video`), as serde's derive declares them.
fn keys() -> Vec<&'static str> {
    let mut keys = crate::request::serde_keys::<Own>().to_vec();
    for key in crate::request::serde_keys::<VideoRequest>() {
        if !keys.contains(key) {
            keys.push(key);
        }
    }
    keys
}

/// The batch key nearest to `key`, if one is close: at most two edits, or
/// one for short keys (Levenshtein distance).
fn nearest(key: &str, keys: &[&'static str]) -> Option<&'static str> {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut diagonal = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let above = row[j + 1];
                row[j + 1] = (above + 1)
                    .min(row[j] + 1)
                    .min(diagonal + usize::from(ca != *cb));
                diagonal = above;
            }
        }
        row[b.len()]
    };
    let allowed = if key.chars().count() <= 4 { 1 } else { 2 };
    keys.iter()
        .map(|k| (distance(&key.to_lowercase(), k), *k))
        .filter(|(d, _)| *d <= allowed)
        .min()
        .map(|(_, k)| k)
}

fn bad(line: usize, key: &str, reason: impl Into<String>) -> Error {
    Error::validation(format!("line {line}: {key}"), reason)
}

/// Reads one line's object: every key known, each value of its type. An
/// error names the key as the line wrote it.
fn read_line(
    line: usize,
    value: &Value,
    map: &Map<String, Value>,
    keys: &[&'static str],
) -> Result<Line, Error> {
    for key in map.keys() {
        if !keys.contains(&key.as_str()) {
            let hint = match nearest(key, keys) {
                Some(near) => format!("did you mean `{near}`? "),
                None => String::new(),
            };
            return Err(bad(
                line,
                key,
                format!(
                    "is not a batch key ({hint}the keys are {})",
                    keys.join(", ")
                ),
            ));
        }
    }
    // Read where it is (`&Value` is a deserializer): the line is not copied.
    Line::deserialize(value).map_err(|whole| {
        // Serde's message does not say which key (a flattened struct reads
        // from a buffer); the key that fails on its own does.
        map.iter()
            .find_map(|(key, value)| {
                let alone = Map::from_iter([(key.clone(), value.clone())]);
                serde_json::from_value::<Line>(Value::Object(alone))
                    .err()
                    .map(|e| bad(line, key, e.to_string().replace("i64", "a whole number")))
            })
            .unwrap_or_else(|| Error::validation(format!("line {line}"), whole.to_string()))
    })
}

/// Reads a batch file's text into jobs, checking every line against its
/// provider's rules; `default_provider` serves lines without `provider`.
/// Relative file paths are taken from the current directory; see
/// [`parse_in`] for a batch file's own folder.
pub fn parse(text: &str, default_provider: Provider) -> Result<Vec<BatchJob>, Error> {
    parse_in(text, default_provider, Path::new(""))
}

/// [`parse`], with relative file paths (`"image": "frame.png"`) taken from
/// `dir`, the batch file's folder, wherever the command runs.
pub fn parse_in(
    text: &str,
    default_provider: Provider,
    dir: &Path,
) -> Result<Vec<BatchJob>, Error> {
    let keys = keys();
    let mut jobs = Vec::new();
    let mut outputs: HashMap<PathBuf, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with("//") {
            continue;
        }
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| Error::validation(format!("line {line}"), format!("is not JSON: {e}")))?;
        let Some(map) = value.as_object() else {
            return Err(Error::validation(
                format!("line {line}"),
                "must be a JSON object",
            ));
        };
        let mut read = read_line(line, &value, map, &keys)?;
        for media in read.request.media_mut() {
            if let Media::Path(path) = media {
                if path.is_relative() {
                    *path = dir.join(&*path);
                }
            }
        }
        for (job, named) in expand(line, read, map, default_provider)? {
            if named {
                if let Some(first) = outputs.insert(job.output.clone(), line) {
                    return Err(bad(
                        line,
                        "output",
                        format!(
                            "{} is already written by line {first}",
                            job.output.display()
                        ),
                    ));
                }
            }
            jobs.push((job, named));
        }
    }
    Ok(identify(jobs, &outputs))
}

/// Gives each job its key, and makes default names unique: identical
/// requests are told apart by their copy number, and a default name that two
/// jobs (or a job and a named output) would share gets a suffix from each
/// job's key, so no name depends on where a line sits.
fn identify(jobs: Vec<(BatchJob, bool)>, named: &HashMap<PathBuf, usize>) -> Vec<BatchJob> {
    let mut copies: HashMap<String, usize> = HashMap::new();
    let mut defaults: HashMap<PathBuf, usize> = HashMap::new();
    let mut jobs: Vec<(BatchJob, bool)> = jobs
        .into_iter()
        .map(|(mut job, is_named)| {
            let content = content_digest(job.provider, &job.request);
            let copy = copies.entry(content.clone()).or_default();
            job.key = job_key(&content, *copy);
            *copy += 1;
            if !is_named {
                *defaults.entry(job.output.clone()).or_default() += 1;
            }
            (job, is_named)
        })
        .collect();
    for (job, is_named) in &mut jobs {
        let shared =
            defaults.get(&job.output).is_some_and(|n| *n > 1) || named.contains_key(&job.output);
        if !*is_named && shared {
            let tag = &job.key[job.key.len() - 6..];
            job.output = PathBuf::from(with_suffix(&job.output.to_string_lossy(), tag));
        }
    }
    jobs.into_iter().map(|(job, _)| job).collect()
}

/// A validation error of line `line` in the file's words: a request field
/// is named by the key the line (`written`) has it under.
fn in_keys(line: usize, written: &Map<String, Value>, error: Error) -> Error {
    match error {
        Error::Validation {
            field: Field::Request(field),
            reason,
        } => {
            let key = field
                .names()
                .iter()
                .find(|name| written.contains_key(**name))
                .copied()
                .unwrap_or(field.name());
            bad(line, key, reason)
        }
        Error::Validation {
            field: Field::Named(name),
            reason,
        } => bad(line, &name, reason),
        Error::Unsupported {
            provider, feature, ..
        } => Error::validation(
            format!("line {line}"),
            format!("{provider} does not support {feature}"),
        ),
        other => other,
    }
}

/// One line's jobs: the cross product of its variations, each with whether
/// the line named its output. Keys are given later, by [`identify`].
fn expand(
    line: usize,
    read: Line,
    written: &Map<String, Value>,
    default_provider: Provider,
) -> Result<Vec<(BatchJob, bool)>, Error> {
    let Line {
        own:
            Own {
                provider,
                output: named,
                resolution,
                duration,
                aspect_ratio,
            },
        request: base,
    } = read;
    let provider = provider.unwrap_or(default_provider);
    let resolutions: Vec<Option<Resolution>> =
        resolution.map_or(vec![None], |l| l.into_iter().map(Some).collect());
    let durations: Vec<Option<i64>> =
        duration.map_or(vec![None], |l| l.into_iter().map(Some).collect());
    let ratios: Vec<Option<AspectRatio>> =
        aspect_ratio.map_or(vec![None], |l| l.into_iter().map(Some).collect());
    let varied = (resolutions.len() > 1, durations.len() > 1, ratios.len() > 1);
    let stem = match &named {
        Some(name) => {
            let path = Path::new(&name);
            if path.is_absolute() || path.components().count() != 1 {
                return Err(bad(
                    line,
                    "output",
                    format!("`{name}` must be a plain file name"),
                ));
            }
            name.clone()
        }
        None => format!("{}.mp4", slug(base.prompt.as_deref().unwrap_or("video"))),
    };
    // The name versions before content identity gave a line, for
    // `previous_key` alone.
    let previous_stem = match &named {
        Some(name) => name.clone(),
        None => format!("{line:03}-{stem}"),
    };
    let mut jobs = Vec::new();
    for resolution in &resolutions {
        for duration in &durations {
            for ratio in &ratios {
                let mut request = base.clone();
                request.resolution = *resolution;
                request.duration = *duration;
                request.aspect_ratio = *ratio;
                request
                    .validate(provider)
                    .map_err(|e| in_keys(line, written, e))?;
                let mut suffix = Vec::new();
                if varied.0 {
                    suffix.push(request.effective_resolution().to_string());
                }
                if varied.1 {
                    suffix.push(format!("{}s", duration.unwrap_or(5)));
                }
                if varied.2 {
                    suffix.push(ratio.map_or("default".into(), |r| r.as_str().replace(':', "x")));
                }
                let suffix = suffix.join("-");
                let output = PathBuf::from(with_suffix(&stem, &suffix));
                let previous = PathBuf::from(with_suffix(&previous_stem, &suffix));
                let previous_key = previous_job_key(provider, &request, &previous);
                let job = BatchJob {
                    line,
                    key: String::new(),
                    previous_key,
                    provider,
                    request,
                    output,
                };
                jobs.push((job, named.is_some()));
            }
        }
    }
    Ok(jobs)
}

/// `name.mp4` with `-suffix` before the extension (or nothing to add).
fn with_suffix(name: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        return name.to_string();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{suffix}.{ext}"),
        _ => format!("{name}-{suffix}"),
    }
}

/// The first words of a prompt as a file-name part: `a-red-kite-over`.
fn slug(prompt: &str) -> String {
    let words: Vec<String> = prompt
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(5)
        .map(|w| w.to_lowercase())
        .collect();
    let slug = words.join("-");
    let slug: String = slug.chars().take(40).collect();
    if slug.is_empty() {
        "video".into()
    } else {
        slug
    }
}

/// A digest of what a job asks for: its provider and its request as the
/// journal records it (local media as digests).
fn content_digest(provider: Provider, request: &VideoRequest) -> String {
    let mut hash = Sha256::new();
    hash.update(provider.name());
    hash.update(b"\0");
    hash.update(request.identity());
    hex(&hash.finish())
}

/// A job's identity: what it asks for, and which copy of that it is.
fn job_key(content: &str, copy: usize) -> String {
    let mut hash = Sha256::new();
    hash.update(content);
    hash.update(b"\0");
    hash.update(copy.to_string());
    format!("job:{}", hex(&hash.finish()))
}

/// The key versions before content identity gave a job: provider, request
/// and output name (which held the line number).
fn previous_job_key(provider: Provider, request: &VideoRequest, output: &Path) -> String {
    let mut hash = Sha256::new();
    hash.update(provider.name());
    hash.update(b"\0");
    hash.update(request.record());
    hash.update(b"\0");
    hash.update(output.to_string_lossy().as_bytes());
    format!("batch:{}", hex(&hash.finish()))
}

/// The first 12 bytes of a digest, in hex.
fn hex(digest: &[u8]) -> String {
    crate::hash::hex(&digest[..12.min(digest.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_with_lists_expands_into_named_variations() {
        let text = r#"{"prompt": "A red kite over a beach", "resolution": ["480p", "720p"], "aspect_ratio": ["16:9", "9:16"]}
{"prompt": "rain", "output": "rain.mp4", "duration": [5, 10]}
{"prompt": "fog"}"#;
        let jobs = parse(text, Provider::Magnific).unwrap();
        let names: Vec<String> = jobs
            .iter()
            .map(|j| j.output.display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "a-red-kite-over-a-480p-16x9.mp4",
                "a-red-kite-over-a-480p-9x16.mp4",
                "a-red-kite-over-a-720p-16x9.mp4",
                "a-red-kite-over-a-720p-9x16.mp4",
                "rain-5s.mp4",
                "rain-10s.mp4",
                "fog.mp4",
            ]
        );
        let keys: std::collections::HashSet<_> = jobs.iter().map(|j| &j.key).collect();
        assert_eq!(keys.len(), 7, "every job has its own key");
        assert_eq!(
            parse(text, Provider::Magnific).unwrap(),
            jobs,
            "keys are stable"
        );
    }

    #[test]
    fn a_job_keeps_its_key_and_name_wherever_its_line_moves() {
        let text = "{\"prompt\": \"a lighthouse\", \"duration\": [5, 10]}\n{\"prompt\": \"fog\"}";
        let before = parse(text, Provider::Magnific).unwrap();
        let edited = format!("{{\"prompt\": \"a new first line\"}}\n\n{text}");
        let after = parse(&edited, Provider::Magnific).unwrap();
        assert_eq!(after.len(), before.len() + 1);
        for job in &before {
            let moved = after.iter().find(|j| j.key == job.key).expect("same key");
            assert_eq!(moved.output, job.output);
            assert_eq!(moved.request, job.request);
            assert_ne!(moved.line, job.line);
        }
        // Reordered lines too.
        let swapped =
            "{\"prompt\": \"fog\"}\n{\"prompt\": \"a lighthouse\", \"duration\": [5, 10]}";
        let mut keys: Vec<_> = parse(swapped, Provider::Magnific)
            .unwrap()
            .into_iter()
            .map(|j| (j.key, j.output))
            .collect();
        let mut expected: Vec<_> = before.into_iter().map(|j| (j.key, j.output)).collect();
        keys.sort();
        expected.sort();
        assert_eq!(keys, expected);
    }

    #[test]
    fn identical_lines_are_separate_jobs_with_separate_names() {
        let text = "{\"prompt\": \"fog\"}\n{\"prompt\": \"fog\"}\n{\"prompt\": \"Fog!\"}\n{\"prompt\": \"x\", \"output\": \"rain.mp4\"}\n{\"prompt\": \"rain\"}";
        let jobs = parse(text, Provider::Magnific).unwrap();
        let keys: std::collections::HashSet<_> = jobs.iter().map(|j| &j.key).collect();
        assert_eq!(keys.len(), 5, "{jobs:?}");
        let names: std::collections::HashSet<_> = jobs.iter().map(|j| &j.output).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        // A shared default name takes a suffix from the job's key.
        for job in &jobs[..3] {
            let name = job.output.to_string_lossy();
            assert!(name.starts_with("fog-") && name.ends_with(".mp4"), "{name}");
            assert!(
                job.key.ends_with(&name["fog-".len()..name.len() - 4]),
                "{name}"
            );
        }
        // A named output keeps its name; the default that met it gives way.
        assert_eq!(jobs[3].output, PathBuf::from("rain.mp4"));
        assert_ne!(jobs[4].output, PathBuf::from("rain.mp4"));
    }

    #[test]
    fn a_job_begun_by_an_earlier_version_is_found_by_its_previous_key() {
        // The key 0.1 gave `{"prompt": "fog"}` on line 1 of a Magnific batch.
        let jobs = parse("{\"prompt\": \"fog\"}", Provider::Magnific).unwrap();
        let request = &jobs[0].request;
        let mut hash = Sha256::new();
        hash.update("magnific");
        hash.update(b"\0");
        hash.update(request.record());
        hash.update(b"\0");
        hash.update("001-fog.mp4");
        assert_eq!(
            jobs[0].previous_key,
            format!("batch:{}", hex(&hash.finish()))
        );
    }

    #[test]
    fn a_key_with_local_and_remote_media_is_pinned_too() {
        // The key 5601dea (the journal's hand-written record) gave this
        // line; the request's own serialisation must give the same.
        let dir = std::env::temp_dir().join(format!("pin-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("frame.png"), [0x89, b'P', b'N', b'G', 1, 2, 3]).unwrap();
        let text = "{\"prompt\": \"kite\", \"provider\": \"anyfast\", \"image\": \"frame.png\", \"reference_image\": [\"https://example.com/a.png\", \"frame.png\"], \"watermark\": true, \"audio\": false}";
        let jobs = parse_in(text, Provider::Magnific, &dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(jobs[0].key, "job:121d391dee45c67a78aad420");
    }

    #[test]
    fn job_keys_are_pinned_so_a_journal_begun_earlier_resumes() {
        // The keys 95b5e66 (SHA-256 from the sha2 crate) gave these lines.
        // A key that changes makes every job of a half-done batch look new,
        // and pays for it again.
        let text = "{\"prompt\": \"fog\"}\n{\"prompt\": \"rain\", \"provider\": \"anyfast\", \"duration\": 8}\n{\"prompt\": \"fog\"}";
        let jobs = parse(text, Provider::Magnific).unwrap();
        let keys: Vec<(&str, &str, String)> = jobs
            .iter()
            .map(|j| {
                (
                    j.key.as_str(),
                    j.previous_key.as_str(),
                    j.output.display().to_string(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "job:083484bbacca8d00e3f32163",
                    "batch:111a26de617711e4333b0ef5",
                    "fog-f32163.mp4".to_string()
                ),
                (
                    "job:d0dd3c7cf36e7a1d91c0c7a9",
                    "batch:efaf24dd58040599402b9c24",
                    "rain.mp4".to_string()
                ),
                (
                    "job:c955ee88333a16f6ac891f11",
                    "batch:923c76ffc2b47d879e037320",
                    "fog-891f11.mp4".to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_field_is_named_by_the_key_the_line_wrote() {
        for key in ["image_end", "last_frame"] {
            let text = format!(r#"{{"prompt": "x", "{key}": "https://a/b.png"}}"#);
            let err = parse(&text, Provider::Magnific).unwrap_err().to_string();
            assert_eq!(err, format!("invalid `line 1: {key}`: needs a first_frame"));
        }
        let err = parse(
            r#"{"prompt": "x", "provider": "anyfast", "reference_images": ["https://a/1.png", "https://a/2.png", "https://a/3.png", "https://a/4.png", "https://a/5.png", "https://a/6.png", "https://a/7.png", "https://a/8.png", "https://a/9.png", "https://a/10.png"]}"#,
            Provider::Magnific,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "invalid `line 1: reference_images`: has 10; anyfast takes at most 9"
        );
    }

    #[test]
    fn errors_name_the_line_and_the_key_as_written() {
        let cases = [
            (r#"{"prompt": "x", "duration": 7}"#, "line 1: duration`"),
            (
                r#"{"prompt": "x", "image_end": "https://a/b.png"}"#,
                "line 1: image_end`",
            ),
            (r#"{"prompt": "x", "colour": "red"}"#, "line 1: colour`"),
            (
                r#"{"prompt": "x", "aspect_ratoi": "1:1"}"#,
                "did you mean `aspect_ratio`?",
            ),
            (r#"{"prompt": "x", "seed": "7"}"#, "line 1: seed`"),
            (
                r#"{"prompt": "x", "resolution": ["480p", "1080p"]}"#,
                "line 1: resolution`",
            ),
            ("{\"prompt\": \"x\"}\nnot json", "line 2"),
            (
                r#"{"prompt": "x", "output": "../up.mp4"}"#,
                "line 1: output`",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text, Provider::Magnific).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let dup = "{\"prompt\": \"x\", \"output\": \"a.mp4\"}\n{\"prompt\": \"y\", \"output\": \"a.mp4\"}";
        let err = parse(dup, Provider::Magnific).unwrap_err().to_string();
        assert!(
            err.contains("line 2: output`") && err.contains("line 1"),
            "{err}"
        );
    }
}
