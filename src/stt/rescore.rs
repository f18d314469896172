//! How well other wordings fit the audio. Whisper's decoder, made to write each
//! wording after the words recognised before it, gives its log-probability: the
//! vocabulary pass uses this to confirm a change the words alone leave in doubt.
//! Greedy decoding can miss what the audio says ("sink cope"), yet, asked, the
//! model finds the term more likely (syncope: -2.0 against -3.8 nats).

use whisper_rs::{WhisperState, WhisperTokenId};

use super::{Recognizer, SttOptions};
use crate::audio::TARGET_RATE;
use crate::{Error, Result};

/// One span to rescore.
#[derive(Debug, Clone, PartialEq)]
pub struct Alternatives {
    /// Where the speech window starts, in seconds: the start of the segment that
    /// holds the span, so that `before` is what was said from there.
    pub window_start_s: f64,
    /// The recognised words from the window start up to the span.
    pub before: String,
    /// The wordings to compare; the first is usually what was recognised.
    pub options: Vec<String>,
    /// A few recognised words after the span: an option must also fit what
    /// follows (a word that swallows the next syllable does not).
    pub after: String,
    /// Text given to the decoder as earlier context, as Whisper's prompt is
    /// ("Cholelithiasis, cholestasis."), or empty: it primes the model for words
    /// it has little prior for.
    pub prompt: String,
}

/// Hypotheses kept while searching for an option's likeliest tokenisation.
const BEAM: usize = 3;

/// Text tokens of context kept before the span (the decoder holds 448 in all).
const MAX_BEFORE_TOKENS: usize = 224;

/// Whisper's window: what one encoder run sees.
const WINDOW_S: f64 = 30.0;

impl Recognizer {
    /// Log-probability (nats) of each option of each span, in order. Spans that
    /// share a window share one encoder run, so give them sorted by window.
    /// An option that falls more than `slack` nats below the first is dropped
    /// as soon as it does (a score only goes down as tokens are added) and
    /// scores `f32::NEG_INFINITY`: most wrong options are given up after a few
    /// tokens. `f32::INFINITY` scores every option in full.
    /// Uses the language, threads and cancel flag of `opts`.
    pub fn score_alternatives(
        &self,
        samples: &[f32],
        spans: &[Alternatives],
        slack: f32,
        opts: &SttOptions,
    ) -> Result<Vec<Vec<f32>>> {
        let threads = opts.threads.max(1);
        let fail = |e| Error::Stt(format!("whisper.cpp failed while rescoring: {e}"));
        let language = &opts.language;
        let lang = whisper_rs::get_lang_id(language)
            .ok_or_else(|| Error::Stt(format!("unknown language {language:?}")))?;
        let pieces = self.pieces.get_or_init(|| self.token_pieces());
        let mut state = self.new_state()?;
        let mut encoded: Option<f64> = None;
        let mut out = Vec::with_capacity(spans.len());
        for span in spans {
            if opts.cancelled() {
                return Err(Error::Interrupted);
            }
            if encoded != Some(span.window_start_s) {
                let rate = TARGET_RATE as f64;
                let s0 = ((span.window_start_s.max(0.0) * rate) as usize).min(samples.len());
                let s1 = (s0 + (WINDOW_S * rate) as usize).min(samples.len());
                state.pcm_to_mel(&samples[s0..s1], threads).map_err(fail)?;
                state.encode(0, threads).map_err(fail)?;
                encoded = Some(span.window_start_s);
            }
            // What whisper.cpp itself starts with: the prompt after its own marker,
            // then the start token (English-only models take no language or task
            // token).
            // The last `keep` tokens of a text, with a leading space as Whisper
            // writes words.
            let tail = |text: &str, keep: usize| -> Result<Vec<WhisperTokenId>> {
                let text = text.trim();
                if text.is_empty() {
                    return Ok(Vec::new());
                }
                let toks = self.ctx.tokenize(&format!(" {text}"), 1024).map_err(fail)?;
                Ok(toks[toks.len().saturating_sub(keep)..].to_vec())
            };
            let mut head = Vec::new();
            let prompt = tail(&span.prompt, MAX_BEFORE_TOKENS / 2)?;
            if !prompt.is_empty() {
                head.push(self.ctx.token_prev());
                head.extend(prompt);
            }
            head.push(self.ctx.token_sot());
            if self.ctx.is_multilingual() {
                head.extend([self.ctx.token_lang(lang), self.ctx.token_transcribe()]);
            }
            head.push(self.ctx.token_not());
            head.extend(tail(&span.before, MAX_BEFORE_TOKENS)?);
            // The head goes through the decoder once; each hypothesis is decoded
            // from its last token on.
            state
                .decode(&head[..head.len() - 1], 0, threads)
                .map_err(fail)?;
            let mut scores: Vec<f32> = Vec::with_capacity(span.options.len());
            for option in &span.options {
                let option = format!(" {}", option.trim());
                let text = format!("{option} {}", span.after.trim());
                let text = text.trim_end();
                let floor = scores
                    .first()
                    .map_or(f32::NEG_INFINITY, |first| first - slack);
                let score = best_tokenisation(
                    &mut state,
                    pieces,
                    &head,
                    (text, option.len()),
                    floor,
                    threads,
                );
                scores.push(score.map_err(fail)?);
            }
            out.push(scores);
        }
        Ok(out)
    }

    fn token_pieces(&self) -> Pieces {
        let eot = self.ctx.token_eot();
        let mut by_first: Vec<Vec<(WhisperTokenId, Box<[u8]>)>> = vec![Vec::new(); 256];
        for id in 0..eot {
            if let Ok(bytes) = self.ctx.token_to_bytes(id) {
                if let Some(&b) = bytes.first() {
                    by_first[b as usize].push((id, bytes.into()));
                }
            }
        }
        Pieces { by_first }
    }
}

/// Every text token's bytes, grouped by first byte.
pub(crate) struct Pieces {
    by_first: Vec<Vec<(WhisperTokenId, Box<[u8]>)>>,
}

/// Log-probability of `text` after `head` under its likeliest tokenisation: the
/// tokenizer's own split of a word Whisper never writes (" ch" "ole" ...) can be
/// far less likely than the split it would use, so a small beam searches the
/// splits of its first `searched` bytes. Hypotheses below `floor` are dropped;
/// with none left the score is `f32::NEG_INFINITY`.
fn best_tokenisation(
    state: &mut WhisperState,
    pieces: &Pieces,
    head: &[WhisperTokenId],
    (text, searched): (&str, usize),
    floor: f32,
    threads: usize,
) -> std::result::Result<f32, whisper_rs::WhisperError> {
    let bytes = text.as_bytes();
    let base = head.len() - 1;
    // What the decoder's cache holds from position `base` on.
    let mut cached: Vec<WhisperTokenId> = Vec::new();
    // (tokens after the head, bytes covered, log-probability)
    let mut hyps: Vec<(Vec<WhisperTokenId>, usize, f32)> = vec![(Vec::new(), 0, 0.0)];
    let mut best = f32::NEG_INFINITY;
    while !hyps.is_empty() {
        let mut next = Vec::new();
        for (toks, pos, score) in &hyps {
            let seq: Vec<WhisperTokenId> = std::iter::once(head[base])
                .chain(toks.iter().copied())
                .collect();
            // whisper-rs hands back the logits of a batch's first row, so the last
            // token goes through on its own; what the cache already holds is kept.
            let n = seq.len();
            let same = cached
                .iter()
                .zip(&seq[..n - 1])
                .take_while(|(a, b)| a == b)
                .count();
            if same < n - 1 {
                state.decode(&seq[same..n - 1], base + same, threads)?;
            }
            state.decode(&seq[n - 1..], base + n - 1, threads)?;
            cached = seq;
            let logp = log_softmax(state.get_logits()?);
            let rest = &bytes[*pos..];
            for (id, piece) in &pieces.by_first[rest[0] as usize] {
                if rest.starts_with(piece) {
                    let mut t = toks.clone();
                    t.push(*id);
                    next.push((t, pos + piece.len(), score + logp[*id as usize]));
                }
            }
        }
        next.sort_by(|a, b| b.2.total_cmp(&a.2));
        // Past the words in question the likeliest split is enough.
        let width = if next.iter().all(|h| h.1 >= searched) {
            1
        } else {
            BEAM
        };
        next.truncate(width);
        hyps.clear();
        for h in next {
            if h.2 < floor {
                continue;
            }
            if h.1 == bytes.len() {
                best = best.max(h.2);
            } else if h.2 > best {
                hyps.push(h);
            }
        }
    }
    Ok(best)
}

fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_z = logits.iter().map(|x| (x - max).exp()).sum::<f32>().ln() + max;
    logits.iter().map(|x| x - log_z).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_sums_to_one() {
        let lp = log_softmax(&[1.0, 2.0, 3.0]);
        let total: f32 = lp.iter().map(|x| x.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!(lp[2] > lp[1] && lp[1] > lp[0]);
    }
}
