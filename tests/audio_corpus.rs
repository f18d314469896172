//! Probes and fully decodes the shared dictation samples and checks them against
//! their manifest. Skips (with a note) when the samples are not checked out.

use std::path::PathBuf;

use medscribe::audio::{self, DecodeOptions, TARGET_RATE};

#[test]
fn corpus_probes_and_decodes_to_manifest_durations() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/dictations");
    let manifest = root.join("manifest.jsonl");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        println!(
            "note: {} not found; skipping the corpus test",
            manifest.display()
        );
        return;
    };
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: serde_json::Value = serde_json::from_str(line).expect("manifest line is JSON");
        let file = root.join(entry["audio"].as_str().expect("audio path"));
        let want_s = entry["duration_s"].as_f64().expect("duration_s");
        let want_rate = entry["sample_rate"].as_u64().expect("sample_rate") as u32;
        let want_channels = entry["channels"].as_u64().expect("channels") as u16;

        let info = audio::probe(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.sample_rate, want_rate, "{}", file.display());
        assert_eq!(info.channels, want_channels, "{}", file.display());
        assert!(
            (info.duration_s - want_s).abs() < 0.1,
            "{}: probe says {} s, manifest {} s",
            file.display(),
            info.duration_s,
            want_s
        );

        let decoded =
            audio::decode_file(&file, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let got_s = decoded.samples.len() as f64 / f64::from(TARGET_RATE);
        assert!(
            (got_s - want_s).abs() < 0.1,
            "{}: decoded {} s, manifest {} s",
            file.display(),
            got_s,
            want_s
        );
        assert_eq!(decoded.skipped_packets, 0, "{}", file.display());
        checked += 1;
    }
    println!("checked {checked} corpus files");
}
