//! Silero VAD: `silero_vad_16k.safetensors` (from the `silero-vad` PyPI
//! package) to whisper.cpp's VAD ggml format.
//!
//! The layout replicates whisper.cpp's `models/convert-silero-vad-to-ggml.py`
//! and its loader `whisper_vad_init_with_params`: magic, model type
//! `silero-16k`, version, window 512, context 64, four encoder convolutions,
//! an LSTM cell and a final 1x1 convolution; conv weights and the STFT basis
//! in f16, everything else f32; tensor names as the PyTorch module has them.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use half::{bf16, f16};

use super::ggml::GGML_MAGIC;
use crate::error::IoContext;
use crate::{Error, Result};

/// Version of the `silero-vad` package the manifest pins.
pub const DEFAULT_VERSION: (i32, i32, i32) = (6, 2, 3);
/// Tensors in the VAD model file.
pub const N_TENSORS: usize = 15;

const MODEL_TYPE: &str = "silero-16k";
const WINDOW: i32 = 512;
const CONTEXT: i32 = 64;
const ENC_IN: [i32; 4] = [129, 128, 64, 64];
const ENC_OUT: [i32; 4] = [128, 64, 64, 128];
const KERNEL: i32 = 3;
const LSTM: i32 = 128;

/// A tensor read from a safetensors file, as f32.
struct StTensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// Parses a safetensors file (u64 header length, JSON header, data).
fn read_safetensors(bytes: &[u8]) -> Result<HashMap<String, StTensor>> {
    let bad = |m: &str| Error::Model(format!("Silero VAD safetensors file: {m}"));
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .ok_or_else(|| bad("shorter than its header"))?;
    let start = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&s| s <= bytes.len())
        .ok_or_else(|| bad("header length points past the end; the file is truncated"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..start]).map_err(|e| bad(&format!("bad header ({e})")))?;
    let body = &bytes[start..];
    let mut out = HashMap::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = info["dtype"].as_str().unwrap_or("");
        let shape: Vec<usize> = info["shape"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_u64())
                    .map(|d| d as usize)
                    .collect()
            })
            .unwrap_or_default();
        let offs: Vec<usize> = info["data_offsets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_u64())
                    .map(|d| d as usize)
                    .collect()
            })
            .unwrap_or_default();
        let [a, b] = offs[..] else {
            return Err(bad(&format!("tensor {name} has no data offsets")));
        };
        let raw = body.get(a..b).ok_or_else(|| {
            bad(&format!(
                "tensor {name} lies past the end; the file is truncated"
            ))
        })?;
        let data: Vec<f32> = match dtype {
            "F32" => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            "F16" => raw
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            "BF16" => raw
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => return Err(bad(&format!("tensor {name} has unsupported dtype {other}"))),
        };
        if data.len() != shape.iter().product::<usize>() {
            return Err(bad(&format!("tensor {name} size does not match its shape")));
        }
        out.insert(name, StTensor { shape, data });
    }
    Ok(out)
}

/// (ggml name, safetensors name, f16?, expected numpy shape after squeeze)
fn tensor_table() -> Vec<(String, &'static str, bool, Vec<usize>)> {
    let mut t = Vec::new();
    for i in 0..4 {
        let (cin, cout) = (ENC_IN[i] as usize, ENC_OUT[i] as usize);
        t.push((
            format!("_model.encoder.{i}.reparam_conv.weight"),
            [
                "conv1.weight",
                "conv2.weight",
                "conv3.weight",
                "conv4.weight",
            ][i],
            true,
            vec![cout, cin, KERNEL as usize],
        ));
        t.push((
            format!("_model.encoder.{i}.reparam_conv.bias"),
            ["conv1.bias", "conv2.bias", "conv3.bias", "conv4.bias"][i],
            false,
            vec![cout],
        ));
    }
    let h4 = 4 * LSTM as usize;
    let l = LSTM as usize;
    t.push((
        "_model.decoder.rnn.weight_ih".into(),
        "lstm_cell.weight_ih",
        false,
        vec![h4, l],
    ));
    t.push((
        "_model.decoder.rnn.weight_hh".into(),
        "lstm_cell.weight_hh",
        false,
        vec![h4, l],
    ));
    t.push((
        "_model.decoder.rnn.bias_ih".into(),
        "lstm_cell.bias_ih",
        false,
        vec![h4],
    ));
    t.push((
        "_model.decoder.rnn.bias_hh".into(),
        "lstm_cell.bias_hh",
        false,
        vec![h4],
    ));
    // numpy's squeeze turns [1,128,1] into [128] and the [1] bias into a scalar.
    t.push((
        "_model.decoder.decoder.2.weight".into(),
        "final_conv.weight",
        true,
        vec![l],
    ));
    t.push((
        "_model.decoder.decoder.2.bias".into(),
        "final_conv.bias",
        false,
        vec![],
    ));
    // The STFT basis keeps its three dimensions.
    t.push((
        "_model.stft.forward_basis_buffer".into(),
        "stft_conv.weight",
        true,
        vec![258, 1, 256],
    ));
    t
}

/// Converts safetensors bytes to the VAD ggml file, written to `w`.
pub fn write_silero(bytes: &[u8], version: (i32, i32, i32), w: &mut dyn Write) -> Result<()> {
    let tensors = read_safetensors(bytes)?;
    let io = |e| Error::Model(format!("writing the VAD model failed: {e}"));
    let mut out = Vec::with_capacity(900_000);
    out.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    let mut put = |v: i32| out.extend_from_slice(&v.to_le_bytes());
    put(MODEL_TYPE.len() as i32);
    out.extend_from_slice(MODEL_TYPE.as_bytes());
    let mut put = |v: i32| out.extend_from_slice(&v.to_le_bytes());
    for v in [version.0, version.1, version.2, WINDOW, CONTEXT, 4] {
        put(v);
    }
    for i in 0..4 {
        put(ENC_IN[i]);
        put(ENC_OUT[i]);
        put(KERNEL);
    }
    for v in [LSTM, LSTM, LSTM, 1] {
        put(v);
    }
    for (name, src, half, shape) in tensor_table() {
        let t = tensors.get(src).ok_or_else(|| {
            Error::Model(format!(
                "Silero VAD safetensors file has no tensor {src}; is it silero_vad_16k.safetensors?"
            ))
        })?;
        let squeezed: Vec<usize> = if shape.len() == 3 && src == "stft_conv.weight" {
            t.shape.clone()
        } else {
            t.shape.iter().copied().filter(|&d| d != 1).collect()
        };
        if squeezed != shape {
            return Err(Error::Model(format!(
                "Silero VAD tensor {src} has shape {:?}, expected {shape:?}: not the 16 kHz Silero v5/v6 model",
                t.shape
            )));
        }
        out.extend_from_slice(&(shape.len() as i32).to_le_bytes());
        out.extend_from_slice(&(name.len() as i32).to_le_bytes());
        out.extend_from_slice(&(half as i32).to_le_bytes());
        for &d in shape.iter().rev() {
            out.extend_from_slice(&(d as i32).to_le_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        if half {
            for x in &t.data {
                out.extend_from_slice(&f16::from_f32(*x).to_le_bytes());
            }
        } else {
            for x in &t.data {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    w.write_all(&out).map_err(io)
}

/// Converts `safetensors` (Silero VAD 16 kHz) to whisper.cpp's VAD format at
/// `out`, written atomically. The version recorded is the pinned package's.
pub fn convert_silero(safetensors: &Path, out: &Path) -> Result<()> {
    let bytes = std::fs::read(safetensors).at(safetensors)?;
    super::store::write_atomic(out, |w| write_silero(&bytes, DEFAULT_VERSION, w))?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic safetensors file with the real tensor names and shapes.
    pub(crate) fn synthetic_safetensors() -> Vec<u8> {
        let shapes: Vec<(&str, Vec<usize>)> = vec![
            ("stft_conv.weight", vec![258, 1, 256]),
            ("conv1.weight", vec![128, 129, 3]),
            ("conv1.bias", vec![128]),
            ("conv2.weight", vec![64, 128, 3]),
            ("conv2.bias", vec![64]),
            ("conv3.weight", vec![64, 64, 3]),
            ("conv3.bias", vec![64]),
            ("conv4.weight", vec![128, 64, 3]),
            ("conv4.bias", vec![128]),
            ("lstm_cell.weight_ih", vec![512, 128]),
            ("lstm_cell.weight_hh", vec![512, 128]),
            ("lstm_cell.bias_ih", vec![512]),
            ("lstm_cell.bias_hh", vec![512]),
            ("final_conv.weight", vec![1, 128, 1]),
            ("final_conv.bias", vec![1]),
        ];
        let mut header = serde_json::Map::new();
        let mut body = Vec::new();
        for (name, shape) in shapes {
            let n: usize = shape.iter().product();
            let start = body.len();
            for i in 0..n {
                body.extend_from_slice(&((i % 7) as f32 * 0.5).to_le_bytes());
            }
            header.insert(
                name.into(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, body.len()]}),
            );
        }
        let h = serde_json::to_vec(&header).unwrap();
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn output_has_official_size_and_layout() {
        let mut out = Vec::new();
        write_silero(&synthetic_safetensors(), DEFAULT_VERSION, &mut out).unwrap();
        // The official ggml-silero-v5.1.2 / v6 files are this size.
        assert_eq!(out.len(), 885_098);
        assert_eq!(&out[8..18], b"silero-16k");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vad.bin");
        std::fs::write(&p, &out).unwrap();
        let info = crate::models::ggml::inspect(&p).unwrap();
        assert_eq!(info.n_tensors, N_TENSORS);
        assert!(
            matches!(info.kind, crate::models::ggml::GgmlKind::SileroVad { ref version, .. } if version == "6.2.3")
        );
    }

    #[test]
    fn wrong_or_truncated_input_is_a_clear_error() {
        let st = synthetic_safetensors();
        let e = write_silero(&st[..st.len() - 10], DEFAULT_VERSION, &mut Vec::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = write_silero(b"\x05\0\0\0\0\0\0\0{}", DEFAULT_VERSION, &mut Vec::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = write_silero(b"\x02\0\0\0\0\0\0\0{}", DEFAULT_VERSION, &mut Vec::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no tensor"), "{e}");
    }
}
