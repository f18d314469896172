//! Audio stage: any dictation format offices send, decoded to 16 kHz mono f32.
//!
//! Whisper wants 16 kHz mono, and recordings arrive as WAV (PCM, u-law, A-law,
//! ADPCM), MP3, M4A/AAC, FLAC, Ogg Vorbis and Opus in Ogg or WebM, at 8-48 kHz,
//! mono or stereo, seconds to hours long. Every other stage goes through here.
//!
//! Decoding streams: one packet is decoded, mixed to mono and pushed through a
//! rubato FFT resampler before the next is read, so a two-hour MP3 never sits
//! in memory at its source rate. [`decode_stream`] also avoids holding the
//! 16 kHz output, for callers that consume it in chunks.
//!
//! Files that are not usable audio fail with one line that names the file,
//! what is wrong and what to do (e.g. how to convert a DSS recording), and
//! never panic: unknown formats are recognised by their magic bytes first, and
//! a panic inside a third-party decoder is caught and reported as damaged data.

mod decode;
mod info;
mod resample;
mod sniff;

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use symphonia::core::io::MediaSource;

use crate::error::IoContext;
use crate::{Error, Result};
use decode::Source;
pub use info::{format_duration, AudioInfo};
use resample::To16k;

/// The sample rate every decode produces (what Whisper expects).
pub const TARGET_RATE: u32 = 16_000;

/// Default upper limit on a recording's length: 4 hours. Longer uploads are
/// almost always mistakes (a recorder left running) and would tie up the
/// transcriber for a long time.
pub const DEFAULT_MAX_DURATION_S: f64 = 4.0 * 3600.0;

/// How to decode.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Recordings longer than this many seconds are rejected (default 4 h).
    pub max_duration_s: f64,
    /// When set to `true` (e.g. from a Ctrl-C handler) decoding stops with
    /// [`Error::Interrupted`] at the next packet.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_duration_s: DEFAULT_MAX_DURATION_S,
            cancel: None,
        }
    }
}

/// A whole recording at 16 kHz mono.
#[derive(Debug)]
pub struct Decoded {
    /// 16 kHz mono samples in [-1, 1].
    pub samples: Vec<f32>,
    /// Source facts; `duration_s` is the decoded length.
    pub info: AudioInfo,
    /// Damaged packets that were skipped (each leaves a short gap).
    pub skipped_packets: usize,
}

impl Decoded {
    /// A one-line warning for the user when packets were skipped.
    pub fn warning(&self) -> Option<String> {
        skipped_warning(self.skipped_packets)
    }
}

/// The warning to show when `skipped` damaged packets were left out of a decode.
pub fn skipped_warning(skipped: usize) -> Option<String> {
    match skipped {
        0 => None,
        1 => Some("skipped 1 damaged audio packet (a short gap in the audio)".into()),
        n => Some(format!(
            "skipped {n} damaged audio packets (short gaps in the audio)"
        )),
    }
}

/// Reads a file's format facts. Fast: only the header is read when the
/// container states the length; otherwise packets are counted without decoding
/// (or, as a last resort, decoded).
pub fn probe(path: &Path) -> Result<AudioInfo> {
    guard(path, || {
        let mut source = open_file(path, &DecodeOptions::default())?;
        if source.info.sample_rate == 0 || source.info.channels == 0 {
            // The container does not say; the decoded audio does.
            let (info, _) = run(source, &DecodeOptions::default(), &mut |_| Ok(()))?;
            return Ok(info);
        }
        if source.header_frames.is_none() {
            match source.count_duration_by_demuxing()? {
                Some(seconds) => source.info.duration_s = seconds,
                None => {
                    let source = open_file(path, &DecodeOptions::default())?;
                    let (info, _) = run(source, &DecodeOptions::default(), &mut |_| Ok(()))?;
                    return Ok(info);
                }
            }
        }
        Ok(source.info)
    })
}

/// Decodes a whole file to 16 kHz mono.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Decoded> {
    guard(path, || {
        let source = open_file(path, opts)?;
        collect(source, opts)
    })
}

/// Decodes an in-memory recording (e.g. an upload) to 16 kHz mono. `name` is
/// used in messages and its extension as a format hint.
pub fn decode_bytes(bytes: Vec<u8>, name: &str, opts: &DecodeOptions) -> Result<Decoded> {
    let label = Path::new(name);
    guard(label, || {
        let head = bytes[..bytes.len().min(sniff::HEAD_LEN)].to_vec();
        let len = bytes.len() as u64;
        let source = Source::open(label, Box::new(Cursor::new(bytes)), &head, len, opts)?;
        collect(source, opts)
    })
}

/// Streams 16 kHz mono chunks (about one second each) to `sink`; returns the
/// info and skipped-packet count. An error from `sink` stops decoding and is
/// returned as is.
///
/// Errors found only at the end (a truncated file) are returned after the
/// audio before the damage has been handed out.
pub fn decode_stream(
    path: &Path,
    opts: &DecodeOptions,
    sink: &mut dyn FnMut(&[f32]) -> Result<()>,
) -> Result<(AudioInfo, usize)> {
    guard(path, || {
        let source = open_file(path, opts)?;
        run(source, opts, sink)
    })
}

/// Runs `f`, turning a panic inside a decoder into an error about the file.
fn guard<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(Error::audio(
            path,
            "the decoder failed on malformed data: the file is probably damaged; \
             re-export it or convert it to WAV with ffmpeg",
        ))
    })
}

fn open_file(path: &Path, opts: &DecodeOptions) -> Result<Source> {
    let mut file = File::open(path).at(path)?;
    let meta = file.metadata().at(path)?;
    if meta.is_dir() {
        return Err(Error::audio(path, "is a directory, not an audio file"));
    }
    let mut head = vec![0u8; sniff::HEAD_LEN];
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read(&mut head[filled..]).at(path)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    file.seek(SeekFrom::Start(0)).at(path)?;
    let media: Box<dyn MediaSource> = Box::new(file);
    Source::open(path, media, &head, meta.len(), opts)
}

fn collect(source: Source, opts: &DecodeOptions) -> Result<Decoded> {
    let expected = source.info.duration_s.min(opts.max_duration_s).max(0.0);
    let mut samples = Vec::with_capacity((expected * f64::from(TARGET_RATE)) as usize + 1024);
    let (info, skipped_packets) = run(source, opts, &mut |chunk| {
        samples.extend_from_slice(chunk);
        Ok(())
    })?;
    samples.shrink_to_fit();
    Ok(Decoded {
        samples,
        info,
        skipped_packets,
    })
}

fn too_long(path: &Path, seconds: f64, limit: f64) -> Error {
    Error::audio(
        path,
        format!(
            "recording is {} long, over the {} limit: split it or raise the limit",
            format_duration(seconds),
            format_duration(limit)
        ),
    )
}

/// The decode loop shared by every entry point.
fn run(
    mut source: Source,
    opts: &DecodeOptions,
    sink: &mut dyn FnMut(&[f32]) -> Result<()>,
) -> Result<(AudioInfo, usize)> {
    let path = source_path(&source);
    if source.info.duration_s > opts.max_duration_s {
        return Err(too_long(&path, source.info.duration_s, opts.max_duration_s));
    }
    let mut mono = Vec::new();
    let mut converter: Option<(u32, To16k)> = None;
    let mut frames_in: u64 = 0;
    while let Some(rate) = source.next_mono(&mut mono)? {
        let (conv_rate, conv) = match &mut converter {
            Some(c) => c,
            None => {
                let conv = To16k::new(rate).map_err(|why| Error::audio(&path, why))?;
                converter.insert((rate, conv))
            }
        };
        if *conv_rate != rate {
            return Err(Error::audio(
                &path,
                format!(
                    "the sample rate changes mid-stream ({conv_rate} Hz to {rate} Hz): \
                     convert it to WAV with ffmpeg first"
                ),
            ));
        }
        frames_in += mono.len() as u64;
        let seconds = frames_in as f64 / f64::from(rate);
        if seconds > opts.max_duration_s {
            return Err(too_long(&path, seconds, opts.max_duration_s));
        }
        conv.push(&mono, sink)?;
    }
    let Some((rate, conv)) = converter else {
        let why = if source.skipped > 0 {
            format!(
                "no audio could be decoded: all {} packets are damaged; re-export or re-upload it",
                source.skipped
            )
        } else {
            "contains no audio samples (the audio track is empty)".to_string()
        };
        return Err(Error::audio(&path, why));
    };
    if source.skipped > 10 && source.skipped > source.decoded_packets {
        return Err(Error::audio(
            &path,
            format!(
                "audio is mostly damaged ({} of {} packets could not be decoded): \
                 re-export or re-upload it",
                source.skipped,
                source.skipped + source.decoded_packets
            ),
        ));
    }
    conv.finish(sink)?;

    let mut info = source.info.clone();
    let decoded_s = frames_in as f64 / f64::from(rate);
    if let Some(header) = source.header_frames {
        let header_rate = if info.sample_rate > 0 {
            info.sample_rate
        } else {
            rate
        };
        let header_s = header as f64 / f64::from(header_rate);
        if decoded_s + (0.25f64).max(header_s * 0.02) < header_s {
            return Err(Error::audio(
                &path,
                format!(
                    "file is truncated: the header says {} but only {} of audio could be read; \
                     re-export or re-upload it",
                    format_duration(header_s),
                    format_duration(decoded_s)
                ),
            ));
        }
    }
    info.sample_rate = rate;
    info.duration_s = decoded_s;
    Ok((info, source.skipped))
}

fn source_path(source: &Source) -> std::path::PathBuf {
    source.path().to_path_buf()
}
