//! Container and codec handling: symphonia demuxes and decodes everything it
//! supports, the libopus adapter adds Opus (browser recordings in Ogg or WebM),
//! and each decoded packet is mixed down to mono right away so that later
//! stages only ever hold one channel at the source rate, one packet at a time.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::{sniff, AudioInfo, DecodeOptions};
use crate::{Error, Result};

/// A run of this many demuxer errors in a row ends the stream: the container is
/// not resynchronising and would otherwise loop.
const MAX_DEMUX_ERRORS_IN_A_ROW: usize = 64;

/// symphonia's decoders plus libopus, built once.
fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
        registry
    })
}

/// An open audio track being decoded packet by packet.
pub(crate) struct Source {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    /// Facts from the header; `duration_s` is 0 and `header_frames` `None` when
    /// the container does not say.
    pub(crate) info: AudioInfo,
    pub(crate) header_frames: Option<u64>,
    /// Seconds per tick of packet timestamps, for counting without decoding.
    time_base: Option<(u32, u32)>,
    /// Packets that failed to decode or demux and were skipped.
    pub(crate) skipped: usize,
    /// Packets that decoded to audio.
    pub(crate) decoded_packets: usize,
    cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    interleaved: Vec<f32>,
}

impl Source {
    /// Sniffs, probes the container and sets up a decoder for the first audio track.
    pub(crate) fn open(
        path: &Path,
        media: Box<dyn MediaSource>,
        head: &[u8],
        byte_len: u64,
        opts: &DecodeOptions,
    ) -> Result<Source> {
        if let Some(why) = sniff::reject_early(head, byte_len) {
            return Err(Error::audio(path, why));
        }
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(&ext.to_ascii_lowercase());
        }
        let mss = MediaSourceStream::new(media, Default::default());
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymError::IoError(ref io) if io.kind() != ErrorKind::UnexpectedEof => {
                    Error::io(path, std::io::Error::new(io.kind(), io.to_string()))
                }
                _ => Error::audio(path, sniff::explain_unreadable(head)),
            })?;
        let container = container_name(format.format_info().short_name, head);

        let track = pick_audio_track(path, format.tracks(), &container)?;
        let params = match &track.codec_params {
            Some(CodecParameters::Audio(p)) => p.clone(),
            _ => return Err(Error::audio(path, "has no audio track")),
        };
        let Some(registered) = codecs().get_audio_decoder(params.codec) else {
            return Err(Error::audio(
                path,
                format!(
                    "{} audio in {container} is not supported: convert it to WAV with ffmpeg, \
                     e.g. ffmpeg -i in.{container} out.wav",
                    unsupported_codec_name(params.codec)
                ),
            ));
        };
        let codec = registered.codec.info.short_name.to_string();
        let decoder = codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| {
                Error::audio(
                    path,
                    format!(
                        "cannot decode this {codec} audio ({e}): convert it to WAV with ffmpeg"
                    ),
                )
            })?;

        let sample_rate = params.sample_rate.unwrap_or(0);
        let channels = params.channels.as_ref().map_or(0, |c| c.count()) as u16;
        let time_base = track.time_base.map(|tb| (tb.numer.get(), tb.denom.get()));
        let header_frames = match (track.num_frames, track.duration, time_base) {
            (Some(n), _, _) => Some(n),
            (None, Some(d), Some((num, den))) if sample_rate > 0 => Some(
                (d.get() as u128 * num as u128 * sample_rate as u128 / den.max(1) as u128) as u64,
            ),
            _ => None,
        };
        let duration_s = match header_frames {
            Some(n) if sample_rate > 0 => n as f64 / f64::from(sample_rate),
            _ => 0.0,
        };
        let track_id = track.id;
        Ok(Source {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            info: AudioInfo {
                container,
                codec,
                sample_rate,
                channels,
                duration_s,
            },
            header_frames,
            time_base,
            skipped: 0,
            decoded_packets: 0,
            cancel: opts.cancel.clone(),
            interleaved: Vec::new(),
        })
    }

    /// The file (or upload name) this source reads, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Decodes the next packet that holds audio, mixed down to mono, into `mono`.
    /// Returns that audio's sample rate, or `None` at the end of the stream.
    pub(crate) fn next_mono(&mut self, mono: &mut Vec<f32>) -> Result<Option<u32>> {
        let mut demux_errors = 0;
        loop {
            if self.cancelled() {
                return Err(Error::Interrupted);
            }
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(None),
                Err(SymError::ResetRequired) => {
                    // A chained stream (e.g. concatenated Ogg files): carry on with
                    // the new audio track.
                    self.restart_track()?;
                    continue;
                }
                Err(SymError::DecodeError(_)) if demux_errors < MAX_DEMUX_ERRORS_IN_A_ROW => {
                    self.skipped += 1;
                    demux_errors += 1;
                    continue;
                }
                // End of data (possibly early: the caller compares with the header)
                // or a container the demuxer cannot read past.
                Err(_) => return Ok(None),
            };
            demux_errors = 0;
            if packet.track_id != self.track_id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(buf) => {
                    let frames = buf.frames();
                    if frames == 0 {
                        continue;
                    }
                    let rate = buf.spec().rate();
                    let channels = buf.spec().channels().count().max(1);
                    buf.copy_to_vec_interleaved::<f32>(&mut self.interleaved);
                    downmix(&self.interleaved, channels, mono);
                    self.decoded_packets += 1;
                    if self.info.channels == 0 {
                        self.info.channels = channels as u16;
                    }
                    if self.info.sample_rate == 0 {
                        self.info.sample_rate = rate;
                    }
                    return Ok(Some(rate));
                }
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    self.skipped += 1;
                }
                Err(SymError::ResetRequired) => {
                    self.decoder.reset();
                    self.skipped += 1;
                }
                Err(e) => {
                    return Err(Error::audio(
                        &self.path,
                        format!(
                            "cannot decode this {} audio ({e}): convert it to WAV with ffmpeg",
                            self.info.codec
                        ),
                    ))
                }
            }
        }
    }

    /// Counts the stream's duration from packet timestamps, without decoding, for
    /// containers whose header does not state it. Returns seconds.
    pub(crate) fn count_duration_by_demuxing(&mut self) -> Result<Option<f64>> {
        let Some((num, den)) = self.time_base else {
            return Ok(None);
        };
        let mut ticks: u64 = 0;
        let mut demux_errors = 0;
        loop {
            if self.cancelled() {
                return Err(Error::Interrupted);
            }
            match self.format.next_packet() {
                Ok(Some(p)) if p.track_id == self.track_id => {
                    ticks = ticks.saturating_add(
                        p.dur
                            .get()
                            .saturating_sub(p.trim_start.get() + p.trim_end.get()),
                    );
                    demux_errors = 0;
                }
                Ok(Some(_)) => {}
                Err(SymError::DecodeError(_)) if demux_errors < MAX_DEMUX_ERRORS_IN_A_ROW => {
                    demux_errors += 1;
                }
                _ => break,
            }
        }
        if ticks == 0 {
            return Ok(None);
        }
        Ok(Some(ticks as f64 * f64::from(num) / f64::from(den.max(1))))
    }

    fn restart_track(&mut self) -> Result<()> {
        let container = self.info.container.clone();
        let track = pick_audio_track(&self.path, self.format.tracks(), &container)?;
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            return Err(Error::audio(&self.path, "has no audio track"));
        };
        self.track_id = track.id;
        self.decoder = codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| {
                Error::audio(
                    &self.path,
                    format!("a later part of the stream cannot be decoded ({e})"),
                )
            })?;
        Ok(())
    }
}

/// Averages the channels of interleaved audio into `mono` (replacing its contents).
/// Averaging keeps the level of a centred voice and makes L = -R cancel, which is
/// what a mono playback of the recording would give.
pub(crate) fn downmix(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) {
    mono.clear();
    match channels {
        0 | 1 => mono.extend_from_slice(interleaved),
        2 => mono.extend(interleaved.chunks_exact(2).map(|f| (f[0] + f[1]) * 0.5)),
        n => {
            let scale = 1.0 / n as f32;
            mono.extend(
                interleaved
                    .chunks_exact(n)
                    .map(|f| f.iter().sum::<f32>() * scale),
            );
        }
    }
}

/// The first audio track, or an error saying there is none or its codec is unknown.
fn pick_audio_track<'a>(path: &Path, tracks: &'a [Track], container: &str) -> Result<&'a Track> {
    let audio = |t: &&Track| matches!(t.codec_params, Some(CodecParameters::Audio(_)));
    let known = tracks.iter().filter(audio).find(|t| {
        matches!(&t.codec_params, Some(CodecParameters::Audio(p))
            if p.codec != symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO)
    });
    if let Some(track) = known {
        return Ok(track);
    }
    if tracks.iter().any(|t| audio(&t)) {
        return Err(Error::audio(
            path,
            format!(
                "the audio codec in this {container} file is not supported: convert it to WAV \
                 with ffmpeg, e.g. ffmpeg -i in.{container} out.wav"
            ),
        ));
    }
    let what = if tracks.is_empty() {
        "has no audio track".to_string()
    } else {
        format!(
            "has no audio track ({} only has video or other data): record again with sound \
             or export the audio",
            container
        )
    };
    Err(Error::audio(path, what))
}

/// A stable, short container name for reports.
fn container_name(short_name: &str, head: &[u8]) -> String {
    match short_name {
        "wave" => "wav".into(),
        "isomp4" => {
            let brand = head.get(8..12).unwrap_or_default();
            if brand == b"M4A " || brand == b"M4B " {
                "m4a".into()
            } else {
                "mp4".into()
            }
        }
        "matroska" | "mkv" => {
            let window = &head[..head.len().min(64)];
            if window.windows(4).any(|w| w == b"webm") {
                "webm".into()
            } else {
                "mkv".into()
            }
        }
        other => other.to_string(),
    }
}

/// Names codecs symphonia can demux but not decode, for the error message.
fn unsupported_codec_name(id: AudioCodecId) -> String {
    let name = match id {
        codec_ids::CODEC_ID_WMA => "WMA",
        codec_ids::CODEC_ID_AC3 => "AC-3",
        codec_ids::CODEC_ID_EAC3 => "E-AC-3",
        codec_ids::CODEC_ID_SPEEX => "Speex",
        codec_ids::CODEC_ID_DCA => "DTS",
        codec_ids::CODEC_ID_ADPCM_G722 => "G.722",
        codec_ids::CODEC_ID_ADPCM_G726 | codec_ids::CODEC_ID_ADPCM_G726LE => "G.726",
        codec_ids::CODEC_ID_WAVPACK => "WavPack",
        codec_ids::CODEC_ID_MONKEYS_AUDIO => "Monkey's Audio",
        codec_ids::CODEC_ID_TTA => "TTA",
        _ => return format!("codec {id}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        let mut mono = Vec::new();
        downmix(&[1.0, -1.0, 0.5, 0.5], 2, &mut mono);
        assert_eq!(mono, vec![0.0, 0.5]);
        downmix(&[0.3, 0.3, 0.3], 3, &mut mono);
        assert!((mono[0] - 0.3).abs() < 1e-6);
    }

    #[test]
    fn opus_is_registered() {
        assert!(codecs()
            .get_audio_decoder(codec_ids::CODEC_ID_OPUS)
            .is_some());
        assert!(codecs()
            .get_audio_decoder(codec_ids::CODEC_ID_MP3)
            .is_some());
    }
}
