//! Whether a longer window may take over a shorter window's term: "co la cyst
//! ectomy" is cholecystectomy (the extra words "co la" sound like "chole"), but
//! "hip arthroplesty" is not hemiarthroplasty and "a colceostectomy" is not
//! autocholecystectomy: there the extra words do not sound like the extra letters.

use super::lexicon::key_of;
use super::phonetic::PhoneticIndex;
use super::token::{split_punct, Tok};

/// Letter similarity at which extra words explain the extra part of a term.
const PART_SIMILARITY: f32 = 0.6;

/// Whether `extra` (letters of the absorbed words) sounds like `part` (the letters
/// of the longer term they would become).
fn part_fits(ix: &PhoneticIndex, extra: &str, part: &str) -> bool {
    match (extra.is_empty(), part.is_empty()) {
        (true, true) => true,
        (true, false) | (false, true) => false,
        (false, false) => {
            let (a, b) = (ix.codes(extra), ix.codes(part));
            a.iter().any(|c| b.contains(c))
                || strsim::normalized_damerau_levenshtein(extra, part) as f32 >= PART_SIMILARITY
        }
    }
}

/// Whether the words of `toks[outer]` around `toks[inner]` sound like the letters
/// of `outer_key` around `inner_key` (which it must contain).
pub(crate) fn extra_words_fit(
    ix: &PhoneticIndex,
    toks: &[Tok],
    outer: (usize, usize),
    inner: (usize, usize),
    outer_key: &str,
    inner_key: &str,
) -> bool {
    let Some(at) = outer_key.find(inner_key) else {
        return false;
    };
    let letters = |r: std::ops::Range<usize>| {
        key_of(
            &toks[r]
                .iter()
                .map(|t| split_punct(&t.text).1)
                .collect::<String>(),
        )
    };
    let before = letters(outer.0..inner.0);
    let after = letters(inner.1..outer.1);
    part_fits(ix, &before, &outer_key[..at])
        && part_fits(ix, &after, &outer_key[at + inner_key.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        text.split(' ')
            .enumerate()
            .map(|(i, w)| Tok {
                text: w.to_string(),
                start: 0.0,
                end: 0.0,
                prob: None,
                src: (i, i + 1),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn absorbed_words_must_sound_like_the_extra_letters() {
        let ix = PhoneticIndex::new();
        let t = toks("co la cyst ectomy");
        assert!(extra_words_fit(
            &ix,
            &t,
            (0, 4),
            (2, 4),
            "cholecystectomy",
            "cystectomy"
        ));
        let t = toks("hip arthroplesty");
        assert!(!extra_words_fit(
            &ix,
            &t,
            (0, 2),
            (1, 2),
            "hemiarthroplasty",
            "arthroplasty"
        ));
        let t = toks("a colceostectomy");
        assert!(!extra_words_fit(
            &ix,
            &t,
            (0, 2),
            (1, 2),
            "autocholecystectomy",
            "cholecystectomy"
        ));
    }
}
