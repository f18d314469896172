//! Streaming conversion of mono audio at the source rate to 16 kHz, with rubato's
//! FFT resampler (fixed ratio, fast, high quality). Input arrives in decoder-sized
//! pieces and output leaves in ~1 s chunks, so memory stays bounded however long
//! the recording is.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::TARGET_RATE;

/// Frames per resampler call on the input side (rubato rounds it to fit the ratio).
const CHUNK: usize = 4096;
/// Output is handed to the sink in chunks of about this many samples (1 s).
const OUT_CHUNK: usize = TARGET_RATE as usize;

/// Receives 16 kHz mono chunks.
pub(crate) type Sink<'a> = dyn FnMut(&[f32]) -> crate::Result<()> + 'a;

/// Converts a stream of mono samples at `src_rate` to 16 kHz.
pub(crate) struct To16k {
    fft: Option<Box<Fft<f32>>>,
    ratio: f64,
    /// Source samples waiting for a full resampler chunk.
    pending: Vec<f32>,
    /// Scratch output for one resampler call.
    scratch: Vec<f32>,
    /// Output waiting to be handed out.
    out: Vec<f32>,
    /// Leading output frames that are resampler delay, still to drop.
    delay_left: usize,
    total_in: u64,
    total_out: u64,
}

impl To16k {
    /// Builds a converter; `Err` carries a one-line reason (an odd sample rate).
    pub(crate) fn new(src_rate: u32) -> Result<Self, String> {
        if src_rate == 0 || src_rate > 768_000 {
            return Err(format!("unusable sample rate {src_rate} Hz"));
        }
        let fft = if src_rate == TARGET_RATE {
            None
        } else {
            let fft = Fft::<f32>::new(
                src_rate as usize,
                TARGET_RATE as usize,
                CHUNK,
                1,
                FixedSync::Both,
            )
            .map_err(|e| format!("cannot resample from {src_rate} Hz: {e}"))?;
            Some(Box::new(fft))
        };
        let (scratch_len, delay) = match &fft {
            Some(f) => (f.output_frames_max(), f.output_delay()),
            None => (0, 0),
        };
        Ok(To16k {
            fft,
            ratio: f64::from(TARGET_RATE) / f64::from(src_rate),
            pending: Vec::new(),
            scratch: vec![0.0; scratch_len],
            out: Vec::with_capacity(OUT_CHUNK * 2),
            delay_left: delay,
            total_in: 0,
            total_out: 0,
        })
    }

    /// Feeds source samples; hands out whatever full chunks are ready.
    pub(crate) fn push(&mut self, samples: &[f32], sink: &mut Sink<'_>) -> crate::Result<()> {
        self.total_in += samples.len() as u64;
        if self.fft.is_none() {
            self.out.extend_from_slice(samples);
        } else {
            self.pending.extend_from_slice(samples);
            let mut pos = 0;
            loop {
                let need = self.fft.as_ref().map_or(0, |f| f.input_frames_next());
                if self.pending.len() - pos < need {
                    break;
                }
                self.run(pos, need, None)?;
                pos += need;
            }
            self.pending.drain(..pos);
        }
        if self.out.len() >= OUT_CHUNK {
            self.flush(sink, None)?;
        }
        Ok(())
    }

    /// Drains the resampler and hands out the rest, trimmed so that the output
    /// length is exactly the input length times the rate ratio.
    pub(crate) fn finish(mut self, sink: &mut Sink<'_>) -> crate::Result<u64> {
        let expected = (self.total_in as f64 * self.ratio).ceil() as u64;
        if self.fft.is_some() {
            let left = self.pending.len();
            if left > 0 {
                let need = self.fft.as_ref().map_or(0, |f| f.input_frames_next());
                self.pending.resize(need.max(left), 0.0);
                self.run(0, need, Some(left))?;
            }
            // Pump silence through until the delayed tail has come out.
            let mut guard = 0;
            while self.total_out + (self.out.len() as u64) < expected && guard < 1_000 {
                let need = self.fft.as_ref().map_or(0, |f| f.input_frames_next());
                self.pending.clear();
                self.pending.resize(need, 0.0);
                self.run(0, need, Some(0))?;
                guard += 1;
            }
        }
        self.flush(sink, Some(expected))?;
        Ok(self.total_out)
    }

    /// One resampler call over `pending[pos..pos + need]`.
    fn run(&mut self, pos: usize, need: usize, partial: Option<usize>) -> crate::Result<()> {
        let Some(fft) = self.fft.as_mut() else {
            return Ok(());
        };
        let input = &self.pending[pos..pos + need];
        let in_buf = InterleavedSlice::new(input, 1, need).map_err(resample_error)?;
        let frames = self.scratch.len();
        let mut out_buf =
            InterleavedSlice::new_mut(&mut self.scratch, 1, frames).map_err(resample_error)?;
        let indexing = partial.map(|p| Indexing::new().partial_len(p));
        let (_, produced) = fft
            .process_into_buffer(&in_buf, &mut out_buf, indexing.as_ref())
            .map_err(resample_error)?;
        let skip = self.delay_left.min(produced);
        self.delay_left -= skip;
        self.out.extend_from_slice(&self.scratch[skip..produced]);
        Ok(())
    }

    /// Hands out buffered output, at most up to `limit` samples in total.
    fn flush(&mut self, sink: &mut Sink<'_>, limit: Option<u64>) -> crate::Result<()> {
        let mut len = self.out.len();
        if let Some(limit) = limit {
            len = len.min(limit.saturating_sub(self.total_out) as usize);
        }
        if len > 0 {
            sink(&self.out[..len])?;
            self.total_out += len as u64;
        }
        self.out.clear();
        Ok(())
    }
}

fn resample_error(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Invalid(format!("resampler failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f32, seconds: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    fn convert(rate: u32, input: &[f32], piece: usize) -> Vec<f32> {
        let mut r = To16k::new(rate).unwrap();
        let mut out = Vec::new();
        let mut sink = |c: &[f32]| {
            out.extend_from_slice(c);
            Ok(())
        };
        for p in input.chunks(piece) {
            r.push(p, &mut sink).unwrap();
        }
        r.finish(&mut sink).unwrap();
        out
    }

    #[test]
    fn output_length_matches_ratio() {
        for (rate, piece) in [
            (8000, 160),
            (22050, 1152),
            (44100, 4096),
            (48000, 960),
            (16000, 77),
        ] {
            let input = tone(rate, 440.0, 1.3);
            let out = convert(rate, &input, piece);
            let expected = (input.len() as f64 * 16000.0 / rate as f64).ceil() as usize;
            assert_eq!(out.len(), expected, "rate {rate}");
        }
    }

    #[test]
    fn tone_is_aligned_and_kept() {
        let out = convert(44100, &tone(44100, 440.0, 1.0), 1000);
        // No startup delay left in the output: the first samples follow the sine.
        let reference = tone(16000, 440.0, 1.0);
        let err: f32 = out[200..15800]
            .iter()
            .zip(&reference[200..15800])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 0.01, "max error {err}");
    }

    #[test]
    fn short_and_empty_inputs() {
        assert!(convert(44100, &[], 10).is_empty());
        assert_eq!(convert(44100, &[0.1; 10], 10).len(), 4);
    }
}
