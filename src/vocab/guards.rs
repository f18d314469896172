//! Changes that would reverse a clinical meaning are never applied on spelling
//! evidence alone: the reviewer decides.

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
    fn opposite_prefixes() {
        assert!(opposite_prefix("hypolipidemia", "hyperlipidemia"));
        assert!(opposite_prefix("hyperkalemia", "hypokalemia"));
        assert!(opposite_prefix("bradycardic", "tachycardia"));
        assert!(!opposite_prefix("hyperlypidemia", "hyperlipidemia"));
        assert!(!opposite_prefix("cyprilipidemia", "hyperlipidemia"));
    }
}
