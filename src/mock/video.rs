//! Real, playable MP4s of any size and length, made on demand.
//!
//! The H.264 stream is the smallest valid one we know how to write: a
//! Baseline-profile IDR frame whose macroblocks are all `I_16x16` DC
//! predicted with no residual (one byte each, a flat grey picture), then
//! P frames that skip every macroblock (a few bytes each). The `mp4` crate
//! muxes it. A 15-second 720p file is about 4 KB, so nothing needs caching.

use std::io::Cursor;

/// What a video should look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoSpec {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Length in whole seconds.
    pub seconds: u32,
    /// A (silent) AAC soundtrack beside the picture, as asked for.
    pub audio: bool,
}

/// Frames per second of every mock video, as the model outputs.
pub const FPS: u32 = 24;

/// The soundtrack's sample rate; an AAC frame holds 1,024 samples.
const AUDIO_RATE: u32 = 48_000;

/// One AAC-LC frame of silence, mono, 48 kHz (a raw frame, no ADTS header),
/// as an AAC encoder writes it for digital silence.
const SILENT_AAC_FRAME: [u8; 4] = [0x01, 0x18, 0x20, 0x07];

impl VideoSpec {
    /// The frame size for a resolution (`480` or `720`, the shorter side)
    /// and an aspect ratio `w:h`.
    pub fn for_ratio(short_side: u32, (w, h): (u32, u32), seconds: u32) -> Self {
        let even = |x: u32| x + (x & 1);
        let (width, height) = if w >= h {
            (even((short_side * w).div_ceil(h)), short_side)
        } else {
            (short_side, even((short_side * h).div_ceil(w)))
        };
        Self {
            width,
            height,
            seconds: seconds.max(1),
            audio: false,
        }
    }

    /// The same, with a silent soundtrack when `audio` holds.
    pub fn with_audio(mut self, audio: bool) -> Self {
        self.audio = audio;
        self
    }
}

/// Writes bits most-significant first, with H.264's Exp-Golomb codes.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    used: u8,
}

impl Bits {
    fn bit(&mut self, b: bool) {
        if self.used == 0 {
            self.bytes.push(0);
        }
        if b {
            *self.bytes.last_mut().expect("pushed above") |= 0x80 >> self.used;
        }
        self.used = (self.used + 1) % 8;
    }
    fn u(&mut self, n: u32, value: u32) {
        for i in (0..n).rev() {
            self.bit((value >> i) & 1 == 1);
        }
    }
    fn ue(&mut self, value: u32) {
        let v = value + 1;
        let len = 32 - v.leading_zeros();
        self.u(len - 1, 0);
        self.u(len, v);
    }
    fn se(&mut self, value: i32) {
        self.ue(if value > 0 {
            2 * value as u32 - 1
        } else {
            (-2 * value) as u32
        });
    }
    /// rbsp_trailing_bits, then the NAL unit with emulation prevention.
    fn nal(mut self, header: u8) -> Vec<u8> {
        self.bit(true);
        while self.used != 0 {
            self.bit(false);
        }
        let mut out = vec![header];
        let mut zeros = 0;
        for b in self.bytes {
            if zeros == 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            out.push(b);
        }
        out
    }
}

const LOG2_MAX_FRAME_NUM: u32 = 4;

struct Geometry {
    mbs_wide: u32,
    mbs_high: u32,
    crop_right: u32,
    crop_bottom: u32,
}

impl Geometry {
    fn of(spec: &VideoSpec) -> Self {
        let mbs_wide = spec.width.div_ceil(16);
        let mbs_high = spec.height.div_ceil(16);
        Self {
            mbs_wide,
            mbs_high,
            crop_right: (mbs_wide * 16 - spec.width) / 2,
            crop_bottom: (mbs_high * 16 - spec.height) / 2,
        }
    }
    fn mbs(&self) -> u32 {
        self.mbs_wide * self.mbs_high
    }
}

fn sps(g: &Geometry) -> Vec<u8> {
    let mut b = Bits::default();
    b.u(8, 66); // profile_idc: Baseline
    b.u(8, 0b1100_0000); // constraint_set0/1: decodable by Baseline and Main decoders
    b.u(8, 40); // level 4.0: up to 8192 macroblocks a frame (1680x720 needs 4725)
    b.ue(0); // seq_parameter_set_id
    b.ue(LOG2_MAX_FRAME_NUM - 4);
    b.ue(2); // pic_order_cnt_type 2: output order is decode order
    b.ue(1); // max_num_ref_frames
    b.u(1, 0); // gaps_in_frame_num_value_allowed_flag
    b.ue(g.mbs_wide - 1);
    b.ue(g.mbs_high - 1);
    b.u(1, 1); // frame_mbs_only_flag
    b.u(1, 1); // direct_8x8_inference_flag
    let crop = g.crop_right > 0 || g.crop_bottom > 0;
    b.u(1, crop as u32);
    if crop {
        b.ue(0);
        b.ue(g.crop_right);
        b.ue(0);
        b.ue(g.crop_bottom);
    }
    b.u(1, 0); // vui_parameters_present_flag
    b.nal(0x67)
}

fn pps() -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0); // pic_parameter_set_id
    b.ue(0); // seq_parameter_set_id
    b.u(1, 0); // entropy_coding_mode_flag: CAVLC
    b.u(1, 0); // bottom_field_pic_order_in_frame_present_flag
    b.ue(0); // num_slice_groups_minus1
    b.ue(0); // num_ref_idx_l0_default_active_minus1
    b.ue(0); // num_ref_idx_l1_default_active_minus1
    b.u(1, 0); // weighted_pred_flag
    b.u(2, 0); // weighted_bipred_idc
    b.se(0); // pic_init_qp_minus26
    b.se(0); // pic_init_qs_minus26
    b.se(0); // chroma_qp_index_offset
    b.u(1, 1); // deblocking_filter_control_present_flag
    b.u(1, 0); // constrained_intra_pred_flag
    b.u(1, 0); // redundant_pic_cnt_present_flag
    b.nal(0x68)
}

/// The IDR frame: every macroblock I_16x16, DC prediction, no residual.
fn idr(g: &Geometry) -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0); // first_mb_in_slice
    b.ue(7); // slice_type: I, all slices
    b.ue(0); // pic_parameter_set_id
    b.u(LOG2_MAX_FRAME_NUM, 0); // frame_num
    b.ue(0); // idr_pic_id
    b.u(1, 0); // no_output_of_prior_pics_flag
    b.u(1, 0); // long_term_reference_flag
    b.se(0); // slice_qp_delta
    b.ue(1); // disable_deblocking_filter_idc: off
    for _ in 0..g.mbs() {
        b.ue(3); // mb_type I_16x16_2_0_0: DC prediction, no coded residual
        b.ue(0); // intra_chroma_pred_mode: DC
        b.se(0); // mb_qp_delta
        b.u(1, 1); // Intra16x16 DC luma coeff_token: no coefficients (nC = 0)
    }
    b.nal(0x65)
}

/// A P frame that repeats the previous one: every macroblock skipped.
fn skip(g: &Geometry, frame_num: u32) -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0); // first_mb_in_slice
    b.ue(5); // slice_type: P, all slices
    b.ue(0); // pic_parameter_set_id
    b.u(LOG2_MAX_FRAME_NUM, frame_num % (1 << LOG2_MAX_FRAME_NUM));
    b.u(1, 0); // num_ref_idx_active_override_flag
    b.u(1, 0); // ref_pic_list_modification_flag_l0
    b.u(1, 0); // adaptive_ref_pic_marking_mode_flag
    b.se(0); // slice_qp_delta
    b.ue(1); // disable_deblocking_filter_idc
    b.ue(g.mbs()); // mb_skip_run: the whole frame
    b.nal(0x41)
}

/// An MP4 of `spec`.
pub fn mp4(spec: &VideoSpec) -> Result<Vec<u8>, mp4::Error> {
    let g = Geometry::of(spec);
    let timescale = FPS * 512;
    let config = mp4::Mp4Config {
        major_brand: "isom".parse().expect("four characters"),
        minor_version: 512,
        compatible_brands: ["isom", "iso2", "avc1", "mp41"]
            .iter()
            .map(|b| b.parse().expect("four characters"))
            .collect(),
        // The movie's timescale equals the track's: the muxer converts each
        // sample's duration with integer division, which would otherwise drift.
        timescale,
    };
    let mut writer = mp4::Mp4Writer::write_start(Cursor::new(Vec::new()), &config)?;
    writer.add_track(&mp4::TrackConfig {
        track_type: mp4::TrackType::Video,
        timescale,
        language: "und".into(),
        media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
            width: spec.width as u16,
            height: spec.height as u16,
            seq_param_set: sps(&g)[..].to_vec(),
            pic_param_set: pps(),
        }),
    })?;
    let frames = spec.seconds * FPS;
    for i in 0..frames {
        let nal = if i == 0 { idr(&g) } else { skip(&g, i) };
        let mut sample = Vec::with_capacity(nal.len() + 4);
        sample.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        sample.extend_from_slice(&nal);
        writer.write_sample(
            1,
            &mp4::Mp4Sample {
                start_time: u64::from(i) * 512,
                duration: 512,
                rendering_offset: 0,
                is_sync: i == 0,
                bytes: sample.into(),
            },
        )?;
    }
    if spec.audio {
        writer.add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Audio,
            timescale: AUDIO_RATE,
            language: "und".into(),
            media_conf: mp4::MediaConfig::AacConfig(mp4::AacConfig {
                bitrate: 32_000,
                profile: mp4::AudioObjectType::AacLowComplexity,
                freq_index: mp4::SampleFreqIndex::Freq48000,
                chan_conf: mp4::ChannelConfig::Mono,
            }),
        })?;
        let frames = (spec.seconds * AUDIO_RATE).div_ceil(1024);
        for i in 0..frames {
            writer.write_sample(
                2,
                &mp4::Mp4Sample {
                    start_time: u64::from(i) * 1024,
                    duration: 1024,
                    rendering_offset: 0,
                    is_sync: true,
                    bytes: SILENT_AAC_FRAME.to_vec().into(),
                },
            )?;
        }
    }
    writer.write_end()?;
    Ok(writer.into_writer().into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_follow_resolution_and_ratio() {
        assert_eq!(
            VideoSpec::for_ratio(720, (16, 9), 5),
            VideoSpec {
                width: 1280,
                height: 720,
                seconds: 5,
                audio: false,
            }
        );
        assert_eq!(VideoSpec::for_ratio(480, (16, 9), 5).width, 854);
        assert_eq!(
            VideoSpec::for_ratio(720, (9, 21), 5),
            VideoSpec {
                width: 720,
                height: 1680,
                seconds: 5,
                audio: false,
            }
        );
        assert_eq!(VideoSpec::for_ratio(480, (1, 1), 10).height, 480);
    }

    #[test]
    fn exp_golomb_codes_match_the_standard_table() {
        let mut b = Bits::default();
        for v in [0, 1, 2, 3] {
            b.ue(v);
        }
        // 1 010 011 00100 -> 1010 0110 0100 ....
        assert_eq!(&b.bytes[..2], &[0b1010_0110, 0b0100_0000]);
    }

    #[test]
    fn emulation_prevention_is_inserted() {
        let mut b = Bits::default();
        b.u(24, 0x000001);
        let nal = b.nal(0x65);
        assert_eq!(&nal[..5], &[0x65, 0, 0, 3, 1]);
    }

    #[test]
    fn a_video_parses_back_with_its_size_and_duration() {
        let spec = VideoSpec {
            width: 854,
            height: 480,
            seconds: 5,
            audio: false,
        };
        let bytes = mp4(&spec).unwrap();
        let size = bytes.len() as u64;
        let reader = mp4::Mp4Reader::read_header(Cursor::new(bytes), size).unwrap();
        let track = reader.tracks().values().next().unwrap();
        assert_eq!((track.width(), track.height()), (854, 480));
        assert_eq!(track.sample_count(), 5 * FPS);
        assert_eq!(reader.duration().as_secs(), 5);
    }

    #[test]
    fn the_clients_probe_reads_the_same_size_and_length() {
        let dir = tempfile::tempdir().unwrap();
        for spec in [
            VideoSpec::for_ratio(720, (9, 16), 10).with_audio(true),
            VideoSpec::for_ratio(480, (21, 9), 5),
        ] {
            let path = dir.path().join("v.mp4");
            std::fs::write(&path, mp4(&spec).unwrap()).unwrap();
            let shape = crate::download::probe_mp4(&path).unwrap();
            assert_eq!((shape.width, shape.height), (spec.width, spec.height));
            assert!(
                (shape.seconds - f64::from(spec.seconds)).abs() < 0.05,
                "{shape:?}"
            );
        }
    }
}
