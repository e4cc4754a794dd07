#!/usr/bin/env bash
# A crash campaign: the recoverable example job (a directory source, update_state_by_key,
# checkpoints, save_as_text_files) is killed with SIGKILL at random moments and restarted from
# its checkpoint, again and again; then it runs to the end, and its output directory must be
# byte for byte the one of a run without failures (no missing, extra or different file, no
# temporary left behind).
#
#   bash scripts/crash-campaign.sh            # 5 kills (what the test command runs)
#   KILLS=150 bash scripts/crash-campaign.sh  # a long campaign
#
# Settings (environment): KILLS (5), BATCHES (40), SEED (from the clock; printed, so a failing
# schedule can be replayed), PROFILE (debug or release), EXAMPLE (recoverable_count, or
# recoverable_event_time: event-time windows with a watermark and late records,
# recoverable_model: the lag model fitted per key in map_with_state, or
# recoverable_parquet: per-batch counts written as a partitioned Parquet table committed in
# Spark's file-sink log; its table is compared as Spark reads it, with the python of
# SLUICE_PYSPARK_PYTHON, since its log records when files were written), STORE (local, or s3
# with recoverable_parquet: its checkpoint, its Parquet table and a Delta table of the same
# rows all live in an S3 server — moto's, SLUICE_S3_SERVER, started here — and the tables are
# compared as read through the file-sink log by pyarrow's S3 client and by delta-rs, with the
# python of SLUICE_PYTHON).
set -euo pipefail
cd "$(dirname "$0")/.."

kills_wanted="${KILLS:-5}"
batches="${BATCHES:-40}"
seed="${SEED:-$(date +%s%N)}"
profile="${PROFILE:-debug}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${SLUICE_CACHE:-$HOME/.cache/sluice}/target}"

example="${EXAMPLE:-recoverable_count}"
store="${STORE:-local}"
features=()
if [ "$store" = s3 ]; then
  [ "$example" = recoverable_parquet ] || { echo "STORE=s3 is for EXAMPLE=recoverable_parquet" >&2; exit 2; }
  features=(--features tables,s3,delta)
  : "${SLUICE_S3_SERVER:?STORE=s3 needs moto_server: set SLUICE_S3_SERVER (scripts/install-s3-server.sh)}"
  : "${SLUICE_PYTHON:?STORE=s3 reads the tables with pyarrow and deltalake: set SLUICE_PYTHON (scripts/install-python.sh)}"
elif [ "$example" = recoverable_parquet ]; then
  features=(--features tables)
  : "${SLUICE_PYSPARK_PYTHON:?recoverable_parquet is checked by Spark: set SLUICE_PYSPARK_PYTHON (scripts/install-pyspark.sh)}"
fi
if [ "$profile" = release ]; then
  cargo build --quiet --locked --release -p sluice "${features[@]}" --example "$example"
else
  cargo build --quiet --locked -p sluice "${features[@]}" --example "$example"
fi
bin="$CARGO_TARGET_DIR/$profile/examples/$example"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# With STORE=s3: an S3 server on a free port, a bucket, and this process's AWS settings.
s3() { # s3 METHOD PATH: the server's HTTP status for an unsigned request
  python3 - "$s3_port" "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
port, method, path = sys.argv[1:]
req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=b"" if method == "PUT" else None)
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError:
    print(0)
PY
}
if [ "$store" = s3 ]; then
  s3_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$SLUICE_S3_SERVER" -H 127.0.0.1 -p "$s3_port" >/dev/null 2>&1 &
  s3_pid=$!
  trap 'kill "$s3_pid" 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 300); do [ "$(s3 GET /)" = 200 ] && break; sleep 0.1; done
  [ "$(s3 PUT /campaign)" = 200 ] || { echo "crash campaign: cannot create the bucket on the S3 server" >&2; exit 1; }
  export AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port" AWS_ACCESS_KEY_ID=test \
    AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
fi
epoch=0 # a run "b" that must start over uses a fresh prefix in S3

# Input: file k is modified at k seconds - 500 ms of the step clock, so batch k selects it.
mkdir -p "$work/input"
for k in $(seq 1 "$batches"); do
  f="$work/input/part-$(printf %03d "$k").txt"
  if [ "$example" = recoverable_model ]; then
    # Lines "<key> <t> <x>": three consecutive steps of five series per file, now and then
    # a NaN (refused by the model) and a gap (the key's inputs start over).
    for key in 0 1 2 3 4; do
      for j in 0 1 2; do
        t=$(( 3 * (k - 1) + j ))
        if [ $(( (k + key) % 11 )) -eq 0 ] && [ "$j" -eq 1 ]; then
          echo "s$key $t nan"
        elif [ $(( (k * 7 + key) % 17 )) -eq 0 ] && [ "$j" -eq 2 ]; then
          continue
        else
          echo "s$key $t $(( (t * t * 37 + key * 101 + t * 13) % 1000 )).$(( (t * 7 + key) % 10 ))"
        fi
      done
    done >"$f"
  elif [ "$example" = recoverable_event_time ]; then
    # Lines "<key> <event time ms>" around batch k's second, some out of order by up to 4.5 s
    # (later than the job's 3 s delay: those are late).
    for i in $(seq 0 19); do
      echo "k$(( (i * k) % 7 )) $(( k * 1000 + (i * 379 + k * 113) % 6000 - 4500 ))"
    done >"$f"
  else
    words=""
    for i in $(seq 0 49); do words="$words w$(( (i * k) % 37 ))"; done
    echo "${words# }" >"$f"
  fi
  touch -d "@$((k - 1)).5" "$f"
done

args() {
  if [ "$store" = s3 ]; then
    local p="s3://campaign/$1-$epoch"
    echo "$work/input" "$p/ckpt" "$p/counts" "$batches" --step --delta "$p/delta"
  else
    echo "$work/input" "$work/ckpt-$1" "$work/out-$1/counts" "$batches" --step
  fi
}
# Whether run "b" has committed its last batch.
finished() {
  if [ "$store" = s3 ]; then
    [ "$(s3 HEAD "/campaign/b-$epoch/counts/_sluice_sink/$((batches - 1))")" = 200 ]
  else
    [ -d "$work/out-b/counts-$((batches * 1000))" ] ||
      [ -f "$work/out-b/counts/_sluice_sink/$((batches - 1))" ]
  fi
}

mkdir -p "$work/out-a" "$work/out-b"
start=$(date +%s%N)
# shellcheck disable=SC2046
"$bin" $(args a) 2>/dev/null
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
window_ms=$(( full_ms / 3 > 20 ? full_ms / 3 : 20 ))
echo "reference run: $batches batches in $full_ms ms; kills within ${window_ms} ms of each start (seed $seed)"

RANDOM=$(( seed % 32768 ))
kills=0 starts=0 finished_early=0
campaign_start=$(date +%s%N)
while [ "$kills" -lt "$kills_wanted" ]; do
  # shellcheck disable=SC2046
  "$bin" $(args b) 2>/dev/null &
  pid=$!
  starts=$((starts + 1))
  wait_ms=$(( 5 + (RANDOM * 32768 + RANDOM) % window_ms ))
  sleep "$(awk -v ms="$wait_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
  else
    # It ended by itself before its kill: it must have succeeded.
    if ! wait "$pid"; then
      echo "crash campaign FAILED (seed $seed): a restarted run failed after $kills kills:" >&2
      # shellcheck disable=SC2046
      "$bin" $(args b) >&2 || true
      exit 1
    fi
    finished_early=$((finished_early + 1))
  fi
  # A run that finished every batch before its kill leaves nothing to recover: start over.
  if finished && [ "$kills" -lt "$kills_wanted" ]; then
    rm -rf "$work/ckpt-b" "$work/out-b"
    mkdir -p "$work/out-b"
    epoch=$((epoch + 1))
  fi
done
# shellcheck disable=SC2046
"$bin" $(args b) 2>/dev/null
campaign_ms=$(( ($(date +%s%N) - campaign_start) / 1000000 ))

if [ "$store" = s3 ]; then
  # Both tables as independent readers see them in S3: the Parquet table through its log
  # (pyarrow's S3 client), the Delta table through delta-rs. Every batch exactly once, and
  # the rows of the failure-free run.
  readers="crates/sluice-tables/tests/readers"
  for run in "a-0" "b-$epoch"; do
    "$SLUICE_PYTHON" "$readers/read_sink_log.py" "campaign/$run/counts" --s3-endpoint "$AWS_ENDPOINT_URL" \
      2>/dev/null | tail -n 1 >"$work/$run-parquet.json"
    "$SLUICE_PYTHON" "$readers/read_delta.py" "s3://campaign/$run/delta" recoverable_parquet \
      2>/dev/null | tail -n 1 >"$work/$run-delta.json"
  done
  rows=$(python3 -c 'import json, sys
a, b, da, db = (json.load(open(f)) for f in sys.argv[1:])
ok = a["rows"] == b["rows"] == da["rows"] == db["rows"] and da["txn"] == db["txn"]
print(len(a["rows"]) if ok else -1)' "$work/a-0-parquet.json" "$work/b-$epoch-parquet.json" \
    "$work/a-0-delta.json" "$work/b-$epoch-delta.json" || echo -1)
  if [ "$rows" -gt 0 ]; then
    echo "crash campaign (S3): $kills kills over $starts starts ($finished_early finished before their kill) in $campaign_ms ms; the Parquet table read through its log and the Delta table equal the failure-free run's ($rows rows each)"
    exit 0
  fi
  echo "crash campaign FAILED (seed $seed, S3): the tables differ from the failure-free run's:" >&2
  for f in "$work"/*.json; do echo "$f: $(head -c 300 "$f")" >&2; done
  exit 1
fi
if [ "$example" = recoverable_parquet ]; then
  # The table as Spark reads it, through the log: every batch exactly once.
  reader="crates/sluice-tables/tests/readers/read_pyspark.py"
  "$SLUICE_PYSPARK_PYTHON" "$reader" "$work/out-a/counts" 2>/dev/null | tail -n 1 >"$work/a.json"
  "$SLUICE_PYSPARK_PYTHON" "$reader" "$work/out-b/counts" 2>/dev/null | tail -n 1 >"$work/b.json"
  rows=$(python3 -c 'import json, sys
a, b = (json.load(open(f))["rows"] for f in sys.argv[1:])
print(len(a) if a == b else -1)' "$work/a.json" "$work/b.json" || echo -1)
  if [ "$rows" -gt 0 ]; then
    echo "crash campaign: $kills kills over $starts starts ($finished_early finished before their kill) in $campaign_ms ms; the table as Spark reads it equals the failure-free run's ($rows rows)"
    exit 0
  fi
  echo "crash campaign FAILED (seed $seed): the table differs from the failure-free run's (as Spark reads them):" >&2
  diff <(python3 -m json.tool "$work/a.json") <(python3 -m json.tool "$work/b.json") | head -n 40 >&2
  exit 1
fi
if diff -r "$work/out-a" "$work/out-b" >"$work/diff.txt"; then
  echo "crash campaign: $kills kills over $starts starts ($finished_early finished before their kill) in $campaign_ms ms; output identical, byte for byte"
else
  echo "crash campaign FAILED (seed $seed): the output differs from the failure-free run:" >&2
  head -n 40 "$work/diff.txt" >&2
  exit 1
fi
