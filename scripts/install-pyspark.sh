#!/usr/bin/env bash
# Installs pyspark (Spark's JVM engine comes in its jars; it runs on the machine's Java 17+)
# into a virtual environment in the cache outside the checkout, for the tests in which Spark
# itself reads Sluice's output and for pyspark.mllib's streaming learners (with numpy), and
# prints the environment's python. The benchmarks share it.
set -euo pipefail
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
venv="$cache/pyspark-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyspark, numpy' 2>/dev/null; then
  echo "installing pyspark into $venv ..." >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "pyspark==4.3.0" "numpy==2.4.6" >&2
fi
echo "$venv/bin/python"
