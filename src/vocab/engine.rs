//! The correction engine: candidate windows of 1-4 words, phonetic candidates,
//! guards against changing real English, scoring with context and recogniser
//! confidence, and non-overlapping selection.

use super::lexicon::{key_of, normalise_phrase, Lexicon, Tier};
use super::phonetic::{self, PhoneticIndex};
use super::symdelete::{DeleteIndex, MAX_EDITS};
use super::token::{split_punct, Tok};
use super::Correction;
use super::{guards, inflect, phrases};

/// Longest window of recognised words merged into one term.
pub(crate) const MAX_WINDOW: usize = 4;
/// Changes scoring at least this are applied; the rest down to [`SUGGEST`] are suggested.
pub(crate) const APPLY: f32 = 0.8;
pub(crate) const SUGGEST: f32 = 0.7;
/// Adjacent words this frequent together are ordinary English ("in the", "up or" is not).
const BIGRAM_GUARD: u64 = 300_000_000;

/// Hesitations never belong inside a term ("and um" is not indium).
const FILLERS: &[&str] = &[
    "um", "uh", "er", "erm", "ah", "hmm", "mm", "mhm", "uhm", "eh", "oh", "okay", "ok", "yeah",
];

/// Words near a drug name in dictation: evidence that a window is a medication.
const DRUG_CUES: &[&str] = &[
    "take",
    "takes",
    "taking",
    "took",
    "started",
    "start",
    "prescribed",
    "prescribe",
    "continue",
    "continued",
    "increase",
    "increased",
    "decrease",
    "decreased",
    "dose",
    "dosage",
    "milligrams",
    "milligram",
    "mg",
    "mcg",
    "micrograms",
    "units",
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "daily",
    "twice",
    "nightly",
    "bid",
    "tid",
    "qid",
    "prn",
    "inhaler",
    "puffs",
    "injection",
    "weekly",
    "stop",
    "stopped",
    "discontinue",
    "discontinued",
    "medication",
    "medications",
    "refill",
    "mg.",
    "grams",
    "once",
    // Orders and dosage forms.
    "resume",
    "resumed",
    "restart",
    "restarted",
    "hold",
    "held",
    "taper",
    "nebulizer",
    "nebulizers",
    "infusion",
    "drip",
];

const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty",
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand",
    "half",
];

/// Prefixes the recogniser writes as words of their own ("sub segmental",
/// "extra luminal", "angio edema"): joined with the next word they may spell a term.
pub(crate) const SPLIT_PREFIXES: &[&str] = &[
    "sub", "post", "pre", "extra", "intra", "inter", "micro", "macro", "hyper", "hypo", "peri",
    "para", "trans", "retro", "supra", "infra", "anti", "poly", "angio", "neuro", "cardio",
    "gastro", "broncho", "pseudo", "non", "semi", "multi", "mid", "endo", "epi", "myo", "osteo",
    "dys", "tachy", "brady", "hemi", "hydro", "thrombo", "electro", "echo", "uro", "nephro",
    "hepato", "cysto", "arthro", "laparo",
];

/// Word spellings of prefixes that sound the same ("by carbonate", "try cuspid").
const PREFIX_SOUNDS: &[(&str, &str)] = &[("by", "bi"), ("buy", "bi"), ("try", "tri")];

/// A scored candidate change of `toks[start..start+len]`.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub start: usize,
    pub len: usize,
    pub term: u32,
    pub score: f32,
    pub reason: &'static str,
    /// How well sound and spelling match, before tier, context and confidence.
    pub evidence: f32,
    /// Edit distance of the phonetic codes.
    pub code_distance: usize,
    /// The target is a drug name.
    pub drug: bool,
    /// A drug cue or dose is near the window.
    pub drug_context: bool,
}

fn lower_core(t: &Tok) -> String {
    split_punct(&t.text).1.to_lowercase()
}

/// Words after a number that make it a duration, age or count, not a dose
/// ("clinic in four weeks", "two days ago").
const NOT_DOSE_UNITS: &[&str] = &[
    "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks",
    "month", "months", "year", "years", "old", "times", "percent", "o'clock", "am", "pm",
];

/// Units that make a number a dose ("5 mg", "two puffs").
const DOSE_UNITS: &[&str] = &[
    "mg",
    "mcg",
    "milligram",
    "milligrams",
    "microgram",
    "micrograms",
    "gram",
    "grams",
    "g",
    "units",
    "unit",
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "puff",
    "puffs",
    "ml",
    "milliliters",
    "drops",
    "sprays",
    "patch",
    "iu",
];

/// Whether a number token at `k` reads as a dose near a window `start..end`: it is
/// followed by a dose unit ("5 mg"), or it follows the window and is not a
/// duration, age or count ("metformin 500", not "clinic in four weeks"). A number
/// before the window without a unit ("grade 2 ...") says nothing.
fn dose_number(toks: &[Tok], k: usize, end: usize) -> bool {
    let is_num =
        |w: &str| NUMBER_WORDS.contains(&w) || w.chars().next().is_some_and(|c| c.is_ascii_digit());
    let w = lower_core(&toks[k]);
    if !is_num(&w) {
        return false;
    }
    // "25mg" carries its unit.
    let unit_attached = w
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
        .to_string();
    if DOSE_UNITS.contains(&unit_attached.as_str()) {
        return true;
    }
    // Skip further number words ("one hundred", "twenty five") to the word after.
    let mut j = k + 1;
    while j < toks.len() && split_punct(&toks[j - 1].text).2.is_empty() {
        let n = lower_core(&toks[j]);
        if !(is_num(&n) || n == "and") {
            break;
        }
        j += 1;
    }
    let next = (j < toks.len() && split_punct(&toks[j - 1].text).2.is_empty())
        .then(|| lower_core(&toks[j]));
    match next {
        Some(n) if DOSE_UNITS.contains(&n.as_str()) => true,
        Some(n) if NOT_DOSE_UNITS.contains(&n.as_str()) => false,
        _ => k >= end,
    }
}

/// Whether a drug cue or a dose-like number is within three words of the window.
pub(crate) fn drug_context(toks: &[Tok], start: usize, len: usize) -> bool {
    let lo = start.saturating_sub(3);
    let hi = (start + len + 3).min(toks.len());
    (lo..hi)
        .filter(|k| *k < start || *k >= start + len)
        .any(|k| {
            let w = lower_core(&toks[k]);
            DRUG_CUES.contains(&w.as_str()) || dose_number(toks, k, start + len)
        })
}

/// Endings the naming schemes for drugs (USAN/INN stems) give a class of drugs:
/// no everyday word ends in them, so a word that does names a drug.
const DRUG_STEMS: &[&str] = &[
    "mab",
    "tinib",
    "ciclib",
    "parib",
    "rafenib",
    "pril",
    "sartan",
    "olol",
    "alol",
    "statin",
    "prazole",
    "floxacin",
    "cillin",
    "mycin",
    "micin",
    "cycline",
    "conazole",
    "dipine",
    "gliptin",
    "gliflozin",
    "glutide",
    "parin",
    "xaban",
    "gatran",
    "grel",
    "tidine",
    "triptan",
    "setron",
    "lukast",
    "afil",
    "oxetine",
    "azepam",
    "azolam",
    "semide",
    "thiazide",
    "zosin",
    "terol",
    "tropium",
    "dronate",
    "vudine",
    "navir",
    "previr",
    "asvir",
    "buvir",
    "ciclovir",
    "cept",
    "kinra",
    "glinide",
    "sone",
    "olone",
    "lamide",
    "profen",
    "coxib",
    "triptyline",
    "pramine",
    "peridone",
    "apine",
    "barbital",
    "caine",
];

/// Whether two words end in the same drug-name stem.
fn same_drug_stem(a: &str, b: &str) -> bool {
    DRUG_STEMS
        .iter()
        .any(|s| a.ends_with(s) && b.ends_with(s) && a.len() > s.len() + 2)
}

/// The name in a possessive ("hashimoto's" -> "hashimoto").
pub(crate) fn possessive_stem(w: &str) -> Option<&str> {
    w.strip_suffix("'s")
        .or_else(|| w.strip_suffix("\u{2019}s"))
        .filter(|s| !s.is_empty())
}

/// Whether the token begins a sentence (so its capital letter says nothing).
fn sentence_initial(toks: &[Tok], i: usize) -> bool {
    i == 0 || {
        let prev = &toks[i - 1].text;
        prev.starts_with('\n') || prev.ends_with(['.', '?', '!', ':'])
    }
}

/// Whether `w` is ordinary English, counting plurals and -ly forms of known words.
pub(crate) fn is_english(lx: &Lexicon, w: &str) -> bool {
    if lx.english.contains_key(w) {
        return true;
    }
    // "flare-up", "twenty-one": compounds of known words.
    if w.contains('-') {
        return w
            .split('-')
            .all(|p| p.is_empty() || lx.english.contains_key(p) || lx.medical_words.contains(p));
    }
    known_stem(lx, w)
}

/// Whether an inflected or derived form of a known word ("lactated", "crampy").
fn known_stem(lx: &Lexicon, w: &str) -> bool {
    ["s", "es", "d", "ed", "ing", "ly", "ally", "y", "ily", "ish"]
        .iter()
        .any(|suf| {
            w.strip_suffix(suf).is_some_and(|stem| {
                stem.len() >= 4
                    && (lx.english.contains_key(stem) || lx.medical_words.contains(stem))
            })
        })
}

/// Drug targets whose match evidence is this close to the best one's make a
/// misspelt drug name ambiguous.
const AMBIGUOUS_DRUGS: f32 = 0.03;

/// How much better an uncommon drug name must match than a common one to make
/// the common one ambiguous.
const OBSCURE_RIVAL_MARGIN: f32 = 0.05;

/// Below this match evidence an uncommon drug name is not even suggested.
const OBSCURE_DRUG_MIN: f32 = 0.6;

/// Match evidence an uncommon drug name needs before it is applied, not suggested.
const OBSCURE_DRUG_EVIDENCE: f32 = 0.7;

/// Ranking bonus of a medical term found in several lists.
const ESTABLISHED_BONUS: f32 = 0.03;

/// Score taken from a single-word target that does not begin with the word's sound.
const ONSET_PENALTY: f32 = 0.05;

/// Letters a word needs before a unique exact sound match counts as evidence.
const UNIQUE_SOUND_LETTERS: usize = 8;

/// Score added when an unknown word sounds exactly like one non-drug term only.
const UNIQUE_SOUND_BONUS: f32 = 0.05;

/// Whether a word next to `toks[i]` is neither English nor a listed term.
fn unknown_neighbour(lx: &Lexicon, toks: &[Tok], i: usize) -> bool {
    [i.checked_sub(1), Some(i + 1)]
        .into_iter()
        .flatten()
        .filter_map(|k| toks.get(k))
        .map(lower_core)
        .any(|w| {
            w.len() > 2
                && w.chars().all(char::is_alphabetic)
                && !is_english(lx, &w)
                && !lx.medical_words.contains(&w)
        })
}

/// Probability below which the recogniser is taken to be unsure of a word.
const UNSURE: f32 = 0.35;

/// Probability below which the recogniser doubted a word it wrote.
pub(crate) const DOUBTED: f32 = 0.5;

/// English words this frequent are common enough to be read as a pair when glued.
const GLUE_COUNT: u64 = 1_000_000;

/// Whether `w` is two common English words of 3+ letters written together. A
/// medical prefix is no word here: "polyurea" is poly- + urea, not a run-on.
fn glued_english(lx: &Lexicon, w: &str) -> bool {
    let common = |p: &str| lx.english.get(p).is_some_and(|n| *n >= GLUE_COUNT);
    let n = w.len();
    w.is_ascii()
        && n >= 6
        && (3..=n - 3)
            .any(|i| common(&w[..i]) && common(&w[i..]) && !SPLIT_PREFIXES.contains(&&w[..i]))
}

/// Endings that turn a medical noun into its adjective and back: a word that is a
/// listed term with one ending swapped for its partner is that term's other form
/// ("tachycardic" from tachycardia, "necrotic" from necrosis), not a misspelling.
const DERIVED_ENDINGS: &[(&str, &str)] = &[
    ("ic", "ia"),
    ("ic", "y"),
    ("ic", "a"),
    ("ic", "ics"),
    ("tic", "sis"),
    ("ical", "y"),
    ("al", "a"),
    ("al", "um"),
    ("al", "us"),
    ("ar", "a"),
    ("ar", "um"),
    ("ous", "a"),
    ("ous", "us"),
    ("ia", "ic"),
    ("osis", "otic"),
];

fn derived_form(lx: &Lexicon, w: &str) -> bool {
    DERIVED_ENDINGS.iter().any(|(a, b)| {
        w.strip_suffix(a)
            .is_some_and(|stem| stem.len() >= 4 && lx.medical_words.contains(&format!("{stem}{b}")))
    })
}

/// Productive medical word endings: a word built with one is probably a real term
/// the lists lack ("chondroplasty"), not a misspelling of a word with another ending.
const MEDICAL_SUFFIXES: &[&str] = &[
    "plasty", "ectomy", "otomy", "ostomy", "scopy", "graphy", "gram", "itis", "osis", "emia",
    "algia", "pathy", "plasia", "trophy", "lysis", "rrhea", "ology", "oma", "cele", "pexy",
    "blast", "cyte", "penia", "uria",
];

fn suffix_of(w: &str) -> Option<&'static str> {
    MEDICAL_SUFFIXES.iter().copied().find(|s| w.ends_with(s))
}

/// Edit distance (optimal string alignment: adjacent swaps count once) between a
/// window's letters and a term's spelling, and their similarity in [0, 1]: the
/// better of the edit ratio and Jaro-Winkler less 0.15.
pub(crate) fn letter_similarity(joined: &str, spelling: &str) -> (usize, f32) {
    let edits = strsim::osa_distance(joined, spelling);
    let n = joined.chars().count().max(spelling.chars().count());
    let dl = 1.0 - edits as f32 / n as f32;
    let jw = strsim::jaro_winkler(joined, spelling) as f32;
    (edits, dl.max(jw - 0.15))
}

/// How well sound and spelling match, before tier, context and confidence. A
/// code distance counts less in a long code than in a short one.
pub(crate) fn match_evidence(ls: f32, codes: &[String], cd: usize) -> f32 {
    let code_len = codes.iter().map(String::len).max().unwrap_or(1).max(3);
    0.5 * ls + 0.3 * (1.0 - cd as f32 / code_len as f32)
}

/// Scores the best drug and the best other term for one window and adds them to
/// `out`; adds nothing when a guard forbids any change. Both readings are kept so
/// that a drug is never inserted where the sound is as well explained by a
/// diagnosis or anatomy term (see [`arbitrate_drugs`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn eval_window(
    lx: &Lexicon,
    ix: &PhoneticIndex,
    sd: &DeleteIndex,
    toks: &[Tok],
    locked: &[bool],
    start: usize,
    len: usize,
    buf: &mut Vec<u32>,
    out: &mut Vec<Candidate>,
) {
    let end = start + len;
    let mut words = Vec::with_capacity(len);
    let mut possessive = false;
    // A digit read as its word ("6enate": sixenate) is weak evidence: never a drug.
    let mut respelled = false;
    for k in start..end {
        if locked[k] {
            return;
        }
        let (lead, core, trail) = split_punct(&toks[k].text);
        if core.is_empty() || core.chars().count() > 40 {
            return;
        }
        // Never merge across punctuation.
        if (k > start && !lead.is_empty()) || (k + 1 < end && !trail.is_empty()) {
            return;
        }
        // A digit written for a sound ("6enate") is read as its word.
        let lower = core.to_lowercase();
        let w = phrases::spoken_digits(lower.clone());
        if w.chars().any(char::is_numeric) {
            return;
        }
        respelled |= w != lower;
        // Spelled-out letters ("S T elevation", "X rays") are not parts of a word.
        if w.chars().count() == 1 && w != "a" {
            return;
        }
        // A possessive on its own may be a misheard eponym ("Hashimotto's"); otherwise
        // contractions ("name's") and fillers are never part of a term.
        let w = match possessive_stem(&w) {
            Some(stem) if len == 1 => {
                possessive = true;
                stem.to_string()
            }
            _ => w,
        };
        if FILLERS.contains(&w.as_str()) || w.contains(['\'', '\u{2019}']) {
            return;
        }
        words.push(w);
    }
    let joined = key_of(&words.concat());
    let jlen = joined.chars().count();
    if jlen < 5 || !joined.is_ascii() {
        return;
    }
    let english: Vec<bool> = words.iter().map(|w| is_english(lx, w)).collect();
    // A prefix heard as the word it sounds like ("by carbonate": bicarbonate) joins
    // the next word only where the recogniser doubted it: "by nasal cannula" is
    // as likely as "binasal".
    if len == 2 && toks[start].prob.is_some_and(|p| p < DOUBTED) {
        if let Some((_, prefix)) = PREFIX_SOUNDS.iter().find(|(w, _)| *w == words[0]) {
            let respelled = format!("{prefix}{}", words[1]);
            if let Some(&id) = lx.by_key.get(&respelled) {
                let t = &lx.terms[id as usize];
                if t.tier != Tier::Drug || t.lists >= 2 {
                    out.push(Candidate {
                        start,
                        len,
                        term: id,
                        score: 0.9,
                        reason: "prefix heard as a word",
                        evidence: 1.0,
                        code_distance: 0,
                        drug: t.is_drug,
                        drug_context: drug_context(toks, start, len),
                    });
                    return;
                }
            }
        }
    }
    // Pieces that spell a drug exactly ("atorva statin", "metform in") are that drug,
    // even when one piece is itself a known word.
    if len > 1 {
        if let Some(&id) = lx.by_key.get(&joined) {
            let t = &lx.terms[id as usize];
            if t.is_drug || t.tier == Tier::Custom {
                let probs = toks[start..end].iter().filter_map(|t| t.prob);
                let unsure = probs.clone().any(|p| p < 0.6);
                let all_english = english.iter().all(|e| *e);
                let score = if all_english && !unsure {
                    APPLY - 0.01
                } else {
                    0.95
                };
                out.push(Candidate {
                    start,
                    len,
                    term: id,
                    score,
                    reason: "joined words spell a known drug",
                    evidence: 1.0,
                    code_distance: 0,
                    drug: t.is_drug,
                    drug_context: drug_context(toks, start, len),
                });
                return;
            }
            // A split-off prefix ("sub segmental", "post prandial") or a piece that is
            // no word at all ("media stinal") joins into the listed term; two ordinary
            // words ("cut down") are left alone. Only a space goes, so this is applied.
            let prefix = words.len() == 2 && SPLIT_PREFIXES.contains(&words[0].as_str());
            if t.tier == Tier::Medical && len == 2 && (prefix || !english.iter().all(|e| *e)) {
                out.push(Candidate {
                    start,
                    len,
                    term: id,
                    score: 0.9,
                    reason: "joined words spell a known term",
                    evidence: 1.0,
                    code_distance: 0,
                    drug: false,
                    drug_context: false,
                });
                return;
            }
        }
    }
    let medical: Vec<bool> = words
        .iter()
        .map(|w| lx.medical_words.contains(w) || lx.abbreviations.contains(w))
        .collect();
    if len == 1 {
        // A known word, English or medical, is never changed on spelling evidence.
        if english[0]
            || medical[0]
            || lx.by_key.contains_key(&joined)
            || known_stem(lx, &words[0])
            || derived_form(lx, &words[0])
        {
            return;
        }
    } else {
        for (k, w) in words.iter().enumerate() {
            let n = w.chars().count();
            if (medical[k] && !english[k] && n >= 4) || (english[k] && n >= 7) {
                return;
            }
        }
        for pair in words.windows(2) {
            let b = format!("{} {}", pair[0], pair[1]);
            if lx.bigrams.get(&b).copied().unwrap_or(0) >= BIGRAM_GUARD {
                return;
            }
        }
    }
    let all_english = english.iter().all(|e| *e);
    let none_english = english.iter().all(|e| !*e);
    let codes = ix.codes(&joined);
    ix.lookup(&codes, buf);
    let ctx = drug_context(toks, start, len);
    let probs: Vec<f32> = toks[start..end].iter().filter_map(|t| t.prob).collect();
    let min_prob = probs.iter().copied().fold(f32::NAN, f32::min);
    let max_prob = probs.iter().copied().fold(f32::NAN, f32::max);
    // The recogniser itself doubted every word: ordinary words there are likely a
    // mishearing ("sink cope" for syncope).
    let all_unsure = max_prob < UNSURE;
    // A capital letter mid-sentence suggests a name only when the recogniser was
    // sure of the word; it capitalises words it does not know ("Pluritic").
    // A possessive target is a person's name anyway ("Parkinsen's").
    let proper_name = len == 1
        && !possessive
        && (min_prob.is_nan() || min_prob >= UNSURE)
        && !sentence_initial(toks, start)
        && split_punct(&toks[start].text)
            .1
            .chars()
            .next()
            .is_some_and(char::is_uppercase);
    // Best drug and best other term, with their unclamped scores.
    let mut best: [Option<(Candidate, f32, f32, f32)>; 2] = [None, None];
    // Non-drug targets that sound exactly like the window (code distance 0).
    let mut exact_sound = 0usize;
    let mut drug_evidence: Vec<(u32, f32)> = Vec::new();
    let glued = len == 1 && glued_english(lx, &words[0]);
    // Per-window facts the candidate loop checks, looked up once.
    let word_groups: Vec<_> = words.iter().filter_map(|w| lx.sound_alike.get(w)).collect();
    let joined_suffix = suffix_of(&joined);
    // Sound-alike candidates first; a single word none of them fits may still be a
    // near spelling whose sound code drifted (symmetric-delete candidates).
    for round in 0..2 {
        if round == 1 {
            if len > 1 || best.iter().any(Option::is_some) {
                break;
            }
            buf.clear();
            sd.lookup(&joined, buf);
        }
        for &id in buf.iter() {
            let t = &lx.terms[id as usize];
            let tlen = t.key.chars().count();
            if tlen * 10 < jlen * 7 || tlen * 10 > jlen * 14 {
                continue;
            }
            // Never turn one real member of a sound-alike group into another.
            if !word_groups.is_empty() {
                if let Some(g) = lx.sound_alike.get(&t.key) {
                    if word_groups.contains(&g) {
                        continue;
                    }
                }
            }
            // Only a person's name takes a possessive.
            if possessive && !(t.tier == Tier::Medical && t.display.starts_with(char::is_uppercase))
            {
                continue;
            }
            if respelled && t.is_drug {
                continue;
            }
            // Obscure drug names are not worth merging ordinary words for.
            if len > 1 && !none_english && t.tier == Tier::Drug {
                continue;
            }
            if len == 1 && joined_suffix.is_some() && joined_suffix != suffix_of(&t.key) {
                continue;
            }
            // "cut down" -> "cutdown" only respells real words.
            if all_english && t.key == joined && t.tier == Tier::Medical {
                continue;
            }
            // An unknown word ending in the same drug-name stem as a drug ("omelizumab",
            // omalizumab) names a drug by its own letters, cues or not.
            let ctx =
                ctx || (len == 1 && none_english && t.is_drug && same_drug_stem(&joined, &t.key));
            let cd = ix.code_distance(&codes, id);
            // Far in sound, it must be close in letters (a symmetric-delete candidate).
            // Optimal string alignment: Damerau-Levenshtein for words (adjacent swaps
            // count once) without the hash map the unrestricted form needs.
            let spelling = phonetic::letters_for(&joined, &t.key);
            // A word heard in the plural is compared with the plural ("scottomata").
            let plural = (len == 1 && !t.is_drug)
                .then(|| inflect::closer_plural(&joined, &spelling))
                .flatten();
            let spelling = plural.map_or(spelling, Into::into);
            let (edits, ls) = letter_similarity(&joined, &spelling);
            if cd > 2 && edits > MAX_EDITS {
                continue;
            }
            let accept = if all_english {
                (cd == 0 && ls >= 0.7)
                    || (ctx
                        && t.is_drug
                        && t.tier <= Tier::CommonDrug
                        && ls >= 0.6
                        && ix.same_onset(&codes, id))
                    || (all_unsure && !t.is_drug && cd <= 1 && ls >= 0.6)
            } else {
                (cd == 0 && ls >= 0.5) || (cd <= 1 && ls >= 0.6) || ls >= 0.75
            };
            if !accept {
                continue;
            }
            let tier_bonus = match t.tier {
                Tier::Custom => 0.15,
                Tier::CommonDrug => 0.15,
                Tier::Drug => 0.01,
                Tier::Medical => 0.0,
            };
            // Among targets for the same window, established terms (in several lists)
            // go before single-list index entries; thresholds are not affected.
            let pref = if t.tier == Tier::Medical && t.lists >= 2 {
                ESTABLISHED_BONUS
            } else {
                0.0
            };
            let evidence = match_evidence(ls, &codes, cd);
            let mut score = evidence + tier_bonus;
            if ctx && t.is_drug {
                score += 0.1;
            }
            if all_english {
                score -= 0.05;
            }
            if none_english {
                score += 0.08;
            }
            // Brand names are capitalised too: with drug cues near, a capital says nothing.
            if proper_name && !(ctx && t.is_drug && t.tier <= Tier::CommonDrug) {
                score -= 0.15;
            }
            if !min_prob.is_nan() {
                score += 0.2 * (0.7 - min_prob);
            }
            // A single word whose first sound differs from the target's has lost or
            // gained its onset ("colithiasis" is not lithiasis); recognisers rarely
            // get the start of a word wrong.
            if len == 1 && !ix.same_onset(&codes, id) {
                score -= ONSET_PENALTY;
            }
            // Ranking uses the unclamped score: two targets both above 1.0 are not a tie.
            let rank = score;
            let mut score = score.clamp(0.0, 1.0);
            // Highest score this target may reach (the guards below lower it).
            let mut cap = 1.0f32;
            // A word made of two ordinary words glued together ("Plancolin": plan
            // colon) is more likely a run-on than a misspelt diagnosis word.
            // A common drug with drug cues near is still a drug even when its misspelling
            // happens to split into words ("warpheron": warp heron, "Aliquiz": ali quiz).
            if glued && !(t.is_drug && t.tier <= Tier::CommonDrug && ctx) {
                cap = APPLY - 0.01;
            }
            // Real words are changed only when the recogniser itself was unsure of them;
            // without its probabilities such a change stays a suggestion.
            if all_english && (min_prob.is_nan() || min_prob >= 0.6) {
                cap = APPLY - 0.01;
            }
            // "hypolipidemia" -> "hyperlipidemia" reverses the meaning: the reviewer decides.
            if guards::opposite_prefix(&joined, &t.key) {
                cap = APPLY - 0.01;
            }
            score = score.min(cap);
            if !t.is_drug && cd == 0 {
                exact_sound += 1;
            }

            if t.is_drug {
                drug_evidence.push((id, evidence));
            }
            let slot = &mut best[usize::from(!t.is_drug)];
            if slot
                .as_ref()
                .is_none_or(|(b, r, p, _)| (score + pref, rank + pref) > (b.score + p, *r + p))
            {
                *slot = Some((
                    Candidate {
                        start,
                        len,
                        term: id,
                        score,
                        reason: if len == 1 && cd > 2 {
                            "near spelling of a known term"
                        } else if len == 1 {
                            "near spelling and sound of a known term"
                        } else {
                            "phonetic match of joined words"
                        },
                        evidence,
                        code_distance: cd,
                        drug: t.is_drug,
                        drug_context: ctx,
                    },
                    rank,
                    pref,
                    cap,
                ));
            }
        }
    }
    // Two drug names matching about equally well: the recogniser's output does not
    // say which one was meant, so the choice is left to the reviewer.
    // A rarely prescribed name is a rival to a common drug only when it matches
    // clearly better: dictated drugs are overwhelmingly the common ones, and among
    // tens of thousands of obscure names one always sounds about as close
    // ("epicsabin": apixaban, not Epixine).
    // A long unknown word that sounds exactly like one term and no other is very
    // likely that term ("numapritunium": pneumoperitoneum). Short words match some
    // term by chance (names: "Alina"), and beside another unknown word the word
    // may be only part of a split term ("cholenguop and creatography").
    if let Some((c, _, _, cap)) = &mut best[1] {
        if len == 1
            && jlen >= UNIQUE_SOUND_LETTERS
            && none_english
            && c.code_distance == 0
            && exact_sound == 1
            && !unknown_neighbour(lx, toks, start)
        {
            c.score = (c.score + UNIQUE_SOUND_BONUS).min(*cap).min(1.0);
        }
    }
    if let Some((d, _, _, _)) = &mut best[0] {
        let common = lx.terms[d.term as usize].tier <= Tier::CommonDrug;
        let rival = drug_evidence.iter().any(|&(id, ev)| {
            let obscure = lx.terms[id as usize].tier > Tier::CommonDrug;
            id != d.term
                && if common && obscure {
                    ev >= d.evidence + OBSCURE_RIVAL_MARGIN
                } else {
                    ev >= d.evidence - AMBIGUOUS_DRUGS
                }
        });
        if rival {
            d.score = d.score.min(APPLY - 0.01);
        }
    }
    out.extend(best.into_iter().flatten().map(|(c, _, _, _)| c));
}

/// A drug name is the worst thing to insert wrongly into a record. Where a
/// window overlapping a drug candidate sounds as much like a diagnosis, procedure
/// or anatomy term ("new methorex with": pneumothorax, not methotrexate), the
/// drug is dropped, or only suggested when drug cues are near. Drug candidates
/// made of ordinary words with no drug cue near are dropped too ("clinic in" is
/// not clonidine).
pub(crate) fn arbitrate_drugs(lx: &Lexicon, toks: &[Tok], cands: &mut Vec<Candidate>) {
    // Plausible non-drug readings of at least as many words.
    // A rival that is itself everyday English ("presumed") is no medical reading.
    let rivals: Vec<(usize, usize, f32, bool)> = cands
        .iter()
        .filter(|c| !c.drug && c.code_distance <= 1 && c.score >= SUGGEST - 0.1)
        .filter(|c| {
            lx.english
                .get(&lx.terms[c.term as usize].key)
                .is_none_or(|n| *n < GLUE_COUNT)
        })
        .map(|c| {
            let established = lx.terms[c.term as usize].lists >= 2;
            (c.start, c.start + c.len, c.evidence, established)
        })
        .collect();
    let common: Vec<(usize, usize)> = cands
        .iter()
        .filter(|c| c.drug && lx.terms[c.term as usize].tier <= Tier::CommonDrug)
        .filter(|c| c.score >= SUGGEST - 0.1)
        .map(|c| (c.start, c.start + c.len))
        .collect();
    cands.retain_mut(|c| {
        let tier = lx.terms[c.term as usize].tier;
        if !c.drug || tier == Tier::Custom {
            return true;
        }
        let end = c.start + c.len;
        if tier == Tier::Drug {
            // One of tens of thousands of rarely prescribed names: never where a
            // common drug explains the same speech ("own presole": omeprazole, not
            // Parsol), never without drug cues, and applied only on close evidence.
            if !c.drug_context
                || c.evidence < OBSCURE_DRUG_MIN
                || common.iter().any(|&(s, e)| s < end && c.start < e)
            {
                return false;
            }
            // A name that is also in the diagnosis and procedure lists ("lipase",
            // "vancomycin") is established clinical vocabulary, not an obscure name.
            if c.evidence < OBSCURE_DRUG_EVIDENCE && lx.terms[c.term as usize].lists < 2 {
                c.score = c.score.min(APPLY - 0.01);
            }
        }
        // Drug cues near a common drug are evidence too: a rival must match as well
        // and be an established term, not a single-list index word ("epitrichium").
        let cued = c.drug_context && tier <= Tier::CommonDrug;
        let margin = if cued { 0.0 } else { 0.05 };
        let rival = rivals.iter().any(|&(s, e, ev, established)| {
            s < end
                && c.start < e
                && e - s >= c.len
                && ev >= c.evidence - margin
                && (established || !cued)
        });
        let words_english = (c.start..end).all(|k| is_english(lx, &lower_core(&toks[k])));
        if !c.drug_context && (rival || (words_english && c.evidence < 1.0)) {
            return false;
        }
        if rival {
            c.score = c.score.min(APPLY - 0.01);
        }
        true
    });
}

/// The candidates (sorted by start) that start in `lo..hi`.
pub(crate) fn starting_in(cands: &[Candidate], lo: usize, hi: usize) -> std::ops::Range<usize> {
    cands.partition_point(|c| c.start < lo)..cands.partition_point(|c| c.start < hi)
}

/// Where nested windows give the same term, keeps the one whose letters match it
/// best, so a neighbouring word is not swallowed ("a pantoprasole": the "a" stays)
/// while a split-off first syllable still is ("a Pixabin": apixaban). `cands`
/// must be sorted by start.
pub(crate) fn prefer_closest_span(cands: &mut Vec<Candidate>) {
    let beaten: Vec<bool> = cands
        .iter()
        .map(|c| {
            let near = starting_in(cands, c.start.saturating_sub(MAX_WINDOW), c.start + c.len);
            cands[near].iter().any(|d| {
                let nested = (d.start >= c.start && d.start + d.len <= c.start + c.len)
                    || (c.start >= d.start && c.start + c.len <= d.start + d.len);
                d.term == c.term
                    && nested
                    && (d.start, d.len) != (c.start, c.len)
                    && (d.evidence > c.evidence || (d.evidence == c.evidence && d.len < c.len))
            })
        })
        .collect();
    let mut it = beaten.into_iter();
    cands.retain(|_| !it.next().unwrap_or(false));
}

/// Replaces custom "sounds like" phrases; the replaced tokens are locked.
pub(crate) fn custom_phrases(
    lx: &Lexicon,
    toks: &mut Vec<Tok>,
    locked: &mut Vec<bool>,
    corrections: &mut Vec<Correction>,
) {
    if lx.phrases.is_empty() {
        return;
    }
    let mut i = 0;
    while i < toks.len() {
        for n in (1..=lx.max_phrase_words.min(toks.len() - i)).rev() {
            let span = &toks[i..i + n];
            let inner_punct = span.iter().enumerate().any(|(k, t)| {
                let (lead, core, trail) = split_punct(&t.text);
                core.is_empty() || (k > 0 && !lead.is_empty()) || (k + 1 < n && !trail.is_empty())
            });
            if inner_punct || locked[i..i + n].iter().any(|l| *l) {
                continue;
            }
            let phrase = normalise_phrase(
                &span
                    .iter()
                    .map(|t| split_punct(&t.text).1)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            let Some(to) = lx.phrases.get(&phrase) else {
                continue;
            };
            let from = span
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let merged = merge(toks, i, n, to);
            if merged.text == from {
                continue;
            }
            corrections.push(Correction::of_merged(
                &merged,
                from,
                to.clone(),
                0.99,
                true,
                "custom vocabulary",
            ));
            toks.splice(i..i + n, [merged]);
            locked.splice(i..i + n, [true]);
            break;
        }
        i += 1;
    }
}

/// One token for `toks[i..i+n]` written as `display`, keeping the outer
/// punctuation and a sentence-initial capital.
pub(crate) fn merge(toks: &[Tok], i: usize, n: usize, display: &str) -> Tok {
    let first = &toks[i];
    let last = &toks[i + n - 1];
    let (lead, core, _) = split_punct(&first.text);
    let (_, _, trail) = split_punct(&last.text);
    let mut text = display.to_string();
    if sentence_initial(toks, i) && core.chars().next().is_some_and(char::is_uppercase) {
        let mut c = text.chars();
        if let Some(f) = c.next() {
            text = f.to_uppercase().chain(c).collect();
        }
    }
    let prob = toks[i..i + n]
        .iter()
        .filter_map(|t| t.prob)
        .reduce(f32::min);
    Tok {
        text: format!("{lead}{text}{trail}"),
        start: first.start,
        end: last.end,
        prob,
        src: (first.src.0, last.src.1),
        ..Default::default()
    }
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
    fn durations_are_not_doses() {
        let t = toks("return to clinic in four weeks");
        assert!(!drug_context(&t, 2, 2));
        let t = toks("continue clinic in 4 mg daily");
        assert!(drug_context(&t, 1, 2));
        let t = toks("see you in twenty five days");
        assert!(!dose_number(&t, 3, 0));
        let t = toks("metform in twenty five");
        assert!(dose_number(&t, 2, 2));
        let t = toks("grade 2 condromatia of the knee");
        assert!(!drug_context(&t, 2, 1));
        let t = toks("gave 5 mg of presole");
        assert!(dose_number(&t, 1, 5));
        let t = toks("gave 5mg of presole");
        assert!(dose_number(&t, 1, 5));
    }

    #[test]
    fn known_forms_and_suffixes() {
        let lx = Lexicon::base();
        assert!(is_english(&lx, "flare-up"));
        assert!(is_english(&lx, "crampy"));
        assert!(known_stem(&lx, "lactated"));
        assert!(!is_english(&lx, "metaprolol"));
        assert_eq!(suffix_of("chondroplasty"), Some("plasty"));
        assert_eq!(suffix_of("metformin"), None);
        assert!(glued_english(&lx, "plancolin"));
        assert!(derived_form(&lx, "tachycardic"));
        assert!(derived_form(&lx, "hypercapnic"));
        assert!(!derived_form(&lx, "epicastric"));
        assert!(!glued_english(&lx, "metaprolol"));
        assert!(!glued_english(&lx, "glomardular"));
    }
}
