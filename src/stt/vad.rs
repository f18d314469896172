//! Voice activity detection with Silero VAD (whisper.cpp's ggml port): finds
//! the stretches of speech so that silence is neither transcribed nor paid for.

use std::path::Path;

use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

use super::MAX_CHUNK_S;
use crate::{Error, Result};

/// Audio kept on each side of a speech span, so that soft word edges are not cut.
pub const SPEECH_PAD_MS: i32 = 200;

/// Finds speech in 16 kHz mono `samples`; returns (start, end) spans in seconds.
///
/// Runs on one thread: the VAD is tiny, and ggml's spin-waiting workers made it
/// a thousand times slower when it competed with Whisper for cores.
pub fn speech_spans(vad_model: &Path, samples: &[f32]) -> Result<Vec<(f64, f64)>> {
    let path = super::model_file(
        vad_model,
        "VAD model not found; fetch it with `medscribe models fetch silero-vad` or pass --no-vad",
    )?;
    let mut ctx_params = WhisperVadContextParams::new();
    ctx_params.set_n_threads(1);
    ctx_params.set_use_gpu(false);
    let mut ctx = WhisperVadContext::new(path, ctx_params).map_err(|e| {
        Error::Model(format!(
            "{}: not a loadable Silero VAD model ({e}); re-fetch it with `medscribe models fetch silero-vad`",
            vad_model.display()
        ))
    })?;
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let mut params = WhisperVadParams::new();
    params.set_threshold(0.5);
    params.set_min_speech_duration(250);
    // Dictation has short pauses inside sentences: only cut at real pauses.
    params.set_min_silence_duration(300);
    params.set_max_speech_duration(MAX_CHUNK_S as f32);
    params.set_speech_pad(SPEECH_PAD_MS);
    let segments = ctx
        .segments_from_samples(params, samples)
        .map_err(|e| Error::Stt(format!("voice activity detection failed: {e}")))?;
    let total = samples.len() as f64 / crate::audio::TARGET_RATE as f64;
    let mut spans = Vec::new();
    for i in 0..segments.num_segments() {
        let (Some(t0), Some(t1)) = (
            segments.get_segment_start_timestamp(i),
            segments.get_segment_end_timestamp(i),
        ) else {
            continue;
        };
        // whisper.cpp reports VAD times in centiseconds.
        let (s, e) = ((t0 as f64 / 100.0).max(0.0), (t1 as f64 / 100.0).min(total));
        if e > s {
            spans.push((s, e));
        }
    }
    Ok(spans)
}
