//! `medscribe serve`, `medscribe users` and `medscribe audit`: the review
//! server and its administration, thin over [`crate::server`] and [`crate::store`].

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::audio::DecodeOptions;
use crate::pipeline::{Pipeline, RunOptions};
use crate::review::Role;
use crate::server::{self, ServeConfig};
use crate::store::{users, Store};
use crate::stt::SttOptions;
use crate::vocab::Vocabulary;
use crate::{models, Error, Result};

const SERVE_EXAMPLES: &str = "\
Examples:
  medscribe users add admin --role admin                 prints a generated password once
  medscribe users add frontdesk --role office --office 'Main St'
  echo 'a long passphrase' | medscribe users add drlee --role physician --office 'Main St'
  medscribe serve --bind 127.0.0.1:8080 --data /srv/medscribe
  MEDSCRIBE_DATA=/srv/medscribe medscribe audit verify";

/// Where the database and audio live.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// Data folder: the SQLite database and uploaded audio (created, owner-only).
    #[arg(
        long,
        env = "MEDSCRIBE_DATA",
        default_value = "medscribe-data",
        value_name = "DIR"
    )]
    pub data: PathBuf,
}

#[derive(Args)]
#[command(after_help = SERVE_EXAMPLES)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Address and port to listen on.
    #[arg(long, env = "MEDSCRIBE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Whisper model: a name (tiny.en, base; fetched on first use) or a ggml file.
    #[arg(short, long, env = "MEDSCRIBE_MODEL", default_value = "base")]
    pub model: String,
    /// Folder holding the models.
    #[arg(long, env = "MEDSCRIBE_MODELS", value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Transcriptions at once (default: one per 4 cores, at least 1).
    #[arg(long, env = "MEDSCRIBE_WORKERS")]
    pub workers: Option<usize>,
    /// Compute threads per transcription (default: cores / workers).
    #[arg(long, env = "MEDSCRIBE_THREADS")]
    pub threads: Option<usize>,
    /// Largest accepted upload in MB.
    #[arg(long, env = "MEDSCRIBE_MAX_UPLOAD_MB", default_value_t = 500)]
    pub max_upload_mb: u64,
    /// Log out sessions idle this many minutes.
    #[arg(long, env = "MEDSCRIBE_IDLE_MINUTES", default_value_t = 15)]
    pub idle_minutes: i64,
    /// Mark the session cookie Secure (when served behind TLS).
    #[arg(long, env = "MEDSCRIBE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Skip the medical-vocabulary pass.
    #[arg(long)]
    pub no_vocab: bool,
    /// Recognise each dictation a second time with the medical terms the first
    /// pass found leading the prompt: about twice the time, lower WER
    #[arg(long, env = "MEDSCRIBE_SECOND_PASS", conflicts_with = "no_vocab")]
    pub second_pass: bool,
    /// Custom vocabulary files, layered in order (organisation, office, provider).
    #[arg(long = "vocab", value_name = "FILE")]
    pub vocab_files: Vec<PathBuf>,
    /// Do not log a line per request.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password is read from standard input when it is not a
    /// terminal; otherwise one is generated and printed once.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        /// The user's office (created on first use); admins may have none.
        #[arg(long)]
        office: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exit 1 and name the first broken entry.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        Role::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = args.workers.unwrap_or((cores / 4).max(1)).max(1);
    let threads = args.threads.unwrap_or((cores / workers).max(1)).max(1);
    if workers * threads > cores {
        eprintln!(
            "medscribe serve: warning: {workers} workers x {threads} threads exceeds {cores} cores; whisper.cpp slows down sharply when oversubscribed"
        );
    }
    let models_dir = args
        .models_dir
        .clone()
        .unwrap_or_else(models::default_models_dir);
    let mut shown = crate::cli::models::FetchProgress::new();
    let model_path = models::ensure_model(&models_dir, &args.model, &mut |e| shown.event(e))?;
    let vad = models::ensure_model(&models_dir, "silero-vad", &mut |e| shown.event(e))?;
    let vocab = if args.no_vocab {
        None
    } else {
        Some(Arc::new(
            Vocabulary::base()?.with_custom(&args.vocab_files)?,
        ))
    };
    let name = crate::cli::transcribe::model_label(&args.model, &model_path);
    let pipeline = Arc::new(Pipeline::load(&model_path, &name, Some(vad), vocab)?);
    let cancel = Arc::new(AtomicBool::new(false));
    let run = RunOptions {
        stt: SttOptions {
            threads,
            cancel: Some(cancel.clone()),
            ..SttOptions::default()
        },
        decode: DecodeOptions {
            cancel: Some(cancel),
            ..DecodeOptions::default()
        },
        second_pass: args.second_pass,
        ..RunOptions::default()
    };
    let config = ServeConfig {
        bind: args.bind,
        max_upload_bytes: args.max_upload_mb.saturating_mul(1 << 20),
        idle_s: args.idle_minutes.max(1) * 60,
        secure_cookies: args.secure_cookies,
        workers,
        log_requests: !args.quiet,
    };
    let rt = runtime()?;
    rt.block_on(async {
        let store = Store::open(&args.data.data).await?;
        server::serve(store, config, pipeline, run).await
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn users(cmd: UsersCommand) -> Result<ExitCode> {
    match cmd {
        UsersCommand::Add {
            name,
            role,
            office,
            data,
        } => {
            let stdin = std::io::stdin();
            let (password, generated) = if stdin.is_terminal() {
                (users::generate_password()?, true)
            } else {
                let mut line = String::new();
                stdin
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| Error::io("stdin", e))?;
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                if line.is_empty() {
                    (users::generate_password()?, true)
                } else {
                    (line, false)
                }
            };
            let id = runtime()?.block_on(async {
                let store = Store::open(&data.data).await?;
                let id = store
                    .add_user(&name, &password, role, office.as_deref())
                    .await;
                store.close().await;
                id
            })?;
            eprintln!("medscribe: added user {name} ({role}), id {id}");
            if generated {
                println!("password for {name}: {password}");
                eprintln!("medscribe: this password is shown only now");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn audit(cmd: AuditCommand) -> Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { data } => {
            let report = runtime()?.block_on(async {
                let store = Store::open(&data.data).await?;
                let r = store.verify_audit().await;
                store.close().await;
                r
            })?;
            match report.first_broken {
                None => {
                    println!("audit chain intact: {} entries", report.entries);
                    Ok(ExitCode::SUCCESS)
                }
                Some(id) => {
                    println!(
                        "audit chain BROKEN at entry {id} (of {}): the log was changed after it was written",
                        report.entries
                    );
                    Ok(ExitCode::from(crate::cli::EXIT_SOME_FAILED))
                }
            }
        }
    }
}
