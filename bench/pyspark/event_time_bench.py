"""Spark Structured Streaming's side of the event-time benchmark (`sluice-bench event-time`):
a sliding event-time window (10 s every 2 s) counting records per key, watermark delay 10 s,
append mode, over batches of generated records with the same shape as Sluice's (keys spread
over `--keys`, event times in the batch's second, 5 % out of order by up to the delay; the
same distribution, not the same records). The batches are written first as Parquet files, one
per micro-batch, and read with maxFilesPerTrigger=1 into a noop sink; the report is the median
trigger execution time per batch, the first 5 left out. local[2], two shuffle partitions,
8 GiB of heap, Spark's RocksDB state store.

    python3 bench/pyspark/event_time_bench.py --records 100000 --keys 1000000 --batches 12
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--batches", type=int, default=12)
    ap.add_argument("--late-percent", type=int, default=5)
    a = ap.parse_args()
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "8g")
        # Spark's state store for large state (the default one keeps it all on the heap).
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
    try:
        src = os.path.join(work, "in")
        for b in range(a.batches):
            n = a.records
            df = spark.range(b * n, (b + 1) * n).select(
                F.pmod(F.xxhash64("id"), F.lit(a.keys)).alias("key"),
                (
                    F.lit(START_MS + b * 1000)
                    + ((F.col("id") - b * n) * 1000 / n).cast("long")
                    - F.when(
                        F.pmod(F.xxhash64("id", F.lit(1)), F.lit(100)) < a.late_percent,
                        F.pmod(F.xxhash64("id", F.lit(2)), F.lit(DELAY_MS)),
                    ).otherwise(0)
                ).alias("t"),
            )
            df.coalesce(2).write.parquet(os.path.join(work, "tmp"))
            for i, f in enumerate(sorted(os.listdir(os.path.join(work, "tmp")))):
                if f.endswith(".parquet"):
                    os.makedirs(src, exist_ok=True)
                    dst = os.path.join(src, "b%03d-%d.parquet" % (b, i))
                    shutil.move(os.path.join(work, "tmp", f), dst)
                    os.utime(dst, (1_000_000 + b, 1_000_000 + b))
            shutil.rmtree(os.path.join(work, "tmp"))
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
            .format("noop")
            .option("checkpointLocation", os.path.join(work, "ckpt"))
            .trigger(availableNow=True)
            .start()
        )
        q.awaitTermination()
        progress = [p for p in q.recentProgress if p["numInputRows"] > 0]
        times = [p["durationMs"]["triggerExecution"] for p in progress]
        state = [
            sum(op["numRowsTotal"] for op in p["stateOperators"]) for p in progress
        ]
        measured = times[5:] if len(times) > 5 else times
        print(
            json.dumps(
                {
                    "records_per_batch": a.records,
                    "batches": len(times),
                    "median_ms": statistics.median(measured),
                    "state_rows_end": state[-1] if state else 0,
                }
            )
        )
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
