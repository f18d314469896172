//! medscribe: medical dictation transcription.
//!
//! The pipeline reads top to bottom, one module per stage:
//! [`audio`] decodes any common dictation format to 16 kHz mono,
//! [`stt`] runs Whisper (whisper.cpp) over the speech,
//! [`vocab`] fixes misrecognised medical terms and records every change,
//! [`transcript`] is the canonical document every output format renders from.
//! [`models`] obtains, converts and verifies the Whisper and VAD models.
//!
//! The review workflow builds on them: [`review`] holds its rules (states,
//! roles), [`store`] keeps dictations, revisions, signatures and the audit
//! chain in SQLite, [`export`] renders HL7 and FHIR, and [`server`] (HTTP) and
//! [`cli`] (command line) are thin front ends over all of these.

pub mod audio;
pub mod cli;
pub mod confirm;
pub mod error;
pub mod eval;
pub mod export;
pub mod fsutil;
pub mod models;
pub mod pipeline;
pub mod review;
pub mod server;
pub mod store;
pub mod stt;
pub mod transcript;
pub mod vocab;

pub use error::{Error, Result};
