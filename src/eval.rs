//! Word error rate and medical-term recall against reference transcripts.
//!
//! References spell numbers as spoken ("one hundred thirty two over seventy
//! eight") and carry out dictation commands; Whisper writes "132/78" and may type
//! "period". Both sides go through the same [`normalize`] so that only real
//! recognition errors count.

/// Lower-cased word tokens with numbers as digits, units spelled out, letter
/// spellings joined ("E K G" -> "ekg"), punctuation and spoken punctuation
/// commands removed.
pub fn normalize(text: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(text.len() + 16);
    let mut prev = ' ';
    for c in text.chars() {
        let c = c.to_lowercase().next().unwrap_or(c);
        match c {
            '%' => spaced.push_str(" percent "),
            '/' => spaced.push_str(" over "),
            '&' => spaced.push_str(" and "),
            // Keep decimal points and digit groups: "2.5", "1,000".
            '.' | ',' if prev.is_ascii_digit() => spaced.push(c),
            '\'' | '\u{2019}' => {}
            c if c.is_alphanumeric() => {
                if (c.is_ascii_digit() && prev.is_alphabetic())
                    || (c.is_alphabetic() && prev.is_ascii_digit())
                {
                    spaced.push(' '); // "25mg" -> "25 mg"
                }
                spaced.push(c);
            }
            _ => spaced.push(' '),
        }
        prev = c;
    }
    let raw: Vec<String> = spaced
        .split_whitespace()
        .map(|t| {
            let t = t.trim_end_matches(['.', ',']).replace(',', "");
            expand_unit(&t).unwrap_or(&t).to_string()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let raw = drop_spoken_punctuation(raw);
    let numbered = words_to_numbers(&raw);
    join_spelled_letters(join_digit_runs(numbered))
}

fn expand_unit(t: &str) -> Option<&'static str> {
    Some(match t {
        "mg" | "milligram" => "milligrams",
        "mcg" | "microgram" => "micrograms",
        "gm" | "gram" => "grams",
        "kg" | "kilogram" => "kilograms",
        "ml" | "milliliter" | "millilitre" | "millilitres" => "milliliters",
        "dl" | "deciliter" => "deciliters",
        "liter" => "liters",
        "mmhg" => "millimeters of mercury",
        "cm" | "centimeter" => "centimeters",
        "mm" | "millimeter" => "millimeters",
        "bpm" => "beats per minute",
        "dr" => "doctor",
        "mr" => "mister",
        "mrs" => "missus",
        "okay" => "ok",
        _ => return None,
    })
}

const SPOKEN_PUNCT: &[&[&str]] = &[
    &["new", "paragraph"],
    &["next", "paragraph"],
    &["new", "line"],
    &["next", "line"],
    &["full", "stop"],
    &["question", "mark"],
    &["exclamation", "mark"],
    &["period"],
    &["comma"],
    &["colon"],
    &["semicolon"],
];

/// Removes dictation commands from both sides: the reference has them carried
/// out as punctuation, which normalisation drops too.
fn drop_spoken_punctuation(tokens: Vec<String>) -> Vec<String> {
    let tokens: Vec<String> = tokens
        .into_iter()
        .flat_map(|t| t.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    'outer: while i < tokens.len() {
        for cmd in SPOKEN_PUNCT {
            if tokens.len() - i >= cmd.len() && cmd.iter().zip(&tokens[i..]).all(|(a, b)| a == b) {
                i += cmd.len();
                continue 'outer;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

const UNIT_WORDS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

fn small_number(w: &str) -> Option<u64> {
    const UNITS: [&str; 20] = UNIT_WORDS;
    const ORDINALS: [&str; 20] = [
        "zeroth",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
    ];
    if let Some(n) = UNITS.iter().position(|u| *u == w) {
        return Some(n as u64);
    }
    if w == "oh" {
        return None;
    }
    // "second" is usually time, not an ordinal: leave it a word.
    if w != "second" {
        if let Some(n) = ORDINALS.iter().position(|u| *u == w) {
            return Some(n as u64);
        }
    }
    None
}

fn tens(w: &str) -> Option<u64> {
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    const TENTHS: [&str; 8] = [
        "twentieth",
        "thirtieth",
        "fortieth",
        "fiftieth",
        "sixtieth",
        "seventieth",
        "eightieth",
        "ninetieth",
    ];
    TENS.iter()
        .position(|t| *t == w)
        .or_else(|| TENTHS.iter().position(|t| *t == w))
        .map(|i| (i as u64 + 2) * 10)
}

/// "3rd" -> "3"; "1,000" was already stripped of its comma.
fn digits_of(w: &str) -> Option<String> {
    let core = w
        .strip_suffix("st")
        .or_else(|| w.strip_suffix("nd"))
        .or_else(|| w.strip_suffix("rd"))
        .or_else(|| w.strip_suffix("th"))
        .unwrap_or(w);
    (!core.is_empty()
        && core.chars().all(|c| c.is_ascii_digit() || c == '.')
        && core.chars().next().is_some_and(|c| c.is_ascii_digit()))
    .then(|| core.trim_end_matches('.').to_string())
}

/// Spoken numbers to digits: "one hundred thirty two" -> "132",
/// "zero point five" -> "0.5", "four four seven" -> "4" "4" "7".
fn words_to_numbers(tokens: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let Some((value, used)) = parse_number(&tokens[i..]) else {
            let suffix = tokens.get(i + 1).map(String::as_str);
            let is_digits = tokens[i].chars().all(|c| c.is_ascii_digit());
            if is_digits && matches!(suffix, Some("st" | "nd" | "rd" | "th")) {
                out.push(format!("{}th", tokens[i]));
                i += 2;
                continue;
            }
            out.push(digits_of(&tokens[i]).unwrap_or_else(|| tokens[i].clone()));
            i += 1;
            continue;
        };
        i += used;
        // Decimal: "<number> point <digit words>".
        if tokens.get(i).map(String::as_str) == Some("point") {
            let mut frac = String::new();
            let mut j = i + 1;
            while let Some(d) = tokens
                .get(j)
                .and_then(|w| small_number(w).filter(|d| *d < 10))
            {
                frac.push(char::from(b'0' + d as u8));
                j += 1;
            }
            if !frac.is_empty() {
                out.push(format!("{value}.{frac}"));
                i = j;
                continue;
            }
        }
        let ordinal = tokens[..i].last().is_some_and(|w| is_ordinal_word(w));
        out.push(if ordinal {
            format!("{value}th")
        } else {
            value.to_string()
        });
    }
    out
}

fn is_ordinal_word(w: &str) -> bool {
    (small_number(w).is_some() && !UNIT_WORDS.contains(&w)) || w.ends_with("ieth")
}

/// Parses one spoken number at the start of `tokens`: returns its value and the
/// number of tokens used. A new number starts where the grammar would not allow
/// the next word ("four four" is two numbers, "forty four" one).
fn parse_number(tokens: &[String]) -> Option<(u64, usize)> {
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut used = 0;
    // What the last word was: 0 nothing, 1 unit/teen, 2 tens, 3 hundred, 4 thousand+.
    let mut last = 0u8;
    for w in tokens {
        let w = w.as_str();
        if let Some(n) = small_number(w) {
            if last == 1 || (last == 2 && n >= 10) || (last == 2 && current % 10 != 0) {
                break;
            }
            if last == 2 && n == 0 {
                break;
            }
            current += n;
            last = 1;
        } else if let Some(n) = tens(w) {
            if last == 1 || last == 2 {
                break;
            }
            current += n;
            last = 2;
        } else if w == "hundred" && (last == 1 || last == 2) && current < 100 {
            current *= 100;
            last = 3;
        } else if (w == "thousand" || w == "million") && last != 0 && last != 4 {
            let scale = if w == "thousand" { 1_000 } else { 1_000_000 };
            total += current * scale;
            current = 0;
            last = 4;
        } else if w == "and" && (last == 3 || last == 4) {
            // "one hundred and five": only when a number follows.
            match tokens.get(used + 1) {
                Some(next) if small_number(next).is_some() || tens(next).is_some() => {}
                _ => break,
            }
        } else {
            break;
        }
        used += 1;
    }
    (used > 0).then_some((total + current, used))
}

/// Joins runs of bare integers: spoken "four four seven one two nine" and
/// written "447129" (or "19 56" and "1956") compare equal.
fn join_digit_runs(tokens: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut prev_int = false;
    for t in tokens {
        let is_int = !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
        if is_int && prev_int {
            if let Some(last) = out.last_mut() {
                last.push_str(&t);
                continue;
            }
        }
        prev_int = is_int;
        out.push(t);
    }
    out
}

/// Joins runs of single letters: "E K G" and "EKG" compare equal.
fn join_spelled_letters(tokens: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut run = false;
    for t in tokens {
        let single = t.chars().count() == 1 && t.chars().all(char::is_alphabetic) && t != "a";
        if single && run {
            if let Some(last) = out.last_mut() {
                last.push_str(&t);
                continue;
            }
        }
        run = single;
        out.push(t);
    }
    out
}

/// Word-level edit distance (substitutions + insertions + deletions).
pub fn edit_distance(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    let mut cur = vec![0; hypothesis.len() + 1];
    for (i, r) in reference.iter().enumerate() {
        cur[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[hypothesis.len()]
}

/// Scores of one hypothesis against its reference.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Word edits needed to turn the hypothesis into the reference.
    pub errors: usize,
    /// Words in the normalised reference.
    pub ref_words: usize,
    /// Medical-term occurrences in the reference, and how many the hypothesis has.
    pub terms: usize,
    pub terms_found: usize,
}

impl Score {
    pub fn wer(&self) -> f64 {
        self.errors as f64 / self.ref_words.max(1) as f64
    }

    pub fn term_recall(&self) -> f64 {
        if self.terms == 0 {
            1.0
        } else {
            self.terms_found as f64 / self.terms as f64
        }
    }

    pub fn add(&mut self, other: Score) {
        self.errors += other.errors;
        self.ref_words += other.ref_words;
        self.terms += other.terms;
        self.terms_found += other.terms_found;
    }
}

/// Scores `hypothesis` against `reference`; `terms` are the medical terms whose
/// occurrences count for recall.
pub fn score(reference: &str, hypothesis: &str, terms: &[String]) -> Score {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    let mut s = Score {
        errors: edit_distance(&r, &h),
        ref_words: r.len(),
        ..Score::default()
    };
    let forms = TermForms::new(reference, hypothesis);
    for term in terms {
        let (in_ref, in_hyp) = forms.count(term);
        s.terms += in_ref;
        s.terms_found += in_hyp.min(in_ref);
    }
    s
}

/// Joins words written with a hyphen ("pre-eclampsia" -> "preeclampsia").
fn close_hyphens(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|&(i, &c)| {
            !(c == '-'
                && i > 0
                && chars[i - 1].is_alphabetic()
                && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()))
        })
        .map(|(_, c)| *c)
        .collect()
}

/// Drops the possessive of eponyms ("Baker's cyst" -> "Baker cyst"): both
/// forms name the same thing, and style guides differ on which to write.
fn drop_possessives(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let apostrophe = matches!(chars[i], '\'' | '\u{2019}');
        let possessive = apostrophe
            && i > 0
            && chars[i - 1].is_alphabetic()
            && matches!(chars.get(i + 1), Some('s' | 'S'))
            && !chars.get(i + 2).is_some_and(|c| c.is_alphanumeric());
        if possessive {
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Reference and hypothesis normalised three ways: as they are, with hyphenated
/// words closed up, and without possessives. A term counts as present in any
/// reading, because "intra-articular" and "intraarticular", "pre-eclampsia" and
/// "preeclampsia", "Baker's cyst" and "Baker cyst" are one term written two
/// accepted ways; an open spelling ("extra luminal" for "extraluminal") still
/// counts as a miss.
struct TermForms {
    /// (reference, hypothesis) per way of writing.
    forms: [(Vec<String>, Vec<String>); 3],
}

impl TermForms {
    fn ways(text: &str) -> [Vec<String>; 3] {
        [
            normalize(text),
            normalize(&close_hyphens(text)),
            normalize(&drop_possessives(text)),
        ]
    }

    fn new(reference: &str, hypothesis: &str) -> Self {
        let [r0, r1, r2] = Self::ways(reference);
        let [h0, h1, h2] = Self::ways(hypothesis);
        TermForms {
            forms: [(r0, h0), (r1, h1), (r2, h2)],
        }
    }

    /// Occurrences of `term` in the reference and in the hypothesis.
    fn count(&self, term: &str) -> (usize, usize) {
        let ts = Self::ways(term);
        if ts[0].is_empty() {
            return (0, 0);
        }
        let mut counts = (0, 0);
        for ((r, h), t) in self.forms.iter().zip(&ts) {
            counts.0 = counts.0.max(count_runs(r, t));
            counts.1 = counts.1.max(count_runs(h, t));
        }
        counts
    }
}

/// The terms with fewer occurrences in the hypothesis than in the reference, with
/// how many occurrences are missing.
pub fn missed_terms(reference: &str, hypothesis: &str, terms: &[String]) -> Vec<(String, usize)> {
    let forms = TermForms::new(reference, hypothesis);
    terms
        .iter()
        .filter_map(|term| {
            let (in_ref, in_hyp) = forms.count(term);
            let missing = in_ref.saturating_sub(in_hyp);
            (missing > 0).then(|| (term.clone(), missing))
        })
        .collect()
}

fn count_runs(haystack: &[String], needle: &[String]) -> usize {
    if needle.is_empty() || haystack.len() < needle.len() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).join(" ")
    }

    #[test]
    fn spoken_and_written_numbers_agree() {
        assert_eq!(
            n("Blood pressure one hundred thirty two over seventy eight"),
            n("Blood pressure 132/78")
        );
        assert_eq!(n("fifty five percent"), n("55%"));
        assert_eq!(n("zero point five milligrams"), n("0.5 mg"));
        assert_eq!(
            n("record number four four seven one two nine"),
            n("record number 447129")
        );
        assert_eq!(n("March third nineteen fifty six"), n("March 3rd, 1956"));
        assert_eq!(n("forty four"), "44");
        assert_eq!(n("four four"), "44");
        assert_eq!(n("two thousand and five"), "2005");
        assert_eq!(n("one hundred and five"), "105");
    }

    #[test]
    fn letters_units_and_commands() {
        assert_eq!(n("E K G today"), n("EKG today."));
        assert_eq!(n("E.K.G. today"), "ekg today");
        assert_eq!(n("metoprolol 25mg"), n("metoprolol twenty five milligrams"));
        assert_eq!(
            n("chest pain period new paragraph plan"),
            n("Chest pain.\n\nPlan")
        );
        assert_eq!(n("Dr. Alvarez"), n("Doctor Alvarez"));
        assert_eq!(n("a b"), "a b");
    }

    #[test]
    fn wer_counts_edits() {
        let s = score("the cat sat", "the bat sat down", &[]);
        assert_eq!(s.errors, 2);
        assert_eq!(s.ref_words, 3);
        assert!((s.wer() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(score("", "", &[]).wer(), 0.0);
    }

    #[test]
    fn term_recall_counts_occurrences() {
        let terms = vec!["lisinopril".to_string(), "atrial fibrillation".to_string()];
        let s = score(
            "lisinopril daily; atrial fibrillation; lisinopril again",
            "listen up or daily, atrial fibrillation, lisinopril again",
            &terms,
        );
        assert_eq!(s.terms, 3);
        assert_eq!(s.terms_found, 2);
        let missed = missed_terms(
            "lisinopril daily, atrial fibrillation, lisinopril",
            "listen up or daily, atrial fibrillation, lisinopril",
            &terms,
        );
        assert_eq!(missed, vec![("lisinopril".to_string(), 1)]);
    }

    #[test]
    fn hyphenated_and_closed_spellings_are_one_term() {
        let terms = vec!["preeclampsia".to_string(), "intra-articular".to_string()];
        let s = score(
            "preeclampsia; an intra-articular injection",
            "pre-eclampsia; an intraarticular injection",
            &terms,
        );
        assert_eq!((s.terms, s.terms_found), (2, 2));
        // An open spelling is still a split word, not the term.
        let s = score(
            "preeclampsia; an intra-articular injection",
            "pre eclampsia; an intra articular injection",
            &terms,
        );
        assert_eq!((s.terms, s.terms_found), (2, 1));
    }

    #[test]
    fn an_eponym_counts_with_or_without_its_possessive() {
        let terms = vec!["Baker cyst".to_string(), "lactated Ringer's".to_string()];
        let s = score(
            "a Baker cyst; lactated Ringer's",
            "a Baker's cyst; lactated ringers",
            &terms,
        );
        assert_eq!((s.terms, s.terms_found), (2, 2));
        // A plural is not a possessive.
        let s = score("a Baker cyst", "a bakers cyst", &terms);
        assert_eq!((s.terms, s.terms_found), (1, 0));
        assert_eq!(
            drop_possessives("Ringer's, Crohn’s and it's"),
            "Ringer, Crohn and it"
        );
    }
}
