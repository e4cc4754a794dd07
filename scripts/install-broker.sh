#!/usr/bin/env bash
# Installs the Kafka-compatible test broker (tansu 0.6.0 from crates.io) when it is missing,
# into a cache outside the checkout, together with the Debian packages its build needs (cmake,
# libclang-dev). A cold install takes about 15 minutes on 2 cores; later runs reuse the cache.
# Prints the path of the broker's binary.
set -euo pipefail
root="${SLUICE_CACHE:-$HOME/.cache/sluice}/tansu"
bin="$root/bin/tansu"
if [ ! -x "$bin" ]; then
  need=""
  command -v cmake >/dev/null 2>&1 || need="$need cmake"
  dpkg -s libclang-dev >/dev/null 2>&1 || need="$need libclang-dev"
  if [ -n "$need" ]; then
    echo "installing Debian packages:$need ..." >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need >&2
  fi
  echo "installing tansu 0.6.0 into $root (about 15 minutes the first time) ..." >&2
  mkdir -p "$root"
  # Its own target directory, so the project's build cache is not mixed with the broker's.
  CARGO_TARGET_DIR="$root/build" cargo install tansu --version 0.6.0 --locked \
    --features dynostore,libsql --root "$root" >&2
  rm -rf "$root/build"
fi
echo "$bin"
