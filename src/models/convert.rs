//! File-level conversions: a CTranslate2 directory to a ggml file.

use std::path::Path;

use super::ct2::Ct2Model;
use super::ggml::{self, Hparams};
use super::quant::Quant;
use super::store::{self, Written};
use super::tokens;
use crate::error::IoContext;
use crate::{Error, Result};

/// What a conversion produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvertReport {
    pub hparams: Hparams,
    pub n_tensors: usize,
    pub english_only: bool,
    pub size: u64,
    pub sha256: String,
}

/// Reads the vocabulary of a CTranslate2 directory (`vocabulary.txt`, or
/// `vocabulary.json` in newer exports).
pub fn read_vocabulary_dir(dir: &Path) -> Result<Vec<String>> {
    for name in ["vocabulary.txt", "vocabulary.json"] {
        let p = dir.join(name);
        if p.is_file() {
            let text = std::fs::read_to_string(&p).at(&p)?;
            return tokens::parse_vocabulary(&text);
        }
    }
    Err(Error::Model(format!(
        "{} has no vocabulary.txt or vocabulary.json; a CTranslate2 Whisper export has one beside model.bin",
        dir.display()
    )))
}

/// Converts an in-memory CTranslate2 model.bin plus vocabulary to a ggml file
/// at `out` (atomically). `progress(done, total)` counts tensors.
pub fn convert_ct2_bytes(
    model_bin: Vec<u8>,
    vocabulary: &[String],
    quant: Quant,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ConvertReport> {
    let m = Ct2Model::from_bytes(model_bin)?;
    let ((hparams, n_tensors), written) = store::write_atomic(out, |w| {
        ggml::write_whisper(&m, vocabulary, quant, w, progress)
    })?;
    Ok(report(hparams, n_tensors, written))
}

fn report(hparams: Hparams, n_tensors: usize, w: Written) -> ConvertReport {
    ConvertReport {
        english_only: hparams.english_only(),
        hparams,
        n_tensors,
        size: w.size,
        sha256: w.sha256,
    }
}

/// Converts a CTranslate2 Whisper directory (`model.bin` + vocabulary, as
/// faster-whisper uses) to a whisper.cpp ggml file at `out`.
pub fn convert_ct2(ct2_dir: &Path, out: &Path) -> Result<ConvertReport> {
    convert_ct2_with_progress(ct2_dir, Quant::F16, out, &mut |_, _| {})
}

/// [`convert_ct2`] with a weight format and a per-tensor progress callback.
pub fn convert_ct2_with_progress(
    ct2_dir: &Path,
    quant: Quant,
    out: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ConvertReport> {
    let bin = ct2_dir.join("model.bin");
    if !bin.is_file() {
        return Err(Error::Model(format!(
            "{} has no model.bin; give the directory of a CTranslate2 (faster-whisper) Whisper model",
            ct2_dir.display()
        )));
    }
    let vocab = read_vocabulary_dir(ct2_dir)?;
    let m = Ct2Model::open(&bin)?;
    let ((hparams, n_tensors), written) =
        store::write_atomic(out, |w| ggml::write_whisper(&m, &vocab, quant, w, progress))?;
    Ok(report(hparams, n_tensors, written))
}

/// Writes only the header, mel filters and vocabulary of the ggml file for a
/// CTranslate2 directory: a file of about 586 KB (for an 80-mel model) that
/// whisper.cpp loads and that transcribes to empty text. Used as a fast test
/// fixture.
pub fn convert_ct2_header_only(ct2_dir: &Path, out: &Path) -> Result<ConvertReport> {
    let vocab = read_vocabulary_dir(ct2_dir)?;
    let bin = ct2_dir.join("model.bin");
    let m = Ct2Model::open(&bin)?;
    let h = ggml::hparams_from_ct2(&m)?;
    let v = tokens::ggml_vocab(&vocab, h.n_vocab.max(0) as usize)?;
    let (_, written) = store::write_atomic(out, |w| ggml::write_header(w, &h, &v).at(out))?;
    Ok(report(h, 0, written))
}
