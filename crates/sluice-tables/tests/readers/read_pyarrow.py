"""Reads a Parquet table directory with pyarrow's dataset API (Hive partitioning; pyarrow
leaves out `_`-prefixed entries such as `_spark_metadata`) and prints its rows as one JSON
list, sorted, values as JSON gives them (dates and other non-JSON values as strings).

    python read_pyarrow.py DIR
    python read_pyarrow.py BUCKET/PREFIX --s3-endpoint http://127.0.0.1:PORT

The second form reads from an S3-compatible server with pyarrow's own S3 client (credentials
from the AWS environment variables).
"""

import json
import sys

import pyarrow.dataset as ds
from pyarrow import fs


def main():
    filesystem = None
    if len(sys.argv) > 3 and sys.argv[2] == "--s3-endpoint":
        scheme, host = sys.argv[3].split("://", 1)
        filesystem = fs.S3FileSystem(endpoint_override=host, scheme=scheme, region="us-east-1")
    table = ds.dataset(
        sys.argv[1], format="parquet", partitioning="hive", filesystem=filesystem
    ).to_table()
    rows = table.to_pylist()
    rows = [{k: (v if isinstance(v, (int, float, str, type(None))) else str(v)) for k, v in r.items()} for r in rows]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    print(json.dumps({"rows": rows, "schema": {f.name: str(f.type) for f in table.schema}}, sort_keys=True))


if __name__ == "__main__":
    main()
