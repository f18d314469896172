//! The audio's vote on the vocabulary pass's doubtful changes. A suggestion (or
//! a change too weak to suggest) is applied when the recogniser, made to write
//! the term in place of its draft words, finds it at least as likely as the
//! draft ([`crate::stt::rescore`]). On the dev corpus the five changes this
//! applied were all right ("cyprylipidemia" -> hyperlipidemia +2.4 nats,
//! "pericides" -> peroxidase +0.4); the wrong suggestions scored far below the
//! draft ("the step-down" -> two-step -28, "nodularity" -> nodularis -20), the
//! nearest wrong one at -0.95 ("lexas" -> Plexus).

use crate::stt::rescore::Alternatives;
use crate::stt::{Recognizer, SttOptions};
use crate::transcript::{Segment, Word};
use crate::vocab::{Corrected, Correction, Heard};
use crate::Result;

/// How far (nats) below the draft a change may score and still be taken as
/// what was said. Zero: the audio must prefer the change. That the recogniser
/// did not write it is no contradiction: its first choice is made greedily,
/// token by token, not over whole words.
pub const TOLERANCE: f32 = 0.0;

/// Draft words after a span that each wording must also fit.
const WORDS_AFTER: usize = 3;

/// Spans whose every word the recogniser gave at least this probability are
/// not checked. The changes the audio confirmed on the dev corpus had a word
/// below 0.8.
const SURE: f32 = 0.8;

/// Speech a window may hold, in seconds: Whisper's 30 s, less a margin for word
/// times that run late.
const WINDOW_S: f64 = 28.0;

/// The changes of `corrected` not applied (suggested or unsure) that the audio
/// confirms, for [`crate::vocab::Vocabulary::correct_words_heard`]. `segments`
/// are the draft `corrected` was made from; `opts` gives the language, threads
/// and cancel flag.
pub fn heard_changes(
    recognizer: &Recognizer,
    samples: &[f32],
    segments: &[Segment],
    corrected: &Corrected,
    opts: &SttOptions,
) -> Result<Vec<Heard>> {
    let words: Vec<&Word> = segments.iter().flat_map(|s| &s.words).collect();
    // Index of the segment each draft word belongs to.
    let segment_of: Vec<usize> = segments
        .iter()
        .enumerate()
        .flat_map(|(i, s)| std::iter::repeat_n(i, s.words.len()))
        .collect();
    let first_word: Vec<usize> = segments
        .iter()
        .scan(0, |n, s| {
            let first = *n;
            *n += s.words.len();
            Some(first)
        })
        .collect();
    let text = |r: std::ops::Range<usize>| {
        words[r]
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut spans: Vec<&Correction> = corrected
        .corrections
        .iter()
        .filter(|c| !c.applied)
        .chain(&corrected.unsure)
        .filter(|c| c.word_start < c.word_end && c.word_end <= words.len())
        // Words the recogniser was sure of are what it heard: the audio would
        // only say so again.
        .filter(|c| {
            words[c.word_start..c.word_end]
                .iter()
                .any(|w| w.probability < SURE)
        })
        .collect();
    spans.sort_by_key(|c| c.word_start);
    // Spans share a window (one encoder run) while they fit in it: the window
    // opens at the start of the first one's segment.
    let mut window: Option<(f64, usize)> = None;
    let mut doubtful: Vec<(&Correction, Alternatives)> = Vec::with_capacity(spans.len());
    for c in spans {
        let after_end = (c.word_end + WORDS_AFTER).min(words.len());
        let end_s = words[after_end - 1].end;
        let (start_s, first) = match window {
            Some((start_s, first)) if end_s <= start_s + WINDOW_S => (start_s, first),
            _ => {
                let seg = segment_of[c.word_start];
                (segments[seg].start, first_word[seg])
            }
        };
        window = Some((start_s, first));
        let draft = text(c.word_start..c.word_end);
        let change = respell(&draft, &c.to);
        let alts = Alternatives {
            window_start_s: start_s,
            before: text(first..c.word_start),
            options: vec![draft, change],
            after: text(c.word_end..after_end),
        };
        doubtful.push((c, alts));
    }
    doubtful.sort_by(|a, b| a.1.window_start_s.total_cmp(&b.1.window_start_s));
    let spans: Vec<Alternatives> = doubtful.iter().map(|(_, a)| a.clone()).collect();
    let scores = recognizer.score_alternatives(samples, &spans, opts)?;
    Ok(doubtful
        .iter()
        .zip(scores)
        .filter(|(_, s)| s.len() == 2 && s[1] >= s[0] - TOLERANCE)
        .map(|((c, _), _)| Heard {
            word_start: c.word_start,
            word_end: c.word_end,
            to: c.to.clone(),
        })
        .collect())
}

/// The draft's words with `to` in place of their letters, keeping the
/// punctuation around them ("colithiaces," -> "cholelithiasis,").
fn respell(draft: &str, to: &str) -> String {
    let lead: String = draft.chars().take_while(|c| !c.is_alphanumeric()).collect();
    let trail: String = {
        let mut t: Vec<char> = draft
            .chars()
            .rev()
            .take_while(|c| !c.is_alphanumeric())
            .collect();
        t.reverse();
        t.into_iter().collect()
    };
    format!("{lead}{to}{trail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respelling_keeps_the_punctuation() {
        assert_eq!(respell("colithiaces,", "cholelithiasis"), "cholelithiasis,");
        assert_eq!(respell("sink cope", "syncope"), "syncope");
        assert_eq!(respell("(pericides).", "peroxidase"), "(peroxidase).");
    }
}
