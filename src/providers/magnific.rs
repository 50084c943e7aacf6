//! Magnific: the request maps onto `CreateVideoRequest`, resolution picks the
//! 480p or 720p endpoint, and images go as a URL or plain base64.

use serde_json::Value;

use super::{call, check_aspect_ratio, create_call, require_absent, task_from_json, Api};
use crate::magnific::{types, Client};
use std::time::Duration;

use super::{Auth, ProviderSpec, VideoSource};
use crate::task::RawTask;
use crate::RequestField as F;
use crate::{
    AspectRatio, Error, Provider, RequestContext, Resolution, Task, TaskStatus, VideoRequest,
};

const P: Provider = Provider::Magnific;

/// Magnific's facts.
const SPEC: ProviderSpec = ProviderSpec {
    name: "magnific",
    key_env_var: "MAGNIFIC_API_KEY",
    base_url: "https://api.magnific.com",
    auth: Auth::Header("x-magnific-api-key"),
    // "Result URLs are valid for 24 hours" (FACTS.md, the provider's docs).
    result_url_ttl: Some(Duration::from_secs(24 * 3600)),
    video: VideoSource::ResultUrl,
    webhooks: true,
    lists_tasks: true,
    rate_limit: &[
        (50, Duration::from_secs(1)),
        (1200, Duration::from_secs(120)),
    ],
    durations: &[5, 10],
    // The seven named ratios; no `adaptive`.
    aspect_ratios: &[
        AspectRatio::R21x9,
        AspectRatio::R16x9,
        AspectRatio::R4x3,
        AspectRatio::R1x1,
        AspectRatio::R3x4,
        AspectRatio::R9x16,
        AspectRatio::R9x21,
    ],
};

/// Magnific, as the client speaks to it.
pub(crate) struct Magnific;

impl Api for Magnific {
    const PROVIDER: Provider = P;
    const SPEC: ProviderSpec = SPEC;
    type Clients = Client;
    type Body = types::CreateVideoRequest;

    fn clients(
        base_url: &str,
        api: reqwest::Client,
        _download: reqwest::Client,
        context: RequestContext,
    ) -> Client {
        Client::new_with_client(base_url, api, context)
    }

    /// Magnific's rules.
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
            camera_fixed: _, // on or off, both offered
            audio,
            watermark,
            safety_checker: _, // on or off, both offered
            webhook_url: _,    // the shared URL check, in `VideoRequest::validate`
            web_search,
            return_last_frame,
            safety_identifier,
        } = req;
        require_absent(P, reference_images.is_empty(), F::ReferenceImages, "reference images")?;
        require_absent(P, reference_videos.is_empty(), F::ReferenceVideos, "reference videos")?;
        require_absent(P, reference_audio.is_empty(), F::ReferenceAudio, "reference audio")?;
        require_absent(P, (*audio).is_none(), F::Audio, "audio generation (`audio`)")?;
        require_absent(P, (*watermark).is_none(), F::Watermark, "")?;
        require_absent(P, !*web_search, F::WebSearch, "the web-search tool")?;
        require_absent(P, (*return_last_frame).is_none(), F::ReturnLastFrame, "")?;
        require_absent(P, safety_identifier.is_none(), F::SafetyIdentifier, "")?;
        let prompt = prompt
            .as_deref()
            .ok_or_else(|| Error::validation(F::Prompt, "is required by magnific"))?;
        let chars = prompt.chars().count();
        if chars > 2000 {
            return Err(Error::validation(
                F::Prompt,
                format!("is {chars} characters; magnific takes at most 2000"),
            ));
        }
        if let Some(d) = *duration {
            if !SPEC.durations.contains(&d) {
                return Err(Error::validation(
                    F::Duration,
                    format!("{d} s is not one of magnific's 5, 10"),
                ));
            }
        }
        check_aspect_ratio(P, req, SPEC.aspect_ratios)?;
        for (field, media) in [(F::FirstFrame, &first_frame), (F::LastFrame, &last_frame)] {
            if let Some(m) = media {
                m.check(field, None)?;
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
            last_frame,
            reference_images: _, // refused by `validate`, never sent
            reference_videos: _, // refused by `validate`, never sent
            reference_audio: _,  // refused by `validate`, never sent
            resolution: _,       // picks the 480p or 720p endpoint, in `create`
            duration,
            aspect_ratio,
            seed,
            camera_fixed,
            audio: _,     // refused by `validate`, never sent
            watermark: _, // refused by `validate`, never sent
            safety_checker,
            webhook_url,
            web_search: _,        // refused by `validate`, never sent
            return_last_frame: _, // refused by `validate`, never sent
            safety_identifier: _, // refused by `validate`, never sent
        } = req;
        let mut b = types::CreateVideoRequest::builder().prompt(prompt.clone().unwrap_or_default());
        if let Some(m) = &first_frame {
            b = b.image(Some(m.to_url_or_base64(F::FirstFrame).await?));
        }
        if let Some(m) = &last_frame {
            b = b.image_end(Some(m.to_url_or_base64(F::LastFrame).await?));
        }
        if let Some(d) = *duration {
            b = b.duration(d);
        }
        if let Some(name) = (*aspect_ratio).and_then(|r| r.magnific_name()) {
            b = b.aspect_ratio(name);
        }
        if let Some(v) = *seed {
            b = b.seed(v);
        }
        if let Some(v) = *camera_fixed {
            b = b.camera_fixed(v);
        }
        if let Some(v) = *safety_checker {
            b = b.enable_safety_checker(v);
        }
        if let Some(v) = &webhook_url {
            b = b.webhook_url(Some(v.clone()));
        }
        b.try_into()
            .map_err(|e: types::error::ConversionError| Error::validation("request", e.to_string()))
    }

    async fn create(client: &Client, req: &VideoRequest) -> Result<Task, Error> {
        let body = Self::body(req).await?;
        let id = |r: &types::TaskResponse| !r.data.task_id.is_nil();
        let response = match req.effective_resolution() {
            Resolution::P480 => {
                let send = client.create_video_seedance_2_mini_480p().body(body).send();
                create_call(P, send, id).await
            }
            Resolution::P720 => {
                let send = client.create_video_seedance_2_mini_720p().body(body).send();
                create_call(P, send, id).await
            }
        };
        decode(response.map(|r| r.data))
    }

    async fn get(client: &Client, id: &str) -> Result<Task, Error> {
        decode(
            call(P, client.get_seedance_2_mini_task().task_id(id).send())
                .await
                .map(|r| r.data),
        )
    }

    /// All tasks, or those of one resolution.
    async fn list(
        client: &Client,
        resolution: Option<Resolution>,
    ) -> Result<Vec<Task>, Error> {
        let list = match resolution {
            None => call(P, client.get_seedance_2_mini_tasks().send()).await,
            Some(Resolution::P480) => call(P, client.get_all_seedance_2_mini_480p_tasks().send()).await,
            Some(Resolution::P720) => call(P, client.get_all_seedance_2_mini_720p_tasks().send()).await,
        };
        match list {
            Ok(list) => Ok(list.data.into_iter().map(from_listed).collect()),
            Err(Error::Decode {
                status,
                body,
                reason,
            }) => match serde_json::from_str::<Value>(&body) {
                Ok(v) => Ok(v["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| to_task(t, RawTask::Json(t.clone())))
                    .collect()),
                Err(_) => Err(Error::Decode {
                    status,
                    body,
                    reason,
                }),
            },
            Err(e) => Err(e),
        }
    }
}

/// The values a Magnific task is made from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Raw {
    /// A create's or a get's answer.
    Detail(types::TaskDetail),
    /// A list entry.
    Listed(types::Task),
}

/// The document's four statuses; a new one is a compile error here.
fn status(word: types::TaskDetailStatus) -> TaskStatus {
    use types::TaskDetailStatus as S;
    match word {
        S::Created => TaskStatus::Created,
        S::InProgress => TaskStatus::InProgress,
        S::Completed => TaskStatus::Completed,
        S::Failed => TaskStatus::Failed,
    }
}

/// The list's own status type (the same four words).
fn listed_status(word: types::TaskStatus) -> TaskStatus {
    use types::TaskStatus as S;
    match word {
        S::Created => TaskStatus::Created,
        S::InProgress => TaskStatus::InProgress,
        S::Completed => TaskStatus::Completed,
        S::Failed => TaskStatus::Failed,
    }
}

/// A task from the generated `TaskDetail`, field by field.
fn from_detail(detail: types::TaskDetail) -> Task {
    let types::TaskDetail {
        generated,
        status: word,
        task_id,
    } = &detail;
    let status = status(*word);
    Task {
        id: task_id.to_string(),
        provider: P,
        progress: (status == TaskStatus::Completed).then_some(100),
        status,
        video_urls: generated.clone(),
        error: None,
        raw: RawTask::Magnific(Raw::Detail(detail)),
    }
}

/// A task from a list entry (no URLs: the list does not carry them).
fn from_listed(task: types::Task) -> Task {
    let types::Task {
        status: word,
        task_id,
    } = &task;
    let status = listed_status(*word);
    Task {
        id: task_id.to_string(),
        provider: P,
        progress: (status == TaskStatus::Completed).then_some(100),
        status,
        video_urls: Vec::new(),
        error: None,
        raw: RawTask::Magnific(Raw::Listed(task)),
    }
}

/// A task from a decoded `data` object, or from the raw body when the
/// generated type refused it (an undocumented status, say).
fn decode(result: Result<types::TaskDetail, Error>) -> Result<Task, Error> {
    match result {
        Ok(detail) => Ok(from_detail(detail)),
        Err(e) => task_from_json(e, |v| {
            v.get("data")
                .filter(|d| d.get("task_id").is_some())
                .map(|d| to_task(d, RawTask::Json(v.clone())))
        }),
    }
}

/// A task read by name from a body the generated type refused (only then).
fn to_task(data: &Value, raw: RawTask) -> Task {
    let status = TaskStatus::parse(data["status"].as_str().unwrap_or(""));
    Task {
        id: data["task_id"].as_str().unwrap_or_default().to_string(),
        provider: P,
        progress: (status == TaskStatus::Completed).then_some(100),
        status,
        video_urls: data["generated"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(String::from))
            .collect(),
        error: None,
        raw,
    }
}
