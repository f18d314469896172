//! Medical-vocabulary pass: fixes medical terms the recogniser split or misspelt
//! ("a picks a ban" -> apixaban, "metaprolol" -> metoprolol), carries out spoken
//! dictation commands, and records every change so a reviewer can undo it.
//!
//! Ordinary English and correct terms are protected: a known word is never
//! changed on its own, windows of common words need an exact sound match plus
//! drug context, and members of sound-alike groups (prednisone/prednisolone) are
//! never swapped. Only high-confidence changes are applied; the rest are
//! returned as suggestions (`Correction::applied == false`).
//!
//! The pass never logs or prints transcript text.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::transcript::{join_words, Word};

mod absorb;
mod commands;
mod engine;
mod guards;
mod inflect;
mod lexicon;
mod phonetic;
mod phrases;
mod readings;
mod symdelete;
mod token;
mod unglue;
mod units;

use lexicon::Lexicon;
use phonetic::PhoneticIndex;
use symdelete::DeleteIndex;
use token::{split_punct, tokenize, Tok};

/// Prompt budget in characters: Whisper keeps at most 224 prompt tokens and
/// medical terms run about three characters a token.
pub const PROMPT_CHARS: usize = 600;

/// Shorter listed words are not worth prompt space as found terms.
const FOUND_LETTERS: usize = 6;

/// Listed words this common in English books are everyday words, not found terms.
const FOUND_ENGLISH: u64 = 1_000_000;

/// Splits a list of terms as people type it (commas, semicolons or new lines
/// between terms) into trimmed, non-empty terms, each once, in order.
pub fn split_terms(list: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    list.split([',', ';', '\n'])
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty() && seen.insert(t.to_lowercase()))
        .collect()
}

/// Joins `terms` with ", ", leaving out any that would pass `max_chars`.
pub fn join_within(terms: impl IntoIterator<Item = String>, max_chars: usize) -> String {
    let mut out = String::new();
    for term in terms {
        let extra = if out.is_empty() { 0 } else { 2 } + term.len();
        if out.len() + extra > max_chars {
            continue;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&term);
    }
    out
}

/// One change the vocabulary pass made (applied) or proposes (suggested).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Correction {
    /// First word of the span, an index into the draft's words (all segments in order).
    pub word_start: usize,
    /// One past the last word of the span.
    pub word_end: usize,
    /// The draft text of the span.
    pub from: String,
    /// The replacement.
    pub to: String,
    /// Confidence of the correction in 0..=1.
    pub score: f32,
    /// Applied to the final text, or only suggested to the reviewer.
    pub applied: bool,
    /// Why: which method and evidence (e.g. "phonetic match of joined words").
    pub reason: String,
    /// Audio time of the span in seconds (0 when corrected from plain text),
    /// so an editor can find the words after the text has been edited.
    #[serde(default)]
    pub start: f64,
    #[serde(default)]
    pub end: f64,
    /// A reviewer's decision: "accept" or "reject"; `None` while undecided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

impl Correction {
    /// An applied change of the one token `tok` into `to`.
    fn replaced(tok: &Tok, to: String, reason: &str) -> Self {
        Self::of_merged(tok, tok.text.clone(), to, 0.9, true, reason)
    }

    /// The change of the draft words `merged` stands for; times are filled in from
    /// the words once the pass is done.
    fn of_merged(
        merged: &Tok,
        from: String,
        to: String,
        score: f32,
        applied: bool,
        reason: impl Into<String>,
    ) -> Self {
        Correction {
            word_start: merged.src.0,
            word_end: merged.src.1,
            from,
            to,
            score,
            applied,
            reason: reason.into(),
            start: 0.0,
            end: 0.0,
            decision: None,
        }
    }
}

/// The result of the pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Corrected {
    /// The corrected text, rendered from `words` with [`join_words`].
    pub text: String,
    /// Output words with time spans. A merged term spans from the start of its first
    /// input word to the end of its last; punctuation from spoken commands is attached
    /// to the previous word; "new line"/"new paragraph" are words of their own, "\n"
    /// and "\n\n", spanning the spoken command.
    pub words: Vec<Word>,
    /// Applied changes and suggestions, in text order; indices refer to the input words.
    pub corrections: Vec<Correction>,
    /// Changes too weak even to suggest (not applied, not shown), which the
    /// audio may still confirm: see [`Vocabulary::correct_words_heard`].
    pub unsure: Vec<Correction>,
    /// Other terms words the recogniser doubted may stand for, found with looser
    /// matching and no guards: never applied on their letters, only when the
    /// audio clearly prefers one to the draft (see [`crate::confirm`]).
    pub readings: Vec<Correction>,
}

/// A change the audio confirmed: the recogniser, made to write `to` in place of
/// the draft words `word_start..word_end`, found it at least as likely as the draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub word_start: usize,
    pub word_end: usize,
    pub to: String,
}

/// Score of a change the audio confirmed: applied.
const HEARD: f32 = 0.9;

/// How the reason of a change the audio confirmed ends.
pub const AUDIO_AGREES: &str = "the audio agrees";

/// Base lexicon plus custom layers, with its phonetic index. Built once, shared
/// between threads.
#[derive(Debug)]
pub struct Vocabulary {
    lx: Lexicon,
    ix: PhoneticIndex,
    sd: DeleteIndex,
    /// Sound codes of two-word terms written together ("venacava"), by index
    /// into `pair_joins`.
    pair_ix: PhoneticIndex,
    pair_joins: Vec<String>,
}

impl Vocabulary {
    /// The embedded base lists (the binary needs no vocabulary files).
    pub fn base() -> crate::Result<Self> {
        Ok(Self::build(Lexicon::base()))
    }

    fn build(lx: Lexicon) -> Self {
        let mut ix = PhoneticIndex::new();
        for (i, t) in lx.terms.iter().enumerate() {
            ix.insert(&t.key, i as u32);
        }
        let sd = DeleteIndex::build(
            lx.terms
                .iter()
                .enumerate()
                .map(|(i, t)| (t.key.as_str(), i as u32)),
        );
        let mut pair_joins: Vec<String> = lx.pair_by_join.keys().cloned().collect();
        pair_joins.sort_unstable();
        let mut pair_ix = PhoneticIndex::new();
        for (i, j) in pair_joins.iter().enumerate() {
            pair_ix.insert(j, i as u32);
        }
        Vocabulary {
            lx,
            ix,
            sd,
            pair_ix,
            pair_joins,
        }
    }

    /// Adds custom vocabulary files, in order (organisation, office, provider):
    /// later entries for the same term override earlier ones. See the format in
    /// the `lexicon` module docs and `vocab/README.md`.
    pub fn with_custom(self, files: &[PathBuf]) -> crate::Result<Self> {
        let mut lx = self.lx;
        lx.add_custom_files(files)?;
        Ok(Self::build(lx))
    }

    /// Terms for Whisper's initial prompt, custom terms first (latest layer first),
    /// then commonly prescribed drugs, comma-separated, at most `max_chars` long.
    pub fn prompt_terms(&self, max_chars: usize) -> String {
        self.prompt_after(&[], max_chars)
    }

    /// [`Vocabulary::prompt_terms`] led by `leading` (e.g. a dictation's
    /// expected terms); a term already given is not repeated.
    pub fn prompt_after(&self, leading: &[String], max_chars: usize) -> String {
        let custom = self
            .lx
            .custom
            .iter()
            .rev()
            .map(|e| e.display.clone().unwrap_or_else(|| e.term.clone()));
        // In the list's order: most commonly prescribed first.
        let common = self
            .lx
            .terms
            .iter()
            .filter(|t| t.tier == lexicon::Tier::CommonDrug);
        let mut seen = std::collections::HashSet::new();
        let terms = leading
            .iter()
            .cloned()
            .chain(custom)
            .chain(common.map(|t| t.display.clone()))
            .filter(|t| seen.insert(t.to_lowercase()));
        join_within(terms, max_chars)
    }

    /// The medical terms of a corrected draft, each once, in order: first the
    /// terms corrections wrote, then listed terms the text contains that are no
    /// everyday English. Put in the prompt of a second decoding, they let a term
    /// heard right (or corrected) once be written right everywhere in the dictation.
    pub fn found_terms(&self, corrected: &Corrected) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        let written = corrected
            .corrections
            .iter()
            .filter(|c| c.applied && c.to.chars().any(char::is_alphabetic))
            .map(|c| c.to.clone());
        let listed = corrected.words.iter().filter_map(|w| {
            let key = lexicon::key_of(split_punct(&w.text).1);
            let id = *self.lx.by_key.get(&key)?;
            let everyday = self.lx.english.get(&key).copied().unwrap_or(0) >= FOUND_ENGLISH;
            (key.len() >= FOUND_LETTERS && !everyday)
                .then(|| self.lx.terms[id as usize].display.clone())
        });
        written
            .chain(listed)
            .filter(|t| seen.insert(t.to_lowercase()))
            .collect()
    }

    /// Corrects recognised words, using their probabilities as evidence.
    pub fn correct_words(&self, words: &[Word]) -> Corrected {
        self.correct_words_heard(words, &[])
    }

    /// [`Vocabulary::correct_words`] where the audio confirmed some of the
    /// suggested or unsure changes of a first run: those are applied. A change
    /// that would reverse the meaning ("hypo-" for "hyper-") stays a suggestion.
    pub fn correct_words_heard(&self, words: &[Word], heard: &[Heard]) -> Corrected {
        let toks = words
            .iter()
            .enumerate()
            .map(|(i, w)| Tok {
                text: w.text.trim().to_string(),
                start: w.start,
                end: w.end,
                prob: w
                    .probability
                    .is_finite()
                    .then_some(w.probability.clamp(0.0, 1.0)),
                src: (i, i + 1),
                ..Default::default()
            })
            .filter(|t| !t.text.is_empty())
            .collect();
        let mut out = self.run(toks, heard);
        for c in out
            .corrections
            .iter_mut()
            .chain(&mut out.unsure)
            .chain(&mut out.readings)
        {
            if let (Some(first), Some(last)) =
                (words.get(c.word_start), words.get(c.word_end.max(1) - 1))
            {
                c.start = first.start;
                c.end = last.end;
            }
        }
        out
    }

    /// Corrects plain text (split on whitespace; line breaks are kept). Word
    /// probabilities are unknown: output words carry probability 1.0 and zero times.
    pub fn correct_text(&self, text: &str) -> Corrected {
        let toks = tokenize(text)
            .into_iter()
            .enumerate()
            .map(|(i, w)| Tok {
                text: w,
                start: 0.0,
                end: 0.0,
                prob: None,
                src: (i, i + 1),
                ..Default::default()
            })
            .collect();
        self.run(toks, &[])
    }

    /// The draft words `toks[c.start..c.start + c.len]` stand for and the text
    /// the candidate would put there.
    fn change_of(&self, toks: &[Tok], c: &engine::Candidate) -> (String, String) {
        let term = &self.lx.terms[c.term as usize];
        let from = toks[c.start..c.start + c.len]
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        // A misheard eponym keeps its possessive ("Hashimotto's" -> "Hashimoto's").
        let lower = split_punct(&from).1.to_lowercase();
        let possessive = engine::possessive_stem(&lower).filter(|_| c.len == 1);
        let heard = lexicon::key_of(possessive.unwrap_or(&from));
        let display = (!term.is_drug)
            .then(|| inflect::keep_plural(&heard, &term.key, &term.display))
            .flatten()
            .unwrap_or_else(|| term.display.clone());
        let display = match possessive {
            Some(_) => format!("{display}'s"),
            None => display,
        };
        (from, display)
    }

    /// Whether the audio confirmed candidate `c`.
    fn is_heard(&self, toks: &[Tok], c: &engine::Candidate, heard: &[Heard]) -> bool {
        // The span first: it rules out all but a few candidates without building
        // their text.
        let span = (toks[c.start].src.0, toks[c.start + c.len - 1].src.1);
        let mut here = heard
            .iter()
            .filter(|h| (h.word_start, h.word_end) == span)
            .peekable();
        if here.peek().is_none() {
            return false;
        }
        let (from, display) = self.change_of(toks, c);
        let merged = engine::merge(toks, c.start, c.len, &display);
        let to = split_punct(&merged.text).1;
        let key = &self.lx.terms[c.term as usize].key;
        !guards::opposite_prefix(&lexicon::key_of(split_punct(&from).1), key)
            && here.any(|h| h.to == to)
    }

    fn run(&self, toks: Vec<Tok>, heard: &[Heard]) -> Corrected {
        let mut corrections = Vec::new();
        let toks = commands::apply(toks, &mut corrections);
        // Only words made of known pieces are split ("Vena-Kava"): one with an unknown
        // piece ("non-tubiculus", "Intra-Yudarin") is better matched whole.
        let mut toks = token::split_hyphens(toks, |w| {
            self.lx.by_key.contains_key(&lexicon::key_of(w))
                || w.split('-').any(|p| {
                    let p = p.to_lowercase();
                    !engine::is_english(&self.lx, &p) && !self.lx.medical_words.contains(&p)
                })
        });
        let mut locked: Vec<bool> = toks.iter().map(|t| t.text.starts_with('\n')).collect();
        guards::lock_names(&toks, &mut locked);
        engine::custom_phrases(&self.lx, &mut toks, &mut locked, &mut corrections);
        units::fix(&mut toks, &mut locked, &mut corrections);
        let joins = (&self.pair_ix, self.pair_joins.as_slice());
        phrases::split_joined_pairs(&self.lx, joins, &mut toks, &mut locked, &mut corrections);
        phrases::drop_stray_and(&self.lx, &mut toks, &mut locked, &mut corrections);
        phrases::fix_pairs(&self.lx, &self.ix, &mut toks, &mut locked, &mut corrections);
        let indexes = (&self.ix, &self.sd);
        unglue::split_glued_heads(&self.lx, indexes, &mut toks, &mut locked, &mut corrections);

        // Score every window, then take the best non-overlapping ones.
        let mut cands = Vec::new();
        let mut buf = Vec::new();
        for start in 0..toks.len() {
            for len in 1..=engine::MAX_WINDOW.min(toks.len() - start) {
                engine::eval_window(
                    &self.lx, &self.ix, &self.sd, &toks, &locked, start, len, &mut buf, &mut cands,
                );
                // No window reaches across punctuation: longer ones cannot match.
                let last = &toks[start + len - 1];
                if locked[start + len - 1] || !split_punct(&last.text).2.is_empty() {
                    break;
                }
            }
        }
        phrases::pair_context(&self.lx, &toks, &mut cands);
        engine::arbitrate_drugs(&self.lx, &toks, &mut cands);
        cands.retain(|c| c.score >= engine::SUGGEST - 0.1);
        // A longer window whose term contains a shorter window's term explains more of
        // the speech ("co la cyst ectomy" is cholecystectomy, not "co la cystectomy").
        // Candidates in text order, so each one is compared only with its neighbours.
        cands.sort_by_key(|c| c.start);
        let boosts: Vec<f32> = cands
            .iter()
            .map(|d| {
                let dk = &self.lx.terms[d.term as usize].key;
                cands[engine::starting_in(&cands, d.start, d.start + d.len)]
                    .iter()
                    .filter(|c| {
                        d.score >= engine::SUGGEST - 0.02
                            && c.len < d.len
                            && c.start >= d.start
                            && c.start + c.len <= d.start + d.len
                            && absorb::extra_words_fit(
                                &self.ix,
                                &toks,
                                (d.start, d.start + d.len),
                                (c.start, c.start + c.len),
                                dk,
                                &self.lx.terms[c.term as usize].key,
                            )
                    })
                    .map(|c| c.score)
                    .fold(d.score, f32::max)
            })
            .collect();
        for (c, b) in cands.iter_mut().zip(boosts) {
            c.score = b;
        }
        // Words the recogniser doubted that, with a neighbour, sound exactly like a
        // term belong to it: the longer window goes before a near match of the
        // neighbour alone ("new revascular": neurovascular, not renovascular).
        let lifts: Vec<f32> = cands
            .iter()
            .map(|d| {
                let span = d.start..d.start + d.len;
                if d.len < 2 || d.code_distance != 0 {
                    return d.score;
                }
                cands[engine::starting_in(&cands, span.start, span.end)]
                    .iter()
                    .filter(|c| c.len < d.len && c.start + c.len <= span.end && c.code_distance > 0)
                    .filter(|c| {
                        span.clone()
                            .filter(|k| !(c.start..c.start + c.len).contains(k))
                            .all(|k| toks[k].prob.is_some_and(|p| p < engine::DOUBTED))
                    })
                    .map(|c| (c.score + 0.01).min(1.0))
                    .fold(d.score, f32::max)
            })
            .collect();
        for (c, l) in cands.iter_mut().zip(lifts) {
            c.score = l;
        }
        for c in cands.iter_mut() {
            if self.is_heard(&toks, c, heard) {
                c.score = c.score.max(HEARD);
            }
        }
        let mut readings = readings::doubted_readings(&self.lx, &self.ix, &self.sd, &toks, &locked);
        for r in readings.iter_mut() {
            if self.is_heard(&toks, r, heard) {
                r.score = HEARD;
                cands.push(r.clone());
            }
        }
        readings.retain(|r| r.score < HEARD);
        // Weaker candidates are kept aside: the audio may confirm them.
        let mut weak: Vec<engine::Candidate> = cands
            .iter()
            .filter(|c| c.score < engine::SUGGEST)
            .cloned()
            .collect();
        cands.retain(|c| c.score >= engine::SUGGEST);
        engine::prefer_closest_span(&mut cands);
        cands.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.len.cmp(&a.len))
                .then(a.start.cmp(&b.start))
        });
        // Best first, each taking words no better one took.
        let mut taken = vec![false; toks.len()];
        let mut take = |c: &engine::Candidate| {
            let span = &mut taken[c.start..c.start + c.len];
            let free = span.iter().all(|t| !*t);
            if free {
                span.fill(true);
            }
            free
        };
        let mut chosen: Vec<engine::Candidate> = cands.into_iter().filter(|c| take(c)).collect();
        weak.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.start.cmp(&b.start)));
        let mut unsure = Vec::new();
        for c in weak.iter().filter(|c| take(c)) {
            let (from, display) = self.change_of(&toks, c);
            let merged = engine::merge(&toks, c.start, c.len, &display);
            let to = split_punct(&merged.text).1.to_string();
            unsure.push(Correction::of_merged(
                &merged, from, to, c.score, false, c.reason,
            ));
        }
        unsure.sort_by_key(|c| (c.word_start, c.word_end));
        // Readings of words no applied change took, other than what the pass
        // already offers there.
        let offered = |r: &engine::Candidate| {
            chosen.iter().chain(&weak).any(|c| {
                (c.start, c.len, c.term) == (r.start, r.len, r.term)
                    || (c.score >= engine::APPLY
                        && c.start < r.start + r.len
                        && r.start < c.start + c.len)
            })
        };
        let readings: Vec<Correction> = readings
            .iter()
            .filter(|r| !offered(r))
            .map(|r| {
                let (from, display) = self.change_of(&toks, r);
                let merged = engine::merge(&toks, r.start, r.len, &display);
                let to = split_punct(&merged.text).1.to_string();
                Correction::of_merged(&merged, from, to, r.score, false, r.reason)
            })
            // A reading that writes the same word again ("bacilli": bacillus).
            .filter(|c| !c.to.eq_ignore_ascii_case(split_punct(&c.from).1))
            .collect();
        chosen.sort_by_key(|c| c.start);
        let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
        let mut next = 0;
        for c in &chosen {
            out.extend(toks[next..c.start].iter().cloned());
            let (from, display) = self.change_of(&toks, c);
            let merged = engine::merge(&toks, c.start, c.len, &display);
            let applied = c.score >= engine::APPLY;
            let reason = if self.is_heard(&toks, c, heard) {
                format!("{}; {AUDIO_AGREES}", c.reason)
            } else {
                c.reason.to_string()
            };
            corrections.push(Correction::of_merged(
                &merged,
                from,
                split_punct(&merged.text).1.to_string(),
                c.score,
                applied,
                reason,
            ));
            if applied {
                out.push(merged);
            } else {
                out.extend(toks[c.start..c.start + c.len].iter().cloned());
            }
            next = c.start + c.len;
        }
        out.extend(toks[next..].iter().cloned());
        corrections.sort_by_key(|c| (c.word_start, c.word_end));

        let mut words: Vec<Word> = Vec::with_capacity(out.len());
        for (k, t) in out.iter().enumerate() {
            let probability = t.prob.unwrap_or(1.0);
            match words.last_mut() {
                Some(w) if k > 0 && token::join_hyphens(&out[k - 1], t) => {
                    w.text = format!("{}-{}", w.text, t.text);
                    w.end = t.end;
                    w.probability = w.probability.min(probability);
                }
                _ => words.push(Word {
                    text: t.text.clone(),
                    start: t.start,
                    end: t.end,
                    probability,
                }),
            }
        }
        Corrected {
            text: join_words(words.iter().map(|w| w.text.as_str())),
            words,
            corrections,
            unsure,
            readings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_as_people_type_them() {
        assert_eq!(
            split_terms(" apixaban;metoprolol  tartrate\n Apixaban, ,"),
            ["apixaban", "metoprolol tartrate"]
        );
        assert!(split_terms(" ,;\n").is_empty());
    }

    #[test]
    fn joined_terms_stay_within_the_budget() {
        let terms = ["apixaban", "a-very-long-term-name", "lisinopril"].map(String::from);
        assert_eq!(join_within(terms.clone(), 22), "apixaban, lisinopril");
        assert_eq!(join_within(terms, 5), "");
    }
}
