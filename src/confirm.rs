//! The audio's vote on the vocabulary pass's doubtful changes. A suggestion (or
//! a change too weak to suggest) is applied when the recogniser, made to write
//! the term in place of its draft words, finds it at least as likely as the
//! draft ([`crate::stt::rescore`]); a reading of doubted words
//! ([`crate::vocab::Corrected::readings`]) must beat the draft by
//! [`READING_MARGIN`]. On the dev corpus the ten changes this applied were all
//! right ("cyprylipidemia" -> hyperlipidemia +2.4 nats, "sink cope" -> syncope
//! +1.7, "potuscus" -> pertussis +1.05, "pericides" -> peroxidase +0.4); every
//! wrong option scored below the draft ("fundal" -> fungal -0.5, "the
//! step-down" -> two-step -25).
//!
//! A rare term the model has little prior for ("cholelithiasis") can fit the
//! audio well and still score far below the model's own garbage ("colithiaces",
//! -12.6 nats): its first token is unlikely before anything is heard. So each
//! span is also heard *primed*, with the offered terms as Whisper's prompt, the
//! way a custom vocabulary is given to it ("cholelithiasis": +10.5). Priming
//! lifts every offered term, right or wrong ("potuscus": ptosis +11.3,
//! pertussis +11.7), so a primed win must clear [`PRIMED_MARGIN`] over the
//! draft and [`RIVAL_MARGIN`] over every other term offered, and counts only
//! where the unprimed check took nothing.

use std::collections::BTreeMap;

use crate::stt::rescore::Alternatives;
use crate::stt::{Recognizer, SttOptions};
use crate::transcript::{Segment, Word};
use crate::vocab::{Corrected, Heard};
use crate::Result;

/// How far (nats) below the draft a change may score and still be taken as
/// what was said. Zero: the audio must prefer the change. That the recogniser
/// did not write it is no contradiction: its first choice is made greedily,
/// token by token, not over whole words.
pub const TOLERANCE: f32 = 0.0;

/// Draft words `start..end` and the wordings offered for them, each with the
/// margin (nats) it must clear over the draft.
type Offer<'a> = ((usize, usize), &'a [(&'a str, f32)]);

/// How far (nats) above the draft a reading must score: readings are looser
/// matches than suggestions and come several to a span, so the audio must
/// clearly prefer one.
pub const READING_MARGIN: f32 = 0.5;

/// How far (nats) above the draft the best term must score when heard primed.
/// Wrong terms that came out best primed on the dev corpus scored up to +1.1
/// ("lexas" -> Plexus); right ones +2.3 to +13.5.
pub const PRIMED_MARGIN: f32 = 2.0;

/// How far (nats) above every other offered term the best must score when heard
/// primed: priming lifts them all, and a near tie is no evidence.
pub const RIVAL_MARGIN: f32 = 1.0;

/// Draft words after a span that each wording must also fit.
const WORDS_AFTER: usize = 3;

/// Spans whose every word the recogniser gave at least this probability are
/// not checked. The changes the audio confirmed on the dev corpus had a word
/// below 0.8.
const SURE: f32 = 0.8;

/// A span whose segment starts this soon after the open window's start shares it.
const SHARE_S: f64 = 10.0;

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
    // Each span once, with every wording offered for it and how far above the
    // draft each must score.
    let mut offered: BTreeMap<(usize, usize), Vec<(&str, f32)>> = BTreeMap::new();
    let changes = corrected
        .corrections
        .iter()
        .filter(|c| !c.applied)
        .chain(&corrected.unsure)
        .map(|c| (c, TOLERANCE))
        .chain(corrected.readings.iter().map(|c| (c, READING_MARGIN)));
    for (c, need) in changes {
        if c.word_start >= c.word_end || c.word_end > words.len() {
            continue;
        }
        // Words the recogniser was sure of are what it heard: the audio would
        // only say so again.
        if words[c.word_start..c.word_end]
            .iter()
            .all(|w| w.probability >= SURE)
        {
            continue;
        }
        let options = offered.entry((c.word_start, c.word_end)).or_default();
        if !options.iter().any(|(to, _)| *to == c.to) {
            options.push((&c.to, need));
        }
    }
    // Each span is heard from the start of its segment, or of one that began
    // at most SHARE_S before it (one encoder run for both): a window opened
    // long before makes the decoder follow a long stretch of draft text first,
    // which moved scores by several nats ("lexas" -> Plexus: -4.6 from its own
    // segment, +1.6 from a window opened 22 s before).
    let mut doubtful: Vec<(Offer, Alternatives)> = Vec::with_capacity(offered.len());
    let mut window: Option<(f64, usize)> = None;
    for (&(start, end), options) in &offered {
        let seg = segment_of[start];
        let (start_s, first) = match window {
            Some((s, f))
                if segments[seg].start - s <= SHARE_S && words[end - 1].end <= s + WINDOW_S =>
            {
                (s, f)
            }
            _ => (segments[seg].start, first_word[seg]),
        };
        window = Some((start_s, first));
        // Words after the span, as far as the window reaches.
        let after_end = (end..(end + WORDS_AFTER).min(words.len()))
            .take_while(|&k| words[k].end <= start_s + WINDOW_S)
            .last()
            .map_or(end, |k| k + 1);
        let draft = text(start..end);
        let mut wordings = vec![draft.clone()];
        wordings.extend(options.iter().map(|(to, _)| respell(&draft, to)));
        let alts = Alternatives {
            window_start_s: start_s,
            before: text(first..start),
            options: wordings,
            after: text(end..after_end),
            prompt: String::new(),
        };
        doubtful.push((((start, end), options), alts));
    }
    doubtful.sort_by(|a, b| a.1.window_start_s.total_cmp(&b.1.window_start_s));
    // Each span twice in a row, plain and primed: both share one encoder run.
    let spans: Vec<Alternatives> = doubtful
        .iter()
        .flat_map(|(offer, alts)| {
            let terms: Vec<&str> = offer.1.iter().map(|(to, _)| *to).collect();
            let primed = Alternatives {
                prompt: format!("{}.", terms.join(", ")),
                ..alts.clone()
            };
            [alts.clone(), primed]
        })
        .collect();
    let scores = recognizer.score_alternatives(samples, &spans, TOLERANCE, opts)?;
    let (plain, primed): (Vec<_>, Vec<_>) = scores
        .chunks(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .unzip();
    let offers: Vec<Offer> = doubtful.iter().map(|d| d.0).collect();
    Ok(preferred(&offers, &plain, &primed))
}

/// Per span the wording the audio prefers most among those that clear their
/// margin over the draft (`plain[i][0]`), or else the one it prefers primed by
/// [`PRIMED_MARGIN`] over the draft and [`RIVAL_MARGIN`] over the other
/// wordings (`primed[i]`); where spans overlap, a plain win before a primed
/// one, then the one the audio prefers by most. In text order.
fn preferred(offers: &[Offer], plain: &[Vec<f32>], primed: &[Vec<f32>]) -> Vec<Heard> {
    // (primed, -gain) sorts the clearest first.
    let mut best: Vec<((bool, f32), Heard)> = Vec::new();
    for ((&((start, end), options), p), q) in offers.iter().zip(plain).zip(primed) {
        let heard = |to: &str| Heard {
            word_start: start,
            word_end: end,
            to: to.to_string(),
        };
        let plain_win = options
            .iter()
            .zip(&p[1..])
            .map(|(&(to, need), &v)| (v - p[0], need, to))
            .filter(|&(gain, need, _)| gain >= need)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((gain, _, to)) = plain_win {
            best.push(((false, -gain), heard(to)));
            continue;
        }
        let mut gains: Vec<(f32, &str)> = options
            .iter()
            .zip(&q[1..])
            .map(|(&(to, _), &v)| (v - q[0], to))
            .collect();
        gains.sort_by(|a, b| b.0.total_cmp(&a.0));
        let runner_up = gains.get(1).map_or(f32::NEG_INFINITY, |g| g.0);
        if let Some(&(gain, to)) = gains.first() {
            if gain >= PRIMED_MARGIN && gain - runner_up >= RIVAL_MARGIN {
                best.push(((true, -gain), heard(to)));
            }
        }
    }
    best.sort_by(|a, b| a.0 .0.cmp(&b.0 .0).then(a.0 .1.total_cmp(&b.0 .1)));
    let mut heard: Vec<Heard> = Vec::new();
    for (_, h) in best {
        if heard
            .iter()
            .all(|k| k.word_end <= h.word_start || h.word_end <= k.word_start)
        {
            heard.push(h);
        }
    }
    heard.sort_by_key(|h| h.word_start);
    heard
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
    fn the_audio_picks_one_wording_per_span_and_the_clearer_of_overlapping_ones() {
        let heard = |a: usize, b: usize, to: &str| Heard {
            word_start: a,
            word_end: b,
            to: to.into(),
        };
        let sugg = [("ptosis", TOLERANCE), ("pertussis", READING_MARGIN)];
        let weak = [("fevers", READING_MARGIN)];
        let pair = [("syncope", READING_MARGIN)];
        let single = [("sink", TOLERANCE)];
        let offers: Vec<Offer> = vec![
            ((1, 2), &sugg),
            ((4, 5), &weak),
            ((7, 9), &pair),
            ((7, 8), &single),
        ];
        let scores = vec![
            vec![-10.0, -9.9, -8.0],
            vec![-10.0, -9.7],
            vec![-10.0, -8.5],
            vec![-10.0, -9.0],
        ];
        // pertussis beats ptosis; fevers is too close to the draft for a
        // reading; syncope (+1.5) beats the overlapping "sink" (+1.0).
        let unprimed = vec![
            vec![0.0, -99.0, -99.0],
            vec![0.0, -99.0],
            vec![0.0, -99.0],
            vec![0.0, -99.0],
        ];
        assert_eq!(
            preferred(&offers, &scores, &unprimed),
            [heard(1, 2, "pertussis"), heard(7, 9, "syncope")]
        );
        // Below the draft, a suggestion is not taken.
        let scores = vec![
            vec![-10.0, -10.1, -10.5],
            vec![-10.0, -12.0],
            vec![-10.0, -11.0],
            vec![-10.0, -10.0],
        ];
        assert_eq!(
            preferred(&offers, &scores, &unprimed),
            [heard(7, 8, "sink")]
        );
        // Primed, a term must clear the draft by PRIMED_MARGIN and its rivals by
        // RIVAL_MARGIN; a plain win goes first where spans overlap.
        let primed = vec![
            vec![-10.0, -1.0, -0.5],
            vec![-10.0, -7.5],
            vec![-10.0, -2.0],
            vec![-10.0, -9.0],
        ];
        assert_eq!(
            preferred(&offers, &scores, &primed),
            [heard(4, 5, "fevers"), heard(7, 8, "sink")]
        );
    }

    #[test]
    fn respelling_keeps_the_punctuation() {
        assert_eq!(respell("colithiaces,", "cholelithiasis"), "cholelithiasis,");
        assert_eq!(respell("sink cope", "syncope"), "syncope");
        assert_eq!(respell("(pericides).", "peroxidase"), "(peroxidase).");
    }
}
