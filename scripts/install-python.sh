#!/usr/bin/env bash
# Builds the Python package `sluice` (crates/sluice-python, with maturin, Kafka included) into
# a virtual environment in the cache outside the checkout, with pytest, Confluent's Kafka
# client, pyzmq, fastavro, pyarrow and deltalake (the independent peers, encoders and readers
# of the Kafka, ZeroMQ, Flume, Parquet and Delta tests), and prints the environment's python. The
# first run downloads them from PyPI and builds the engine in release mode (a few minutes on
# 2 cores); later runs rebuild incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
venv="$cache/python-venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import maturin, pytest, confluent_kafka, zmq, fastavro, pyarrow, deltalake" 2>/dev/null; then
  "$venv/bin/pip" install -q "maturin==1.16.0" "pytest>=7" "confluent-kafka==2.16.2" \
    "pyzmq==27.3.0" "fastavro>=1.9" "pyarrow==22.0.0" "deltalake==1.2.1" >&2
fi
PATH="$venv/bin:$PATH" "$venv/bin/pip" install -q --no-build-isolation --force-reinstall \
  --no-deps ./crates/sluice-python >&2
echo "$venv/bin/python"
