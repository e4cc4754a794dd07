#!/usr/bin/env bash
# Starts the Kafka-compatible test broker (tansu) on 127.0.0.1 from a fresh data directory,
# waits until it accepts connections, and prints "<pid> <host:port>".
#
# usage: start-broker.sh <tansu-binary> [port]     (default port 19092)
set -euo pipefail
bin="$1"
port="${2:-19092}"
data="$(mktemp -d "${TMPDIR:-/tmp}/sluice-broker.XXXXXX")"
log="$data/broker.log"
(
  cd "$data"
  exec "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "sqlite://tansu.db" >"$log" 2>&1
) &
pid=$!
for _ in $(seq 1 200); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the broker exited at start; its log ($log):" >&2
    cat "$log" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$pid 127.0.0.1:$port"
    exit 0
  fi
  sleep 0.1
done
echo "the broker did not listen on 127.0.0.1:$port within 20 s; its log ($log):" >&2
cat "$log" >&2
kill "$pid" 2>/dev/null || true
exit 1
