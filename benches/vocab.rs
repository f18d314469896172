//! Vocabulary-pass figures: index build time, lookups per second against the
//! full lexicon, tokens per second for the whole pass, and peak memory.
//! Run with `cargo bench --bench vocab`.

use std::time::Instant;

use medscribe::vocab::Vocabulary;

/// Peak and current resident memory in kB from /proc (Linux only).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

const SAMPLE: &str = "The patient was started on listen up or 10 milligrams daily and a picks a ban \
five milligrams twice daily period She has hyperlypidemia and takes metaprolol in the morning comma \
and we discussed the period of observation new paragraph Plan colon continue metform in and \
follow up in the clinic in two weeks period The patient and her husband asked about the results \
and I explained the findings in detail and answered all of their questions period ";

fn main() {
    let t = Instant::now();
    let vocab = Vocabulary::base().expect("embedded vocabulary");
    let build = t.elapsed();

    // Single-word lookups (unknown words go through the phonetic candidates).
    let queries = [
        "metaprolol",
        "hyperlypidemia",
        "atorvastatn",
        "omeprazol",
        "lisinoprel",
        "amlodipene",
        "gabapenten",
        "zzzzzzz",
        "walking",
        "hydrochlorothiazid",
    ];
    let n = 20_000;
    let t = Instant::now();
    let mut changed = 0usize;
    for i in 0..n {
        let c = vocab.correct_text(queries[i % queries.len()]);
        changed += c.corrections.len();
    }
    let lookups = n as f64 / t.elapsed().as_secs_f64();

    let text = SAMPLE.repeat(200);
    let tokens = text.split_whitespace().count();
    let t = Instant::now();
    let reps = 5;
    for _ in 0..reps {
        changed += vocab.correct_text(&text).corrections.len();
    }
    let tps = (tokens * reps) as f64 / t.elapsed().as_secs_f64();
    let (hwm, rss) = memory_kb();
    println!("index build: {:.3} s", build.as_secs_f64());
    println!("single-word lookups: {lookups:.0}/s");
    println!("whole pass: {tps:.0} tokens/s ({tokens} tokens x {reps})");
    println!("memory: VmHWM {} MB, VmRSS {} MB", hwm / 1024, rss / 1024);
    println!("(corrections seen: {changed})");
}
