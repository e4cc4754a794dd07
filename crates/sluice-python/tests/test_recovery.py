"""A checkpointed Python job killed with SIGKILL at random moments and restarted through
``StreamingContext.getOrCreate``: its output must end up byte for byte the output of a run
without failures (examples/recoverable_word_count.py: a directory source, updateStateByKey,
checkpoints, saveAsTextFiles, on the step clock)."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "recoverable_word_count.py"
BATCHES = 30
KILLS = 5


def _write_inputs(directory):
    """File k holds 50 words and is modified at k - 0.5 s: the step clock's batch k reads it."""
    directory.mkdir()
    for k in range(1, BATCHES + 1):
        path = directory / ("part-%03d.txt" % k)
        path.write_text(" ".join("w%d" % ((i * k) % 37) for i in range(50)) + "\n")
        os.utime(path, (k - 0.5, k - 0.5))


def _args(tmp, run):
    return [sys.executable, str(EXAMPLE), str(tmp / "input"), str(tmp / ("ckpt-" + run)),
            str(tmp / ("out-" + run) / "counts"), str(BATCHES), "--step"]


def _tree(root):
    """Every file under ``root`` (hidden ones too) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _outputs(root):
    return len(list(root.glob("counts-*"))) if root.exists() else 0


def test_output_after_kills_equals_a_run_without_failures(tmp_path):
    _write_inputs(tmp_path / "input")
    done = subprocess.run(_args(tmp_path, "a"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    reference = _tree(tmp_path / "out-a")
    assert len([k for k in reference if k.endswith("_SUCCESS")]) == BATCHES

    seed = int(os.environ.get("SLUICE_CRASH_SEED", time.time_ns() % 2 ** 32))
    rng = random.Random(seed)
    out_b = tmp_path / "out-b"
    kills, restarts = 0, []
    while kills < KILLS:
        before = _outputs(out_b)
        proc = subprocess.Popen(_args(tmp_path, "b"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        # Kill after a random number of new batch outputs (0 to 3), then a random few ms.
        target = before + rng.randint(0, 3)
        deadline = time.monotonic() + 60
        while proc.poll() is None and _outputs(out_b) < target:
            assert time.monotonic() < deadline, "no progress (seed %d)" % seed
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.02))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            kills += 1
            restarts += [line for line in proc.stderr.read().splitlines()
                         if line.startswith("restarting after batch")]
        else:
            # It finished by itself before its kill: it must have succeeded.
            assert proc.returncode == 0, "seed %d: %s" % (seed, proc.stderr.read())
            if _outputs(out_b) == BATCHES:
                # Nothing left to recover: start over.
                subprocess.run(["rm", "-rf", str(out_b), str(tmp_path / "ckpt-b")], check=True)
        proc.stderr.close()
    done = subprocess.run(_args(tmp_path, "b"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, "seed %d: %s" % (seed, done.stderr)
    restarts += [line for line in done.stderr.splitlines()
                 if line.startswith("restarting after batch")]
    # The runs after a kill continued from a checkpoint (starting over would also give the
    # same output, so this is checked too).
    assert restarts, "seed %d: no run restarted from a checkpoint" % seed
    recovered = _tree(out_b)
    assert sorted(recovered) == sorted(reference), "seed %d" % seed
    for name, data in reference.items():
        assert recovered[name] == data, "seed %d: %s differs" % (seed, name)
