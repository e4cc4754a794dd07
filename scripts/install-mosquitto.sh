#!/usr/bin/env bash
# Installs the MQTT test broker, Mosquitto, and its command-line clients (mosquitto_pub) from
# Debian's packages when missing. Prints the path of the `mosquitto` binary.
set -euo pipefail
bin=/usr/sbin/mosquitto
if [ ! -x "$bin" ] || ! command -v mosquitto_pub >/dev/null 2>&1; then
  echo "installing Debian packages: mosquitto mosquitto-clients ..." >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  # The package's own service is not started: the tests start brokers of their own.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    mosquitto mosquitto-clients >&2
fi
echo "$bin"
