//! HL7 v2.5.1 MDM: T02 (original document with content) or T10 (replacement
//! of a signed document), text as one TX OBX per line.

use super::{completion_status, loinc, text_lines, Report, Stamp};

/// Field, component, repetition, escape, subcomponent: the MSH-2 set.
const ENCODING_CHARS: &str = "^~\\&";

/// Escapes HL7 delimiters so data can never shift fields, components or
/// segments. Control characters (CR, LF, MLLP framing bytes) and Unicode line
/// separators become spaces: HL7 has no escape for a raw segment break.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A person's name split for XPN (family^given^middle^suffix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName {
    pub family: String,
    pub given: String,
    /// Second and further given names or initials.
    pub middle: String,
    pub suffix: String,
}

fn is_suffix(token: &str) -> bool {
    let t = token.trim_end_matches('.').to_ascii_lowercase();
    matches!(t.as_str(), "jr" | "sr" | "ii" | "iii" | "iv")
}

/// Lower-case particles that belong to the family name ("de la Cruz").
fn is_particle(token: &str) -> bool {
    matches!(
        token.to_ascii_lowercase().as_str(),
        "van"
            | "von"
            | "de"
            | "del"
            | "della"
            | "der"
            | "den"
            | "di"
            | "da"
            | "du"
            | "la"
            | "le"
            | "ter"
            | "ten"
            | "st"
            | "st."
            | "bin"
            | "ibn"
            | "al"
            | "el"
    )
}

/// Splits a name as entered: "Last, First Middle" (the comma marks the family
/// name, so compound family names survive) or "First Middle Last" (family name
/// is the last word plus any particles before it). "Jr", "III", ... go to the
/// suffix.
pub fn parse_name(raw: &str) -> PersonName {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut name = PersonName::default();
    let mut suffixes = Vec::new();
    // Removes suffix words from a part, except its first word.
    let mut take_suffixes = |part: Vec<String>| -> Vec<String> {
        let mut kept = Vec::with_capacity(part.len());
        for (i, w) in part.into_iter().enumerate() {
            if i > 0 && is_suffix(&w) {
                suffixes.push(w);
            } else {
                kept.push(w);
            }
        }
        kept
    };
    if let Some((family, given)) = raw.split_once(',') {
        let family = take_suffixes(words(family));
        let given = take_suffixes(words(given));
        name.family = family.join(" ");
        if let Some((first, rest)) = given.split_first() {
            name.given = first.clone();
            name.middle = rest.join(" ");
        }
    } else {
        let mut w = words(raw);
        // A trailing suffix only when a first and last name remain.
        while w.len() > 2 && is_suffix(&w[w.len() - 1]) {
            suffixes.insert(0, w.pop().unwrap_or_default());
        }
        match w.len() {
            0 => {}
            1 => name.family = w[0].clone(),
            n => {
                let mut start = n - 1;
                while start > 1 && is_particle(&w[start - 1]) {
                    start -= 1;
                }
                name.given = w[0].clone();
                name.middle = w[1..start].join(" ");
                name.family = w[start..].join(" ");
            }
        }
    }
    name.suffix = suffixes.join(" ");
    name
}

/// Joins components with `^`, dropping trailing empty ones; parts must be
/// escaped already.
fn components(parts: &[&str]) -> String {
    let end = parts
        .iter()
        .rposition(|p| !p.is_empty())
        .map_or(0, |i| i + 1);
    parts[..end].join("^")
}

/// XPN: family^given^middle^suffix, escaped.
fn xpn(raw: &str) -> String {
    let n = parse_name(raw);
    components(&[
        &escape(&n.family),
        &escape(&n.given),
        &escape(&n.middle),
        &escape(&n.suffix),
    ])
}

/// A segment from its fields (field 1 first), trailing empty fields dropped.
fn segment(name: &str, fields: &[String]) -> String {
    let end = fields
        .iter()
        .rposition(|f| !f.is_empty())
        .map_or(0, |i| i + 1);
    let mut s = String::from(name);
    for f in &fields[..end] {
        s.push('|');
        s.push_str(f);
    }
    s
}

/// Sets 1-based field `n` in a field list, growing it as needed.
fn set(fields: &mut Vec<String>, n: usize, value: String) {
    if fields.len() < n {
        fields.resize(n, String::new());
    }
    fields[n - 1] = value;
}

/// HL7 DTM of an RFC 3339 time; empty when unparseable, so a bad value never
/// reaches the message as free text.
fn ts(rfc3339: &str) -> String {
    Stamp::parse(rfc3339).map(|s| s.hl7()).unwrap_or_default()
}

/// Current UTC time, for when the caller's `now` is unusable: MSH-7 is required.
fn now_utc() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// YYYY-MM-DD -> YYYYMMDD; empty when not a valid date.
fn hl7_date(ymd: &str) -> String {
    let ymd = ymd.trim();
    let b = ymd.as_bytes();
    let valid = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (|| {
            let month = time::Month::try_from(ymd[5..7].parse::<u8>().ok()?).ok()?;
            time::Date::from_calendar_date(ymd[..4].parse().ok()?, month, ymd[8..].parse().ok()?)
                .ok()
        })()
        .is_some();
    if valid {
        ymd.replace('-', "")
    } else {
        String::new()
    }
}

/// HL7 table 0270 document type for a work type. 0270 has no letter code and
/// is user-defined, so letters (and unknown work types) send the work type
/// code itself; OBX-3's LOINC still identifies the kind of document.
fn document_type(work_type: &str) -> String {
    match work_type {
        "hp" => "HP".into(),
        "progress" => "PR".into(),
        "discharge" => "DS".into(),
        "operative" => "OP".into(),
        "radiology" => "DI".into(),
        other => escape(other),
    }
}

/// TXA-17. A revision without a signature is never reported as legally
/// authenticated, even when the dictation's state is `signed` (e.g. an older
/// revision); a signed revision always is.
fn txa17(r: &Report) -> &'static str {
    if r.signed.is_some() {
        return "LA";
    }
    match completion_status(&r.state) {
        "LA" => "DO",
        s => s,
    }
}

/// HL7 v2.5.1 MDM message for one report revision: MSH, EVN, PID, PV1, TXA,
/// then one OBX per text line (empty lines kept as empty OBX so paragraphs
/// survive; empty text still sends one OBX). Segments end with "\r".
///
/// Timestamps are DTM with offset (YYYYMMDDHHMMSS+ZZZZ). An unparseable
/// `now_rfc3339` falls back to the current UTC time; other unparseable times
/// leave their field empty.
pub fn hl7_mdm(r: &Report, message_id: &str, now_rfc3339: &str) -> String {
    let now = Stamp::parse(now_rfc3339).map_or_else(now_utc, |s| s.hl7());
    let event = if r.is_amendment() { "T10" } else { "T02" };
    let signed = r.signed.as_ref();
    let mut segments = Vec::new();

    // MSH: field 1 is the separator itself, so the list starts at MSH-2.
    let mut msh = Vec::new();
    set(&mut msh, 2, ENCODING_CHARS.into());
    set(&mut msh, 3, "MEDSCRIBE".into());
    set(&mut msh, 4, escape(&r.office));
    set(&mut msh, 7, now.clone());
    set(&mut msh, 9, format!("MDM^{event}^MDM_T02"));
    set(&mut msh, 10, escape(message_id));
    set(&mut msh, 11, "P".into());
    set(&mut msh, 12, "2.5.1".into());
    // Report text is UTF-8; say so rather than let receivers assume ASCII.
    set(&mut msh, 18, "UNICODE UTF-8".into());
    segments.push(segment("MSH", &msh[1..]));

    segments.push(segment("EVN", &[event.into(), now]));

    let mut pid = Vec::new();
    set(&mut pid, 1, "1".into());
    set(
        &mut pid,
        3,
        components(&[&escape(&r.mrn), "", "", &escape(&r.office), "MR"]),
    );
    set(&mut pid, 5, xpn(&r.patient_name));
    set(&mut pid, 7, hl7_date(&r.dob));
    segments.push(segment("PID", &pid));

    segments.push(segment("PV1", &["1".into(), "O".into()]));

    let edited = ts(&r.edited_at);
    let physician = escape(&r.physician);
    let mut txa = Vec::new();
    set(&mut txa, 1, "1".into());
    set(&mut txa, 2, document_type(&r.work_type));
    set(&mut txa, 3, "TX".into());
    set(&mut txa, 4, edited.clone());
    set(&mut txa, 5, physician.clone());
    set(&mut txa, 6, ts(&r.created_at));
    set(&mut txa, 7, edited.clone());
    set(&mut txa, 8, edited);
    set(&mut txa, 9, physician.clone());
    set(&mut txa, 10, physician);
    if let Some(mt) = &r.transcriptionist {
        set(&mut txa, 11, escape(mt));
    }
    set(&mut txa, 12, escape(&r.document_number()));
    if let Some(parent) = r.replaces {
        set(
            &mut txa,
            13,
            escape(&super::document_number(r.dictation_id, parent)),
        );
    }
    set(&mut txa, 17, txa17(r).into());
    if let Some(sig) = signed {
        // PPN: person in component 1, time of signing in component 15.
        let time = ts(&sig.signed_at);
        let mut ppn = vec![""; 15];
        let signer = escape(&sig.signer);
        ppn[0] = signer.as_str();
        ppn[14] = time.as_str();
        set(&mut txa, 22, components(&ppn));
    }
    segments.push(segment("TXA", &txa));

    let (code, display) = loinc(&r.work_type);
    let observation = format!("{}^{}^LN", escape(code), escape(display));
    let status = if signed.is_some() { "F" } else { "P" };
    for (i, line) in text_lines(&r.text).iter().enumerate() {
        let mut obx = Vec::new();
        set(&mut obx, 1, (i + 1).to_string());
        set(&mut obx, 2, "TX".into());
        set(&mut obx, 3, observation.clone());
        set(&mut obx, 5, escape(line));
        set(&mut obx, 11, status.into());
        segments.push(segment("OBX", &obx));
    }

    let mut out = segments.join("\r");
    out.push('\r');
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{amended, draft, sample};
    use super::super::Signature;
    use super::*;

    /// Segments as field lists. For MSH, index n is MSH-n (index 1 is "|").
    fn parse(msg: &str) -> Vec<Vec<String>> {
        assert!(msg.ends_with('\r'));
        msg.trim_end_matches('\r')
            .split('\r')
            .map(|seg| {
                let mut f: Vec<String> = seg.split('|').map(str::to_string).collect();
                if f[0] == "MSH" {
                    f.insert(1, "|".into());
                }
                f
            })
            .collect()
    }

    fn seg<'a>(segs: &'a [Vec<String>], name: &str) -> &'a [String] {
        segs.iter().find(|s| s[0] == name).unwrap()
    }

    /// Field n of a segment, "" when absent.
    fn field(s: &[String], n: usize) -> &str {
        s.get(n).map_or("", String::as_str)
    }

    fn unescape(s: &str) -> String {
        s.replace("\\F\\", "|")
            .replace("\\S\\", "^")
            .replace("\\T\\", "&")
            .replace("\\R\\", "~")
            .replace("\\E\\", "\\")
    }

    const NOW: &str = "2025-01-03T12:00:00Z";

    #[test]
    fn segment_order_and_header() {
        let msg = hl7_mdm(&sample(), "MSG0001", NOW);
        let segs = parse(&msg);
        let names: Vec<&str> = segs.iter().map(|s| s[0].as_str()).collect();
        assert_eq!(
            names,
            ["MSH", "EVN", "PID", "PV1", "TXA", "OBX", "OBX", "OBX", "OBX", "OBX"]
        );
        let msh = &segs[0];
        assert!(msg.starts_with("MSH|^~\\&|MEDSCRIBE|Main St|"));
        assert_eq!(field(msh, 2), "^~\\&");
        assert_eq!(field(msh, 3), "MEDSCRIBE");
        assert_eq!(field(msh, 4), "Main St");
        assert_eq!(field(msh, 5), "");
        assert_eq!(field(msh, 7), "20250103120000+0000");
        assert_eq!(field(msh, 9), "MDM^T02^MDM_T02");
        assert_eq!(field(msh, 10), "MSG0001");
        assert_eq!(field(msh, 11), "P");
        assert_eq!(field(msh, 12), "2.5.1");
        assert_eq!(field(msh, 18), "UNICODE UTF-8");
        let evn = seg(&segs, "EVN");
        assert_eq!(
            (field(evn, 1), field(evn, 2)),
            ("T02", "20250103120000+0000")
        );
        let pid = seg(&segs, "PID");
        assert_eq!(field(pid, 1), "1");
        assert_eq!(field(pid, 3), "MRN001^^^Main St^MR");
        assert_eq!(field(pid, 5), "Doe^Jane^Q");
        assert_eq!(field(pid, 7), "19700315");
        let pv1 = seg(&segs, "PV1");
        assert_eq!((field(pv1, 1), field(pv1, 2)), ("1", "O"));
    }

    #[test]
    fn txa_fields() {
        let segs = parse(&hl7_mdm(&sample(), "M", NOW));
        let txa = seg(&segs, "TXA");
        assert_eq!(field(txa, 1), "1");
        assert_eq!(field(txa, 2), "HP");
        assert_eq!(field(txa, 3), "TX");
        assert_eq!(field(txa, 4), "20250102093015+0000");
        assert_eq!(field(txa, 5), "drsmith");
        assert_eq!(field(txa, 6), "20250102080000+0000");
        assert_eq!(field(txa, 7), "20250102093015+0000");
        assert_eq!(field(txa, 9), "drsmith");
        assert_eq!(field(txa, 11), "mt1");
        assert_eq!(field(txa, 12), "42-7");
        assert_eq!(field(txa, 13), "");
        assert_eq!(field(txa, 17), "LA");
        let ppn: Vec<&str> = field(txa, 22).split('^').collect();
        assert_eq!(ppn.len(), 15);
        assert_eq!(ppn[0], "drsmith");
        assert_eq!(ppn[14], "20250102100000+0000");

        let d = draft();
        let segs = parse(&hl7_mdm(
            &Report {
                transcriptionist: None,
                ..d
            },
            "M",
            NOW,
        ));
        let txa = seg(&segs, "TXA");
        assert_eq!(field(txa, 11), "");
        assert_eq!(field(txa, 17), "IP");
        assert_eq!(field(txa, 22), "");
    }

    #[test]
    fn t02_versus_t10() {
        let segs = parse(&hl7_mdm(&amended(), "M", NOW));
        assert_eq!(field(&segs[0], 9), "MDM^T10^MDM_T02");
        assert_eq!(field(seg(&segs, "EVN"), 1), "T10");
        let txa = seg(&segs, "TXA");
        assert_eq!(field(txa, 12), "42-9");
        assert_eq!(field(txa, 13), "42-7");

        let segs = parse(&hl7_mdm(&sample(), "M", NOW));
        assert_eq!(field(&segs[0], 9), "MDM^T02^MDM_T02");
        assert_eq!(field(seg(&segs, "EVN"), 1), "T02");
    }

    #[test]
    fn txa17_for_every_state() {
        for (state, code) in [
            ("uploaded", "DI"),
            ("transcribing", "DI"),
            ("failed", "DI"),
            ("draft", "IP"),
            ("in_edit", "IP"),
            ("qa", "IP"),
            ("awaiting_signature", "DO"),
        ] {
            let r = Report {
                state: state.into(),
                ..draft()
            };
            let segs = parse(&hl7_mdm(&r, "M", NOW));
            assert_eq!(field(seg(&segs, "TXA"), 17), code, "{state}");
        }
        let segs = parse(&hl7_mdm(&sample(), "M", NOW));
        assert_eq!(field(seg(&segs, "TXA"), 17), "LA");
        // State "signed" but this revision carries no signature: not authenticated.
        let unsigned = Report {
            signed: None,
            ..sample()
        };
        let segs = parse(&hl7_mdm(&unsigned, "M", NOW));
        assert_eq!(field(seg(&segs, "TXA"), 17), "DO");
    }

    #[test]
    fn obx_per_line_with_paragraphs() {
        let segs = parse(&hl7_mdm(&sample(), "M", NOW));
        let obx: Vec<_> = segs.iter().filter(|s| s[0] == "OBX").collect();
        let text = sample().text;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(obx.len(), lines.len());
        for (i, (o, line)) in obx.iter().zip(&lines).enumerate() {
            assert_eq!(field(o, 1), (i + 1).to_string());
            assert_eq!(field(o, 2), "TX");
            assert_eq!(field(o, 3), "34117-2^History and physical note^LN");
            assert_eq!(field(o, 4), "");
            assert_eq!(field(o, 5), *line);
            assert_eq!(field(o, 11), "F");
            assert_eq!(o.len(), 12);
        }
        assert_eq!(field(obx[2], 5), "", "paragraph break kept");

        let segs = parse(&hl7_mdm(&draft(), "M", NOW));
        assert!(segs
            .iter()
            .filter(|s| s[0] == "OBX")
            .all(|o| field(o, 11) == "P"));

        let crlf = Report {
            text: "one\r\ntwo\r\n\r\nthree\r\n".into(),
            ..sample()
        };
        let segs = parse(&hl7_mdm(&crlf, "M", NOW));
        let values: Vec<&str> = segs
            .iter()
            .filter(|s| s[0] == "OBX")
            .map(|o| field(o, 5))
            .collect();
        assert_eq!(values, ["one", "two", "", "three"]);

        let empty = Report {
            text: String::new(),
            ..sample()
        };
        let segs = parse(&hl7_mdm(&empty, "M", NOW));
        assert_eq!(segs.iter().filter(|s| s[0] == "OBX").count(), 1);
    }

    #[test]
    fn delimiters_in_data_do_not_shift_fields() {
        let nasty = "a|b^c&d~e\\f";
        let r = Report {
            office: nasty.into(),
            patient_name: "O|Brien^X, Ma&ry~Ann\\e".into(),
            mrn: nasty.into(),
            physician: nasty.into(),
            transcriptionist: Some(nasty.into()),
            text: format!("line {nasty}\nplain"),
            ..sample()
        };
        let msg = hl7_mdm(&r, "id|^&~\\", NOW);
        let segs = parse(&msg);
        assert_eq!(segs.len(), 5 + 2);
        let msh = &segs[0];
        assert_eq!(msh.len(), 19);
        assert_eq!(field(msh, 2), "^~\\&");
        assert_eq!(unescape(field(msh, 4)), nasty);
        assert_eq!(unescape(field(msh, 10)), "id|^&~\\");
        assert_eq!(field(msh, 9), "MDM^T02^MDM_T02");

        let pid = seg(&segs, "PID");
        assert_eq!(pid.len(), 8);
        let cx: Vec<&str> = field(pid, 3).split('^').collect();
        assert_eq!(cx.len(), 5);
        assert_eq!(unescape(cx[0]), nasty);
        assert_eq!(unescape(cx[3]), nasty);
        assert_eq!(cx[4], "MR");
        let xpn: Vec<&str> = field(pid, 5).split('^').collect();
        assert_eq!(xpn.len(), 2);
        assert_eq!(unescape(xpn[0]), "O|Brien^X");
        assert_eq!(unescape(xpn[1]), "Ma&ry~Ann\\e");
        assert!(!field(pid, 5).contains('&') && !field(pid, 5).contains('~'));
        assert_eq!(field(pid, 7), "19700315");

        let txa = seg(&segs, "TXA");
        assert_eq!(txa.len(), 23);
        assert_eq!(unescape(field(txa, 5)), nasty);
        assert_eq!(unescape(field(txa, 11)), nasty);
        assert_eq!(field(txa, 12), "42-7");
        assert_eq!(field(txa, 17), "LA");

        let obx = seg(&segs, "OBX");
        assert_eq!(obx.len(), 12);
        assert_eq!(unescape(field(obx, 5)), format!("line {nasty}"));
        assert_eq!(field(obx, 11), "F");
    }

    #[test]
    fn line_breaks_in_fields_never_split_segments() {
        let r = Report {
            office: "Main\rSt".into(),
            patient_name: "Jane\r\nDoe".into(),
            mrn: "12\n34".into(),
            physician: "dr\u{0b}x\u{1c}".into(),
            text: "one\u{2028}two\ttab".into(),
            ..sample()
        };
        let msg = hl7_mdm(&r, "M\r\n", NOW);
        assert!(!msg.contains('\n'));
        assert!(!msg.chars().any(|c| c.is_control() && c != '\r'));
        let segs = parse(&msg);
        let names: Vec<&str> = segs.iter().map(|s| s[0].as_str()).collect();
        assert_eq!(names, ["MSH", "EVN", "PID", "PV1", "TXA", "OBX"]);
        assert_eq!(field(&segs[0], 4), "Main St");
        let pid = seg(&segs, "PID");
        assert_eq!(field(pid, 3), "12 34^^^Main St^MR");
        assert_eq!(field(pid, 5), "Doe^Jane");
        assert_eq!(field(seg(&segs, "OBX"), 5), "one two tab");
    }

    #[test]
    fn names() {
        // [family, given, middle, suffix]
        let p = |s: &str| {
            let n = parse_name(s);
            [n.family, n.given, n.middle, n.suffix]
        };
        assert_eq!(p("Jane Q Doe"), ["Doe", "Jane", "Q", ""]);
        assert_eq!(p("Doe, Jane"), ["Doe", "Jane", "", ""]);
        assert_eq!(
            p("  Doe ,  Jane   Quinn  Marie "),
            ["Doe", "Jane", "Quinn Marie", ""]
        );
        assert_eq!(p("de la Cruz, Maria"), ["de la Cruz", "Maria", "", ""]);
        assert_eq!(p("Maria de la Cruz"), ["de la Cruz", "Maria", "", ""]);
        assert_eq!(
            p("Ludwig van Beethoven"),
            ["van Beethoven", "Ludwig", "", ""]
        );
        assert_eq!(p("John A Smith Jr."), ["Smith", "John", "A", "Jr."]);
        assert_eq!(p("Smith Jr, John"), ["Smith", "John", "", "Jr"]);
        assert_eq!(p("Smith, John, III"), ["Smith", "John", "", "III"]);
        assert_eq!(p("Cher"), ["Cher", "", "", ""]);
        assert_eq!(p(""), ["", "", "", ""]);
        assert_eq!(p(" , "), ["", "", "", ""]);
        assert_eq!(xpn("Smith, John, III"), "Smith^John^^III");
        assert_eq!(xpn("Cher"), "Cher");
        assert_eq!(xpn(""), "");
    }

    #[test]
    fn dates_and_bad_times() {
        assert_eq!(hl7_date("1970-03-15"), "19700315");
        assert_eq!(hl7_date("1970-02-30"), "");
        assert_eq!(hl7_date("15/03/1970"), "");
        assert_eq!(hl7_date("1970-3-15"), "");
        let r = Report {
            edited_at: "yesterday".into(),
            dob: "unknown".into(),
            signed: Some(Signature {
                signed_at: "later".into(),
                ..Signature::default()
            }),
            ..sample()
        };
        let msg = hl7_mdm(&r, "M", "not a time");
        let segs = parse(&msg);
        assert_eq!(field(&segs[0], 7).len(), "20250103120000+0000".len());
        assert!(field(&segs[0], 7).ends_with("+0000"));
        assert_eq!(field(seg(&segs, "PID"), 7), "");
        let txa = seg(&segs, "TXA");
        assert_eq!(field(txa, 4), "");
        assert_eq!(field(txa, 17), "LA");
        assert!(!msg.contains("yesterday") && !msg.contains("later") && !msg.contains("unknown"));
    }

    #[test]
    fn document_types() {
        for (wt, code, ln) in [
            ("hp", "HP", "34117-2"),
            ("progress", "PR", "11506-3"),
            ("discharge", "DS", "18842-5"),
            ("operative", "OP", "11504-8"),
            ("radiology", "DI", "18748-4"),
            ("letter", "letter", "51852-2"),
        ] {
            let r = Report {
                work_type: wt.into(),
                ..sample()
            };
            let segs = parse(&hl7_mdm(&r, "M", NOW));
            assert_eq!(field(seg(&segs, "TXA"), 2), code);
            assert!(field(seg(&segs, "OBX"), 3).starts_with(&format!("{ln}^")));
        }
    }
}
