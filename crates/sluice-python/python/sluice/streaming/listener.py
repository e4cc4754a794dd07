"""``StreamingListener``: PySpark's listener interface, fed by the engine's listener bus."""

from typing import Any, Dict, Optional


class Duration:
    """A duration, as PySpark's Java ``Duration`` shows it."""

    def __init__(self, ms: int) -> None:
        self._ms = ms

    def milliseconds(self) -> int:
        """The duration in ms."""
        return self._ms


class BatchInfo:
    """One batch's information (PySpark's ``batchInfo()``)."""

    def __init__(self, info: Dict[str, Any]) -> None:
        self._info = info

    def batchTime(self) -> Duration:
        """The batch time."""
        return Duration(self._info["batch_time_ms"])

    def submissionTime(self) -> int:
        """When the batch was submitted, ms."""
        return self._info["submission_time_ms"]

    def numRecords(self) -> int:
        """Records the batch read."""
        return self._info["num_records"]

    def schedulingDelay(self) -> Optional[int]:
        """ms from submission to start, once started (else -1, as PySpark)."""
        v = self._info["scheduling_delay_ms"]
        return -1 if v is None else v

    def processingDelay(self) -> Optional[int]:
        """ms of processing, once completed (else -1)."""
        v = self._info["processing_delay_ms"]
        return -1 if v is None else v

    def totalDelay(self) -> Optional[int]:
        """Scheduling plus processing delay (else -1)."""
        v = self._info["total_delay_ms"]
        return -1 if v is None else v


class _Event:
    def __init__(self, info: Dict[str, Any]) -> None:
        self._info = info

    def batchInfo(self) -> BatchInfo:
        return BatchInfo(self._info)

    def outputOperationInfo(self) -> Dict[str, Any]:
        return self._info

    def receiverInfo(self) -> Dict[str, Any]:
        return self._info

    def time(self) -> int:
        return self._info.get("time_ms", 0)


class StreamingListener:
    """Override the methods for the events you want; each gets an event object."""

    def onStreamingStarted(self, streamingStarted) -> None:
        pass

    def onReceiverStarted(self, receiverStarted) -> None:
        pass

    def onReceiverError(self, receiverError) -> None:
        pass

    def onReceiverStopped(self, receiverStopped) -> None:
        pass

    def onBatchSubmitted(self, batchSubmitted) -> None:
        pass

    def onBatchStarted(self, batchStarted) -> None:
        pass

    def onBatchCompleted(self, batchCompleted) -> None:
        pass

    def onOutputOperationStarted(self, outputOperationStarted) -> None:
        pass

    def onOutputOperationCompleted(self, outputOperationCompleted) -> None:
        pass


_METHODS = {
    "streaming_started": "onStreamingStarted",
    "batch_submitted": "onBatchSubmitted",
    "batch_started": "onBatchStarted",
    "batch_completed": "onBatchCompleted",
    "output_operation_started": "onOutputOperationStarted",
    "output_operation_completed": "onOutputOperationCompleted",
    "receiver_started": "onReceiverStarted",
    "receiver_error": "onReceiverError",
    "receiver_stopped": "onReceiverStopped",
}


class _Dispatch:
    """What the engine calls: turns ``(kind, info)`` into the listener's method call."""

    def __init__(self, listener: StreamingListener) -> None:
        self.listener = listener

    def _on_event(self, kind: str, info: Dict[str, Any]) -> None:
        method = getattr(self.listener, _METHODS[kind], None)
        if method is not None:
            method(_Event(info))
