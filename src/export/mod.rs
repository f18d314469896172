//! EHR exports of one report revision: HL7 v2.5.1 MDM ([`hl7_mdm`]) and FHIR R4
//! DocumentReference ([`fhir_document_reference`]).
//!
//! Pure functions over a [`Report`] the caller has already loaded: no I/O, no
//! logging, so patient data never leaves through this module except in the
//! returned document.

use std::fmt;

pub mod fhir;
pub mod hl7;

pub use fhir::fhir_document_reference;
pub use hl7::hl7_mdm;

/// Everything an export needs about one revision of a report. No I/O.
///
/// `Debug` is hand-written and omits patient data, so a stray `{:?}` in a log
/// cannot leak it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub dictation_id: i64,
    /// Sending facility.
    pub office: String,
    /// As entered, e.g. "Jane Q Doe" or "Doe, Jane".
    pub patient_name: String,
    pub mrn: String,
    /// YYYY-MM-DD.
    pub dob: String,
    /// hp | progress | discharge | operative | letter | radiology
    pub work_type: String,
    /// Dictating physician's user name / display name.
    pub physician: String,
    pub transcriptionist: Option<String>,
    /// uploaded|transcribing|draft|in_edit|qa|awaiting_signature|signed|failed
    pub state: String,
    /// Revision id being exported.
    pub revision: i64,
    /// 1 for the original report; n > 1 for the n-th signed version (amendment).
    pub version: i64,
    /// RFC 3339: dictation uploaded.
    pub created_at: String,
    /// RFC 3339: this revision made.
    pub edited_at: String,
    /// Present when this revision is the signed one.
    pub signed: Option<Signature>,
    /// Revision id of the previously signed version this one replaces.
    pub replaces: Option<i64>,
    /// The report text (paragraphs separated by "\n\n", lines by "\n").
    pub text: String,
}

/// A physician's authentication of one revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signature {
    pub signer: String,
    /// RFC 3339.
    pub signed_at: String,
    /// Hex SHA-256 of the canonical content that was signed.
    pub sha256: String,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("dictation_id", &self.dictation_id)
            .field("revision", &self.revision)
            .field("version", &self.version)
            .field("state", &self.state)
            .field("work_type", &self.work_type)
            .field("signed", &self.signed.is_some())
            .field("replaces", &self.replaces)
            .finish_non_exhaustive()
    }
}

impl Report {
    /// A later signed version replacing an earlier one: MDM^T10 and FHIR
    /// `amended`. Either signal counts so a caller that sets only one of them
    /// still gets a replacement, never a second "original".
    pub fn is_amendment(&self) -> bool {
        self.version > 1 || self.replaces.is_some()
    }

    /// The document number both formats use: "<dictation_id>-<revision>".
    pub fn document_number(&self) -> String {
        document_number(self.dictation_id, self.revision)
    }
}

/// "<dictation_id>-<revision>": stable per revision, so a receiver can match
/// a replacement (TXA-13, relatesTo) to what it replaces.
pub fn document_number(dictation_id: i64, revision: i64) -> String {
    format!("{dictation_id}-{revision}")
}

/// Human-readable work type, used for titles.
pub fn work_type_label(code: &str) -> &'static str {
    match code {
        "hp" => "History and physical",
        "progress" => "Progress note",
        "discharge" => "Discharge summary",
        "operative" => "Operative note",
        "letter" => "Letter",
        "radiology" => "Radiology report",
        _ => "Clinical note",
    }
}

/// LOINC document type (code, display) per work type. Unknown work types get
/// the generic "Note" rather than a wrong specific kind.
pub fn loinc(code: &str) -> (&'static str, &'static str) {
    match code {
        "hp" => ("34117-2", "History and physical note"),
        "progress" => ("11506-3", "Progress note"),
        "discharge" => ("18842-5", "Discharge summary"),
        "operative" => ("11504-8", "Surgical operation note"),
        "radiology" => ("18748-4", "Diagnostic imaging study"),
        "letter" => ("51852-2", "Letter"),
        _ => ("34109-9", "Note"),
    }
}

/// HL7 table 0271 document completion status (TXA-17) for a workflow state.
/// Unknown states report "IP": never claim more completion than we know.
pub fn completion_status(state: &str) -> &'static str {
    match state {
        "uploaded" | "transcribing" | "failed" => "DI",
        "draft" | "in_edit" | "qa" => "IP",
        "awaiting_signature" => "DO",
        "signed" => "LA",
        _ => "IP",
    }
}

/// An RFC 3339 timestamp split into parts, so both formats can re-render it
/// without the `time` crate's parsing feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Fraction-of-second digits, without the dot; may be empty.
    pub frac: String,
    /// None for "Z"; otherwise sign and magnitude of the UTC offset.
    pub offset: Option<(char, u8, u8)>,
}

impl Stamp {
    /// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" (also `t`, `z`, space).
    pub fn parse(s: &str) -> Option<Stamp> {
        let s = s.trim();
        if !s.is_ascii() || s.len() < 20 {
            return None;
        }
        let b = s.as_bytes();
        let num = |from: usize, to: usize| -> Option<u16> {
            let part = &s[from..to];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (year, month, day) = (num(0, 4)?, num(5, 7)? as u8, num(8, 10)? as u8);
        let (hour, minute, second) = (num(11, 13)? as u8, num(14, 16)? as u8, num(17, 19)? as u8);
        let month_t = time::Month::try_from(month).ok()?;
        time::Date::from_calendar_date(i32::from(year), month_t, day).ok()?;
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = &s[19..];
        let mut frac = String::new();
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            frac = r[..n].to_string();
            rest = &r[n..];
        }
        let offset = match rest {
            "Z" | "z" => None,
            _ => {
                let rb = rest.as_bytes();
                if rb.len() != 6 || !matches!(rb[0], b'+' | b'-') || rb[3] != b':' {
                    return None;
                }
                let digits = |r: &str| -> Option<u8> {
                    if r.bytes().all(|c| c.is_ascii_digit()) {
                        r.parse().ok()
                    } else {
                        None
                    }
                };
                let (h, m) = (digits(&rest[1..3])?, digits(&rest[4..6])?);
                if h > 23 || m > 59 {
                    return None;
                }
                Some((rb[0] as char, h, m))
            }
        };
        Some(Stamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            frac,
            offset,
        })
    }

    /// HL7 DTM: YYYYMMDDHHMMSS+ZZZZ. The offset is kept because HL7 reads a
    /// zone-less time as the sender's local time, which may not be UTC.
    pub fn hl7(&self) -> String {
        let (sign, oh, om) = self.offset.unwrap_or(('+', 0, 0));
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{sign}{oh:02}{om:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// FHIR instant/dateTime: canonical RFC 3339 with upper-case `T`/`Z`.
    pub fn fhir(&self) -> String {
        let frac = if self.frac.is_empty() {
            String::new()
        } else {
            // FHIR allows at most nine fraction digits.
            format!(".{}", &self.frac[..self.frac.len().min(9)])
        };
        let zone = match self.offset {
            None => "Z".to_string(),
            Some((sign, h, m)) => format!("{sign}{h:02}:{m:02}"),
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}{zone}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The report text as lines: CRLF and lone CR count as line breaks, a final
/// newline does not start another line, and empty text is one empty line.
pub(crate) fn text_lines(text: &str) -> Vec<String> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let body = normalized.strip_suffix('\n').unwrap_or(&normalized);
    body.split('\n').map(str::to_string).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A signed original H&P with nothing unusual in it.
    pub(crate) fn sample() -> Report {
        Report {
            dictation_id: 42,
            office: "Main St".into(),
            patient_name: "Jane Q Doe".into(),
            mrn: "MRN001".into(),
            dob: "1970-03-15".into(),
            work_type: "hp".into(),
            physician: "drsmith".into(),
            transcriptionist: Some("mt1".into()),
            state: "signed".into(),
            revision: 7,
            version: 1,
            created_at: "2025-01-02T08:00:00Z".into(),
            edited_at: "2025-01-02T09:30:15Z".into(),
            signed: Some(Signature {
                signer: "drsmith".into(),
                signed_at: "2025-01-02T10:00:00Z".into(),
                sha256: "ab".repeat(32),
            }),
            replaces: None,
            text: "HISTORY\nChest pain.\n\nPLAN\nAdmit.".into(),
        }
    }

    /// The same report as an unsigned draft.
    pub(crate) fn draft() -> Report {
        Report {
            state: "draft".into(),
            signed: None,
            ..sample()
        }
    }

    /// Signed version 2, replacing revision 7.
    pub(crate) fn amended() -> Report {
        let mut r = sample();
        r.revision = 9;
        r.version = 2;
        r.replaces = Some(7);
        r
    }

    #[test]
    fn loinc_and_labels_per_work_type() {
        assert_eq!(loinc("hp"), ("34117-2", "History and physical note"));
        assert_eq!(loinc("progress").0, "11506-3");
        assert_eq!(loinc("discharge").0, "18842-5");
        assert_eq!(loinc("operative").0, "11504-8");
        assert_eq!(loinc("radiology").0, "18748-4");
        assert_eq!(loinc("letter").0, "51852-2");
        assert_eq!(loinc("nonsense").0, "34109-9");
        assert_eq!(work_type_label("hp"), "History and physical");
        assert_eq!(work_type_label("discharge"), "Discharge summary");
        assert_eq!(work_type_label("nonsense"), "Clinical note");
    }

    #[test]
    fn completion_status_table_0271() {
        for (state, code) in [
            ("uploaded", "DI"),
            ("transcribing", "DI"),
            ("failed", "DI"),
            ("draft", "IP"),
            ("in_edit", "IP"),
            ("qa", "IP"),
            ("awaiting_signature", "DO"),
            ("signed", "LA"),
            ("whatever", "IP"),
        ] {
            assert_eq!(completion_status(state), code, "{state}");
        }
    }

    #[test]
    fn debug_omits_patient_data() {
        let s = format!("{:?}", sample());
        assert!(s.contains("42"));
        for secret in ["Jane", "Doe", "MRN001", "1970", "Chest"] {
            assert!(!s.contains(secret), "{secret} leaked into Debug");
        }
    }

    #[test]
    fn amendment_by_version_or_replaces() {
        assert!(!sample().is_amendment());
        assert!(amended().is_amendment());
        let only_replaces = Report {
            replaces: Some(3),
            ..sample()
        };
        assert!(only_replaces.is_amendment());
        assert_eq!(sample().document_number(), "42-7");
    }

    #[test]
    fn stamp_parses_and_renders() {
        let s = Stamp::parse("2025-01-02T09:30:15.123456Z").unwrap();
        assert_eq!(s.hl7(), "20250102093015+0000");
        assert_eq!(s.fhir(), "2025-01-02T09:30:15.123456Z");
        let s = Stamp::parse("2025-07-04t23:59:60-05:30").unwrap();
        assert_eq!(s.hl7(), "20250704235960-0530");
        assert_eq!(s.fhir(), "2025-07-04T23:59:60-05:30");
        for bad in [
            "",
            "2025-01-02",
            "2025-02-30T00:00:00Z",
            "2025-01-02T24:00:00Z",
            "2025-01-02T09:30:15",
            "2025-01-02T09:30:15+5:00",
            "2025-01-02T09:30:15.Z",
            "2025-01-02T09:30:15Zjunk",
            "2025-01-02T09:3é:15Z",
            "+025-01-02T09:30:15Z",
        ] {
            assert_eq!(Stamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_of_text() {
        assert_eq!(text_lines("a\nb"), ["a", "b"]);
        assert_eq!(text_lines("a\r\n\r\nb\rc\n"), ["a", "", "b", "c"]);
        assert_eq!(text_lines(""), [""]);
    }
}
