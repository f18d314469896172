//! `medscribe transcribe`: batch transcription of files, folders and globs.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::audio::DecodeOptions;
use crate::cli::EXIT_SOME_FAILED;
use crate::pipeline::{Pipeline, Prepared, RunOptions, Stage};
use crate::stt::SttOptions;
use crate::transcript::render::Format;
use crate::transcript::Transcript;
use crate::vocab::Vocabulary;
use crate::{fsutil, models, Error, Result};

const EXAMPLES: &str = "\
Examples:
  medscribe transcribe samples/                      all audio in a folder, txt + json beside each file
  medscribe transcribe -m tiny.en --format srt,vtt dictation.mp3
  medscribe transcribe --out drafts/ --jobs 2 'inbox/**/*.m4a'
  medscribe transcribe --format txt -o - note.wav    print the text to stdout
  medscribe transcribe --prompt 'apixaban, metoprolol' --no-vocab clinic.flac";

/// Extensions picked up when a folder is given. Formats medscribe cannot decode
/// (DSS, WMA, AMR) are included so that they are reported, not silently skipped.
const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "mp3", "m4a", "mp4", "aac", "flac", "ogg", "oga", "opus", "webm", "mka", "caf", "aif",
    "aiff", "dss", "ds2", "wma", "amr",
];

#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct TranscribeArgs {
    /// Audio files, folders (searched recursively) or glob patterns.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Whisper model: a name (tiny.en, base, small; fetched on first use) or a path to a ggml .bin file.
    #[arg(short, long, default_value = "base", env = "MEDSCRIBE_MODEL")]
    pub model: String,
    /// Folder holding the models.
    #[arg(long, env = "MEDSCRIBE_MODELS", value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Compute threads per file (default: cores divided by --jobs). A file's
    /// chunks are decoded in parallel, one thread each, up to four at once.
    #[arg(short, long)]
    pub threads: Option<usize>,
    /// Spoken language.
    #[arg(short, long, default_value = "en")]
    pub language: String,
    /// Initial prompt given to every 30 s window, e.g. names and terms to expect
    /// (default: terms from the vocabulary).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Terms expected in these dictations, comma-separated (e.g. the patient's
    /// medications): they lead the prompt, ahead of the vocabulary's terms.
    #[arg(long, value_name = "LIST", conflicts_with = "prompt")]
    pub terms: Option<String>,
    /// Output formats, comma-separated: txt, json, srt, vtt.
    #[arg(short, long, value_delimiter = ',', default_value = "txt,json")]
    pub format: Vec<Format>,
    /// Folder for the outputs (default: beside each input).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `-o -` writes the one format of the one input to stdout.
    #[arg(short = 'o', value_name = "-")]
    pub stdout: Option<String>,
    /// Files transcribed at once.
    #[arg(short, long, default_value_t = 1)]
    pub jobs: usize,
    /// Transcribe even when up-to-date outputs exist.
    #[arg(long)]
    pub force: bool,
    /// Transcribe silence too (no voice activity detection).
    #[arg(long)]
    pub no_vad: bool,
    /// Skip the medical-vocabulary pass.
    #[arg(long)]
    pub no_vocab: bool,
    /// Recognise each file a second time with the medical terms the first pass
    /// found leading the prompt: about twice the time, lower WER
    #[arg(long, conflicts_with_all = ["prompt", "no_vocab"])]
    pub second_pass: bool,
    /// Do not check the vocabulary pass's doubtful changes against the audio
    /// (the check applies those the recogniser prefers to its draft; ~47% more time)
    #[arg(long, conflicts_with = "no_vocab")]
    pub no_audio_check: bool,
    /// Custom vocabulary files, layered in order over the built-in lists.
    #[arg(long = "vocab", value_name = "FILE")]
    pub vocab_files: Vec<PathBuf>,
    /// Beam search width (default: greedy decoding).
    #[arg(long)]
    pub beam: Option<u32>,
    /// Refuse audio longer than this many hours.
    #[arg(long, default_value_t = 4.0)]
    pub max_hours: f64,
    /// Write a JSON line per input (path, status, outputs, error) to this file, `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub report: Option<String>,
}

/// What became of one input.
#[derive(Debug, serde::Serialize)]
struct Outcome {
    input: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    outputs: Vec<String>,
    audio_s: f64,
    wall_s: f64,
}

pub fn run(args: TranscribeArgs) -> Result<ExitCode> {
    let to_stdout = match args.stdout.as_deref() {
        None => false,
        Some("-") => true,
        Some(other) => {
            return Err(Error::Invalid(format!(
                "-o takes only '-' (stdout), not {other:?}; use --out DIR for a folder"
            )))
        }
    };
    let mut seen = std::collections::HashSet::new();
    let formats: Vec<Format> = args
        .format
        .iter()
        .copied()
        .filter(|f| seen.insert(*f))
        .collect();
    let (inputs, missing) = expand_inputs(&args.inputs);
    if inputs.is_empty() && missing.is_empty() {
        return Err(Error::Invalid(
            "no audio files found in the inputs given".into(),
        ));
    }
    if to_stdout && (inputs.len() + missing.len() != 1 || formats.len() != 1) {
        return Err(Error::Invalid(
            "-o - needs exactly one input and one --format".into(),
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let jobs = args.jobs.clamp(1, inputs.len().max(1));
    let threads = args.threads.unwrap_or((cores / jobs).max(1)).max(1);
    if threads * jobs > cores {
        eprintln!(
            "medscribe: warning: {jobs} jobs x {threads} threads exceeds {cores} cores; whisper.cpp slows down sharply when oversubscribed"
        );
    }

    let cancel = Arc::new(AtomicBool::new(false));
    install_ctrlc(cancel.clone());

    let show = std::io::stderr().is_terminal();
    let bars = MultiProgress::with_draw_target(if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });

    let models_dir = args
        .models_dir
        .clone()
        .unwrap_or_else(models::default_models_dir);
    let model_path = fetch_model(&models_dir, &args.model, &bars)?;
    let vad_model = if args.no_vad {
        None
    } else {
        Some(fetch_model(&models_dir, "silero-vad", &bars)?)
    };
    let vocab = if args.no_vocab {
        None
    } else {
        Some(Arc::new(
            Vocabulary::base()?.with_custom(&args.vocab_files)?,
        ))
    };
    let model_name = model_label(&args.model, &model_path);
    let pipeline = Pipeline::load(&model_path, &model_name, vad_model, vocab)?;
    let opts = RunOptions {
        stt: SttOptions {
            language: args.language.clone(),
            threads,
            prompt: args.prompt.clone(),
            beam: args.beam,
            cancel: Some(cancel.clone()),
        },
        decode: DecodeOptions {
            max_duration_s: args.max_hours * 3600.0,
            cancel: Some(cancel.clone()),
        },
        expected_terms: crate::vocab::split_terms(args.terms.as_deref().unwrap_or("")),
        second_pass: args.second_pass,
        no_audio_check: args.no_audio_check,
    };

    // Durations first, for an honest batch ETA.
    let durations: Vec<f64> = inputs
        .iter()
        .map(|p| crate::audio::probe(p).map_or(0.0, |i| i.duration_s))
        .collect();
    let total_audio: f64 = durations.iter().sum();
    let batch = bars.add(ProgressBar::new((total_audio * 1000.0) as u64));
    batch.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {msg} audio, {elapsed} elapsed, ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    batch.set_prefix("batch");
    batch.enable_steady_tick(Duration::from_millis(250));

    let targets = plan_outputs(&inputs, &args, &formats);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let done_audio = Mutex::new(0.0f64);

    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let claim = || {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    (i < inputs.len() && !cancel.load(Ordering::Relaxed)).then_some(i)
                };
                let prepare = |i: usize, progress: &mut dyn FnMut(Stage)| {
                    prepare_one(
                        &pipeline,
                        &inputs[i],
                        &targets[i],
                        &opts,
                        to_stdout,
                        args.force,
                        progress,
                    )
                };
                // The next file is decoded and its speech found on a thread of its
                // own while this one is recognised: that work uses one core and
                // would otherwise leave the other idle between files.
                let mut ahead: Option<std::thread::ScopedJoinHandle<Result<Ready>>> = None;
                let mut current = claim();
                while let Some(i) = current {
                    if cancel.load(Ordering::Relaxed) {
                        break; // a file prepared ahead is not started after Ctrl-C
                    }
                    let input = &inputs[i];
                    let name = display_name(input);
                    let bar = bars.insert_before(&batch, ProgressBar::new(1000));
                    bar.set_style(
                        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                    bar.set_prefix(truncate(&name, 12));
                    let t0 = Instant::now();
                    let ready = match ahead.take() {
                        Some(handle) => handle.join().unwrap_or_else(|_| {
                            Err(Error::Stt("preparing the file failed".into()))
                        }),
                        None => prepare(i, &mut |stage| show_stage(&bar, stage)),
                    };
                    current = claim();
                    if let Some(j) = current {
                        ahead = Some(scope.spawn(move || prepare(j, &mut |_| {})));
                    }
                    let outcome = ready.and_then(|ready| {
                        finish_one(&pipeline, input, ready, &opts, &formats, to_stdout, &bar)
                    });
                    bar.finish_and_clear();
                    let audio_s = durations[i];
                    {
                        let mut done = done_audio.lock().unwrap_or_else(|e| e.into_inner());
                        *done += audio_s;
                        batch.set_position((*done * 1000.0) as u64);
                        batch.set_message(hms(*done));
                    }
                    let (status, error, outputs) = match outcome {
                        Ok((status, outputs)) => (status, None, outputs),
                        Err(e) => {
                            let msg = e.to_string();
                            if !matches!(e, Error::Interrupted) {
                                bars.suspend(|| eprintln!("medscribe: {}", prefixed(&name, &msg)));
                            }
                            ("failed", Some(msg), Vec::new())
                        }
                    };
                    outcomes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Outcome {
                            input: input.display().to_string(),
                            status,
                            error,
                            outputs,
                            audio_s,
                            wall_s: t0.elapsed().as_secs_f64(),
                        });
                }
            });
        }
    });
    batch.finish_and_clear();

    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    for m in &missing {
        eprintln!("medscribe: {m}: no such file, folder or matching glob");
        outcomes.push(Outcome {
            input: m.clone(),
            status: "failed",
            error: Some("no such file, folder or matching glob".into()),
            outputs: Vec::new(),
            audio_s: 0.0,
            wall_s: 0.0,
        });
    }
    let wall = started.elapsed().as_secs_f64();
    let count = |s: &str| outcomes.iter().filter(|o| o.status == s).count();
    let (ok, skipped, failed) = (count("transcribed"), count("skipped"), count("failed"));
    let audio_done: f64 = outcomes
        .iter()
        .filter(|o| o.status == "transcribed")
        .map(|o| o.audio_s)
        .sum();
    if let Some(report) = &args.report {
        write_report(report, &outcomes)?;
    }
    if cancel.load(Ordering::Relaxed) {
        eprintln!("medscribe: interrupted; finished outputs are complete, unfinished ones were not written");
        return Ok(ExitCode::from(130));
    }
    if !to_stdout {
        eprintln!(
            "medscribe: {ok} transcribed, {skipped} up to date, {failed} failed; {} of audio in {:.1} s ({:.1}x real time)",
            hms(audio_done),
            wall,
            if wall > 0.0 { audio_done / wall } else { 0.0 }
        );
    }
    Ok(if failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// What [`prepare_one`] found: outputs already up to date, or the file ready
/// to recognise with the outputs to write.
enum Ready<'t> {
    UpToDate(Vec<String>),
    Prepared(Prepared, &'t [(Format, PathBuf)]),
}

/// Checks whether one input's outputs are up to date and, if not, decodes it
/// and finds its speech.
#[allow(clippy::too_many_arguments)]
fn prepare_one<'t>(
    pipeline: &Pipeline,
    input: &Path,
    targets: &'t Result<Vec<(Format, PathBuf)>, String>,
    opts: &RunOptions,
    to_stdout: bool,
    force: bool,
    progress: &mut dyn FnMut(Stage),
) -> Result<Ready<'t>> {
    let targets = targets.as_ref().map_err(|m| Error::Invalid(m.clone()))?;
    if !to_stdout && !force && up_to_date(pipeline, input, targets, opts)? {
        let outputs = targets
            .iter()
            .map(|(_, p)| p.display().to_string())
            .collect();
        return Ok(Ready::UpToDate(outputs));
    }
    let prepared = pipeline.prepare(input, opts, progress)?;
    Ok(Ready::Prepared(prepared, targets))
}

/// Recognises a prepared input and writes its outputs; returns the status and
/// the outputs written.
fn finish_one(
    pipeline: &Pipeline,
    input: &Path,
    ready: Ready,
    opts: &RunOptions,
    formats: &[Format],
    to_stdout: bool,
    bar: &ProgressBar,
) -> Result<(&'static str, Vec<String>)> {
    let (prepared, targets) = match ready {
        Ready::UpToDate(outputs) => return Ok(("skipped", outputs)),
        Ready::Prepared(prepared, targets) => (prepared, targets),
    };
    let transcript = pipeline.finish(input, prepared, opts, &mut |stage| show_stage(bar, stage))?;
    if to_stdout {
        print!("{}", formats[0].render(&transcript));
        return Ok(("transcribed", vec!["-".into()]));
    }
    let mut written = Vec::new();
    // JSON last: its presence marks the set as complete for the up-to-date check.
    let mut ordered: Vec<&(Format, PathBuf)> = targets.iter().collect();
    ordered.sort_by_key(|(f, _)| *f == Format::Json);
    for (format, path) in ordered {
        fsutil::write_private_atomic(path, format.render(&transcript).as_bytes())?;
        written.push(path.display().to_string());
    }
    Ok(("transcribed", written))
}

fn show_stage(bar: &ProgressBar, stage: Stage) {
    match stage {
        Stage::Decoding => bar.set_message("decoding"),
        Stage::Detecting => bar.set_message("finding speech"),
        Stage::Recognizing { done_s, total_s } => {
            bar.set_position((done_s / total_s.max(1e-9) * 1000.0) as u64);
            bar.set_message(format!("{} / {}", hms(done_s), hms(total_s)));
        }
        Stage::Correcting => bar.set_message("vocabulary"),
    }
}

/// True when every requested output exists and the JSON beside them was made
/// from the same audio, model and parameters.
fn up_to_date(
    pipeline: &Pipeline,
    input: &Path,
    targets: &[(Format, PathBuf)],
    opts: &RunOptions,
) -> Result<bool> {
    let Some((_, json)) = targets.iter().find(|(f, _)| *f == Format::Json) else {
        return Ok(false);
    };
    if !targets.iter().all(|(_, p)| p.is_file()) {
        return Ok(false);
    }
    let Ok(text) = std::fs::read_to_string(json) else {
        return Ok(false);
    };
    let Ok(old) = Transcript::from_json(&text) else {
        return Ok(false);
    };
    Ok(old.model.sha256 == pipeline.model.sha256
        && old.params == pipeline.params(opts)
        && old.source.sha256 == crate::pipeline::sha256_file(input)?)
}

/// Output paths per input: beside it, or under `--out` (keeping the folder
/// structure below a folder input). Two inputs that would write the same file
/// get an error instead of overwriting each other.
fn plan_outputs(
    inputs: &[PathBuf],
    args: &TranscribeArgs,
    formats: &[Format],
) -> Vec<Result<Vec<(Format, PathBuf)>, String>> {
    let roots: Vec<PathBuf> = args
        .inputs
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect();
    let mut claimed: HashMap<PathBuf, usize> = HashMap::new();
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let stem = input.with_extension("");
            let base = match &args.out {
                None => stem,
                Some(out) => {
                    let rel = roots
                        .iter()
                        .find_map(|r| stem.strip_prefix(r).ok())
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| stem.file_name().map(PathBuf::from).unwrap_or_default());
                    out.join(rel)
                }
            };
            let mut paths = Vec::new();
            for f in formats {
                let mut p = base.clone().into_os_string();
                p.push(".");
                p.push(f.extension());
                let p = PathBuf::from(p);
                if let Some(&other) = claimed.get(&p) {
                    return Err(format!(
                        "output {} would overwrite the one of {}; use --out with separate folders or rename one",
                        p.display(),
                        inputs[other].display()
                    ));
                }
                claimed.insert(p.clone(), i);
                paths.push((*f, p));
            }
            Ok(paths)
        })
        .collect()
}

/// Files, folders (recursive) and globs to a sorted list of files; inputs that
/// match nothing are returned separately.
fn expand_inputs(inputs: &[String]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_dir() {
            walk(path, &mut files);
        } else if path.exists() {
            files.push(path.to_path_buf());
        } else if input.contains(['*', '?', '[']) {
            let before = files.len();
            if let Ok(paths) = glob::glob(input) {
                files.extend(paths.flatten().filter(|p| p.is_file()));
            }
            if files.len() == before {
                missing.push(input.clone());
            }
        } else {
            missing.push(input.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    (files, missing)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, files);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            files.push(p);
        }
    }
}

fn fetch_model(dir: &Path, name: &str, bars: &MultiProgress) -> Result<PathBuf> {
    let mut shown = crate::cli::models::FetchProgress::new();
    bars.suspend(|| models::ensure_model(dir, name, &mut |event| shown.event(event)))
}

/// The model's name as recorded in transcripts: the name asked for, or the
/// file name when a path was given.
pub(crate) fn model_label(asked: &str, path: &Path) -> String {
    if Path::new(asked).is_file() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| asked.to_string())
    } else {
        asked.to_string()
    }
}

fn write_report(dest: &str, outcomes: &[Outcome]) -> Result<()> {
    let mut text = String::new();
    for o in outcomes {
        text.push_str(&serde_json::to_string(o).unwrap_or_default());
        text.push('\n');
    }
    if dest == "-" {
        print!("{text}");
        Ok(())
    } else {
        fsutil::write_private_atomic(Path::new(dest), text.as_bytes())
    }
}

fn install_ctrlc(cancel: Arc<AtomicBool>) {
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            // Second Ctrl-C: leave now. Outputs are only ever renamed into place
            // whole, so nothing half-written can look complete.
            std::process::exit(130);
        }
        eprintln!("\nmedscribe: stopping (Ctrl-C again to quit at once)");
    });
}

fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Errors from the audio stage already start with the file name.
fn prefixed(name: &str, msg: &str) -> String {
    if msg.starts_with(name) || msg.contains(&format!("{name}:")) {
        msg.to_string()
    } else {
        format!("{name}: {msg}")
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let head: String = s.chars().take(n - 1).collect();
        format!("{head}~")
    }
}

fn hms(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
