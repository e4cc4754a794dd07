"""``pyspark.streaming`` of the import shim: Sluice's streaming API (see ``pyspark``).

With ``SLUICE_SHIM_BATCHES=<file>`` in the environment (``bench/run.sh`` sets it), every
``StreamingContext`` also appends one line per completed batch to that file:

    BATCHINFO batch_time_ms=.. submission_time_ms=.. scheduling_delay_ms=.. processing_delay_ms=.. output_ops=..

A batch's processing delay (Spark's and Sluice's listener) runs from the start of its jobs;
generating them (from the batch time to ``submission_time_ms``) is not in it. In Spark that
only builds RDDs; the harness reads these lines to check that it stays small in Sluice's Python
package too (see ``bench/README.md``, "Sluice from Python"). Without the variable this module
is a plain re-export of ``sluice.streaming``.
"""

import os

import sluice.streaming
from sluice.streaming import DStream  # noqa: F401
from sluice.streaming.listener import StreamingListener

__all__ = ["DStream", "StreamingContext"]


class _BatchLog(StreamingListener):
    """Appends every completed batch's times to a file."""

    def __init__(self, path):
        self._path = path

    def onBatchCompleted(self, batchCompleted):
        i = batchCompleted.batchInfo()
        # The number of output operations is not in PySpark's BatchInfo; Sluice's has it.
        ops = getattr(i, "_info", {}).get("num_output_ops", -1)
        with open(self._path, "a") as f:
            f.write("BATCHINFO batch_time_ms=%d submission_time_ms=%d scheduling_delay_ms=%d "
                    "processing_delay_ms=%d output_ops=%d\n"
                    % (i.batchTime().milliseconds(), i.submissionTime(), i.schedulingDelay(),
                       i.processingDelay(), ops))


if os.environ.get("SLUICE_SHIM_BATCHES"):
    class StreamingContext(sluice.streaming.StreamingContext):
        """Sluice's ``StreamingContext``, logging its batches' times (see above)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.addStreamingListener(_BatchLog(os.environ["SLUICE_SHIM_BATCHES"]))
else:
    StreamingContext = sluice.streaming.StreamingContext
