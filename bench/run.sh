#!/usr/bin/env bash
# Side-by-side benchmarks of Sluice and Apache Spark Streaming on this machine, in one run.
#
#   bench/run.sh quick   # a few minutes
#   bench/run.sh full
#
# Engines: Sluice, Spark Streaming on the JVM (Java programs in bench/spark/), PySpark
# Streaming (bench/pyspark/) for workloads (a), (c) and (d), Apache Flink's DataStream API (bench/flink/,
# against the jars of the apache-flink-libraries package from PyPI) for workload (a), and a
# hand-written Rust loop for (a) (the physical limit at the same number of threads).
#
# Installs what it needs in a cache outside the checkout (SLUICE_CACHE, default
# ~/.cache/sluice): pyspark from PyPI in a virtual environment (its jars are Spark's JVM
# engine). Builds the Sluice benchmark (release) and the Spark program (javac against those
# jars), writes one seeded corpus that every engine reads, runs the engines alternately
# (A B A B ...) so that ratios hold while the machine's speed drifts, checks that their
# outputs agree batch by batch, and writes a Markdown report to bench/results/.
#
# Workloads so far: (b) word count over a socket: end-to-end latency and the smallest batch
# interval each engine sustains; (a) word count over a queue of pre-made batches (capacity = words per
# second of processing time), with peak RSS and the time from start to the first completed
# batch (e) per engine (Sluice from main(), Spark from JVM start; Spark's batches are 100 ms); (d) keyed state with 1 million keys
# and 100 thousand updates per batch, with update_state_by_key and with map_with_state
# (median processing time per batch); (c) reduce_by_key_and_window with an inverse function.
set -euo pipefail
mode="${1:-quick}"
case "$mode" in
  quick) lines=100000; batches=10; per_batch=20000; rounds=2; keys=1000000; state_batches=5
    lat_seconds=4; sl_intervals="100 20 10"; sp_intervals="1000 500 200 100" ;;
  full) lines=500000; batches=20; per_batch=50000; rounds=3; keys=1000000; state_batches=10
    lat_seconds=10; sl_intervals="100 50 20 10 5"; sp_intervals="1000 500 200 100 50" ;;
  *) echo "usage: bench/run.sh quick|full" >&2; exit 2 ;;
esac
threads=2
cd "$(dirname "$0")/.."
root="$PWD"
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
work="$cache/bench-work"
mkdir -p "$work" "$root/bench/results"

venv="$cache/pyspark-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
  echo "installing pyspark into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "pyspark==4.3.0"
fi
jars="$("$venv/bin/python" -c 'import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"

# Apache Flink: the jars of the apache-flink-libraries package from PyPI (no Python needed).
flink_version=2.3.0
flink="$cache/flink-$flink_version/pyflink/lib"
if [ ! -f "$flink/flink-dist-$flink_version.jar" ]; then
  echo "downloading Apache Flink $flink_version (apache-flink-libraries from PyPI) ..." >&2
  mkdir -p "$cache/flink-dl" "$cache/flink-$flink_version"
  python3 -m pip download -q --no-deps "apache-flink-libraries==$flink_version" -d "$cache/flink-dl"
  (cd "$cache/flink-$flink_version" && python3 -m zipfile -e "$cache"/flink-dl/apache_flink_libraries-$flink_version-*.whl . )
fi

echo "building ..." >&2
cargo build --quiet --release -p sluice-bench
bench="$CARGO_TARGET_DIR/release/sluice-bench"
mkdir -p "$work/classes"
javac -nowarn -d "$work/classes" -cp "$jars/*" bench/spark/*.java 2>/dev/null
mkdir -p "$work/flink-classes"
javac -nowarn -d "$work/flink-classes" -cp "$flink/*" bench/flink/*.java 2>/dev/null

corpus="$work/corpus-$lines.txt"
[ -f "$corpus" ] || "$bench" corpus --out "$corpus" --lines "$lines"

java_opts=(-Xmx4g
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED)

# Runs a command; prints its stdout to $2 and the peak RSS (KiB) of the process tree.
measure() {
  local out="$1"; shift
  python3 - "$out" "$@" <<'PY'
import resource, subprocess, sys
out = sys.argv[1]
with open(out, "w") as f:
    p = subprocess.run(sys.argv[2:], stdout=f, stderr=subprocess.DEVNULL)
if p.returncode != 0:
    sys.exit(p.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}

declare -a sl_cap sp_cap py_cap hd_cap fl_cap sl_rss sp_rss py_rss hd_rss fl_rss
for r in $(seq 1 "$rounds"); do
  echo "round $r: flink ..." >&2
  fl_rss+=("$(measure "$work/flink-$r.out" java "${java_opts[@]}" -cp "$work/flink-classes:$flink/*" \
    FlinkQueueWordCount "$corpus" "$batches" "$per_batch" "$threads")")
  echo "round $r: hand-written ..." >&2
  hd_rss+=("$(measure "$work/hand-$r.out" "$bench" hand-wordcount --file "$corpus" \
    --batches "$batches" --lines-per-batch "$per_batch" --threads "$threads")")
  echo "round $r: sluice ..." >&2
  sl_rss+=("$(measure "$work/sluice-$r.out" "$bench" queue-wordcount --file "$corpus" \
    --batches "$batches" --lines-per-batch "$per_batch" --threads "$threads")")
  echo "round $r: spark ..." >&2
  sp_rss+=("$(measure "$work/spark-$r.out" java "${java_opts[@]}" -cp "$work/classes:$jars/*" \
    QueueWordCount "$corpus" "$batches" "$per_batch" "$threads" 100)")
  echo "round $r: pyspark ..." >&2
  py_rss+=("$(measure "$work/pyspark-$r.out" "$venv/bin/python" bench/pyspark/queue_wordcount.py \
    "$corpus" "$batches" "$per_batch" "$threads" 100)")
done

# Capacity of a run: words / processing seconds.
cap() { awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "%.0f\n", v["words"] / (v["processing_ms"] / 1000) }' "$1"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for r in $(seq 1 "$rounds"); do
  sl_cap+=("$(cap "$work/sluice-$r.out")"); sp_cap+=("$(cap "$work/spark-$r.out")")
  py_cap+=("$(cap "$work/pyspark-$r.out")"); hd_cap+=("$(cap "$work/hand-$r.out")")
  fl_cap+=("$(cap "$work/flink-$r.out")")
done
hdc=$(median "${hd_cap[@]}"); hdr=$(median "${hd_rss[@]}")
flc=$(median "${fl_cap[@]}"); flr=$(median "${fl_rss[@]}")
fl_first=(); for r in $(seq 1 "$rounds"); do fl_first+=("$(sed -n 's/.*first_batch_ms=\([0-9-]*\).*/\1/p' "$work/flink-$r.out")"); done
flf=$(median "${fl_first[@]}")
pyc=$(median "${py_cap[@]}"); pyr=$(median "${py_rss[@]}")
slc=$(median "${sl_cap[@]}"); spc=$(median "${sp_cap[@]}")
first() { sed -n 's/.*first_batch_ms=\([0-9-]*\).*/\1/p' "$1"; }
sl_first=(); sp_first=(); py_first=()
for r in $(seq 1 "$rounds"); do
  sl_first+=("$(first "$work/sluice-$r.out")"); sp_first+=("$(first "$work/spark-$r.out")")
  py_first+=("$(first "$work/pyspark-$r.out")")
done
slf=$(median "${sl_first[@]}"); spf=$(median "${sp_first[@]}"); pyf=$(median "${py_first[@]}")
slr=$(median "${sl_rss[@]}"); spr=$(median "${sp_rss[@]}")

# Cross-check: the same distinct words and totals, batch by batch.
if diff <(grep '^BATCH' "$work/sluice-1.out" | head -n "$batches") \
        <(grep '^BATCH' "$work/spark-1.out" | head -n "$batches") >/dev/null &&
   diff <(grep '^BATCH' "$work/sluice-1.out" | head -n "$batches") \
        <(grep '^BATCH' "$work/pyspark-1.out" | head -n "$batches") >/dev/null &&
   diff <(grep '^BATCH' "$work/sluice-1.out" | head -n "$batches") \
        <(grep '^BATCH' "$work/hand-1.out" | head -n "$batches") >/dev/null &&
   diff <(grep '^BATCH' "$work/sluice-1.out" | head -n "$batches") \
        <(grep '^BATCH' "$work/flink-1.out" | sort -k2,2n) >/dev/null; then
  check="equal, batch by batch ($batches batches)"
else
  check="DIFFERENT (see $work/sluice-1.out and $work/spark-1.out)"
fi

# (d) Keyed state: each mode once per round, engines alternating.
declare -A st_sl st_sp st_check st_slr st_spr
for smode in map update; do
  sl=(); sp=(); slr_st=(); spr_st=()
  for r in $(seq 1 "$rounds"); do
    echo "round $r: state ($smode): sluice ..." >&2
    slr_st+=("$(measure "$work/state-$smode-sluice-$r.out" "$bench" state-side --mode "$smode" \
      --keys "$keys" --updates 100000 --batches "$state_batches" --threads "$threads")")
    echo "round $r: state ($smode): spark ..." >&2
    rm -rf "$work/spark-checkpoint"
    spr_st+=("$(measure "$work/state-$smode-spark-$r.out" java "${java_opts[@]}" \
      -cp "$work/classes:$jars/*" StateBench "$smode" "$keys" 100000 \
      "$state_batches" "$threads" "$work/spark-checkpoint")")
    sl+=("$(sed -n 's/.*median_batch_ms=//p' "$work/state-$smode-sluice-$r.out")")
    sp+=("$(sed -n 's/.*median_batch_ms=//p' "$work/state-$smode-spark-$r.out")")
  done
  st_sl[$smode]=$(median "${sl[@]}"); st_sp[$smode]=$(median "${sp[@]}")
  st_slr[$smode]=$(( $(median "${slr_st[@]}") / 1024 )); st_spr[$smode]=$(( $(median "${spr_st[@]}") / 1024 ))
  if diff <(grep '^STATE' "$work/state-$smode-sluice-1.out" | head -n "$state_batches") \
          <(grep '^STATE' "$work/state-$smode-spark-1.out" | head -n "$state_batches") >/dev/null; then
    st_check[$smode]="equal after every batch"
  else
    st_check[$smode]="DIFFERENT"
  fi
done

# (b) End-to-end latency over a socket at 20,000 lines/s, engines alternating by interval.
lat_rate=20000
lat_rows=()
sl_smallest="-"; sp_smallest="-"
sl_list=($sl_intervals); sp_list=($sp_intervals)
for i in $(seq 0 $(( ${#sp_list[@]} > ${#sl_list[@]} ? ${#sp_list[@]} - 1 : ${#sl_list[@]} - 1 ))); do
  if [ "$i" -lt "${#sp_list[@]}" ]; then
    iv="${sp_list[$i]}"
    echo "latency: spark at $iv ms ..." >&2
    line="$(java "${java_opts[@]}" -cp "$work/classes:$jars/*" SocketLatency "$iv" "$lat_rate" \
      "$lat_seconds" "$threads" 2>/dev/null | grep '^LATENCY' || echo "LATENCY interval_ms=$iv lines=0 p50_ms=- p99_ms=- sched_p99_ms=- keeps_up=failed")"
    row="$(echo "$line" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "| Spark Streaming (JVM) | %s ms | %s | %s ms | %s ms | %s ms | %s |", v["interval_ms"], v["lines"], v["p50_ms"], v["p99_ms"], v["sched_p99_ms"], v["keeps_up"] }')"
    lat_rows+=("$row")
    if echo "$line" | grep -q 'keeps_up=yes'; then sp_smallest="$iv ms"; fi
  fi
  if [ "$i" -lt "${#sl_list[@]}" ]; then
    iv="${sl_list[$i]}"
    echo "latency: sluice at $iv ms ..." >&2
    row="$("$bench" latency --rate "$lat_rate" --seconds "$lat_seconds" --intervals "$iv" | grep '^| [0-9]')"
    if echo "$row" | grep -q '| yes |$'; then sl_smallest="$iv ms"; fi
    lat_rows+=("| Sluice ${row//NO/no}")
  fi
done

# PySpark for (c) and (d), once (it is slow; PySpark has no mapWithState).
echo "pyspark: state (update) ..." >&2
rm -rf "$work/spark-checkpoint"
py_st_rss=$(( $(measure "$work/state-update-pyspark.out" "$venv/bin/python" bench/pyspark/state_bench.py \
  "$keys" 100000 "$state_batches" "$threads" "$work/spark-checkpoint") / 1024 ))
py_st=$(sed -n 's/.*median_batch_ms=//p' "$work/state-update-pyspark.out")
if diff <(grep '^STATE' "$work/state-update-sluice-1.out" | head -n "$state_batches") \
        <(grep '^STATE' "$work/state-update-pyspark.out" | head -n "$state_batches") >/dev/null; then
  py_st_check="equal after every batch"
else
  py_st_check="DIFFERENT"
fi
echo "pyspark: window ..." >&2
rm -rf "$work/spark-checkpoint"
py_w_rss=$(( $(measure "$work/window-pyspark.out" "$venv/bin/python" bench/pyspark/window_bench.py \
  10000 50000 12 "$threads" "$work/spark-checkpoint") / 1024 ))
py_w=$(sed -n 's/.*median_window_batch_ms=//p' "$work/window-pyspark.out")

# (c) Incremental window: window 10 s, slide 2 s, 12 batches of 1 s.
wsl=(); wsp=(); wslr=(); wspr=()
for r in $(seq 1 "$rounds"); do
  echo "round $r: window: sluice ..." >&2
  wslr+=("$(measure "$work/window-sluice-$r.out" "$bench" window-side --keys 10000 \
    --per-batch 50000 --batches 12 --threads "$threads")")
  echo "round $r: window: spark ..." >&2
  rm -rf "$work/spark-checkpoint"
  wspr+=("$(measure "$work/window-spark-$r.out" java "${java_opts[@]}" \
    -cp "$work/classes:$jars/*" WindowBench 10000 50000 12 "$threads" "$work/spark-checkpoint")")
  wsl+=("$(sed -n 's/.*median_window_batch_ms=//p' "$work/window-sluice-$r.out")")
  wsp+=("$(sed -n 's/.*median_window_batch_ms=//p' "$work/window-spark-$r.out")")
done
w_sl=$(median "${wsl[@]}"); w_sp=$(median "${wsp[@]}")
w_slr=$(( $(median "${wslr[@]}") / 1024 )); w_spr=$(( $(median "${wspr[@]}") / 1024 ))
if diff <(grep '^WINDOW' "$work/window-sluice-1.out" | head -n 6) \
        <(grep '^WINDOW' "$work/window-spark-1.out" | head -n 6) >/dev/null &&
   diff <(grep '^WINDOW' "$work/window-sluice-1.out" | head -n 6) \
        <(grep '^WINDOW' "$work/window-pyspark.out" | head -n 6) >/dev/null; then
  w_check="equal, window by window (6 windows)"
else
  w_check="DIFFERENT"
fi

stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
report="$root/bench/results/$stamp-$mode.md"
{
  echo "# Sluice vs Apache Spark Streaming — $mode run, $stamp"
  echo
  echo "Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/Mem:/ {print $2}') GiB;"
  echo "Spark $(basename "$jars"/spark-core_*.jar .jar | sed 's/spark-core_2\.13-//') (pyspark from PyPI, JVM $(java -version 2>&1 | head -1 | cut -d'"' -f2)); local[$threads] for both engines."
  echo
  echo "## (a) Word count over a queue of pre-made batches"
  echo
  echo "$batches batches of $per_batch lines (10 words each) from one seeded corpus; medians of $rounds alternating runs."
  echo "Capacity = words counted per second of batch processing time. Peak RSS is that of the engine's process (for PySpark, of the Python driver only: the JVM it starts is not counted)."
  echo "Flink has no micro-batches: it counts per (batch, word) over all the batches in one bounded job in BATCH mode; its processing time is the job's net runtime, and its first result comes at the end of the job."
  echo
  echo "| engine | capacity (words/s) | peak RSS | start to first completed batch |"
  echo "|---|---:|---:|---:|"
  echo "| Sluice | $slc | $((slr / 1024)) MiB | $slf ms |"
  echo "| Spark Streaming (JVM) | $spc | $((spr / 1024)) MiB | $spf ms |"
  echo "| PySpark Streaming | $pyc | $((pyr / 1024)) MiB | $pyf ms |"
  echo "| Apache Flink $flink_version (DataStream, BATCH mode) | $flc | $((flr / 1024)) MiB | $flf ms (whole job) |"
  echo "| hand-written Rust, $threads threads (the limit) | $hdc | $((hdr / 1024)) MiB | — |"
  echo
  echo "Sluice / Spark capacity: $(awk -v a="$slc" -v b="$spc" 'BEGIN { printf "%.1f", a / b }')×;"
  echo "Sluice / Flink capacity: $(awk -v a="$slc" -v b="$flc" 'BEGIN { printf "%.1f", a / b }')×;"
  echo "Sluice / hand-written capacity: $(awk -v a="$slc" -v b="$hdc" 'BEGIN { printf "%.2f", a / b }');"
  echo "Spark / Sluice peak RSS: $(awk -v a="$spr" -v b="$slr" 'BEGIN { printf "%.1f", a / b }')×."
  echo
  echo "Cross-check of the outputs: $check."
  echo
  echo "## (b) End-to-end latency over a socket"
  echo
  echo "$lat_rate lines/s (10 words each) from a feeder thread in the engine's process, word count per batch; latency = from sending a line to the end of its batch's output; $lat_seconds s measured after 1 s of warm-up. Keeps up = the scheduling delay does not grow and its p99 is at most one batch interval."
  echo
  echo "| engine | batch | lines | latency p50 | latency p99 | scheduling delay p99 | keeps up |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  for row in "${lat_rows[@]}"; do echo "$row"; done
  echo
  echo "Smallest batch interval tried that keeps up: Sluice $sl_smallest, Spark $sp_smallest (intervals tried: Sluice $sl_intervals ms; Spark $sp_intervals ms)."
  echo
  echo "## (c) reduce_by_key_and_window with an inverse function"
  echo
  echo "Window 10 s, slide 2 s, 1 s batches of 50,000 records over 10,000 keys; median processing time of the batches that compute a window, medians of $rounds runs."
  echo
  echo "| engine | per window batch | peak RSS |"
  echo "|---|---:|---:|"
  echo "| Sluice | $w_sl ms | $w_slr MiB |"
  echo "| Spark Streaming (JVM) | $w_sp ms | $w_spr MiB |"
  echo "| PySpark Streaming (one run) | $py_w ms | $py_w_rss MiB (driver) |"
  echo
  echo "Spark / Sluice: $(awk -v a="$w_sp" -v b="$w_sl" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "-" }')×; outputs: $w_check."
  echo
  echo "## (d) Keyed state, $keys keys, 100,000 updates per batch"
  echo
  echo "Median processing time per batch (first batch excluded), $state_batches batches, medians of $rounds runs."
  echo
  echo "| operation | Sluice | Spark Streaming (JVM) | Spark / Sluice | peak RSS Sluice / Spark | outputs |"
  echo "|---|---:|---:|---:|---:|---|"
  for smode in map update; do
    name=$([ "$smode" = map ] && echo map_with_state || echo update_state_by_key)
    ratio=$(awk -v a="${st_sp[$smode]}" -v b="${st_sl[$smode]}" 'BEGIN { if (b > 0) printf "%.0f×", a / b; else print "-" }')
    echo "| $name | ${st_sl[$smode]} ms | ${st_sp[$smode]} ms | $ratio | ${st_slr[$smode]} / ${st_spr[$smode]} MiB | ${st_check[$smode]} |"
  done
  echo
  echo "PySpark (update_state_by_key only — PySpark has no mapWithState; one run): $py_st ms per batch, driver RSS $py_st_rss MiB; outputs: $py_st_check."
} > "$report"
cat "$report"
echo "report: $report" >&2
