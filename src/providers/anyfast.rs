//! Anyfast: the request becomes a `content` list of text, frames and
//! references; local images and audio go as `data:` URIs, video by URL only.

use serde_json::Value;

use super::{
    call, check_aspect_ratio, create_call, named, require_absent, task_from_json, Api,
    GATEWAY_RATIOS,
};
use crate::anyfast::{types, Client};
use std::time::Duration;

use super::{Auth, ProviderSpec, VideoSource};
use crate::task::RawTask;
use crate::RequestField as F;
use crate::{Error, Media, Provider, RequestContext, Task, TaskStatus, VideoRequest};

const P: Provider = Provider::Anyfast;

/// Anyfast's facts.
const SPEC: ProviderSpec = ProviderSpec {
    name: "anyfast",
    key_env_var: "ANYFAST_API_KEY",
    base_url: "https://www.anyfast.ai",
    auth: Auth::Bearer,
    // The upstream model's video URLs last 24 hours (FACTS.md).
    result_url_ttl: Some(Duration::from_secs(24 * 3600)),
    video: VideoSource::ResultUrl,
    webhooks: false,
    lists_tasks: false,
    rate_limit: &[],
    durations: &[4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    aspect_ratios: &GATEWAY_RATIOS,
};

/// Anyfast, as the client speaks to it.
pub(crate) struct Anyfast;

impl Api for Anyfast {
    const PROVIDER: Provider = P;
    const SPEC: ProviderSpec = SPEC;
    type Clients = Client;
    type Body = types::VideoGenerationRequest;

    fn clients(
        base_url: &str,
        api: reqwest::Client,
        _download: reqwest::Client,
        context: RequestContext,
    ) -> Client {
        Client::new_with_client(base_url, api, context)
    }

    /// Anyfast's rules.
    fn validate(req: &VideoRequest) -> Result<(), Error> {
        // Every field, so a new one is a compile error here until decided.
        let VideoRequest {
            prompt,
            first_frame,
            last_frame,
            reference_images,
            reference_videos,
            reference_audio,
            resolution: _, // both 480p and 720p are offered
            duration,
            aspect_ratio: _, // checked by `check_aspect_ratio` below
            seed,
            camera_fixed,
            audio: _,     // on or off, both offered
            watermark: _, // on or off, both offered
            safety_checker,
            webhook_url,
            web_search,
            return_last_frame,
            safety_identifier,
        } = req;
        require_absent(P, (*seed).is_none(), F::Seed, "")?;
        require_absent(P, (*camera_fixed).is_none(), F::CameraFixed, "")?;
        require_absent(P, (*safety_checker).is_none(), F::SafetyChecker, "")?;
        require_absent(P, webhook_url.is_none(), F::WebhookUrl, "webhooks (`webhook_url`)")?;
        require_absent(P, (*return_last_frame).is_none(), F::ReturnLastFrame, "")?;
        require_absent(P, safety_identifier.is_none(), F::SafetyIdentifier, "")?;
        if let Some(d) = *duration {
            if !SPEC.durations.contains(&d) {
                return Err(Error::validation(
                    F::Duration,
                    format!("{d} s is outside anyfast's 4-15"),
                ));
            }
        }
        check_aspect_ratio(P, req, SPEC.aspect_ratios)?;
        for (field, list, max) in [
            (F::ReferenceImages, &reference_images, 9),
            (F::ReferenceVideos, &reference_videos, 3),
            (F::ReferenceAudio, &reference_audio, 3),
        ] {
            if list.len() > max {
                return Err(Error::validation(
                    field,
                    format!("has {}; anyfast takes at most {max}", list.len()),
                ));
            }
        }
        let frames = [(F::FirstFrame, first_frame), (F::LastFrame, last_frame)];
        let frames = frames
            .into_iter()
            .filter_map(|(field, m)| m.as_ref().map(|m| (field, m)));
        let references = reference_images.iter().map(|m| (F::ReferenceImages, m));
        for (field, m) in frames.chain(references) {
            m.check(field, Some(30 * MB))?;
        }
        for m in reference_videos {
            if !m.is_url() {
                return Err(Error::unsupported_field(
                    P,
                    F::ReferenceVideos,
                    "reference videos from local content (it takes video by URL or asset id)",
                ));
            }
            m.check(F::ReferenceVideos, Some(50 * MB))?;
        }
        for m in reference_audio {
            m.check(F::ReferenceAudio, Some(15 * MB))?;
        }
        let has_visual =
            first_frame.is_some() || !reference_images.is_empty() || !reference_videos.is_empty();
        if !reference_audio.is_empty() && !has_visual {
            return Err(Error::validation(
                F::ReferenceAudio,
                "needs an image or a video beside it",
            ));
        }
        if (*web_search) && (has_visual || !reference_audio.is_empty()) {
            return Err(Error::validation(
                F::WebSearch,
                "is for text-to-video only; remove the images, videos and audio",
            ));
        }
        if prompt.is_none() && !has_visual {
            return Err(Error::validation(
                F::Prompt,
                "is required when no image or video is given",
            ));
        }
        Ok(())
    }

    /// The generated body for `req` (which has passed [`validate`]).
    async fn body(req: &VideoRequest) -> Result<Self::Body, Error> {
        // Every field, so a new one is a compile error here until decided.
        let VideoRequest {
            prompt,
            first_frame,
            last_frame,
            reference_images,
            reference_videos,
            reference_audio,
            resolution,
            duration,
            aspect_ratio,
            seed: _,         // refused by `validate`, never sent
            camera_fixed: _, // refused by `validate`, never sent
            audio,
            watermark,
            safety_checker: _, // refused by `validate`, never sent
            webhook_url: _,    // refused by `validate`, never sent
            web_search,
            return_last_frame: _, // refused by `validate`, never sent
            safety_identifier: _, // refused by `validate`, never sent
        } = req;
        let mut content = Vec::new();
        if let Some(p) = &prompt {
            content.push(types::ContentItem {
                type_: Some(types::ContentType::Text),
                text: Some(p.clone()),
                ..Default::default()
            });
        }
        if let Some(m) = &first_frame {
            content.push(item(
                "image_url",
                Some("first_frame"),
                m.to_url_or_data_uri(F::FirstFrame).await?,
            )?);
        }
        if let Some(m) = &last_frame {
            content.push(item(
                "image_url",
                Some("last_frame"),
                m.to_url_or_data_uri(F::LastFrame).await?,
            )?);
        }
        content.extend(
            media_items(
                "image_url",
                "reference_image",
                F::ReferenceImages,
                reference_images,
            )
            .await?,
        );
        content.extend(
            media_items(
                "video_url",
                "reference_video",
                F::ReferenceVideos,
                reference_videos,
            )
            .await?,
        );
        content.extend(
            media_items(
                "audio_url",
                "reference_audio",
                F::ReferenceAudio,
                reference_audio,
            )
            .await?,
        );

        let mut b = types::VideoGenerationRequest::builder()
            .model("seedance-2.0-mini")
            .content(content);
        if let Some(r) = *resolution {
            b = b.resolution(r.as_str());
        }
        if let Some(r) = *aspect_ratio {
            b = b.ratio(r.as_str());
        }
        if let Some(d) = *duration {
            b = b.duration(d);
        }
        if let Some(v) = *audio {
            b = b.generate_audio(v);
        }
        if let Some(v) = *watermark {
            b = b.watermark(v);
        }
        if *web_search {
            b = b.tools(vec![types::Tool {
                type_: Some(types::ToolType::WebSearch),
            }]);
        }
        b.try_into()
            .map_err(|e: types::error::ConversionError| Error::validation("request", e.to_string()))
    }

    async fn create(client: &Client, req: &VideoRequest) -> Result<Task, Error> {
        let body = Self::body(req).await?;
        let created = create_call(P, client.create_seedance_mini().body(body).send(), |c| {
            named(c.task_id.as_deref()) || named(c.id.as_deref())
        })
        .await?;
        Ok(from_created(created))
    }

    async fn get(client: &Client, id: &str) -> Result<Task, Error> {
        match call(P, client.get_seedance_mini_task().task_id(id).send()).await {
            Ok(found) => Ok(from_query(found)),
            Err(e) => task_from_json(e, |v| {
                v.get("data")
                    .filter(|d| d.is_object())
                    .map(|d| to_task(d, RawTask::Json(v.clone())))
            }),
        }
    }
}

/// The values an Anyfast task is made from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Raw {
    /// A create's answer.
    Created(types::VideoGenerationTask),
    /// A query's answer.
    Query(types::TaskQueryResponse),
}

const MB: u64 = 1_000_000;

fn item(kind: &str, role: Option<&str>, url: String) -> Result<types::ContentItem, Error> {
    let mut v = serde_json::json!({ "type": kind, kind: { "url": url } });
    if let Some(role) = role {
        v["role"] = role.into();
    }
    serde_json::from_value(v).map_err(|e| Error::validation("content", e.to_string()))
}

async fn media_items(
    kind: &str,
    role: &str,
    field: F,
    list: &[Media],
) -> Result<Vec<types::ContentItem>, Error> {
    let mut out = Vec::with_capacity(list.len());
    for m in list {
        out.push(item(kind, Some(role), m.to_url_or_data_uri(field).await?)?);
    }
    Ok(out)
}

/// A task from the create's answer, field by field.
fn from_created(created: types::VideoGenerationTask) -> Task {
    let types::VideoGenerationTask {
        created_at: _,
        id,
        model: _,
        object: _,
        progress,
        status,
        task_id,
    } = &created;
    let status = match status.as_deref().map(TaskStatus::parse) {
        None | Some(TaskStatus::Unknown(_)) => TaskStatus::Created,
        Some(known) => known,
    };
    Task {
        id: task_id.clone().or_else(|| id.clone()).unwrap_or_default(),
        provider: P,
        status,
        progress: progress.map(|p| p.clamp(0, 100) as u8),
        video_urls: vec![],
        error: None,
        raw: RawTask::Anyfast(Raw::Created(created)),
    }
}

/// The query's own statuses; a new one is a compile error here.
fn status(word: types::TaskDataStatus) -> TaskStatus {
    use types::TaskDataStatus as S;
    match word {
        S::NotStart => TaskStatus::Created,
        S::Queued => TaskStatus::Queued,
        S::InProgress => TaskStatus::InProgress,
        S::Success => TaskStatus::Completed,
        S::Failure => TaskStatus::Failed,
    }
}

/// A task from the query's answer, field by field. The upstream object
/// (`data.data`) has no schema in the document, so it alone is read by name.
fn from_query(found: types::TaskQueryResponse) -> Task {
    let types::TaskQueryResponse {
        code: _,
        data,
        message: _,
    } = &found;
    let types::TaskData {
        action: _,
        data: upstream,
        fail_reason,
        finish_time: _,
        progress,
        result_url,
        start_time: _,
        status: word,
        submit_time: _,
        task_id,
    } = data;
    let url = result_url
        .as_deref()
        .filter(|u| !u.is_empty())
        .or_else(|| upstream.get("content")?.get("video_url")?.as_str());
    Task {
        id: task_id.clone(),
        provider: P,
        status: status(*word),
        progress: progress
            .as_deref()
            .and_then(|p| p.trim_end_matches('%').trim().parse::<u8>().ok()),
        video_urls: url.map(String::from).into_iter().collect(),
        error: fail_reason.clone().filter(|r| !r.is_empty()),
        raw: RawTask::Anyfast(Raw::Query(found)),
    }
}

/// A task read by name from a body the generated type refused (an
/// undocumented status word): its own status, else the upstream one; the
/// video from `result_url`, else the upstream `content.video_url`.
fn to_task(data: &Value, raw: RawTask) -> Task {
    let own = TaskStatus::parse(data["status"].as_str().unwrap_or(""));
    let upstream = data
        .pointer("/data/status")
        .and_then(Value::as_str)
        .map(TaskStatus::parse);
    let status = match (own, upstream) {
        (TaskStatus::Unknown(_), Some(up)) if !matches!(up, TaskStatus::Unknown(_)) => up,
        (own, _) => own,
    };
    let url = data["result_url"]
        .as_str()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            data.pointer("/data/content/video_url")
                .and_then(Value::as_str)
        });
    let progress = data["progress"]
        .as_str()
        .and_then(|p| p.trim_end_matches('%').trim().parse::<u8>().ok());
    let error = data["fail_reason"]
        .as_str()
        .filter(|r| !r.is_empty())
        .map(String::from);
    Task {
        id: data["task_id"].as_str().unwrap_or_default().to_string(),
        provider: P,
        status,
        progress,
        video_urls: url.map(String::from).into_iter().collect(),
        error,
        raw,
    }
}
