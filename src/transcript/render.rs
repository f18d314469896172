//! Output formats, all rendered from the canonical [`Transcript`].

use std::fmt::Write;
use std::str::FromStr;

use super::Transcript;
use crate::Error;

/// A file format a transcript can be written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Txt,
    Json,
    Srt,
    Vtt,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Txt, Format::Json, Format::Srt, Format::Vtt];

    /// File extension, also the name used on the command line.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Json => "json",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
        }
    }

    pub fn render(self, t: &Transcript) -> String {
        match self {
            Format::Txt => txt(t),
            Format::Json => json(t),
            Format::Srt => srt(t),
            Format::Vtt => vtt(t),
        }
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Format::ALL
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::Invalid(format!("unknown format {s:?}: use txt, json, srt or vtt"))
            })
    }
}

/// Plain text: the final text, ending in a newline.
pub fn txt(t: &Transcript) -> String {
    let mut s = t.text.trim_end().to_string();
    s.push('\n');
    s
}

/// The canonical JSON document, pretty-printed.
pub fn json(t: &Transcript) -> String {
    let mut s = serde_json::to_string_pretty(t).unwrap_or_default();
    s.push('\n');
    s
}

/// SubRip subtitles, one cue per segment.
pub fn srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, seg) in cues(t).enumerate() {
        let _ = write!(
            out,
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            timestamp(seg.0, ','),
            timestamp(seg.1, ','),
            seg.2
        );
    }
    out
}

/// WebVTT captions, one cue per segment.
pub fn vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for seg in cues(t) {
        let _ = write!(
            out,
            "{} --> {}\n{}\n\n",
            timestamp(seg.0, '.'),
            timestamp(seg.1, '.'),
            seg.2
        );
    }
    out
}

/// Segments as (start, end, text) cues: text on one line (blank lines would end
/// a cue early) and never an empty cue.
fn cues(t: &Transcript) -> impl Iterator<Item = (f64, f64, String)> + '_ {
    t.segments.iter().filter_map(|s| {
        let text = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = text.replace("-->", "->");
        (!text.is_empty()).then(|| (s.start, s.end.max(s.start), text))
    })
}

/// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (VTT).
fn timestamp(seconds: f64, sep: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{ModelRef, Params, Segment, Source, Word, SCHEMA};

    pub(crate) fn sample() -> Transcript {
        let w = |t: &str, s: f64, e: f64| Word {
            text: t.into(),
            start: s,
            end: e,
            probability: 0.9,
        };
        Transcript {
            schema: SCHEMA.into(),
            medscribe_version: "0.0.0".into(),
            created: "2026-01-01T00:00:00Z".into(),
            source: Source {
                file_name: "a.wav".into(),
                sha256: "00".into(),
                duration_s: 4000.0,
                container: "wav".into(),
                codec: "pcm_s16le".into(),
                sample_rate: 16000,
                channels: 1,
            },
            model: ModelRef {
                name: "tiny.en".into(),
                sha256: "11".into(),
            },
            params: Params {
                language: "en".into(),
                prompt: None,
                vad: true,
                vocab: true,
                decoding: "greedy".into(),
                second_pass: false,
                audio_check: false,
            },
            text: "Chest pain.\n\nNo fever.".into(),
            raw_text: "Chest pain period new paragraph no fever period".into(),
            segments: vec![
                Segment {
                    start: 0.0,
                    end: 1.5,
                    text: "Chest pain.".into(),
                    words: vec![w("Chest", 0.0, 0.5), w("pain.", 0.5, 1.5)],
                },
                Segment {
                    start: 3661.25,
                    end: 3662.0,
                    text: "No\nfever.".into(),
                    words: vec![w("No", 3661.25, 3661.5), w("fever.", 3661.5, 3662.0)],
                },
            ],
            corrections: vec![],
        }
    }

    #[test]
    fn srt_numbers_cues_and_uses_commas() {
        let s = srt(&sample());
        assert!(s.starts_with("1\n00:00:00,000 --> 00:00:01,500\nChest pain.\n\n2\n"));
        assert!(s.contains("01:01:01,250 --> 01:01:02,000\nNo fever.\n"));
    }

    #[test]
    fn vtt_has_header_and_dots() {
        let s = vtt(&sample());
        assert!(s.starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n"));
    }

    #[test]
    fn json_round_trips() {
        let t = sample();
        assert_eq!(Transcript::from_json(&json(&t)).unwrap(), t);
    }

    #[test]
    fn other_schema_is_refused() {
        let j = json(&sample()).replace(SCHEMA, "medscribe.transcript/99");
        let err = Transcript::from_json(&j).unwrap_err().to_string();
        assert!(err.contains("not supported"), "{err}");
    }

    #[test]
    fn formats_parse_by_name() {
        assert_eq!("SRT".parse::<Format>().unwrap(), Format::Srt);
        assert!("docx".parse::<Format>().is_err());
    }
}
