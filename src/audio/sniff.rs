//! Magic-byte checks that run before symphonia, so that formats it cannot read
//! (dictation recorders' DSS/DS2, phone AMR, Windows Media) and files that are
//! not audio at all get a message naming what they are and how to convert them,
//! instead of a generic "unknown format".

/// How many leading bytes the sniffers look at.
pub(crate) const HEAD_LEN: usize = 4096;

const ASF_GUID: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];
const W64_RIFF_GUID: [u8; 16] = [
    0x72, 0x69, 0x66, 0x66, 0x2E, 0x91, 0xCF, 0x11, 0xA5, 0xD6, 0x28, 0xDB, 0x04, 0xC1, 0x00, 0x00,
];

/// Returns why the file must be rejected before any decoding is tried, or `None`
/// if it may be audio symphonia can read.
pub(crate) fn reject_early(head: &[u8], len: u64) -> Option<String> {
    if len == 0 || head.is_empty() {
        return Some("file is empty (0 bytes)".into());
    }
    if head.starts_with(&ASF_GUID) {
        return Some(
            "WMA/ASF (Windows Media) is not supported: convert it to WAV with ffmpeg, \
             e.g. ffmpeg -i in.wma out.wav"
                .into(),
        );
    }
    if head.starts_with(b"#!AMR") {
        let kind = if head.starts_with(b"#!AMR-WB") {
            "AMR-WB"
        } else {
            "AMR"
        };
        return Some(format!(
            "{kind} (phone voice recording) is not supported: convert it to WAV with ffmpeg, \
             e.g. ffmpeg -i in.amr out.wav"
        ));
    }
    if head.len() >= 4 && head[0] == 0x02 && &head[1..4] == b"dss" {
        return Some(
            "DSS (Olympus/Grundig dictation) is not supported: convert it to WAV with ffmpeg, \
             e.g. ffmpeg -i in.dss out.wav"
                .into(),
        );
    }
    if head.len() >= 4 && head[0] == 0x03 && &head[1..4] == b"ds2" {
        return Some(
            "DS2 (DSS Pro dictation, often encrypted) is not supported: convert it to WAV with \
             the recorder vendor's software (e.g. Olympus ODMS or Philips SpeechExec)"
                .into(),
        );
    }
    if head.starts_with(b"RF64") || head.starts_with(b"BW64") {
        return Some(
            "RF64 WAV (the over-4-GB variant) is not supported: convert it to FLAC with ffmpeg, \
             e.g. ffmpeg -i in.wav out.flac"
                .into(),
        );
    }
    if head.starts_with(&W64_RIFF_GUID) {
        return Some(
            "Sony Wave64 (W64) is not supported: convert it to WAV or FLAC with ffmpeg, \
             e.g. ffmpeg -i in.w64 out.flac"
                .into(),
        );
    }
    if let Some(kind) = non_audio_kind(head) {
        return Some(format!("not an audio file (looks like {kind})"));
    }
    None
}

/// Recognises common non-audio files people attach by mistake.
fn non_audio_kind(head: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive or Office document"),
        (b"\xD0\xCF\x11\xE0", "an old Microsoft Office document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"{\\rtf", "an RTF document"),
    ];
    for (magic, kind) in KINDS {
        if head.starts_with(magic) {
            return Some(kind);
        }
    }
    if looks_like_text(head) {
        return Some("text");
    }
    None
}

/// True when the bytes are UTF-8 text without control characters: no audio
/// container starts like that (their headers hold binary sizes with zero bytes).
fn looks_like_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // The head may end inside a multi-byte character.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

/// Explains why symphonia could not find a container, using what the first bytes say.
pub(crate) fn explain_unreadable(head: &[u8]) -> String {
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WAVE" {
        if let Some(tag) = wav_format_tag(head) {
            if let Some(name) = unsupported_wav_codec(tag) {
                return format!(
                    "WAV with {name} audio is not supported: convert it to PCM WAV with ffmpeg, \
                     e.g. ffmpeg -i in.wav -c:a pcm_s16le out.wav"
                );
            }
        }
        return "WAV file is truncated or its header is damaged: re-export or re-upload it".into();
    }
    if let Some(kind) = container_kind(head) {
        return format!(
            "{kind} file is truncated or its header is damaged: re-export or re-upload it"
        );
    }
    "not a recognised audio file (unknown or corrupt data; medscribe reads WAV, MP3, M4A/AAC, \
     FLAC, Ogg Vorbis/Opus and WebM)"
        .into()
}

/// Names the container family from its magic bytes, for messages only.
pub(crate) fn container_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"RIFF") {
        Some("WAV")
    } else if head.starts_with(b"ID3") {
        Some("MP3")
    } else if head.starts_with(b"fLaC") {
        Some("FLAC")
    } else if head.starts_with(b"OggS") {
        Some("Ogg")
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("WebM/Matroska")
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some("MP4/M4A")
    } else if head.starts_with(b"FORM") {
        Some("AIFF")
    } else if head.starts_with(b"caff") {
        Some("CAF")
    } else {
        None
    }
}

/// Finds the format tag in a WAV `fmt ` chunk, walking the chunk list in the head.
fn wav_format_tag(head: &[u8]) -> Option<u16> {
    let mut pos = 12usize;
    while pos.checked_add(8)? <= head.len() {
        let id = &head[pos..pos + 4];
        let size = u32::from_le_bytes(head[pos + 4..pos + 8].try_into().ok()?) as usize;
        if id == b"fmt " {
            let body = head.get(pos + 8..pos + 10)?;
            let tag = u16::from_le_bytes([body[0], body[1]]);
            if tag == 0xFFFE {
                // WAVE_FORMAT_EXTENSIBLE: the real tag leads the sub-format GUID.
                let sub = head.get(pos + 8 + 24..pos + 8 + 26)?;
                return Some(u16::from_le_bytes([sub[0], sub[1]]));
            }
            return Some(tag);
        }
        pos = pos.checked_add(8)?.checked_add(size + (size & 1))?;
    }
    None
}

/// WAV codecs seen in dictation and telephony that symphonia does not decode.
fn unsupported_wav_codec(tag: u16) -> Option<&'static str> {
    Some(match tag {
        0x0022 => "DSP Group TrueSpeech",
        0x0031 | 0x0032 => "GSM 6.10",
        0x0040 | 0x0064 | 0x0065 | 0x0140 => "G.721/G.726 ADPCM",
        0x0042 | 0x0083 => "G.723",
        0x0050 => "MPEG Layer 1/2",
        0x0055 => "MP3",
        0x0161..=0x0163 => "WMA",
        0x0270 => "ATRAC3",
        0x028E | 0x0402 => "Olympus/DSS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_known_unsupported_formats() {
        assert_eq!(reject_early(b"", 0).unwrap(), "file is empty (0 bytes)");
        assert!(reject_early(&ASF_GUID, 16).unwrap().starts_with("WMA/ASF"));
        assert!(reject_early(b"#!AMR\n\x3c", 7).unwrap().starts_with("AMR "));
        assert!(reject_early(b"#!AMR-WB\n", 9)
            .unwrap()
            .starts_with("AMR-WB "));
        assert!(reject_early(b"\x02dss\x01\x00", 6)
            .unwrap()
            .starts_with("DSS "));
        assert!(reject_early(b"\x03ds2\x01\x00", 6)
            .unwrap()
            .starts_with("DS2 "));
        assert!(reject_early(b"RF64\xff\xff\xff\xffWAVE", 12)
            .unwrap()
            .starts_with("RF64"));
        assert_eq!(
            reject_early(b"Dictation notes\nline two\n", 25).unwrap(),
            "not an audio file (looks like text)"
        );
        assert!(reject_early(b"%PDF-1.4\n", 9).unwrap().contains("PDF"));
    }

    #[test]
    fn passes_real_container_heads() {
        assert_eq!(reject_early(b"RIFF\x24\x00\x00\x00WAVEfmt ", 100), None);
        assert_eq!(reject_early(b"ID3\x04\x00\x00\x00\x00\x00\x00", 100), None);
        assert_eq!(reject_early(b"OggS\x00\x02", 100), None);
        assert_eq!(reject_early(b"fLaC\x00\x00\x00\x22", 100), None);
        assert_eq!(reject_early(&[0xFF, 0xFB, 0x90, 0x64], 100), None);
    }

    #[test]
    fn names_unsupported_wav_codecs() {
        let mut wav = b"RIFF\x00\x00\x00\x00WAVEfmt \x14\x00\x00\x00".to_vec();
        wav.extend_from_slice(&0x0031u16.to_le_bytes());
        wav.extend_from_slice(&[0; 18]);
        assert!(explain_unreadable(&wav).starts_with("WAV with GSM 6.10 audio"));
        assert!(
            explain_unreadable(b"RIFF\x00\x00\x00\x00WAVE").starts_with("WAV file is truncated")
        );
        assert!(explain_unreadable(&[0x13, 0x37, 0x00, 0x42]).starts_with("not a recognised"));
    }
}
