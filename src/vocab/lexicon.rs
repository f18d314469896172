//! Term lists: the embedded base lists from `vocab/` plus custom layers.
//!
//! Custom vocabulary files use one entry per line:
//!
//! ```text
//! # comment
//! term
//! term | sounds like, other sounds like
//! term | sounds like | display
//! term | | display
//! ```
//!
//! `term` is the correct term. `sounds like` lists spellings the recogniser produces
//! for it; they are replaced wherever they occur as whole words. `display` is how the
//! office wants the term written (e.g. `A fib | | atrial fibrillation`): when given,
//! the term itself is also replaced by it. Files are layered in order
//! (organisation, office, provider): a later entry for the same term replaces the
//! earlier one entirely.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::error::IoContext;

/// How much a term is trusted as a correction target; lower is more common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tier {
    /// From a custom vocabulary file.
    Custom = 0,
    /// A commonly prescribed drug.
    CommonDrug = 1,
    /// Any other drug name (generic or brand).
    Drug = 2,
    /// Diagnosis, procedure or anatomy word.
    Medical = 3,
}

/// One single-word term that corrections may produce.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    /// How it is written in the output.
    pub display: String,
    /// Lowercase letters only: the form windows are compared against.
    pub key: String,
    pub tier: Tier,
    pub is_drug: bool,
    /// How many of the diagnosis, procedure and anatomy lists have it: a word in
    /// several is an established term, one in a single list may be an old or
    /// misspelt index entry ("aeroginosa").
    pub lists: u8,
}

/// A custom entry: phrases to replace and what to write instead.
#[derive(Debug, Clone)]
pub(crate) struct CustomEntry {
    pub term: String,
    pub sounds_like: Vec<String>,
    pub display: Option<String>,
}

const DRUGS_GENERIC: &str = include_str!("../../vocab/drugs-generic.txt");
const DRUGS_BRAND: &str = include_str!("../../vocab/drugs-brand.txt");
const COMMON_DRUGS: &str = include_str!("../../vocab/common-drugs.txt");
const DIAGNOSES: &str = include_str!("../../vocab/diagnoses.txt");
const PROCEDURES: &str = include_str!("../../vocab/procedures.txt");
const ANATOMY: &str = include_str!("../../vocab/anatomy.txt");
const ABBREVIATIONS: &str = include_str!("../../vocab/abbreviations.txt");
const ENGLISH: &str = include_str!("../../vocab/english.txt");
const BIGRAMS: &str = include_str!("../../vocab/english-bigrams.txt");
const SOUND_ALIKES: &str = include_str!("../../vocab/sound-alikes.txt");
const PHRASES: &str = include_str!("../../vocab/phrases.txt");
const EPONYMS: &str = include_str!("../../vocab/eponyms.txt");
const CLINICAL_PHRASES: &str = include_str!("../../vocab/clinical-phrases.txt");
const CLINICAL_WORDS: &str = include_str!("../../vocab/clinical-words.txt");

/// English words at least this frequent (Google Books counts) are ordinary words:
/// a drug or ICD word that common is not used as a correction target.
const COMMON_ENGLISH: u64 = 2_000_000;

/// Words that never make a known pair: "range of motion" says nothing about what
/// may follow "of".
const GRAMMAR_WORDS: &[&str] = &["a", "and", "for", "in", "of", "on", "the", "to", "with"];

/// Lowercase letters of `s` only ("Toprol-XL" -> "toprolxl").
pub(crate) fn key_of(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Everything the engine knows about words, built once.
#[derive(Debug, Default)]
pub(crate) struct Lexicon {
    pub terms: Vec<Term>,
    /// key -> index into `terms`.
    pub by_key: HashMap<String, u32>,
    /// Every lowercase word of any medical list entry (multi-word entries included).
    pub medical_words: HashSet<String>,
    /// Lowercase words of the diagnosis, procedure, anatomy and eponym lists.
    pub list_words: HashSet<String>,
    /// Lowercase abbreviations.
    pub abbreviations: HashSet<String>,
    /// English word -> corpus count.
    pub english: HashMap<String, u64>,
    /// Frequent English bigrams ("in the") -> corpus count.
    pub bigrams: HashMap<String, u64>,
    /// key -> sound-alike group number.
    pub sound_alike: HashMap<String, u32>,
    /// Custom entries in layer order, later ones overriding earlier ones by term.
    pub custom: Vec<CustomEntry>,
    /// Lowercase phrase (words joined by one space) -> replacement, from custom files.
    pub phrases: HashMap<String, String>,
    /// Longest phrase in words.
    pub max_phrase_words: usize,
    /// Two-word terms ("pleural effusion"), lowercase, one space.
    pub phrase_pairs: HashSet<String>,
    /// Second word of a two-word term -> the first words it is used with.
    pub phrase_firsts: HashMap<String, Vec<String>>,
    /// First word of a two-word term -> the second words it is used with.
    pub phrase_seconds: HashMap<String, Vec<String>>,
    /// A two-word term written as one word ("aniongap") -> the term ("anion gap").
    pub pair_by_join: HashMap<String, String>,
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Lexicon {
    pub fn base() -> Self {
        let mut lx = Lexicon::default();
        for l in lines(ENGLISH) {
            if let Some((w, n)) = l.split_once('\t') {
                lx.english.insert(w.to_string(), n.parse().unwrap_or(0));
            }
        }
        for l in lines(BIGRAMS) {
            if let Some((b, n)) = l.split_once('\t') {
                lx.bigrams.insert(b.to_string(), n.parse().unwrap_or(0));
            }
        }
        for l in lines(ABBREVIATIONS) {
            let abbr = l.split('\t').next().unwrap_or("");
            lx.abbreviations.insert(abbr.to_lowercase());
        }
        for l in lines(COMMON_DRUGS) {
            lx.add(l, Tier::CommonDrug, true);
        }
        for l in lines(DRUGS_GENERIC) {
            lx.add(l, Tier::Drug, true);
        }
        for l in lines(DRUGS_BRAND) {
            lx.add(l, Tier::Drug, true);
        }
        // Eponyms first, so their capitalised spelling is the one written.
        for text in [EPONYMS, CLINICAL_WORDS, DIAGNOSES, PROCEDURES, ANATOMY] {
            for l in lines(text) {
                lx.list_words
                    .extend(l.split([' ', '-']).map(str::to_lowercase));
                lx.add(l, Tier::Medical, false);
                if let Some(&id) = lx.by_key.get(&key_of(l)) {
                    let t = &mut lx.terms[id as usize];
                    t.lists = t.lists.saturating_add(1);
                }
            }
        }
        for l in lines(PHRASES) {
            lx.add_pair(l);
        }
        // Findings, tests and procedures around the diagnoses ("antalgic gait",
        // "straight leg raise"): each pair of neighbouring words is a known pair,
        // and words that are no everyday English are targets like diagnosis words.
        for l in lines(CLINICAL_PHRASES) {
            let words: Vec<String> = l.split(' ').map(str::to_lowercase).collect();
            for pair in words.windows(2) {
                if !pair.iter().any(|w| GRAMMAR_WORDS.contains(&w.as_str())) {
                    lx.add_pair(&pair.join(" "));
                }
            }
            for (w, lower) in l.split(' ').zip(&words) {
                if !lx.english.contains_key(lower) {
                    lx.list_words.extend(lower.split('-').map(str::to_string));
                    lx.add(w, Tier::Medical, false);
                }
            }
        }
        for (group, l) in lines(SOUND_ALIKES).enumerate() {
            for member in l.split('|') {
                let key = key_of(member);
                if !key.is_empty() {
                    lx.sound_alike.insert(key, group as u32);
                }
            }
        }
        lx
    }

    /// Adds a list entry; single words become correction targets unless they are
    /// ordinary English (and not from a trusted tier).
    fn add(&mut self, entry: &str, tier: Tier, is_drug: bool) {
        for w in entry.split([' ', '-']) {
            if !w.is_empty() {
                self.medical_words.insert(w.to_lowercase());
            }
        }
        if entry.contains(' ') {
            if is_drug && entry.split(' ').count() == 2 {
                self.add_pair(&entry.to_lowercase());
            }
            return;
        }
        self.medical_words.insert(entry.to_lowercase());
        // Stereo and letter prefixes ("s-pantoprazole", "l-lysine", "d-dimer") are
        // kept as known words but are not targets: a stray "a" or "is" before a
        // misspelt drug would otherwise turn into the prefix.
        if entry.as_bytes().get(1) == Some(&b'-') {
            return;
        }
        let key = key_of(entry);
        if key.chars().count() < 5 {
            return;
        }
        if tier >= Tier::Drug && self.english.get(&key).copied().unwrap_or(0) >= COMMON_ENGLISH {
            return;
        }
        if let Some(&id) = self.by_key.get(&key) {
            let t = &mut self.terms[id as usize];
            if tier < t.tier {
                t.tier = tier;
                t.display = entry.to_string();
            }
            t.is_drug |= is_drug;
            return;
        }
        self.by_key.insert(key.clone(), self.terms.len() as u32);
        self.terms.push(Term {
            display: entry.to_string(),
            key,
            tier,
            is_drug,
            lists: 0,
        });
    }

    /// Adds a two-word term ("vena cava"); a hyphenated word is also known closed
    /// up ("gastroesophageal reflux") and split, its piece next to the other word
    /// making a pair ("bucket handle tear": "handle tear"), as recognisers write both.
    fn add_pair(&mut self, pair: &str) {
        let Some((a, b)) = pair.split_once(' ') else {
            return;
        };
        if pair.contains('-') {
            // The pieces of a hyphenated word pair up too ("bucket handle").
            for w in [a, b] {
                for piece in w.split('-').collect::<Vec<_>>().windows(2) {
                    if piece
                        .iter()
                        .all(|p| p.len() > 2 && !GRAMMAR_WORDS.contains(p))
                    {
                        self.add_pair(&piece.join(" "));
                    }
                }
            }
            let closed = pair.replace('-', "");
            for w in closed.split(' ') {
                self.medical_words.insert(w.to_string());
            }
            self.add_pair(&closed);
            let (a_last, b_first) = (a.rsplit('-').next(), b.split('-').next());
            if let (Some(x), Some(y)) = (a_last, b_first) {
                if !x.is_empty() && !y.is_empty() && (x, y) != (a, b) {
                    self.add_pair(&format!("{x} {y}"));
                }
            }
        }
        if !self.phrase_pairs.insert(pair.to_string()) {
            return;
        }
        self.pair_by_join
            .entry(format!("{a}{b}"))
            .or_insert_with(|| pair.to_string());
        self.phrase_firsts
            .entry(b.to_string())
            .or_default()
            .push(a.to_string());
        self.phrase_seconds
            .entry(a.to_string())
            .or_default()
            .push(b.to_string());
    }

    /// Reads custom layers in order; later entries for the same term win.
    pub fn add_custom_files(&mut self, files: &[impl AsRef<Path>]) -> crate::Result<()> {
        for f in files {
            let text = std::fs::read_to_string(f.as_ref()).at(f.as_ref())?;
            let entries = parse_custom(&text).map_err(|(line, msg)| {
                crate::Error::Invalid(format!("{}:{line}: {msg}", f.as_ref().display()))
            })?;
            for e in entries {
                let k = e.term.to_lowercase();
                self.custom.retain(|c| c.term.to_lowercase() != k);
                self.custom.push(e);
            }
        }
        self.rebuild_custom();
        Ok(())
    }

    fn rebuild_custom(&mut self) {
        self.phrases.clear();
        self.max_phrase_words = 0;
        let custom = self.custom.clone();
        for e in &custom {
            let out = e.display.clone().unwrap_or_else(|| e.term.clone());
            let mut sources: Vec<&str> = e.sounds_like.iter().map(String::as_str).collect();
            if e.display.is_some() {
                sources.push(&e.term);
            }
            for s in sources {
                let phrase = normalise_phrase(s);
                if phrase.is_empty() {
                    continue;
                }
                self.max_phrase_words = self.max_phrase_words.max(phrase.split(' ').count());
                self.phrases.insert(phrase, out.clone());
            }
            // The written form is a correction target like any list term.
            let key = key_of(&out);
            if !out.contains(' ') && key.chars().count() >= 4 {
                match self.by_key.get(&key) {
                    Some(&id) => {
                        let t = &mut self.terms[id as usize];
                        t.tier = Tier::Custom;
                        t.display = out.clone();
                    }
                    None => {
                        self.by_key.insert(key.clone(), self.terms.len() as u32);
                        self.terms.push(Term {
                            display: out.clone(),
                            key,
                            tier: Tier::Custom,
                            is_drug: false,
                            lists: 0,
                        });
                    }
                }
            }
            for w in out.split([' ', '-']) {
                if !w.is_empty() {
                    self.medical_words.insert(w.to_lowercase());
                }
            }
        }
    }
}

/// Lowercase words separated by single spaces, punctuation other than
/// apostrophes and hyphens removed.
pub(crate) fn normalise_phrase(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'' || *c == '-')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses the custom vocabulary format (see the module docs); errors carry the line number.
pub(crate) fn parse_custom(text: &str) -> Result<Vec<CustomEntry>, (usize, String)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        if parts.len() > 3 {
            return Err((i + 1, "expected `term | sounds like, ... | display`".into()));
        }
        let term = parts[0].to_string();
        if term.is_empty() {
            return Err((i + 1, "the term is empty".into()));
        }
        let sounds_like = parts
            .get(1)
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let display = parts
            .get(2)
            .filter(|d| !d.is_empty())
            .map(|d| d.to_string());
        out.push(CustomEntry {
            term,
            sounds_like,
            display,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_custom_format() {
        let e = parse_custom(
            "# x\nEliquis\nA fib | ay fib, a-fib | atrial fibrillation\nfoo | | Foo\n",
        )
        .unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].sounds_like, vec!["ay fib", "a-fib"]);
        assert_eq!(e[1].display.as_deref(), Some("atrial fibrillation"));
        assert!(e[2].sounds_like.is_empty());
        assert!(parse_custom("a|b|c|d").is_err());
        assert!(parse_custom(" | x").is_err());
    }

    #[test]
    fn keys_are_letters_only() {
        assert_eq!(key_of("Toprol-XL"), "toprolxl");
        assert_eq!(normalise_phrase("A-fib,  Ay  FIB."), "a-fib ay fib");
    }
}
