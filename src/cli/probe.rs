//! `medscribe probe` (not yet built).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ProbeArgs {}

pub fn run(_args: ProbeArgs) -> crate::Result<ExitCode> {
    Err(crate::Error::Invalid("not yet available".into()))
}
