//! Medical-vocabulary pass (under construction).

use serde::{Deserialize, Serialize};

/// One change the vocabulary pass made (applied) or proposes (suggested).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Correction {
    /// First word of the span, an index into the draft's words (all segments in order).
    pub word_start: usize,
    /// One past the last word of the span.
    pub word_end: usize,
    /// The draft text of the span.
    pub from: String,
    /// The replacement.
    pub to: String,
    /// Confidence of the correction in 0..=1.
    pub score: f32,
    /// Applied to the final text, or only suggested to the reviewer.
    pub applied: bool,
    /// Why: which method and evidence (e.g. "phonetic match of joined words").
    pub reason: String,
}
