#!/usr/bin/env bash
# Installs what the Azure tests need, when missing: Azurite, Microsoft's Azure Storage emulator
# (npm), and a virtual environment with Microsoft's own Python client (azure-storage-blob) and
# pyarrow, both in the cache outside the checkout. Prints two lines: the path of the
# `azurite-blob` command, then the path of that python. Each test run starts its own emulator
# on 127.0.0.1, in memory.
set -euo pipefail
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
node_dir="$cache/azurite"
venv="$cache/azure-venv"
if [ ! -x "$node_dir/node_modules/.bin/azurite-blob" ]; then
  echo "installing Azurite into $node_dir ..." >&2
  mkdir -p "$node_dir"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund --prefix "$node_dir" azurite@3 >&2)
fi
if ! "$venv/bin/python" -c 'import azure.storage.blob, pyarrow' 2>/dev/null; then
  echo "installing azure-storage-blob and pyarrow into $venv ..." >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "azure-storage-blob==12.*" "pyarrow>=16" >&2
fi
echo "$node_dir/node_modules/.bin/azurite-blob"
echo "$venv/bin/python"
