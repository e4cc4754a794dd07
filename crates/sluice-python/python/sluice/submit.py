"""``sluice-submit``: runs a Python job file as ``spark-submit`` does.

::

    sluice-submit --master local[4] --conf spark.default.parallelism=8 job.py arg1 arg2

``--master``, ``--name`` and every ``--conf key=value`` become defaults of the job's
``SparkConf`` (its own settings win, as with ``spark-submit``); the job runs as
``__main__`` with ``sys.argv`` set to the file and its arguments.
"""

import argparse
import json
import os
import runpy
import sys
from typing import List, Optional

#: The environment variable that carries the settings to the job's ``SparkConf``.
CONF_ENV = "SLUICE_SUBMIT_CONF"


def main(argv: Optional[List[str]] = None) -> int:
    """Parses the arguments and runs the job; returns its exit status."""
    parser = argparse.ArgumentParser(prog="sluice-submit",
                                     description="Run a Sluice (PySpark) job file.")
    parser.add_argument("--master", help="local, local[N] or local[*]")
    parser.add_argument("--name", help="the application's name")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--py-files", help="comma-separated files put on the path")
    parser.add_argument("job", help="the Python file to run")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    conf = {}
    for item in ns.conf:
        if "=" not in item:
            parser.error("--conf needs KEY=VALUE, got %r" % item)
        k, v = item.split("=", 1)
        conf[k] = v
    if ns.master:
        conf["spark.master"] = ns.master
    if ns.name:
        conf["spark.app.name"] = ns.name
    if not os.path.isfile(ns.job):
        parser.error("no such job file: %s" % ns.job)
    os.environ[CONF_ENV] = json.dumps(conf)
    for extra in (ns.py_files or "").split(","):
        if extra:
            sys.path.insert(0, os.path.dirname(os.path.abspath(extra)))
    sys.path.insert(0, os.path.dirname(os.path.abspath(ns.job)))
    sys.argv = [ns.job] + ns.args
    runpy.run_path(ns.job, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
