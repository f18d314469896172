//! `medscribe vocab`: the medical-vocabulary pass on plain text.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::IoContext;
use crate::vocab::Vocabulary;

#[derive(clap::Subcommand)]
pub enum VocabCommand {
    /// Correct medical terms and carry out spoken commands in text files (or stdin).
    Correct(CorrectArgs),
    /// Print the initial prompt transcription gives Whisper (custom terms, then common drugs).
    Prompt(PromptArgs),
}

#[derive(clap::Args)]
pub struct PromptArgs {
    /// Custom vocabulary files, layered in order (organisation, office, provider).
    #[arg(long = "vocab", value_name = "FILE")]
    pub vocab: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct CorrectArgs {
    /// Custom vocabulary files, layered in order (organisation, office, provider).
    #[arg(long = "vocab", value_name = "FILE")]
    pub vocab: Vec<PathBuf>,
    /// Print the corrections (applied and suggested) as JSON instead of the text.
    #[arg(long)]
    pub json: bool,
    /// Text files to correct; standard input when none are given.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(cmd: VocabCommand) -> crate::Result<ExitCode> {
    match cmd {
        VocabCommand::Correct(args) => correct(args),
        VocabCommand::Prompt(args) => {
            let vocab = Vocabulary::base()?.with_custom(&args.vocab)?;
            writeln!(
                std::io::stdout().lock(),
                "{}",
                vocab.prompt_terms(crate::vocab::PROMPT_CHARS)
            )
            .at("standard output")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn correct(args: CorrectArgs) -> crate::Result<ExitCode> {
    let vocab = Vocabulary::base()?.with_custom(&args.vocab)?;
    let mut inputs = Vec::new();
    if args.files.is_empty() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .at("standard input")?;
        inputs.push(("-".to_string(), text));
    } else {
        for f in &args.files {
            let text = std::fs::read_to_string(f).at(f)?;
            inputs.push((f.display().to_string(), text));
        }
    }
    let mut out = std::io::stdout().lock();
    for (name, text) in inputs {
        let c = vocab.correct_text(&text);
        let written = if args.json {
            let doc = serde_json::json!({ "file": name, "corrections": c.corrections });
            writeln!(out, "{doc}")
        } else {
            writeln!(out, "{}", c.text)
        };
        written.at("standard output")?;
    }
    Ok(ExitCode::SUCCESS)
}
