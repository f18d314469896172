//! Whisper vocabulary for the ggml file: GPT-2 byte-level tokens decoded back
//! to raw bytes.
//!
//! CTranslate2 stores tokens in GPT-2's printable byte-level form (`Ġthe` for
//! " the"); whisper.cpp wants the raw bytes. whisper.cpp adds the special and
//! timestamp tokens itself, so only the 50257 ordinary entries are written.

use std::collections::HashMap;

use crate::{Error, Result};

/// Ordinary (non-special) vocabulary entries written to the ggml file.
pub const N_ORDINARY_TOKENS: usize = 50257;
/// Vocabulary size of the English-only models; multilingual ones have 51865+.
pub const N_VOCAB_ENGLISH: usize = 51864;
/// Id that is `<|endoftext|>` in English-only models.
pub const EOT_ID_ENGLISH: usize = 50256;

/// GPT-2's `bytes_to_unicode` table: byte -> printable char.
pub fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let printable = |b: u32| {
        (u32::from('!')..=u32::from('~')).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b)
    };
    let mut n = 0u32;
    for b in 0..256u32 {
        let c = if printable(b) {
            b
        } else {
            n += 1;
            255 + n
        };
        // All values are below 0x200, always valid chars.
        table[b as usize] = char::from_u32(c).unwrap_or('\u{FFFD}');
    }
    table
}

/// Inverse of [`bytes_to_unicode`].
pub struct ByteDecoder {
    map: HashMap<char, u8>,
}

impl Default for ByteDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ByteDecoder {
    pub fn new() -> Self {
        let map = bytes_to_unicode()
            .iter()
            .enumerate()
            .map(|(b, &c)| (c, b as u8))
            .collect();
        ByteDecoder { map }
    }

    /// Raw bytes of one byte-level token. Characters outside GPT-2's table do
    /// not occur in Whisper vocabularies; should one appear it is kept as UTF-8
    /// rather than failing the whole conversion.
    pub fn decode(&self, token: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(token.len());
        for c in token.chars() {
            match self.map.get(&c) {
                Some(&b) => out.push(b),
                None => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        out
    }
}

/// True for English-only models, decided from the embedding row count.
pub fn is_english_only(n_vocab: usize) -> bool {
    n_vocab < N_VOCAB_ENGLISH + 1
}

/// Parses a CTranslate2 vocabulary: `vocabulary.txt` (one token a line) or
/// `vocabulary.json` (a JSON array of strings).
pub fn parse_vocabulary(text: &str) -> Result<Vec<String>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| {
            Error::Model(format!(
                "vocabulary.json is not a JSON list of strings: {e}"
            ))
        });
    }
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    Ok(lines)
}

/// The 50257 raw-byte entries whisper.cpp expects, with the end-of-text rule:
/// English-only models have `<|endoftext|>` at id 50256, multilingual models
/// an empty entry there.
pub fn ggml_vocab(tokens: &[String], n_vocab: usize) -> Result<Vec<Vec<u8>>> {
    if tokens.len() < N_ORDINARY_TOKENS {
        return Err(Error::Model(format!(
            "vocabulary has {} tokens, a Whisper vocabulary has at least {N_ORDINARY_TOKENS}; \
             is it the vocabulary of this model?",
            tokens.len()
        )));
    }
    let dec = ByteDecoder::new();
    let mut out: Vec<Vec<u8>> = tokens[..N_ORDINARY_TOKENS]
        .iter()
        .map(|t| dec.decode(t))
        .collect();
    out[EOT_ID_ENGLISH] = if is_english_only(n_vocab) {
        b"<|endoftext|>".to_vec()
    } else {
        Vec::new()
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_gpt2() {
        let t = bytes_to_unicode();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[0], 'Ā');
        assert_eq!(t[b'!' as usize], '!');
        assert_eq!(t[0xAD], '\u{143}');
        let mut seen: Vec<char> = t.to_vec();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn decodes_byte_level_tokens() {
        let d = ByteDecoder::new();
        assert_eq!(d.decode("Ġthe"), b" the");
        assert_eq!(d.decode("ĊĊ"), b"\n\n");
        // "é" is bytes C3 A9, shown by GPT-2 as "Ã©".
        assert_eq!(d.decode("Ã©"), "é".as_bytes());
        assert_eq!(d.decode("<|endoftext|>"), b"<|endoftext|>");
    }

    #[test]
    fn endoftext_rule_depends_on_vocab_size() {
        let mut toks: Vec<String> = (0..N_ORDINARY_TOKENS + 5)
            .map(|i| format!("t{i}"))
            .collect();
        toks[EOT_ID_ENGLISH] = "<|endoftext|>".into();
        let en = ggml_vocab(&toks, 51864).unwrap();
        assert_eq!(en.len(), 50257);
        assert_eq!(en[50256], b"<|endoftext|>");
        assert_eq!(en[5], b"t5");
        let multi = ggml_vocab(&toks, 51865).unwrap();
        assert_eq!(multi.len(), 50257);
        assert!(multi[50256].is_empty());
        assert!(is_english_only(51864));
        assert!(!is_english_only(51865));
        assert!(!is_english_only(51866));
        assert!(ggml_vocab(&toks[..100], 51864).is_err());
    }

    #[test]
    fn parses_txt_and_json_vocabularies() {
        assert_eq!(
            parse_vocabulary("a\nĠb\n\nc\n").unwrap(),
            vec!["a", "Ġb", "", "c"]
        );
        assert_eq!(parse_vocabulary("[\"a\", \"\"]").unwrap(), vec!["a", ""]);
    }
}
