"""Batch manifests: the entries to score (one (map, model) pair per row) and the options they share.

A *manifest* is a CSV/TSV table with one entry per row: ``id``, ``map``, ``model``, ``resolution``
and optionally per-entry scoring options (``sigma``, ``emdb_compat``, ``permissive``,
``num_points``, ``shell_step``, ``max_radius``) that override the batch's (:class:`BatchSettings`),
and ``local_resolution``: the entry's local-resolution map.
:func:`fingerprint` digests what an entry's results depend on, so that a rerun skips finished entries.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..analysis.expected import curve_for
from ..errors import InputFileError, ParameterError, QScoreError
from ..io.curves import read_expected_model
from ..types import QParams, check_resolution

__all__ = ["REQUIRED_COLUMNS", "OPTION_COLUMNS", "PATH_COLUMNS", "RESERVED_NAMES", "BatchSettings", "BatchEntry",
           "fingerprint", "read_manifest"]

#: columns every manifest must have
REQUIRED_COLUMNS = ("id", "map", "model", "resolution")
#: optional per-entry columns and how their cells are read (an empty cell: the batch's value)
OPTION_COLUMNS = {"sigma": float, "emdb_compat": bool, "permissive": bool, "num_points": int,
                  "shell_step": float, "max_radius": float}
#: optional per-entry file columns (relative to the manifest's folder; an empty cell: none)
PATH_COLUMNS = ("local_resolution",)
#: files of a batch folder, which an entry id may not name (:mod:`qscore.batch.store`, :mod:`qscore.batch.run`)
RESERVED_NAMES = ("results.parquet", "results.csv", "batch.json", "index.html", "index_figures")
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TRUE = frozenset({"1", "true", "yes", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "n", "f"})
#: how many problems an error message lists
PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class BatchSettings:
    """What every entry shares: defaults of the per-entry options, the analysis, threads, timeout.

    Attributes
    ----------
    sigma, emdb_compat, permissive, num_points, shell_step, max_radius : scoring options (as for
        :func:`qscore.api.score`), the defaults of entries whose manifest cell is empty
    archive : str, optional — archive CSV for each entry's percentiles (``'emdb'``: the downloaded one)
    archive_resolution_column, archive_q_column : str, optional — its columns
    archive_drop_invalid : bool — drop the archive's invalid rows instead of refusing it
    archive_q : str — the model Q placed among the archive's entries: 'emdb' (Q_emdb) or 'mapq'
    window : float — percentile window w, Å (also for the percentiles against the batch itself)
    min_entries : int — fewest entries within ±w for a percentile by resolution
    expected_model : str, optional — JSON expected-Q curve instead of the built-in one
    correlation : bool — also the map-model CC and CC-mean (as ``qscore score`` without ``--no-cc``)
    threads : int — qscore's kernel threads in each task (T)
    timeout : float, optional — seconds an entry may run before it is failed and its worker restarted
    command : str — the command line, recorded in each entry's summary (set by the caller)
    side_chain_resolution : float — with an entry's local-resolution map: the side-chain threshold, Å
    report : bool — also each entry's HTML report (and the batch's ``index.html``)
    report_viewer : bool — the reports' 3D view
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
    command: str = ""
    archive_drop_invalid: bool = False
    archive_q: str = "emdb"
    side_chain_resolution: float = 4.0
    report: bool = False
    report_viewer: bool = True

    def analysis_kwargs(self) -> dict:
        """The analysis options, as :func:`qscore.pipeline.analysis_settings` takes them (after sigma, resolution)."""
        return {"archive": self.archive, "resolution_column": self.archive_resolution_column,
                "q_column": self.archive_q_column, "drop_invalid": self.archive_drop_invalid, "window": self.window,
                "min_entries": self.min_entries, "expected_model": self.expected_model,
                "correlation": self.correlation, "archive_q": self.archive_q,
                "side_chain_resolution": self.side_chain_resolution}


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
    local_resolution: str | None = None

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

    Parameters
    ----------
    entry : BatchEntry; settings : BatchSettings

    Returns
    -------
    str — 24 hexadecimal digits
    """
    archive = settings.archive
    if archive is not None and str(archive).lower() != "emdb":
        archive = _file_state(archive)
    state = {"map": _file_state(entry.map), "model": _file_state(entry.model),
             "options": {k: v for k, v in dataclasses.asdict(entry).items()
                         if k not in ("id", "map", "model", "line", "local_resolution")},
             **({"local_resolution": _file_state(entry.local_resolution),
                 "side_chain_resolution": settings.side_chain_resolution} if entry.local_resolution else {}),
             "archive": archive, "archive_columns": [settings.archive_resolution_column, settings.archive_q_column],
             "window": settings.window, "min_entries": settings.min_entries, "correlation": settings.correlation,
             **({"archive_drop_invalid": True} if settings.archive_drop_invalid else {}),
             "archive_q": settings.archive_q,
             **({"report": True, "report_viewer": settings.report_viewer} if settings.report else {}),
             "expected_model": None if settings.expected_model is None else _file_state(settings.expected_model)}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:24]


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


def _check_header(cells, path) -> list:
    """The manifest's column names (lower case), after checking them; every problem in one message."""
    header = [h.strip().lower() for h in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [h for h in header if h not in REQUIRED_COLUMNS and h not in OPTION_COLUMNS and h not in PATH_COLUMNS]
    repeated = sorted({h for h in header if header.count(h) > 1})
    problems = []
    if missing:
        problems.append(f"it lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        problems.append(f"column{'s' if len(unknown) > 1 else ''} {', '.join(repr(u) for u in unknown)} "
                        f"{'are' if len(unknown) > 1 else 'is'} not known (optional columns: "
                        f"{', '.join((*OPTION_COLUMNS, *PATH_COLUMNS))})")
    if repeated:
        problems.append(f"column{'s' if len(repeated) > 1 else ''} {', '.join(repeated)} appear more than once")
    if problems:
        raise InputFileError(f"Manifest '{path}': {'; '.join(problems)}. It needs the columns "
                             f"{', '.join(REQUIRED_COLUMNS)} (any case, comma- or tab-separated); found: "
                             f"{', '.join(header)}.")
    return header


def _entry_values(rec: dict, folder: Path, settings: BatchSettings) -> tuple:
    """({field: value} of one manifest row, [problems]): paths made absolute, empty cells from ``settings``."""
    values, bad = {}, []
    for col in ("map", "model"):
        if not rec[col]:
            bad.append(f"the {col} path is empty")
        values[col] = os.path.abspath(os.path.join(folder, os.path.expanduser(rec[col])))
    for col in PATH_COLUMNS:
        cell = rec.get(col, "")
        values[col] = os.path.abspath(os.path.join(folder, os.path.expanduser(cell))) if cell else None
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
            bad.append(str(exc).rstrip("."))  # joined into one sentence by the caller
    return values, bad


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
    header = _check_header(rows[0], p)
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
        values, bad = _entry_values(rec, folder, settings)  # every problem of the row, none hiding another
        if not _ID_PATTERN.fullmatch(ident) or ident.lower() in RESERVED_NAMES:
            bad.insert(0, "the id must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit "
                          "(it names the entry's output folder)" if ident else "the id is empty")
        elif ident.lower() in seen:
            first_line, first_id = seen[ident.lower()]
            case = "" if first_id == ident else f" as '{first_id}': ids differing only in case clash as folder names"
            bad.insert(0, f"duplicate id (also on line {first_line}{case})")
        else:
            seen[ident.lower()] = (line, ident)
        if bad:
            problems.append(f"{where}: {'; '.join(bad)}")
            continue
        entries.append(BatchEntry(id=ident, line=line, **values))
    if not problems:
        curve = None if settings.expected_model is None else read_expected_model(settings.expected_model)
        for sigma in sorted({e.sigma for e in entries}):
            try:  # an expected-Q curve for every sigma (the built-in one, or the given one's sigma)
                curve_for(sigma, curve, required=True)
            except QScoreError as exc:
                problems.append(f"entries with sigma {sigma:g} Å: {exc}")
    if problems:
        shown = "; ".join(problems[:PROBLEMS_SHOWN])
        more = f"; … and {len(problems) - PROBLEMS_SHOWN} more" if len(problems) > PROBLEMS_SHOWN else ""
        raise InputFileError(f"Manifest '{p}' has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
                             f"{shown}{more}. Correct the manifest and run again.")
    return entries
