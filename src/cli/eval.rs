//! `medscribe eval` (not yet built).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct EvalArgs {}

pub fn run(_args: EvalArgs) -> crate::Result<ExitCode> {
    Err(crate::Error::Invalid("not yet available".into()))
}
