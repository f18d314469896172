//! Decode + resample speed (x real time, one thread) and peak memory for a
//! 60-minute 44.1 kHz stereo WAV and a 60-minute MP3, generated into a temp dir.
//! Run with `cargo bench --bench audio` (needs `sox` and `lame` for the MP3).
//!
//! Peak memory is the process's VmHWM, reset before each case through
//! /proc/self/clear_refs, so each figure covers one decode only (Linux).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use medscribe::audio::{self, DecodeOptions};

const MINUTES: u32 = 60;

fn vm_hwm_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A tone with a slow sweep plus noise, so the codecs have real work to do.
fn write_wav(path: &Path, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    let mut seed = 1u32;
    for i in 0..(44_100 * seconds) {
        let t = i as f32 / 44_100.0;
        let tone = (2.0 * std::f32::consts::PI * (300.0 + 50.0 * (t * 0.1).sin()) * t).sin();
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (seed >> 16) as f32 / 65_536.0 - 0.5;
        let l = (tone * 0.4 + noise * 0.1) * 32_767.0;
        let r = (tone * 0.3 - noise * 0.1) * 32_767.0;
        w.write_sample(l as i16).expect("write");
        w.write_sample(r as i16).expect("write");
    }
    w.finalize().expect("finalize wav");
}

fn run(name: &str, path: &Path) {
    reset_peak();
    let start = Instant::now();
    let mut out_samples = 0usize;
    let (info, skipped) = audio::decode_stream(path, &DecodeOptions::default(), &mut |c| {
        out_samples += c.len();
        Ok(())
    })
    .expect("decode");
    let secs = start.elapsed().as_secs_f64();
    let peak = vm_hwm_mb();
    println!(
        "{name}: {} {} {} Hz {} ch, {:.0} s audio -> {out_samples} samples at 16 kHz in {secs:.2} s = {:.0}x real time; peak RSS {} (streaming, skipped {skipped})",
        info.container,
        info.codec,
        info.sample_rate,
        info.channels,
        info.duration_s,
        info.duration_s / secs,
        fmt_mb(peak),
    );

    reset_peak();
    let start = Instant::now();
    let decoded = audio::decode_file(path, &DecodeOptions::default()).expect("decode");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: decode_file {:.0}x real time; peak RSS {} (holds {:.0} MB of 16 kHz output)",
        decoded.info.duration_s / secs,
        fmt_mb(vm_hwm_mb()),
        decoded.samples.len() as f64 * 4.0 / 1e6
    );
}

fn fmt_mb(peak: Option<f64>) -> String {
    peak.map_or("n/a".into(), |p| format!("{p:.0} MB"))
}

fn main() {
    // `cargo test --benches` runs bench targets too; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("hour.wav");
    let start = Instant::now();
    write_wav(&wav, MINUTES * 60);
    println!(
        "generated {MINUTES}-minute 44.1 kHz stereo WAV in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    run("wav 60 min", &wav);

    // One minute encoded with lame, repeated: MP3 frames concatenate cleanly
    // (-t leaves out the Xing tag that would state one minute).
    let minute_wav = dir.path().join("minute.wav");
    write_wav(&minute_wav, 60);
    let minute_mp3 = dir.path().join("minute.mp3");
    let ok = Command::new("lame")
        .args(["--quiet", "-t", "-b", "128"])
        .arg(&minute_wav)
        .arg(&minute_mp3)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("lame not found: skipping the MP3 case");
        return;
    }
    let frame = std::fs::read(&minute_mp3).expect("read mp3");
    let mp3 = dir.path().join("hour.mp3");
    std::fs::write(&mp3, frame.repeat(MINUTES as usize)).expect("write mp3");
    run("mp3 60 min", &mp3);
}
