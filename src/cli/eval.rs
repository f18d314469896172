//! `medscribe eval`: transcribe a corpus described by a manifest and print WER
//! and medical-term recall per file and in total.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use crate::error::IoContext;
use crate::eval::{score, Score};
use crate::pipeline::{Pipeline, RunOptions};
use crate::stt::{Recognizer, SttOptions};
use crate::transcript::Transcript;
use crate::vocab::Vocabulary;
use crate::{fsutil, models, Error, Result};

#[derive(clap::Args)]
#[command(after_help = "\
The manifest is JSON lines: {\"id\", \"audio\" (relative to the manifest), \"reference\", \"terms\"}.
The last line printed is exactly `TOTAL wer=0.xxx term_recall=0.xxx n=N`.

Examples:
  medscribe eval samples/manifest.jsonl -m tiny.en
  medscribe eval corpus/manifest.jsonl --transcripts drafts/   reuse and keep transcripts
  medscribe eval corpus/manifest.jsonl --no-vocab --transcripts raw/
  medscribe eval corpus/manifest.jsonl --vocab-only-from raw/ --details
                                        re-run only the vocabulary pass on kept raw transcripts")]
pub struct EvalArgs {
    /// JSON-lines manifest of the corpus.
    pub manifest: PathBuf,
    /// Whisper model name or path.
    #[arg(short, long, default_value = "base", env = "MEDSCRIBE_MODEL")]
    pub model: String,
    #[arg(long, env = "MEDSCRIBE_MODELS", value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Score the recogniser's raw output (skip the medical-vocabulary pass).
    #[arg(long)]
    pub no_vocab: bool,
    /// Recognise each file a second time with the medical terms the first pass
    /// found leading the prompt: about twice the time, lower WER
    #[arg(long, conflicts_with_all = ["prompt", "no_vocab"])]
    pub second_pass: bool,
    /// Do not check the vocabulary pass's doubtful changes against the audio
    /// (the check applies those the recogniser prefers to its draft; ~38% more time)
    #[arg(long, conflicts_with = "no_vocab")]
    pub no_audio_check: bool,
    /// Transcribe silence too.
    #[arg(long)]
    pub no_vad: bool,
    /// Compute threads (default: all cores).
    #[arg(short, long)]
    pub threads: Option<usize>,
    /// Initial prompt (default: terms from the vocabulary).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Keep transcripts here as ID.json and reuse those made with the same model.
    #[arg(long, value_name = "DIR")]
    pub transcripts: Option<PathBuf>,
    /// Score another system's output instead of transcribing: DIR/ID.txt per entry.
    #[arg(long, value_name = "DIR", conflicts_with = "transcripts")]
    pub hypotheses: Option<PathBuf>,
    /// Run only the vocabulary pass over the words of kept transcripts made with
    /// --no-vocab (DIR/ID.json), without transcribing: seconds instead of minutes.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["transcripts", "hypotheses", "no_vocab"]
    )]
    pub vocab_only_from: Option<PathBuf>,
    /// Custom vocabulary files for the pass, layered in order (organisation, office, provider).
    #[arg(long = "vocab", value_name = "FILE")]
    pub vocab: Vec<PathBuf>,
    /// After each file's scores, print its missed terms and the pass's changes
    /// (this prints transcript text).
    #[arg(long)]
    pub details: bool,
}

#[derive(serde::Deserialize)]
struct Entry {
    id: String,
    audio: String,
    reference: String,
    #[serde(default)]
    terms: Vec<String>,
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    let entries = read_manifest(&args.manifest)?;
    let base = args.manifest.parent().unwrap_or(Path::new("."));
    if let Some(dir) = &args.hypotheses {
        return score_hypotheses(&entries, dir);
    }
    let models_dir = args
        .models_dir
        .clone()
        .unwrap_or_else(models::default_models_dir);
    let quiet = !std::io::stderr().is_terminal();
    let mut note = |e: models::FetchEvent| {
        if !quiet {
            eprintln!("{e:?}");
        }
    };
    let model_path = models::ensure_model(&models_dir, &args.model, &mut note)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(cores);
    if let Some(dir) = &args.vocab_only_from {
        let vocab = Vocabulary::base()?.with_custom(&args.vocab)?;
        let recognizer = match args.no_audio_check {
            true => None,
            false => Some(Recognizer::load(&model_path)?),
        };
        let check = recognizer.as_ref().map(|r| (r, base, threads));
        return vocab_only(&entries, dir, &vocab, check, args.details);
    }
    let vad = if args.no_vad {
        None
    } else {
        Some(models::ensure_model(&models_dir, "silero-vad", &mut note)?)
    };
    let vocab = if args.no_vocab {
        None
    } else {
        Some(Arc::new(Vocabulary::base()?.with_custom(&args.vocab)?))
    };
    let pipeline = Pipeline::load(&model_path, &args.model, vad, vocab)?;
    let opts = RunOptions {
        stt: SttOptions {
            threads,
            prompt: args.prompt.clone(),
            ..SttOptions::default()
        },
        second_pass: args.second_pass,
        no_audio_check: args.no_audio_check,
        ..RunOptions::default()
    };

    let mut total = Score::default();
    let mut raw_total = Score::default();
    let mut failed = 0;
    let started = Instant::now();
    let mut audio_s = 0.0;
    for e in &entries {
        let audio = base.join(&e.audio);
        let cached = args
            .transcripts
            .as_ref()
            .map(|d| d.join(format!("{}.json", e.id)));
        let transcript = match reuse(cached.as_deref(), &pipeline, &opts) {
            Some(t) => Ok(t),
            None => pipeline.run(&audio, &opts, &mut |_| {}).and_then(|t| {
                if let Some(path) = &cached {
                    fsutil::write_private_atomic(
                        path,
                        crate::transcript::render::json(&t).as_bytes(),
                    )?;
                }
                Ok(t)
            }),
        };
        let t = match transcript {
            Ok(t) => t,
            Err(err) => {
                eprintln!("medscribe: {}: {err}", e.id);
                failed += 1;
                continue;
            }
        };
        audio_s += t.source.duration_s;
        let s = score(&e.reference, &t.text, &e.terms);
        let raw = score(&e.reference, &t.raw_text, &e.terms);
        print_file(&e.id, &s, &raw);
        if args.details {
            print_details(&e.reference, &t.text, &e.terms, &t.corrections);
        }
        total.add(s);
        raw_total.add(raw);
    }
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "medscribe: {} files, {:.1} min of audio in {:.1} s; {failed} failed",
        entries.len(),
        audio_s / 60.0,
        wall
    );
    Ok(totals(
        (!args.no_vocab).then_some(&raw_total),
        &total,
        entries.len(),
        failed,
    ))
}

/// Scores plain-text hypotheses (DIR/ID.txt) from any recogniser.
fn score_hypotheses(entries: &[Entry], dir: &Path) -> Result<ExitCode> {
    let mut total = Score::default();
    for e in entries {
        let path = dir.join(format!("{}.txt", e.id));
        let text = std::fs::read_to_string(&path).at(&path)?;
        let s = score(&e.reference, &text, &e.terms);
        println!(
            "{} wer={:.3} term_recall={:.3} words={}",
            e.id,
            s.wer(),
            s.term_recall(),
            s.ref_words
        );
        total.add(s);
    }
    println!(
        "TOTAL wer={:.3} term_recall={:.3} n={}",
        total.wer(),
        total.term_recall(),
        entries.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the vocabulary pass over kept raw transcripts and scores raw and corrected text.
fn vocab_only(
    entries: &[Entry],
    dir: &Path,
    vocab: &Vocabulary,
    audio_check: Option<(&Recognizer, &Path, usize)>,
    details: bool,
) -> Result<ExitCode> {
    let mut total = Score::default();
    let mut raw_total = Score::default();
    let (mut applied, mut suggested, mut words, mut missing) = (0usize, 0usize, 0usize, 0usize);
    let mut confirmed = 0usize;
    let started = Instant::now();
    for e in entries {
        let path = dir.join(format!("{}.json", e.id));
        let Ok(json) = std::fs::read_to_string(&path) else {
            eprintln!("medscribe: {}: no kept transcript, skipped", e.id);
            missing += 1;
            continue;
        };
        let t = Transcript::from_json(&json)?;
        if t.params.vocab {
            return Err(Error::Invalid(format!(
                "{}: made with the vocabulary pass; --vocab-only-from needs transcripts made with --no-vocab",
                path.display()
            )));
        }
        let raw_words: Vec<_> = t.words().cloned().collect();
        let mut c = vocab.correct_words(&raw_words);
        if let Some((recognizer, base, threads)) = audio_check {
            let audio = crate::audio::decode_file(&base.join(&e.audio), &Default::default())?;
            let heard = crate::confirm::heard_changes(
                recognizer,
                &audio.samples,
                &t.segments,
                &c,
                &SttOptions {
                    language: t.params.language.clone(),
                    threads,
                    ..SttOptions::default()
                },
            )?;
            if !heard.is_empty() {
                c = vocab.correct_words_heard(&raw_words, &heard);
            }
        }
        words += raw_words.len();
        applied += c.corrections.iter().filter(|c| c.applied).count();
        confirmed += c
            .corrections
            .iter()
            .filter(|c| c.applied && c.reason.ends_with(crate::vocab::AUDIO_AGREES))
            .count();
        suggested += c.corrections.iter().filter(|c| !c.applied).count();
        let s = score(&e.reference, &c.text, &e.terms);
        let raw = score(&e.reference, &t.raw_text, &e.terms);
        print_file(&e.id, &s, &raw);
        if details {
            print_details(&e.reference, &c.text, &e.terms, &c.corrections);
        }
        total.add(s);
        raw_total.add(raw);
    }
    let checked = match audio_check {
        Some(_) => format!(" ({confirmed} confirmed by the audio)"),
        None => String::new(),
    };
    eprintln!(
        "medscribe: vocabulary pass over {words} words in {:.2} s: {applied} applied{checked}, {suggested} suggested",
        started.elapsed().as_secs_f64()
    );
    Ok(totals(Some(&raw_total), &total, entries.len(), missing))
}

/// One file's scores, with and without the vocabulary pass.
fn print_file(id: &str, s: &Score, raw: &Score) {
    println!(
        "{id} wer={:.3} term_recall={:.3} raw_wer={:.3} raw_term_recall={:.3} words={}",
        s.wer(),
        s.term_recall(),
        raw.wer(),
        raw.term_recall(),
        s.ref_words
    );
}

/// Prints the corpus totals (the last line is the one scripts read) and maps
/// failures to the exit code.
fn totals(raw: Option<&Score>, total: &Score, entries: usize, failed: usize) -> ExitCode {
    if let Some(raw) = raw {
        println!(
            "RAW wer={:.3} term_recall={:.3}",
            raw.wer(),
            raw.term_recall()
        );
    }
    println!(
        "TOTAL wer={:.3} term_recall={:.3} n={}",
        total.wer(),
        total.term_recall(),
        entries - failed
    );
    if failed > 0 {
        ExitCode::from(crate::cli::EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Missed terms and the pass's changes of one file, indented under its score line.
fn print_details(
    reference: &str,
    text: &str,
    terms: &[String],
    corrections: &[crate::vocab::Correction],
) {
    for (term, n) in crate::eval::missed_terms(reference, text, terms) {
        println!("  missed {term:?} x{n}");
    }
    for c in corrections
        .iter()
        .filter(|c| c.reason != "spoken dictation command")
    {
        println!(
            "  {} {:?} -> {:?} score={:.2} ({})",
            if c.applied { "applied" } else { "suggested" },
            c.from,
            c.to,
            c.score,
            c.reason
        );
    }
}

/// A kept transcript made with the same model and parameters.
fn reuse(path: Option<&Path>, pipeline: &Pipeline, opts: &RunOptions) -> Option<Transcript> {
    let text = std::fs::read_to_string(path?).ok()?;
    let t = Transcript::from_json(&text).ok()?;
    (t.model.sha256 == pipeline.model.sha256 && t.params == pipeline.params(opts)).then_some(t)
}

fn read_manifest(path: &Path) -> Result<Vec<Entry>> {
    let file = std::fs::File::open(path).at(path)?;
    let mut entries = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.at(path)?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = serde_json::from_str(&line).map_err(|e| {
            Error::Invalid(format!(
                "{}:{}: not a manifest entry: {e}",
                path.display(),
                n + 1
            ))
        })?;
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: manifest has no entries",
            path.display()
        )));
    }
    Ok(entries)
}
