"""Batch scoring: every (map, model) entry of a manifest, on local processes or a Dask cluster.

A *manifest* is a CSV/TSV table with one entry per row: ``id``, ``map``, ``model``, ``resolution``
and optionally per-entry scoring options (``sigma``, ``emdb_compat``, ``permissive``,
``num_points``, ``shell_step``, ``max_radius``) that override the batch's.  Each entry is scored
exactly as ``qscore score`` scores it (:func:`qscore.api.analysis_inputs`, :func:`qscore.api.score`,
:func:`qscore.outputs.analyse_and_write`), its files written under ``OUT/<id>/``, and one row per
entry goes to ``OUT/results.parquet`` and ``OUT/results.csv``.

Execution always goes through ``dask.distributed``: by default a
``LocalCluster(n_workers=N, threads_per_worker=1, processes=True)`` on this machine, or the
scheduler of a running cluster.  Only paths travel to the workers, which read their own files and
write the entry's outputs; the driver (the process that runs :func:`run_batch`) keeps the results
table.  At most one entry runs per worker thread at a time, and the scheduler's ``allowed_failures``
is set to 0 for the batch, so a worker killed by the operating system (out of memory, a crash) fails
exactly the entry it was running, at once.

Every finished entry is appended to a journal (``OUT/.results.journal.jsonl``, flushed to disk)
before it counts as done; the Parquet and CSV tables are atomic snapshots of the journal, rewritten
as entries finish (at most ~10% of the driver's time goes to rewriting them).  A crash or Ctrl-C
therefore never loses a finished entry, and rerunning the command skips every entry already finished
with the same inputs (file sizes and modification times) and parameters.

Testing aid: the environment variable ``QSCORE_BATCH_TEST_FAULTS`` (``id:kind,id:kind``; kind
``kill``, ``hang`` or ``raise``), read by :func:`run_batch`, makes the task of that entry kill its
own worker process with SIGKILL, sleep for an hour, or raise an unexpected exception.  It exists
so the tests can check fault isolation; never set it otherwise.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import sys
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputFileError, OutputError, ParameterError, QScoreError, QScoreWarning

log = logging.getLogger("qscore.batch")

#: columns every manifest must have
REQUIRED_COLUMNS = ("id", "map", "model", "resolution")
#: optional per-entry columns and how their cells are read (an empty cell: the batch's value)
OPTION_COLUMNS = {"sigma": float, "emdb_compat": bool, "permissive": bool, "num_points": int,
                  "shell_step": float, "max_radius": float}
#: files of a batch folder (an entry id may not take these names)
RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
STATE_FILE = "batch.json"
JOURNAL = ".results.journal.jsonl"
STATE_FORMAT = "qscore-batch/1"
#: environment variable of the test-only fault hooks (see the module docstring)
TEST_FAULTS_ENV = "QSCORE_BATCH_TEST_FAULTS"
TEST_FAULT_KINDS = ("kill", "hang", "raise")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TRUE = frozenset({"1", "true", "yes", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "n", "f"})
#: how many problems an error message lists
PROBLEMS_SHOWN = 10
#: seconds between checks of the running entries (timeouts, new workers)
POLL_SECONDS = 0.5
#: seconds a cluster may have no worker at all before the batch stops
NO_WORKER_SECONDS = 60.0

#: the results table: column -> kind ('str', 'float', 'int', 'bool'), in order
RESULT_COLUMNS = {
    "id": "str", "status": "str", "error": "str",
    "resolution": "float", "qscore": "float", "qscore_protein": "float", "qscore_nucleic": "float",
    "q_resolution": "float", "q_expected": "float", "q_low95": "float", "q_high95": "float", "q_flag": "str",
    "q_relative_all": "float", "q_relative_resolution": "float", "q_relative_n_window": "int",
    "batch_relative_all": "float", "batch_relative_resolution": "float", "batch_n_window": "int",
    "cc_molmap": "float", "cc_mean_molmap": "float", "cc_emodel": "float", "cc_mean_emodel": "float",
    "atoms": "int", "scored_atoms": "int", "hydrogens": "int", "outside_map": "int", "residues": "int",
    "chains": "int", "residues_below": "int", "residues_above": "int",
    "sigma": "float", "emdb_compat": "bool", "permissive": "bool", "num_points": "int", "shell_step": "float",
    "max_radius": "float", "map": "str", "model": "str", "outputs": "str",
    "elapsed_s": "float", "finished_at": "str", "worker": "str", "threads": "int", "warnings": "str",
    "qscore_version": "str", "versions": "str", "fingerprint": "str",
}
_DTYPES = {"str": "string", "float": "float64", "int": "Int64", "bool": "boolean"}


# ---------------------------------------------------------------------------------------------
# Entries and settings
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchSettings:
    """What every entry shares: defaults of the per-entry options, the analysis, threads, timeout.

    Attributes
    ----------
    sigma, emdb_compat, permissive, num_points, shell_step, max_radius : scoring options (as for
        :func:`qscore.api.score`), the defaults of entries whose manifest cell is empty
    archive : str, optional — archive CSV for each entry's percentiles (``'emdb'``: the downloaded one)
    archive_resolution_column, archive_q_column : str, optional — its columns
    window : float — percentile window w, Å (also for the percentiles against the batch itself)
    min_entries : int — fewest entries within ±w for a percentile by resolution
    expected_model : str, optional — JSON expected-Q curve instead of the built-in one
    correlation : bool — also the map-model CC and CC-mean (as ``qscore score`` without ``--no-cc``)
    threads : int — qscore's kernel threads in each task (T)
    timeout : float, optional — seconds an entry may run before it is failed and its worker restarted
    command : str — the command line, recorded in each entry's summary
    """

    sigma: float = 0.4
    emdb_compat: bool = False
    permissive: bool = False
    num_points: int = 8
    shell_step: float = 0.1
    max_radius: float = 2.0
    archive: str | None = None
    archive_resolution_column: str | None = None
    archive_q_column: str | None = None
    window: float = 0.5
    min_entries: int = 10
    expected_model: str | None = None
    correlation: bool = True
    threads: int = 1
    timeout: float | None = None
    command: str = field(default_factory=lambda: " ".join(sys.argv))

    def analysis_kwargs(self) -> dict:
        """The analysis options, as :func:`qscore.api.analysis_inputs` takes them (after sigma, resolution)."""
        return {"archive_path": self.archive, "resolution_column": self.archive_resolution_column,
                "q_column": self.archive_q_column, "window": self.window, "min_entries": self.min_entries,
                "expected_model": self.expected_model}


@dataclass(frozen=True)
class BatchEntry:
    """One row of a manifest, with the batch's defaults filled in and paths made absolute."""

    id: str
    map: str
    model: str
    resolution: float
    sigma: float
    emdb_compat: bool
    permissive: bool
    num_points: int
    shell_step: float
    max_radius: float
    line: int = 0
    test_fault: str | None = None

    def score_kwargs(self, threads: int) -> dict:
        """Keyword arguments of :func:`qscore.api.score` for this entry."""
        return {"sigma": self.sigma, "resolution": self.resolution, "emdb_compat": self.emdb_compat,
                "permissive": self.permissive, "num_points": self.num_points, "shell_step": self.shell_step,
                "max_radius": self.max_radius, "threads": threads}


def _file_state(path) -> list:
    """[path, size, mtime_ns] of a file, or [path, None, None] when it cannot be seen."""
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None, None]
    return [str(path), st.st_size, st.st_mtime_ns]


def fingerprint(entry: BatchEntry, settings: BatchSettings) -> str:
    """A digest of everything an entry's results depend on: its files (sizes, times) and parameters.

    Threads, timeouts and the command line are left out (they do not change the numbers).
    """
    archive = settings.archive
    if archive is not None and str(archive).lower() != "emdb":
        archive = _file_state(archive)
    state = {"map": _file_state(entry.map), "model": _file_state(entry.model),
             "options": {k: v for k, v in dataclasses.asdict(entry).items()
                         if k not in ("id", "map", "model", "line", "test_fault")},
             "archive": archive, "archive_columns": [settings.archive_resolution_column, settings.archive_q_column],
             "window": settings.window, "min_entries": settings.min_entries, "correlation": settings.correlation,
             "expected_model": None if settings.expected_model is None else _file_state(settings.expected_model)}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:24]


# ---------------------------------------------------------------------------------------------
# The manifest
# ---------------------------------------------------------------------------------------------

def _parse_cell(text: str, kind, column: str):
    if kind is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"{column} '{text}' is not a yes/no value (true/false, yes/no, 1/0)")
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{column} '{text}' is not {'an integer' if kind is int else 'a number'}") from None
    if kind is float and not math.isfinite(value):
        raise ValueError(f"{column} '{text}' is not a finite number")
    return value


def read_manifest(path, settings: BatchSettings | None = None) -> list[BatchEntry]:
    """Read and check a manifest: CSV (``.csv``), TSV (``.tsv``/``.tab``; other names: by the header).

    Column names are matched case-insensitively.  Lines that start with ``#`` and blank lines are
    skipped.  Relative map and model paths are resolved against the manifest's folder (``~`` is
    expanded).  Every row is checked (ids, numbers, option ranges, the expected-Q curve for each
    sigma) and every problem is reported at once; whether the files exist is left to the entries
    (a missing file fails its entry, not the batch).

    Parameters
    ----------
    path : str or Path
    settings : BatchSettings, optional — the batch's defaults for empty option cells

    Returns
    -------
    list of BatchEntry, in the manifest's order

    Raises
    ------
    InputFileError — missing or unreadable file, missing or unknown columns, duplicate ids, malformed rows
    ParameterError — option values out of range
    """
    from .analysis.expected import check_resolution
    from .api import analysis_inputs
    from .core.engine import QParams

    settings = settings or BatchSettings()
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"Manifest '{p}' does not exist{' (it is a folder)' if p.is_dir() else ''}; give a "
                             "CSV/TSV file with columns id, map, model, resolution (one row per entry).")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"Manifest '{p}' cannot be read as text ({exc}); give a UTF-8 CSV/TSV file.") from None
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputFileError(f"Manifest '{p}' is empty; it needs a header line (id, map, model, resolution) and "
                             "one row per entry.")
    suffix = p.suffix.lower()
    sep = "\t" if suffix in (".tsv", ".tab") or (suffix != ".csv" and "\t" in lines[0][1]) else ","
    rows = list(csv.reader(io.StringIO("\n".join(ln for _, ln in lines)), delimiter=sep))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [h for h in header if h not in REQUIRED_COLUMNS and h not in OPTION_COLUMNS]
    repeated = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if missing:
        problems.append(f"it lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        problems.append(f"column{'s' if len(unknown) > 1 else ''} {', '.join(repr(u) for u in unknown)} "
                        f"{'are' if len(unknown) > 1 else 'is'} not known (optional columns: "
                        f"{', '.join(OPTION_COLUMNS)})")
    if repeated:
        problems.append(f"column{'s' if len(repeated) > 1 else ''} {', '.join(repeated)} appear more than once")
    if problems:
        raise InputFileError(f"Manifest '{p}': {'; '.join(problems)}. It needs the columns "
                             f"{', '.join(REQUIRED_COLUMNS)} (any case, comma- or tab-separated); found: "
                             f"{', '.join(header)}.")
    if len(rows) == 1:
        raise InputFileError(f"Manifest '{p}' has a header but no entries; add one row per (map, model) pair.")

    folder = p.resolve().parent
    entries, problems, seen = [], [], {}
    for (line, _), cells in zip(lines[1:], rows[1:], strict=True):
        where = f"line {line}"
        if len(cells) != len(header):
            problems.append(f"{where} has {len(cells)} fields but the header has {len(header)}")
            continue
        rec = {h: c.strip() for h, c in zip(header, cells, strict=True)}
        ident = rec["id"]
        if ident:
            where += f" (id '{ident}')"
        if not _ID_PATTERN.fullmatch(ident) or ident.lower() in (RESULTS_PARQUET, RESULTS_CSV, STATE_FILE):
            problems.append(f"{where}: the id must be 1-128 letters, digits, '.', '_' or '-', starting with a letter "
                            "or digit (it names the entry's output folder)" if ident else f"{where}: the id is empty")
            continue
        if ident.lower() in seen:
            first_line, first_id = seen[ident.lower()]
            case = "" if first_id == ident else f" as '{first_id}': ids differing only in case clash as folder names"
            problems.append(f"{where}: duplicate id (also on line {first_line}{case})")
            continue
        seen[ident.lower()] = (line, ident)
        values, bad = {}, []
        for col in ("map", "model"):
            if not rec[col]:
                bad.append(f"the {col} path is empty")
            values[col] = os.path.abspath(os.path.join(folder, os.path.expanduser(rec[col])))
        for col, kind in {"resolution": float, **OPTION_COLUMNS}.items():
            cell = rec.get(col, "")
            if not cell:
                if col == "resolution":
                    bad.append("the resolution is empty (give the map's resolution in Å)")
                values[col] = getattr(settings, col, None)
                continue
            try:
                values[col] = _parse_cell(cell, kind, col)
            except ValueError as exc:
                bad.append(str(exc))
        if not bad:
            try:
                check_resolution(values["resolution"])
                QParams(sigma=values["sigma"], num_points=values["num_points"], shell_step=values["shell_step"],
                        max_radius=values["max_radius"])
            except ParameterError as exc:
                bad.append(str(exc))
        if bad:
            problems.append(f"{where}: {'; '.join(bad)}")
            continue
        entries.append(BatchEntry(id=ident, line=line, **values))
    if not problems:
        for sigma in sorted({e.sigma for e in entries}):
            try:  # an expected-Q curve for every sigma (the built-in one, or the given one's sigma)
                analysis_inputs(sigma, entries[0].resolution, None, window=settings.window,
                                min_entries=settings.min_entries, expected_model=settings.expected_model)
            except QScoreError as exc:
                problems.append(f"entries with sigma {sigma:g} Å: {exc}")
    if problems:
        shown = "; ".join(problems[:PROBLEMS_SHOWN])
        more = f"; … and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        raise InputFileError(f"Manifest '{p}' has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
                             f"{shown}{more}. Correct the manifest and run again.")
    return entries


def _now() -> str:
    """The UTC time now, to the second, ISO 8601."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def fault_hooks() -> dict:
    """{id: kind} from the test-only environment variable ``QSCORE_BATCH_TEST_FAULTS`` (empty when unset)."""
    raw = os.environ.get(TEST_FAULTS_ENV, "").strip()
    faults = {}
    for item in filter(None, (s.strip() for s in raw.split(","))):
        ident, _, kind = item.rpartition(":")
        if not ident or kind not in TEST_FAULT_KINDS:
            raise ParameterError(f"{TEST_FAULTS_ENV}='{raw}': each item must be id:kind with kind one of "
                                 f"{', '.join(TEST_FAULT_KINDS)} (a testing aid; unset it otherwise).")
        faults[ident] = kind
    return faults


# ---------------------------------------------------------------------------------------------
# One entry (runs on a worker)
# ---------------------------------------------------------------------------------------------

def _base_row(entry: BatchEntry, settings: BatchSettings) -> dict:
    return {"id": entry.id, "resolution": entry.resolution, "sigma": entry.sigma, "emdb_compat": entry.emdb_compat,
            "permissive": entry.permissive, "num_points": entry.num_points, "shell_step": entry.shell_step,
            "max_radius": entry.max_radius, "map": entry.map, "model": entry.model, "threads": settings.threads}


def _finish_row(row: dict, t0: float) -> dict:
    from .api import versions

    v = versions()
    row.update(elapsed_s=round(time.perf_counter() - t0, 3), worker=f"{socket.gethostname()}:{os.getpid()}",
               finished_at=_now(),
               qscore_version=v["qscore"], versions=json.dumps(v, sort_keys=True))
    return row


def failed_row(entry: BatchEntry, settings: BatchSettings, error: str, elapsed: float = 0.0) -> dict:
    """The row of an entry that failed with ``error`` (also for failures the driver sees)."""
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


def _inject_fault(kind: str) -> None:
    """The test-only faults of ``QSCORE_BATCH_TEST_FAULTS``."""
    if kind == "kill":
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
    elif kind == "hang":
        time.sleep(3600)
    elif kind == "raise":
        raise RuntimeError(f"test fault injected by {TEST_FAULTS_ENV}")


def _result_columns(result, analysis: dict) -> dict:
    """Results-table columns of a scored entry, from its summary and analysis (:func:`analyse_and_write`)."""
    s = result.summary()
    summary = analysis["summary"]
    cc = analysis.get("correlation") or {}
    molmap, emodel = cc.get("molmap") or {}, cc.get("emodel") or {}
    counts = s["counts"]
    expected = summary.get("expected") or {}
    overall = summary["model"][0]
    rel = summary.get("relative") or {}
    flags = summary.get("flag_counts") or {}
    by_type = s["mean_q_by_type"]
    return {
        "qscore": s["mean_q"], "qscore_protein": by_type.get("protein", {}).get("mean_q"),
        "qscore_nucleic": by_type.get("nucleic", {}).get("mean_q"),
        "q_resolution": summary["q_resolution"]["value"], "q_expected": expected.get("Q_mean"),
        "q_low95": expected.get("Q_low95"), "q_high95": expected.get("Q_high95"), "q_flag": overall.get("Q_flag"),
        "q_relative_all": rel.get("Q_relative_all"), "q_relative_resolution": rel.get("Q_relative_resolution"),
        "q_relative_n_window": rel.get("n_window"),
        "cc_molmap": molmap.get("cc"), "cc_mean_molmap": molmap.get("cc_mean"), "cc_emodel": emodel.get("cc"),
        "cc_mean_emodel": emodel.get("cc_mean"),
        "atoms": counts["atoms"], "scored_atoms": counts["scored"], "hydrogens": counts["hydrogens"],
        "outside_map": counts["outside_map"], "residues": counts["residues"], "chains": counts["chains"],
        "residues_below": flags.get("residues_below"), "residues_above": flags.get("residues_above"),
    }


def score_entry(entry: BatchEntry, settings: BatchSettings, out_dir: str) -> dict:
    """Score one entry exactly as ``qscore score`` does and write its files to ``out_dir/<id>/``.

    Runs on a worker.  Any failure (a missing or corrupt file, an unusable map or model, any other
    exception) becomes a row with status 'failed' and the reason; the entry's folder is then removed,
    so a folder exists only for an entry whose row says 'ok'.

    Returns
    -------
    dict — the entry's row of the results table (without its fingerprint, which the driver adds)
    """
    from .api import analysis_inputs, score
    from .outputs import analyse_and_write

    t0 = time.perf_counter()
    folder = Path(out_dir) / entry.id
    row = _base_row(entry, settings)
    try:
        if entry.test_fault:
            _inject_fault(entry.test_fault)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", QScoreWarning)
            archive, curve = analysis_inputs(entry.sigma, entry.resolution, **settings.analysis_kwargs())
            result = score(entry.model, entry.map, **entry.score_kwargs(settings.threads))
            result.command = settings.command
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            analysis, _ = analyse_and_write(result, folder, archive=archive, window=settings.window,
                                            min_entries=settings.min_entries, expected_model=curve,
                                            correlation=settings.correlation)
        row.update(_result_columns(result, analysis), status="ok", error=None, outputs=entry.id,
                   warnings="; ".join(dict.fromkeys(str(w.message) for w in caught)) or None)
    except Exception as exc:  # noqa: BLE001 - fault isolation: whatever goes wrong fails this entry only
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
        row.update(status="failed", error=describe_error(exc))
    return _finish_row(row, t0)


def warm_up() -> None:
    """Import qscore and load its compiled kernels (on a worker, before its first entry).

    A worker's first entry then costs what any entry costs, so timeouts measure the entry's own work.
    """
    from .core.engine import QParams, compute_qscores
    from .io.maps import DensityMap

    coords = np.array([[4.0, 4.0, 4.0], [5.5, 4.0, 4.0]])
    grid = np.indices((9, 9, 9)).transpose(1, 2, 3, 0)[..., ::-1].astype(float)
    values = sum(np.exp(-np.sum((grid - c) ** 2, axis=-1)) for c in coords)
    dmap = DensityMap(values=values, origin=np.zeros(3), voxel_size=np.ones(3))
    with contextlib.suppress(Exception):  # a warm-up is an optimisation, never a failure
        compute_qscores(coords, np.zeros(2, bool), np.arange(2), dmap, QParams())


def warm_up_plugin(*, ignore_sigint: bool = False):
    """A ``distributed`` worker plugin that runs :func:`warm_up` on every worker, also restarted ones.

    ``ignore_sigint``: the worker process also ignores SIGINT (for local workers: Ctrl-C in the terminal
    reaches the whole process group, and the driver, not each worker, stops the batch).
    """
    from distributed.diagnostics.plugin import WorkerPlugin

    class WarmUp(WorkerPlugin):
        name = "qscore-warm-up"

        def setup(self, worker):
            if ignore_sigint:
                with contextlib.suppress(ValueError):  # only possible in the main thread
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
            warm_up()

    return WarmUp()


# ---------------------------------------------------------------------------------------------
# The results table
# ---------------------------------------------------------------------------------------------

def _clean(value):
    """A JSON/pandas-neutral cell: numpy scalars to Python, NaN and NA to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def batch_percentiles(table: pd.DataFrame, *, window: float, min_entries: int) -> pd.DataFrame:
    """Percentiles (SPEC §6) of every ok entry of ``table`` against the ok entries of the batch itself.

    Adds ``batch_relative_all``, ``batch_relative_resolution`` (percent; empty where fewer than
    ``min_entries`` entries lie within ±``window`` Å) and ``batch_n_window``.
    """
    from .analysis.relative import relative_q_many

    out = table.copy()
    ok = (out["status"] == "ok").fillna(False).to_numpy(bool) & out["qscore"].notna().to_numpy()
    rel_all = np.full(len(out), np.nan)
    rel_res = np.full(len(out), np.nan)
    n_win = pd.array([pd.NA] * len(out), dtype="Int64")
    if ok.any():
        d = out["resolution"].to_numpy(np.float64, na_value=np.nan)[ok]
        q = out["qscore"].to_numpy(np.float64, na_value=np.nan)[ok]
        res = relative_q_many(q, d, d, q, window=window)
        rel_all[ok] = res["Q_relative_all"]
        rr = res["Q_relative_resolution"]
        rr[res["n_window"] < min_entries] = np.nan
        rel_res[ok] = rr
        n_win[np.flatnonzero(ok)] = res["n_window"]
    out["batch_relative_all"] = rel_all
    out["batch_relative_resolution"] = rel_res
    out["batch_n_window"] = n_win
    return out


def rows_to_table(rows, *, window: float = 0.5, min_entries: int = 10) -> pd.DataFrame:
    """The results table (columns :data:`RESULT_COLUMNS`, typed) of ``rows``, with batch percentiles."""
    table = pd.DataFrame(list(rows), columns=list(RESULT_COLUMNS))  # rows hold plain values (see _clean)
    for col, kind in RESULT_COLUMNS.items():
        table[col] = table[col].astype(_DTYPES[kind])
    return batch_percentiles(table, window=window, min_entries=min_entries)


class ResultsStore:
    """The results of a batch folder: a journal of finished rows and atomic Parquet/CSV snapshots.

    Parameters
    ----------
    folder : Path — the batch folder
    order : list of str — the manifest's ids; the tables hold these entries' rows, in this order
    window, min_entries : for the percentiles against the batch itself
    """

    def __init__(self, folder, order, *, window: float, min_entries: int):
        self.folder = Path(folder)
        self.order = list(order)
        self.window, self.min_entries = window, min_entries
        self.rows: dict[str, dict] = {}
        self._last_flush = -math.inf
        self._flush_cost = 0.0
        self._unflushed = False

    @property
    def journal(self) -> Path:
        return self.folder / JOURNAL

    def load(self) -> None:
        """Read the last snapshot and replay the journal over it (a torn last line is ignored)."""
        parquet, csv_path = self.folder / RESULTS_PARQUET, self.folder / RESULTS_CSV
        table = None
        with contextlib.suppress(Exception):  # an unreadable snapshot: fall back to the CSV, then the journal
            table = pd.read_parquet(parquet) if parquet.is_file() else None
        if table is None and csv_path.is_file():
            with contextlib.suppress(Exception):
                table = pd.read_csv(csv_path, dtype={"id": str, "fingerprint": str})
        if table is not None and {"id", "status", "fingerprint"} <= set(table.columns):
            for rec in table.to_dict("records"):
                self.rows[str(rec["id"])] = {k: _clean(v) for k, v in rec.items()}
        if self.journal.is_file():
            for line in self.journal.read_text(encoding="utf-8", errors="replace").splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    rec = json.loads(line)
                    self.rows[str(rec["id"])] = rec

    def record(self, row: dict) -> None:
        """Add a finished entry: appended to the journal (on disk before this returns), then maybe a snapshot."""
        row = {k: _clean(v) for k, v in row.items()}
        self.rows[row["id"]] = row
        self._unflushed = True
        try:
            with open(self.journal, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise OutputError(f"Cannot append to the batch journal '{self.journal}': {exc.strerror or exc}.") from None
        self.flush_if_due()

    def flush_if_due(self) -> None:
        """Write the tables if rows were recorded since the last snapshot and enough time has passed that
        writing them costs at most ~10% of the time (a large table is rewritten less often)."""
        if self._unflushed and time.monotonic() - self._last_flush >= 10 * self._flush_cost:
            self.flush()

    def table(self) -> pd.DataFrame:
        """The results table: one row per finished entry of the manifest, in its order."""
        return rows_to_table([self.rows[i] for i in self.order if i in self.rows], window=self.window,
                             min_entries=self.min_entries)

    def flush(self) -> pd.DataFrame:
        """Write both tables atomically, then empty the journal (its rows are in them); returns the table."""
        from .io.writers import write_table

        t0 = time.monotonic()
        table = self.table()
        write_table(self.folder / RESULTS_PARQUET, table)
        write_table(self.folder / RESULTS_CSV, table)
        with contextlib.suppress(FileNotFoundError):
            self.journal.unlink()
        self._last_flush = time.monotonic()
        self._flush_cost = self._last_flush - t0
        self._unflushed = False
        return table

    def discard(self) -> None:
        """Forget every result (``--force``): the tables and the journal are removed."""
        self.rows.clear()
        for name in (RESULTS_PARQUET, RESULTS_CSV, JOURNAL):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------

@dataclass
class BatchProgress:
    """Where a running batch stands (what a progress bar shows)."""

    total: int  # entries to score in this run
    ok: int = 0
    failed: int = 0
    scoring_s: float = 0.0  # from the first submission to the last result

    @property
    def done(self) -> int:
        return self.ok + self.failed

    @property
    def remaining(self) -> int:
        return self.total - self.done


@dataclass
class BatchReport:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    entries : int — entries in the manifest
    skipped : int — already finished with the same inputs and parameters (not scored again)
    scored_ok, scored_failed : int — entries scored in this run, by outcome
    not_run : int — entries left for a later run (``limit``, or an interruption)
    table : DataFrame — the results table as written
    elapsed_s : float — wall time of the run, s
    scoring_s : float — wall time from the first submission to the last result, s
    workers : int — workers of the cluster when the batch started
    failures : list of (id, error) — every failed entry of the table
    """

    out_dir: Path
    entries: int
    skipped: int
    scored_ok: int
    scored_failed: int
    not_run: int
    table: pd.DataFrame
    elapsed_s: float
    scoring_s: float
    workers: int
    interrupted: bool = False

    @property
    def failures(self) -> list:
        t = self.table[self.table["status"] == "failed"]
        return list(zip(t["id"], t["error"], strict=True))

    @property
    def entries_per_minute(self) -> float:
        n = self.scored_ok + self.scored_failed
        return 60.0 * n / self.scoring_s if self.scoring_s > 0 else float("nan")

    def paths(self) -> dict:
        return {"results_parquet": self.out_dir / RESULTS_PARQUET, "results_csv": self.out_dir / RESULTS_CSV}


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the batch; ``report`` says what was finished (the tables hold all of it)."""

    def __init__(self, report: BatchReport):
        super().__init__("batch interrupted")
        self.report = report


def check_out_dir(out_dir, manifest_path, *, force: bool) -> bool:
    """Refuse a folder that belongs to another manifest's batch or holds other files (unless ``force``).

    Writes nothing.  Returns True when the folder holds this manifest's batch (to resume).
    """
    folder = Path(out_dir)
    manifest = str(Path(manifest_path).resolve())
    state = folder / STATE_FILE
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"Output '{folder}' is a file, not a folder; choose a folder with --out.")
    if state.is_file():
        try:
            owner = json.loads(state.read_text(encoding="utf-8")).get("manifest")
        except (OSError, ValueError, AttributeError):
            owner = None
        if owner == manifest:
            return not force
        if not force:
            raise OutputError(f"Output folder '{folder}' holds the batch of "
                              f"{'another manifest' if owner is None else repr(owner)}, not of '{manifest}'; "
                              "choose another folder with --out, or pass --force to start this manifest's "
                              "batch there (its results table is replaced).")
        return False
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise OutputError(f"Output folder '{folder}' is not empty and holds no qscore batch (no {STATE_FILE}); "
                          "choose a new or empty folder with --out, or pass --force to use it anyway.")
    return False


def _write_state(folder: Path, manifest_path, extra: dict) -> None:
    from .io.writers import write_json

    state = folder / STATE_FILE
    previous = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(state.read_text(encoding="utf-8"))
    if not isinstance(previous, dict) or previous.get("manifest") != str(Path(manifest_path).resolve()):
        previous = {"created": _now()}
    write_json(state, {**previous, "format": STATE_FORMAT, "manifest": str(Path(manifest_path).resolve()), **extra})


@contextlib.contextmanager
def open_cluster(*, workers: int | None, scheduler: str | None, memory_limit="auto"):
    """A ``distributed.Client``: on a new LocalCluster of ``workers`` single-threaded processes, or on
    the running cluster at ``scheduler``, with :func:`warm_up_plugin` registered.  Closed (and the
    LocalCluster shut down) on exit.

    Raises
    ------
    QScoreError — dask.distributed is not installed; ParameterError — the scheduler cannot be reached
    """
    try:
        import distributed
    except ImportError:
        raise QScoreError("qscore batch needs dask.distributed and pyarrow: pip install 'qscore[batch]'.") from None
    cluster = None
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ParameterError(f"Cannot reach the Dask scheduler at '{scheduler}' ({exc}); check the address "
                                 "(e.g. tcp://host:8786) and that the scheduler is running.") from None
    else:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", memory_limit=memory_limit,
                                           silence_logs=logging.CRITICAL)
        client = distributed.Client(cluster)
    try:
        try:
            client.register_plugin(warm_up_plugin(ignore_sigint=cluster is not None))
        except Exception as exc:  # noqa: BLE001 - e.g. a worker dying as it starts: its entries will say so
            log.warning("Could not warm up the workers (%s); going on without.", describe_error(exc))
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def _slots(client) -> int:
    """Task slots of the cluster now: the threads of its workers (0 while it has none)."""
    with contextlib.suppress(Exception):
        return sum(client.nthreads().values())
    return 0


def _stop_runaway(client, key) -> None:
    """Restart the worker running task ``key`` (a timed-out entry's computation cannot be interrupted)."""
    try:
        processing = client.processing()
    except Exception:  # noqa: BLE001 - nothing to restart when the scheduler cannot say
        return
    for address, keys in processing.items():
        if key in keys:
            try:
                client.restart_workers([address], raise_for_error=False)
            except Exception as exc:  # noqa: BLE001 - e.g. a worker without a nanny
                log.warning("Could not restart worker %s to stop a timed-out entry (%s); it stays busy until "
                            "the entry ends.", address, exc)
            return


def run_batch(manifest, out_dir, settings: BatchSettings | None = None, *, workers: int | None = None,
              scheduler: str | None = None, memory_limit="auto", retry_failed: bool = False, force: bool = False,
              limit: int | None = None, progress: Callable[[BatchProgress], None] | None = None) -> BatchReport:
    """Score every entry of ``manifest`` into ``out_dir`` (see the module docstring).

    Parameters
    ----------
    manifest : str or Path — CSV/TSV of entries (see :func:`read_manifest`)
    out_dir : str or Path — batch folder: ``<id>/`` per entry, ``results.parquet``, ``results.csv``
    settings : BatchSettings — options shared by the entries
    workers : int, optional — processes of the local cluster (default: cores // threads); not with ``scheduler``
    scheduler : str, optional — address of a running dask.distributed scheduler
    memory_limit : str or float — memory per local worker process ('auto': the machine's shared out; '4GB')
    retry_failed : bool — score again the entries that failed before (with unchanged inputs)
    force : bool — use a folder of another manifest or with other files; start its results afresh
    limit : int, optional — score at most this many of the entries still to do
    progress : callable(BatchProgress), optional — called as entries finish

    Returns
    -------
    BatchReport

    Raises
    ------
    InputFileError, ParameterError, OutputError — bad manifest, options or folder (nothing is written)
    BatchInterrupted — on Ctrl-C, after the running entries were cancelled and the tables written
    QScoreError — the cluster had no worker for :data:`NO_WORKER_SECONDS` (the tables are written too)
    """
    from .api import analysis_inputs
    from .outputs import prepare_out_dir

    t_start = time.perf_counter()
    settings = settings or BatchSettings()
    if settings.threads < 1:
        raise ParameterError(f"--threads-per-worker {settings.threads} must be at least 1.")
    if settings.timeout is not None and not settings.timeout > 0:
        raise ParameterError(f"--timeout {settings.timeout} s must be > 0 (seconds an entry may run).")
    if limit is not None and limit < 0:
        raise ParameterError(f"--limit {limit} must be ≥ 0.")
    if scheduler and workers is not None:
        raise ParameterError("--workers sets up the local cluster; with --scheduler the cluster's own workers are "
                             "used. Give one of them.")
    if workers is None and not scheduler:
        workers = max(1, (os.cpu_count() or 1) // settings.threads)
    if workers is not None and workers < 1:
        raise ParameterError(f"--workers {workers} must be at least 1.")
    analysis_inputs(settings.sigma, None, window=settings.window, min_entries=settings.min_entries,
                    expected_model=settings.expected_model)
    faults = fault_hooks()
    entries = [dataclasses.replace(e, test_fault=faults.get(e.id)) for e in read_manifest(manifest, settings)]
    analysis_inputs(entries[0].sigma, entries[0].resolution, **settings.analysis_kwargs())  # the archive, once
    resume = check_out_dir(out_dir, manifest, force=force)

    folder = prepare_out_dir(out_dir, manifest)
    store = ResultsStore(folder, [e.id for e in entries], window=settings.window, min_entries=settings.min_entries)
    todo = []
    if resume:
        store.load()
    for e in entries:
        fp = fingerprint(e, settings)
        prev = store.rows.get(e.id)
        if prev is not None and prev.get("fingerprint") == fp and (
                (prev.get("status") == "ok" and (folder / e.id).is_dir())
                or (prev.get("status") == "failed" and not retry_failed)):
            continue
        todo.append((e, fp))
    skipped = len(entries) - len(todo)
    if limit is not None:
        todo = todo[:limit]
    state = BatchProgress(total=len(todo))

    interrupted, n_workers = False, 0
    # a cluster only when there is work; a bad --scheduler fails here, before anything is written
    with open_cluster(workers=workers, scheduler=scheduler, memory_limit=memory_limit) if todo else \
            contextlib.nullcontext() as client:
        if not resume:
            store.discard()
        _write_state(folder, manifest, {"last_run": {"command": settings.command, "started": _now(),
                                                     "scheduler": scheduler, "workers": workers}})
        table = store.flush()  # the table as it stands: this manifest's finished entries, the journal folded in
        try:
            if client is not None:
                n_workers = len(client.nthreads())
                _score_on_cluster(client, todo, settings, folder, store, state, progress)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if client is not None:  # entries were scored (without a cluster nothing changed since the flush above)
                table = store.flush()
            _write_state(folder, manifest, {"last_run": {
                "command": settings.command, "finished": _now(), "scheduler": scheduler, "workers": workers,
                "interrupted": interrupted, "skipped": skipped, "ok": state.ok, "failed": state.failed,
                "not_run": len(entries) - skipped - state.done, "elapsed_s": round(time.perf_counter() - t_start, 3)}})

    report = BatchReport(out_dir=folder, entries=len(entries), skipped=skipped, scored_ok=state.ok,
                         scored_failed=state.failed, not_run=len(entries) - skipped - state.done,
                         table=table, elapsed_s=time.perf_counter() - t_start, scoring_s=state.scoring_s,
                         workers=n_workers, interrupted=interrupted)
    if interrupted:
        raise BatchInterrupted(report)
    return report


def _score_on_cluster(client, todo, settings: BatchSettings, folder: Path, store: ResultsStore,
                      state: BatchProgress, progress) -> None:
    """Run the ``todo`` entries on ``client``'s cluster, one per worker thread at a time, recording each row.

    On KeyboardInterrupt, or when the cluster has had no worker for :data:`NO_WORKER_SECONDS` (QScoreError),
    the running entries are cancelled (their folders removed) and the exception propagates.
    """
    from distributed import KilledWorker, wait

    def set_allowed_failures(dask_scheduler, n):  # nested: pickled by value, so any scheduler can run it
        old = dask_scheduler.allowed_failures
        dask_scheduler.allowed_failures = n
        return old

    def finish(entry, fp, row):
        row["fingerprint"] = fp
        store.record(row)
        if row["status"] == "ok":
            state.ok += 1
        else:
            state.failed += 1
            log.info("%s failed: %s", entry.id, row["error"])
        if progress is not None:
            progress(state)

    def submit(slots):
        while pending and len(running) < slots:
            entry, fp = pending.popleft()
            fut = client.submit(score_entry, entry, settings, out, pure=False, retries=0,
                                key=f"qscore-batch-{entry.id}-{os.urandom(4).hex()}")
            running[fut] = (entry, fp, time.monotonic())

    old_allowed = client.run_on_scheduler(set_allowed_failures, n=0)
    out = str(folder.resolve())
    pending = deque(todo)
    running: dict = {}  # future -> (entry, fingerprint, submitted at)
    t0 = time.perf_counter()
    if progress is not None:
        progress(state)
    last_worker = time.monotonic()
    try:
        while pending or running:
            slots = _slots(client)
            if slots:
                last_worker = time.monotonic()
            elif time.monotonic() - last_worker > NO_WORKER_SECONDS:
                raise QScoreError(f"The cluster has had no worker for {NO_WORKER_SECONDS:g} s (they died and none "
                                  "came back; a --memory-limit below what qscore needs, ~300 MB, does that); "
                                  f"{len(pending) + len(running)} entries were not run. The tables hold every "
                                  "finished entry; run the same command again to go on.")
            submit(max(slots, 1))
            try:
                done = wait(list(running), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED").done
            except TimeoutError:  # nothing finished within the poll interval
                done = ()
            finished = []
            for fut in done:
                entry, fp, t_sub = running.pop(fut)
                try:
                    row = fut.result()
                except KilledWorker:
                    with contextlib.suppress(OSError):
                        shutil.rmtree(folder / entry.id)
                    row = failed_row(entry, settings, "the worker process died while scoring this entry "
                                     "(killed by the operating system, e.g. out of memory, or crashed)",
                                     time.monotonic() - t_sub)
                except Exception as exc:  # noqa: BLE001 - whatever the cluster reports fails this entry
                    row = failed_row(entry, settings, f"the cluster could not run this entry ({describe_error(exc)})",
                                     time.monotonic() - t_sub)
                finished.append((entry, fp, row))
            if finished:
                submit(max(slots, 1))  # the freed workers start their next entries before the bookkeeping
            for entry, fp, row in finished:
                finish(entry, fp, row)
            store.flush_if_due()
            if settings.timeout is None:
                continue
            now = time.monotonic()
            for fut, (entry, fp, t_sub) in list(running.items()):
                if now - t_sub > settings.timeout and not fut.done():
                    running.pop(fut)
                    _stop_runaway(client, fut.key)
                    fut.cancel()
                    with contextlib.suppress(OSError):
                        shutil.rmtree(folder / entry.id)
                    finish(entry, fp, failed_row(entry, settings, f"timed out after {settings.timeout:g} s "
                                                 "(--timeout); its worker was restarted", now - t_sub))
    except (KeyboardInterrupt, QScoreError):
        for fut, (entry, _, _) in running.items():
            fut.cancel()
            with contextlib.suppress(OSError):
                shutil.rmtree(folder / entry.id)
        raise
    finally:
        state.scoring_s = time.perf_counter() - t0
        with contextlib.suppress(Exception):
            client.run_on_scheduler(set_allowed_failures, n=old_allowed)


__all__ = ["BatchSettings", "BatchEntry", "BatchProgress", "BatchReport", "BatchInterrupted", "ResultsStore",
           "read_manifest", "fingerprint", "score_entry", "run_batch", "batch_percentiles", "rows_to_table",
           "check_out_dir", "open_cluster", "RESULT_COLUMNS", "REQUIRED_COLUMNS", "OPTION_COLUMNS"]
