"""Batch scoring of many (map, model) entries on a Dask cluster: manifest, results store, cluster, run.

>>> from qscore.batch import BatchSettings, run_batch
>>> report = run_batch("entries.csv", "batch", BatchSettings(archive="emdb"))   # doctest: +SKIP

Modules: :mod:`~qscore.batch.manifest` (entries and shared settings), :mod:`~qscore.batch.entry` (one
entry on a worker), :mod:`~qscore.batch.store` (journal and results tables), :mod:`~qscore.batch.cluster`
(LocalCluster or a running one), :mod:`~qscore.batch.run` (:func:`run_batch`, the driver).
"""

from .manifest import OPTION_COLUMNS, REQUIRED_COLUMNS, BatchEntry, BatchSettings, fingerprint, read_manifest
from .run import BatchInterrupted, BatchProgress, BatchReport, check_out_dir, run_batch
from .store import JOURNAL, RESULT_COLUMNS, ResultsStore, batch_percentiles, rows_to_table

__all__ = ["BatchSettings", "BatchEntry", "BatchProgress", "BatchReport", "BatchInterrupted", "ResultsStore",
           "read_manifest", "fingerprint", "run_batch", "batch_percentiles", "rows_to_table", "check_out_dir",
           "RESULT_COLUMNS", "REQUIRED_COLUMNS", "OPTION_COLUMNS", "JOURNAL"]
