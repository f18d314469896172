//! The canonical transcript document: what a transcription produced, from which
//! audio, with which model and parameters. Every output format renders from it
//! (see [`render`]); its JSON form is versioned (`schema`) and documented in
//! `docs/transcript-schema.md`.

use serde::{Deserialize, Serialize};

pub mod render;

/// Identifies the JSON layout; bump when a field changes meaning or goes away.
pub const SCHEMA: &str = "medscribe.transcript/1";

/// A transcribed dictation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transcript {
    /// Always [`SCHEMA`] for documents this version writes.
    pub schema: String,
    /// medscribe version that made the document.
    pub medscribe_version: String,
    /// When the document was made, RFC 3339 UTC.
    pub created: String,
    pub source: Source,
    pub model: ModelRef,
    pub params: Params,
    /// Final text: the draft after the vocabulary pass (or the draft when it was skipped).
    pub text: String,
    /// Recogniser output before the vocabulary pass.
    pub raw_text: String,
    /// Segments of the final text with word timings.
    pub segments: Vec<Segment>,
    /// Every change the vocabulary pass made or suggested, to review or undo.
    #[serde(default)]
    pub corrections: Vec<crate::vocab::Correction>,
}

/// The audio a transcript was made from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Source {
    /// File name only, never the full path.
    pub file_name: String,
    /// SHA-256 of the audio file's bytes, hex.
    pub sha256: String,
    pub duration_s: f64,
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
}

/// The model that transcribed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelRef {
    pub name: String,
    pub sha256: String,
}

/// Decoding parameters: together with the audio hash and model they decide
/// whether an existing transcript is up to date.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Params {
    pub language: String,
    /// Initial prompt given to the recogniser (vocabulary terms), if any.
    pub prompt: Option<String>,
    /// Whether silence was skipped with voice activity detection.
    pub vad: bool,
    /// Whether the medical-vocabulary pass ran.
    pub vocab: bool,
    /// "greedy" or "beam:N".
    pub decoding: String,
    /// Whether the audio was recognised a second time with the medical terms the
    /// first pass found leading the prompt.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_pass: bool,
    /// Whether the vocabulary pass's doubtful changes were checked against the
    /// audio (and applied where it agreed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audio_check: bool,
}

/// A stretch of speech with its words.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    /// Seconds from the start of the audio.
    pub start: f64,
    pub end: f64,
    pub text: String,
    pub words: Vec<Word>,
}

/// One word as recognised, with its time span and the recogniser's confidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Word {
    /// The word with any attached punctuation, no surrounding spaces.
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// Recogniser probability in 0..=1 (lowest of the word's tokens).
    pub probability: f32,
}

impl Transcript {
    /// Parses a transcript JSON document, refusing other schema versions.
    pub fn from_json(json: &str) -> crate::Result<Self> {
        let t: Transcript = serde_json::from_str(json)
            .map_err(|e| crate::Error::Invalid(format!("not a medscribe transcript: {e}")))?;
        if t.schema != SCHEMA {
            return Err(crate::Error::Invalid(format!(
                "transcript schema {} is not supported (expected {SCHEMA})",
                t.schema
            )));
        }
        Ok(t)
    }

    /// All words of all segments in order.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.segments.iter().flat_map(|s| s.words.iter())
    }
}

/// Joins words into text: a space between words, none before closing punctuation
/// and none around line breaks that the vocabulary pass made from spoken commands.
pub fn join_words<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for w in words {
        if w.is_empty() {
            continue;
        }
        let glue = !out.is_empty()
            && !out.ends_with('\n')
            && !w.starts_with('\n')
            && !w.starts_with([',', '.', ';', ':', '?', '!', ')']);
        if glue {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}
