"""Reads a Parquet table directory with pyarrow's dataset API (Hive partitioning; pyarrow
leaves out `_`-prefixed entries such as `_spark_metadata`) and prints its rows as one JSON
list, sorted, values as JSON gives them (dates and other non-JSON values as strings).

    python read_pyarrow.py DIR
"""

import json
import sys

import pyarrow.dataset as ds


def main():
    table = ds.dataset(sys.argv[1], format="parquet", partitioning="hive").to_table()
    rows = table.to_pylist()
    rows = [{k: (v if isinstance(v, (int, float, str, type(None))) else str(v)) for k, v in r.items()} for r in rows]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    print(json.dumps({"rows": rows, "schema": {f.name: str(f.type) for f in table.schema}}, sort_keys=True))


if __name__ == "__main__":
    main()
