#!/usr/bin/env bash
# Installs an S3-compatible server for the tests — moto's server, from PyPI — into a virtual
# environment in the cache outside the checkout, and prints the path of its `moto_server`
# command. Each test run starts its own server on 127.0.0.1 (in memory, nothing to clean up).
set -euo pipefail
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
venv="$cache/s3-venv"
if [ ! -x "$venv/bin/moto_server" ]; then
  echo "installing moto's S3 server into $venv ..." >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "moto[server]==5.2.6" >&2
fi
echo "$venv/bin/moto_server"
