//! Units heard as ordinary words after a number or "per" ("three leaders by nasal
//! cannula", "300 cells per microleader"): there the unit is meant, so the
//! sound-alike is replaced. Elsewhere ("the team leaders") the word stays.

use super::token::{split_punct, Tok};
use super::Correction;

/// Sound-alike word -> unit.
const UNIT_SOUND_ALIKES: &[(&str, &str)] = &[
    ("leaders", "liters"),
    ("leader", "liter"),
    ("microleaders", "microliters"),
    ("microleader", "microliter"),
    ("millileaders", "milliliters"),
    ("millileader", "milliliter"),
];

const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "half", "several", "few",
];

/// Whether a unit may follow `t`: a number, or "per".
fn before_unit(t: &Tok) -> bool {
    let (_, core, trail) = split_punct(&t.text);
    let lower = core.to_lowercase();
    trail.is_empty()
        && (core.chars().all(|c| c.is_ascii_digit() || c == '.') && !core.is_empty()
            || NUMBER_WORDS.contains(&lower.as_str())
            || lower == "per")
}

/// Replaces unit sound-alikes after a number or "per"; each change is recorded.
pub(crate) fn fix(toks: &mut [Tok], locked: &mut [bool], corrections: &mut Vec<Correction>) {
    for k in 1..toks.len() {
        if locked[k] || !before_unit(&toks[k - 1]) {
            continue;
        }
        let (lead, core, trail) = split_punct(&toks[k].text);
        let lower = core.to_lowercase();
        let Some((_, unit)) = UNIT_SOUND_ALIKES.iter().find(|(w, _)| *w == lower) else {
            continue;
        };
        let text = format!("{lead}{unit}{trail}");
        corrections.push(Correction::replaced(
            &toks[k],
            unit.to_string(),
            "unit heard as a word after a number or \"per\"",
        ));
        toks[k].text = text;
        locked[k] = true;
    }
}
