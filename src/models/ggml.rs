//! The whisper.cpp ggml model file: writing it from a CTranslate2 Whisper
//! model, and reading its header back to check a file without loading it.
//!
//! Layout (little-endian): magic, eleven i32 hparams, the mel filterbank,
//! the vocabulary, then tensors to the end of the file, each as
//! `n_dims, name_len, ttype, ne[n_dims] (numpy shape reversed), name, data`.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use half::f16;

use super::quant::Quant;

use super::ct2::{Ct2Model, DType};
use super::{mel, tokens};
use crate::error::IoContext;
use crate::{Error, Result};

/// `ggml` in ASCII, the first four bytes of every ggml model file.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// ftype written to every file. whisper.cpp 1.8.3 on CPU asserts that conv
/// weights are f16, so all-f32 files (ftype 0) crash it.
pub const FTYPE_F16: i32 = 1;

/// Whisper hyper-parameters as stored in the ggml header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl Hparams {
    /// The number of tensors a complete model of this shape has.
    pub fn expected_tensors(&self) -> usize {
        11 + 15 * self.n_audio_layer.max(0) as usize + 24 * self.n_text_layer.max(0) as usize
    }

    /// True for English-only models.
    pub fn english_only(&self) -> bool {
        tokens::is_english_only(self.n_vocab.max(0) as usize)
    }

    fn as_array(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }
}

fn to_i32(v: usize, what: &str) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::Model(format!("{what} = {v} is out of range")))
}

fn dim(m: &Ct2Model, name: &str, axis: usize) -> Result<usize> {
    let v = m.var(name)?;
    v.shape.get(axis).copied().ok_or_else(|| {
        Error::Model(format!(
            "CTranslate2 model: {name} has shape {:?}, expected at least {} dimensions",
            v.shape,
            axis + 1
        ))
    })
}

fn count_layers(m: &Ct2Model, prefix: &str) -> usize {
    let mut n = 0;
    while m
        .get(&format!("{prefix}/layer_{n}/ffn/linear_0/weight"))
        .is_some()
    {
        n += 1;
    }
    n
}

/// Reads the hyper-parameters off the tensor shapes (CTranslate2 keeps no
/// config in model.bin beyond the head counts).
pub fn hparams_from_ct2(m: &Ct2Model) -> Result<Hparams> {
    if m.spec_name != "WhisperSpec" {
        return Err(Error::Model(format!(
            "CTranslate2 model is a {}, not a Whisper model",
            m.spec_name
        )));
    }
    let h = Hparams {
        n_vocab: to_i32(dim(m, "decoder/embeddings/weight", 0)?, "n_vocab")?,
        n_audio_ctx: to_i32(
            dim(m, "encoder/position_encodings/encodings", 0)?,
            "n_audio_ctx",
        )?,
        n_audio_state: to_i32(
            dim(m, "encoder/position_encodings/encodings", 1)?,
            "n_audio_state",
        )?,
        n_audio_head: to_i32(
            m.scalar_int("encoder/num_heads")?.max(0) as usize,
            "n_audio_head",
        )?,
        n_audio_layer: to_i32(count_layers(m, "encoder"), "n_audio_layer")?,
        n_text_ctx: to_i32(
            dim(m, "decoder/position_encodings/encodings", 0)?,
            "n_text_ctx",
        )?,
        n_text_state: to_i32(
            dim(m, "decoder/position_encodings/encodings", 1)?,
            "n_text_state",
        )?,
        n_text_head: to_i32(
            m.scalar_int("decoder/num_heads")?.max(0) as usize,
            "n_text_head",
        )?,
        n_text_layer: to_i32(count_layers(m, "decoder"), "n_text_layer")?,
        n_mels: to_i32(dim(m, "encoder/conv1/weight", 1)?, "n_mels")?,
        ftype: FTYPE_F16,
    };
    if h.n_audio_layer == 0 || h.n_text_layer == 0 || h.n_audio_head == 0 || h.n_text_head == 0 {
        return Err(Error::Model(
            "CTranslate2 model has no encoder or decoder layers or heads: not a complete Whisper model"
                .into(),
        ));
    }
    if h.n_mels != 80 && h.n_mels != 128 {
        return Err(Error::Model(format!(
            "CTranslate2 model has {} mel bins; Whisper uses 80 (or 128 for large-v3)",
            h.n_mels
        )));
    }
    Ok(h)
}

/// ggml element type of a written tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TType {
    F32 = 0,
    F16 = 1,
    Q5_0 = 6,
    Q8_0 = 8,
}

impl TType {
    /// The type of the large weight matrices for a weight format.
    pub fn for_weights(q: Quant) -> TType {
        match q {
            Quant::F16 => TType::F16,
            Quant::Q8_0 => TType::Q8_0,
            Quant::Q5_0 => TType::Q5_0,
        }
    }
}

/// Which part of a CTranslate2 variable a ggml tensor takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub var: String,
    /// Row range of a fused matrix (QKV or KV); `None` = the whole variable.
    pub rows: Option<(usize, usize)>,
}

/// One tensor of the output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub source: Source,
    pub ttype: TType,
    /// Shape in numpy (row-major) order; written reversed as ggml `ne`.
    pub shape: Vec<usize>,
}

/// Collects planned tensors, checking each source variable exists.
struct Planner<'a> {
    m: &'a Ct2Model,
    p: Vec<Planned>,
    /// Type of the matrices whisper.cpp multiplies with (`wtype`): linear
    /// weights and the token embedding. Conv weights stay f16 (`vtype`).
    wtype: TType,
}

impl Planner<'_> {
    fn add(
        &mut self,
        name: String,
        var: &str,
        rows: Option<(usize, usize)>,
        ttype: TType,
    ) -> Result<()> {
        let v = self.m.var(var)?;
        let mut shape = v.shape.clone();
        if let Some((a, b)) = rows {
            match shape.first_mut() {
                Some(r) if b <= *r && a < b => *r = b - a,
                _ => {
                    return Err(Error::Model(format!(
                        "CTranslate2 model: {var} has shape {:?}, cannot take rows {a}..{b}",
                        v.shape
                    )))
                }
            }
        }
        self.p.push(Planned {
            name,
            source: Source {
                var: var.to_string(),
                rows,
            },
            ttype,
            shape,
        });
        Ok(())
    }

    /// A linear layer: weight in the weight format, bias f32 (when kept).
    fn linear(
        &mut self,
        dst: &str,
        src: &str,
        rows: Option<(usize, usize)>,
        bias: bool,
    ) -> Result<()> {
        self.add(
            format!("{dst}.weight"),
            &format!("{src}/weight"),
            rows,
            self.wtype,
        )?;
        if bias {
            self.add(
                format!("{dst}.bias"),
                &format!("{src}/bias"),
                rows,
                TType::F32,
            )?;
        }
        Ok(())
    }

    /// A LayerNorm: gamma/beta to weight/bias, both f32.
    fn norm(&mut self, dst: &str, src: &str) -> Result<()> {
        self.add(
            format!("{dst}.weight"),
            &format!("{src}/gamma"),
            None,
            TType::F32,
        )?;
        self.add(
            format!("{dst}.bias"),
            &format!("{src}/beta"),
            None,
            TType::F32,
        )
    }

    /// Self-attention with CTranslate2's fused QKV split into query, key
    /// (no bias: Whisper has none) and value.
    fn self_attention(&mut self, dst: &str, src: &str, d: usize) -> Result<()> {
        let qkv = format!("{src}/self_attention/linear_0");
        self.linear(&format!("{dst}.attn.query"), &qkv, Some((0, d)), true)?;
        self.linear(&format!("{dst}.attn.key"), &qkv, Some((d, 2 * d)), false)?;
        self.linear(
            &format!("{dst}.attn.value"),
            &qkv,
            Some((2 * d, 3 * d)),
            true,
        )?;
        self.linear(
            &format!("{dst}.attn.out"),
            &format!("{src}/self_attention/linear_1"),
            None,
            true,
        )?;
        self.norm(
            &format!("{dst}.attn_ln"),
            &format!("{src}/self_attention/layer_norm"),
        )
    }

    fn mlp(&mut self, dst: &str, src: &str) -> Result<()> {
        self.linear(
            &format!("{dst}.mlp.0"),
            &format!("{src}/ffn/linear_0"),
            None,
            true,
        )?;
        self.linear(
            &format!("{dst}.mlp.2"),
            &format!("{src}/ffn/linear_1"),
            None,
            true,
        )?;
        self.norm(&format!("{dst}.mlp_ln"), &format!("{src}/ffn/layer_norm"))
    }
}

/// Builds the full list of output tensors, in PyTorch state-dict order, with
/// their types and shapes. Pure: it needs only the shapes in `m`.
pub fn plan_tensors(m: &Ct2Model, h: &Hparams, quant: Quant) -> Result<Vec<Planned>> {
    let mut pl = Planner {
        m,
        p: Vec::with_capacity(h.expected_tensors()),
        wtype: TType::for_weights(quant),
    };
    let d_a = h.n_audio_state as usize;
    let d_t = h.n_text_state as usize;

    pl.add(
        "encoder.positional_embedding".into(),
        "encoder/position_encodings/encodings",
        None,
        TType::F32,
    )?;
    for c in ["conv1", "conv2"] {
        pl.add(
            format!("encoder.{c}.weight"),
            &format!("encoder/{c}/weight"),
            None,
            TType::F16,
        )?;
        pl.add(
            format!("encoder.{c}.bias"),
            &format!("encoder/{c}/bias"),
            None,
            TType::F32,
        )?;
    }
    for n in 0..h.n_audio_layer as usize {
        let (dst, src) = (format!("encoder.blocks.{n}"), format!("encoder/layer_{n}"));
        pl.self_attention(&dst, &src, d_a)?;
        pl.mlp(&dst, &src)?;
    }
    pl.norm("encoder.ln_post", "encoder/layer_norm")?;
    pl.add(
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings",
        None,
        TType::F32,
    )?;
    pl.add(
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight",
        None,
        pl.wtype,
    )?;
    for n in 0..h.n_text_layer as usize {
        let (dst, src) = (format!("decoder.blocks.{n}"), format!("decoder/layer_{n}"));
        pl.self_attention(&dst, &src, d_t)?;
        pl.linear(
            &format!("{dst}.cross_attn.query"),
            &format!("{src}/attention/linear_0"),
            None,
            true,
        )?;
        // Fused cross-attention KV: key has no bias, value takes bias[D:2D].
        let kv = format!("{src}/attention/linear_1");
        pl.linear(&format!("{dst}.cross_attn.key"), &kv, Some((0, d_t)), false)?;
        pl.linear(
            &format!("{dst}.cross_attn.value"),
            &kv,
            Some((d_t, 2 * d_t)),
            true,
        )?;
        pl.linear(
            &format!("{dst}.cross_attn.out"),
            &format!("{src}/attention/linear_2"),
            None,
            true,
        )?;
        pl.norm(
            &format!("{dst}.cross_attn_ln"),
            &format!("{src}/attention/layer_norm"),
        )?;
        pl.mlp(&dst, &src)?;
    }
    pl.norm("decoder.ln", "decoder/layer_norm")?;
    let mut p = pl.p;

    // whisper.cpp expects conv biases as [n, 1].
    for t in p.iter_mut() {
        if t.name.starts_with("encoder.conv") && t.name.ends_with(".bias") {
            t.shape = vec![t.shape.iter().product(), 1];
        }
    }
    if p.len() != h.expected_tensors() {
        return Err(Error::Model(format!(
            "internal: planned {} tensors, a model with {} encoder and {} decoder layers has {}",
            p.len(),
            h.n_audio_layer,
            h.n_text_layer,
            h.expected_tensors()
        )));
    }
    Ok(p)
}

/// whisper.cpp ties the output projection to the token embedding; a model
/// with a different projection would silently decode garbage.
pub fn check_tied_projection(m: &Ct2Model) -> Result<()> {
    const PROJ: &str = "decoder/projection/weight";
    const EMB: &str = "decoder/embeddings/weight";
    if let Some(target) = m.aliases().get(PROJ) {
        if target == EMB {
            return Ok(());
        }
    }
    match (m.get(PROJ), m.get(EMB)) {
        (None, _) => Ok(()),
        (Some(p), Some(e)) if p.shape == e.shape && m.raw(p) == m.raw(e) => Ok(()),
        _ => Err(Error::Model(
            "the model's output projection is not tied to its token embedding; \
             whisper.cpp cannot represent it"
                .into(),
        )),
    }
}

/// Whisper has no key bias; CTranslate2 stores zeros in that slice of the
/// fused QKV bias. Anything else means a model this converter does not know.
fn check_key_bias_zero(m: &Ct2Model, h: &Hparams) -> Result<()> {
    for (prefix, layers, d) in [
        ("encoder", h.n_audio_layer, h.n_audio_state),
        ("decoder", h.n_text_layer, h.n_text_state),
    ] {
        for n in 0..layers {
            let name = format!("{prefix}/layer_{n}/self_attention/linear_0/bias");
            let b = m.f32_values(&name)?;
            let d = d as usize;
            if b.len() != 3 * d {
                return Err(Error::Model(format!(
                    "CTranslate2 model: {name} has {} values, expected {}",
                    b.len(),
                    3 * d
                )));
            }
            if b[d..2 * d].iter().any(|&x| x != 0.0) {
                return Err(Error::Model(format!(
                    "CTranslate2 model: {name} has a non-zero key bias; not a standard Whisper model"
                )));
            }
        }
    }
    Ok(())
}

/// Data bytes of one planned tensor, converted to its ggml type.
fn tensor_bytes(m: &Ct2Model, t: &Planned) -> Result<Vec<u8>> {
    let v = m.var(&t.source.var)?;
    let numel: usize = t.shape.iter().product();
    let row_len = if v.shape.is_empty() {
        1
    } else {
        v.shape[1..].iter().product::<usize>()
    };
    let (start, end) = match t.source.rows {
        Some((a, b)) => (a * row_len, b * row_len),
        None => (0, v.numel()),
    };
    if end - start != numel {
        return Err(Error::Model(format!(
            "internal: {} expects {numel} values, source gives {}",
            t.name,
            end - start
        )));
    }
    // Fast path: f16 stays f16 byte for byte.
    if v.dtype == DType::F16 && t.ttype == TType::F16 {
        return Ok(m.raw(v)[start * 2..end * 2].to_vec());
    }
    let vals = m.f32_values(&t.source.var)?;
    let vals = &vals[start..end];
    Ok(match t.ttype {
        TType::F32 => vals.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TType::F16 => vals
            .iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect(),
        TType::Q8_0 => Quant::Q8_0.encode(vals),
        TType::Q5_0 => Quant::Q5_0.encode(vals),
    })
}

/// Writes the header: magic, hparams, mel filters, vocabulary.
pub fn write_header(w: &mut dyn Write, h: &Hparams, vocab: &[Vec<u8>]) -> std::io::Result<()> {
    w.write_all(&GGML_MAGIC.to_le_bytes())?;
    for v in h.as_array() {
        w.write_all(&v.to_le_bytes())?;
    }
    let n_mels = h.n_mels.max(0) as usize;
    let filters = mel::mel_filters(n_mels);
    w.write_all(&(n_mels as i32).to_le_bytes())?;
    w.write_all(&((mel::N_FFT / 2 + 1) as i32).to_le_bytes())?;
    for f in filters {
        w.write_all(&f.to_le_bytes())?;
    }
    w.write_all(&(vocab.len() as i32).to_le_bytes())?;
    for t in vocab {
        w.write_all(&(t.len() as u32).to_le_bytes())?;
        w.write_all(t)?;
    }
    Ok(())
}

fn write_tensor(w: &mut dyn Write, t: &Planned, data: &[u8]) -> std::io::Result<()> {
    w.write_all(&(t.shape.len() as i32).to_le_bytes())?;
    w.write_all(&(t.name.len() as i32).to_le_bytes())?;
    w.write_all(&(t.ttype as i32).to_le_bytes())?;
    for &d in t.shape.iter().rev() {
        w.write_all(&(d as i32).to_le_bytes())?;
    }
    w.write_all(t.name.as_bytes())?;
    w.write_all(data)
}

/// Converts a parsed CTranslate2 Whisper model and its vocabulary into a
/// ggml file written to `w`. `progress(done, total)` is called per tensor.
/// Returns the hyper-parameters and the number of tensors written.
pub fn write_whisper(
    m: &Ct2Model,
    vocabulary: &[String],
    quant: Quant,
    w: &mut dyn Write,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Hparams, usize)> {
    let mut h = hparams_from_ct2(m)?;
    h.ftype = quant.ftype();
    check_tied_projection(m)?;
    check_key_bias_zero(m, &h)?;
    let vocab = tokens::ggml_vocab(vocabulary, h.n_vocab as usize)?;
    let plan = plan_tensors(m, &h, quant)?;
    let io = |e| Error::Model(format!("writing the ggml model failed: {e}"));
    write_header(w, &h, &vocab).map_err(io)?;
    let total = plan.len();
    for (i, t) in plan.iter().enumerate() {
        let data = tensor_bytes(m, t)?;
        write_tensor(w, t, &data).map_err(io)?;
        progress(i + 1, total);
    }
    Ok((h, total))
}

/// What kind of ggml file a header describes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GgmlKind {
    /// A whisper.cpp speech model.
    Whisper { hparams: Hparams, n_tokens: usize },
    /// A whisper.cpp Silero VAD model.
    SileroVad { model_type: String, version: String },
}

/// Result of a cheap structural check of a ggml file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GgmlInfo {
    #[serde(flatten)]
    pub kind: GgmlKind,
    pub n_tensors: usize,
    pub file_size: u64,
}

fn rd_i32(r: &mut impl Read) -> std::io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// Bytes of `n` elements of ggml type `ttype`, for the types whisper models use.
fn ggml_data_size(ttype: i32, n: u64) -> Option<u64> {
    let (block, size) = match ttype {
        0 => (1, 4),
        1 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        _ => return None,
    };
    Some(n / block * size)
}

/// Reads a ggml file's header and walks its tensor headers (seeking over the
/// data) to check the file is whole. It reads a few hundred KB at most, so
/// it is cheap enough to run on every start. A whisper model must have
/// either no tensors (a header-only test fixture) or exactly the expected
/// count.
pub fn inspect(path: &Path) -> Result<GgmlInfo> {
    let f = File::open(path).at(path)?;
    let file_size = f.metadata().at(path)?.len();
    let mut r = BufReader::new(f);
    let bad = |what: String| {
        Error::Model(format!(
            "{} is not a usable whisper.cpp model: {what}; delete it and fetch or import it again",
            path.display()
        ))
    };
    let trunc = |e: std::io::Error| bad(format!("it ends early ({e})"));
    let magic = rd_i32(&mut r).map_err(trunc)? as u32;
    if magic != GGML_MAGIC {
        return Err(bad(format!("bad magic {magic:#010x}")));
    }
    let first = rd_i32(&mut r).map_err(trunc)?;
    let kind = if (1..=64).contains(&first) {
        // Silero VAD: a model-type string follows the magic.
        let mut s = vec![0u8; first as usize];
        r.read_exact(&mut s).map_err(trunc)?;
        let model_type = String::from_utf8_lossy(&s).into_owned();
        if !model_type.starts_with("silero") {
            return Err(bad(format!("unknown model type {model_type:?}")));
        }
        let mut v = [0i32; 3];
        for x in v.iter_mut() {
            *x = rd_i32(&mut r).map_err(trunc)?;
        }
        let _window = rd_i32(&mut r).map_err(trunc)?;
        let _context = rd_i32(&mut r).map_err(trunc)?;
        let n_layers = rd_i32(&mut r).map_err(trunc)?;
        if !(0..=64).contains(&n_layers) {
            return Err(bad(format!("implausible encoder layer count {n_layers}")));
        }
        for _ in 0..(n_layers * 3 + 4) {
            rd_i32(&mut r).map_err(trunc)?;
        }
        GgmlKind::SileroVad {
            model_type,
            version: format!("{}.{}.{}", v[0], v[1], v[2]),
        }
    } else {
        let mut a = [first; 11];
        for x in a.iter_mut().skip(1) {
            *x = rd_i32(&mut r).map_err(trunc)?;
        }
        let h = Hparams {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        };
        if a.iter().take(10).any(|&x| x <= 0) || h.n_audio_layer > 128 || h.n_text_layer > 128 {
            return Err(bad(format!("implausible hyper-parameters {a:?}")));
        }
        let n_mel = rd_i32(&mut r).map_err(trunc)?;
        let n_fft = rd_i32(&mut r).map_err(trunc)?;
        if !(1..=1024).contains(&n_mel) || !(1..=4096).contains(&n_fft) {
            return Err(bad(format!("implausible mel filter size {n_mel}x{n_fft}")));
        }
        r.seek_relative(n_mel as i64 * n_fft as i64 * 4)
            .map_err(trunc)?;
        let n_tokens = rd_i32(&mut r).map_err(trunc)?;
        if !(0..=1_000_000).contains(&n_tokens) {
            return Err(bad(format!("implausible token count {n_tokens}")));
        }
        for _ in 0..n_tokens {
            let len = rd_i32(&mut r).map_err(trunc)?;
            if !(0..=1024).contains(&len) {
                return Err(bad(format!("implausible token length {len}")));
            }
            r.seek_relative(len as i64).map_err(trunc)?;
        }
        GgmlKind::Whisper {
            hparams: h,
            n_tokens: n_tokens as usize,
        }
    };
    let mut pos = r.stream_position().at(path)?;
    if pos > file_size {
        return Err(bad("it ends inside the header".into()));
    }
    let mut n_tensors = 0usize;
    while pos < file_size {
        let n_dims = rd_i32(&mut r).map_err(trunc)?;
        let name_len = rd_i32(&mut r).map_err(trunc)?;
        let ttype = rd_i32(&mut r).map_err(trunc)?;
        if !(0..=4).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(bad(format!("corrupt tensor header #{n_tensors}")));
        }
        let mut n: u64 = 1;
        for _ in 0..n_dims {
            let d = rd_i32(&mut r).map_err(trunc)?;
            if d <= 0 {
                return Err(bad(format!("tensor #{n_tensors} has dimension {d}")));
            }
            n = n.saturating_mul(d as u64);
        }
        let data = ggml_data_size(ttype, n)
            .ok_or_else(|| bad(format!("tensor #{n_tensors} has unknown type {ttype}")))?;
        r.seek_relative(name_len as i64).map_err(trunc)?;
        pos = r.stream_position().at(path)? + data;
        if pos > file_size {
            return Err(bad(format!(
                "it is truncated: tensor #{n_tensors} needs {} more bytes",
                pos - file_size
            )));
        }
        r.seek(SeekFrom::Start(pos)).at(path)?;
        n_tensors += 1;
    }
    match &kind {
        GgmlKind::Whisper { hparams, .. } => {
            if n_tensors != 0 && n_tensors != hparams.expected_tensors() {
                return Err(bad(format!(
                    "it has {n_tensors} tensors, a model with {} encoder and {} decoder layers has {}",
                    hparams.n_audio_layer,
                    hparams.n_text_layer,
                    hparams.expected_tensors()
                )));
            }
        }
        GgmlKind::SileroVad { .. } => {
            if n_tensors != 0 && n_tensors != super::silero::N_TENSORS {
                return Err(bad(format!(
                    "it has {n_tensors} tensors, a Silero VAD model has {}",
                    super::silero::N_TENSORS
                )));
            }
        }
    }
    Ok(GgmlInfo {
        kind,
        n_tensors,
        file_size,
    })
}
