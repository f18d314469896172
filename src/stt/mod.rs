//! Speech to text with whisper.cpp (via whisper-rs): 16 kHz mono samples in,
//! segments with word timings and probabilities out.
//!
//! Silence is skipped with the Silero voice-activity detector ([`vad`]) and the
//! speech is fed to Whisper in chunks cut at pauses, each at most one Whisper
//! window long. That keeps Whisper from inventing text over silence, gives every
//! window the initial prompt (whisper-rs cannot set `carry_initial_prompt`), and
//! never cuts a word at a window boundary. Each chunk's output is checked against
//! its speech: what Whisper skipped is recognised once more ([`dropped_speech`]).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Once, OnceLock};

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use crate::audio::TARGET_RATE;
use crate::transcript::{join_words, Segment, Word};
use crate::{Error, Result};

pub mod rescore;
pub mod vad;

/// Whisper's window: 30 s. Chunks stay a little below it so that Whisper sees
/// each one whole.
pub const MAX_CHUNK_S: f64 = 29.0;

/// How to recognise speech.
#[derive(Debug, Clone)]
pub struct SttOptions {
    /// Language code, e.g. "en".
    pub language: String,
    /// Threads for Whisper's compute. Never more in total than cores: ggml's
    /// workers spin-wait and slow down sharply when oversubscribed.
    pub threads: usize,
    /// Initial prompt given to every chunk (e.g. expected medical terms).
    pub prompt: Option<String>,
    /// Beam width; `None` decodes greedily.
    pub beam: Option<u32>,
    /// Set to true (e.g. by Ctrl-C) to abort promptly with [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for SttOptions {
    fn default() -> Self {
        SttOptions {
            language: "en".into(),
            threads: 1,
            prompt: None,
            beam: None,
            cancel: None,
        }
    }
}

impl SttOptions {
    /// "greedy" or "beam:N", as recorded in transcripts.
    pub fn decoding(&self) -> String {
        match self.beam {
            Some(n) => format!("beam:{n}"),
            None => "greedy".into(),
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// A loaded Whisper model. Loading takes a moment; share one across files and
/// threads (each transcription makes its own decoder state).
pub struct Recognizer {
    ctx: WhisperContext,
    /// The vocabulary's token texts for rescoring, built on first use.
    pieces: OnceLock<rescore::Pieces>,
}

static QUIET: Once = Once::new();

/// Routes whisper.cpp's own logging away from stderr: it is noise for users and
/// must never carry transcript text.
pub fn silence_whisper_logs() {
    QUIET.call_once(whisper_rs::install_logging_hooks);
}

/// Checks that a model file exists and has a UTF-8 path (whisper.cpp takes a C
/// string), and quiets whisper.cpp before it loads anything.
fn model_file<'a>(model: &'a Path, missing: &str) -> Result<&'a str> {
    silence_whisper_logs();
    let path = model
        .to_str()
        .ok_or_else(|| Error::Model(format!("{}: path is not UTF-8", model.display())))?;
    if !model.is_file() {
        return Err(Error::Model(format!("{}: {missing}", model.display())));
    }
    Ok(path)
}

impl Recognizer {
    /// Loads a whisper.cpp ggml model file.
    pub fn load(model: &Path) -> Result<Self> {
        let path = model_file(
            model,
            "model file not found; fetch one with `medscribe models fetch base`",
        )?;
        // whisper-rs leaves flash attention off, and it stays off: on CPU it made
        // the base model 1.46x slower (57 s against 39 s on three dictations).
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| {
                Error::Model(format!(
                    "{}: not a loadable whisper.cpp model ({e}); re-fetch it with `medscribe models fetch`",
                    model.display()
                ))
            })?;
        Ok(Recognizer {
            ctx,
            pieces: OnceLock::new(),
        })
    }

    /// Recognises `samples` (16 kHz mono) as one piece, Whisper windowing it
    /// itself. Times are seconds from the start of `samples` plus `offset_s`.
    pub fn recognize(
        &self,
        samples: &[f32],
        offset_s: f64,
        opts: &SttOptions,
    ) -> Result<Vec<Segment>> {
        self.recognize_in(&mut self.new_state()?, samples, offset_s, opts)
    }

    /// A decoder state. Setting one up allocates and plans all of Whisper's
    /// compute buffers, so one is reused across the chunks of a file.
    fn new_state(&self) -> Result<WhisperState> {
        self.ctx
            .create_state()
            .map_err(|e| Error::Stt(format!("cannot create decoder state: {e}")))
    }

    /// [`Recognizer::recognize`] in a given decoder state.
    fn recognize_in(
        &self,
        state: &mut WhisperState,
        samples: &[f32],
        offset_s: f64,
        opts: &SttOptions,
    ) -> Result<Vec<Segment>> {
        if opts.cancelled() {
            return Err(Error::Interrupted);
        }
        let strategy = match opts.beam {
            Some(n) => SamplingStrategy::BeamSearch {
                beam_size: n.max(1) as i32,
                patience: -1.0,
            },
            None => SamplingStrategy::Greedy { best_of: 5 },
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(opts.threads.max(1) as i32);
        params.set_language(Some(&opts.language));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_token_timestamps(true);
        params.set_suppress_nst(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_audio_ctx(audio_ctx(samples.len()));
        if let Some(prompt) = opts.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
            params.set_initial_prompt(prompt);
        }
        if let Some(cancel) = opts.cancel.clone() {
            // whisper-rs 0.16 casts the user data to the closure type it was given:
            // only a boxed trait object makes that cast right.
            let abort: Box<dyn FnMut() -> bool> = Box::new(move || cancel.load(Ordering::Relaxed));
            params.set_abort_callback_safe(abort);
        }

        let outcome = state.full(params, samples);
        if opts.cancelled() {
            return Err(Error::Interrupted);
        }
        outcome.map_err(|e| Error::Stt(format!("whisper.cpp failed: {e}")))?;

        let eot = self.ctx.token_eot();
        let mut segments = Vec::new();
        for seg in state.as_iter() {
            let seg_start = seg.start_timestamp() as f64 / 100.0 + offset_s;
            let seg_end = seg.end_timestamp() as f64 / 100.0 + offset_s;
            let mut words: Vec<Word> = Vec::new();
            let mut open_word = false;
            for i in 0..seg.n_tokens() {
                let Some(token) = seg.get_token(i) else {
                    continue;
                };
                if token.token_id() >= eot {
                    continue; // special and timestamp tokens
                }
                let data = token.token_data();
                let bytes = token.to_bytes().unwrap_or_default();
                let piece = String::from_utf8_lossy(bytes);
                let t0 = data.t0 as f64 / 100.0 + offset_s;
                let t1 = data.t1 as f64 / 100.0 + offset_s;
                let starts_word = piece.starts_with(' ') || !open_word;
                let glued = piece.trim_start();
                if starts_word && !glued.is_empty() && !is_closing_punct(glued) {
                    words.push(Word {
                        text: glued.to_string(),
                        start: t0,
                        end: t1,
                        probability: data.p,
                    });
                    open_word = true;
                } else if let Some(w) = words.last_mut() {
                    w.text.push_str(if starts_word { glued } else { &piece });
                    w.end = w.end.max(t1);
                    w.probability = w.probability.min(data.p);
                }
            }
            clamp_word_times(&mut words, seg_start, seg_end);
            let text = join_words(words.iter().map(|w| w.text.as_str()));
            if text.trim().is_empty() {
                continue;
            }
            segments.push(Segment {
                start: seg_start,
                end: seg_end,
                text,
                words,
            });
        }
        Ok(segments)
    }
}

/// Encoder frames per second of audio.
const ENCODER_FRAMES_PER_S: f64 = 50.0;

/// Encoder frames of a whole Whisper window (30 s): the most it computes.
const WINDOW_FRAMES: usize = 1500;

/// Encoder frames added beyond the audio's length, so that the last word's end
/// is seen whole.
const AUDIO_CTX_MARGIN: usize = 64;

/// How many encoder frames to compute for `n_samples` of audio. Whisper's
/// encoder, most of the time spent on a chunk, costs the same for 5 s as for
/// 30 s unless told how much audio there is; VAD chunks average about 24 s and
/// a file's last chunk is often a few seconds. On the dev corpus this took 4-7%
/// off the wall time and WER went from 0.100 to 0.094 (less padding to invent
/// text over).
fn audio_ctx(n_samples: usize) -> i32 {
    let frames = (n_samples as f64 / TARGET_RATE as f64 * ENCODER_FRAMES_PER_S).ceil() as usize;
    (frames + AUDIO_CTX_MARGIN).min(WINDOW_FRAMES) as i32
}

/// Punctuation that attaches to the word before it even when Whisper emits it
/// as its own token with a leading space.
fn is_closing_punct(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| matches!(c, '.' | ',' | ';' | ':' | '?' | '!' | ')'))
}

/// Keeps word times monotonic and inside their segment: whisper.cpp's token
/// times are estimates and occasionally overlap or overshoot.
fn clamp_word_times(words: &mut [Word], seg_start: f64, seg_end: f64) {
    let mut last = seg_start;
    for w in words.iter_mut() {
        w.start = w.start.clamp(last, seg_end);
        w.end = w.end.clamp(w.start, seg_end);
        last = w.start;
    }
}

/// A stretch of the audio to recognise on its own, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub start: f64,
    pub end: f64,
    /// The speech spans inside it: what Whisper's output must cover.
    pub speech: Vec<(f64, f64)>,
}

/// Groups speech spans (sorted, seconds) into chunks of at most `max_s`,
/// cutting only between spans. A span longer than `max_s` is split evenly.
pub fn chunks_from_speech(speech: &[(f64, f64)], max_s: f64) -> Vec<Chunk> {
    let mut pieces = Vec::new();
    for &(s, e) in speech {
        if e <= s {
            continue;
        }
        let n = ((e - s) / max_s).ceil().max(1.0);
        let step = (e - s) / n;
        for k in 0..n as usize {
            let a = s + step * k as f64;
            pieces.push((a, (a + step).min(e)));
        }
    }
    let mut chunks: Vec<Chunk> = Vec::new();
    for (s, e) in pieces {
        match chunks.last_mut() {
            Some(c) if e - c.start <= max_s => {
                c.end = e;
                c.speech.push((s, e));
            }
            _ => chunks.push(Chunk {
                start: s,
                end: e,
                speech: vec![(s, e)],
            }),
        }
    }
    chunks
}

/// Speech shorter than this that Whisper skipped is left alone: segment ends
/// are estimates and a shorter stretch is usually the tail of a written word.
pub const MIN_DROPPED_SPEECH_S: f64 = 1.5;

/// Stretches of `chunk` that hold at least `min_s` of speech but no segment:
/// speech Whisper skipped. It sometimes ends a window after a sentence (an
/// end-of-text token, more often with a long prompt) and never writes the rest
/// of the chunk. Each stretch is trimmed to the speech in it.
pub fn dropped_speech(chunk: &Chunk, segments: &[Segment], min_s: f64) -> Vec<(f64, f64)> {
    let mut covered: Vec<(f64, f64)> = segments.iter().map(|s| (s.start, s.end)).collect();
    covered.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut gaps = Vec::new();
    let mut at = chunk.start;
    for (s, e) in covered {
        if s > at {
            gaps.push((at, s));
        }
        at = at.max(e);
    }
    if chunk.end > at {
        gaps.push((at, chunk.end));
    }
    gaps.into_iter()
        .filter_map(|(g0, g1)| {
            let inside: Vec<(f64, f64)> = chunk
                .speech
                .iter()
                .map(|&(s, e)| (s.max(g0), e.min(g1)))
                .filter(|(s, e)| e > s)
                .collect();
            let amount: f64 = inside.iter().map(|(s, e)| e - s).sum();
            (amount >= min_s).then(|| (inside[0].0, inside[inside.len() - 1].1))
        })
        .collect()
}

/// Most chunks recognised at once. Each decoder state holds its own buffers
/// (about 100 MB with `base`), and past four the gain on common machines is small.
pub const MAX_PARALLEL_CHUNKS: usize = 4;

/// How `threads` are spent on `n_chunks` independent chunks: (decoders at once,
/// threads each). Whisper's decoder runs one token at a time, too little work to
/// share well between threads, so on two cores two one-thread decoders get
/// through a file about 1.4 times faster than one two-thread decoder, and keep
/// going when another program takes a core (spinning threads stall instead).
pub fn plan_workers(threads: usize, n_chunks: usize) -> (usize, usize) {
    let threads = threads.max(1);
    let workers = threads.min(n_chunks).clamp(1, MAX_PARALLEL_CHUNKS);
    (workers, threads / workers)
}

/// Recognises `samples` (16 kHz mono): only the `chunks` given, or the whole
/// audio when `chunks` is `None`. `progress` gets the seconds of audio done.
///
/// Chunks are independent (no context is carried from one to the next), so
/// with several threads they are recognised in parallel, each by its own
/// decoder state, and put back in order.
pub fn recognize_chunks(
    recognizer: &Recognizer,
    samples: &[f32],
    chunks: Option<&[Chunk]>,
    opts: &SttOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<Vec<Segment>> {
    let rate = TARGET_RATE as f64;
    let total_s = samples.len() as f64 / rate;
    let Some(chunks) = chunks else {
        let segments = recognizer.recognize(samples, 0.0, opts)?;
        progress(total_s);
        return Ok(segments);
    };
    let work: Vec<(&Chunk, (usize, usize))> = chunks
        .iter()
        .map(|c| (c, sample_range(c.start, c.end, samples.len())))
        .filter(|(_, (a, b))| b - a >= (rate * 0.1) as usize) // too short to hold a word
        .collect();
    let all_samples: usize = work.iter().map(|(_, (a, b))| b - a).sum();
    let (workers, threads_each) = plan_workers(opts.threads, work.len());
    let worker_opts = SttOptions {
        threads: threads_each,
        ..opts.clone()
    };

    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, Result<Vec<Segment>>)>();
    let mut parts: Vec<Option<Vec<Segment>>> = vec![None; work.len()];
    let mut first_error = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, failed, work, worker_opts) = (&next, &failed, &work, &worker_opts);
            scope.spawn(move || {
                let mut state = match recognizer.new_state() {
                    Ok(state) => state,
                    Err(e) => {
                        failed.store(true, Ordering::SeqCst);
                        return drop(tx.send((usize::MAX, Err(e))));
                    }
                };
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= work.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let (chunk, range) = work[i];
                    let part =
                        recognize_chunk(recognizer, &mut state, samples, chunk, range, worker_opts);
                    if part.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    if tx.send((i, part)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Progress is reported here, on the caller's thread, as chunks finish.
        let mut done_samples = 0;
        for (i, part) in rx {
            match part {
                Ok(part) => {
                    let (_, (a, b)) = work[i];
                    done_samples += b - a;
                    parts[i] = Some(part);
                    progress(total_s * done_samples as f64 / all_samples.max(1) as f64);
                }
                Err(e) => {
                    // Keep the most telling error: a real failure over "interrupted".
                    if first_error.is_none() || matches!(first_error, Some(Error::Interrupted)) {
                        first_error = Some(e);
                    }
                }
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(parts.into_iter().flatten().flatten().collect())
}

/// Sample indices of `start_s..end_s`, inside `0..len`.
fn sample_range(start_s: f64, end_s: f64, len: usize) -> (usize, usize) {
    let rate = TARGET_RATE as f64;
    let a = ((start_s.max(0.0) * rate) as usize).min(len);
    (a, ((end_s * rate).ceil() as usize).clamp(a, len))
}

/// Recognises `chunk` (`samples[a..b]`) in `state`, with times in the whole
/// file and segments kept inside the chunk. Speech Whisper skipped is
/// recognised once more on its own (see [`dropped_speech`]).
fn recognize_chunk(
    recognizer: &Recognizer,
    state: &mut WhisperState,
    samples: &[f32],
    chunk: &Chunk,
    (a, b): (usize, usize),
    opts: &SttOptions,
) -> Result<Vec<Segment>> {
    let mut part = recognize_range(recognizer, state, samples, (a, b), opts)?;
    if part.is_empty() {
        return Ok(part); // nothing written at all: the same audio again gives the same
    }
    for (s, e) in dropped_speech(chunk, &part, MIN_DROPPED_SPEECH_S) {
        // A little of the audio around the speech, as the VAD pads its spans.
        let pad = vad::SPEECH_PAD_MS as f64 / 1000.0;
        let (ga, gb) = sample_range(s - pad, e + pad, samples.len());
        let (ga, gb) = (ga.max(a), gb.min(b));
        if gb > ga {
            part.extend(recognize_range(recognizer, state, samples, (ga, gb), opts)?);
        }
    }
    part.sort_by(|x, y| x.start.total_cmp(&y.start));
    Ok(part)
}

/// Recognises `samples[a..b]` in `state`, with times in the whole file and
/// segments kept inside the range.
fn recognize_range(
    recognizer: &Recognizer,
    state: &mut WhisperState,
    samples: &[f32],
    (a, b): (usize, usize),
    opts: &SttOptions,
) -> Result<Vec<Segment>> {
    let rate = TARGET_RATE as f64;
    let mut part = recognizer.recognize_in(state, &samples[a..b], a as f64 / rate, opts)?;
    let range_end = b as f64 / rate;
    for seg in &mut part {
        seg.end = seg.end.min(range_end);
        seg.start = seg.start.min(seg.end);
        clamp_word_times(&mut seg.words, seg.start, seg.end);
    }
    Ok(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_group_spans_up_to_the_limit() {
        let speech = [(0.0, 10.0), (11.0, 20.0), (21.0, 28.0), (30.0, 35.0)];
        let chunks = chunks_from_speech(&speech, 29.0);
        assert_eq!(
            chunks,
            vec![
                Chunk {
                    start: 0.0,
                    end: 28.0,
                    speech: speech[..3].to_vec(),
                },
                Chunk {
                    start: 30.0,
                    end: 35.0,
                    speech: speech[3..].to_vec(),
                }
            ]
        );
    }

    #[test]
    fn long_span_is_split_evenly() {
        let chunks = chunks_from_speech(&[(0.0, 70.0)], 29.0);
        assert_eq!(chunks.len(), 3);
        for c in &chunks {
            assert!(c.end - c.start <= 29.0 + 1e-9);
        }
        assert_eq!(chunks[0].start, 0.0);
        assert!((chunks[2].end - 70.0).abs() < 1e-9);
    }

    fn segment(start: f64, end: f64) -> Segment {
        Segment {
            start,
            end,
            text: "x".into(),
            words: Vec::new(),
        }
    }

    #[test]
    fn skipped_speech_is_found_at_the_end_and_between_segments() {
        let chunk = Chunk {
            start: 50.0,
            end: 80.0,
            speech: vec![(50.0, 58.0), (58.5, 66.0), (70.0, 80.0)],
        };
        // Whisper stopped after the first sentence.
        assert_eq!(
            dropped_speech(&chunk, &[segment(50.0, 58.2)], 1.5),
            vec![(58.5, 80.0)]
        );
        // A hole in the middle, trimmed to the speech in it.
        assert_eq!(
            dropped_speech(&chunk, &[segment(50.0, 61.0), segment(72.0, 80.0)], 1.5),
            vec![(61.0, 72.0)]
        );
    }

    #[test]
    fn covered_speech_and_short_tails_are_not_dropped() {
        let chunk = Chunk {
            start: 0.0,
            end: 30.0,
            speech: vec![(0.0, 12.0), (20.0, 30.0)],
        };
        // Silence between spans needs no segment.
        assert!(dropped_speech(&chunk, &[segment(0.0, 12.0), segment(20.0, 30.0)], 1.5).is_empty());
        // A segment ending a second early is an estimate, not lost speech.
        assert!(dropped_speech(&chunk, &[segment(0.0, 12.0), segment(20.0, 29.0)], 1.5).is_empty());
        // No segment at all: everything is dropped.
        assert_eq!(dropped_speech(&chunk, &[], 1.5), vec![(0.0, 30.0)]);
    }

    #[test]
    fn threads_go_to_parallel_decoders_first() {
        assert_eq!(plan_workers(2, 10), (2, 1));
        assert_eq!(plan_workers(2, 1), (1, 2));
        assert_eq!(plan_workers(1, 10), (1, 1));
        assert_eq!(plan_workers(0, 0), (1, 1));
        assert_eq!(plan_workers(16, 40), (MAX_PARALLEL_CHUNKS, 4));
        assert_eq!(plan_workers(6, 3), (3, 2));
    }

    #[test]
    fn no_speech_no_chunks() {
        assert!(chunks_from_speech(&[], 29.0).is_empty());
        assert!(chunks_from_speech(&[(5.0, 5.0)], 29.0).is_empty());
    }

    #[test]
    fn the_encoder_sees_the_chunk_plus_a_margin_and_never_more_than_30_s() {
        assert_eq!(audio_ctx(10 * 16_000), 500 + 64);
        assert_eq!(audio_ctx(29 * 16_000), 1500);
        assert_eq!(audio_ctx(120 * 16_000), 1500);
        assert_eq!(audio_ctx(0), 64);
    }

    #[test]
    fn word_times_are_clamped_monotonic() {
        let w = |s: f64, e: f64| Word {
            text: "x".into(),
            start: s,
            end: e,
            probability: 1.0,
        };
        let mut words = vec![w(0.5, 1.0), w(0.2, 0.4), w(1.5, 9.0)];
        clamp_word_times(&mut words, 1.0, 2.0);
        let mut last = 1.0;
        for w in &words {
            assert!(w.start >= last && w.end >= w.start && w.end <= 2.0);
            last = w.start;
        }
    }
}
