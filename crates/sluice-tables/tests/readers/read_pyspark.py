"""Reads a Parquet table directory with Spark (`spark.read.parquet`, which reads a directory
with a `_spark_metadata` log through the log: exactly the committed files) and prints its
rows as one JSON list, sorted, values as strings where JSON has no type for them (dates).

    python read_pyspark.py DIR
"""

import json
import sys

from pyspark.sql import SparkSession


def main():
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = spark.read.parquet(sys.argv[1])
        rows = [
            {k: (v if isinstance(v, (int, float, str, type(None))) else str(v)) for k, v in r.asDict().items()}
            for r in df.collect()
        ]
        rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
        print(json.dumps({"rows": rows, "files": len(df.inputFiles())}, sort_keys=True))
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
