//! Two-word phrase terms ("pleural effusion", "vena cava", "insulin glargine").
//!
//! The recogniser often gets one word of a medical phrase as an ordinary
//! sound-alike ("plural effusion", "vena kava"). A single-word pass cannot touch
//! those: the wrong word is real English. Here the other word of a known pair
//! anchors the phrase: when it is distinctive (not everyday English) and the
//! word beside it sounds like the pair's partner, the partner is written. An
//! everyday anchor ("breach presentation") counts only when the recogniser was
//! sure of it and doubted the word beside it. Pairs come from ICD-10-CM
//! descriptions (`vocab/phrases.txt`), clinical phrases
//! (`vocab/clinical-phrases.txt`) and two-word drug names.

use super::engine::{is_english, merge, Candidate, APPLY, DOUBTED, SPLIT_PREFIXES};
use super::guards::opposite_prefix;
use super::lexicon::{key_of, Lexicon};
use super::phonetic::PhoneticIndex;
use super::token::{split_punct, Tok};
use super::Correction;

/// Anchors more frequent than this in English books are everyday words
/// ("disease", "presentation"): too weak to justify changing a real word.
const DISTINCTIVE: u64 = 1_000_000;

/// Score added to a candidate that, with the distinctive word beside it, makes a
/// known two-word term ("Maya Cardial infarction": myocardial infarction).
const PAIR_CONTEXT: f32 = 0.05;

/// A context anchor may be commoner than one that changes a real word: the window
/// it supports is already no plain English ("infarction", "pulmonary").
const CONTEXT_ANCHOR: u64 = 5_000_000;

fn distinctive(lx: &Lexicon, w: &str) -> bool {
    lx.medical_words.contains(w) && lx.english.get(w).copied().unwrap_or(0) < DISTINCTIVE
}

/// Whether `w` is known only from drug names ("kava"), no diagnosis, procedure,
/// anatomy or eponym word.
fn drug_only(lx: &Lexicon, w: &str) -> bool {
    lx.medical_words.contains(w) && !lx.list_words.contains(w)
}

fn anchor(lx: &Lexicon, w: &str) -> bool {
    lx.medical_words.contains(w) && lx.english.get(w).copied().unwrap_or(0) < CONTEXT_ANCHOR
}

/// Raises candidates whose term forms a known two-word term with the distinctive
/// word before or after the window. Windows of real words only are left alone
/// (those need the recogniser's doubt), and meaning-reversing changes too.
pub(crate) fn pair_context(lx: &Lexicon, toks: &[Tok], cands: &mut [Candidate]) {
    let core = |t: &Tok| split_punct(&t.text).1.to_lowercase();
    for c in cands.iter_mut() {
        let end = c.start + c.len;
        let words: Vec<String> = toks[c.start..end].iter().map(core).collect();
        let term = &lx.terms[c.term as usize];
        if words.iter().all(|w| is_english(lx, w)) || opposite_prefix(&words.concat(), &term.key) {
            continue;
        }
        let t = term.display.to_lowercase();
        let next = (end < toks.len()
            && split_punct(&toks[end - 1].text).2.is_empty()
            && split_punct(&toks[end].text).0.is_empty())
        .then(|| core(&toks[end]));
        let prev = (c.start > 0
            && split_punct(&toks[c.start - 1].text).2.is_empty()
            && split_punct(&toks[c.start].text).0.is_empty())
        .then(|| core(&toks[c.start - 1]));
        let pair = |a: &str, b: &str| lx.phrase_pairs.contains(&format!("{a} {b}"));
        if next.is_some_and(|n| anchor(lx, &n) && pair(&t, &n))
            || prev.is_some_and(|p| anchor(lx, &p) && pair(&p, &t))
        {
            c.score = (c.score + PAIR_CONTEXT).min(1.0);
            c.reason = "sound match completing a known two-word term";
        }
    }
}

/// How the changed word (`wk`, its codes `wc`) matches the pair's partner:
/// (code distance, letter similarity). Cheap letter checks come before encoding.
fn sound_match(ix: &PhoneticIndex, wk: &str, wc: &[String], target: &str) -> Option<(usize, f32)> {
    let tk = key_of(target);
    if wk == tk || wk.len() < 3 || tk.len() * 2 < wk.len() || wk.len() * 2 < tk.len() {
        return None;
    }
    // Another form of the same word ("lactose intolerant") is grammar, not a mishearing.
    let shared = wk
        .chars()
        .zip(tk.chars())
        .take_while(|(a, b)| a == b)
        .count();
    if shared >= 4 && shared + 3 >= wk.len().min(tk.len()) && !vowel_swap(wk, &tk) {
        return None;
    }
    let ls = strsim::normalized_damerau_levenshtein(wk, &tk) as f32;
    if ls < 0.5 {
        return None;
    }
    let tc = ix.heard_codes(&tk);
    // Listeners and recognisers rarely get the onset wrong ("kava" and "cava" share it).
    let onset = |c: &[String]| c.first().and_then(|c| c.chars().next());
    if wk.chars().next() != tk.chars().next() && onset(wc) != onset(&tc) {
        return None;
    }
    let cd = wc
        .iter()
        .flat_map(|a| tc.iter().map(move |b| strsim::levenshtein(a, b)))
        .min()?;
    ((cd == 0 && ls >= 0.5) || (cd == 1 && ls >= 0.75)).then_some((cd, ls))
}

/// Whether two words differ only in one vowel inside the word ("reflex", "reflux"):
/// a mishearing, not another grammatical form, which changes the ending.
fn vowel_swap(a: &str, b: &str) -> bool {
    let vowel = |c: u8| b"aeiouy".contains(&c);
    let diffs: Vec<usize> = (0..a.len().min(b.len()))
        .filter(|&i| a.as_bytes()[i] != b.as_bytes()[i])
        .collect();
    a.len() == b.len()
        && diffs.len() == 1
        && diffs[0] + 1 < a.len()
        && vowel(a.as_bytes()[diffs[0]])
        && vowel(b.as_bytes()[diffs[0]])
}

/// Best partner for `word` among `partners`, with its score.
fn best_partner<'a>(
    ix: &PhoneticIndex,
    word: &str,
    partners: &'a [String],
) -> Option<(&'a str, f32)> {
    let wk = key_of(word);
    let wc = ix.codes(&wk);
    partners
        .iter()
        .filter_map(|p| sound_match(ix, &wk, &wc, p).map(|(cd, ls)| (p.as_str(), cd, ls)))
        .min_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)))
        .map(|(p, cd, ls)| (p, if cd == 0 { 0.85 } else { 0.8 + 0.05 * ls }))
}

/// Splits a two-word term the recogniser wrote as one unknown word: exactly
/// ("aniongap": anion gap), or, where the recogniser doubted the word, by sound
/// ("vina-cova": vena cava, both vowels misheard).
pub(crate) fn split_joined_pairs(
    lx: &Lexicon,
    (pair_ix, pair_joins): (&PhoneticIndex, &[String]),
    toks: &mut [Tok],
    locked: &mut [bool],
    corrections: &mut Vec<Correction>,
) {
    let mut ids = Vec::new();
    for k in 0..toks.len() {
        let core = split_punct(&toks[k].text).1.to_lowercase();
        let w = key_of(&core);
        if locked[k]
            || w.len() < 8
            || !core.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
            || is_english(lx, &core)
            || lx.medical_words.contains(&core)
            || lx.by_key.contains_key(&w)
        {
            continue;
        }
        let (pair, reason) = if let Some(pair) = lx.pair_by_join.get(&w).filter(|_| core == w) {
            (pair, "known two-word term written as one word")
        } else if toks[k].prob.is_some_and(|p| p < DOUBTED) {
            let codes = pair_ix.codes(&w);
            pair_ix.lookup(&codes, &mut ids);
            let best = ids
                .iter()
                .filter(|&&id| pair_ix.code_distance(&codes, id) == 0)
                .map(|&id| &pair_joins[id as usize])
                .map(|j| (j, strsim::normalized_damerau_levenshtein(&w, j)))
                .filter(|(_, ls)| *ls >= SOUND_JOIN_LETTERS)
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match best.and_then(|(j, _)| lx.pair_by_join.get(j)) {
                Some(pair) => (pair, "known two-word term heard as one word"),
                None => continue,
            }
        } else {
            continue;
        };
        // A prefix keeps the hyphen the recogniser wrote ("non-eschemic": non-ischemic).
        let pair = match pair.split_once(' ') {
            Some((a, b)) if core.contains('-') && SPLIT_PREFIXES.contains(&a) => format!("{a}-{b}"),
            _ => pair.clone(),
        };
        corrections.push(Correction::replaced(&toks[k], pair.clone(), reason));
        toks[k] = merge(toks, k, 1, &pair);
        locked[k] = true;
    }
}

/// A word the recogniser wrote with a digit for a sound ("6enate" for succinate)
/// with the digit read as its word ("sixenate"); other words ("5mg", "31-year-old")
/// as they are.
pub(crate) fn spoken_digits(w: String) -> String {
    const DIGITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let letters = w.chars().filter(char::is_ascii_alphabetic).count();
    let digits = w.chars().filter(char::is_ascii_digit).count();
    if letters < 3 || digits != 1 || w.contains('-') {
        return w;
    }
    w.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => DIGITS[d as usize].to_string(),
            None => c.to_string(),
        })
        .collect()
}

/// Below this probability a word beside two words of a known three-word term is
/// open to change ("bucket handle tier": tear).
const HALF_SURE: f32 = 0.7;

/// Drops an "and" the recogniser doubted between the two words of a known pair
/// ("cesarean and delivery"): a pair's words are not coordinated, and a short
/// doubted word there is a mishearing of a pause or a breath.
pub(crate) fn drop_stray_and(
    lx: &Lexicon,
    toks: &mut Vec<Tok>,
    locked: &mut Vec<bool>,
    corrections: &mut Vec<Correction>,
) {
    let core = |t: &Tok| split_punct(&t.text).1.to_lowercase();
    let mut i = 1;
    while i + 1 < toks.len() {
        let bare = |k: usize| {
            let (lead, _, trail) = split_punct(&toks[k].text);
            lead.is_empty() && trail.is_empty()
        };
        let stray = core(&toks[i]) == "and"
            && toks[i].prob.is_some_and(|p| p < DOUBTED)
            && !locked[i - 1..=i + 1].iter().any(|l| *l)
            && bare(i)
            && bare(i - 1)
            && split_punct(&toks[i + 1].text).0.is_empty()
            && lx
                .phrase_pairs
                .contains(&format!("{} {}", core(&toks[i - 1]), core(&toks[i + 1])));
        if !stray {
            i += 1;
            continue;
        }
        let to = format!("{} {}", toks[i - 1].text, split_punct(&toks[i + 1].text).1);
        let merged = merge(toks, i - 1, 3, &to);
        let from = toks[i - 1..=i + 1]
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let to = split_punct(&merged.text).1.to_string();
        corrections.push(Correction::of_merged(
            &merged,
            from,
            to,
            0.85,
            true,
            "stray \"and\" inside a known two-word term",
        ));
        toks.splice(i - 1..=i + 1, [merged]);
        locked.splice(i - 1..=i + 1, [true]);
    }
}

/// Letter similarity a doubted word needs to a two-word term it sounds exactly like.
const SOUND_JOIN_LETTERS: f64 = 0.7;

fn capitalised(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Fixes the sound-alike word of known two-word phrases; changed tokens are locked.
pub(crate) fn fix_pairs(
    lx: &Lexicon,
    ix: &PhoneticIndex,
    toks: &mut [Tok],
    locked: &mut [bool],
    corrections: &mut Vec<Correction>,
) {
    let core = |t: &Tok| split_punct(&t.text).1.to_lowercase();
    // Possessive eponyms ("Barit's esophagus") pair like any word: the lists keep them
    // with their "'s" ("barrett's esophagus").
    let plain = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '\'')
    };
    let distinctive = |w: &str| distinctive(lx, w);
    for i in 0..toks.len().saturating_sub(1) {
        if locked[i] || locked[i + 1] {
            continue;
        }
        let (_, _, trail) = split_punct(&toks[i].text);
        let (lead, _, _) = split_punct(&toks[i + 1].text);
        let (a, b) = (
            spoken_digits(core(&toks[i])),
            spoken_digits(core(&toks[i + 1])),
        );
        if !trail.is_empty() || !lead.is_empty() || !plain(&a) || !plain(&b) {
            continue;
        }
        // Beside a word the recogniser was sure of that makes a known pair with a
        // sound-alike of a word it doubted, an everyday anchor is evidence enough
        // ("breach presentation", "Coles fracture").
        let doubted = |k: usize| toks[k].prob.is_some_and(|p| p < DOUBTED);
        // Sure of a word: the recogniser was, or the word makes a known pair with
        // its neighbour on the other side ("bucket handle" before "tier").
        let paired_beyond = |k: usize, other: usize| {
            let beyond = if other > k {
                k.checked_sub(1)
            } else {
                Some(k + 1)
            };
            beyond.filter(|&j| j < toks.len()).is_some_and(|j| {
                let (x, y) = (core(&toks[j.min(k)]), core(&toks[j.max(k)]));
                lx.phrase_pairs.contains(&format!("{x} {y}"))
            })
        };
        let sure = |k: usize, other: usize| {
            toks[k].prob.is_some_and(|p| p >= DOUBTED) || paired_beyond(k, other)
        };
        // Two words of a three-word term heard right make the third a likely
        // mishearing even when the recogniser was only half sure of it.
        let doubted_beside = |k: usize, anchor: usize| {
            doubted(k) || (paired_beyond(anchor, k) && toks[k].prob.is_some_and(|p| p < HALF_SURE))
        };
        // The word to keep: distinctive, or any word of a known pair when the
        // recogniser was sure of it and doubted its neighbour.
        let anchors_first = distinctive(&b) || (sure(i + 1, i) && doubted_beside(i, i + 1));
        let anchors_second = distinctive(&a) || (sure(i, i + 1) && doubted_beside(i + 1, i));
        if !(anchors_first || anchors_second) || lx.phrase_pairs.contains(&format!("{a} {b}")) {
            continue;
        }
        // Which word to change: beside a distinctive anchor, one that is no medical
        // word itself, or an everyday one the lists happen to contain ("plural"), or
        // a name found only in the drug lists ("vena kava": kava is a herbal drug).
        let changeable = |w: &str| {
            !lx.medical_words.contains(w)
                || lx.english.get(w).copied().unwrap_or(0) >= DISTINCTIVE
                || drug_only(lx, w)
        };
        let mut found = None;
        if anchors_first && changeable(&a) {
            if let Some(ps) = lx.phrase_firsts.get(&b) {
                found = best_partner(ix, &a, ps).map(|(p, s)| (i, p, s));
            }
        }
        if found.is_none() && anchors_second && changeable(&b) {
            if let Some(ps) = lx.phrase_seconds.get(&a) {
                found = best_partner(ix, &b, ps).map(|(p, s)| (i + 1, p, s));
            }
        }
        let Some((k, to, score)) = found else {
            continue;
        };
        // A drug name is only ever changed into a word that is no drug.
        if drug_only(lx, &core(&toks[k]))
            && lx
                .by_key
                .get(&key_of(to))
                .is_some_and(|&id| lx.terms[id as usize].is_drug)
        {
            continue;
        }
        // Pairs are kept lowercase; a listed term has its own spelling ("Colles"), and
        // a possessive in a term is a person's name ("Barrett's").
        let to = lx
            .by_key
            .get(&key_of(to))
            .map(|&id| lx.terms[id as usize].display.as_str())
            .filter(|d| d.to_lowercase() == to)
            .unwrap_or(to);
        let to = if to.ends_with("'s") {
            capitalised(to)
        } else {
            to.to_string()
        };
        let to = to.as_str();
        let merged = merge(toks, k, 1, to);
        let applied = score >= APPLY;
        corrections.push(Correction::of_merged(
            &merged,
            toks[k].text.clone(),
            to.to_string(),
            score,
            applied,
            "sound-alike word in a known two-word term",
        ));
        if applied {
            toks[k] = merged;
            locked[k] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sound_alikes_not_other_forms() {
        let ix = PhoneticIndex::new();
        let m = |w: &str, t: &str| sound_match(&ix, w, &ix.codes(w), t);
        assert!(m("plural", "pleural").is_some());
        assert!(m("kava", "cava").is_some());
        // Another form of the same word, the word itself, unlike sounds.
        assert!(m("intolerant", "intolerance").is_none());
        assert!(m("pleural", "pleural").is_none());
        assert!(m("plural", "pulmonary").is_none());
        // One vowel heard wrong inside the word is a mishearing, not another form.
        assert!(m("reflex", "reflux").is_some());
        // Short words sharing only a few first letters are sound-alikes too.
        assert!(m("gate", "gait").is_some());
        assert!(m("coles", "colles").is_some());
        assert!(m("raised", "raise").is_none());
        assert!(vowel_swap("reflex", "reflux"));
        // A digit written for a sound is read as its word.
        assert_eq!(spoken_digits("6enate".into()), "sixenate");
        assert!(m("sixenate", "succinate").is_some());
        assert_eq!(spoken_digits("5mg".into()), "5mg");
        assert_eq!(spoken_digits("31-year-old".into()), "31-year-old");
        assert!(!vowel_swap("ileus", "ileum"));
        assert!(!vowel_swap("fibrosa", "fibrose"));
    }

    #[test]
    fn pairs_come_from_icd_and_drug_names() {
        let lx = Lexicon::base();
        assert!(lx.phrase_pairs.contains("pleural effusion"));
        assert!(lx.phrase_pairs.contains("insulin glargine"));
        assert!(lx.phrase_firsts["effusion"].iter().any(|w| w == "pleural"));
        assert!(drug_only(&lx, "kava"));
        assert!(!drug_only(&lx, "cava"));
        // Hyphenated pairs are known closed up as well, and by the piece next to
        // the other word.
        assert!(lx.phrase_pairs.contains("gastroesophageal reflux"));
        assert!(lx.phrase_pairs.contains("handle tear"));
        // Clinical phrases give pairs of neighbouring words, never with grammar words.
        assert!(lx.phrase_pairs.contains("antalgic gait"));
        assert!(lx.phrase_pairs.contains("leg raise"));
        assert!(!lx.phrase_pairs.contains("of motion"));
        assert!(lx.by_key.contains_key("subchondral"));
    }
}
