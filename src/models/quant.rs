//! ggml block quantisation of weight matrices (q8_0, q5_0), written by the
//! converter so that whisper.cpp multiplies 8- or 5-bit weights instead of
//! f16: less memory traffic and integer dot products, which is where most of
//! Whisper's CPU time goes. The formats and rounding follow ggml's reference
//! quantisers (`quantize_row_q8_0_ref`, `quantize_row_q5_0_ref`) so files are
//! byte-identical to whisper.cpp's own `quantize` tool.

use half::f16;

/// Values per block in every format here.
pub const BLOCK: usize = 32;

/// How the converter stores the large weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quant {
    /// Half precision, as the source model (no quantisation).
    #[default]
    F16,
    /// 8-bit blocks: an f16 scale and 32 signed bytes (8.5 bits per weight).
    Q8_0,
    /// 5-bit blocks: an f16 scale, 32 high bits and 32 nibbles (5.5 bits per weight).
    Q5_0,
}

/// `GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR`: quantised files carry the
/// quantisation format version in the header's ftype.
const QNT_VERSION_OFFSET: i32 = 2 * 1000;

impl Quant {
    /// The header's ftype (`ggml_ftype`, plus the format version when quantised).
    pub fn ftype(self) -> i32 {
        match self {
            Quant::F16 => 1,
            Quant::Q8_0 => 7 + QNT_VERSION_OFFSET,
            Quant::Q5_0 => 8 + QNT_VERSION_OFFSET,
        }
    }

    /// The format's name, as on the command line and in model names.
    pub fn name(self) -> &'static str {
        match self {
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
            Quant::Q5_0 => "q5_0",
        }
    }

    /// Bytes of one block of [`BLOCK`] values.
    pub fn block_bytes(self) -> usize {
        match self {
            Quant::F16 => 2 * BLOCK,
            Quant::Q8_0 => 2 + BLOCK,
            Quant::Q5_0 => 2 + 4 + BLOCK / 2,
        }
    }

    /// Encodes `vals` (a whole number of blocks) in this format.
    pub fn encode(self, vals: &[f32]) -> Vec<u8> {
        assert_eq!(vals.len() % BLOCK, 0, "rows are multiples of {BLOCK}");
        let mut out = Vec::with_capacity(vals.len() / BLOCK * self.block_bytes());
        for b in vals.chunks_exact(BLOCK) {
            match self {
                Quant::F16 => b
                    .iter()
                    .for_each(|x| out.extend_from_slice(&f16::from_f32(*x).to_le_bytes())),
                Quant::Q8_0 => q8_0_block(b, &mut out),
                Quant::Q5_0 => q5_0_block(b, &mut out),
            }
        }
        out
    }
}

impl std::str::FromStr for Quant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f16" => Ok(Quant::F16),
            "q8_0" => Ok(Quant::Q8_0),
            "q5_0" => Ok(Quant::Q5_0),
            _ => Err(format!(
                "unknown weight format {s:?}; use f16, q8_0 or q5_0"
            )),
        }
    }
}

fn q8_0_block(x: &[f32], out: &mut Vec<u8>) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    out.extend(x.iter().map(|v| (v * id).round() as i8 as u8));
}

fn q5_0_block(x: &[f32], out: &mut Vec<u8>) {
    // The value of largest magnitude, sign kept, maps to -16.
    let (mut amax, mut max) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
    let half = BLOCK / 2;
    let q = |v: f32| ((v * id + 16.5) as i8).min(31) as u8;
    let mut qh = 0u32;
    let mut qs = [0u8; BLOCK / 2];
    for j in 0..half {
        let (a, b) = (q(x[j]), q(x[j + half]));
        qs[j] = (a & 0x0f) | ((b & 0x0f) << 4);
        qh |= (((a & 0x10) >> 4) as u32) << j;
        qh |= (((b & 0x10) >> 4) as u32) << (j + half);
    }
    out.extend_from_slice(&qh.to_le_bytes());
    out.extend_from_slice(&qs);
}

/// Decodes blocks back to f32 (ggml's `dequantize_row_*`); for tests and checks.
pub fn decode(q: Quant, bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / q.block_bytes() * BLOCK);
    for b in bytes.chunks_exact(q.block_bytes()) {
        match q {
            Quant::F16 => out.extend(
                b.chunks_exact(2)
                    .map(|h| f16::from_le_bytes([h[0], h[1]]).to_f32()),
            ),
            Quant::Q8_0 => {
                let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
                out.extend(b[2..].iter().map(|&v| v as i8 as f32 * d));
            }
            Quant::Q5_0 => {
                let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                let qs = &b[6..];
                let half = BLOCK / 2;
                let val = |lo: u8, bit: u32| ((lo as u32 | (bit << 4)) as i32 - 16) as f32 * d;
                let mut block = [0f32; BLOCK];
                for j in 0..half {
                    block[j] = val(qs[j] & 0x0f, (qh >> j) & 1);
                    block[j + half] = val(qs[j] >> 4, (qh >> (j + half)) & 1);
                }
                out.extend_from_slice(&block);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<f32> {
        // Deterministic weights of mixed sign and scale, like a linear layer's.
        (0..n)
            .map(|i| ((i as f32 * 0.7).sin() * 0.05) * if i % 7 == 0 { 3.0 } else { 1.0 })
            .collect()
    }

    fn max_error(q: Quant, x: &[f32]) -> f32 {
        let back = decode(q, &q.encode(x));
        assert_eq!(back.len(), x.len());
        x.iter()
            .zip(&back)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
    }

    #[test]
    fn block_sizes_match_ggml() {
        let x = sample(4 * BLOCK);
        assert_eq!(Quant::Q8_0.encode(&x).len(), 4 * 34);
        assert_eq!(Quant::Q5_0.encode(&x).len(), 4 * 22);
        assert_eq!(Quant::F16.encode(&x).len(), 4 * 64);
    }

    #[test]
    fn round_trip_error_is_within_one_step() {
        let x = sample(64 * BLOCK);
        let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        // Half a quantisation step (plus f16 rounding of the scale); q5_0's
        // levels run -16..15, so the far side of its range may lose a step.
        assert!(max_error(Quant::Q8_0, &x) <= amax / 127.0 * 0.51 + 1e-4);
        assert!(max_error(Quant::Q5_0, &x) <= amax / 16.0 * 1.01 + 1e-4);
        assert!(max_error(Quant::F16, &x) <= 1e-4);
    }

    #[test]
    fn zero_block_stays_zero() {
        let x = vec![0f32; BLOCK];
        for q in [Quant::Q8_0, Quant::Q5_0] {
            assert!(decode(q, &q.encode(&x)).iter().all(|v| *v == 0.0));
        }
    }

    #[test]
    fn extreme_value_is_exact_in_q5_0() {
        // The largest-magnitude value maps to -16 exactly.
        let mut x = vec![0.01f32; BLOCK];
        x[5] = -0.8;
        let back = decode(Quant::Q5_0, &Quant::Q5_0.encode(&x));
        assert!((back[5] + 0.8).abs() < 1e-3, "{}", back[5]);
    }

    #[test]
    fn names_parse() {
        assert_eq!("q8_0".parse::<Quant>(), Ok(Quant::Q8_0));
        assert_eq!("q5_0".parse::<Quant>(), Ok(Quant::Q5_0));
        assert!("q4".parse::<Quant>().unwrap_err().contains("q8_0"));
    }
}
