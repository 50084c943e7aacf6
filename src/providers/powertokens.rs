//! Powertokens: image-to-video only; the request becomes a `media` list of a
//! text item and a `first_frame` URL, and the video comes from `/content`.

use serde_json::Value;

use super::{
    call, call_with_headers, check_aspect_ratio, create_call, named, require_absent,
    task_from_json, Api, Video, GATEWAY_RATIOS,
};
use crate::powertokens::{types, ByteStream, Client, ResponseValue};

use super::{Auth, ProviderSpec, VideoSource};
use crate::task::RawTask;
use crate::RequestField as F;
use crate::{Error, Provider, RequestContext, Task, TaskStatus, VideoRequest};

const P: Provider = Provider::Powertokens;

/// Powertokens' facts.
const SPEC: ProviderSpec = ProviderSpec {
    name: "powertokens",
    key_env_var: "POWERTOKENS_API_KEY",
    base_url: "https://api.powertokens.ai",
    auth: Auth::Bearer,
    // The video streams from its content endpoint; no URL to expire.
    result_url_ttl: None,
    video: VideoSource::ContentEndpoint {
        operation: "getVideoContent",
        path: "v1/videos/{id}/content",
    },
    webhooks: false,
    lists_tasks: false,
    rate_limit: &[],
    durations: &[4, 5, 6, 7, 8, 9, 10, 11, 12, 15, -1],
    aspect_ratios: &GATEWAY_RATIOS,
};

/// Powertokens, as the client speaks to it.
pub(crate) struct Powertokens;

/// Two clients over one document: API calls, and `/content`, which streams
/// the video and so runs on the download connection settings (a read-idle
/// timeout, no total timeout).
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    api: Client,
    content: Client,
}

impl Api for Powertokens {
    const PROVIDER: Provider = P;
    const SPEC: ProviderSpec = SPEC;
    type Clients = Box<Clients>;
    type Body = types::ImageToVideoRequest;

    fn clients(
        base_url: &str,
        api: reqwest::Client,
        download: reqwest::Client,
        context: RequestContext,
    ) -> Box<Clients> {
        Box::new(Clients {
            api: Client::new_with_client(base_url, api, context.clone()),
            content: Client::new_with_client(base_url, download, context),
        })
    }

    /// Powertokens' rules.
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
            seed: _,         // the shared range check, in `VideoRequest::validate`
            camera_fixed,
            audio: _,     // on or off, both offered
            watermark: _, // on or off, both offered
            safety_checker,
            webhook_url,
            web_search,
            return_last_frame: _, // on or off, both offered
            safety_identifier,
        } = req;
        require_absent(
            P,
            last_frame.is_none(),
            F::LastFrame,
            "a last frame (it is image-to-video from a first frame only)",
        )?;
        require_absent(P, reference_images.is_empty(), F::ReferenceImages, "reference images")?;
        require_absent(P, reference_videos.is_empty(), F::ReferenceVideos, "reference videos")?;
        require_absent(P, reference_audio.is_empty(), F::ReferenceAudio, "reference audio")?;
        require_absent(P, (*camera_fixed).is_none(), F::CameraFixed, "")?;
        require_absent(P, (*safety_checker).is_none(), F::SafetyChecker, "")?;
        require_absent(P, webhook_url.is_none(), F::WebhookUrl, "webhooks (`webhook_url`)")?;
        require_absent(P, !*web_search, F::WebSearch, "the web-search tool")?;
        if prompt.is_none() {
            return Err(Error::validation(
                F::Prompt,
                "is required by powertokens (its media list needs a text item)",
            ));
        }
        let first = first_frame.as_ref().ok_or_else(|| {
            Error::validation(
                F::FirstFrame,
                "is required by powertokens (it is image-to-video only)",
            )
        })?;
        if !first.is_url() {
            return Err(Error::unsupported_field(
                P,
                F::FirstFrame,
                "a first frame from local content (it takes image URLs only)",
            ));
        }
        first.check(F::FirstFrame, None)?;
        if let Some(d) = *duration {
            if !SPEC.durations.contains(&d) {
                return Err(Error::validation(
                    F::Duration,
                    format!("{d} s is not one of powertokens' 4-12, 15, or -1 (model picks)"),
                ));
            }
        }
        check_aspect_ratio(P, req, SPEC.aspect_ratios)?;
        if let Some(id) = &safety_identifier {
            let n = id.chars().count();
            if n > 64 {
                return Err(Error::validation(
                    F::SafetyIdentifier,
                    format!("is {n} characters; powertokens takes at most 64"),
                ));
            }
        }
        Ok(())
    }

    /// The generated body for `req` (which has passed [`validate`]).
    async fn body(req: &VideoRequest) -> Result<Self::Body, Error> {
        // Every field, so a new one is a compile error here until decided.
        let VideoRequest {
            prompt,
            first_frame,
            last_frame: _,       // refused by `validate`, never sent
            reference_images: _, // refused by `validate`, never sent
            reference_videos: _, // refused by `validate`, never sent
            reference_audio: _,  // refused by `validate`, never sent
            resolution,
            duration,
            aspect_ratio,
            seed,
            camera_fixed: _, // refused by `validate`, never sent
            audio,
            watermark,
            safety_checker: _, // refused by `validate`, never sent
            webhook_url: _,    // refused by `validate`, never sent
            web_search: _,     // refused by `validate`, never sent
            return_last_frame,
            safety_identifier,
        } = req;
        let url = match &first_frame {
            Some(crate::Media::Url(u)) => u.clone(),
            _ => return Err(Error::validation(F::FirstFrame, "must be a URL")),
        };
        let media = vec![
            types::VideoMediaInput {
                type_: types::VideoMediaInputType::Text,
                text: prompt.clone(),
                url: None,
            },
            types::VideoMediaInput {
                type_: types::VideoMediaInputType::FirstFrame,
                text: None,
                url: Some(url),
            },
        ];
        let mut b = types::ImageToVideoRequest::builder()
            .model("dreamina-seedance-2-0-mini-260615")
            .media(media);
        if let Some(r) = *resolution {
            b = b.size(r.as_str());
        }
        if let Some(r) = *aspect_ratio {
            b = b.ratio(r.as_str());
        }
        if let Some(d) = *duration {
            b = b.seconds(d.to_string().as_str());
        }
        if let Some(v) = *seed {
            b = b.seed(v);
        }
        if let Some(v) = *watermark {
            b = b.watermark(v);
        }
        if let Some(v) = *audio {
            b = b.generate_audio(v);
        }
        if let Some(v) = *return_last_frame {
            b = b.return_last_frame(v);
        }
        if let Some(v) = &safety_identifier {
            b = b.safety_identifier(Some(v.clone()));
        }
        b.try_into()
            .map_err(|e: types::error::ConversionError| Error::validation("request", e.to_string()))
    }

    async fn create(clients: &Box<Clients>, req: &VideoRequest) -> Result<Task, Error> {
        let client = &clients.api;
        let body = Self::body(req).await?;
        let created = create_call(
            P,
            client.seedance20_mini_image_to_video_en().body(body).send(),
            |c| named(c.task_id.as_deref()) || named(Some(&c.id)),
        )
        .await?;
        Ok(from_created(created))
    }

    async fn get(clients: &Box<Clients>, id: &str) -> Result<Task, Error> {
        let client = &clients.api;
        match call(P, client.get_video_task().task_id(id).send()).await {
            Ok(video) => Ok(from_video(video)),
            Err(e) => task_from_json(e, |v| {
                v.get("status")
                    .is_some()
                    .then(|| to_task(v, RawTask::Json(v.clone())))
            }),
        }
    }

    /// The video streams from the content endpoint.
    async fn video(clients: &Box<Clients>, task: &Task) -> Result<Video, Error> {
        content(&clients.content, &task.id).await.map(Video::Stream)
    }
}

/// The values a Powertokens task is made from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Raw {
    /// A create's answer.
    Created(types::VideoTaskCreated),
    /// The video object a get answers.
    Video(types::VideoObject),
}

/// The finished video's bytes, streamed from `/v1/videos/{id}/content`.
async fn content(client: &Client, id: &str) -> Result<ResponseValue<ByteStream>, Error> {
    call_with_headers(P, client.get_video_content().task_id(id).send()).await
}

/// A task from the create's answer, field by field.
fn from_created(created: types::VideoTaskCreated) -> Task {
    let types::VideoTaskCreated {
        created_at: _,
        id,
        model: _,
        object: _,
        progress,
        status,
        task_id,
    } = &created;
    Task {
        id: task_id.clone().unwrap_or_else(|| id.clone()),
        provider: P,
        status: TaskStatus::parse(status),
        progress: progress.map(|p| p.clamp(0, 100) as u8),
        video_urls: Vec::new(),
        error: None,
        raw: RawTask::Powertokens(Raw::Created(created)),
    }
}

/// The video object's statuses; a new one is a compile error here.
fn status(word: types::VideoObjectStatus) -> TaskStatus {
    use types::VideoObjectStatus as S;
    match word {
        S::Queued => TaskStatus::Queued,
        S::InProgress => TaskStatus::InProgress,
        S::Completed => TaskStatus::Completed,
        S::Failed => TaskStatus::Failed,
        S::Unknown => TaskStatus::Unknown("unknown".into()),
    }
}

/// A task from the video object, field by field.
fn from_video(video: types::VideoObject) -> Task {
    let types::VideoObject {
        completed_at: _,
        created_at: _,
        error,
        expires_at: _,
        id,
        metadata,
        model: _,
        object: _,
        progress,
        seconds: _,
        size: _,
        status: word,
        task_id,
        video_url,
    } = &video;
    let url = metadata
        .as_ref()
        .and_then(|m| m.url.as_deref())
        .or(video_url.as_deref())
        .filter(|u| !u.is_empty());
    Task {
        id: task_id.clone().unwrap_or_else(|| id.clone()),
        provider: P,
        status: status(*word),
        progress: progress.map(|p| p.clamp(0, 100) as u8),
        video_urls: url.map(String::from).into_iter().collect(),
        error: error.as_ref().and_then(|e| e.message.clone()),
        raw: RawTask::Powertokens(Raw::Video(video)),
    }
}

/// A task read by name from a body the generated type refused (only then).
fn to_task(v: &Value, raw: RawTask) -> Task {
    let url = v
        .pointer("/metadata/url")
        .and_then(Value::as_str)
        .or_else(|| v["video_url"].as_str());
    Task {
        id: v["task_id"]
            .as_str()
            .or(v["id"].as_str())
            .unwrap_or_default()
            .to_string(),
        provider: P,
        status: TaskStatus::parse(v["status"].as_str().unwrap_or("")),
        progress: v["progress"].as_u64().map(|p| p.min(100) as u8),
        video_urls: url
            .filter(|u| !u.is_empty())
            .map(String::from)
            .into_iter()
            .collect(),
        error: v
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(String::from),
        raw,
    }
}
