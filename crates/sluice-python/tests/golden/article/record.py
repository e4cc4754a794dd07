"""Records what real PySpark prints for the article's program, batch by batch: the golden
file pyspark.json that tests/test_article_golden.py compares Sluice with.

The program is examples/article_word_count.py (socketTextStream -> flatMap(line.split(" "))
-> countByValue() -> pprint(), batchDuration=1), run UNDER PYSPARK with only these changes
to its text: the imports come from pyspark instead of sluice, the socket is this script's
server on 127.0.0.1 instead of localhost:1234, and the master is "local[2]" instead of
"local" — in PySpark a socket receiver occupies one core for good, so under "local" no core
is left to process the batches and nothing would ever be printed. (Sluice's test keeps
"local".) The job's Python runs with -u because PySpark's pprint does not flush and its
stdout is a pipe here; the web UI is turned off and Spark binds to 127.0.0.1 through the
environment (PYSPARK_SUBMIT_ARGS, SPARK_LOCAL_IP), not through the program.

Feed protocol (the same in the test, which imports `feed_groups` from this file): the job's
receiver connects to the server; the script waits for the job's first pprint block (an empty
batch: a header and no records). Then, for each group of groups.json in order: it sends the
group's text in one sendall; reads the job's stdout until a pprint block containing records
appears (blocks of empty batches are skipped) and takes that block's printed lines — the
records and, with more than 10 records, the "..." line — in the order printed; then reads
the next block and requires it to be empty, which shows that the whole group landed in that
one batch. That empty block was printed just after a batch began, so the next group is sent
early in a batch interval, far from the boundary where it could be split across two batches.
Every wait is bounded by a 60 s deadline. At the end the job is stopped with SIGINT (Ctrl-C);
the script waits for the driver and then its JVM and Python workers to exit.

pyspark.json holds, per group, the exact lines PySpark printed; the full text of the first
group's block and of an empty block (the header/footer format); the step between the
Time lines of consecutive blocks; any stdout text outside blocks; how the job ended on
SIGINT; and the versions of PySpark, Java and Python used. With more than 10 records pprint
shows the first 10 of take(11), which depend on how the batch is partitioned (here 2 reduce
partitions, from local[2]); nothing else is recorded about those groups.

Run it with the Python that has pyspark (bench/run.sh installs the same one), from anywhere:

    ~/.cache/sluice/pyspark-venv/bin/python crates/sluice-python/tests/golden/article/record.py

It takes about a minute, prints what it records, and rewrites pyspark.json next to itself.
"""

import codecs
import datetime
import hashlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROUPS = HERE / "groups.json"
GOLDEN = HERE / "pyspark.json"
EXAMPLE = HERE.parents[2] / "examples" / "article_word_count.py"
TIMEOUT_S = 60
SEP = "-" * 43
# One pprint block: header, records (never empty lines: they are reprs or "..."), blank line.
BLOCK = re.compile(r"(?m)^%s\nTime: ([^\n]*)\n%s\n((?:[^\n]+\n)*)\n" % (SEP, SEP))


class ProtocolError(AssertionError):
    pass


class Block:
    def __init__(self, match):
        self.text = match.group(0)
        self.time = match.group(1)
        self.lines = match.group(2).splitlines()


class Blocks:
    """The pprint blocks of a job's stdout, in order, as they complete."""

    def __init__(self, proc):
        self.proc = proc
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.stray = ""  # stdout text that is not part of a block
        self.seen = []

    def next(self, what):
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            m = BLOCK.search(self.text, self.pos)
            if m:
                self.stray += self.text[self.pos:m.start()]
                self.pos = m.end()
                block = Block(m)
                self.seen.append(block)
                return block
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("no pprint block within %d s while %s; stdout so far:\n%s"
                                    % (TIMEOUT_S, what, self.text))
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if ready:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    raise ProtocolError("the job's stdout closed (exit status %s) while %s; "
                                        "stdout:\n%s" % (self.proc.poll(), what, self.text))
                self.text += self.decoder.decode(data)

    def time_steps_s(self):
        """The distinct steps (s) between the Time lines of consecutive blocks."""
        times = [datetime.datetime.strptime(b.time, "%Y-%m-%d %H:%M:%S") for b in self.seen]
        return sorted({int((b - a).total_seconds()) for a, b in zip(times, times[1:])})


def load_groups():
    return json.loads(GROUPS.read_text(encoding="utf-8"))["groups"]


def groups_sha256():
    return hashlib.sha256(GROUPS.read_bytes()).hexdigest()


def feed_groups(proc, server, groups, log=None):
    """Runs the feed protocol (see the module docstring) against a job whose receiver will
    connect to `server`. Returns (connection, Blocks, first empty block, one records block per
    group)."""
    server.settimeout(TIMEOUT_S)
    try:
        conn, _ = server.accept()
    except socket.timeout:
        raise ProtocolError("the job's receiver did not connect within %d s" % TIMEOUT_S)
    blocks = Blocks(proc)
    first = blocks.next("waiting for the first batch")
    if first.lines:
        raise ProtocolError("records before anything was sent:\n" + first.text)
    found = []
    for g in groups:
        conn.sendall(g["text"].encode("utf-8"))
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            block = blocks.next("waiting for the records of group %r" % g["name"])
            if block.lines:
                break
            if time.monotonic() > deadline:
                raise ProtocolError("group %r: only empty batches for %d s"
                                    % (g["name"], TIMEOUT_S))
        after = blocks.next("waiting for the batch after group %r" % g["name"])
        if after.lines:
            raise ProtocolError("group %r was split across two batches:\n%s%s"
                                % (g["name"], block.text, after.text))
        if log:
            log("%s:\n%s" % (g["name"], "".join("    %s\n" % l for l in block.lines)))
        found.append(block)
    return conn, blocks, first, found


def readable_json(obj):
    """JSON with Unicode left readable, except invisible characters, which are escaped."""
    s = json.dumps(obj, ensure_ascii=False, indent=1)
    return "".join(c if (c.isprintable() or c == "\n") and not unicodedata.combining(c)
                   else "\\u%04x" % ord(c) for c in s) + "\n"


def _replace_once(text, old, new):
    if text.count(old) != 1:
        raise SystemExit("expected %r once in %s" % (old, EXAMPLE))
    return text.replace(old, new)


def _java_version():
    out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "([^"]+)"', out)
    return m.group(1) if m else out.strip()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def main():
    import pyspark  # only to fail early, and for its version; the job runs in a child

    started = time.monotonic()
    groups = load_groups()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    program = EXAMPLE.read_text(encoding="utf-8")
    program = _replace_once(program, "from sluice import", "from pyspark import")
    program = _replace_once(program, "from sluice.streaming import",
                            "from pyspark.streaming import")
    program = _replace_once(program, '.setMaster("local")', '.setMaster("local[2]")')
    program = _replace_once(program, '"localhost", 1234', '"127.0.0.1", %d' % port)
    tmp = Path(tempfile.mkdtemp(prefix="article-golden-"))
    job = tmp / "job.py"
    job.write_text(program, encoding="utf-8")
    err_path = tmp / "stderr.txt"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               SPARK_LOCAL_IP="127.0.0.1", PYTHONIOENCODING="utf-8",
               PYSPARK_SUBMIT_ARGS="--conf spark.ui.enabled=false pyspark-shell")
    with open(err_path, "w") as err:
        # Its own process group: the driver, its JVM and the Python workers, all checked to
        # have exited at the end.
        proc = subprocess.Popen([sys.executable, "-u", str(job)], stdout=subprocess.PIPE,
                                stderr=err, env=env, cwd=tmp, start_new_session=True)
    conn = None
    try:
        conn, blocks, first, found = feed_groups(
            proc, server, groups, log=lambda s: print(s, end="", flush=True))
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise SystemExit("PySpark's driver did not exit within %d s of SIGINT" % TIMEOUT_S)
        deadline = time.monotonic() + TIMEOUT_S
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _group_alive(proc.pid):
            raise SystemExit("PySpark's JVM or workers still ran %d s after the driver exited"
                             % TIMEOUT_S)
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        golden = {
            "comment": "Written by record.py (see its docstring); do not edit by hand.",
            "pyspark_version": pyspark.__version__,
            "java_version": _java_version(),
            "python_version": "%d.%d.%d" % sys.version_info[:3],
            "master": "local[2]",
            "groups_sha256": groups_sha256(),
            "block_text": found[0].text,
            "empty_block_text": first.text,
            "block_time_steps_s": blocks.time_steps_s(),
            "stray_stdout": blocks.stray,
            "sigint": {"returncode": proc.returncode,
                       "keyboard_interrupt_in_stderr": "KeyboardInterrupt" in stderr},
            "groups": [{"name": g["name"], "lines": b.lines} for g, b in zip(groups, found)],
        }
        GOLDEN.write_text(readable_json(golden), encoding="utf-8")
        print("wrote %s in %.1f s (PySpark %s, Java %s); stderr of the job: %s"
              % (GOLDEN, time.monotonic() - started, golden["pyspark_version"],
                 golden["java_version"], err_path))
    finally:
        if conn is not None:
            conn.close()
        server.close()
        if proc.poll() is None or _group_alive(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            print("killed PySpark; its stderr: %s" % err_path, file=sys.stderr)


if __name__ == "__main__":
    main()
