#!/usr/bin/env bash
# Benchmark medscribe against faster-whisper (installed into a throwaway venv).
# Usage: scripts/bench-vs-faster-whisper.sh [MANIFEST] [N_FILES] [MODELS] [THREADS] [FW_COMPUTE_TYPES]
#   e.g. scripts/bench-vs-faster-whisper.sh ../shared/dictations/manifest.jsonl 6 base,base-q8_0,base-q5_0 2 default,int8
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=${1:-../shared/dictations/manifest.jsonl}
n=${2:-6}
models=${3:-base,base-q8_0,base-q5_0}
threads=${4:-2}
fw_types=${5:-default}
venv=${FW_VENV:-$(mktemp -d)/venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q faster-whisper
fi
cargo build --release -q
target/release/medscribe models fetch ${models//,/ } silero-vad
python3 scripts/bench_vs_faster_whisper.py "$manifest" "$n" "$models" "$threads" "$venv/bin/python" "$fw_types"
