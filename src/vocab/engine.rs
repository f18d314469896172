//! The correction engine: candidate windows of 1-4 words, phonetic candidates,
//! guards against changing real English, scoring with context and recogniser
//! confidence, and non-overlapping selection.

use super::lexicon::{key_of, normalise_phrase, Lexicon, Tier};
use super::phonetic::PhoneticIndex;
use super::token::{split_punct, Tok};
use super::Correction;

/// Longest window of recognised words merged into one term.
pub(crate) const MAX_WINDOW: usize = 4;
/// Changes scoring at least this are applied; the rest down to [`SUGGEST`] are suggested.
pub(crate) const APPLY: f32 = 0.8;
pub(crate) const SUGGEST: f32 = 0.7;
/// Adjacent words this frequent together are ordinary English ("in the", "up or" is not).
const BIGRAM_GUARD: u64 = 300_000_000;

/// Hesitations never belong inside a term ("and um" is not indium).
const FILLERS: &[&str] = &[
    "um", "uh", "er", "erm", "ah", "hmm", "mm", "mhm", "uhm", "eh", "oh", "okay", "ok", "yeah",
];

/// Words near a drug name in dictation: evidence that a window is a medication.
const DRUG_CUES: &[&str] = &[
    "take",
    "takes",
    "taking",
    "took",
    "started",
    "start",
    "prescribed",
    "prescribe",
    "continue",
    "continued",
    "increase",
    "increased",
    "decrease",
    "decreased",
    "dose",
    "dosage",
    "milligrams",
    "milligram",
    "mg",
    "mcg",
    "micrograms",
    "units",
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "daily",
    "twice",
    "nightly",
    "bid",
    "tid",
    "qid",
    "prn",
    "inhaler",
    "puffs",
    "injection",
    "weekly",
    "stop",
    "stopped",
    "discontinue",
    "discontinued",
    "medication",
    "medications",
    "refill",
    "mg.",
    "grams",
    "once",
];

const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty",
    "fifty", "hundred", "half",
];

/// A scored candidate change of `toks[start..start+len]`.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub start: usize,
    pub len: usize,
    pub term: u32,
    pub score: f32,
    pub reason: &'static str,
}

fn lower_core(t: &Tok) -> String {
    split_punct(&t.text).1.to_lowercase()
}

/// Whether a drug cue or a number is within three words of the window.
fn drug_context(toks: &[Tok], start: usize, len: usize) -> bool {
    let lo = start.saturating_sub(3);
    let hi = (start + len + 3).min(toks.len());
    (lo..hi)
        .filter(|k| *k < start || *k >= start + len)
        .any(|k| {
            let w = lower_core(&toks[k]);
            DRUG_CUES.contains(&w.as_str())
                || NUMBER_WORDS.contains(&w.as_str())
                || w.chars().next().is_some_and(|c| c.is_ascii_digit())
        })
}

/// Whether the token begins a sentence (so its capital letter says nothing).
fn sentence_initial(toks: &[Tok], i: usize) -> bool {
    i == 0 || {
        let prev = &toks[i - 1].text;
        prev.starts_with('\n') || prev.ends_with(['.', '?', '!', ':'])
    }
}

/// Whether `w` is ordinary English, counting plurals and -ly forms of known words.
fn is_english(lx: &Lexicon, w: &str) -> bool {
    if lx.english.contains_key(w) {
        return true;
    }
    // "flare-up", "twenty-one": compounds of known words.
    if w.contains('-') {
        return w
            .split('-')
            .all(|p| p.is_empty() || lx.english.contains_key(p) || lx.medical_words.contains(p));
    }
    known_stem(lx, w)
}

/// Whether an inflected or derived form of a known word ("lactated", "crampy").
fn known_stem(lx: &Lexicon, w: &str) -> bool {
    ["s", "es", "d", "ed", "ing", "ly", "ally", "y", "ily", "ish"]
        .iter()
        .any(|suf| {
            w.strip_suffix(suf).is_some_and(|stem| {
                stem.len() >= 4
                    && (lx.english.contains_key(stem) || lx.medical_words.contains(stem))
            })
        })
}

/// Productive medical word endings: a word built with one is probably a real term
/// the lists lack ("chondroplasty"), not a misspelling of a word with another ending.
const MEDICAL_SUFFIXES: &[&str] = &[
    "plasty", "ectomy", "otomy", "ostomy", "scopy", "graphy", "gram", "itis", "osis", "emia",
    "algia", "pathy", "plasia", "trophy", "lysis", "rrhea", "ology", "oma", "cele", "pexy",
    "blast", "cyte", "penia", "uria",
];

fn suffix_of(w: &str) -> Option<&'static str> {
    MEDICAL_SUFFIXES.iter().copied().find(|s| w.ends_with(s))
}

/// Scores the best term for one window, or None when a guard forbids any change.
pub(crate) fn eval_window(
    lx: &Lexicon,
    ix: &PhoneticIndex,
    toks: &[Tok],
    locked: &[bool],
    start: usize,
    len: usize,
    buf: &mut Vec<u32>,
) -> Option<Candidate> {
    let end = start + len;
    let mut words = Vec::with_capacity(len);
    for k in start..end {
        if locked[k] {
            return None;
        }
        let (lead, core, trail) = split_punct(&toks[k].text);
        if core.is_empty() || core.chars().count() > 40 || core.chars().any(|c| c.is_numeric()) {
            return None;
        }
        // Never merge across punctuation.
        if (k > start && !lead.is_empty()) || (k + 1 < end && !trail.is_empty()) {
            return None;
        }
        let w = core.to_lowercase();
        // Spelled-out letters ("S T elevation", "X rays") are not parts of a word.
        if w.chars().count() == 1 && w != "a" {
            return None;
        }
        // Contractions ("name's") and fillers are never part of a term.
        if FILLERS.contains(&w.as_str()) || w.contains(['\'', '\u{2019}']) {
            return None;
        }
        words.push(w);
    }
    let joined = key_of(&words.concat());
    let jlen = joined.chars().count();
    if jlen < 5 || !joined.is_ascii() {
        return None;
    }
    let english: Vec<bool> = words.iter().map(|w| is_english(lx, w)).collect();
    // Pieces that spell a drug exactly ("atorva statin", "metform in") are that drug,
    // even when one piece is itself a known word.
    if len > 1 {
        if let Some(&id) = lx.by_key.get(&joined) {
            let t = &lx.terms[id as usize];
            if t.is_drug || t.tier == Tier::Custom {
                let probs = toks[start..end].iter().filter_map(|t| t.prob);
                let unsure = probs.clone().any(|p| p < 0.6);
                let all_english = english.iter().all(|e| *e);
                let score = if all_english && !unsure {
                    APPLY - 0.01
                } else {
                    0.95
                };
                return Some(Candidate {
                    start,
                    len,
                    term: id,
                    score,
                    reason: "joined words spell a known drug",
                });
            }
        }
    }
    let medical: Vec<bool> = words
        .iter()
        .map(|w| lx.medical_words.contains(w) || lx.abbreviations.contains(w))
        .collect();
    if len == 1 {
        // A known word, English or medical, is never changed on spelling evidence.
        if english[0] || medical[0] || lx.by_key.contains_key(&joined) || known_stem(lx, &words[0])
        {
            return None;
        }
    } else {
        for (k, w) in words.iter().enumerate() {
            let n = w.chars().count();
            if (medical[k] && !english[k] && n >= 4) || (english[k] && n >= 7) {
                return None;
            }
        }
        for pair in words.windows(2) {
            let b = format!("{} {}", pair[0], pair[1]);
            if lx.bigrams.get(&b).copied().unwrap_or(0) >= BIGRAM_GUARD {
                return None;
            }
        }
    }
    let all_english = english.iter().all(|e| *e);
    let none_english = english.iter().all(|e| !*e);
    let codes = ix.codes(&joined);
    ix.lookup(&codes, buf);
    let ctx = drug_context(toks, start, len);
    let probs: Vec<f32> = toks[start..end].iter().filter_map(|t| t.prob).collect();
    let min_prob = probs.iter().copied().fold(f32::NAN, f32::min);
    let proper_name = len == 1
        && !sentence_initial(toks, start)
        && split_punct(&toks[start].text)
            .1
            .chars()
            .next()
            .is_some_and(char::is_uppercase);
    let mut best: Option<Candidate> = None;
    for &id in buf.iter() {
        let t = &lx.terms[id as usize];
        let tlen = t.key.chars().count();
        if tlen * 10 < jlen * 7 || tlen * 10 > jlen * 14 {
            continue;
        }
        // Never turn one real member of a sound-alike group into another.
        if let Some(g) = lx.sound_alike.get(&t.key) {
            if words.iter().any(|w| lx.sound_alike.get(w) == Some(g)) {
                continue;
            }
        }
        // Obscure drug names are not worth merging ordinary words for.
        if len > 1 && !none_english && t.tier == Tier::Drug {
            continue;
        }
        if len == 1 && suffix_of(&joined).is_some() && suffix_of(&joined) != suffix_of(&t.key) {
            continue;
        }
        // "cut down" -> "cutdown" only respells real words.
        if all_english && t.key == joined && t.tier == Tier::Medical {
            continue;
        }
        let cd = ix.code_distance(&codes, id);
        if cd > 2 {
            continue;
        }
        let dl = strsim::normalized_damerau_levenshtein(&joined, &t.key) as f32;
        let jw = strsim::jaro_winkler(&joined, &t.key) as f32;
        let ls = dl.max(jw - 0.15);
        let accept = if all_english {
            (cd == 0 && ls >= 0.7) || (ctx && t.is_drug && t.tier <= Tier::CommonDrug && ls >= 0.6)
        } else {
            (cd == 0 && ls >= 0.5) || (cd <= 1 && ls >= 0.6) || ls >= 0.75
        };
        if !accept {
            continue;
        }
        let tier_bonus = match t.tier {
            Tier::Custom => 0.15,
            Tier::CommonDrug => 0.15,
            Tier::Drug => 0.01,
            Tier::Medical => 0.0,
        };
        // A code distance counts less in a long code than in a short one.
        let code_len = codes.iter().map(String::len).max().unwrap_or(1).max(3);
        let code_sim = 1.0 - cd as f32 / code_len as f32;
        let mut score = 0.5 * ls + 0.3 * code_sim + tier_bonus;
        if ctx && t.is_drug {
            score += 0.1;
        }
        if all_english {
            score -= 0.05;
        }
        if none_english {
            score += 0.08;
        }
        if proper_name {
            score -= 0.15;
        }
        if !min_prob.is_nan() {
            score += 0.2 * (0.7 - min_prob);
        }
        let mut score = score.clamp(0.0, 1.0);
        // Real words are changed only when the recogniser itself was unsure of them;
        // without its probabilities such a change stays a suggestion.
        if all_english && (min_prob.is_nan() || min_prob >= 0.6) {
            score = score.min(APPLY - 0.01);
        }

        if best.as_ref().is_none_or(|b| score > b.score) {
            best = Some(Candidate {
                start,
                len,
                term: id,
                score,
                reason: if len == 1 {
                    "near spelling and sound of a known term"
                } else {
                    "phonetic match of joined words"
                },
            });
        }
    }
    best
}

/// Replaces custom "sounds like" phrases; the replaced tokens are locked.
pub(crate) fn custom_phrases(
    lx: &Lexicon,
    toks: &mut Vec<Tok>,
    locked: &mut Vec<bool>,
    corrections: &mut Vec<Correction>,
) {
    if lx.phrases.is_empty() {
        return;
    }
    let mut i = 0;
    while i < toks.len() {
        for n in (1..=lx.max_phrase_words.min(toks.len() - i)).rev() {
            let span = &toks[i..i + n];
            let inner_punct = span.iter().enumerate().any(|(k, t)| {
                let (lead, core, trail) = split_punct(&t.text);
                core.is_empty() || (k > 0 && !lead.is_empty()) || (k + 1 < n && !trail.is_empty())
            });
            if inner_punct || locked[i..i + n].iter().any(|l| *l) {
                continue;
            }
            let phrase = normalise_phrase(
                &span
                    .iter()
                    .map(|t| split_punct(&t.text).1)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            let Some(to) = lx.phrases.get(&phrase) else {
                continue;
            };
            let from = span
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let merged = merge(toks, i, n, to);
            if merged.text == from {
                continue;
            }
            corrections.push(Correction {
                word_start: merged.src.0,
                word_end: merged.src.1,
                from,
                to: to.clone(),
                score: 0.99,
                applied: true,
                reason: "custom vocabulary".into(),
                start: 0.0,
                end: 0.0,
                decision: None,
            });
            toks.splice(i..i + n, [merged]);
            locked.splice(i..i + n, [true]);
            break;
        }
        i += 1;
    }
}

/// One token for `toks[i..i+n]` written as `display`, keeping the outer
/// punctuation and a sentence-initial capital.
pub(crate) fn merge(toks: &[Tok], i: usize, n: usize, display: &str) -> Tok {
    let first = &toks[i];
    let last = &toks[i + n - 1];
    let (lead, core, _) = split_punct(&first.text);
    let (_, _, trail) = split_punct(&last.text);
    let mut text = display.to_string();
    if sentence_initial(toks, i) && core.chars().next().is_some_and(char::is_uppercase) {
        let mut c = text.chars();
        if let Some(f) = c.next() {
            text = f.to_uppercase().chain(c).collect();
        }
    }
    let prob = toks[i..i + n]
        .iter()
        .filter_map(|t| t.prob)
        .reduce(f32::min);
    Tok {
        text: format!("{lead}{text}{trail}"),
        start: first.start,
        end: last.end,
        prob,
        src: (first.src.0, last.src.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_forms_and_suffixes() {
        let lx = Lexicon::base();
        assert!(is_english(&lx, "flare-up"));
        assert!(is_english(&lx, "crampy"));
        assert!(known_stem(&lx, "lactated"));
        assert!(!is_english(&lx, "metaprolol"));
        assert_eq!(suffix_of("chondroplasty"), Some("plasty"));
        assert_eq!(suffix_of("metformin"), None);
    }
}
