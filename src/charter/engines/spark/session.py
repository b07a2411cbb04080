"""The Spark session the engine runs on: one per master URL per process, started on first use.

``CHARTER_SPARK_MASTER`` is a master URL (``local[*]``, ``spark://host:7077``, ``yarn``,
``k8s://...``), with which this process starts a driver JVM, or a Spark Connect URL
(``sc://host:15002``), with which it is a thin client and needs no JVM. Charter's session
settings: UTC session time zone (timestamps cross the seam as UTC instants), Arrow transfers on,
few shuffle partitions (a batch is one file, not a warehouse table), no web UI. In local mode
the Python workers run this process's interpreter unless ``PYSPARK_PYTHON`` says otherwise; on a
cluster they must have charter installed (``pip install charter[spark]``) in ``PYSPARK_PYTHON``.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MASTER_SETTING = "CHARTER_SPARK_MASTER"
_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.ansi.enabled": "false",
}
_sessions: dict[str, SparkSession] = {}
_lock = threading.Lock()


def is_connect(master: str) -> bool:
    """Whether ``master`` is a Spark Connect URL (``sc://``)."""
    return master.strip().lower().startswith("sc://")


def spark_session(master: str) -> SparkSession:
    """The session on ``master``, started once (an existing active session is reused)."""
    with _lock:
        session = _sessions.get(master)
        if session is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName("charter")
            builder = builder.remote(master) if is_connect(master) else builder.master(master)
            for key, value in _CONF.items():
                builder = builder.config(key, value)
            if master.strip().lower().startswith("local"):
                # Local workers run this interpreter (with charter and its libraries), not
                # whatever `python3` is first on PATH; a cluster's workers use PYSPARK_PYTHON.
                os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            session = builder.getOrCreate()
            _sessions[master] = session
        return session


def stop_session(master: str) -> None:
    """Stop the session on ``master`` if one was started; the next use starts a new one."""
    with _lock:
        session = _sessions.pop(master, None)
    if session is not None:
        session.stop()
