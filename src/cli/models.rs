//! `medscribe models` (not yet built).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum ModelsCommand {}

pub fn run(cmd: ModelsCommand) -> crate::Result<ExitCode> {
    match cmd {}
}
