//! `medscribe probe FILE... [--json] [--decode]`: prints each file's format facts,
//! one line per file, so an office can check a batch before transcribing it.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::audio::{self, format_duration, AudioInfo, DecodeOptions};

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// Audio files to inspect.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also decode each file fully (slower) to find damage and skipped packets.
    #[arg(long)]
    pub decode: bool,
}

pub fn run(args: ProbeArgs) -> crate::Result<ExitCode> {
    let mut failed = 0usize;
    for file in &args.files {
        let outcome = if args.decode {
            audio::decode_stream(file, &DecodeOptions::default(), &mut |_| Ok(()))
                .map(|(info, skipped)| (info, Some(skipped)))
        } else {
            audio::probe(file).map(|info| (info, None))
        };
        match outcome {
            Ok((info, skipped)) => println!("{}", render(file, &info, skipped, args.json)),
            Err(e) => {
                failed += 1;
                eprintln!("medscribe: error: {e}");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_SOME_FAILED)
    })
}

/// One output line for a probed file.
fn render(file: &std::path::Path, info: &AudioInfo, skipped: Option<usize>, json: bool) -> String {
    if json {
        let mut value = serde_json::json!({ "file": file.display().to_string() });
        if let (Some(map), Ok(serde_json::Value::Object(facts))) =
            (value.as_object_mut(), serde_json::to_value(info))
        {
            map.extend(facts);
            if let Some(n) = skipped {
                map.insert("skipped_packets".into(), n.into());
            }
        }
        return value.to_string();
    }
    let channels = match info.channels {
        1 => "mono".to_string(),
        2 => "stereo".to_string(),
        n => format!("{n} channels"),
    };
    let mut line = format!(
        "{}: {} {} {} Hz {} {} ({:.3} s)",
        file.display(),
        info.container,
        info.codec,
        info.sample_rate,
        channels,
        format_duration(info.duration_s),
        info.duration_s
    );
    if let Some(warning) = skipped.and_then(audio::skipped_warning) {
        line.push_str("; warning: ");
        line.push_str(&warning);
    }
    line
}
