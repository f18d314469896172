//! An everyday word the recogniser glued to the front of a term ("stoplisinoprol":
//! stop lisinopril, "addextrose": add dextrose).
//!
//! Matched whole, such a word is far from every term; its tail alone is close to
//! one. The split is taken only when the tail, scored in the word's place like any
//! other word, is a change the pass would apply and the whole word is not.

use super::engine::{self, is_english, Candidate, APPLY, SPLIT_PREFIXES};
use super::lexicon::Lexicon;
use super::phonetic::PhoneticIndex;
use super::symdelete::DeleteIndex;
use super::token::{split_punct, Tok};
use super::Correction;

/// Shortest glued word worth splitting: an everyday word and a term of
/// [`MIN_TAIL`] letters.
const MIN_WORD: usize = 9;
/// Shortest tail: shorter ones match some term by chance.
const MIN_TAIL: usize = 6;
/// Everyday words looked for at the front: the commonest of 3 to 6 letters
/// (verbs and grammar words: "stop", "add", "give"), not names or short
/// roots ("levi", "coli", "co").
const MIN_HEAD: usize = 3;
const MAX_HEAD: usize = 6;
const HEAD_COUNT: u64 = 50_000_000;
/// Words either side kept for the tail's context (drug cues, doses).
const CONTEXT: usize = 3;

/// Splits glued words in place; changed tokens are locked.
pub(crate) fn split_glued_heads(
    lx: &Lexicon,
    (ix, sd): (&PhoneticIndex, &DeleteIndex),
    toks: &mut [Tok],
    locked: &mut [bool],
    corrections: &mut Vec<Correction>,
) {
    let mut buf = Vec::new();
    let mut cands = Vec::new();
    for k in 0..toks.len() {
        let (lead, core, trail) = split_punct(&toks[k].text);
        let lower = core.to_lowercase();
        let n = lower.len();
        if locked[k]
            || n < MIN_WORD
            || !lower.bytes().all(|b| b.is_ascii_lowercase())
            || is_english(lx, &lower)
            || lx.medical_words.contains(&lower)
        {
            continue;
        }
        // Heads first: most words start with no everyday word, and scoring is dear.
        let heads: Vec<usize> = (MIN_HEAD..=MAX_HEAD.min(n - MIN_TAIL))
            .filter(|&i| {
                let head = &lower[..i];
                lx.english.get(head).is_some_and(|c| *c >= HEAD_COUNT)
                    && !SPLIT_PREFIXES.contains(&head)
            })
            .collect();
        if heads.is_empty() {
            continue;
        }
        // A consonant the two words share is written once ("add" + "dextrose").
        let tails = |i: usize| {
            let shared = !b"aeiou".contains(&lower.as_bytes()[i - 1]);
            [i, i - 1].into_iter().take(1 + usize::from(shared))
        };
        // A tail that is a term as it stands wins over any near match of the whole
        // word, which would drop the everyday word; an everyday tail only if it is
        // a drug ("addextrose": add dextrose).
        let exact = heads.iter().find_map(|&i| {
            tails(i).find_map(|at| {
                let tail = &lower[at..];
                let id = *lx.by_key.get(tail)?;
                (!is_english(lx, tail) || lx.terms[id as usize].is_drug).then_some((i, id, 1.0))
            })
        });
        let lo = k.saturating_sub(CONTEXT);
        let hi = (k + 1 + CONTEXT).min(toks.len());
        // (head length, term, score) of the best split.
        let mut found: Option<(usize, u32, f32)> = exact;
        if found.is_none() {
            // The whole word as the pass would score it.
            let whole = best(
                lx,
                (ix, sd),
                &toks[lo..hi],
                &locked[lo..hi],
                k - lo,
                &mut buf,
                &mut cands,
            )
            .map(|c| c.score);
            if whole.is_some_and(|s| s >= APPLY) {
                continue;
            }
            for &i in &heads {
                for tail_at in tails(i) {
                    let tail = &lower[tail_at..];
                    let mut local: Vec<Tok> = toks[lo..k].to_vec();
                    local.push(Tok {
                        text: format!("{lead}{}", &core[..i]),
                        ..toks[k].clone()
                    });
                    local.push(Tok {
                        text: format!("{tail}{trail}"),
                        ..toks[k].clone()
                    });
                    local.extend(toks[k + 1..hi].iter().cloned());
                    let at = k - lo + 1;
                    let free = vec![false; local.len()];
                    let Some(c) = best(lx, (ix, sd), &local, &free, at, &mut buf, &mut cands)
                    else {
                        continue;
                    };
                    if c.score >= APPLY
                        && c.code_distance <= 1
                        && whole.is_none_or(|w| c.score > w)
                        && found.is_none_or(|f| c.score > f.2)
                    {
                        found = Some((i, c.term, c.score));
                    }
                }
            }
        }
        let Some((i, term, score)) = found else {
            continue;
        };
        let to = format!("{} {}", &core[..i], lx.terms[term as usize].display);
        let text = format!("{lead}{to}{trail}");
        corrections.push(Correction::of_merged(
            &toks[k],
            toks[k].text.clone(),
            to,
            score,
            true,
            "everyday word glued to a known term",
        ));
        toks[k].text = text;
        locked[k] = true;
    }
}

/// The best candidate the pass finds for the one word at `at` of `toks`.
fn best(
    lx: &Lexicon,
    (ix, sd): (&PhoneticIndex, &DeleteIndex),
    toks: &[Tok],
    locked: &[bool],
    at: usize,
    buf: &mut Vec<u32>,
    cands: &mut Vec<Candidate>,
) -> Option<Candidate> {
    cands.clear();
    engine::eval_window(lx, ix, sd, toks, locked, at, 1, buf, cands);
    engine::arbitrate_drugs(lx, toks, cands);
    cands
        .iter()
        .max_by(|a, b| a.score.total_cmp(&b.score))
        .cloned()
}
