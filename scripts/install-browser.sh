#!/usr/bin/env bash
# Installs what the browser test needs, when missing: Debian's Chromium, and playwright-core
# (only the driver library; it uses the system Chromium) in a cache outside the checkout.
# Prints the NODE_PATH to use.
set -euo pipefail
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}/node"
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package) ..." >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
fi
if [ ! -d "$cache/node_modules/playwright-core" ]; then
  echo "installing playwright-core into $cache ..." >&2
  mkdir -p "$cache"
  (cd "$cache" && npm install --silent --no-audit --no-fund --prefix "$cache" playwright-core@1 >&2)
fi
echo "$cache/node_modules"
