//! Spoken dictation commands ("period", "comma", "new paragraph") become punctuation
//! and layout, but only when they are used as commands: "her last period", "a comma
//! shaped lesion", "the period of observation", "the sigmoid colon" stay words.
//!
//! Punctuation attaches to the previous word (replacing punctuation the recogniser
//! put there); "new line" and "new paragraph" become words of their own, "\n" and
//! "\n\n", spanning the command's time. The word after a sentence end or a line
//! break is capitalised.

use super::token::{split_punct, Tok};
use super::Correction;

/// What a command produces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Punct(&'static str),
    Break(&'static str),
}

/// Multi-word commands first so "question mark" wins over nothing.
const COMMANDS: &[(&[&str], Action)] = &[
    (&["new", "paragraph"], Action::Break("\n\n")),
    (&["next", "paragraph"], Action::Break("\n\n")),
    (&["new", "line"], Action::Break("\n")),
    (&["new", "lines"], Action::Break("\n")),
    (&["new", "lined"], Action::Break("\n")),
    (&["new", "paragraphs"], Action::Break("\n\n")),
    (&["next", "line"], Action::Break("\n")),
    (&["question", "mark"], Action::Punct("?")),
    (&["exclamation", "mark"], Action::Punct("!")),
    (&["exclamation", "point"], Action::Punct("!")),
    (&["full", "stop"], Action::Punct(".")),
    (&["period"], Action::Punct(".")),
    (&["comma"], Action::Punct(",")),
    (&["kama"], Action::Punct(",")),
    (&["colon"], Action::Punct(":")),
    (&["semicolon"], Action::Punct(";")),
    (&["semi", "colon"], Action::Punct(";")),
];

/// Words before any command that make it ordinary words ("a comma shaped lesion",
/// "a new line was placed", "her period").
const DETERMINERS: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "each", "every", "any", "no", "his", "her",
    "their", "my", "your", "our", "its", "of", "per",
];

/// Words before "period" that make it a noun ("menstrual period").
const PERIOD_BEFORE: &[&str] = &[
    "menstrual",
    "last",
    "first",
    "next",
    "same",
    "whole",
    "entire",
    "refractory",
    "postoperative",
    "perioperative",
    "postpartum",
    "washout",
    "trial",
    "observation",
    "waiting",
    "incubation",
    "latent",
    "time",
    "grace",
    "recovery",
    "missed",
    "heavy",
    "painful",
    "neonatal",
    "follow-up",
    "prolonged",
    "extended",
    "brief",
    "short",
    "long",
    "stressful",
    "difficult",
];

/// Words before "colon" that make it the organ ("sigmoid colon").
const COLON_BEFORE: &[&str] = &[
    "sigmoid",
    "ascending",
    "descending",
    "transverse",
    "distal",
    "proximal",
    "spastic",
    "irritable",
    "right",
    "left",
    "entire",
    "whole",
    "redundant",
    "tortuous",
];

/// Words after a command word that make it a noun ("period of observation").
const NOUN_AFTER: &[&str] = &[
    "of",
    "was",
    "is",
    "were",
    "are",
    "has",
    "had",
    "pain",
    "pains",
    "cramps",
    "cramping",
    "cancer",
    "polyp",
    "polyps",
    "wall",
    "mass",
    "resection",
    "shaped",
    "lesion",
    "mucosa",
    "came",
    "comes",
    "started",
    "ended",
    "lasted",
    "lasts",
    "bleeding",
    "problems",
    "tracker",
    "symptoms",
    "carcinoma",
    "cleanse",
    "prep",
];

fn core_lower(t: &Tok) -> String {
    split_punct(&t.text).1.to_lowercase()
}

/// Whether the recogniser already hyphenated or glued it ("comma-shaped").
fn is_plain(t: &Tok) -> bool {
    let (_, core, _) = split_punct(&t.text);
    !core.contains('-')
}

/// Whether the command at `toks[i..i+n]` is used as a command here. With
/// `dictating` (the speaker dictates punctuation elsewhere in the text) a sentence
/// end need not be followed by a capital: the recogniser drops capitals in runs
/// ("1952 period date of admission").
fn is_command(toks: &[Tok], i: usize, n: usize, action: Action, dictating: bool) -> bool {
    if !(i..i + n).all(|k| is_plain(&toks[k])) {
        return false;
    }
    if after_determiner(toks, i) {
        return false;
    }
    // "period of observation", "new lines of therapy".
    if let Some(next) = toks.get(i + n) {
        let own_trail = split_punct(&toks[i + n - 1].text).2;
        if own_trail.is_empty() && NOUN_AFTER.contains(&core_lower(next).as_str()) {
            return false;
        }
    }
    if n == 1 {
        let prev = i.checked_sub(1).map(|p| core_lower(&toks[p]));
        let before: &[&str] = match toks[i..i + n].iter().map(core_lower).next().as_deref() {
            Some("period") => PERIOD_BEFORE,
            Some("colon") => COLON_BEFORE,
            _ => &[],
        };
        if let Some(p) = &prev {
            if before.contains(&p.as_str()) {
                return false;
            }
        }
        // A sentence end is followed by a new sentence, a layout command or nothing.
        if matches!(action, Action::Punct("." | "?" | "!"))
            && split_punct(&toks[i].text).2.is_empty()
        {
            if let Some(next) = toks.get(i + 1) {
                let nc = core_lower(next);
                let starts_upper = split_punct(&next.text)
                    .1
                    .chars()
                    .next()
                    .is_some_and(char::is_uppercase);
                if !starts_upper
                    && !dictating
                    && !matches!(nc.as_str(), "new" | "next")
                    && !next.text.starts_with('\n')
                {
                    return false;
                }
            }
        }
    }
    // Punctuation needs a word to attach to.
    !(matches!(action, Action::Punct(_)) && i == 0)
}

/// A layout command the recogniser wrote as one word ("Newline", "neuline",
/// "new-lined", "neoparagraph"): "new" heard as "neu" or "neo", a stray "d".
fn glued_break(toks: &[Tok], i: usize) -> Option<Action> {
    let w: String = core_lower(&toks[i]).chars().filter(|c| *c != '-').collect();
    let rest = ["new", "neu", "neo", "next"]
        .iter()
        .find_map(|p| w.strip_prefix(p))?;
    // "paragraph" keeps its first and last sounds when its vowels go ("pereograph").
    let paragraph = |r: &str| {
        (r.starts_with("par") || r.starts_with("per"))
            && r.ends_with("graph")
            && (8..=11).contains(&r.len())
    };
    let action = match rest {
        "line" | "lined" => Action::Break("\n"),
        r if paragraph(r) => Action::Break("\n\n"),
        _ => return None,
    };
    // "a newline character" is a word.
    (!after_determiner(toks, i)).then_some(action)
}

/// Whether a determiner comes right before `toks[i]` ("a new line was placed").
fn after_determiner(toks: &[Tok], i: usize) -> bool {
    i.checked_sub(1).is_some_and(|p| {
        split_punct(&toks[p].text).2.is_empty()
            && DETERMINERS.contains(&core_lower(&toks[p]).as_str())
    })
}

fn capitalise(s: &str) -> String {
    let (lead, core, trail) = split_punct(s);
    let mut c = core.chars();
    match c.next() {
        Some(f) if f.is_lowercase() => format!("{lead}{}{}{trail}", f.to_uppercase(), c.as_str()),
        _ => s.to_string(),
    }
}

/// Section headings of dictated reports, which the speaker ends with "colon".
const HEADINGS: &[&str] = &[
    "plan",
    "assessment",
    "impression",
    "history",
    "medications",
    "allergies",
    "diagnosis",
    "diagnoses",
    "findings",
    "procedure",
    "indication",
    "indications",
    "technique",
    "comparison",
    "recommendations",
    "subjective",
    "objective",
    "examination",
    "labs",
    "disposition",
];

/// How the recogniser writes a "colon" it glued to the word before.
const COLON_SOUNDS: &[&str] = &["colon", "colin", "collin", "colen", "colan", "colden"];

/// A spoken comma or colon the recogniser glued to the word before: "comma"
/// heard as "Kama" ("Donovan-Kama,", "506711-Kama,") or a heading's "colon"
/// ("Plancolin,"). The word with the punctuation in place of the command.
fn glued_punct(t: &Tok) -> Option<String> {
    let (lead, core, _) = split_punct(t.text.as_str());
    let lower = core.to_lowercase();
    let comma = ["-kama", "-comma", "'kama"]
        .iter()
        .find_map(|s| lower.strip_suffix(s))
        .filter(|w| !w.is_empty())
        .map(|w| (w.len(), ','));
    let colon = || {
        COLON_SOUNDS
            .iter()
            .filter_map(|c| lower.strip_suffix(c))
            .find(|h| HEADINGS.contains(h))
            .map(|h| (h.len(), ':'))
    };
    let (cut, p) = comma.or_else(colon)?;
    Some(format!("{lead}{}{p}", &core[..cut]))
}

/// The command spanning `toks[i..]`, if any, and how many words it takes.
fn command_at(toks: &[Tok], i: usize, dictating: bool) -> Option<(usize, Action)> {
    for (words, action) in COMMANDS {
        let n = words.len();
        if i + n > toks.len() {
            continue;
        }
        let fits = (0..n).all(|k| core_lower(&toks[i + k]) == words[k])
            && (0..n.saturating_sub(1)).all(|k| split_punct(&toks[i + k].text).2.is_empty());
        // "Kama" with a capital is a name; only the lowercase word is a heard "comma".
        let name = words[0] == "kama" && split_punct(&toks[i].text).1.starts_with('K');
        if fits && !name && is_command(toks, i, n, *action, dictating) {
            return Some((n, *action));
        }
    }
    glued_break(toks, i).map(|a| (1, a))
}

/// Commands recognised by the strict rules before the speaker counts as one who
/// dictates punctuation.
const DICTATING_COMMANDS: usize = 2;

/// Carries out the commands in `toks`, recording each as an applied correction.
pub(crate) fn apply(toks: Vec<Tok>, corrections: &mut Vec<Correction>) -> Vec<Tok> {
    let dictating = (0..toks.len())
        .filter(|&i| command_at(&toks, i, false).is_some())
        .nth(DICTATING_COMMANDS - 1)
        .is_some();
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut capitalise_next = false;
    let mut i = 0;
    while i < toks.len() {
        if let Some(text) = glued_punct(&toks[i]) {
            let heading = text.ends_with(':');
            corrections.push(Correction::replaced(
                &toks[i],
                text.clone(),
                "spoken dictation command",
            ));
            let mut t = toks[i].clone();
            t.text = if capitalise_next {
                capitalise(&text)
            } else {
                text
            };
            capitalise_next = heading;
            out.push(t);
            i += 1;
            continue;
        }
        let matched = command_at(&toks, i, dictating);
        let Some((n, action)) = matched else {
            let mut t = toks[i].clone();
            if capitalise_next {
                t.text = capitalise(&t.text);
                capitalise_next = false;
            }
            out.push(t);
            i += 1;
            continue;
        };
        let span = &toks[i..i + n];
        let from = span
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let src = (span[0].src.0, span[n - 1].src.1);
        let (start, end) = (span[0].start, span[n - 1].end);
        match action {
            Action::Punct(p) => {
                if let Some(prev) = out.last_mut() {
                    let (lead, core, _) = split_punct(&prev.text);
                    // Keep closing brackets/quotes the recogniser wrote; replace its punctuation.
                    let trail: String = split_punct(&prev.text)
                        .2
                        .chars()
                        .filter(|c| !matches!(c, '.' | ',' | ';' | ':' | '?' | '!'))
                        .collect();
                    prev.text = format!("{lead}{core}{trail}{p}");
                }
                capitalise_next = matches!(p, "." | "?" | "!");
            }
            Action::Break(b) => {
                if let Some(prev) = out.last_mut() {
                    if prev.text.ends_with('\n') {
                        // "new line new paragraph": keep the larger break.
                        if b.len() > prev.text.len() {
                            prev.text = b.to_string();
                        }
                    } else {
                        out.push(Tok {
                            text: b.to_string(),
                            start,
                            end,
                            prob: None,
                            src,
                            ..Default::default()
                        });
                    }
                } else {
                    out.push(Tok {
                        text: b.to_string(),
                        start,
                        end,
                        prob: None,
                        src,
                        ..Default::default()
                    });
                }
                capitalise_next = true;
            }
        }
        let to = match action {
            Action::Punct(p) | Action::Break(p) => p,
        };
        corrections.push(Correction {
            word_start: src.0,
            word_end: src.1,
            from,
            to: to.to_string(),
            score: 0.9,
            applied: true,
            reason: "spoken dictation command".into(),
            start: 0.0,
            end: 0.0,
            decision: None,
        });
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        let toks = super::super::token::tokenize(text)
            .into_iter()
            .enumerate()
            .map(|(i, w)| Tok {
                text: w,
                start: i as f64,
                end: i as f64 + 0.5,
                prob: None,
                src: (i, i + 1),
                ..Default::default()
            })
            .collect();
        let mut c = Vec::new();
        let out = apply(toks, &mut c);
        crate::transcript::join_words(out.iter().map(|t| t.text.as_str()))
    }

    #[test]
    fn commands_and_words() {
        assert_eq!(run("fine period new line next"), "fine.\nNext");
        assert_eq!(run("daily, period. He"), "daily. He");
        assert_eq!(run("a b semicolon c"), "a b; c");
        assert_eq!(run("her period was late"), "her period was late");
        assert_eq!(run("period"), "period");
        assert_eq!(run("new paragraph new paragraph x"), "\n\nX");
    }

    #[test]
    fn layout_commands_written_as_one_word() {
        assert_eq!(run("high period. Newline, number two"), "high.\nNumber two");
        assert_eq!(run("daily period, neuline, metformin"), "daily.\nMetformin");
        assert_eq!(run("colon, new-lined, one"), "colon,\nOne");
        assert_eq!(run("high period. neoparagraph, plan"), "high.\n\nPlan");
        // After a determiner it is a word.
        assert_eq!(run("a newline character"), "a newline character");
        // Heard as a plural.
        assert_eq!(
            run("general period. New lines, procedure"),
            "general.\nProcedure"
        );
        assert_eq!(run("two new lines of therapy"), "two new lines of therapy");
        assert_eq!(run("the newsletter"), "the newsletter");
        // Two words, and "paragraph" with its vowels lost.
        assert_eq!(
            run("medications colon new lined, aspirin"),
            "medications:\nAspirin"
        );
        assert_eq!(
            run("fever period. Neopereograph, findings"),
            "fever.\n\nFindings"
        );
        assert_eq!(run("a new lined jacket"), "a new lined jacket");
    }

    #[test]
    fn colon_glued_to_a_heading() {
        assert_eq!(
            run("fine period. Plancolin, increase metoprolol"),
            "fine. Plan: Increase metoprolol"
        );
        assert_eq!(run("neoparagraph plancolden stop it"), "\n\nPlan: Stop it");
        // Other words ending in the letters stay.
        assert_eq!(
            run("the sigmoid colon and mesocolon"),
            "the sigmoid colon and mesocolon"
        );
    }

    #[test]
    fn comma_heard_as_kama() {
        assert_eq!(
            run("patient Clair Donovan-Kama, medical record number 506711-Kama, date"),
            "patient Clair Donovan, medical record number 506711, date"
        );
        assert_eq!(
            run("nausea, vomiting, kama, and polyuria"),
            "nausea, vomiting, and polyuria"
        );
        // With a capital, on its own, it is a name.
        assert_eq!(run("seen by Dr. Kama today"), "seen by Dr. Kama today");
    }

    #[test]
    fn a_speaker_who_dictates_punctuation_ends_sentences_before_small_letters() {
        // The recogniser wrote no capitals here; other commands show the speaker
        // dictates punctuation.
        assert_eq!(
            run("history colon stable comma born 1952 period date of admission period attending"),
            "history: stable, born 1952. Date of admission. Attending"
        );
        // Without other commands a lowercase word after "period" keeps it a word.
        assert_eq!(run("a 1952 period date"), "a 1952 period date");
        assert_eq!(run("born 1952 period date"), "born 1952 period date");
        // Nouns stay nouns in a dictated text too.
        assert_eq!(
            run("fine period. New line a period of rest comma and her period was late"),
            "fine.\nA period of rest, and her period was late"
        );
    }
}
