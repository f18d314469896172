//! Format facts reported by `probe` and returned with every decode.

use serde::Serialize;

/// What a file is: container, codec and the source signal's shape.
///
/// `sample_rate` and `channels` describe the source, not the 16 kHz mono output,
/// so a caller can tell a phone recording (8 kHz) from a studio one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudioInfo {
    /// Container short name: `wav`, `mp3`, `mp4`, `flac`, `ogg`, `webm`, `mkv`, `aac`, ...
    pub container: String,
    /// Codec short name as symphonia names it: `pcm_s16le`, `pcm_mulaw`, `mp3`, `aac`, `opus`, ...
    pub codec: String,
    /// Source sample rate in Hz.
    pub sample_rate: u32,
    /// Source channel count.
    pub channels: u16,
    /// Duration in seconds (from the header for `probe`, from the decoded audio for decodes).
    pub duration_s: f64,
}

/// Formats a duration for people: `1:02:03.4` or `2:03.4` or `3.40 s`.
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    if seconds < 60.0 {
        return format!("{seconds:.2} s");
    }
    let tenths = (seconds * 10.0).round() as u64;
    let (h, rem) = (tenths / 36_000, tenths % 36_000);
    let (m, rem) = (rem / 600, rem % 600);
    let (s, t) = (rem / 10, rem % 10);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{t}")
    } else {
        format!("{m}:{s:02}.{t}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(3.4), "3.40 s");
        assert_eq!(format_duration(123.4), "2:03.4");
        assert_eq!(format_duration(3723.4), "1:02:03.4");
        assert_eq!(format_duration(f64::NAN), "?");
    }
}
