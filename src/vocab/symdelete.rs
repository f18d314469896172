//! Symmetric-delete spelling index (the idea behind SymSpell) over single-word
//! term keys: finds terms within about two letter edits of a word without
//! scanning the lexicon.
//!
//! Phonetic keys miss spellings whose sound code drifts while the letters stay
//! close (a wrong first vowel or consonant cluster changes a Double Metaphone
//! code in several places). Every term key is stored with each of its one-letter
//! deletions; a query looks up itself and its deletions of up to two letters, so
//! any term reachable by one deletion from the term and at most two from the
//! query is found: up to two extra letters, one missing letter, one substitution
//! or swap, one substitution plus one extra letter. (Two substitutions would need
//! two deletions on the term side too, several times the memory; sound-alike
//! spellings of that kind are the phonetic index's job.) Candidates are verified
//! with the real edit distance, which also discards hash collisions.
//!
//! Entries are 64-bit hashes of the deletion strings, each mapped to a range of
//! term ids: about 12 entries a term, a few tens of MB for the whole lexicon.

use std::collections::HashMap;

/// Largest edit distance (Damerau-Levenshtein) a spelling candidate may have.
pub(crate) const MAX_EDITS: usize = 2;

/// Keys shorter than this are not indexed: short words have too many neighbours.
const MIN_KEY: usize = 5;

/// FNV-1a: fast, stable, good enough for short lowercase strings.
fn hash(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Hash of `key` with the letters at positions in `skip` left out.
fn hash_without(key: &[u8], skip: &[usize]) -> u64 {
    hash(
        key.iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, b)| *b),
    )
}

#[derive(Default)]
pub(crate) struct DeleteIndex {
    /// Hash of a key or of one of its one-letter deletions -> range in `ids`.
    buckets: HashMap<u64, (u32, u32)>,
    ids: Vec<u32>,
}

impl std::fmt::Debug for DeleteIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeleteIndex")
            .field("entries", &self.ids.len())
            .finish()
    }
}

impl DeleteIndex {
    /// Indexes `(key, id)` pairs; keys are lowercase ASCII letters.
    pub fn build<'a>(keys: impl Iterator<Item = (&'a str, u32)>) -> Self {
        let mut entries = Vec::new();
        for (key, id) in keys {
            let k = key.as_bytes();
            if k.len() < MIN_KEY || !key.is_ascii() {
                continue;
            }
            entries.push((hash_without(k, &[]), id));
            for i in 0..k.len() {
                entries.push((hash_without(k, &[i]), id));
            }
        }
        entries.sort_unstable();
        entries.dedup();
        let mut buckets = HashMap::with_capacity(entries.len());
        let mut ids = Vec::with_capacity(entries.len());
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            buckets.insert(group[0].0, (ids.len() as u32, group.len() as u32));
            ids.extend(group.iter().map(|e| e.1));
        }
        DeleteIndex { buckets, ids }
    }

    fn ids_of(&self, h: u64, out: &mut Vec<u32>) {
        if let Some(&(from, n)) = self.buckets.get(&h) {
            out.extend_from_slice(&self.ids[from as usize..(from + n) as usize]);
        }
    }

    /// Term ids that may be within [`MAX_EDITS`] of `query` (not yet verified),
    /// appended to `out`, sorted and without duplicates.
    pub fn lookup(&self, query: &str, out: &mut Vec<u32>) {
        let q = query.as_bytes();
        if q.len() < MIN_KEY - 1 || !query.is_ascii() {
            return;
        }
        self.ids_of(hash_without(q, &[]), out);
        for i in 0..q.len() {
            self.ids_of(hash_without(q, &[i]), out);
            for j in i + 1..q.len() {
                self.ids_of(hash_without(q, &[i, j]), out);
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(words: &[&str]) -> DeleteIndex {
        DeleteIndex::build(words.iter().enumerate().map(|(i, w)| (*w, i as u32)))
    }

    fn found(ix: &DeleteIndex, q: &str) -> Vec<u32> {
        let mut out = Vec::new();
        ix.lookup(q, &mut out);
        out
    }

    #[test]
    fn finds_spellings_within_two_edits() {
        let ix = index(&["cefazolin", "lisinopril", "hydroxyzine"]);
        // one substitution, a swap, two extra letters, a substitution plus an extra letter
        assert_eq!(found(&ix, "sefazolin"), vec![0]);
        assert_eq!(found(&ix, "lisinorpil"), vec![1]);
        assert_eq!(found(&ix, "lisinoprilly"), vec![1]);
        assert_eq!(found(&ix, "hydroxyzzene"), vec![2]);
        // a missing letter
        assert_eq!(found(&ix, "cefazlin"), vec![0]);
        assert_eq!(found(&ix, "hydroxyzin"), vec![2]);
        assert!(found(&ix, "zzzzzzzz").is_empty());
    }

    #[test]
    fn short_and_odd_input() {
        let ix = index(&["abcd", "ünïcode"]);
        assert!(ix.ids.is_empty());
        assert!(found(&ix, "").is_empty());
        assert!(found(&ix, "ß").is_empty());
    }
}
