#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, integration and doc tests, and a
# short run of the main job. Installs nothing beyond the Rust toolchain for now; services the
# tests need (a Kafka broker, a browser) are installed here as they arrive.
#
# Build products go to a cache outside the checkout (SLUICE_CACHE, default ~/.cache/sluice),
# so repeated runs and fresh clones on the same machine build incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${SLUICE_CACHE:-$HOME/.cache/sluice}/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "main job smoke run"
cargo run --quiet --locked -p sluice-cli -- demo --batches 3 --interval-ms 200 --rate 5000 --top 3
