"""Microsoft's own Azure client against Azurite, for the Azure tests.

    python azure_blob.py create BLOB_ENDPOINT CONTAINER
    python azure_blob.py read BLOB_ENDPOINT CONTAINER PREFIX

`create` makes a container. `read` reads the Parquet table under PREFIX the way Spark reads a
directory written by its file sink — only the files its log (`_spark_metadata/`) lists — with
azure-storage-blob to fetch the blobs and pyarrow to decode them (Hive partition columns from
the paths), and prints its rows as one JSON list, sorted, with the number of data files.
BLOB_ENDPOINT is Azurite's, e.g. http://127.0.0.1:10000/devstoreaccount1.
"""

import io
import json
import sys

import pyarrow.parquet as pq
from azure.storage.blob import BlobServiceClient

ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, for the emulator only).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def client(endpoint):
    conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={endpoint};")
    return BlobServiceClient.from_connection_string(conn)


def read(endpoint, container, prefix):
    c = client(endpoint).get_container_client(container)
    log_prefix = prefix.rstrip("/") + "/_spark_metadata/"
    added = set()
    for blob in sorted(b.name for b in c.list_blobs(name_starts_with=log_prefix)):
        if blob.rsplit("/", 1)[-1].startswith("."):
            continue
        lines = c.download_blob(blob).readall().decode("utf-8").splitlines()
        if not lines or lines[0] != "v1":
            raise SystemExit(f"{blob}: not a file-sink log file")
        for line in lines[1:]:
            if line.strip():
                e = json.loads(line)
                name = e["path"].split("://", 1)[1].split("/", 1)[1]
                (added.discard if e.get("action") == "delete" else added.add)(name)
    rows = []
    for name in sorted(added):
        table = pq.read_table(io.BytesIO(c.download_blob(name).readall()))
        parts = dict(p.split("=", 1) for p in name[len(prefix.rstrip("/")) + 1:].split("/")[:-1])
        for r in table.to_pylist():
            r.update(parts)
            rows.append(r)
    rows = [{k: (v if isinstance(v, (int, float, str, type(None))) else str(v))
             for k, v in r.items()} for r in rows]
    rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    print(json.dumps({"rows": rows, "data_files": len(added)}, sort_keys=True))


def main():
    if sys.argv[1] == "create":
        client(sys.argv[2]).create_container(sys.argv[3])
        print(json.dumps({"created": sys.argv[3]}))
    else:
        read(sys.argv[2], sys.argv[3], sys.argv[4])


if __name__ == "__main__":
    main()
