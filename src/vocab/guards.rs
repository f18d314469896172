//! Changes that would reverse a clinical meaning are never applied on spelling
//! evidence alone: the reviewer decides. Names after a title, or after "patient"
//! in a header, are never changed.

use super::token::{split_punct, Tok};

/// Written titles: the one or two words after one are a person's name
/// ("dr. sarah noris" is not a nostril).
const TITLES: &[&str] = &["dr", "mr", "mrs", "ms", "prof"];

/// Words a name follows in a dictation's header ("dictating on patient Lucas
/// Brandt, medical record number"): the one or two words after one are a name
/// when one of them is capitalised or a comma ends them ("patient lukeus
/// brand," is no lupus; "the patient reports pain" is no name).
const NAME_CUES: &[&str] = &["patient", "doctor"];

/// Marks the names after written titles, and after a name cue, in `locked`.
pub(crate) fn lock_names(toks: &[Tok], locked: &mut [bool]) {
    for i in 0..toks.len() {
        let (_, core, trail) = split_punct(&toks[i].text);
        let core = core.to_lowercase();
        let title = TITLES.contains(&core.as_str()) && matches!(trail, "" | ".");
        let cue = NAME_CUES.contains(&core.as_str()) && trail.is_empty();
        if !title && !cue {
            continue;
        }
        // The one or two words after it, up to punctuation.
        let mut name = Vec::with_capacity(2);
        for (k, t) in toks.iter().enumerate().skip(i + 1).take(2) {
            let (lead, _, trail) = split_punct(&t.text);
            if !lead.is_empty() || t.text.starts_with('\n') {
                break;
            }
            name.push(k);
            if !trail.is_empty() {
                break;
            }
        }
        let capitalised = name
            .iter()
            .any(|&k| split_punct(&toks[k].text).1.starts_with(char::is_uppercase));
        let comma = name
            .last()
            .is_some_and(|&k| split_punct(&toks[k].text).2.starts_with(','));
        if title || capitalised || comma {
            for k in name {
                locked[k] = true;
            }
        }
    }
}

/// Prefixes of opposite meaning: a word with one is not corrected into the other
/// ("hypolipidemia" is a real finding, not a misspelt hyperlipidemia).
const OPPOSITES: &[(&str, &str)] = &[
    ("hypo", "hyper"),
    ("hyper", "hypo"),
    ("brady", "tachy"),
    ("tachy", "brady"),
    ("micro", "macro"),
    ("macro", "micro"),
    ("inter", "intra"),
    ("intra", "inter"),
];

/// Whether `word` starts with one prefix of an opposite pair and `target` with the other.
pub(crate) fn opposite_prefix(word: &str, target: &str) -> bool {
    OPPOSITES
        .iter()
        .any(|(a, b)| word.starts_with(a) && target.starts_with(b) && !target.starts_with(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_after_titles_are_locked() {
        let lock = |text: &str| {
            let toks: Vec<Tok> = text
                .split(' ')
                .map(|w| Tok {
                    text: w.into(),
                    ..Default::default()
                })
                .collect();
            let mut locked = vec![false; toks.len()];
            lock_names(&toks, &mut locked);
            locked
        };
        assert_eq!(
            lock("letter to dr. sarah noris. Naris patent"),
            [false, false, false, true, true, false, false]
        );
        assert_eq!(
            lock("on patient lukeus Brandt, record"),
            [false, false, true, true, false]
        );
        assert_eq!(
            lock("on patient lukeus brand, record"),
            [false, false, true, true, false]
        );
        assert_eq!(
            lock("the patient reports pain"),
            [false, false, false, false]
        );
    }

    #[test]
    fn opposite_prefixes() {
        assert!(opposite_prefix("hypolipidemia", "hyperlipidemia"));
        assert!(opposite_prefix("hyperkalemia", "hypokalemia"));
        assert!(opposite_prefix("bradycardic", "tachycardia"));
        assert!(!opposite_prefix("hyperlypidemia", "hyperlipidemia"));
        assert!(!opposite_prefix("cyprilipidemia", "hyperlipidemia"));
    }
}
