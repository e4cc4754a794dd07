"""The portable hash equals CPython's hash with PYTHONHASHSEED=0 (the hash PySpark places
keys by), checked against a real interpreter run with that seed."""

import json
import subprocess
import sys

from sluice import portable_hash

KEYS = ["", "a", "word", "hello world, a longer key of more than eight bytes",
        "café", "日本語", "emoji 😀", b"", b"bytes", 0, 1, -1, 2 ** 70, 1.5, -0.0, True, None,
        ("a", 1), ("nested", ("t", None)), ()]


def _reference():
    code = (
        "import json,sys\n"
        "def ph(x):\n"
        "    if x is None: return 0\n"
        "    if isinstance(x, tuple):\n"
        "        h = 0x345678\n"
        "        for i in x:\n"
        "            h ^= ph(i); h *= 1000003; h &= sys.maxsize\n"
        "        h ^= len(x)\n"
        "        return -2 if h == -1 else h\n"
        "    return hash(x)\n"
        "keys = eval(sys.stdin.read())\n"
        "print(json.dumps([ph(k) for k in keys]))\n")
    out = subprocess.run([sys.executable, "-c", code], input=repr(KEYS), text=True,
                         capture_output=True, check=True,
                         env={"PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout)


def test_portable_hash_matches_python_with_seed_zero():
    if sys.version_info < (3, 11):
        import pytest
        pytest.skip("CPython < 3.11 hashes strings with SipHash-2-4")
    assert [portable_hash(k) for k in KEYS] == _reference()


def test_portable_hash_is_stable_across_processes():
    code = "from sluice import portable_hash; print(portable_hash(('k', 'v', b'x')))"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2", "random")}
    assert len(runs) == 1
