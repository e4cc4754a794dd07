"""Spark Structured Streaming's side of workload (f), the event-time window of the side-by-side
benchmarks (bench/run.sh): a sliding event-time window (10 s every 2 s) counting records per
key, watermark delay 10 s, append mode, over the same records as `sluice-bench
event-time-side` and bench/flink/FlinkEventTimeBench.java (record i of batch b = i / R: h =
mix(i) >>> 1, key = h mod K, event time 60000 + 1000 b + (i mod R) * 1000 / R, minus
(h >>> 8) mod 10000 when h mod 100 < P; the hash is computed here by Spark's own long
arithmetic, which wraps with ANSI mode off). The batches are written first as Parquet files,
two per micro-batch, and read with maxFilesPerTrigger=2; a foreachBatch sink sums each
emitted window's keys and counts. The report is the median trigger execution time per batch
(the first 5 left out), the state rows at the middle and at the end of the run, and an
`EWINDOW <end ms> <keys> <records>` line per emitted window, as Sluice prints them. local[2]
(--threads), as many shuffle partitions, 8 GiB of heap, Spark's RocksDB state store (the
default one keeps the whole state on the heap, and ran out of 1 GiB).

    python3 bench/pyspark/event_time_bench.py --records 100000 --keys 1000000 --batches 20
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

START_MS = 60_000
DELAY_MS = 10_000


def signed(u):
    """An unsigned 64-bit constant as the JVM's long."""
    return u - (1 << 64) if u >= 1 << 63 else u


def records(spark, b, n, keys, late_percent):
    """Batch b (n records) as a DataFrame of (key, t): Sluice's `event_time::record`."""
    x = F.col("id") * F.lit(signed(0x9E3779B97F4A7C15))
    x = x.bitwiseXOR(F.shiftrightunsigned(x, 29)) * F.lit(signed(0xBF58476D1CE4E5B9))
    h = F.shiftrightunsigned(x, 1)
    t = F.lit(START_MS + b * 1000) + F.expr(f"((id - {b * n}) * 1000) div {n}")
    late = F.when(h % 100 < late_percent, F.shiftrightunsigned(h, 8) % DELAY_MS).otherwise(0)
    return spark.range(b * n, (b + 1) * n).select(
        (h % keys).alias("key"), (t - late).alias("t")
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--late-percent", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    spark = (
        SparkSession.builder.master(f"local[{a.threads}]")
        .config("spark.sql.shuffle.partitions", str(a.threads))
        .config("spark.driver.memory", "8g")
        # The hash wraps as Sluice's and Flink's do.
        .config("spark.sql.ansi.enabled", "false")
        .config(
            "spark.sql.streaming.stateStore.providerClass",
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
        )
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    work = tempfile.mkdtemp(prefix="sluice-bench-et-")
    windows = {}

    def emitted(df, batch_id):
        rows = (
            df.groupBy(F.unix_millis(F.col("window.end")).alias("end"))
            .agg(F.count("*").alias("keys"), F.sum("count").alias("records"))
            .collect()
        )
        # The run's batches only (AvailableNow may add a batch without data at the end; Spark
        # requires every batch's rows to be computed all the same).
        if batch_id >= a.batches:
            return
        for r in rows:
            k, c = windows.get(r["end"], (0, 0))
            windows[r["end"]] = (k + r["keys"], c + r["records"])

    try:
        src = os.path.join(work, "in")
        os.makedirs(src)
        for b in range(a.batches):
            tmp = os.path.join(work, "tmp")
            records(spark, b, a.records, a.keys, a.late_percent).coalesce(2).write.parquet(tmp)
            for i, f in enumerate(sorted(os.listdir(tmp))):
                if f.endswith(".parquet"):
                    dst = os.path.join(src, "b%04d-%d.parquet" % (b, i))
                    shutil.move(os.path.join(tmp, f), dst)
                    os.utime(dst, (1_000_000 + b, 1_000_000 + b))
            shutil.rmtree(tmp)
        # Two files per batch: one trigger reads both.
        q = (
            spark.readStream.schema("key LONG, t LONG")
            .option("maxFilesPerTrigger", 2)
            .parquet(src)
            .withColumn("ts", F.timestamp_millis("t"))
            .withWatermark("ts", "%d milliseconds" % DELAY_MS)
            .groupBy(F.window("ts", "10 seconds", "2 seconds"), "key")
            .count()
            .writeStream.outputMode("append")
            .foreachBatch(emitted)
            .option("checkpointLocation", os.path.join(work, "ckpt"))
            .trigger(availableNow=True)
            .start()
        )
        q.awaitTermination()
        progress = [p for p in q.recentProgress if p["numInputRows"] > 0][: a.batches]
        times = [p["durationMs"]["triggerExecution"] for p in progress]
        state = [sum(op["numRowsTotal"] for op in p["stateOperators"]) for p in progress]
        measured = times[5:] if len(times) > 5 else times
        for end in sorted(windows):
            print("EWINDOW %d %d %d" % (end, windows[end][0], windows[end][1]))
        print(
            "RESULT engine=spark records_per_batch=%d batches=%d median_batch_ms=%.1f "
            "state_middle=%d state_end=%d"
            % (
                a.records,
                len(times),
                statistics.median(measured) if measured else -1,
                state[len(state) // 2 - 1] if state else 0,
                state[-1] if state else 0,
            )
        )
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
