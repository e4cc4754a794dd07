"""Records the event-time golden files from Spark Structured Streaming itself.

For every case of cases.json: the batches are written as JSON files, one per micro-batch
(increasing modification times, read with maxFilesPerTrigger=1 under an AvailableNow
trigger), aggregated with withWatermark("ts", delay) and
groupBy(window("ts", size, slide), "key").agg(count, sum) — or session_window("ts", gap)
for the cases with a gap, over session_batches; the cases with "inputs" union several such
streams, each with its own delay, under the case's multipleWatermarkPolicy —, written with
the case's output
mode to a foreachBatch sink, and each batch's rows are stored, sorted, in <case>.json:
{"batches": [[[key, window start ms, window end ms, count, sum], ...], ...]}. The cases marked
"dedup" use dropDuplicatesWithinWatermark(["key"]) instead and store [key, t, v] rows. Spark may run
one more batch than there are files (a no-data batch when the watermark moved); it is
recorded too.

Run from anywhere with pyspark installed (it needs a JVM, 17 or later):
    python3 crates/sluice-streaming/tests/golden/event_time/record.py
"""

import json
import os
import shutil
import sys
import tempfile

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

HERE = os.path.dirname(os.path.abspath(__file__))


def write_batches(src, batches):
    os.makedirs(src)
    for i, batch in enumerate(batches):
        path = os.path.join(src, "%03d.json" % i)
        with open(path, "w") as f:
            for key, t, v in batch:
                f.write(json.dumps({"key": key, "t": t, "v": v}) + "\n")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))


def watermarked(spark, src, delay_ms):
    return (
        spark.readStream.schema("key STRING, t LONG, v LONG")
        .option("maxFilesPerTrigger", 1)
        .json(src)
        .withColumn("ts", F.timestamp_millis("t"))
        .withWatermark("ts", "%d milliseconds" % delay_ms)
    )


def run_case(spark, case, spec, work):
    session = "gap_ms" in case
    spark.conf.set("spark.sql.streaming.multipleWatermarkPolicy", case.get("policy", "min"))
    if "inputs" in case:
        sources = []
        for i, (name, delay) in enumerate(zip(case["inputs"], case["delays_ms"])):
            src = os.path.join(work, case["name"], "in%d" % i)
            write_batches(src, spec[name])
            sources.append(watermarked(spark, src, delay))
        events = sources[0]
        for other in sources[1:]:
            events = events.union(other)
    else:
        batches = spec[case.get("input", "session_batches" if session else "batches")]
        src = os.path.join(work, case["name"], "in")
        write_batches(src, batches)
        events = watermarked(spark, src, case["delay_ms"])
    if case.get("dedup"):
        df = events.dropDuplicatesWithinWatermark(["key"]).select("key", "t", "v")
    else:
        df = (
            events.groupBy(
                F.session_window("ts", "%d milliseconds" % case["gap_ms"]).alias("window")
                if session
                else F.window("ts", "%d milliseconds" % case["size_ms"], "%d milliseconds" % case["slide_ms"]),
                "key",
            )
            .agg(F.count("*").alias("n"), F.sum("v").alias("s"))
            .select(
                "key",
                F.unix_millis(F.col("window.start")).alias("start"),
                F.unix_millis(F.col("window.end")).alias("end"),
                "n",
                "s",
            )
        )
    out = {}

    def collect(batch_df, batch_id):
        rows = [list(r) for r in batch_df.collect()]
        out[batch_id] = sorted(rows)

    q = (
        df.writeStream.outputMode(case["mode"])
        .foreachBatch(collect)
        .option("checkpointLocation", os.path.join(work, case["name"], "ckpt"))
        .trigger(availableNow=True)
        .start()
    )
    q.awaitTermination()
    return [out.get(i, []) for i in range(max(out) + 1)] if out else []


def main():
    with open(os.path.join(HERE, "cases.json")) as f:
        spec = json.load(f)
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    work = tempfile.mkdtemp(prefix="sluice-golden-")
    try:
        for case in spec["cases"]:
            batches = run_case(spark, case, spec, work)
            golden = {
                "recorded_with": "pyspark " + spark.version,
                "case": case,
                "batches": batches,
            }
            with open(os.path.join(HERE, case["name"] + ".json"), "w") as f:
                json.dump(golden, f, indent=1)
                f.write("\n")
            print(case["name"], len(batches), "batches", file=sys.stderr)
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
