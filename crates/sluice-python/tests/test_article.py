"""The article's PySpark program, imports changed, run over a socket this test serves."""

import ast
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "article_word_count.py"
LINES = ["spark streaming sluice", "sluice sluice", "a b a", "streaming"]


def _parse_counts(text):
    """Word counts and the number of blocks, over the complete blocks of ``text`` (each
    ends with an empty line; the output may have been read up to the middle of one)."""
    counts = Counter()
    batches = 0
    text = text[:text.rfind("\n\n") + 1]
    for block in text.split("-------------------------------------------\nTime: ")[1:]:
        batches += 1
        body = block.split("-------------------------------------------\n", 1)[1]
        for line in body.splitlines():
            if line and line != "...":
                word, n = ast.literal_eval(line)
                counts[word] += n
    return counts, batches


def test_article_program_counts_socket_lines(tmp_path):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    program = EXAMPLE.read_text().replace('"localhost", 1234', '"127.0.0.1", %d' % port)
    job = tmp_path / "job.py"
    job.write_text(program)
    proc = subprocess.Popen([sys.executable, str(job)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        server.settimeout(60)
        conn, _ = server.accept()
        conn.sendall(("\n".join(LINES) + "\n").encode())
        expected = Counter(w for line in LINES for w in line.split(" "))
        out = ""
        deadline = time.monotonic() + 60
        # Read what the job prints until every word's count has appeared.
        while _parse_counts(out)[0] != expected and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                out += os.read(proc.stdout.fileno(), 65536).decode()
        counts, batches = _parse_counts(out)
        assert counts == expected, out
        assert re.search(r"Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n", out)
        # Ctrl-C stops the job gracefully.
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
        assert "KeyboardInterrupt" in err
        assert proc.returncode != 0
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
