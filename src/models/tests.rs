//! Tests of the whole CTranslate2 -> ggml conversion on small synthetic models.

use half::f16;

use super::ct2::{write_ct2, Ct2Model, DType};
use super::ggml::{self, GgmlKind, Hparams, TType};
use super::quant::Quant;
use super::tokens;

/// A synthetic Whisper in CTranslate2 form: tiny state, real context sizes,
/// one layer each side. Values encode their position so splits can be checked.
pub(crate) struct Synth {
    pub n_vocab: usize,
    pub d: usize,
    pub layers: usize,
    pub n_mels: usize,
    pub tied: Tied,
    pub key_bias: f32,
    pub f32_weights: bool,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Tied {
    Alias,
    Missing,
    Copy,
    Different,
}

impl Default for Synth {
    fn default() -> Self {
        Synth {
            n_vocab: 51864,
            d: 8,
            layers: 1,
            n_mels: 80,
            tied: Tied::Alias,
            key_bias: 0.0,
            f32_weights: false,
        }
    }
}

fn vals(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| seed + (i % 97) as f32 / 128.0).collect()
}

fn enc(v: &[f32], dtype: DType) -> Vec<u8> {
    match dtype {
        DType::F16 => v
            .iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect(),
        _ => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

impl Synth {
    pub fn build(&self) -> Vec<u8> {
        let d = self.d;
        let wt = if self.f32_weights {
            DType::F32
        } else {
            DType::F16
        };
        let mut vars: Vec<(String, Vec<usize>, DType, Vec<u8>)> = Vec::new();
        let mut seed = 0.0f32;
        let mut add = |name: String, shape: Vec<usize>, dtype: DType| {
            seed += 1.0;
            let n: usize = shape.iter().product();
            let v = vals(n, seed);
            vars.push((name, shape, dtype, enc(&v, dtype)));
        };
        add(
            "encoder/position_encodings/encodings".into(),
            vec![1500, d],
            DType::F32,
        );
        add(
            "decoder/position_encodings/encodings".into(),
            vec![448, d],
            DType::F32,
        );
        add("encoder/conv1/weight".into(), vec![d, self.n_mels, 3], wt);
        add("encoder/conv1/bias".into(), vec![d], wt);
        add("encoder/conv2/weight".into(), vec![d, d, 3], wt);
        add("encoder/conv2/bias".into(), vec![d], wt);
        add(
            "decoder/embeddings/weight".into(),
            vec![self.n_vocab, d],
            wt,
        );
        for side in ["encoder", "decoder"] {
            add(format!("{side}/layer_norm/gamma"), vec![d], wt);
            add(format!("{side}/layer_norm/beta"), vec![d], wt);
            for n in 0..self.layers {
                let p = format!("{side}/layer_{n}");
                add(
                    format!("{p}/self_attention/linear_0/weight"),
                    vec![3 * d, d],
                    wt,
                );
                add(
                    format!("{p}/self_attention/linear_1/weight"),
                    vec![d, d],
                    wt,
                );
                add(format!("{p}/self_attention/linear_1/bias"), vec![d], wt);
                add(format!("{p}/self_attention/layer_norm/gamma"), vec![d], wt);
                add(format!("{p}/self_attention/layer_norm/beta"), vec![d], wt);
                add(format!("{p}/ffn/linear_0/weight"), vec![4 * d, d], wt);
                add(format!("{p}/ffn/linear_0/bias"), vec![4 * d], wt);
                add(format!("{p}/ffn/linear_1/weight"), vec![d, 4 * d], wt);
                add(format!("{p}/ffn/linear_1/bias"), vec![d], wt);
                add(format!("{p}/ffn/layer_norm/gamma"), vec![d], wt);
                add(format!("{p}/ffn/layer_norm/beta"), vec![d], wt);
                if side == "decoder" {
                    add(format!("{p}/attention/linear_0/weight"), vec![d, d], wt);
                    add(format!("{p}/attention/linear_0/bias"), vec![d], wt);
                    add(format!("{p}/attention/linear_1/weight"), vec![2 * d, d], wt);
                    add(format!("{p}/attention/linear_1/bias"), vec![2 * d], wt);
                    add(format!("{p}/attention/linear_2/weight"), vec![d, d], wt);
                    add(format!("{p}/attention/linear_2/bias"), vec![d], wt);
                    add(format!("{p}/attention/layer_norm/gamma"), vec![d], wt);
                    add(format!("{p}/attention/layer_norm/beta"), vec![d], wt);
                }
            }
        }
        // Fused QKV bias with the key slice set explicitly.
        for side in ["encoder", "decoder"] {
            for n in 0..self.layers {
                let mut b = vals(3 * d, 50.0);
                b[d..2 * d].iter_mut().for_each(|x| *x = self.key_bias);
                vars.push((
                    format!("{side}/layer_{n}/self_attention/linear_0/bias"),
                    vec![3 * d],
                    wt,
                    enc(&b, wt),
                ));
            }
        }
        for side in ["encoder", "decoder"] {
            vars.push((
                format!("{side}/num_heads"),
                vec![],
                DType::I16,
                2i16.to_le_bytes().to_vec(),
            ));
        }
        let emb = vars
            .iter()
            .find(|v| v.0 == "decoder/embeddings/weight")
            .map(|v| v.3.clone())
            .unwrap();
        let mut aliases = Vec::new();
        match self.tied {
            Tied::Alias => aliases.push(("decoder/projection/weight", "decoder/embeddings/weight")),
            Tied::Missing => {}
            Tied::Copy => vars.push((
                "decoder/projection/weight".into(),
                vec![self.n_vocab, d],
                wt,
                emb,
            )),
            Tied::Different => {
                let mut e = emb;
                e[0] ^= 1;
                vars.push((
                    "decoder/projection/weight".into(),
                    vec![self.n_vocab, d],
                    wt,
                    e,
                ))
            }
        }
        let refs: Vec<(&str, Vec<usize>, DType, Vec<u8>)> = vars
            .iter()
            .map(|(n, s, t, b)| (n.as_str(), s.clone(), *t, b.clone()))
            .collect();
        write_ct2(&refs, &aliases)
    }

    pub fn model(&self) -> Ct2Model {
        Ct2Model::from_bytes(self.build()).unwrap()
    }
}

/// A vocabulary in CTranslate2's byte-level text form.
pub(crate) fn synth_vocab(n: usize) -> Vec<String> {
    let table = tokens::bytes_to_unicode();
    (0..n)
        .map(|i| match i {
            50256 => "<|endoftext|>".to_string(),
            i if i < 256 => table[i].to_string(),
            i => format!("Ġw{i}"),
        })
        .collect()
}

fn convert(s: &Synth) -> Vec<u8> {
    convert_as(s, Quant::F16)
}

fn convert_as(s: &Synth, quant: Quant) -> Vec<u8> {
    let mut out = Vec::new();
    ggml::write_whisper(
        &s.model(),
        &synth_vocab(s.n_vocab),
        quant,
        &mut out,
        &mut |_, _| {},
    )
    .unwrap();
    out
}

#[test]
fn hparams_come_from_shapes() {
    let s = Synth {
        layers: 2,
        ..Default::default()
    };
    let h = ggml::hparams_from_ct2(&s.model()).unwrap();
    assert_eq!(
        h,
        Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 8,
            n_audio_head: 2,
            n_audio_layer: 2,
            n_text_ctx: 448,
            n_text_state: 8,
            n_text_head: 2,
            n_text_layer: 2,
            n_mels: 80,
            ftype: 1,
        }
    );
    assert_eq!(h.expected_tensors(), 11 + 15 * 2 + 24 * 2);
    let s128 = Synth {
        n_mels: 128,
        n_vocab: 51866,
        ..Default::default()
    };
    let h = ggml::hparams_from_ct2(&s128.model()).unwrap();
    assert_eq!(h.n_mels, 128);
    assert!(!h.english_only());
}

#[test]
fn tensor_count_types_and_shapes() {
    for layers in [1, 3] {
        let s = Synth {
            layers,
            ..Default::default()
        };
        let m = s.model();
        let h = ggml::hparams_from_ct2(&m).unwrap();
        let plan = ggml::plan_tensors(&m, &h, Quant::F16).unwrap();
        assert_eq!(plan.len(), 11 + 39 * layers);
        let names: std::collections::HashSet<_> = plan.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), plan.len(), "names are unique");
        assert!(!names.contains("encoder.blocks.0.attn.key.bias"));
        assert!(!names.contains("decoder.blocks.0.cross_attn.key.bias"));
        for t in &plan {
            let want = if t.name.ends_with("positional_embedding")
                || t.name.ends_with(".bias")
                || t.name.contains("_ln.")
                || t.name.contains("ln_post")
                || t.name.starts_with("decoder.ln.")
            {
                TType::F32
            } else {
                TType::F16
            };
            assert_eq!(t.ttype, want, "{}", t.name);
        }
        let get = |n: &str| plan.iter().find(|t| t.name == n).unwrap();
        assert_eq!(get("encoder.conv1.bias").shape, vec![8, 1]);
        assert_eq!(get("encoder.conv2.bias").shape, vec![8, 1]);
        assert_eq!(get("encoder.conv1.weight").shape, vec![8, 80, 3]);
        assert_eq!(get("encoder.blocks.0.attn.key.weight").shape, vec![8, 8]);
        assert_eq!(get("decoder.blocks.0.cross_attn.value.bias").shape, vec![8]);
        assert_eq!(get("decoder.token_embedding.weight").shape, vec![51864, 8]);
    }
}

/// Parses the tensors of a ggml file held in memory: name -> (ttype, ne, data).
fn tensors(file: &[u8], header_len: usize) -> Vec<(String, i32, Vec<i32>, Vec<u8>)> {
    let mut pos = header_len;
    let rd = |p: &mut usize| {
        let v = i32::from_le_bytes(file[*p..*p + 4].try_into().unwrap());
        *p += 4;
        v
    };
    let mut out = Vec::new();
    while pos < file.len() {
        let n_dims = rd(&mut pos);
        let name_len = rd(&mut pos) as usize;
        let ttype = rd(&mut pos);
        let ne: Vec<i32> = (0..n_dims).map(|_| rd(&mut pos)).collect();
        let name = String::from_utf8(file[pos..pos + name_len].to_vec()).unwrap();
        pos += name_len;
        let n: usize = ne.iter().map(|&x| x as usize).product();
        let size = match ttype {
            0 => n * 4,
            1 => n * 2,
            8 => n / 32 * Quant::Q8_0.block_bytes(),
            6 => n / 32 * Quant::Q5_0.block_bytes(),
            t => panic!("unexpected ggml type {t}"),
        };
        out.push((name, ttype, ne, file[pos..pos + size].to_vec()));
        pos += size;
    }
    out
}

fn header_len(n_mels: usize, vocab: &[Vec<u8>]) -> usize {
    4 + 11 * 4 + 8 + n_mels * 201 * 4 + 4 + vocab.iter().map(|t| 4 + t.len()).sum::<usize>()
}

fn f16s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(2)
        .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
        .collect()
}
/// Values as they come out of an f16 round trip.
fn r16(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| f16::from_f32(*x).to_f32()).collect()
}
fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn fused_qkv_and_kv_are_split_by_rows() {
    for f32_weights in [false, true] {
        let s = Synth {
            f32_weights,
            ..Default::default()
        };
        let m = s.model();
        let out = convert(&s);
        let vocab = tokens::ggml_vocab(&synth_vocab(s.n_vocab), s.n_vocab).unwrap();
        let ts = tensors(&out, header_len(80, &vocab));
        let get = |n: &str| ts.iter().find(|t| t.0 == n).unwrap();
        let d = s.d;
        for side in ["encoder", "decoder"] {
            let qkv = m
                .f32_values(&format!("{side}/layer_0/self_attention/linear_0/weight"))
                .unwrap();
            let qkv_b = m
                .f32_values(&format!("{side}/layer_0/self_attention/linear_0/bias"))
                .unwrap();
            for (i, part) in ["query", "key", "value"].iter().enumerate() {
                let w = get(&format!("{side}.blocks.0.attn.{part}.weight"));
                assert_eq!(w.1, 1);
                assert_eq!(w.2, vec![d as i32, d as i32]);
                assert_eq!(
                    f16s(&w.3),
                    r16(&qkv[i * d * d..(i + 1) * d * d]),
                    "{side} {part}"
                );
            }
            let qb = get(&format!("{side}.blocks.0.attn.query.bias"));
            assert_eq!(f32s(&qb.3), qkv_b[..d].to_vec());
            let vb = get(&format!("{side}.blocks.0.attn.value.bias"));
            assert_eq!(f32s(&vb.3), qkv_b[2 * d..].to_vec());
        }
        let kv = m
            .f32_values("decoder/layer_0/attention/linear_1/weight")
            .unwrap();
        let kv_b = m
            .f32_values("decoder/layer_0/attention/linear_1/bias")
            .unwrap();
        assert_eq!(
            f16s(&get("decoder.blocks.0.cross_attn.key.weight").3),
            r16(&kv[..d * d])
        );
        assert_eq!(
            f16s(&get("decoder.blocks.0.cross_attn.value.weight").3),
            r16(&kv[d * d..])
        );
        assert_eq!(
            f32s(&get("decoder.blocks.0.cross_attn.value.bias").3),
            kv_b[d..].to_vec()
        );
        // Conv bias [n,1] in numpy order is ne [1, n].
        assert_eq!(get("encoder.conv1.bias").2, vec![1, d as i32]);
        assert_eq!(get("encoder.conv1.weight").2, vec![3, 80, d as i32]);
        assert_eq!(get("encoder.positional_embedding").1, 0);
    }
}

#[test]
fn quantised_conversion_types_the_matrices_and_loads_in_whisper_cpp() {
    // Quantised rows need whole 32-value blocks.
    let s = Synth {
        d: 64,
        ..Default::default()
    };
    let vocab = tokens::ggml_vocab(&synth_vocab(s.n_vocab), s.n_vocab).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (quant, ttype, ftype) in [(Quant::Q8_0, 8, 2007), (Quant::Q5_0, 6, 2008)] {
        let out = convert_as(&s, quant);
        let ts = tensors(&out, header_len(80, &vocab));
        let ttype_of = |n: &str| ts.iter().find(|t| t.0 == n).unwrap().1;
        // Matrices whisper.cpp multiplies: quantised; conv f16; the rest f32.
        for n in [
            "encoder.blocks.0.attn.query.weight",
            "encoder.blocks.0.mlp.0.weight",
            "decoder.blocks.0.cross_attn.key.weight",
            "decoder.token_embedding.weight",
        ] {
            assert_eq!(ttype_of(n), ttype, "{n}");
        }
        assert_eq!(ttype_of("encoder.conv1.weight"), 1);
        assert_eq!(ttype_of("encoder.blocks.0.attn.query.bias"), 0);
        assert_eq!(ttype_of("decoder.positional_embedding"), 0);
        let p = dir.path().join(format!("m-{}.bin", quant.name()));
        std::fs::write(&p, &out).unwrap();
        match ggml::inspect(&p).unwrap().kind {
            GgmlKind::Whisper { hparams, .. } => assert_eq!(hparams.ftype, ftype),
            other => panic!("{other:?}"),
        }
        super::store::load_check(&p).unwrap();
    }
}

#[test]
fn converted_file_passes_inspection() {
    let s = Synth::default();
    let out = convert(&s);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.bin");
    std::fs::write(&p, &out).unwrap();
    let info = ggml::inspect(&p).unwrap();
    assert_eq!(info.n_tensors, 50);
    match info.kind {
        GgmlKind::Whisper { hparams, n_tokens } => {
            assert_eq!(n_tokens, 50257);
            assert_eq!(hparams.n_vocab, 51864);
        }
        other => panic!("{other:?}"),
    }
    // Truncation is detected.
    std::fs::write(&p, &out[..out.len() - 3]).unwrap();
    let e = ggml::inspect(&p).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    // So is a missing tensor.
    let ts_start = out.len() - (4 * 3 + 4 + "decoder.ln.bias".len() + 8 * 4);
    std::fs::write(&p, &out[..ts_start]).unwrap();
    let e = ggml::inspect(&p).unwrap_err().to_string();
    assert!(e.contains("49 tensors"), "{e}");
}

#[test]
fn projection_must_be_tied() {
    for tied in [Tied::Alias, Tied::Missing, Tied::Copy] {
        let s = Synth {
            tied,
            ..Default::default()
        };
        ggml::check_tied_projection(&s.model()).unwrap();
    }
    let s = Synth {
        tied: Tied::Different,
        ..Default::default()
    };
    let e = ggml::check_tied_projection(&s.model())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not tied"), "{e}");
}

#[test]
fn non_zero_key_bias_is_refused() {
    let s = Synth {
        key_bias: 0.5,
        ..Default::default()
    };
    let e = ggml::write_whisper(
        &s.model(),
        &synth_vocab(s.n_vocab),
        Quant::F16,
        &mut Vec::new(),
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("key bias"), "{e}");
}

#[test]
fn missing_variable_is_a_clear_error() {
    let bytes = write_ct2(
        &[(
            "encoder/num_heads",
            vec![],
            DType::I16,
            6i16.to_le_bytes().to_vec(),
        )],
        &[],
    );
    let m = Ct2Model::from_bytes(bytes).unwrap();
    let e = ggml::write_whisper(
        &m,
        &synth_vocab(51864),
        Quant::F16,
        &mut Vec::new(),
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no variable decoder/embeddings/weight"), "{e}");
}

#[test]
fn truncated_model_bin_is_a_clear_error() {
    let bytes = Synth::default().build();
    for cut in [bytes.len() / 3, bytes.len() - 1] {
        let e = Ct2Model::from_bytes(bytes[..cut].to_vec())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
    }
}

/// The committed fixture is the header of the real tiny.en conversion. Its
/// vocabulary, re-encoded to GPT-2 byte-level text and converted again with
/// the tiny.en hyper-parameters, must reproduce it byte for byte (this pins
/// the header layout, the mel filters and the token decoding together).
#[test]
fn header_fixture_is_reproduced_byte_for_byte() {
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ggml-tiny.en-header-only.bin"
    ))
    .unwrap();
    let rd = |p: usize| i32::from_le_bytes(fixture[p..p + 4].try_into().unwrap());
    assert_eq!(rd(0) as u32, ggml::GGML_MAGIC);
    let h = Hparams {
        n_vocab: 51864,
        n_audio_ctx: 1500,
        n_audio_state: 384,
        n_audio_head: 6,
        n_audio_layer: 4,
        n_text_ctx: 448,
        n_text_state: 384,
        n_text_head: 6,
        n_text_layer: 4,
        n_mels: 80,
        ftype: 1,
    };
    let mut pos = 4 + 44 + 8 + 80 * 201 * 4;
    let n_tokens = rd(pos) as usize;
    pos += 4;
    let table = tokens::bytes_to_unicode();
    let mut vocab_text = Vec::new();
    for _ in 0..n_tokens {
        let len = rd(pos) as usize;
        pos += 4;
        vocab_text.push(
            fixture[pos..pos + len]
                .iter()
                .map(|&b| table[b as usize])
                .collect::<String>(),
        );
        pos += len;
    }
    assert_eq!(pos, fixture.len(), "header only");
    assert_eq!(n_tokens, 50257);
    let vocab = tokens::ggml_vocab(&vocab_text, 51864).unwrap();
    let mut out = Vec::new();
    ggml::write_header(&mut out, &h, &vocab).unwrap();
    assert_eq!(out.len(), fixture.len());
    assert!(out == fixture, "header differs from the committed fixture");
}
