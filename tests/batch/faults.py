"""A dask worker preload for the batch tests: entries with certain ids fail on purpose, on the worker.

Loaded by the tests' clusters (``LocalCluster(preload=[this file])``, or the environment variable
``DASK_DISTRIBUTED__WORKER__PRELOAD`` for a ``qscore batch`` run in a subprocess), never by qscore itself.
In the worker process it wraps the scoring that :func:`qscore.batch.entry.score_entry` calls, so that
the entry whose folder (its id) is named in :data:`FAULTS` kills its worker with SIGKILL, hangs for an
hour, raises an unexpected exception, or waits a few seconds and is then written — while every other
entry is scored as usual.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

#: entry id -> what its scoring does
FAULTS = {"killed": "kill", "hang": "hang", "boom": "raise", "slow": "slow"}
#: seconds the entry 'slow' waits before it is scored and written as usual
SLOW_SECONDS = 6
MESSAGE = "test fault injected by the tests' worker preload"


def dask_setup(worker) -> None:
    import qscore.batch.entry as entry

    original = entry.score_and_write
    if getattr(original, "faulty", False):
        return

    def score_and_write(model, map_path, settings, *, out_dir, **kwargs):
        kind = FAULTS.get(Path(out_dir).name)
        if kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif kind == "hang":
            time.sleep(3600)
        elif kind == "raise":
            raise RuntimeError(MESSAGE)
        elif kind == "slow":  # an entry the driver gives up while it runs, which then writes its files
            time.sleep(SLOW_SECONDS)
        return original(model, map_path, settings, out_dir=out_dir, **kwargs)

    score_and_write.faulty = True
    entry.score_and_write = score_and_write
