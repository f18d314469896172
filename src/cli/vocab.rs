//! `medscribe vocab` (not yet built).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum VocabCommand {}

pub fn run(cmd: VocabCommand) -> crate::Result<ExitCode> {
    match cmd {}
}
