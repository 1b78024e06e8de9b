"""One batch entry, as a worker runs it: score, analyse and write as ``qscore score`` does; one results row.

Nothing here talks to the cluster; :mod:`qscore.batch.run` submits :func:`score_entry` to it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import time
import warnings
from pathlib import Path

import numpy as np

from ..analysis.local_resolution import READING_KEYS
from ..core.engine import compute_qscores
from ..errors import QScoreError, QScoreWarning
from ..pipeline.outputs import score_and_write
from ..pipeline.scoring import analysis_settings
from ..provenance import utc_now, versions
from ..types import DensityMap, QParams
from .manifest import BatchEntry, BatchSettings

__all__ = ["score_entry", "failed_row", "describe_error", "warm_up", "cancel_marker", "CANCELLED"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _base_row(entry: BatchEntry, settings: BatchSettings) -> dict:
    return {"id": entry.id, "resolution": entry.resolution, "sigma": entry.sigma, "emdb_compat": entry.emdb_compat,
            "permissive": entry.permissive, "num_points": entry.num_points, "shell_step": entry.shell_step,
            "max_radius": entry.max_radius, "map": entry.map, "model": entry.model,
            "local_resolution": entry.local_resolution, "threads": settings.threads}


def _finish_row(row: dict, t0: float) -> dict:
    v = versions()
    row.update(elapsed_s=round(time.perf_counter() - t0, 3), worker=f"{socket.gethostname()}:{os.getpid()}",
               finished_at=utc_now(),
               qscore_version=v["qscore"], versions=json.dumps(v, sort_keys=True))
    return row


def failed_row(entry: BatchEntry, settings: BatchSettings, error: str, elapsed: float = 0.0) -> dict:
    """The results-table row of an entry that failed (also for failures the driver sees).

    Parameters
    ----------
    entry : BatchEntry; settings : BatchSettings
    error : str — the reason, one line
    elapsed : float — seconds the entry ran

    Returns
    -------
    dict — the row (status 'failed'), without its fingerprint
    """
    row = _finish_row({**_base_row(entry, settings), "status": "failed", "error": error},
                      time.perf_counter() - elapsed)
    row["worker"] = None
    return row


def describe_error(exc: BaseException) -> str:
    """One line for an entry's failure: the package's own message, else the exception's type and text."""
    if isinstance(exc, QScoreError):
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = f"out of memory while scoring (MemoryError{': ' + str(exc) if str(exc) else ''})"
    else:
        text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    return " ".join(_ANSI.sub("", text).split())  # one line, without terminal colours


def _result_columns(result) -> dict:
    """Results-table columns of a scored entry, from its result and the analysis cached on it."""
    analysis = result.analysis
    counts = result.counts()
    corr = analysis.correlation
    molmap = corr.molmap if corr is not None else None
    emodel = corr.emodel if corr is not None else None
    expected, rel, flags = analysis.expected, analysis.relative, analysis.flag_counts

    def cc(section, name):
        return None if section is None or section.skipped is not None else getattr(section, name)

    return {
        "qscore": result.mean_q(), "qscore_emdb": analysis.emdb.value if analysis.emdb else None,
        "qscore_protein": _mean_or_none(result, "protein"),
        "qscore_nucleic": _mean_or_none(result, "nucleic"),
        "q_resolution": analysis.q_resolution.value, "q_expected": expected.Q_mean if expected else None,
        "q_low95": expected.Q_low95 if expected else None, "q_high95": expected.Q_high95 if expected else None,
        "q_flag": analysis.overall.get("Q_flag"),
        "q_relative_all": rel.Q_relative_all if rel else None,
        "q_relative_resolution": rel.Q_relative_resolution if rel else None,
        "q_relative_n_window": rel.n_window if rel else None,
        "cc_molmap": cc(molmap, "cc"), "cc_mean_molmap": cc(molmap, "cc_mean"), "cc_emodel": cc(emodel, "cc"),
        "cc_mean_emodel": cc(emodel, "cc_mean"),
        "atoms": counts["atoms"], "scored_atoms": counts["scored"], "hydrogens": counts["hydrogens"],
        "outside_map": counts["outside_map"], "residues": counts["residues"], "chains": counts["chains"],
        "residues_below": flags.residues_below if flags else None,
        "residues_above": flags.residues_above if flags else None,
        **_local_columns(analysis.local),
    }


def _local_columns(local) -> dict:
    """The local-resolution columns: the median under the model and the residues per reading (None without)."""
    counts = local.counts if local is not None else {}
    return {"local_resolution_median": local.median if local is not None else None,
            **{f"residues_{key}": counts.get(name) for name, key in READING_KEYS.items()}}


def _mean_or_none(result, mol_type: str):
    """Mean Q of one molecule type, or None when the model has none (as the summary leaves it out)."""
    return result.mean_q(mol_type) if (result.scored & (result.atoms.mol_type == mol_type)).any() else None


#: the folder (in the batch folder) where the driver marks the entries it cancelled
CANCELLED = ".cancelled"


def cancel_marker(out_dir, key: str) -> Path:
    """The file whose existence tells the worker running task ``key`` that the driver cancelled it.

    Parameters
    ----------
    out_dir : str or Path — the batch folder
    key : str — the task's dask key

    Returns
    -------
    Path — ``out_dir/.cancelled/<key>``
    """
    return Path(out_dir) / CANCELLED / key


def _cancelled(out_dir: str) -> bool:
    """Whether the driver gave up the task this worker thread runs: it left a cancel marker (Ctrl-C,
    a timeout), or the scheduler released the task (its driver died).  False outside a dask task."""
    try:
        from distributed import get_worker

        worker = get_worker()
        key = worker.get_current_task()
    except (ImportError, ValueError, KeyError):
        return False
    if cancel_marker(out_dir, str(key)).exists():
        return True
    task = worker.state.tasks.get(key)
    return task is None or task.state in ("cancelled", "released", "forgotten")


def score_entry(entry: BatchEntry, settings: BatchSettings, out_dir: str) -> dict:
    """Score one entry exactly as ``qscore score`` does and write its files to ``out_dir/<id>/``.

    Runs on a worker.  Any failure (a missing or corrupt file, an unusable map or model, any other
    exception) becomes a row with status 'failed' and the reason; the entry's folder is then removed,
    so a folder exists only for an entry whose row says 'ok'.  An entry its driver cancelled while it
    ran (Ctrl-C, a timeout, a driver that died: :func:`_cancelled`) removes its folder once written, as
    no row will record it.

    Parameters
    ----------
    entry : BatchEntry — the manifest row, defaults filled in
    settings : BatchSettings — what the batch's entries share
    out_dir : str — the batch folder (as the worker sees it)

    Returns
    -------
    dict — the entry's row of the results table (without its fingerprint, which the driver adds)
    """
    t0 = time.perf_counter()
    folder = Path(out_dir) / entry.id
    row = _base_row(entry, settings)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", QScoreWarning)
            analysis = analysis_settings(entry.sigma, entry.resolution, local_resolution=entry.local_resolution,
                                         **settings.analysis_kwargs())
            if folder.exists():
                shutil.rmtree(folder)
            run = score_and_write(entry.model, entry.map, analysis, out_dir=folder, command=settings.command,
                                  report=settings.report, viewer=settings.report_viewer,
                                  **entry.score_kwargs(settings.threads))
        report = run.paths.get("report_html")
        row.update(_result_columns(run.result), status="ok", error=None, outputs=entry.id,
                   report=f"{entry.id}/{Path(report).name}" if report else None,
                   warnings="; ".join(dict.fromkeys(str(w.message) for w in caught)) or None)
        if _cancelled(out_dir):
            shutil.rmtree(folder, ignore_errors=True)
            row.update(status="failed", error="cancelled by the batch's driver; its files were removed")
    except Exception as exc:  # noqa: BLE001 - fault isolation: whatever goes wrong fails this entry only
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
        row.update(status="failed", error=describe_error(exc))
    return _finish_row(row, t0)


def warm_up() -> None:
    """Import qscore and load its compiled kernels (on a worker, before its first entry).

    A worker's first entry then costs what any entry costs, so timeouts measure the entry's own work.
    """
    coords = np.array([[4.0, 4.0, 4.0], [5.5, 4.0, 4.0]])
    grid = np.indices((9, 9, 9)).transpose(1, 2, 3, 0)[..., ::-1].astype(float)
    values = sum(np.exp(-np.sum((grid - c) ** 2, axis=-1)) for c in coords)
    dmap = DensityMap(values=values, origin=np.zeros(3), voxel_size=np.ones(3))
    with contextlib.suppress(Exception):  # a warm-up is an optimisation, never a failure
        compute_qscores(coords, np.zeros(2, bool), np.arange(2), dmap, QParams())
