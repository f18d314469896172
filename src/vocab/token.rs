//! Working tokens: a word's text with its time span, the recogniser's probability
//! when known, and which input words it came from.

/// A word during the pass.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tok {
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// None when the text did not come from the recogniser.
    pub prob: Option<f32>,
    /// Input words `src.0..src.1` this token stands for.
    pub src: (usize, usize),
    /// A piece of a hyphenated word the pass split ("Vena-Kava"), unchanged so far.
    pub part: bool,
    /// Written with a hyphen before the next piece when both stay unchanged.
    pub hyphen_next: bool,
}

/// Splits hyphenated words into their pieces, so that a term the recogniser
/// hyphenated ("Vena-Kava", "sub-condral") is seen word by word like any other.
/// Words for which `keep` is true (known terms such as "Toprol-XL") stay whole.
/// Pieces nobody changes are joined again by [`join_hyphens`].
pub(crate) fn split_hyphens(toks: Vec<Tok>, keep: impl Fn(&str) -> bool) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    for t in toks {
        let (lead, core, trail) = split_punct(&t.text);
        let pieces: Vec<&str> = core.split('-').collect();
        if pieces.len() < 2 || pieces.iter().any(|p| p.is_empty()) || keep(core) {
            out.push(t);
            continue;
        }
        let last = pieces.len() - 1;
        for (k, p) in pieces.iter().enumerate() {
            let text = match (k == 0, k == last) {
                (true, _) => format!("{lead}{p}"),
                (_, true) => format!("{p}{trail}"),
                _ => p.to_string(),
            };
            out.push(Tok {
                text,
                part: true,
                hyphen_next: k < last,
                ..t.clone()
            });
        }
    }
    out
}

/// Whether `b` follows `a` inside a hyphenated word that the pass left unchanged.
pub(crate) fn join_hyphens(a: &Tok, b: &Tok) -> bool {
    a.part && a.hyphen_next && b.part && a.src == b.src
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
    fn splits_hyphenated_words_into_pieces() {
        let t = |s: &str| Tok {
            text: s.into(),
            src: (3, 4),
            ..Default::default()
        };
        let out = split_hyphens(vec![t("(Vena-Kava),"), t("Toprol-XL"), t("x-")], |w| {
            w == "Toprol-XL"
        });
        let texts: Vec<&str> = out.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, vec!["(Vena", "Kava),", "Toprol-XL", "x-"]);
        assert!(join_hyphens(&out[0], &out[1]));
        assert!(!join_hyphens(&out[1], &out[2]));
        assert_eq!(out[1].src, (3, 4));
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
