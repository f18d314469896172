#!/usr/bin/env bash
# Benchmark medscribe against faster-whisper (installed into a throwaway venv).
# Usage: scripts/bench-vs-faster-whisper.sh [MANIFEST] [N_FILES] [MODEL] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=${1:-../shared/dictations/manifest.jsonl}
n=${2:-6}
model=${3:-base}
threads=${4:-2}
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q faster-whisper
cargo build --release -q
target/release/medscribe models fetch "$model" silero-vad
python3 scripts/bench_vs_faster_whisper.py "$manifest" "$n" "$model" "$threads" "$venv/bin/python"
