#!/usr/bin/env bash
# Side-by-side benchmarks of Sluice, Apache Spark Streaming, PySpark and Apache Flink on this
# machine, in one run; and of Sluice from Python, running the PySpark programs unchanged.
#
#   bench/run.sh quick   # under 10 minutes here
#   bench/run.sh full
#
# Engines: Sluice, Spark Streaming on the JVM (Java programs in bench/spark/), PySpark
# Streaming (bench/pyspark/), Apache Flink's DataStream API (bench/flink/, against the jars of
# the apache-flink-libraries package from PyPI), and for (a) a hand-written Rust loop (the
# physical limit at the same number of threads).
#
# Sluice from Python: the PySpark programs of bench/pyspark/, unchanged, on Sluice's Python
# package (built by scripts/install-python.sh into $SLUICE_CACHE/python-venv; this script does
# not build it, and leaves those rows out when it is not installed), through the import shim
# bench/python/shim/ (a package `pyspark` that re-exports `sluice`). Their RESULT lines say
# engine=pyspark; the harness relabels them engine=sluice-python.
#
# Installs what it needs in a cache outside the checkout (SLUICE_CACHE, default
# ~/.cache/sluice): pyspark from PyPI in a virtual environment (its jars are Spark's JVM
# engine) and Flink's jars. Builds the Sluice benchmark (release) and the Java programs (javac
# against those jars), writes one seeded corpus that every engine reads, runs the engines
# alternately (A B A B ...) so that ratios hold while the machine's speed drifts, checks that
# their outputs agree batch by batch, and writes a Markdown report to bench/results/.
#
# Workloads: (a) word count over a queue of pre-made batches (capacity = words per second of
# processing time), and (a') at large batches (1 M and 200 k words) read from files; (b) word count over a socket: end-to-end latency and the smallest batch
# interval (Flink: window) each engine sustains; (c) reduce_by_key_and_window with an inverse
# function (Flink: a sliding event-time window); (d) keyed state with 1 million keys and 100
# thousand updates per batch, with map_with_state (Flink: keyed ValueState) and
# update_state_by_key. (e): the peak RSS of each engine's whole process tree and the time from
# start to the first completed batch (Sluice from main(), the JVM engines from JVM start,
# PySpark from the Python process's start) for (a), (c) and (d). (f) A sliding event-time
# window over 1 million keys with records out of order, against Spark Structured Streaming
# (its RocksDB state store) and Flink's event-time windows on the same records. (g) Parquet
# output against arrow-rs by hand and Spark's Parquet writer, and the cost of a Delta commit.
# (h) Streaming analytics: the lag model per key and StreamingKMeans against PySpark.
#
# PySpark and Flink are slow to start: in quick mode they run once per workload (c), (d)
# (marked "one run" in the report); in full mode Flink runs in every round.
set -euo pipefail
mode="${1:-quick}"
case "$mode" in
  quick) lines=100000; batches=10; per_batch=20000; rounds=2; keys=1000000; state_batches=5
    peer_rounds=1; lat_seconds=4; sl_intervals="100 20 10"; sp_intervals="500 200 100"
    fl_intervals="100 20 10"; py_intervals="2000 1000"; spy_intervals="100 20 10"
    et_batches=20; et_long=120 ;;
  full) lines=500000; batches=20; per_batch=50000; rounds=3; keys=1000000; state_batches=10
    peer_rounds=3; lat_seconds=10; sl_intervals="100 50 20 10 5"; sp_intervals="1000 500 200 100 50"
    fl_intervals="100 50 20 10 5"; py_intervals="2000 1000 500"; spy_intervals="100 50 20 10 5"
    et_batches=30; et_long=240 ;;
  *) echo "usage: bench/run.sh quick|full" >&2; exit 2 ;;
esac
threads=2
cd "$(dirname "$0")/.."
root="$PWD"
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
work="$cache/bench-work"
mkdir -p "$work" "$root/bench/results"

venv="$(dirname "$(dirname "$(bash scripts/install-pyspark.sh)")")"
jars="$("$venv/bin/python" -c 'import pyspark, os; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"

# Sluice's Python package, if installed (scripts/install-python.sh builds it; not done here).
spy_python="$cache/python-venv/bin/python"
if [ -x "$spy_python" ] && "$spy_python" -c 'import sluice' 2>/dev/null; then
  spy=1
else
  spy=0
  echo "Sluice's Python package is not installed in $cache/python-venv (scripts/install-python.sh): its rows are left out" >&2
fi

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

# Runs a command with its stdout to $1; prints the peak RSS (KiB) of its whole process tree
# (for PySpark: the Python driver, the JVM it starts and the Python workers): the sum of the
# RSS of every process in the tree, sampled every 25 ms (the tree itself found every 250 ms
# from /proc), or the largest single process's ru_maxrss if that is higher.
measure() {
  local out="$1"; shift
  python3 - "$out" "$@" <<'PY'
import os, resource, subprocess, sys, time
out = sys.argv[1]
page_kib = os.sysconf("SC_PAGE_SIZE") // 1024

def tree(root):
    """The pids of root and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, ()))
    return pids

def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page_kib
        except (OSError, ValueError, IndexError):
            pass
    return total

with open(out, "w") as f:
    p = subprocess.Popen(sys.argv[2:], stdout=f, stderr=subprocess.DEVNULL)
    peak, pids, found = 0, [p.pid], 0.0
    while p.poll() is None:
        now = time.monotonic()
        if now - found >= 0.25:
            pids, found = tree(p.pid), now
        peak = max(peak, rss_kib(pids))
        time.sleep(0.025)
if p.returncode != 0:
    sys.exit(p.returncode)
print(max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
PY
}

# Sluice from Python: `measure` of a PySpark program (bench/pyspark/*.py and its arguments) on
# Sluice's Python package, through the import shim; the shim appends each completed batch's
# times to $1.batches (BATCHINFO lines), and the program's RESULT line is relabelled.
spy_measure() {
  local out="$1" rss; shift
  rm -f "$out.batches"
  rss="$(measure "$out" env PYTHONPATH="$root/bench/python/shim" \
    SLUICE_SHIM_BATCHES="$out.batches" "$spy_python" "$@")"
  sed -i 's/^RESULT engine=pyspark /RESULT engine=sluice-python /' "$out"
  echo "$rss"
}
# Sluice from Python's job generation, from the shim's BATCHINFO lines (file $2, in completion
# order): from the batch time (or the end of the previous batch's generation, if later) to the
# batch's submission. The listener (like Spark's) measures a batch's processing from the start
# of its jobs and leaves generation out; in Spark generating jobs only builds RDDs, and it must
# stay so in Sluice's Python package for the tables to compare (its reduceByKeyAndWindow
# computed each window while generating it until 93bb2f6: 2 ms per window batch by the
# listener, 57-80 ms in fact). The report shows it beside the listener's figures.
#   spy_generation sum|median|window FILE [N]
# sum: summed over the first N batches; median: the median over every batch but the first (as
# the programs take it); window: the median over the batches among the first N that have an
# output operation (the window batches of (c)).
spy_generation() {
  awk -v m="$1" -v n="${3:-0}" '/^BATCHINFO/ {
      for (i = 2; i <= NF; i++) { k = index($i, "="); v[substr($i, 1, k - 1)] = substr($i, k + 1) }
      c++; from = v["batch_time_ms"] + 0
      if (c > 1 && prev > from) from = prev
      gen = v["submission_time_ms"] - from; if (gen < 0) gen = 0
      prev = v["submission_time_ms"] + 0
      t[c] = gen; o[c] = v["output_ops"] + 0
    }
    END {
      k = 0
      for (i = 1; i <= c; i++) {
        if (m == "sum" && i <= n) s += t[i]
        if (m == "median" && i > 1) d[++k] = t[i]
        if (m == "window" && i <= n && o[i] > 0) d[++k] = t[i]
      }
      if (m == "sum") { printf "%d\n", s; exit }
      if (k == 0) { print -1; exit }
      for (i = 2; i <= k; i++) { y = d[i]; for (j = i - 1; j >= 1 && d[j] > y; j--) d[j + 1] = d[j]; d[j + 1] = y }
      printf "%d\n", d[int(k / 2) + 1]
    }' "$2"
}

declare -a sl_cap sp_cap py_cap hd_cap fl_cap sl_rss sp_rss py_rss hd_rss fl_rss spy_cap spy_rss
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
  if [ "$spy" = 1 ]; then
    echo "round $r: sluice from python ..." >&2
    spy_rss+=("$(spy_measure "$work/sluice-python-$r.out" bench/pyspark/queue_wordcount.py \
      "$corpus" "$batches" "$per_batch" "$threads" 100)")
  fi
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
# Sluice from Python: capacity as the program measures it (as for PySpark), and the job
# generation that its listener leaves out (spy_generation).
if [ "$spy" = 1 ]; then
  spy_first=(); spy_gen=(); spy_proc=()
  for r in $(seq 1 "$rounds"); do
    f="$work/sluice-python-$r.out"
    spy_cap+=("$(cap "$f")"); spy_first+=("$(first "$f")")
    spy_gen+=("$(spy_generation sum "$f.batches" "$batches")")
    spy_proc+=("$(sed -n 's/^RESULT.* processing_ms=\([0-9]*\).*/\1/p' "$f")")
  done
  spyc=$(median "${spy_cap[@]}"); spyr=$(median "${spy_rss[@]}"); spyf=$(median "${spy_first[@]}")
  spyg=$(median "${spy_gen[@]}"); spyp=$(median "${spy_proc[@]}")
  if diff <(grep '^BATCH' "$work/sluice-1.out" | head -n "$batches") \
          <(grep '^BATCH' "$work/sluice-python-1.out" | head -n "$batches") >/dev/null; then
    spy_check="equal to Sluice's, batch by batch ($batches batches)"
  else
    spy_check="DIFFERENT (see $work/sluice-1.out and $work/sluice-python-1.out)"
  fi
fi

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

# The limit at a larger size: Sluice and the hand-written loop alone, 20 batches of 50,000
# lines, alternating 5 times (they take a second each). In quick mode (a) is small enough that
# the loop's whole processing time is a few tens of milliseconds, too coarse for a ratio.
big_lines=500000; big_batches=20; big_per_batch=50000
big_corpus="$work/corpus-$big_lines.txt"
[ -f "$big_corpus" ] || "$bench" corpus --out "$big_corpus" --lines "$big_lines"
big_sl=(); big_hd=()
for r in 1 2 3 4 5; do
  echo "limit round $r ..." >&2
  "$bench" queue-wordcount --file "$big_corpus" --batches "$big_batches" \
    --lines-per-batch "$big_per_batch" --threads "$threads" > "$work/big-sluice.out"
  "$bench" hand-wordcount --file "$big_corpus" --batches "$big_batches" \
    --lines-per-batch "$big_per_batch" --threads "$threads" > "$work/big-hand.out"
  big_sl+=("$(cap "$work/big-sluice.out")"); big_hd+=("$(cap "$work/big-hand.out")")
done
if diff <(grep '^BATCH' "$work/big-sluice.out") <(grep '^BATCH' "$work/big-hand.out") >/dev/null; then
  big_check="equal"
else
  big_check="DIFFERENT"
fi
big_slc=$(median "${big_sl[@]}"); big_hdc=$(median "${big_hd[@]}")

# (a') Large batches read from files: a corpus of 20 M words cut into files of 100,000 lines
# (1 M words) and of 20,000 lines (200,000 words), one file per batch, read when its batch
# runs (Sluice: text_file; Spark: textFile; the loop: the whole file). Sluice, Spark (JVM) and
# the hand-written loop at 2 threads, Sluice and the loop at 1 thread; rounds alternate.
fw_lines=2000000; fw_rounds=3
fw_corpus="$work/corpus-$fw_lines.txt"
[ -f "$fw_corpus" ] || "$bench" corpus --out "$fw_corpus" --lines "$fw_lines"
fw_sizes="100000 20000"
declare -A fw
for per in $fw_sizes; do
  d="$work/files-$per"
  [ -d "$d" ] || "$bench" split-corpus --file "$fw_corpus" --lines-per-file "$per" --out "$d"
  for r in $(seq 1 "$fw_rounds"); do
    echo "files of $per lines, round $r ..." >&2
    fw[sl2-rss-$per-$r]="$(measure "$work/fw-sl2-$per-$r.out" "$bench" file-wordcount --dir "$d" --threads 2)"
    fw[hd2-rss-$per-$r]="$(measure "$work/fw-hd2-$per-$r.out" "$bench" hand-file-wordcount --dir "$d" --threads 2)"
    fw[sp2-rss-$per-$r]="$(measure "$work/fw-sp2-$per-$r.out" java "${java_opts[@]}" \
      -cp "$work/classes:$jars/*" FileQueueWordCount "$d" 2 100)"
    "$bench" file-wordcount --dir "$d" --threads 1 > "$work/fw-sl1-$per-$r.out"
    "$bench" hand-file-wordcount --dir "$d" --threads 1 > "$work/fw-hd1-$per-$r.out"
    "$bench" file-wordcount --dir "$d" --threads 2 --words string > "$work/fw-st2-$per-$r.out"
  done
  for v in sl2 hd2 sp2 sl1 hd1 st2; do
    caps=(); rss=()
    for r in $(seq 1 "$fw_rounds"); do
      caps+=("$(cap "$work/fw-$v-$per-$r.out")")
      rss+=("${fw[$v-rss-$per-$r]:-0}")
    done
    fw[$v-$per]=$(median "${caps[@]}"); fw[$v-rss-$per]=$(median "${rss[@]}")
  done
  nb=$(ls "$d" | wc -l)
  if diff <(grep '^BATCH' "$work/fw-sl2-$per-1.out") <(grep '^BATCH' "$work/fw-hd2-$per-1.out") >/dev/null &&
     diff <(grep '^BATCH' "$work/fw-sl2-$per-1.out") <(grep '^BATCH' "$work/fw-sp2-$per-1.out" | head -n "$nb") >/dev/null; then
    fw[check-$per]="equal, batch by batch ($nb batches)"
  else
    fw[check-$per]="DIFFERENT (see $work/fw-*-$per-1.out)"
  fi
done

# A field of a program's RESULT line ("" if it has none).
field() {
  awk -v k="$1" '/^RESULT/ { for (i = 2; i <= NF; i++) { n = index($i, "=")
    if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }' "$2"
}
# A value with its unit, or "—" if there is none.
unit() { if [ -n "${1:-}" ] && [ "$1" != "-1" ]; then echo "$1 $2"; else echo "—"; fi; }
# a / b with format $3 (a printf format), or "—".
ratio() { awk -v a="${1:-}" -v b="${2:-}" -v f="$3" 'BEGIN {
  if (a != "" && b + 0 > 0) printf f, a / b; else printf "—" }'; }
# Whether the first $2 lines starting with $1 of file $3 are in file $4, in the same order.
same() {
  [ "$(grep -c "^$1" "$3" 2>/dev/null)" -ge "$2" ] &&
    diff <(grep "^$1" "$3" | head -n "$2") <(grep "^$1" "$4" | head -n "$2") >/dev/null
}
agree() { if same "$@"; then echo "$5"; else echo "DIFFERENT (see $4)"; fi; }

# (d) Keyed state: each mode once per round, engines alternating; Flink (keyed ValueState,
# the counterpart of map_with_state) in the first peer_rounds rounds.
declare -A st_sl st_sp st_slr st_spr st_slf st_spf st_check
fl_st=(); fl_st_rss=(); fl_st_first=()
spy_st=(); spy_st_rss=(); spy_st_first=(); spy_st_gen=()
for smode in map update; do
  sl=(); sp=(); slr_st=(); spr_st=(); slf_st=(); spf_st=()
  for r in $(seq 1 "$rounds"); do
    echo "round $r: state ($smode): sluice ..." >&2
    slr_st+=("$(measure "$work/state-$smode-sluice-$r.out" "$bench" state-side --mode "$smode" \
      --keys "$keys" --updates 100000 --batches "$state_batches" --threads "$threads")")
    echo "round $r: state ($smode): spark ..." >&2
    rm -rf "$work/spark-checkpoint"
    spr_st+=("$(measure "$work/state-$smode-spark-$r.out" java "${java_opts[@]}" \
      -cp "$work/classes:$jars/*" StateBench "$smode" "$keys" 100000 \
      "$state_batches" "$threads" "$work/spark-checkpoint")")
    sl+=("$(field median_batch_ms "$work/state-$smode-sluice-$r.out")")
    sp+=("$(field median_batch_ms "$work/state-$smode-spark-$r.out")")
    slf_st+=("$(field first_batch_ms "$work/state-$smode-sluice-$r.out")")
    spf_st+=("$(field first_batch_ms "$work/state-$smode-spark-$r.out")")
    if [ "$smode" = map ] && [ "$r" -le "$peer_rounds" ]; then
      echo "round $r: state (map): flink ..." >&2
      fl_st_rss+=("$(measure "$work/state-flink-$r.out" java "${java_opts[@]}" \
        -cp "$work/flink-classes:$flink/*" FlinkStateBench "$keys" 100000 "$state_batches" "$threads")")
      fl_st+=("$(field median_batch_ms "$work/state-flink-$r.out")")
      fl_st_first+=("$(field first_batch_ms "$work/state-flink-$r.out")")
    fi
    if [ "$smode" = update ] && [ "$spy" = 1 ]; then
      echo "round $r: state (update): sluice from python ..." >&2
      rm -rf "$work/sluice-python-checkpoint"
      f="$work/state-update-sluice-python-$r.out"
      spy_st_rss+=("$(spy_measure "$f" bench/pyspark/state_bench.py "$keys" 100000 \
        "$state_batches" "$threads" "$work/sluice-python-checkpoint")")
      spy_st+=("$(field median_batch_ms "$f")")
      spy_st_gen+=("$(spy_generation median "$f.batches")")
      spy_st_first+=("$(field first_batch_ms "$f")")
    fi
  done
  st_sl[$smode]=$(median "${sl[@]}"); st_sp[$smode]=$(median "${sp[@]}")
  st_slf[$smode]=$(median "${slf_st[@]}"); st_spf[$smode]=$(median "${spf_st[@]}")
  st_slr[$smode]=$(( $(median "${slr_st[@]}") / 1024 )); st_spr[$smode]=$(( $(median "${spr_st[@]}") / 1024 ))
  st_check[$smode]=$(agree STATE "$state_batches" "$work/state-$smode-sluice-1.out" \
    "$work/state-$smode-spark-1.out" "equal after every batch")
done
fl_st_med=$(median "${fl_st[@]}"); fl_st_f=$(median "${fl_st_first[@]}")
fl_st_r=$(( $(median "${fl_st_rss[@]}") / 1024 ))
fl_st_check=$(agree STATE "$state_batches" "$work/state-map-sluice-1.out" "$work/state-flink-1.out" \
  "equal after every batch")
if [ "$spy" = 1 ]; then
  spy_st_med=$(median "${spy_st[@]}")
  spy_st_g=$(median "${spy_st_gen[@]}"); spy_st_f=$(median "${spy_st_first[@]}")
  spy_st_r=$(( $(median "${spy_st_rss[@]}") / 1024 ))
  spy_st_check=$(agree STATE "$state_batches" "$work/state-update-sluice-1.out" \
    "$work/state-update-sluice-python-1.out" "equal after every batch")
fi

# (b) End-to-end latency over a socket at 20,000 lines/s, engines alternating by interval:
# Spark, Sluice, Flink, PySpark, Sluice from Python at their i-th interval, then the (i+1)-th.
lat_rate=20000
lat_rows=()
sl_smallest="none"; sp_smallest="none"; fl_smallest="none"; py_smallest="none"; spy_smallest="none"
read -r -a sl_list <<< "$sl_intervals"; read -r -a sp_list <<< "$sp_intervals"
read -r -a fl_list <<< "$fl_intervals"; read -r -a py_list <<< "$py_intervals"
spy_list=(); if [ "$spy" = 1 ]; then read -r -a spy_list <<< "$spy_intervals"; fi
declare -A spy_p99 sl_p99
longest=0
for n in ${#sl_list[@]} ${#sp_list[@]} ${#fl_list[@]} ${#py_list[@]} ${#spy_list[@]}; do
  if [ "$n" -gt "$longest" ]; then longest=$n; fi
done
# A row of the (b) table from a LATENCY line: engine, line, the field of the delay column.
lat_row() {
  echo "$2" | awk -v e="$1" -v d="$3" '{ for (i = 2; i <= NF; i++) { n = index($i, "=")
      v[substr($i, 1, n - 1)] = substr($i, n + 1) }
    printf "| %s | %s ms | %s | %s ms | %s ms | %s ms | %s |", e, v["interval_ms"], v["lines"],
      v["p50_ms"], v["p99_ms"], v[d], v["keeps_up"] }'
}
# Seconds measured at interval $1 ms: lat_seconds, or 4 intervals if that is longer.
lat_secs() { echo $(( lat_seconds > ($1 * 4 + 999) / 1000 ? lat_seconds : ($1 * 4 + 999) / 1000 )); }
failed() { echo "LATENCY interval_ms=$1 lines=0 p50_ms=- p99_ms=- sched_p99_ms=- lag_p99_ms=- keeps_up=failed"; }
for i in $(seq 0 $(( longest - 1 ))); do
  if [ "$i" -lt "${#sp_list[@]}" ]; then
    iv="${sp_list[$i]}"
    echo "latency: spark at $iv ms ..." >&2
    line="$(java "${java_opts[@]}" -cp "$work/classes:$jars/*" SocketLatency "$iv" "$lat_rate" \
      "$(lat_secs "$iv")" "$threads" 2>/dev/null | grep '^LATENCY' || failed "$iv")"
    lat_rows+=("$(lat_row "Spark Streaming (JVM)" "$line" sched_p99_ms)")
    if echo "$line" | grep -q 'keeps_up=yes'; then sp_smallest="$iv ms"; fi
  fi
  if [ "$i" -lt "${#sl_list[@]}" ]; then
    iv="${sl_list[$i]}"
    echo "latency: sluice at $iv ms ..." >&2
    row="$("$bench" latency --rate "$lat_rate" --seconds "$(lat_secs "$iv")" --intervals "$iv" | grep '^| [0-9]' ||
      echo "| $iv ms | 0 | - ms | - ms | - ms | failed |")"
    if echo "$row" | grep -q '| yes |$'; then sl_smallest="$iv ms"; fi
    lat_rows+=("| Sluice ${row//NO/no}")
    sl_p99[$iv]="$(echo "$row" | awk -F'|' '{ gsub(/ ms| /, "", $5); print $5 }')"
  fi
  if [ "$i" -lt "${#fl_list[@]}" ]; then
    iv="${fl_list[$i]}"
    echo "latency: flink at $iv ms ..." >&2
    line="$(java "${java_opts[@]}" -cp "$work/flink-classes:$flink/*" FlinkSocketLatency "$iv" \
      "$lat_rate" "$(lat_secs "$iv")" "$threads" 2>/dev/null | grep '^LATENCY' || failed "$iv")"
    lat_rows+=("$(lat_row "Apache Flink $flink_version (DataStream)" "$line" lag_p99_ms)")
    if echo "$line" | grep -q 'keeps_up=yes'; then fl_smallest="$iv ms"; fi
  fi
  if [ "$i" -lt "${#py_list[@]}" ]; then
    iv="${py_list[$i]}"
    echo "latency: pyspark at $iv ms ..." >&2
    line="$("$venv/bin/python" bench/pyspark/socket_latency.py "$iv" "$lat_rate" "$(lat_secs "$iv")" \
      "$threads" 2>/dev/null | grep '^LATENCY' || failed "$iv")"
    lat_rows+=("$(lat_row "PySpark Streaming" "$line" sched_p99_ms)")
    if echo "$line" | grep -q 'keeps_up=yes'; then py_smallest="$iv ms"; fi
  fi
  if [ "$i" -lt "${#spy_list[@]}" ]; then
    iv="${spy_list[$i]}"
    echo "latency: sluice from python at $iv ms ..." >&2
    line="$(env PYTHONPATH="$root/bench/python/shim" "$spy_python" bench/pyspark/socket_latency.py \
      "$iv" "$lat_rate" "$(lat_secs "$iv")" "$threads" 2>/dev/null | grep '^LATENCY' || failed "$iv")"
    lat_rows+=("$(lat_row "Sluice from Python (PySpark's program)" "$line" sched_p99_ms)")
    if echo "$line" | grep -q 'keeps_up=yes'; then spy_smallest="$iv ms"; fi
    spy_p99[$iv]="$(echo "$line" | sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p')"
  fi
done

# PySpark for (c) and (d), once (it is slow; PySpark has no mapWithState).
echo "pyspark: state (update) ..." >&2
rm -rf "$work/spark-checkpoint"
py_st_rss=$(( $(measure "$work/state-update-pyspark.out" "$venv/bin/python" bench/pyspark/state_bench.py \
  "$keys" 100000 "$state_batches" "$threads" "$work/spark-checkpoint") / 1024 ))
py_st=$(field median_batch_ms "$work/state-update-pyspark.out")
py_st_f=$(field first_batch_ms "$work/state-update-pyspark.out")
py_st_check=$(agree STATE "$state_batches" "$work/state-update-sluice-1.out" \
  "$work/state-update-pyspark.out" "equal after every batch")
w_keys=10000; w_per=50000; w_batches=12
echo "pyspark: window ..." >&2
rm -rf "$work/spark-checkpoint"
py_w_rss=$(( $(measure "$work/window-pyspark.out" "$venv/bin/python" bench/pyspark/window_bench.py \
  "$w_keys" "$w_per" "$w_batches" "$threads" "$work/spark-checkpoint") / 1024 ))
py_w=$(field median_window_batch_ms "$work/window-pyspark.out")
py_w_in=$(field processing_ms "$work/window-pyspark.out")
py_w_f=$(field first_batch_ms "$work/window-pyspark.out")

# (c) Incremental window: window 10 s, slide 2 s, 12 batches of 1 s; Flink (sliding event-time
# window over the same records) in the first peer_rounds rounds.
wsl=(); wsp=(); wslr=(); wspr=(); wsl_in=(); wsp_in=(); wsl_f=(); wsp_f=()
wfl_in=(); wfl_r=(); wfl_f=()
wspy=(); wspy_in=(); wspy_r=(); wspy_f=(); wspy_g=(); wspy_wg=()
for r in $(seq 1 "$rounds"); do
  echo "round $r: window: sluice ..." >&2
  wslr+=("$(measure "$work/window-sluice-$r.out" "$bench" window-side --keys "$w_keys" \
    --per-batch "$w_per" --batches "$w_batches" --threads "$threads")")
  echo "round $r: window: spark ..." >&2
  rm -rf "$work/spark-checkpoint"
  wspr+=("$(measure "$work/window-spark-$r.out" java "${java_opts[@]}" \
    -cp "$work/classes:$jars/*" WindowBench "$w_keys" "$w_per" "$w_batches" "$threads" \
    "$work/spark-checkpoint")")
  if [ "$r" -le "$peer_rounds" ]; then
    echo "round $r: window: flink ..." >&2
    wfl_r+=("$(measure "$work/window-flink-$r.out" java "${java_opts[@]}" \
      -cp "$work/flink-classes:$flink/*" FlinkWindowBench "$w_keys" "$w_per" "$w_batches" "$threads")")
    wfl_in+=("$(field processing_ms "$work/window-flink-$r.out")")
    wfl_f+=("$(field first_batch_ms "$work/window-flink-$r.out")")
  fi
  if [ "$spy" = 1 ]; then
    echo "round $r: window: sluice from python ..." >&2
    rm -rf "$work/sluice-python-checkpoint"
    f="$work/window-sluice-python-$r.out"
    wspy_r+=("$(spy_measure "$f" bench/pyspark/window_bench.py "$w_keys" "$w_per" "$w_batches" \
      "$threads" "$work/sluice-python-checkpoint")")
    wspy+=("$(field median_window_batch_ms "$f")"); wspy_in+=("$(field processing_ms "$f")")
    wspy_wg+=("$(spy_generation window "$f.batches" "$w_batches")")
    wspy_g+=("$(spy_generation sum "$f.batches" "$w_batches")")
    wspy_f+=("$(field first_batch_ms "$f")")
  fi
  wsl+=("$(field median_window_batch_ms "$work/window-sluice-$r.out")")
  wsp+=("$(field median_window_batch_ms "$work/window-spark-$r.out")")
  wsl_in+=("$(field processing_ms "$work/window-sluice-$r.out")")
  wsp_in+=("$(field processing_ms "$work/window-spark-$r.out")")
  wsl_f+=("$(field first_batch_ms "$work/window-sluice-$r.out")")
  wsp_f+=("$(field first_batch_ms "$work/window-spark-$r.out")")
done
w_sl=$(median "${wsl[@]}"); w_sp=$(median "${wsp[@]}")
w_slr=$(( $(median "${wslr[@]}") / 1024 )); w_spr=$(( $(median "${wspr[@]}") / 1024 ))
w_slf=$(median "${wsl_f[@]}"); w_spf=$(median "${wsp_f[@]}")
w_flr=$(( $(median "${wfl_r[@]}") / 1024 )); w_flf=$(median "${wfl_f[@]}")
# Per 1 s of input: the summed processing time of the batches (Flink: the job's net runtime)
# divided by the number of 1 s batches of input.
per_input() { if [ -n "${1:-}" ]; then awk -v t="$1" -v n="$w_batches" 'BEGIN { printf "%.1f", t / n }'; fi; }
w_sl_in=$(per_input "$(median "${wsl_in[@]}")"); w_sp_in=$(per_input "$(median "${wsp_in[@]}")")
w_py_in=$(per_input "$py_w_in"); w_fl_in=$(per_input "$(median "${wfl_in[@]}")")
w_sp_check=$(agree WINDOW 6 "$work/window-sluice-1.out" "$work/window-spark-1.out" "equal (6 windows)")
w_py_check=$(agree WINDOW 6 "$work/window-sluice-1.out" "$work/window-pyspark.out" "equal (6 windows)")
w_fl_check=$(agree WINDOW 6 "$work/window-sluice-1.out" "$work/window-flink-1.out" "equal (6 windows)")
if [ "$spy" = 1 ]; then
  w_spy=$(median "${wspy[@]}"); w_spy_in=$(per_input "$(median "${wspy_in[@]}")")
  w_spy_g=$(per_input "$(median "${wspy_g[@]}")"); w_spy_wg=$(median "${wspy_wg[@]}")
  w_spy_r=$(( $(median "${wspy_r[@]}") / 1024 )); w_spy_f=$(median "${wspy_f[@]}")
  w_spy_check=$(agree WINDOW 6 "$work/window-sluice-1.out" "$work/window-sluice-python-1.out" \
    "equal (6 windows)")
fi

# (f) Event time: a sliding window of 10 s every 2 s counting per key over 1 M keys, watermark
# delay 10 s, 5 % of the records out of order by up to the delay, append mode; the same records
# in every engine. Sluice in every round; Spark Structured Streaming (PySpark's DataFrame API:
# the work runs on the JVM) and Flink in the first peer_rounds rounds. Then Sluice alone over a
# long run, for the state and RSS the watermark bounds.
et_keys=1000000; et_records=100000
etsl=(); etsl_r=(); etsp=(); etsp_r=(); etfl=(); etfl_r=()
for r in $(seq 1 "$rounds"); do
  echo "round $r: event time: sluice ..." >&2
  etsl_r+=("$(measure "$work/et-sluice-$r.out" "$bench" event-time-side --keys "$et_keys" \
    --records "$et_records" --batches "$et_batches" --threads "$threads")")
  etsl+=("$(field median_batch_ms "$work/et-sluice-$r.out")")
  if [ "$r" -le "$peer_rounds" ]; then
    echo "round $r: event time: spark ..." >&2
    etsp_r+=("$(measure "$work/et-spark-$r.out" "$venv/bin/python" bench/pyspark/event_time_bench.py \
      --keys "$et_keys" --records "$et_records" --batches "$et_batches" --threads "$threads")")
    etsp+=("$(field median_batch_ms "$work/et-spark-$r.out")")
    echo "round $r: event time: flink ..." >&2
    etfl_r+=("$(measure "$work/et-flink-$r.out" java "${java_opts[@]}" \
      -cp "$work/flink-classes:$flink/*" FlinkEventTimeBench "$et_keys" "$et_records" \
      "$et_batches" 5 "$threads")")
    etfl+=("$(awk -v n="$et_batches" '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "=")
      if (kv[1] == "processing_ms") printf "%.1f\n", kv[2] / n } }' "$work/et-flink-$r.out")")
  fi
done
et_sl=$(median "${etsl[@]}"); et_sp=$(median "${etsp[@]}"); et_fl=$(median "${etfl[@]}")
et_slr=$(( $(median "${etsl_r[@]}") / 1024 )); et_spr=$(( $(median "${etsp_r[@]}") / 1024 ))
et_flr=$(( $(median "${etfl_r[@]}") / 1024 ))
et_windows=$(grep -c '^EWINDOW' "$work/et-sluice-1.out" || true)
# Spark ran the same batches: the same windows. Flink, without batches, closes every window
# by the end of its input: it has every window Sluice emitted, and more.
if diff <(grep '^EWINDOW' "$work/et-sluice-1.out") <(grep '^EWINDOW' "$work/et-spark-1.out") >/dev/null; then
  et_sp_check="equal ($et_windows windows)"
else
  et_sp_check="DIFFERENT (see $work/et-spark-1.out)"
fi
if [ "$et_windows" -gt 0 ] && [ -z "$(grep '^EWINDOW' "$work/et-sluice-1.out" |
    grep -vxF -f <(grep '^EWINDOW' "$work/et-flink-1.out"))" ]; then
  et_fl_check="equal on the $et_windows windows Sluice emitted"
else
  et_fl_check="DIFFERENT (see $work/et-flink-1.out)"
fi
if grep -q '^RESULT.* state_end=' "$work/et-spark-1.out" &&
   [ "$(field state_end "$work/et-sluice-1.out")" = "$(field state_end "$work/et-spark-1.out")" ]; then
  et_state_check="equal"
else
  et_state_check="different"
fi
echo "event time: sluice, long run ($et_long batches) ..." >&2
"$bench" event-time-side --keys "$et_keys" --records "$et_records" --batches "$et_long" \
  --threads "$threads" > "$work/et-sluice-long.out"

# (g) Parquet: 2 M trades written as zstd Parquet files, 2 threads and files: Sluice (an RDD's
# save_as_parquet, a stream's save_as_parquet_files) against arrow-rs driven by hand and
# against Spark's df.write.parquet (the writer of its streaming file sink) on the same trades,
# checked by their count and sums; and the cost of a Delta commit per batch.
echo "parquet: sluice ..." >&2
"$bench" parquet --records 2000000 --rounds 5 --commit-sizes 1,10000,100000 > "$work/parquet-sluice.out"
echo "parquet: spark ..." >&2
"$venv/bin/python" bench/pyspark/parquet_bench.py --records 2000000 --rounds 5 \
  --threads "$threads" > "$work/parquet-spark.out" 2>/dev/null
pq_sl=$(field rdd_ms "$work/parquet-sluice.out"); pq_sp=$(field median_ms "$work/parquet-spark.out")
if [ -n "$(field check "$work/parquet-sluice.out")" ] &&
   [ "$(field check "$work/parquet-sluice.out")" = "$(field check "$work/parquet-spark.out")" ]; then
  pq_check="the same trades (count and sums equal)"
else
  pq_check="DIFFERENT trades (see $work/parquet-*.out)"
fi

# (h) Analytics: the lag model (n = 8, one model per key, warm) over 100,000 keys with 100,000
# points per batch, against PySpark's updateStateByKey with a per-key RLS in numpy (PySpark
# has no keyed model of its own, nor mapWithState), checked by the sum of the last batch's
# forecasts; Sluice again at 1,000,000 keys (a batch should cost the same); StreamingKMeans
# (k = 10, 10 dimensions, 100,000 points per batch) against pyspark.mllib's, checked by the
# final centers.
echo "analytics: sluice ..." >&2
"$bench" analytics --workload lag --keys 100000 --points 100000 --batches 6 > "$work/an-lag-sluice.out"
"$bench" analytics --workload lag --keys 1000000 --points 100000 --batches 6 > "$work/an-lag-sluice-1m.out"
"$bench" analytics --workload kmeans --points 100000 --batches 8 > "$work/an-km-sluice.out"
echo "analytics: pyspark ..." >&2
rm -rf "$work/an-ckpt"
(cd bench/pyspark && "$venv/bin/python" analytics_bench.py lag 100000 100000 6 "$threads" "$work/an-ckpt") \
  > "$work/an-lag-pyspark.out" 2>/dev/null
(cd bench/pyspark && "$venv/bin/python" analytics_bench.py kmeans 100000 8 "$threads") \
  > "$work/an-km-pyspark.out" 2>/dev/null
if [ "$spy" = 1 ]; then
  echo "analytics: sluice from python ..." >&2
  (cd bench/pyspark && PYTHONPATH="$root/bench/python/shim" "$spy_python" analytics_bench.py kmeans \
    100000 8 "$threads") > "$work/an-km-spy.out" 2>/dev/null
fi
an_lag_sl=$(field median_batch_ms "$work/an-lag-sluice.out"); an_lag_py=$(field median_batch_ms "$work/an-lag-pyspark.out")
an_lag_1m=$(field median_batch_ms "$work/an-lag-sluice-1m.out")
an_km_sl=$(field median_batch_ms "$work/an-km-sluice.out"); an_km_py=$(field median_batch_ms "$work/an-km-pyspark.out")
an_lag_check=$(awk -v a="$(field forecast_sum "$work/an-lag-sluice.out")" -v b="$(field forecast_sum "$work/an-lag-pyspark.out")" 'BEGIN {
  if (a == "" || b == "") { print "missing"; exit }
  d = a - b; if (d < 0) d = -d; m = (b < 0 ? -b : b); if (m < 1) m = 1
  if (d / m <= 1e-4) printf "forecast sums equal to %.0e (%s, %s)", d / m, a, b; else printf "DIFFERENT forecast sums (%s, %s)", a, b }')
if [ -n "$(field centers "$work/an-km-sluice.out")" ] &&
   [ "$(field centers "$work/an-km-sluice.out")" = "$(field centers "$work/an-km-pyspark.out")" ]; then
  an_km_check="final centers equal (to 9 decimals)"
else
  an_km_check="DIFFERENT final centers (see $work/an-km-*.out)"
fi

# "met" if a / b (both given) is at least $3, else "not met".
atleast() { awk -v a="${1:-}" -v b="${2:-}" -v t="$3" 'BEGIN {
  if (a == "" || b + 0 <= 0) print "—"; else if (a / b >= t) print "met"; else print "not met" }'; }
one() { if [ "$peer_rounds" -eq 1 ]; then echo ", one run"; else echo ", median of $peer_rounds runs"; fi; }
stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
report="$root/bench/results/$stamp-$mode.md"
{
  echo "# Sluice vs Apache Spark Streaming, PySpark and Apache Flink — $mode run, $stamp"
  echo
  echo "Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/Mem:/ {print $2}') GiB;"
  echo "Spark $(basename "$jars"/spark-core_*.jar .jar | sed 's/spark-core_2\.13-//') (pyspark from PyPI), Apache Flink $flink_version (apache-flink-libraries from PyPI), JVM $(java -version 2>&1 | head -1 | cut -d'"' -f2); local[$threads] (Flink: parallelism $threads) for every engine."
  echo
  echo "Peak RSS is that of the engine's whole process tree (for PySpark: the Python driver, the JVM it starts and its Python workers), the largest sum of the processes' RSS, sampled every 25 ms."
  echo "Start to first completed batch: from the start of the program (the JVM's start for Spark and Flink, the Python process's start for PySpark and Sluice from Python, main() for Sluice) to the end of its first batch."
  if [ "$spy" = 1 ]; then
    echo
    echo "Sluice from Python: the PySpark programs (bench/pyspark/*.py), unchanged, on Sluice's Python package (one process, no JVM), through the import shim bench/python/shim (a package \`pyspark\` re-exporting \`sluice\`), measured as PySpark is (its listener's processing delays). That delay, like Spark's, leaves out the generation of a batch's jobs (from the batch time to its submission), which must stay small for the figures to compare: it is given below each table."
  fi
  echo
  echo "## (a) Word count over a queue of pre-made batches"
  echo
  echo "$batches batches of $per_batch lines (10 words each) from one seeded corpus; medians of $rounds alternating runs."
  echo "Capacity = words counted per second of batch processing time."
  echo "Flink has no micro-batches: it counts per (batch, word) over all the batches in one bounded job in BATCH mode; its processing time is the job's net runtime, and its first result comes at the end of the job."
  echo
  echo "| engine | capacity (words/s) | peak RSS | start to first completed batch |"
  echo "|---|---:|---:|---:|"
  echo "| Sluice | $slc | $((slr / 1024)) MiB | $slf ms |"
  echo "| Spark Streaming (JVM) | $spc | $((spr / 1024)) MiB | $spf ms |"
  echo "| PySpark Streaming | $pyc | $((pyr / 1024)) MiB | $pyf ms |"
  if [ "$spy" = 1 ]; then
    echo "| Sluice from Python (PySpark's program) | $spyc | $((spyr / 1024)) MiB | $spyf ms |"
  fi
  echo "| Apache Flink $flink_version (DataStream, BATCH mode) | $flc | $((flr / 1024)) MiB | $flf ms (whole job) |"
  echo "| hand-written Rust, $threads threads (the limit) | $hdc | $((hdr / 1024)) MiB | — |"
  echo
  echo "Sluice / Spark capacity: $(ratio "$slc" "$spc" "%.1f×");"
  echo "Sluice / Flink capacity: $(ratio "$slc" "$flc" "%.1f×");"
  echo "Sluice / hand-written capacity: $(ratio "$slc" "$hdc" "%.2f");"
  echo "Spark / Sluice peak RSS: $(ratio "$spr" "$slr" "%.1f×")."
  echo
  echo "At a larger size ($big_batches batches of $big_per_batch lines, 10 million words; Sluice and the hand-written loop only, medians of 5 alternating runs): Sluice $big_slc words/s, hand-written $big_hdc words/s, Sluice / hand-written $(ratio "$big_slc" "$big_hdc" "%.2f") (outputs $big_check)."
  echo
  echo "## (a') Word count at large batches read from files"
  echo
  echo "A corpus of $((fw_lines * 10 / 1000000)) M words (the same generator) cut into files, one file per batch, read when its batch runs (Sluice \`text_file\`, Spark \`textFile\`, the hand-written loop the whole file); medians of $fw_rounds alternating runs. Sluice splits lines with \`split_small\` (words as \`SmallString\`); the last column is the same program with \`split_owned\` (a \`String\` per word)."
  echo
  echo "| batch | Sluice, 2 threads | Spark (JVM), 2 threads | hand-written, 2 threads | Sluice / Spark (target ≥ 10×) | Sluice / hand-written (target ≥ 0.5) | Sluice / hand-written, 1 thread | peak RSS Sluice / Spark | Sluice with String words |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for per in $fw_sizes; do
    echo "| $per lines ($((per * 10)) words) | ${fw[sl2-$per]} words/s | ${fw[sp2-$per]} | ${fw[hd2-$per]} | $(ratio "${fw[sl2-$per]}" "${fw[sp2-$per]}" "%.1f×") | $(ratio "${fw[sl2-$per]}" "${fw[hd2-$per]}" "%.2f") | $(ratio "${fw[sl1-$per]}" "${fw[hd1-$per]}" "%.2f") ($(printf "%s / %s" "${fw[sl1-$per]}" "${fw[hd1-$per]}") words/s) | $((fw[sl2-rss-$per] / 1024)) / $((fw[sp2-rss-$per] / 1024)) MiB | ${fw[st2-$per]} words/s |"
  done
  echo
  for per in $fw_sizes; do echo "Outputs at $per lines: ${fw[check-$per]}."; done
  echo
  echo "Cross-check of the outputs: $check."
  if [ "$spy" = 1 ]; then
    echo
    echo "Sluice from Python: outputs $spy_check; job generation, outside the processing time: $spyg ms over the $batches batches (processing: $spyp ms)."
    echo "Sluice from Python against PySpark: capacity $(ratio "$spyc" "$pyc" "%.1f×"), peak RSS $(ratio "$spyr" "$pyr" "%.2f") of PySpark's, first batch $(ratio "$pyf" "$spyf" "%.1f×") sooner;"
    echo "against Sluice (Rust): capacity $(ratio "$spyc" "$slc" "%.3f") of Sluice's (Sluice $(ratio "$slc" "$spyc" "%.1f×") faster), peak RSS $(ratio "$spyr" "$slr" "%.1f×") Sluice's, first batch $spyf ms against $slf ms."
  fi
  echo
  echo "## (b) End-to-end latency over a socket"
  echo
  echo "$lat_rate lines/s (10 words each) from a feeder thread in the engine's process, word count per batch (Flink: per tumbling processing-time window of the interval); latency = from sending a line to the end of its batch's output (Flink: to the emission of its window's result); $lat_seconds s (or 4 intervals if that is longer) measured after 1 s of warm-up; no lines measured is failing to keep up. Block interval (Flink: network buffer timeout) = half the interval (Flink: at most its default 100 ms)."
  echo "Keeps up (micro-batch engines) = the scheduling delay does not grow (the mean of the last quarter of the batches is at most one interval above that of the first quarter) and its p99 is at most one batch interval. Flink has no batches, hence no scheduling delay: its rows give the output lag instead — how long after a window's end its results are emitted — and it keeps up when that lag passes the same test and no write of the feeder to the socket blocked for more than one interval (Flink's source, unlike the micro-batch engines' receivers, stops reading the socket when the job falls behind)."
  echo
  echo "| engine | batch (Flink: window) | lines | latency p50 | latency p99 | scheduling delay p99 (Flink: output lag p99) | keeps up |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  for row in "${lat_rows[@]}"; do echo "$row"; done
  echo
  if [ "$spy" = 1 ]; then
    echo "Smallest interval tried that keeps up: Sluice $sl_smallest, Spark $sp_smallest, Flink $fl_smallest, PySpark $py_smallest, Sluice from Python $spy_smallest (intervals tried: Sluice $sl_intervals ms; Spark $sp_intervals ms; Flink $fl_intervals ms; PySpark $py_intervals ms; Sluice from Python $spy_intervals ms). Every row is a single run."
    echo
    printf 'Latency p99, Sluice from Python / Sluice (Rust), by interval:'
    for iv in $spy_intervals; do printf ' %s ms: %s;' "$iv" "$(ratio "${spy_p99[$iv]:-}" "${sl_p99[$iv]:-}" "%.2f")"; done
    echo " Sluice from Python / PySpark smallest interval kept up: $spy_smallest against $py_smallest."
  else
    echo "Smallest interval tried that keeps up: Sluice $sl_smallest, Spark $sp_smallest, Flink $fl_smallest, PySpark $py_smallest (intervals tried: Sluice $sl_intervals ms; Spark $sp_intervals ms; Flink $fl_intervals ms; PySpark $py_intervals ms). Every row is a single run."
  fi
  echo
  echo "## (c) reduce_by_key_and_window with an inverse function"
  echo
  echo "Window 10 s, slide 2 s, $w_batches batches of 1 s with $w_per records over $w_keys keys (Spark and PySpark on the system clock, so their runs last $w_batches s; Sluice on a step clock, batches back to back); Sluice and Spark: medians of $rounds runs."
  echo "Per window batch = median processing time of the batches that compute a window. Per 1 s of input = the summed processing time of all $w_batches batches / $w_batches."
  echo "Flink (DataStream, streaming mode) has no micro-batches: each record of batch b gets the event time b s, and a sliding event-time window of 10 s every 2 s sums per key (the window ending at T s holds the batches of the micro-batch engines' window at T s); the source emits as fast as it can, and its cost per 1 s of input is the job's net runtime / $w_batches. Its start to first completed batch is from JVM start to the emission of the first window's result."
  echo
  echo "| engine | per window batch | per 1 s of input | peak RSS | start to first completed batch | outputs |"
  echo "|---|---:|---:|---:|---:|---|"
  echo "| Sluice | $w_sl ms | $(unit "$w_sl_in" ms) | $w_slr MiB | $w_slf ms | (reference) |"
  echo "| Spark Streaming (JVM) | $w_sp ms | $(unit "$w_sp_in" ms) | $w_spr MiB | $w_spf ms | $w_sp_check |"
  echo "| PySpark Streaming (one run) | $py_w ms | $(unit "$w_py_in" ms) | $py_w_rss MiB | $py_w_f ms | $w_py_check |"
  if [ "$spy" = 1 ]; then
    echo "| Sluice from Python (PySpark's program) | $w_spy ms | $(unit "$w_spy_in" ms) | $w_spy_r MiB | $w_spy_f ms | $w_spy_check |"
  fi
  echo "| Apache Flink $flink_version (DataStream, event time$(one)) | — | $(unit "$w_fl_in" ms) | $w_flr MiB | $w_flf ms (first window) | $w_fl_check |"
  echo
  echo "Spark / Sluice per window batch: $(ratio "$w_sp" "$w_sl" "%.0f×"); per 1 s of input: Spark / Sluice $(ratio "$w_sp_in" "$w_sl_in" "%.0f×"), Flink / Sluice $(ratio "$w_fl_in" "$w_sl_in" "%.0f×")."
  if [ "$spy" = 1 ]; then
    echo
    echo "Sluice from Python: job generation, outside the processing time, median $w_spy_wg ms per window batch, $(unit "$w_spy_g" ms) per 1 s of input."
    echo "Sluice from Python against PySpark: per window batch $(ratio "$py_w" "$w_spy" "%.1f×") faster, per 1 s of input $(ratio "$w_py_in" "$w_spy_in" "%.1f×"), peak RSS $(ratio "$w_spy_r" "$py_w_rss" "%.2f") of PySpark's, first batch $(ratio "$py_w_f" "$w_spy_f" "%.1f×") sooner;"
    echo "against Sluice (Rust): per window batch $(ratio "$w_spy" "$w_sl" "%.0f×") Sluice's time, per 1 s of input $(ratio "$w_spy_in" "$w_sl_in" "%.0f×"), peak RSS $(ratio "$w_spy_r" "$w_slr" "%.1f×")."
  fi
  echo
  echo "## (d) Keyed state, $keys keys, 100,000 updates per batch"
  echo
  echo "Median processing time per batch (first batch excluded), $state_batches batches, from an initial state of $keys keys at 0; Sluice and Spark: medians of $rounds runs."
  echo "Flink (DataStream, streaming mode, heap state backend) is the counterpart of map_with_state: a keyed ValueState updated record by record, each record emitting its key's change; one source task emits the initial keys first, then the batches, as fast as it can; a sink task that knows each batch's size notes when each batch's last change arrives, and its time per batch is the interval between the completions of consecutive batches (median, the initial load and the first batch left out). Flink is left out of update_state_by_key: that operation calls its function for every key in every batch, and a stream without batches has no such step (it would take a timer per key per second, a different workload). PySpark has no mapWithState."
  echo
  echo "| operation | engine | per batch | peak RSS | start to first completed batch | outputs |"
  echo "|---|---|---:|---:|---:|---|"
  echo "| map_with_state | Sluice | ${st_sl[map]} ms | ${st_slr[map]} MiB | ${st_slf[map]} ms | (reference) |"
  echo "| map_with_state | Spark Streaming (JVM) | ${st_sp[map]} ms | ${st_spr[map]} MiB | ${st_spf[map]} ms | ${st_check[map]} |"
  echo "| map_with_state | Apache Flink $flink_version (keyed ValueState$(one)) | $fl_st_med ms | $fl_st_r MiB | $fl_st_f ms | $fl_st_check |"
  echo "| update_state_by_key | Sluice | ${st_sl[update]} ms | ${st_slr[update]} MiB | ${st_slf[update]} ms | (reference) |"
  echo "| update_state_by_key | Spark Streaming (JVM) | ${st_sp[update]} ms | ${st_spr[update]} MiB | ${st_spf[update]} ms | ${st_check[update]} |"
  echo "| update_state_by_key | PySpark Streaming (one run) | $py_st ms | $py_st_rss MiB | $py_st_f ms | $py_st_check |"
  if [ "$spy" = 1 ]; then
    echo "| update_state_by_key | Sluice from Python (PySpark's program) | $spy_st_med ms | $spy_st_r MiB | $spy_st_f ms | $spy_st_check |"
  fi
  echo
  echo "Per batch, Spark / Sluice: map_with_state $(ratio "${st_sp[map]}" "${st_sl[map]}" "%.0f×"), update_state_by_key $(ratio "${st_sp[update]}" "${st_sl[update]}" "%.0f×"); Flink / Sluice (map_with_state): $(ratio "$fl_st_med" "${st_sl[map]}" "%.0f×"); PySpark / Sluice (update_state_by_key): $(ratio "$py_st" "${st_sl[update]}" "%.0f×")."
  if [ "$spy" = 1 ]; then
    echo
    echo "Sluice from Python: job generation, outside the processing time, median $spy_st_g ms per batch."
    echo "Sluice from Python against PySpark (update_state_by_key): per batch $(ratio "$py_st" "$spy_st_med" "%.1f×") faster, peak RSS $(ratio "$spy_st_r" "$py_st_rss" "%.2f") of PySpark's, first batch $(ratio "$py_st_f" "$spy_st_f" "%.1f×") sooner;"
    echo "against Sluice (Rust): per batch $(ratio "$spy_st_med" "${st_sl[update]}" "%.0f×") Sluice's time, peak RSS $(ratio "$spy_st_r" "${st_slr[update]}" "%.1f×"), first batch $spy_st_f ms against ${st_slf[update]} ms."
    echo
    echo "## Sluice from Python: against PySpark's targets, and what Python costs"
    echo
    echo "| target | measured | |"
    echo "|---|---|---|"
    echo "| (a) word count capacity ≥ 5× PySpark's | $(ratio "$spyc" "$pyc" "%.1f×") | $(atleast "$spyc" "$pyc" 5) |"
    echo "| (d) update_state_by_key at $keys keys ≥ 10× faster per batch | $(ratio "$py_st" "$spy_st_med" "%.1f×") | $(atleast "$py_st" "$spy_st_med" 10) |"
    echo "| start to first completed batch ≥ 10× sooner: (a) | $(ratio "$pyf" "$spyf" "%.1f×") | $(atleast "$pyf" "$spyf" 10) |"
    echo "| start to first completed batch ≥ 10× sooner: (c) | $(ratio "$py_w_f" "$w_spy_f" "%.1f×") | $(atleast "$py_w_f" "$w_spy_f" 10) |"
    echo "| start to first completed batch ≥ 10× sooner: (d) | $(ratio "$py_st_f" "$spy_st_f" "%.1f×") | $(atleast "$py_st_f" "$spy_st_f" 10) |"
    echo "| peak RSS ≤ 1/3 of PySpark's: (a) | $(ratio "$spyr" "$pyr" "%.2f") | $(atleast "$pyr" "$spyr" 3) |"
    echo "| peak RSS ≤ 1/3 of PySpark's: (c) | $(ratio "$w_spy_r" "$py_w_rss" "%.2f") | $(atleast "$py_w_rss" "$w_spy_r" 3) |"
    echo "| peak RSS ≤ 1/3 of PySpark's: (d) | $(ratio "$spy_st_r" "$py_st_rss" "%.2f") | $(atleast "$py_st_rss" "$spy_st_r" 3) |"
    echo
    echo "What Python costs (Sluice from Python / Sluice in Rust, same workload and run): (a) capacity $(ratio "$spyc" "$slc" "%.3f") (Rust $(ratio "$slc" "$spyc" "%.1f×") faster); (b) smallest interval kept up $spy_smallest against $sl_smallest; (c) per window batch $(ratio "$w_spy" "$w_sl" "%.0f×"), per 1 s of input $(ratio "$w_spy_in" "$w_sl_in" "%.0f×"); (d) update_state_by_key per batch $(ratio "$spy_st_med" "${st_sl[update]}" "%.0f×"); peak RSS (a) $(ratio "$spyr" "$slr" "%.1f×"), (c) $(ratio "$w_spy_r" "$w_slr" "%.1f×"), (d) $(ratio "$spy_st_r" "${st_slr[update]}" "%.1f×")."
  fi
  echo
  echo "## (f) Event time: a sliding window over records out of order"
  echo
  echo "Window 10 s sliding every 2 s, counting per key over $et_keys keys, watermark delay 10 s, append mode; $et_batches batches of $et_records records (1 s of event time each), 5 % of them out of order by up to the delay; the same records in every engine (computed alike by each, see bench/src/event_time.rs). Per batch = the median processing time of the batches after the first 5 (the windows fill up). Spark: Structured Streaming with its RocksDB state store, reading one batch of Parquet files per trigger into a foreachBatch sink that sums each window. Flink (DataStream, streaming mode, bounded out-of-orderness of 10 s) has no batches: per batch = the job's net runtime / $et_batches."
  echo
  echo "| engine | per batch | records/s | peak RSS | windows held at the end | outputs |"
  echo "|---|---:|---:|---:|---:|---|"
  echo "| Sluice | $et_sl ms | $(ratio "$et_records" "$et_sl" "%.0f")k | $et_slr MiB | $(field state_end "$work/et-sluice-1.out") | (reference) |"
  echo "| Spark Structured Streaming $(basename "$jars"/spark-core_*.jar .jar | sed 's/spark-core_2\.13-//')$(one) | $et_sp ms | $(ratio "$et_records" "$et_sp" "%.0f")k | $et_spr MiB | $(field state_end "$work/et-spark-1.out") | $et_sp_check; state rows $et_state_check |"
  echo "| Apache Flink $flink_version (DataStream, event time$(one)) | $et_fl ms | $(ratio "$et_records" "$et_fl" "%.0f")k | $et_flr MiB | — | $et_fl_check |"
  echo
  echo "Throughput, Sluice / Spark: $(ratio "$et_sp" "$et_sl" "%.0f×") (target ≥ 10×: $(atleast "$et_sp" "$et_sl" 10)); Sluice / Flink: $(ratio "$et_fl" "$et_sl" "%.1f×")."
  echo "Each engine's latency is its batch interval plus its time per batch: at the same 1 s interval, Sluice's results come $(ratio "$et_sp" "$et_sl" "%.0f×") sooner after a batch than Spark's (and an engine whose time per batch exceeds the interval falls behind)."
  echo "A long run of Sluice alone, $et_long batches: windows held $(field state_middle "$work/et-sluice-long.out") at the middle, $(field state_end "$work/et-sluice-long.out") at the end; resident set $(field rss_middle_mib "$work/et-sluice-long.out") MiB at the middle, $(field rss_end_mib "$work/et-sluice-long.out") MiB at the end (the watermark bounds the state); median $(field median_batch_ms "$work/et-sluice-long.out") ms per batch."
  echo
  echo "## (g) Parquet output"
  echo
  grep -v '^RESULT' "$work/parquet-sluice.out"
  echo
  echo "Spark $(basename "$jars"/spark-core_*.jar .jar | sed 's/spark-core_2\.13-//') \`df.write.parquet\` of $pq_check, zstd, 2 files, median of 5: $pq_sp ms. Sluice \`save_as_parquet\` / Spark: $(ratio "$pq_sp" "$pq_sl" "%.1f×") faster (target ≥ 5×: $(atleast "$pq_sp" "$pq_sl" 5))."
  echo
  echo "## (h) Streaming analytics"
  echo
  echo "Per batch = median processing time (first batch left out); 100,000 points per batch, local[$threads]; one run each. The lag model: n = 8 (10 coefficients per key), every key's model warm (40 points in the initial state); PySpark has neither a keyed model nor mapWithState, so its row is what a PySpark user writes: updateStateByKey with a recursive least-squares update per key in numpy (called for every key every batch). StreamingKMeans: pyspark.mllib's, from the same initial centers over the same points."
  echo
  echo "| workload | engine | per batch | points/s | outputs |"
  echo "|---|---|---:|---:|---|"
  echo "| lag model, 100,000 keys | Sluice | $an_lag_sl ms | $(field points_per_s "$work/an-lag-sluice.out") | (reference) |"
  echo "| lag model, 100,000 keys | PySpark (updateStateByKey + numpy) | $an_lag_py ms | $(field points_per_s "$work/an-lag-pyspark.out") | $an_lag_check |"
  echo "| lag model, 1,000,000 keys | Sluice | $an_lag_1m ms | $(field points_per_s "$work/an-lag-sluice-1m.out") | — |"
  echo "| StreamingKMeans k = 10, 10 dims | Sluice | $an_km_sl ms | $(field points_per_s "$work/an-km-sluice.out") | (reference) |"
  echo "| StreamingKMeans k = 10, 10 dims | pyspark.mllib | $an_km_py ms | $(field points_per_s "$work/an-km-pyspark.out") | $an_km_check |"
  if [ "$spy" = 1 ]; then
    if [ "$(field centers "$work/an-km-spy.out")" = "$(field centers "$work/an-km-sluice.out")" ]; then
      an_spy_check="final centers equal"
    else
      an_spy_check="DIFFERENT final centers"
    fi
    echo "| StreamingKMeans k = 10, 10 dims | Sluice from Python (PySpark's program) | $(field median_batch_ms "$work/an-km-spy.out") ms | $(field points_per_s "$work/an-km-spy.out") | $an_spy_check |"
  fi
  echo
  echo "Sluice / PySpark: lag model $(ratio "$an_lag_py" "$an_lag_sl" "%.0f×") (target ≥ 20×: $(atleast "$an_lag_py" "$an_lag_sl" 20)), StreamingKMeans $(ratio "$an_km_py" "$an_km_sl" "%.0f×") (target ≥ 20×: $(atleast "$an_km_py" "$an_km_sl" 20)). Lag model per batch at 1,000,000 keys / at 100,000 keys: $(ratio "$an_lag_1m" "$an_lag_sl" "%.2f") (flat = 1)."
} > "$report"
cat "$report"
echo "report: $report" >&2
