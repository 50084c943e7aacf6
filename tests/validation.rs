//! Bad input, per provider: each row is a request and the error it must get,
//! before anything is sent. The error text names the field and the rule.

use seedance_mini::{request_body, AspectRatio, Error, Media, Provider, VideoRequest};

use Provider::*;

fn long(n: usize) -> String {
    "a".repeat(n)
}

fn first() -> VideoRequest {
    VideoRequest::new("p").first_frame("https://example.com/a.png")
}

#[test]
fn bad_inputs_get_the_error_that_names_field_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let big_audio = dir.path().join("big.wav");
    std::fs::write(&big_audio, vec![0u8; 15_000_001]).unwrap();
    let cases: Vec<(Provider, VideoRequest, &str)> = vec![
        (
            Magnific,
            VideoRequest::new(long(2001)),
            "invalid `prompt`: is 2001 characters; magnific takes at most 2000",
        ),
        (
            Magnific,
            VideoRequest::default(),
            "invalid `prompt`: is required by magnific",
        ),
        (
            Magnific,
            VideoRequest::new("  "),
            "invalid `prompt`: is empty",
        ),
        (
            Magnific,
            VideoRequest::new("p").duration(7),
            "invalid `duration`: 7 s is not one of magnific's 5, 10",
        ),
        (
            Magnific,
            VideoRequest::new("p").aspect_ratio(AspectRatio::Adaptive),
            "invalid `aspect_ratio`: `adaptive` is not one of magnific's",
        ),
        (
            Magnific,
            VideoRequest::new("p").seed(-2),
            "invalid `seed`: -2 is outside -1..=4294967295",
        ),
        (
            Magnific,
            VideoRequest::new("p").seed(4_294_967_296),
            "invalid `seed`: 4294967296 is outside -1..=4294967295",
        ),
        (
            Magnific,
            VideoRequest::new("p").last_frame("https://x/b.png"),
            "invalid `last_frame`: needs a first_frame",
        ),
        (
            Magnific,
            VideoRequest::new("p").first_frame("/no/such/file.png"),
            "invalid `first_frame`: cannot read /no/such/file.png",
        ),
        (
            Magnific,
            VideoRequest::new("p").webhook_url("not a url"),
            "invalid `webhook_url`: `not a url` is not a URL",
        ),
        (
            Magnific,
            VideoRequest::new("p").webhook_url("ftp://x/y"),
            "invalid `webhook_url`: `ftp://x/y` must be http or https",
        ),
        (
            Magnific,
            VideoRequest::new("p").audio(true),
            "magnific does not support audio generation (`audio`)",
        ),
        (
            Magnific,
            VideoRequest::new("p").reference_image("https://x/r.png"),
            "magnific does not support reference images",
        ),
        (
            Magnific,
            VideoRequest::new("p").watermark(true),
            "magnific does not support `watermark`",
        ),
        (
            Anyfast,
            VideoRequest::new("p").duration(3),
            "invalid `duration`: 3 s is outside anyfast's 4-15",
        ),
        (
            Anyfast,
            VideoRequest::new("p").duration(16),
            "invalid `duration`: 16 s is outside anyfast's 4-15",
        ),
        (
            Anyfast,
            VideoRequest::new("p").aspect_ratio(AspectRatio::R9x21),
            "invalid `aspect_ratio`: `9:21` is not one of anyfast's 16:9, 4:3, 1:1, 3:4, 9:16, 21:9, adaptive",
        ),
        (
            Anyfast,
            VideoRequest::new("p").reference_audio("https://x/a.wav"),
            "invalid `reference_audio`: needs an image or a video beside it",
        ),
        (
            Anyfast,
            VideoRequest::new("p")
                .reference_image("https://x/r.png")
                .web_search(true),
            "invalid `web_search`: is for text-to-video only",
        ),
        (
            Anyfast,
            VideoRequest::new("p").seed(1),
            "anyfast does not support `seed`",
        ),
        (
            Anyfast,
            VideoRequest::new("p").webhook_url("https://x/hook"),
            "anyfast does not support webhooks",
        ),
        (
            Anyfast,
            VideoRequest::new("p").reference_video(Media::bytes(vec![1u8], "video/mp4")),
            "anyfast does not support reference videos from local content",
        ),
        (
            Anyfast,
            VideoRequest::default(),
            "invalid `prompt`: is required when no image or video is given",
        ),
        (
            Anyfast,
            (0..10).fold(VideoRequest::new("p"), |r, i| {
                r.reference_image(format!("https://x/{i}.png"))
            }),
            "invalid `reference_images`: has 10; anyfast takes at most 9",
        ),
        (
            Anyfast,
            VideoRequest::new("p")
                .first_frame("https://x/a.png")
                .reference_audio(big_audio.clone()),
            "invalid `reference_audio`: is 15000001 bytes; the provider takes at most 15 MB",
        ),
        (
            Powertokens,
            VideoRequest::new("p"),
            "invalid `first_frame`: is required by powertokens",
        ),
        (
            Powertokens,
            first().duration(13),
            "invalid `duration`: 13 s is not one of powertokens' 4-12, 15, or -1",
        ),
        (
            Powertokens,
            first().last_frame("https://x/b.png"),
            "powertokens does not support a last frame",
        ),
        (
            Powertokens,
            first().safety_identifier(long(65)),
            "invalid `safety_identifier`: is 65 characters; powertokens takes at most 64",
        ),
        (
            Powertokens,
            VideoRequest::new("p").first_frame(Media::bytes(vec![1u8], "image/png")),
            "powertokens does not support a first frame from local content",
        ),
        (
            Powertokens,
            first().camera_fixed(true),
            "powertokens does not support `camera_fixed`",
        ),
    ];
    for (provider, request, expected) in cases {
        let err = request.validate(provider).expect_err(expected);
        assert!(
            err.to_string().starts_with(expected),
            "{provider}: expected `{expected}`, got `{err}`"
        );
        assert!(matches!(
            err,
            Error::Validation { .. } | Error::Unsupported { .. }
        ));
    }
}

#[test]
fn aspect_ratio_strings_name_the_field_and_the_choices() {
    let err = "5:4".parse::<AspectRatio>().unwrap_err();
    assert_eq!(err.to_string(), "invalid `aspect_ratio`: `5:4` is not one of 21:9, 16:9, 4:3, 1:1, 3:4, 9:16, 9:21, adaptive");
    assert_eq!(
        "widescreen_16_9".parse::<AspectRatio>().unwrap(),
        AspectRatio::R16x9
    );
}

#[test]
fn boundaries_that_are_allowed_pass() {
    VideoRequest::new(long(2000))
        .seed(-1)
        .duration(10)
        .validate(Magnific)
        .unwrap();
    VideoRequest::new("p")
        .seed(4_294_967_295)
        .aspect_ratio(AspectRatio::R9x21)
        .validate(Magnific)
        .unwrap();
    VideoRequest::new("p")
        .duration(4)
        .web_search(true)
        .validate(Anyfast)
        .unwrap();
    first()
        .duration(-1)
        .safety_identifier(long(64))
        .validate(Powertokens)
        .unwrap();
}

/// The bodies each provider is sent, pinned: local content is encoded the way
/// the provider takes it (plain base64 for Magnific, a data URI for Anyfast).
#[tokio::test]
async fn request_bodies_are_pinned() {
    let png = Media::bytes(&b"\x89PNG fake"[..], "image/png");
    let magnific = VideoRequest::new("a cat")
        .first_frame(png.clone())
        .last_frame("https://example.com/end.png")
        .duration(10)
        .aspect_ratio(AspectRatio::R9x16)
        .seed(42)
        .camera_fixed(true)
        .safety_checker(false)
        .webhook_url("https://hooks.example.com/seedance");
    insta::assert_json_snapshot!(
        "body_magnific",
        request_body(Magnific, &magnific).await.unwrap()
    );
    let anyfast = VideoRequest::new("a cat")
        .first_frame(png)
        .reference_audio("https://example.com/a.mp3")
        .duration(12)
        .aspect_ratio(AspectRatio::Adaptive)
        .audio(false)
        .watermark(true);
    insta::assert_json_snapshot!(
        "body_anyfast",
        request_body(Anyfast, &anyfast).await.unwrap()
    );
    let powertokens = first()
        .duration(15)
        .aspect_ratio(AspectRatio::R1x1)
        .seed(7)
        .return_last_frame(true)
        .safety_identifier("user-1");
    insta::assert_json_snapshot!(
        "body_powertokens",
        request_body(Powertokens, &powertokens).await.unwrap()
    );
}
