//! Command-line front end: argument parsing and output only; the work is done
//! by the library stages.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod eval;
pub mod models;
pub mod probe;
pub mod serve;
pub mod transcribe;
pub mod vocab;

/// Exit code for a batch where some inputs failed.
pub const EXIT_SOME_FAILED: u8 = 1;
/// Exit code for a usage error (bad flags, nothing to do).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "medscribe",
    version,
    about = "Medical dictation transcription: decode, transcribe, correct vocabulary, review",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Fetch, convert, import and list Whisper and VAD models.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Print format facts of audio files (container, codec, rate, channels, duration).
    Probe(probe::ProbeArgs),
    /// Transcribe dictations to drafts (txt, json, srt, vtt).
    Transcribe(transcribe::TranscribeArgs),
    /// Medical-vocabulary correction of text.
    #[command(subcommand)]
    Vocab(vocab::VocabCommand),
    /// Measure WER and medical-term recall on a corpus manifest.
    Eval(eval::EvalArgs),
    /// Run the review server (upload, queue, edit, QA, sign-off, exports).
    Serve(serve::ServeArgs),
    /// Manage review-server accounts.
    #[command(subcommand)]
    Users(serve::UsersCommand),
    /// Check the review server's audit log.
    #[command(subcommand)]
    Audit(serve::AuditCommand),
}

/// Parses the command line, runs the command and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let outcome = match cli.command {
        Command::Models(cmd) => models::run(cmd),
        Command::Probe(args) => probe::run(args),
        Command::Transcribe(args) => transcribe::run(args),
        Command::Vocab(cmd) => vocab::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Users(cmd) => serve::users(cmd),
        Command::Audit(cmd) => serve::audit(cmd),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("medscribe: error: {e}");
            match e {
                crate::Error::Invalid(_) => ExitCode::from(EXIT_USAGE),
                _ => ExitCode::from(EXIT_SOME_FAILED),
            }
        }
    }
}
