"""``SparkConf``: an application's settings, as PySpark spells them."""

import json
import os
from typing import Dict, List, Optional, Tuple


class SparkConf:
    """Key-value settings of an application (``spark.*`` keys map to Sluice's own)."""

    def __init__(self, loadDefaults: bool = True) -> None:
        self._conf: Dict[str, str] = {}
        if loadDefaults:
            # Settings given to sluice-submit (--master, --conf ...).
            self._conf.update(json.loads(os.environ.get("SLUICE_SUBMIT_CONF", "{}")))

    def set(self, key: str, value) -> "SparkConf":
        """Sets ``key`` to ``str(value)``."""
        self._conf[key] = str(value)
        return self

    def setIfMissing(self, key: str, value) -> "SparkConf":
        """Sets ``key`` unless it is set."""
        self._conf.setdefault(key, str(value))
        return self

    def setMaster(self, value: str) -> "SparkConf":
        """The master: ``local``, ``local[N]`` or ``local[*]``."""
        return self.set("spark.master", value)

    def setAppName(self, value: str) -> "SparkConf":
        """The application's name."""
        return self.set("spark.app.name", value)

    def setAll(self, pairs: List[Tuple[str, str]]) -> "SparkConf":
        """Sets every ``(key, value)``."""
        for k, v in pairs:
            self.set(k, v)
        return self

    def get(self, key: str, defaultValue: Optional[str] = None) -> Optional[str]:
        """The value of ``key``, or ``defaultValue``."""
        return self._conf.get(key, defaultValue)

    def contains(self, key: str) -> bool:
        """Whether ``key`` is set."""
        return key in self._conf

    def getAll(self) -> List[Tuple[str, str]]:
        """Every setting."""
        return list(self._conf.items())

    def toDebugString(self) -> str:
        """The settings, one ``key=value`` per line."""
        return "\n".join("%s=%s" % kv for kv in self._conf.items())
