"""Deterministic streaming tests: a context on a manual clock, moved batch by batch.

::

    sc = SparkContext("local[2]", "test", conf=manual_clock_conf())
    ssc = StreamingContext(sc, 1)
    ...
    ssc.start()
    run_batches(ssc, 3)   # batches at 1 s, 2 s, 3 s, each completed on return
"""

from sluice.conf import SparkConf


def manual_clock_conf(conf: SparkConf = None) -> SparkConf:
    """Settings whose streaming contexts run on a manual clock."""
    conf = conf or SparkConf()
    return conf.set("sluice.streaming.clock", "manual")


def run_batches(ssc, n: int = 1, timeout: float = 60.0) -> None:
    """Moves the manual clock ``n`` batch intervals, waiting for each batch to complete.

    A context restored from a checkpoint resumes after the checkpoint's batch: its clock is
    first moved there."""
    interval = ssc._interval_ms
    recovered = ssc._native.recovered_from()
    if recovered is not None and ssc._manual_time < recovered:
        ssc._native.advance(recovered - ssc._manual_time)
        ssc._manual_time = recovered
    for _ in range(n):
        ssc._native.advance(interval)
        ssc._manual_time += interval
        if not ssc._native.await_batch(ssc._manual_time, timeout):
            raise TimeoutError("batch %d ms did not complete in %s s"
                               % (ssc._manual_time, timeout))
