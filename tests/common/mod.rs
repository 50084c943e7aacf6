//! Helpers shared by test files (each file uses some of them).
#![allow(dead_code)]

#[cfg(feature = "cli")]
pub mod process;

use std::path::Path;
use std::process::Command;

/// Width, height and whole seconds of an MP4, read with the mp4 crate and,
/// when ffprobe is installed, checked against what ffprobe reads.
pub fn probe_mp4(path: &Path) -> (u32, u32, u64) {
    let bytes = std::fs::read(path).unwrap();
    let size = bytes.len() as u64;
    let reader = mp4::Mp4Reader::read_header(std::io::Cursor::new(bytes), size).unwrap();
    let track = reader
        .tracks()
        .values()
        .find(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
        .expect("a video track");
    let found = (
        u32::from(track.width()),
        u32::from(track.height()),
        reader.duration().as_secs(),
    );
    let args = [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height,duration",
        "-of",
        "csv=p=0",
    ];
    if let Ok(out) = Command::new("ffprobe").args(args).arg(path).output() {
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let fields: Vec<&str> = text.split(',').collect();
        assert_eq!(fields.len(), 3, "ffprobe could not read {path:?}: {text}");
        let by_ffprobe = (
            fields[0].parse().unwrap(),
            fields[1].parse().unwrap(),
            fields[2].parse::<f64>().unwrap().round() as u64,
        );
        assert_eq!(
            by_ffprobe, found,
            "ffprobe and the mp4 crate disagree on {path:?}"
        );
    }
    found
}

/// A completed task of `provider` whose video is at `url`, as a download needs it.
pub fn completed_task(provider: seedance_mini::Provider, url: String) -> seedance_mini::Task {
    seedance_mini::Task::new(provider, "t", seedance_mini::TaskStatus::Completed)
        .with_progress(100)
        .with_video_urls(vec![url])
}

/// The published contract of `--json` (`schema/cli.json`).
#[cfg(feature = "cli")]
pub fn cli_schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = include_str!("../../schema/cli.json");
        jsonschema::validator_for(&serde_json::from_str(text).unwrap()).unwrap()
    })
}

/// `v` is one of the documents the published schema declares.
#[cfg(feature = "cli")]
pub fn conforms(v: &serde_json::Value) {
    let errors: Vec<String> = cli_schema().iter_errors(v).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{v}\ndoes not follow schema/cli.json: {errors:#?}"
    );
}
