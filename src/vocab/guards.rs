//! Changes that would reverse a clinical meaning are never applied on spelling
//! evidence alone: the reviewer decides. Names after a title are never changed.

use super::token::{split_punct, Tok};

/// Written titles: the one or two words after one are a person's name
/// ("dr. sarah noris" is not a nostril).
const TITLES: &[&str] = &["dr", "mr", "mrs", "ms", "prof"];

/// Marks the names after written titles in `locked`.
pub(crate) fn lock_names(toks: &[Tok], locked: &mut [bool]) {
    for i in 0..toks.len() {
        let (_, core, trail) = split_punct(&toks[i].text);
        if !TITLES.contains(&core.to_lowercase().as_str()) || !matches!(trail, "" | ".") {
            continue;
        }
        for k in i + 1..(i + 3).min(toks.len()) {
            let (lead, _, trail) = split_punct(&toks[k].text);
            if !lead.is_empty() || toks[k].text.starts_with('\n') {
                break;
            }
            locked[k] = true;
            if !trail.is_empty() {
                break;
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
        let toks: Vec<Tok> = "letter to dr. sarah noris. Naris patent"
            .split(' ')
            .map(|w| Tok {
                text: w.into(),
                ..Default::default()
            })
            .collect();
        let mut locked = vec![false; toks.len()];
        lock_names(&toks, &mut locked);
        assert_eq!(locked, [false, false, false, true, true, false, false]);
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
