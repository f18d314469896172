//! Working tokens: a word's text with its time span, the recogniser's probability
//! when known, and which input words it came from.

/// A word during the pass.
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// None when the text did not come from the recogniser.
    pub prob: Option<f32>,
    /// Input words `src.0..src.1` this token stands for.
    pub src: (usize, usize),
}

/// Splits a word into leading punctuation, the word itself and trailing punctuation.
/// Apostrophes and hyphens inside the word stay in it ("patient's", "Toprol-XL").
pub(crate) fn split_punct(s: &str) -> (&str, &str, &str) {
    let start = s
        .char_indices()
        .find(|(_, c)| c.is_alphanumeric())
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let end = s
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_alphanumeric())
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(start)
        .max(start);
    (&s[..start], &s[start..end], &s[end..])
}

/// Splits plain text into words; runs of line breaks become their own words
/// ("\n" or "\n\n") so layout survives the pass.
pub(crate) fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut newlines = 0usize;
    for c in text.chars() {
        if c.is_whitespace() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if c == '\n' {
                newlines += 1;
            }
        } else {
            if newlines > 0 && !out.is_empty() {
                out.push(if newlines > 1 { "\n\n" } else { "\n" }.to_string());
            }
            newlines = 0;
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_punctuation() {
        assert_eq!(split_punct("daily."), ("", "daily", "."));
        assert_eq!(split_punct("(Toprol-XL),"), ("(", "Toprol-XL", "),"));
        assert_eq!(split_punct("..."), ("...", "", ""));
        assert_eq!(split_punct(""), ("", "", ""));
        assert_eq!(split_punct("é!"), ("", "é", "!"));
    }

    #[test]
    fn keeps_line_breaks() {
        assert_eq!(
            tokenize("a b.\n\nC\nd "),
            vec!["a", "b.", "\n\n", "C", "\n", "d"]
        );
        assert!(tokenize("  ").is_empty());
    }
}
