//! `medscribe transcribe` (not yet built).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TranscribeArgs {}

pub fn run(_args: TranscribeArgs) -> crate::Result<ExitCode> {
    Err(crate::Error::Invalid("not yet available".into()))
}
