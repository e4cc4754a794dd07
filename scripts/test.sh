#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit, integration and doc tests (the
# Kafka connector's against a real broker, the MQTT receiver's against Mosquitto, the ZeroMQ
# receiver's against pyzmq, the Parquet tables read back by pyarrow and by Spark, and written
# to an S3-compatible server and to Azurite with checkpoints there too), a short run
# of the main job, the web UI's end-to-end test in headless Chromium, and the Python package's
# pytest suite. Installs what the tests need when it is missing (the tansu broker from
# crates.io, Debian's mosquitto and chromium, playwright-core from npm, maturin, pytest,
# confluent-kafka, pyzmq, fastavro, pyarrow, deltalake, pyspark and moto's S3 server from PyPI,
# Azurite from npm with azure-storage-blob from PyPI), in a cache outside the
# checkout.
#
# Build products go to a cache outside the checkout (SLUICE_CACHE, default ~/.cache/sluice),
# so repeated runs and fresh clones on the same machine build incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${SLUICE_CACHE:-$HOME/.cache/sluice}/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental compilation caches grow without bound in a shared cache and do not speed up a
# run that builds each crate once.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets and features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "cargo doc (broken or ambiguous links are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --locked --quiet

step "Kafka test broker"
tansu="$(bash scripts/install-broker.sh)"
read -r broker_pid broker_addr < <(bash scripts/start-broker.sh "$tansu" "${SLUICE_BROKER_PORT:-19092}")
trap 'kill "$broker_pid" 2>/dev/null || true' EXIT
export SLUICE_KAFKA_BROKERS="$broker_addr"
# The broker-loss test starts (and kills) a broker of its own.
export SLUICE_TANSU_BIN="$tansu"
echo "broker at $SLUICE_KAFKA_BROKERS (pid $broker_pid)"

step "MQTT test broker"
# Each MQTT test starts (and stops) a Mosquitto of its own.
SLUICE_MOSQUITTO="$(bash scripts/install-mosquitto.sh)"
export SLUICE_MOSQUITTO
echo "mosquitto at $SLUICE_MOSQUITTO"

step "Python package (built with maturin) and the ZeroMQ tests' peer, pyzmq"
python="$(bash scripts/install-python.sh)"
export SLUICE_PYTHON="$python"

step "pyspark (Spark itself, reading the Parquet tables' output through its log)"
SLUICE_PYSPARK_PYTHON="$(bash scripts/install-pyspark.sh)"
export SLUICE_PYSPARK_PYTHON

step "S3-compatible server (moto's, from PyPI)"
SLUICE_S3_SERVER="$(bash scripts/install-s3-server.sh)"
export SLUICE_S3_SERVER

step "Azure Storage emulator (Azurite, from npm) and Microsoft's Python client"
{ read -r SLUICE_AZURITE; read -r SLUICE_AZURE_PYTHON; } < <(bash scripts/install-azurite.sh)
export SLUICE_AZURITE SLUICE_AZURE_PYTHON

step "cargo test (all features)"
# The examples run as child processes by the crash tests.
cargo build --quiet --locked -p sluice --examples
cargo test --workspace --all-features --locked

step "cargo test: the tests that need the Kafka broker, Mosquitto, pyzmq, pyarrow, pyspark, the S3 server or Azurite (ignored without them)"
cargo test --locked -p sluice-connectors --all-features -- --ignored
cargo test --locked -p sluice-tables --all-features -- --ignored
# MLlib's streaming learners against pyspark.mllib recording the golden cases afresh.
cargo test --locked -p sluice-analytics -- --ignored

step "crash campaign: random SIGKILLs and restarts, output byte for byte as without failures"
KILLS="${SLUICE_CRASH_KILLS:-5}" bash scripts/crash-campaign.sh
KILLS="${SLUICE_CRASH_KILLS:-5}" EXAMPLE=recoverable_event_time bash scripts/crash-campaign.sh
KILLS="${SLUICE_CRASH_KILLS:-5}" EXAMPLE=recoverable_parquet bash scripts/crash-campaign.sh
# The same job with its checkpoint, its Parquet table and a Delta table in the S3 server.
KILLS="${SLUICE_CRASH_KILLS:-5}" BATCHES=20 EXAMPLE=recoverable_parquet STORE=s3 bash scripts/crash-campaign.sh
KILLS="${SLUICE_CRASH_KILLS:-5}" EXAMPLE=recoverable_model bash scripts/crash-campaign.sh

step "Python package: its pytest suite"
# Run from outside the checkout, so `import sluice` is the installed package.
(cd "$CARGO_TARGET_DIR" && "$python" -m pytest -q -p no:cacheprovider "$OLDPWD/crates/sluice-python/tests")

step "main job smoke run"
cargo run --quiet --locked -p sluice-cli -- demo --batches 3 --interval-ms 200 --rate 5000 --top 3 --no-ui

step "web UI in a real browser"
node_path="$(bash scripts/install-browser.sh)"
cargo build --quiet --locked -p sluice-cli
SLUICE_BIN="$CARGO_TARGET_DIR/debug/sluice" NODE_PATH="$node_path" \
  SLUICE_E2E_OUT="$CARGO_TARGET_DIR/e2e" node --test e2e/ui.test.cjs
