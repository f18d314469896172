//! Other terms that words the recogniser doubted may stand for. The pass's
//! guards keep it from changing real words ("sink cope", "fivers") or from
//! taking a second-best match ("potuscus": ptosis before pertussis); only the
//! audio can tell these apart, so they are offered to it
//! ([`crate::confirm`]) and never applied on spelling alone.

use super::engine::{self, is_english, Candidate, DOUBTED};
use super::lexicon::{key_of, Lexicon, Tier};
use super::phonetic::{self, PhoneticIndex};
use super::symdelete::DeleteIndex;
use super::token::{split_punct, Tok};

/// Readings kept per window: each one costs a decoder pass.
const PER_WINDOW: usize = 3;

/// Longest window of draft words read as one term.
const MAX_LEN: usize = 3;

/// Words the recogniser gave at least this probability are what it heard.
const SURE: f32 = 0.8;

/// Real words rarer than this (in the English list's counts) are read alone
/// when doubted ("fivers": fevers); commoner ones were heard right.
const RARE_WORD: u64 = 200_000;

/// Reason recorded for a reading the audio confirmed.
pub(crate) const REASON: &str = "doubted words sound like a known term";

/// Readings for the windows of up to [`MAX_LEN`] words, with no punctuation
/// inside, that hold a word the recogniser doubted: the best [`PER_WINDOW`] per
/// window by how well sound and spelling match (their score). A window of
/// real words is read only when every word in it was doubted and, alone, only
/// a rare word: a single common word ("diffusion", "ridiculous") was almost
/// always heard right on the dev corpus, and each reading costs a decoder pass.
pub(crate) fn doubted_readings(
    lx: &Lexicon,
    ix: &PhoneticIndex,
    sd: &DeleteIndex,
    toks: &[Tok],
    locked: &[bool],
) -> Vec<Candidate> {
    let words: Vec<Option<String>> = toks
        .iter()
        .zip(locked)
        .map(|(t, &locked)| eligible_word(lx, t, locked))
        .collect();
    let doubted = |k: usize| toks[k].prob.is_some_and(|p| p < DOUBTED);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut window = Vec::new();
    for start in 0..toks.len() {
        for len in 1..=MAX_LEN.min(toks.len() - start) {
            let end = start + len;
            let Some(parts) = words[start..end]
                .iter()
                .map(Option::as_deref)
                .collect::<Option<Vec<&str>>>()
            else {
                break;
            };
            // No window reaches across punctuation.
            if (start + 1..end).any(|k| !split_punct(&toks[k].text).0.is_empty())
                || (start..end - 1).any(|k| !split_punct(&toks[k].text).2.is_empty())
            {
                break;
            }
            let english: Vec<bool> = parts.iter().map(|w| is_english(lx, w)).collect();
            let readable = if len == 1 && lx.medical_words.contains(parts[0]) {
                // A listed term the recogniser doubted was still mostly right.
                false
            } else if len > 1
                && parts
                    .iter()
                    .any(|w| w.len() >= 4 && lx.medical_words.contains(*w) && !is_english(lx, w))
            {
                // A listed term is not read together with a neighbour.
                false
            } else if english.iter().all(|e| *e) {
                (start..end).all(doubted)
                    && (len >= 2 || lx.english.get(parts[0]).is_some_and(|n| *n < RARE_WORD))
            } else {
                (start..end).any(|k| doubted(k) && !english[k - start])
            };
            if !readable {
                continue;
            }
            window.clear();
            read_window(lx, ix, sd, toks, start, len, &parts, &mut buf, &mut window);
            window.sort_by(|a, b| b.score.total_cmp(&a.score));
            out.extend(window.drain(..).take(PER_WINDOW));
        }
    }
    out
}

/// The lowercase word of a token that may be part of a reading: doubted or
/// nearly so, letters only, not locked, and not a drug name (a drug the
/// recogniser wrote is never read as another).
fn eligible_word(lx: &Lexicon, t: &Tok, locked: bool) -> Option<String> {
    let p = t.prob?;
    if locked || p >= SURE {
        return None;
    }
    let core = split_punct(&t.text).1.to_lowercase();
    if core.is_empty() || !core.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    if lx
        .by_key
        .get(&key_of(&core))
        .is_some_and(|&id| lx.terms[id as usize].is_drug)
        || lx.sound_alike.contains_key(&core)
    {
        return None;
    }
    Some(core)
}

#[allow(clippy::too_many_arguments)]
fn read_window(
    lx: &Lexicon,
    ix: &PhoneticIndex,
    sd: &DeleteIndex,
    toks: &[Tok],
    start: usize,
    len: usize,
    parts: &[&str],
    buf: &mut Vec<u32>,
    out: &mut Vec<Candidate>,
) {
    let joined = key_of(&parts.concat());
    let jlen = joined.chars().count();
    if jlen < 5 || (len == 1 && parts[0].len() < 4) {
        return;
    }
    let codes = ix.codes(&joined);
    ix.lookup(&codes, buf);
    if len == 1 {
        let mut near = Vec::new();
        sd.lookup(&joined, &mut near);
        buf.extend(near);
    }
    buf.sort_unstable();
    buf.dedup();
    let english = parts.iter().all(|w| is_english(lx, w));
    for &id in buf.iter() {
        let t = &lx.terms[id as usize];
        // Obscure drug names: among tens of thousands one always sounds close.
        if t.tier == Tier::Drug || t.key == joined {
            continue;
        }
        // A window with a word the term does not need ("Gastroenterology is").
        if len > 1
            && [&parts[1..], &parts[..len - 1]]
                .iter()
                .any(|p| key_of(&p.concat()) == t.key)
        {
            continue;
        }
        let tlen = t.key.chars().count();
        if tlen * 10 < jlen * 7 || tlen * 10 > jlen * 14 {
            continue;
        }
        let cd = ix.code_distance(&codes, id);
        let spelling = phonetic::letters_for(&joined, &t.key);
        let (_, ls) = engine::letter_similarity(&joined, &spelling);
        // Real words need a close sound; unknown ones may be further off.
        let accept = if english {
            cd <= 1 && ls >= 0.6
        } else {
            (cd == 0 && ls >= 0.5) || (cd <= 1 && ls >= 0.55) || (cd <= 2 && ls >= 0.6) || ls >= 0.7
        };
        if !accept {
            continue;
        }
        let evidence = engine::match_evidence(ls, &codes, cd);
        out.push(Candidate {
            start,
            len,
            term: id,
            score: evidence,
            reason: REASON,
            evidence,
            code_distance: cd,
            drug: t.is_drug,
            drug_context: engine::drug_context(toks, start, len),
        });
    }
}
