//! One provider-neutral description of a video to generate, checked against
//! the target provider's rules before anything is sent.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Media};

/// Output resolution. Magnific picks its endpoint by it; the others send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Resolution {
    /// 480p: cheapest and fastest.
    P480,
    /// 720p.
    #[default]
    P720,
}

impl Resolution {
    /// The wire form, `480p` or `720p`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::P480 => "480p",
            Resolution::P720 => "720p",
        }
    }

    /// Frame height in pixels.
    pub fn height(self) -> u32 {
        match self {
            Resolution::P480 => 480,
            Resolution::P720 => 720,
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resolution {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "480p" | "480" => Ok(Resolution::P480),
            "720p" | "720" => Ok(Resolution::P720),
            _ => Err(Error::validation(
                RequestField::Resolution,
                format!("`{s}` is not one of 480p, 720p"),
            )),
        }
    }
}

/// Serialises as the wire form (`as_str`); deserialises through `FromStr`,
/// whose reason is the error.
macro_rules! serde_as_str {
    ($($ty:ty),*) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse()
                    .map_err(|e: Error| serde::de::Error::custom(e.into_reason()))
            }
        }
    )*};
}
serde_as_str!(Resolution, AspectRatio);

/// Output aspect ratio: the seven named ratios, or `Adaptive` (the model
/// picks from the input; Anyfast and Powertokens only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum AspectRatio {
    R21x9,
    R16x9,
    R4x3,
    R1x1,
    R3x4,
    R9x16,
    R9x21,
    Adaptive,
}

impl AspectRatio {
    /// Every ratio, in the order the documents list them.
    pub const ALL: [AspectRatio; 8] = [
        AspectRatio::R21x9,
        AspectRatio::R16x9,
        AspectRatio::R4x3,
        AspectRatio::R1x1,
        AspectRatio::R3x4,
        AspectRatio::R9x16,
        AspectRatio::R9x21,
        AspectRatio::Adaptive,
    ];

    /// `16:9`-style form (`adaptive` for [`AspectRatio::Adaptive`]).
    pub fn as_str(self) -> &'static str {
        match self {
            AspectRatio::R21x9 => "21:9",
            AspectRatio::R16x9 => "16:9",
            AspectRatio::R4x3 => "4:3",
            AspectRatio::R1x1 => "1:1",
            AspectRatio::R3x4 => "3:4",
            AspectRatio::R9x16 => "9:16",
            AspectRatio::R9x21 => "9:21",
            AspectRatio::Adaptive => "adaptive",
        }
    }

    /// Magnific's name for the ratio; `None` for `Adaptive`, which it lacks.
    pub fn magnific_name(self) -> Option<&'static str> {
        Some(match self {
            AspectRatio::R21x9 => "film_horizontal_21_9",
            AspectRatio::R16x9 => "widescreen_16_9",
            AspectRatio::R4x3 => "classic_4_3",
            AspectRatio::R1x1 => "square_1_1",
            AspectRatio::R3x4 => "traditional_3_4",
            AspectRatio::R9x16 => "social_story_9_16",
            AspectRatio::R9x21 => "film_vertical_9_21",
            AspectRatio::Adaptive => return None,
        })
    }

    /// Width over height, `None` for `Adaptive`.
    pub fn ratio(self) -> Option<(u32, u32)> {
        let (w, h) = self.as_str().split_once(':')?;
        Some((w.parse().ok()?, h.parse().ok()?))
    }
}

impl fmt::Display for AspectRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AspectRatio {
    type Err = Error;
    /// Accepts `16:9`, Magnific's `widescreen_16_9`, or `adaptive`.
    fn from_str(s: &str) -> Result<Self, Error> {
        AspectRatio::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.magnific_name() == Some(s))
            .ok_or_else(|| {
                Error::validation(
                    RequestField::AspectRatio,
                    format!("`{s}` is not one of 21:9, 16:9, 4:3, 1:1, 3:4, 9:16, 9:21, adaptive"),
                )
            })
    }
}

/// A video to generate, for any provider. Build it with [`VideoRequest::new`]
/// and the chained setters; [`Client::submit`](crate::Client::submit) checks
/// it against the provider's rules before sending, and a field the provider
/// lacks is an [`Error::Unsupported`], never silently dropped.
///
/// It is data: serialised, local media are digests (the form the ledger
/// records, and a job's identity is made of); deserialised, it is what a
/// batch line holds, with media as URLs or paths. A field added later must
/// be `skip_serializing_if = "Option::is_none"`, so that requests without
/// it keep their identity (`job_keys_are_pinned…` fails otherwise).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct VideoRequest {
    /// Text describing the video (Magnific: required, at most 2000 characters).
    pub prompt: Option<String>,
    /// Image the video starts from (`image` in a batch file, as `--image`).
    #[serde(alias = "image")]
    pub first_frame: Option<Media>,
    /// Image the video ends on; needs `first_frame` (`image_end`).
    #[serde(alias = "image_end")]
    pub last_frame: Option<Media>,
    /// Reference images (Anyfast: up to 9; `reference_image`, one or a list).
    #[serde(alias = "reference_image", deserialize_with = "one_or_many")]
    pub reference_images: Vec<Media>,
    /// Reference videos (Anyfast: up to 3; `reference_video`, one or a list).
    #[serde(alias = "reference_video", deserialize_with = "one_or_many")]
    pub reference_videos: Vec<Media>,
    /// Reference audio clips (Anyfast: up to 3, with an image or video; one or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub reference_audio: Vec<Media>,
    /// 480p or 720p.
    pub resolution: Option<Resolution>,
    /// Seconds: one of the provider's [`ProviderSpec::durations`](crate::ProviderSpec::durations)
    /// (`-1`: the model picks).
    pub duration: Option<i64>,
    /// Output aspect ratio.
    pub aspect_ratio: Option<AspectRatio>,
    /// -1 (random) to 4294967295.
    pub seed: Option<i64>,
    /// Keep the camera still (Magnific).
    pub camera_fixed: Option<bool>,
    /// Generate a soundtrack (Anyfast, Powertokens).
    pub audio: Option<bool>,
    /// Add a watermark (Anyfast, Powertokens).
    pub watermark: Option<bool>,
    /// Content safety filter (Magnific).
    pub safety_checker: Option<bool>,
    /// Where to POST status changes (Magnific).
    pub webhook_url: Option<String>,
    /// Let the model search the web (Anyfast, text-to-video only).
    #[serde(deserialize_with = "null_is_false")]
    pub web_search: bool,
    /// Also return the last frame as an image (Powertokens).
    pub return_last_frame: Option<bool>,
    /// End-user id for compliance checks, at most 64 characters (Powertokens).
    pub safety_identifier: Option<String>,
}

/// A field of [`VideoRequest`], as a validation error names it; the
/// command line and a batch file each say it in their own words (`--image`,
/// `line 3: image`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum RequestField {
    Prompt,
    FirstFrame,
    LastFrame,
    ReferenceImages,
    ReferenceVideos,
    ReferenceAudio,
    Resolution,
    Duration,
    AspectRatio,
    Seed,
    CameraFixed,
    Audio,
    Watermark,
    SafetyChecker,
    WebhookUrl,
    WebSearch,
    ReturnLastFrame,
    SafetyIdentifier,
}

impl RequestField {
    /// Every field, in the request's order.
    pub const ALL: &'static [RequestField] = &[
        RequestField::Prompt,
        RequestField::FirstFrame,
        RequestField::LastFrame,
        RequestField::ReferenceImages,
        RequestField::ReferenceVideos,
        RequestField::ReferenceAudio,
        RequestField::Resolution,
        RequestField::Duration,
        RequestField::AspectRatio,
        RequestField::Seed,
        RequestField::CameraFixed,
        RequestField::Audio,
        RequestField::Watermark,
        RequestField::SafetyChecker,
        RequestField::WebhookUrl,
        RequestField::WebSearch,
        RequestField::ReturnLastFrame,
        RequestField::SafetyIdentifier,
    ];

    /// Its name on [`VideoRequest`], which is also its serialised key.
    pub fn name(self) -> &'static str {
        self.names()[0]
    }

    /// Every key it is read under: its name, then the names a batch file
    /// has used for it (the `--image` flags' words).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            RequestField::Prompt => &["prompt"],
            RequestField::FirstFrame => &["first_frame", "image"],
            RequestField::LastFrame => &["last_frame", "image_end"],
            RequestField::ReferenceImages => &["reference_images", "reference_image"],
            RequestField::ReferenceVideos => &["reference_videos", "reference_video"],
            RequestField::ReferenceAudio => &["reference_audio"],
            RequestField::Resolution => &["resolution"],
            RequestField::Duration => &["duration"],
            RequestField::AspectRatio => &["aspect_ratio"],
            RequestField::Seed => &["seed"],
            RequestField::CameraFixed => &["camera_fixed"],
            RequestField::Audio => &["audio"],
            RequestField::Watermark => &["watermark"],
            RequestField::SafetyChecker => &["safety_checker"],
            RequestField::WebhookUrl => &["webhook_url"],
            RequestField::WebSearch => &["web_search"],
            RequestField::ReturnLastFrame => &["return_last_frame"],
            RequestField::SafetyIdentifier => &["safety_identifier"],
        }
    }
}

impl fmt::Display for RequestField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A flag that `null` leaves off, as it leaves every optional field unset.
fn null_is_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(<Option<bool> as serde::Deserialize>::deserialize(d)?.unwrap_or(false))
}

/// One value, or a list of them; an element's own error (`1080p is not
/// one of 480p, 720p`) is the error.
pub(crate) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::de::{self, IntoDeserializer as _};

    struct Visitor<T>(std::marker::PhantomData<T>);

    macro_rules! one {
        ($($visit:ident: $ty:ty),*) => {$(
            fn $visit<E: de::Error>(self, v: $ty) -> Result<Vec<T>, E> {
                T::deserialize(v.into_deserializer()).map(|one| vec![one])
            }
        )*};
    }

    impl<'de, T: serde::Deserialize<'de>> de::Visitor<'de> for Visitor<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a value or a list of values")
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(one) = seq.next_element()? {
                out.push(one);
            }
            Ok(out)
        }

        one!(visit_str: &str, visit_string: String, visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);
    }

    d.deserialize_any(Visitor(std::marker::PhantomData))
}

/// The keys a struct deriving `Deserialize` reads (its fields and their
/// aliases), as the derive declares them: caught from the one call it makes
/// to `deserialize_struct`.
pub(crate) fn serde_keys<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Error as _};

    struct Catch<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for Catch<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("caught"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut keys: &'static [&'static str] = &[];
    let _ = T::deserialize(Catch(&mut keys));
    keys
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty => $field:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

impl VideoRequest {
    /// A request with a prompt.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: Some(prompt.into()),
            ..Self::default()
        }
    }

    setters! {
        /// Sets the prompt.
        prompt: impl Into<String> => prompt;
        /// Sets the first frame (image-to-video).
        first_frame: impl Into<Media> => first_frame;
        /// Sets the last frame (first-to-last-frame); needs a first frame.
        last_frame: impl Into<Media> => last_frame;
        /// Sets the resolution.
        resolution: Resolution => resolution;
        /// Sets the duration in seconds.
        duration: i64 => duration;
        /// Sets the aspect ratio.
        aspect_ratio: AspectRatio => aspect_ratio;
        /// Sets the seed.
        seed: i64 => seed;
        /// Keeps the camera still.
        camera_fixed: bool => camera_fixed;
        /// Turns the soundtrack on or off.
        audio: bool => audio;
        /// Turns the watermark on or off.
        watermark: bool => watermark;
        /// Turns the safety checker on or off.
        safety_checker: bool => safety_checker;
        /// Sets the webhook URL.
        webhook_url: impl Into<String> => webhook_url;
        /// Asks for the last frame as an image too.
        return_last_frame: bool => return_last_frame;
        /// Sets the end-user id for compliance checks.
        safety_identifier: impl Into<String> => safety_identifier;
    }

    /// Adds a reference image.
    pub fn reference_image(mut self, media: impl Into<Media>) -> Self {
        self.reference_images.push(media.into());
        self
    }

    /// Adds a reference video.
    pub fn reference_video(mut self, media: impl Into<Media>) -> Self {
        self.reference_videos.push(media.into());
        self
    }

    /// Adds a reference audio clip.
    pub fn reference_audio(mut self, media: impl Into<Media>) -> Self {
        self.reference_audio.push(media.into());
        self
    }

    /// Turns the web-search tool on or off.
    pub fn web_search(mut self, on: bool) -> Self {
        self.web_search = on;
        self
    }

    /// The request as the journal keeps it: its serialised form (local
    /// media as digests, never inline), as compact JSON with sorted keys.
    pub(crate) fn record(&self) -> String {
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// What a job is: [`VideoRequest::record`] without the paths of local
    /// files, whose content (the digest) is what counts, wherever the batch
    /// was run from.
    pub(crate) fn identity(&self) -> String {
        /// Drops `path` beside a digest, wherever it is.
        fn without_paths(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(map) => {
                    if map.contains_key("sha256") {
                        map.remove("path");
                    }
                    map.values_mut().for_each(without_paths);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(without_paths),
                _ => {}
            }
        }
        let mut value = serde_json::to_value(self).unwrap_or_default();
        without_paths(&mut value);
        value.to_string()
    }

    /// Every media input, to adjust in place (a batch file's relative
    /// paths, say). Every field, so a new one is a compile error here.
    pub(crate) fn media_mut(&mut self) -> impl Iterator<Item = &mut Media> {
        let VideoRequest {
            prompt: _,
            first_frame,
            last_frame,
            reference_images,
            reference_videos,
            reference_audio,
            resolution: _,
            duration: _,
            aspect_ratio: _,
            seed: _,
            camera_fixed: _,
            audio: _,
            watermark: _,
            safety_checker: _,
            webhook_url: _,
            web_search: _,
            return_last_frame: _,
            safety_identifier: _,
        } = self;
        first_frame
            .iter_mut()
            .chain(last_frame.iter_mut())
            .chain(reference_images.iter_mut())
            .chain(reference_videos.iter_mut())
            .chain(reference_audio.iter_mut())
    }

    /// The resolution that will be used: the one set, or 720p.
    pub fn effective_resolution(&self) -> Resolution {
        self.resolution.unwrap_or_default()
    }

    /// Rules every provider shares (see `VideoRequest::validate`, beside
    /// the providers' own rules in `providers/`).
    pub(crate) fn check_common(&self) -> Result<(), Error> {
        if let Some(seed) = self.seed {
            if !(-1..=4_294_967_295).contains(&seed) {
                return Err(Error::validation(
                    RequestField::Seed,
                    format!("{seed} is outside -1..=4294967295"),
                ));
            }
        }
        if self.last_frame.is_some() && self.first_frame.is_none() {
            return Err(Error::validation(
                RequestField::LastFrame,
                "needs a first_frame",
            ));
        }
        if let Some(url) = &self.webhook_url {
            let parsed = reqwest::Url::parse(url).map_err(|e| {
                Error::validation(
                    RequestField::WebhookUrl,
                    format!("`{url}` is not a URL: {e}"),
                )
            })?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(Error::validation(
                    RequestField::WebhookUrl,
                    format!("`{url}` must be http or https"),
                ));
            }
        }
        if self.prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(Error::validation(RequestField::Prompt, "is empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed fields are the request's own: the names (and the batch
    /// names) they answer to are exactly the keys serde reads, so a field
    /// added to `VideoRequest` without one fails here.
    #[test]
    fn the_typed_fields_are_the_requests_keys() {
        let mut typed: Vec<&str> = RequestField::ALL
            .iter()
            .flat_map(|f| f.names().iter().copied())
            .collect();
        let mut read = serde_keys::<VideoRequest>().to_vec();
        typed.sort_unstable();
        read.sort_unstable();
        assert_eq!(typed, read);
        let serialised = serde_json::to_value(VideoRequest::default()).unwrap();
        let names: Vec<&str> = RequestField::ALL.iter().map(|f| f.name()).collect();
        let keys: Vec<&str> = serialised
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted, "serialised keys are the fields' names");
    }

    #[test]
    fn a_request_reads_its_own_names_and_the_batch_ones() {
        let by_batch: VideoRequest = serde_json::from_str(
            r#"{"prompt": "p", "image": "a.png", "reference_image": "https://x/r.png", "duration": 5}"#,
        )
        .unwrap();
        let by_library: VideoRequest = serde_json::from_str(
            r#"{"prompt": "p", "first_frame": "a.png", "reference_images": ["https://x/r.png"], "duration": 5}"#,
        )
        .unwrap();
        assert_eq!(by_batch, by_library);
        assert_eq!(by_batch.first_frame, Some(Media::path("a.png")));
        let nulls: VideoRequest =
            serde_json::from_str(r#"{"prompt": "p", "web_search": null, "seed": null}"#).unwrap();
        assert_eq!(
            nulls,
            VideoRequest::new("p"),
            "null is unset, as batch files have used it"
        );
        let err = serde_json::from_str::<VideoRequest>(r#"{"resolution": "1080p"}"#).unwrap_err();
        assert!(
            err.to_string().contains("`1080p` is not one of 480p, 720p"),
            "{err}"
        );
    }
}
