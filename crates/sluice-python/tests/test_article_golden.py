"""The article's program under Sluice prints, batch by batch, what real PySpark printed.

The golden file tests/golden/article/pyspark.json was recorded from PySpark by
tests/golden/article/record.py (see its docstring: how to run it, and why PySpark ran with
master "local[2]"). This test runs examples/article_word_count.py under Sluice — the example's
text with only the socket's address replaced, master still "local" — with the same feed
protocol (imported from record.py): each group of groups.json is sent in one sendall, the
first pprint block with records is taken, and the next block must be empty. It then compares
every group's printed lines with PySpark's, the format of the blocks, the step between their
times, and how the job ends on SIGINT.
"""

import ast
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent
EXAMPLE = TESTS.parent / "examples" / "article_word_count.py"
GOLDEN_DIR = TESTS / "golden" / "article"
SLUICE_MASTER = "local"  # the example's, unchanged
TIME_LINE = re.compile(r"^Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def _recorder():
    spec = importlib.util.spec_from_file_location("article_golden_record",
                                                  GOLDEN_DIR / "record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _partitions(master):
    """countByValue's reduce partitions: the master's default parallelism."""
    if master == "local":
        return 1
    m = re.fullmatch(r"local\[(\d+)\]", master)
    assert m, master
    return int(m.group(1))


def _golden(record):
    path = GOLDEN_DIR / "pyspark.json"
    # A missing golden file is a failure, not a skip: record it with record.py.
    assert path.is_file(), "%s is missing: run %s with PySpark" % (path, GOLDEN_DIR / "record.py")
    golden = json.loads(path.read_text(encoding="utf-8"))
    assert golden["groups_sha256"] == record.groups_sha256(), (
        "groups.json changed since pyspark.json was recorded: run record.py again")
    assert golden["pyspark_version"] and golden["groups"]
    return golden


def _block_format(text):
    """A block's text with the time replaced by "<time>" when it has the format
    YYYY-MM-DD HH:MM:SS (the time itself differs between runs, its format must not), and the
    records sorted (their order within a batch differs between engines: see below). The rest
    — separator lines, "Time: ", the blank line that ends the block — is kept exactly."""
    lines = text.split("\n")
    if TIME_LINE.match(lines[1]):
        lines[1] = "Time: <time>"
    return "\n".join(lines[:3] + sorted(lines[3:-2]) + lines[-2:])


def _format_problems(name, golden_text, sluice_text):
    want, got = _block_format(golden_text), _block_format(sluice_text)
    assert "Time: <time>\n" in want, golden_text
    if want == got:
        return []
    return ["%s:\n  PySpark printed %r\n  Sluice printed  %r" % (name, golden_text, sluice_text)]


def _group_problems(name, golden_lines, sluice_lines, same_partitioning):
    if "..." not in golden_lines or same_partitioning:
        # Compared as multisets of lines: the order of records within a batch depends on how
        # each engine partitions and reduces it (PySpark here: 2 partitions, from local[2];
        # Sluice: 1, from "local"), not on what the batch holds.
        want, got = Counter(golden_lines), Counter(sluice_lines)
        if want == got:
            return []
        return ["%s:\n  PySpark printed %r\n  Sluice printed  %r\n  only PySpark: %r\n"
                "  only Sluice:  %r" % (name, golden_lines, sluice_lines,
                                        sorted((want - got).elements()),
                                        sorted((got - want).elements()))]
    # More than 10 records: pprint shows the first 10 of take(11), which depend on the
    # partitioning, and PySpark's and Sluice's differ (above), so the 10 shown may be
    # different records. Compared: how many records were shown, the "..." line, and the count
    # of every word that both engines showed.
    problems = []
    g_records = [l for l in golden_lines if l != "..."]
    s_records = [l for l in sluice_lines if l != "..."]
    if (len(g_records) != len(s_records) or sluice_lines[-1:] != ["..."]
            or sluice_lines.count("...") != 1):
        problems.append("%s: PySpark printed %d records and %r last, Sluice %d and %r last: %r"
                        % (name, len(g_records), golden_lines[-1], len(s_records),
                           sluice_lines[-1:], sluice_lines))
    g_counts = dict(ast.literal_eval(l) for l in g_records)
    for line in s_records:
        try:
            word, n = ast.literal_eval(line)
        except (ValueError, SyntaxError, TypeError):
            problems.append("%s: Sluice printed %r, not a (word, count) record" % (name, line))
            continue
        if word in g_counts and g_counts[word] != n:
            problems.append("%s: %r: PySpark %d, Sluice %d" % (name, word, g_counts[word], n))
    return problems


def test_article_program_prints_what_pyspark_printed(tmp_path):
    record = _recorder()
    golden = _golden(record)
    groups = record.load_groups()
    assert [g["name"] for g in groups] == [g["name"] for g in golden["groups"]]
    same_partitioning = _partitions(golden["master"]) == _partitions(SLUICE_MASTER)

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    program = EXAMPLE.read_text(encoding="utf-8")
    assert program.count('"localhost", 1234') == 1
    job = tmp_path / "job.py"
    job.write_text(program.replace('"localhost", 1234', '"127.0.0.1", %d' % port),
                   encoding="utf-8")
    err_path = tmp_path / "stderr.txt"
    # UTF-8 output whatever the locale, as for the PySpark run.
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, str(job)], stdout=subprocess.PIPE,
                                stderr=err, env=env)
    conn = None
    try:
        conn, blocks, first, found = record.feed_groups(proc, server, groups)

        problems = []
        for g, want, got in zip(groups, golden["groups"], found):
            problems += _group_problems(g["name"], want["lines"], got.lines, same_partitioning)
        problems += _format_problems("block of group %r" % groups[0]["name"],
                                     golden["block_text"], found[0].text)
        problems += _format_problems("empty block", golden["empty_block_text"], first.text)
        if blocks.time_steps_s() != golden["block_time_steps_s"]:
            problems.append("steps between block times: PySpark %r s, Sluice %r s"
                            % (golden["block_time_steps_s"], blocks.time_steps_s()))
        if blocks.stray != golden["stray_stdout"]:
            problems.append("stdout outside blocks: PySpark %r, Sluice %r"
                            % (golden["stray_stdout"], blocks.stray))

        # Ctrl-C stops the job, as it stops PySpark's.
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=record.TIMEOUT_S)
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        sigint = {"returncode": proc.returncode,
                  "keyboard_interrupt_in_stderr": "KeyboardInterrupt" in stderr}
        if sigint != golden["sigint"]:
            problems.append("on SIGINT: PySpark %r, Sluice %r; Sluice's stderr:\n%s"
                            % (golden["sigint"], sigint, stderr))
        assert not problems, ("Sluice differs from PySpark %s:\n" % golden["pyspark_version"]
                              + "\n".join(problems))
    finally:
        if conn is not None:
            conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.close()
