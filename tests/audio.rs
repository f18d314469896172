//! Decodes a small fixture of every supported format and every bad-input case.
//! Fixtures are committed; `scripts/make-audio-fixtures.sh` regenerates them.

use std::path::PathBuf;

use medscribe::audio::{self, DecodeOptions, TARGET_RATE};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

/// Amplitude of the `hz` component over the steady middle of the signal (Goertzel).
fn amplitude_at(samples: &[f32], hz: f64) -> f64 {
    let n = samples.len();
    let mid = &samples[n / 10..n - n / 10];
    let w = 2.0 * std::f64::consts::PI * hz / f64::from(TARGET_RATE);
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in mid {
        let s0 = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    2.0 * power.sqrt() / mid.len() as f64
}

fn rms(samples: &[f32]) -> f64 {
    let n = samples.len();
    let mid = &samples[n / 10..n - n / 10];
    (mid.iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / mid.len() as f64)
        .sqrt()
}

/// (file, container, codec, source rate, channels, seconds)
const GOOD: &[(&str, &str, &str, u32, u16, f64)] = &[
    ("tone16k.wav", "wav", "pcm_s16le", 16000, 1, 0.5),
    ("float16k.wav", "wav", "pcm_f32le", 16000, 1, 0.5),
    ("ulaw8k.wav", "wav", "pcm_mulaw", 8000, 1, 0.5),
    ("alaw8k.wav", "wav", "pcm_alaw", 8000, 1, 0.5),
    ("ima22k.wav", "wav", "adpcm_ima_wav", 22050, 1, 0.5),
    ("msadpcm22k.wav", "wav", "adpcm_ms", 22050, 1, 0.5),
    ("left22k.wav", "wav", "pcm_s16le", 22050, 2, 0.5),
    ("tone44k.mp3", "mp3", "mp3", 44100, 1, 1.0),
    ("tone8k.mp3", "mp3", "mp3", 8000, 1, 1.0),
    ("tone48k.m4a", "m4a", "aac", 48000, 1, 1.0),
    ("tone44k.aac", "aac", "aac", 44100, 1, 1.0),
    ("tone44k.flac", "flac", "flac", 44100, 1, 1.0),
    ("tone44k.ogg", "ogg", "vorbis", 44100, 1, 1.0),
    ("tone48k.opus", "ogg", "opus", 48000, 1, 1.0),
    ("tone48k.webm", "webm", "opus", 48000, 1, 1.0),
];

#[test]
fn every_format_decodes_to_a_440_hz_tone() {
    for &(name, container, codec, rate, channels, seconds) in GOOD {
        let path = fixture(name);
        let info = audio::probe(&path).unwrap_or_else(|e| panic!("probe {name}: {e}"));
        assert_eq!(info.container, container, "{name}");
        assert_eq!(info.codec, codec, "{name}");
        assert_eq!(info.sample_rate, rate, "{name}");
        assert_eq!(info.channels, channels, "{name}");
        // Lossy encoders pad the end (e.g. a whole AAC or MP3 frame).
        assert!(
            (info.duration_s - seconds).abs() < 0.2,
            "{name}: {}",
            info.duration_s
        );

        let decoded = audio::decode_file(&path, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("decode {name}: {e}"));
        assert_eq!(decoded.skipped_packets, 0, "{name}");
        let expected = decoded.info.duration_s * f64::from(TARGET_RATE);
        assert!(
            (decoded.samples.len() as f64 - expected).abs() <= 1.0,
            "{name}: {} samples for {} s",
            decoded.samples.len(),
            decoded.info.duration_s
        );
        assert!((decoded.info.duration_s - seconds).abs() < 0.2, "{name}");
        // Nearly all the energy is at 440 Hz: the frequency survived resampling.
        let level = rms(&decoded.samples);
        let tone = amplitude_at(&decoded.samples, 440.0) / std::f64::consts::SQRT_2;
        assert!(
            tone / level > 0.9,
            "{name}: 440 Hz rms {tone}, total {level}"
        );
        let off = amplitude_at(&decoded.samples, 520.0) / std::f64::consts::SQRT_2;
        assert!(off / level < 0.1, "{name}: 520 Hz rms {off}, total {level}");
        // 0.5 amplitude sine: rms 0.354, halved when only one of two channels has it.
        let want = if name == "left22k.wav" { 0.177 } else { 0.354 };
        assert!((level - want).abs() < 0.05, "{name}: rms {level}");
    }
}

#[test]
fn stereo_downmix_cancels_opposite_channels() {
    let decoded = audio::decode_file(&fixture("cancel22k.wav"), &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.info.channels, 2);
    assert!(rms(&decoded.samples) < 1e-3);
}

#[test]
fn stream_and_bytes_match_file_decode() {
    let path = fixture("tone44k.flac");
    let whole = audio::decode_file(&path, &DecodeOptions::default()).unwrap();
    let mut streamed = Vec::new();
    let mut chunks = 0;
    let (info, skipped) = audio::decode_stream(&path, &DecodeOptions::default(), &mut |c| {
        chunks += 1;
        streamed.extend_from_slice(c);
        Ok(())
    })
    .unwrap();
    assert_eq!(skipped, 0);
    assert_eq!(info, whole.info);
    assert_eq!(streamed, whole.samples);
    assert!(chunks >= 1);
    let bytes = std::fs::read(&path).unwrap();
    let from_bytes = audio::decode_bytes(bytes, "upload.flac", &DecodeOptions::default()).unwrap();
    assert_eq!(from_bytes.samples, whole.samples);
}

#[test]
fn sink_errors_and_cancel_stop_decoding() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let opts = DecodeOptions {
        cancel: Some(Arc::new(AtomicBool::new(true))),
        ..DecodeOptions::default()
    };
    let err = audio::decode_file(&fixture("tone44k.mp3"), &opts).unwrap_err();
    assert!(matches!(err, medscribe::Error::Interrupted), "{err}");

    let err = audio::decode_stream(
        &fixture("tone44k.ogg"),
        &DecodeOptions::default(),
        &mut |_| Err(medscribe::Error::Invalid("sink full".into())),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "sink full");
}

fn error_of(name: &str) -> String {
    let path = fixture(name);
    let err = audio::decode_file(&path, &DecodeOptions::default())
        .expect_err(name)
        .to_string();
    let probe_err = audio::probe(&path).err().map(|e| e.to_string());
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(!err.contains('\n'), "{err}");
    if name != "truncated.wav" {
        // Probe reads only headers, so it cannot see a cut-off data chunk.
        assert_eq!(probe_err.as_deref(), Some(err.as_str()));
    }
    err
}

#[test]
fn bad_inputs_get_clear_one_line_errors() {
    let cases = [
        ("empty.wav", "file is empty (0 bytes)"),
        ("notes.wav", "not an audio file (looks like text)"),
        ("random.wav", "not a recognised audio file"),
        ("truncated.wav", "file is truncated: the header says 0.50 s but only"),
        ("video.mp4", "has no audio track"),
        ("voice.amr", "AMR (phone voice recording) is not supported: convert it to WAV with ffmpeg"),
        ("memo.dss", "DSS (Olympus/Grundig dictation) is not supported: convert it to WAV with ffmpeg, e.g. ffmpeg -i in.dss out.wav"),
        ("memo.ds2", "DS2 (DSS Pro dictation, often encrypted) is not supported: convert it to WAV with the recorder vendor's software"),
        ("memo.wma", "WMA/ASF (Windows Media) is not supported: convert it to WAV with ffmpeg"),
    ];
    for (name, want) in cases {
        let err = error_of(name);
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let err = audio::probe(&fixture("no-such-file.wav")).unwrap_err();
    assert!(matches!(err, medscribe::Error::Io { .. }), "{err}");
}

#[test]
fn duration_limit_is_enforced() {
    let opts = DecodeOptions {
        max_duration_s: 0.25,
        ..DecodeOptions::default()
    };
    for name in ["tone16k.wav", "tone44k.ogg"] {
        let err = audio::decode_file(&fixture(name), &opts)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("over the 0.25 s limit: split it or raise the limit"),
            "{err}"
        );
    }
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let opts = DecodeOptions::default();
    for &(name, ..) in GOOD {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let ext = name.rsplit('.').next().unwrap();
        for cut in [
            1,
            4,
            12,
            44,
            100,
            300,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 1,
        ] {
            let cut = cut.min(bytes.len());
            let _ = audio::decode_bytes(bytes[..cut].to_vec(), &format!("cut.{ext}"), &opts);
        }
        for _ in 0..8 {
            let mut damaged = bytes.clone();
            for _ in 0..(damaged.len() / 50).max(1) {
                let i = (next() as usize) % damaged.len();
                damaged[i] = next() as u8;
            }
            let _ = audio::decode_bytes(damaged, &format!("damaged.{ext}"), &opts);
        }
    }
    for len in [1usize, 7, 64, 1000, 20_000] {
        let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        for ext in ["wav", "mp3", "ogg", "m4a", "webm", "bin"] {
            let _ = audio::decode_bytes(noise.clone(), &format!("noise.{ext}"), &opts);
        }
    }
}
