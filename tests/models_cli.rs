//! The `medscribe models` command line, on files that need no download.

use std::process::Command;

fn medscribe() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_medscribe"));
    c.env_remove("MEDSCRIBE_MODELS");
    c
}

#[test]
fn list_reports_sizes_checks_and_problems_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ggml-tiny.en-header-only.bin"
    ))
    .unwrap();
    std::fs::write(dir.path().join("header.bin"), &fixture).unwrap();
    std::fs::write(dir.path().join("junk.bin"), b"not a model").unwrap();
    let out = medscribe()
        .args(["models", "list", "--json", "--models-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let header = items.iter().find(|m| m["file"] == "header.bin").unwrap();
    assert_eq!(header["size"], 586_235);
    assert_eq!(header["info"]["hparams"]["n_vocab"], 51864);
    assert_eq!(header["loads"], false);
    let junk = items.iter().find(|m| m["file"] == "junk.bin").unwrap();
    assert!(junk["problem"].as_str().unwrap().contains("bad magic"));
}

#[test]
fn unknown_model_is_a_usage_error_and_bad_import_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = medscribe()
        .args(["models", "fetch", "enormous", "--models-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known models"));

    let out = medscribe()
        .args(["models", "import"])
        .arg(dir.path())
        .args(["-o"])
        .arg(dir.path().join("x.bin"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no model.bin"));
    assert!(!dir.path().join("x.bin").exists());
}
