"""Reads a Parquet table the way Spark reads a directory written by its file sink: only the
files its log (`_spark_metadata/`) lists as added and not deleted, so files of a batch that
never committed are left out. Reads them with pyarrow (Hive partitioning) and prints their
rows as one JSON list, sorted, with the number of log files and of data files.

    python read_sink_log.py DIR
    python read_sink_log.py BUCKET/PREFIX --s3-endpoint http://127.0.0.1:PORT

The second form reads from an S3-compatible server with pyarrow's own S3 client (credentials
from the AWS environment variables). This is a reader of the log's format written here from
Spark's documented behaviour, independent of Sluice's own reader.
"""

import json
import sys

import pyarrow.dataset as ds
from pyarrow import fs


def log_entries(filesystem, log_dir):
    """The JSON entries of every file of the log (a compacted file repeats what it compacts)."""
    infos = filesystem.get_file_info(fs.FileSelector(log_dir, allow_not_found=True))
    names = sorted(i.path for i in infos if i.type == fs.FileType.File
                   and not i.base_name.startswith("."))
    entries = []
    for path in names:
        with filesystem.open_input_stream(path) as f:
            lines = f.read().decode("utf-8").splitlines()
        if not lines or lines[0] != "v1":
            raise SystemExit(f"{path}: not a file-sink log file (first line {lines[:1]})")
        entries.extend(json.loads(line) for line in lines[1:] if line.strip())
    return len(names), entries


def main():
    root = sys.argv[1].rstrip("/")
    if len(sys.argv) > 3 and sys.argv[2] == "--s3-endpoint":
        scheme, host = sys.argv[3].split("://", 1)
        filesystem = fs.S3FileSystem(endpoint_override=host, scheme=scheme, region="us-east-1")
    else:
        filesystem = fs.LocalFileSystem()
    log_files, entries = log_entries(filesystem, root + "/_spark_metadata")
    added = set()
    for e in entries:
        path = e["path"]
        for prefix in ("s3a://", "s3://", "file://", "file:"):
            if path.startswith(prefix):
                path = path[len(prefix):]
                break
        if e.get("action") == "delete":
            added.discard(path)
        else:
            added.add(path)
    files = sorted(added)
    rows = []
    if files:
        table = ds.dataset(files, format="parquet", filesystem=filesystem,
                           partitioning="hive", partition_base_dir=root).to_table()
        rows = [{k: (v if isinstance(v, (int, float, str, type(None))) else str(v))
                 for k, v in r.items()} for r in table.to_pylist()]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    print(json.dumps({"rows": rows, "log_files": log_files, "data_files": len(files)},
                     sort_keys=True))


if __name__ == "__main__":
    main()
