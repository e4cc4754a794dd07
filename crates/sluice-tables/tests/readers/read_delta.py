"""Reads a Delta table with the `deltalake` Python package (delta-rs's own reader, not
Sluice's) and prints, as one JSON object: its rows (sorted), its version, its partition
columns, the transaction version of an application id, and the number of commits.

    python read_delta.py DIR APP_ID
    python read_delta.py s3://BUCKET/PREFIX APP_ID   (endpoint and keys from the AWS_* environment)
"""

import json
import os
import sys

from deltalake import DeltaTable


def main():
    options = None
    if sys.argv[1].startswith("s3://"):
        options = {
            "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        }
    dt = DeltaTable(sys.argv[1], storage_options=options)
    rows = dt.to_pyarrow_table().to_pylist()
    rows = [
        {k: (v if isinstance(v, (int, float, str, type(None))) else str(v)) for k, v in r.items()}
        for r in rows
    ]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    print(
        json.dumps(
            {
                "rows": rows,
                "version": dt.version(),
                "partition_columns": dt.metadata().partition_columns,
                "txn": dt.transaction_version(sys.argv[2]),
                "commits": len(dt.history()),
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
    # Leave without the interpreter's teardown: the deltalake package's native threads can
    # abort the process while it unwinds ("terminate called without an active exception"),
    # after the answer is printed.
    sys.stdout.flush()
    os._exit(0)
