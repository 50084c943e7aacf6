//! The providers: one row each. build.rs makes the crate's `Provider` enum,
//! its generated client modules and the per-provider dispatch from this
//! table (see `for_each_provider!` in `OUT_DIR/providers.rs`), so a provider
//! is its row, its document, `src/providers/<name>.rs` and
//! `src/mock/providers/<name>.rs`.
//!
//! Patches rename what progenitor would call a type after the schema name the
//! provider borrowed from another endpoint; they change Rust names only, never
//! the JSON. A patch that matches nothing fails the build (see generate.rs).

/// One vendored document.
pub struct ProviderDoc {
    /// Module name and file stem.
    pub name: &'static str,
    /// File name inside the OpenAPI directory.
    pub file: &'static str,
    /// One line for the `Provider` variant's and the module's docs.
    pub summary: &'static str,
    /// `(progenitor's name, our name)` pairs.
    pub patches: &'static [(&'static str, &'static str)],
}

pub const PROVIDERS: &[ProviderDoc] = &[
    ProviderDoc {
        name: "magnific",
        file: "magnific.yaml",
        summary: "Magnific (formerly Freepik API): 480p and 720p endpoints, `x-magnific-api-key`.",
        patches: &[
            ("V1AiTextToImageHyperfluxPost200Response", "TaskResponse"),
            ("TaskDetail1", "TaskDetail"),
            ("GetAllStyleTransferTasks200Response", "TaskList"),
            ("GetAllStyleTransferTasks400Response", "ErrorMessage"),
            ("GetAllStyleTransferTasks400Response1", "ProblemDetails"),
            (
                "GetAllStyleTransferTasks400Response1Problem",
                "ProblemDetailsProblem",
            ),
            (
                "GetAllStyleTransferTasks400Response1ProblemInvalidParamsInner",
                "InvalidParam",
            ),
            ("GetAllStyleTransferTasks500Response", "InternalServerError"),
            ("GetAllStyleTransferTasks503Response", "ServiceUnavailable"),
            ("Seedance2MiniRequest", "CreateVideoRequest"),
            ("Seedance2MiniRequestAspectRatio", "AspectRatio"),
            ("Seedance2MiniRequestDuration", "Duration"),
            ("Seedance2MiniRequestPrompt", "Prompt"),
            ("TaskDetail1Status", "TaskDetailStatus"),
        ],
    },
    ProviderDoc {
        name: "anyfast",
        file: "anyfast.yaml",
        summary: "Anyfast: `/v1/video/generations`, Bearer auth.",
        patches: &[
            ("CreateSeedanceMiniBody", "VideoGenerationRequest"),
            ("CreateSeedanceMiniBodyContentItem", "ContentItem"),
            ("CreateSeedanceMiniBodyContentItemAudioUrl", "AudioUrl"),
            ("CreateSeedanceMiniBodyContentItemImageUrl", "ImageUrl"),
            ("CreateSeedanceMiniBodyContentItemVideoUrl", "VideoUrl"),
            ("CreateSeedanceMiniBodyContentItemRole", "ContentRole"),
            ("CreateSeedanceMiniBodyContentItemType", "ContentType"),
            ("CreateSeedanceMiniBodyModel", "Model"),
            ("CreateSeedanceMiniBodyRatio", "Ratio"),
            ("CreateSeedanceMiniBodyResolution", "Resolution"),
            ("CreateSeedanceMiniBodyToolsItem", "Tool"),
            ("CreateSeedanceMiniBodyToolsItemType", "ToolType"),
            ("CreateSeedanceMiniResponse", "VideoGenerationTask"),
            ("ErrorError", "ErrorDetail"),
        ],
    },
    ProviderDoc {
        name: "powertokens",
        file: "powertokens.yaml",
        summary: "Powertokens (a new-api gateway): `/v1/videos`, Bearer auth.",
        patches: &[
            ("ImageToVideoRequestModel", "Model"),
            ("ImageToVideoRequestRatio", "Ratio"),
            ("ImageToVideoRequestSeconds", "Seconds"),
            ("ImageToVideoRequestSize", "Size"),
            ("GatewayErrorError", "GatewayErrorDetail"),
        ],
    },
];
