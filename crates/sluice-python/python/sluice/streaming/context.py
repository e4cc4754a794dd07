"""``StreamingContext``: the entry point of a streaming job, as in PySpark."""

import atexit
import threading
import time
import weakref
from datetime import datetime
from typing import Any, Callable, List, Optional

from sluice import _native
from sluice._native import SluiceError
from sluice.context import SparkContext
from sluice.rdd import RDD
from sluice.streaming.dstream import DStream, _seconds
from sluice.streaming.listener import StreamingListener, _Dispatch

_lock = threading.RLock()
_active: Optional["StreamingContext"] = None
_all: "weakref.WeakSet[StreamingContext]" = weakref.WeakSet()


class StreamingContext:
    """A streaming job on a ``SparkContext`` with a batch interval in seconds.

    With ``sluice.streaming.clock=manual`` in the context's settings the job runs on a manual
    clock (see ``sluice.testing``), so tests are deterministic.
    """

    def __init__(self, sparkContext: SparkContext, batchDuration: float = 1) -> None:
        self._sc = sparkContext
        self._interval_ms = _seconds(batchDuration, "batchDuration")
        self._native = _native.NativeStreamingContext(sparkContext._native, self._interval_ms)
        self._manual_time = 0
        self._stateful = 0
        _all.add(self)

    @property
    def sparkContext(self) -> SparkContext:
        """The ``SparkContext`` the job runs on."""
        return self._sc

    @classmethod
    def getOrCreate(cls, checkpointPath: str, setupFunc: Callable[[], "StreamingContext"]
                    ) -> "StreamingContext":
        """The context ``setupFunc`` builds, restored from the checkpoint in
        ``checkpointPath`` when there is one, and checkpointing there in any case.

        As in PySpark, a restarted job continues where its last checkpoint left it: its
        sources replay the batches recorded after it and its state (``updateStateByKey``) is
        restored. Unlike PySpark, the graph is built anew by ``setupFunc`` every time (never
        unpickled from the checkpoint), and the state is matched to it by operator, so a job
        whose functions changed still restores; a checkpoint that does not fit the new graph
        fails with the reason."""
        return _native.NativeStreamingContext.get_or_create(checkpointPath, setupFunc)

    @classmethod
    def getActive(cls) -> Optional["StreamingContext"]:
        """The started, not yet stopped context, if any."""
        return _active

    @classmethod
    def getActiveOrCreate(cls, checkpointPath: Optional[str],
                          setupFunc: Callable[[], "StreamingContext"]) -> "StreamingContext":
        """The active context, or one from ``getOrCreate`` (or ``setupFunc``)."""
        if _active is not None:
            return _active
        if checkpointPath is None:
            return setupFunc()
        return cls.getOrCreate(checkpointPath, setupFunc)

    def _stateful_name(self, kind: str) -> str:
        """The name of the next stateful operator of ``kind``: its checkpointed state is
        matched by it."""
        self._stateful += 1
        return "%s-%d" % (kind, self._stateful)

    def recoveredFrom(self) -> Optional[datetime]:
        """The batch time of the checkpoint ``getOrCreate`` restored this context from, or
        ``None`` for a new job (a Sluice addition)."""
        ms = self._native.recovered_from()
        return None if ms is None else datetime.fromtimestamp(ms / 1000.0)

    def _stream(self, native) -> DStream:
        return DStream(native, self, self._sc)

    def socketTextStream(self, hostname: str, port: int, storageLevel: Any = None) -> DStream:
        """The lines a TCP server at ``hostname:port`` sends."""
        if not 0 < int(port) < 65536:
            raise ValueError("port must be in 1..65535, got %r" % (port,))
        return self._stream(self._native.socket_text_stream(hostname, int(port)))

    def textFileStream(self, directory: str) -> DStream:
        """The lines of files that appear in ``directory``."""
        return self._stream(self._native.text_file_stream(directory))

    def queueStream(self, rdds: List[Any], oneAtATime: bool = True, default: Any = None
                    ) -> DStream:
        """A stream of the given RDDs (or lists, made into RDDs), one per batch or all at
        once; then ``default`` each batch."""
        if default is not None and not isinstance(default, RDD):
            default = self._sc.parallelize(default)
        if not rdds and default is not None:
            rdds = [rdds]
        rdds = [r if isinstance(r, RDD) else self._sc.parallelize(r) for r in rdds]
        native = self._native.queue_stream([r._native for r in rdds], oneAtATime,
                                           default._native if default is not None else None)
        return self._stream(native)

    def union(self, *dstreams: DStream) -> DStream:
        """The records of all the streams, batch by batch."""
        if not dstreams:
            raise ValueError("should have at least one DStream to union")
        if len(dstreams) == 1:
            return dstreams[0]
        return self._stream(self._native.union([d._native for d in dstreams]))

    def transform(self, dstreams: List[DStream], transformFunc: Callable[..., RDD]
                  ) -> DStream:
        """A stream whose RDD each batch is ``transformFunc([rdds...], time)``."""
        if not dstreams:
            raise ValueError("transform needs at least one DStream")
        if len(dstreams) == 1:
            return dstreams[0].transform(lambda t, r: transformFunc([r], t))
        if len(dstreams) == 2:
            return dstreams[0].transformWith(lambda t, a, b: transformFunc([a, b], t),
                                             dstreams[1])
        raise ValueError("transform over more than two streams is not supported yet")

    def remember(self, duration: float) -> None:
        """Keeps every stream's RDDs for at least ``duration`` seconds."""
        self._native.remember(_seconds(duration, "duration"))

    def checkpoint(self, directory: str) -> None:
        """Checkpoints the job into ``directory``."""
        self._native.checkpoint(directory)

    def addStreamingListener(self, streamingListener: StreamingListener) -> None:
        """Delivers the job's events to ``streamingListener``."""
        self._native.add_listener(_Dispatch(streamingListener))

    def start(self) -> None:
        """Starts the job."""
        global _active
        with _lock:
            self._native.start()
            _active = self

    def runBatches(self, batches: int, timeout: float = 60.0) -> None:
        """Runs the job up to its batch number ``batches`` and stops it gracefully, keeping
        the ``SparkContext`` (a Sluice addition, for jobs that must run an exact number of
        batches). Batches count from the first batch of the job's first run: a context
        restored by ``getOrCreate`` runs only the batches after its checkpoint. ``timeout``
        bounds the wait for any one batch; a failed batch raises."""
        if int(batches) < 1:
            raise ValueError("batches must be at least 1, got %r" % (batches,))
        interval = self._interval_ms
        recovered, first = self._native.recovered_from(), self._native.start_time()
        if recovered is not None and first is not None:
            last = first + interval * (int(batches) - 1)
            to_run = max(0, (last - recovered) // interval)
        else:
            to_run = int(batches)
        if to_run == 0:
            return
        self._native.limit_batches(to_run)
        self.start()
        first = self._native.start_time()
        last = first + interval * (int(batches) - 1)
        progress, since = self._native.last_completed_batch(), time.monotonic()
        while not self._native.await_batch(last, 1.0):
            error = self._native.take_error()
            if error is not None or self._native.state() == "stopped":
                self.stop(stopSparkContext=False)
                raise SluiceError(error or "the job stopped before its batch at %d ms" % last)
            done = self._native.last_completed_batch()
            if done != progress:
                progress, since = done, time.monotonic()
            elif time.monotonic() - since > timeout:
                self.stop(stopSparkContext=False)
                raise TimeoutError("no batch completed in %s s" % timeout)
        self.stop(stopSparkContext=False, stopGraceFully=True)
        error = self._native.take_error()
        if error is not None:
            raise SluiceError(error)

    def awaitTermination(self, timeout: Optional[float] = None) -> None:
        """Waits until the job stops (or ``timeout`` seconds); a failed batch raises."""
        self._native.await_termination(timeout, 10_000)

    def awaitTerminationOrTimeout(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds; ``True`` if the job stopped."""
        return self._native.await_termination(timeout, 10_000)

    def stop(self, stopSparkContext: bool = True, stopGraceFully: bool = False) -> None:
        """Stops the job (gracefully: after what was received is processed), and the
        ``SparkContext`` too unless told not to."""
        global _active
        with _lock:
            if self._native.state() == "active":
                self._native.stop(stopGraceFully, 10_000)
            if _active is self:
                _active = None
        if stopSparkContext:
            self._sc.stop()


@atexit.register
def _stop_all() -> None:
    # Background threads must not call into an interpreter that is shutting down.
    for ssc in list(_all):
        try:
            if ssc._native.state() == "active":
                ssc._native.stop(False, 0)
        except Exception:
            pass
