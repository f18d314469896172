//! Slaney-style mel filterbank, as `librosa.filters.mel(sr=16000, n_fft=400,
//! n_mels=80|128)` computes it. Whisper was trained with exactly these filters
//! (its `mel_filters.npz`), and whisper.cpp reads them from the model file.
//!
//! librosa works in f64 but stores the triangles in an f32 array before the
//! area normalisation; both roundings are reproduced so the output matches
//! Whisper's own filters bit for bit.

/// Whisper's audio sample rate.
pub const SAMPLE_RATE: f64 = 16000.0;
/// Whisper's FFT size; gives 201 frequency bins.
pub const N_FFT: usize = 400;

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// Hz to mel on the Slaney scale (linear below 1 kHz, logarithmic above).
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

/// Mel to Hz on the Slaney scale.
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// numpy's `linspace(start, stop, n)` (endpoint included, `i*step + start`).
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// The filterbank, row-major `n_mels x (N_FFT/2 + 1)`.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let n_bins = N_FFT / 2 + 1;
    let fftfreqs = linspace(0.0, SAMPLE_RATE / 2.0, n_bins);
    let mels = linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0), n_mels + 2);
    let mel_f: Vec<f64> = mels.iter().map(|&m| mel_to_hz(m)).collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
    let mut out = Vec::with_capacity(n_mels * n_bins);
    for i in 0..n_mels {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for &f in &fftfreqs {
            let lower = -(mel_f[i] - f) / fdiff[i];
            let upper = (mel_f[i + 2] - f) / fdiff[i + 1];
            let m = lower.min(upper);
            // numpy's maximum(0, m) keeps a negative zero; so do we.
            let w = if m >= 0.0 { m } else { 0.0 };
            let stored = w as f32;
            out.push((stored as f64 * enorm) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of Whisper's `mel_filters.npz` (`mel_80`), as f32 bit patterns.
    #[test]
    fn matches_whisper_mel_filters() {
        let m = mel_filters(80);
        assert_eq!(m.len(), 80 * 201);
        let at = |r: usize, c: usize| m[r * 201 + c];
        for &(r, c, bits) in KNOWN_80 {
            assert_eq!(at(r, c).to_bits(), bits, "mel_80[{r}][{c}] = {}", at(r, c));
        }
    }

    #[test]
    fn matches_whisper_mel_filters_128() {
        let m = mel_filters(128);
        assert_eq!(m.len(), 128 * 201);
        for &(r, c, bits) in KNOWN_128 {
            assert_eq!(m[r * 201 + c].to_bits(), bits, "mel_128[{r}][{c}]");
        }
    }

    /// An independent, direct statement of what a Slaney filter is: a triangle
    /// between neighbouring mel points, scaled to unit area in Hz.
    #[test]
    fn triangles_have_slaney_area() {
        let m = mel_filters(80);
        let edges: Vec<f64> = (0..82)
            .map(|i| mel_to_hz(hz_to_mel(8000.0) * i as f64 / 81.0))
            .collect();
        for r in 0..80 {
            let (lo, centre, hi) = (edges[r], edges[r + 1], edges[r + 2]);
            for c in 0..201 {
                let f = c as f64 * 40.0;
                let tri = if f <= lo || f >= hi {
                    0.0
                } else if f <= centre {
                    (f - lo) / (centre - lo)
                } else {
                    (hi - f) / (hi - centre)
                };
                let want = tri * 2.0 / (hi - lo);
                let got = m[r * 201 + c] as f64;
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs().max(1e-3),
                    "[{r}][{c}] {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 500.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    include!("mel_known_values.rs");
}
