//! Phonetic index: Double Metaphone codes of every target term, plus the codes
//! with one letter deleted, so a query finds terms whose code is within about two
//! edits of its own ("listen up or" LSTNPR vs lisinopril LSNPRL) without scanning.

use std::collections::HashMap;

use rphonetic::DoubleMetaphone;

/// Codes longer than the default 4 letters: drug names differ late in the word.
const MAX_CODE: usize = 16;

pub(crate) struct PhoneticIndex {
    dm: DoubleMetaphone,
    exact: HashMap<String, Vec<u32>>,
    deletes: HashMap<String, Vec<u32>>,
    /// Codes of each term id, so ranking does not encode terms again.
    term_codes: Vec<Vec<String>>,
}

impl std::fmt::Debug for PhoneticIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneticIndex")
            .field("codes", &self.exact.len())
            .finish()
    }
}

fn deletes_of(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    (0..chars.len())
        .map(|i| {
            chars
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| *c)
                .collect()
        })
        .collect()
}

fn push(map: &mut HashMap<String, Vec<u32>>, k: String, id: u32) {
    let v = map.entry(k).or_default();
    if v.last() != Some(&id) {
        v.push(id);
    }
}

impl PhoneticIndex {
    pub fn new() -> Self {
        PhoneticIndex {
            dm: DoubleMetaphone::new(Some(MAX_CODE)),
            exact: HashMap::new(),
            deletes: HashMap::new(),
            term_codes: Vec::new(),
        }
    }

    /// Primary and (if different) alternate code of a lowercase letters-only key.
    pub fn codes(&self, key: &str) -> Vec<String> {
        if key.is_empty() || !key.is_ascii() {
            return Vec::new();
        }
        let r = self.dm.double_metaphone(key);
        let (p, a) = (r.primary(), r.alternate());
        let mut v = Vec::with_capacity(2);
        if !p.is_empty() {
            v.push(p);
        }
        if !a.is_empty() && !v.contains(&a) {
            v.push(a);
        }
        v
    }

    pub fn insert(&mut self, key: &str, id: u32) {
        let codes = self.heard_codes(key);
        let slot = id as usize;
        if self.term_codes.len() <= slot {
            self.term_codes.resize(slot + 1, Vec::new());
        }
        self.term_codes[slot] = codes.clone();
        for code in codes {
            if code.len() < 3 {
                continue;
            }
            for d in deletes_of(&code) {
                push(&mut self.deletes, d, id);
            }
            push(&mut self.exact, code, id);
        }
    }

    /// Codes of a term as it is heard as well as spelt: Double Metaphone reads some
    /// medical spellings otherwise than clinicians say them, and the recogniser
    /// writes what it hears. Only terms get the extra codes: a query word spelt
    /// the usual way still matches their usual code.
    pub fn heard_codes(&self, key: &str) -> Vec<String> {
        let mut codes = self.codes(key);
        for c in self
            .heard_spelling(key)
            .map(|k| self.codes(&k))
            .unwrap_or_default()
        {
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
        codes
    }

    /// A term respelt as heard, where that differs:
    /// - an initial "ch" before a vowel is a "k" in medical Greek (cholecystitis,
    ///   chondroplasty, chemotherapy: "colithiasis"), not the "ch" of "chair";
    /// - "cc" before e, i or y is "ks" (succinate: "sixenate"), which Double
    ///   Metaphone codes as the "ch" of "cappuccino".
    fn heard_spelling(&self, key: &str) -> Option<String> {
        if !key.starts_with("ch") && !key.contains("cc") {
            return None;
        }
        let mut k = match key.strip_prefix("ch") {
            Some(rest) if rest.starts_with(['a', 'e', 'i', 'o', 'u', 'y']) => format!("k{rest}"),
            _ => key.to_string(),
        };
        for soft in ["cce", "cci", "ccy"] {
            k = k.replace(soft, &format!("ks{}", &soft[2..]));
        }
        (k != key).then_some(k)
    }

    /// Term ids whose code is within about two edits of one of `codes`.
    pub fn lookup(&self, codes: &[String], out: &mut Vec<u32>) {
        out.clear();
        for code in codes {
            if code.len() < 3 {
                continue;
            }
            let mut keys = deletes_of(code);
            keys.push(code.clone());
            for k in &keys {
                for map in [&self.exact, &self.deletes] {
                    if let Some(ids) = map.get(k) {
                        out.extend_from_slice(ids);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Whether a query code and a term code begin with the same sound: listeners
    /// and recognisers rarely get the onset of a word wrong.
    pub fn same_onset(&self, query: &[String], id: u32) -> bool {
        let Some(tc) = self.term_codes.get(id as usize) else {
            return false;
        };
        query
            .iter()
            .any(|q| tc.iter().any(|t| q.chars().next() == t.chars().next()))
    }

    /// Smallest edit distance between the query codes and a term's codes.
    pub fn code_distance(&self, query: &[String], id: u32) -> usize {
        let mut best = usize::MAX;
        let Some(tc) = self.term_codes.get(id as usize) else {
            return best;
        };
        for q in query {
            for t in tc {
                best = best.min(strsim::levenshtein(q, t));
            }
        }
        best
    }
}

/// The spelling of `term` to compare a heard `word` with letter by letter: a
/// medical Greek "ch" read as "k" is written the way the recogniser writes that
/// sound ("cholelithiasis" -> "colelithiasis" beside "colithiasis", "kolelithiasis"
/// beside "kolithiasis"), so the silent "h" does not count as a spelling error.
pub(crate) fn letters_for<'a>(word: &str, term: &'a str) -> std::borrow::Cow<'a, str> {
    let vowel = |c: Option<char>| c.is_some_and(|c| "aeiouy".contains(c));
    let mut w = word.chars();
    let onset = w.next();
    match (onset, term.strip_prefix("ch")) {
        (Some(o @ ('c' | 'k')), Some(rest)) if vowel(w.next()) && vowel(rest.chars().next()) => {
            format!("{o}{rest}").into()
        }
        _ => term.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_words_share_the_code_of_the_term() {
        let mut ix = PhoneticIndex::new();
        assert_eq!(ix.codes("apicksaban")[0], ix.codes("apixaban")[0]);
        assert_eq!(ix.codes("metaprolol")[0], ix.codes("metoprolol")[0]);
        ix.insert("lisinopril", 0);
        assert!(ix.code_distance(&ix.codes("listenupor"), 0) <= 2);
        assert!(ix.same_onset(&ix.codes("listenupor"), 0));
        ix.insert("losartan", 1);
        assert!(!ix.same_onset(&ix.codes("startan"), 1));
    }

    #[test]
    fn medical_ch_sounds_like_k() {
        let mut ix = PhoneticIndex::new();
        ix.insert("cholelithiasis", 3);
        assert!(ix.code_distance(&ix.codes("colithiasis"), 3) <= 1);
        let mut out = Vec::new();
        ix.lookup(&ix.codes("colithiasis"), &mut out);
        assert!(out.contains(&3));
        // The usual reading still matches a correct spelling.
        assert_eq!(ix.code_distance(&ix.codes("cholelithiasis"), 3), 0);
        assert_eq!(ix.heard_spelling("chlorthalidone"), None);
    }

    #[test]
    fn soft_double_c_sounds_like_ks() {
        let ix = PhoneticIndex::new();
        assert_eq!(ix.heard_spelling("succinate").as_deref(), Some("suksinate"));
        assert!(ix
            .heard_codes("succinate")
            .contains(&ix.codes("sixenate")[0]));
        assert_eq!(ix.heard_spelling("occlusion"), None);
    }

    #[test]
    fn greek_ch_is_compared_as_heard() {
        assert_eq!(
            letters_for("colithiaces", "cholelithiasis"),
            "colelithiasis"
        );
        assert_eq!(letters_for("kondroplasty", "chondroplasty"), "kondroplasty");
        // Spelt with its "ch", or a "ch" before a consonant, the term stays as it is.
        assert_eq!(
            letters_for("cholithiasis", "cholelithiasis"),
            "cholelithiasis"
        );
        assert_eq!(
            letters_for("clorthalidone", "chlorthalidone"),
            "chlorthalidone"
        );
    }

    #[test]
    fn lookup_finds_near_codes() {
        let mut ix = PhoneticIndex::new();
        ix.insert("lisinopril", 7);
        let mut out = Vec::new();
        ix.lookup(&ix.codes("listenupor"), &mut out);
        assert!(out.contains(&7));
        assert!(ix.codes("").is_empty());
        assert!(ix.codes("ümlaut").is_empty());
    }
}
