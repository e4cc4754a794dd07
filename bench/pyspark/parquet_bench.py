"""Spark's side of the Parquet benchmark (`sluice-bench parquet`): the same 2 M trades
(trade i: h = (i * 0x9E3779B97F4A7C15 mod 2^64) >>> 1; account "acct-" + h mod 10000 on 5
digits, ts = 1700000000000 + i, amount = (h mod 100000) / 100, qty = h mod 500), computed by
Spark itself (its long arithmetic wraps with ANSI mode off), cached in memory, then written as
zstd Parquet in 2 partitions (2 files) by `df.write.parquet` — the writer Spark's streaming file
sink uses for each batch — median of the rounds; local[2].

    python3 bench/pyspark/parquet_bench.py --records 2000000 --rounds 5
"""

import argparse
import json
import shutil
import statistics
import tempfile
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def signed(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    spark = (
        SparkSession.builder.master(f"local[{a.threads}]")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    h = F.shiftrightunsigned(F.col("id") * F.lit(signed(0x9E3779B97F4A7C15)), 1)
    trades = (
        spark.range(0, a.records, 1, a.threads)
        .select(
            F.format_string("acct-%05d", h % 10000).alias("account"),
            (F.lit(1_700_000_000_000) + F.col("id")).alias("ts"),
            ((h % 100000) / F.lit(100.0)).alias("amount"),
            (h % 500).cast("int").alias("qty"),
        )
        .cache()
    )
    check = trades.agg(F.count("*"), F.sum("qty"), F.sum("ts")).collect()[0]
    work = tempfile.mkdtemp(prefix="sluice-bench-parquet-")
    times = []
    try:
        for r in range(a.rounds):
            out = f"{work}/r{r}"
            t = time.perf_counter()
            trades.write.parquet(out)
            times.append((time.perf_counter() - t) * 1000)
            shutil.rmtree(out, ignore_errors=True)
        print(
            "RESULT engine=spark records=%d median_ms=%.1f check=%s"
            % (a.records, statistics.median(times), json.dumps([int(x) for x in check], separators=(",", ":")))
        )
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
