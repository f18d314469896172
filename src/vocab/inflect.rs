//! Keeps a corrected noun plural when the recogniser wrote it plural: "scottomata"
//! is scotomata, not scotoma. The lists hold singular forms.

use strsim::damerau_levenshtein;

/// Plural forms of a singular medical noun (lowercase key), with the ending the
/// recognised word must carry for the plural to be chosen.
fn plurals(t: &str) -> Vec<(String, &'static str)> {
    let stem = |n: usize| &t[..t.len() - n];
    let mut v = Vec::new();
    if t.ends_with("oma") {
        v.push((format!("{t}ta"), "ata"));
    } else if t.ends_with("us") {
        v.push((format!("{}i", stem(2)), "i"));
    } else if t.ends_with("um") {
        v.push((format!("{}a", stem(2)), "a"));
    }
    if !t.ends_with('s') {
        v.push((format!("{t}s"), "s"));
    }
    v
}

/// The plural of the singular `key` that `word` ends like and is closer to, if any.
pub(crate) fn closer_plural(word: &str, key: &str) -> Option<String> {
    // Cheap test first: this runs for every candidate of a word.
    let may = (word.ends_with("ata") && key.ends_with("oma"))
        || (word.ends_with('i') && key.ends_with("us"))
        || (word.ends_with('a') && key.ends_with("um"))
        || (word.ends_with('s') && !key.ends_with('s'));
    if !may {
        return None;
    }
    let singular = damerau_levenshtein(word, key);
    plurals(key)
        .into_iter()
        .filter(|(p, end)| word.ends_with(end) && damerau_levenshtein(word, p) < singular)
        .min_by_key(|(p, _)| damerau_levenshtein(word, p))
        .map(|(p, _)| p)
}

/// The plural of `display` when `word` (lowercase letters) is closer to it than to
/// the singular `key` and ends like it.
pub(crate) fn keep_plural(word: &str, key: &str, display: &str) -> Option<String> {
    // Display and key letter for letter, so capitals can be kept from the display.
    if !display.is_ascii() || display.len() != key.len() {
        return None;
    }
    let p = closer_plural(word, key)?;
    let common = p
        .bytes()
        .zip(key.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    Some(format!("{}{}", &display[..common], &p[common..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_plurals() {
        assert_eq!(
            keep_plural("scottomata", "scotoma", "scotoma").as_deref(),
            Some("scotomata")
        );
        assert_eq!(
            keep_plural("polipps", "polyp", "polyp").as_deref(),
            Some("polyps")
        );
        // Singular words stay singular. "-sis" is heard and written like "-ses"
        // ("bronchyctosses"), so "-is" words are never made "-es".
        assert_eq!(keep_plural("bronchite", "bronchitis", "bronchitis"), None);
        assert_eq!(
            keep_plural("bronchyctosses", "bronchiectasis", "bronchiectasis"),
            None
        );
        assert_eq!(keep_plural("scottoma", "scotoma", "scotoma"), None);
        assert_eq!(keep_plural("quadricep", "quadriceps", "quadriceps"), None);
    }

    #[test]
    fn a_plural_word_is_compared_with_the_plural() {
        assert_eq!(
            closer_plural("scottomata", "scotoma").as_deref(),
            Some("scotomata")
        );
        assert_eq!(closer_plural("scottoma", "scotoma"), None);
        assert_eq!(
            closer_plural("fibromas", "fibroma").as_deref(),
            Some("fibromas")
        );
        assert_eq!(closer_plural("bronchitis", "bronchitis"), None);
    }
}
