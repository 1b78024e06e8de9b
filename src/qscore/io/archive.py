"""The one reader of archive tables: (resolution, Q-score) pairs of many entries, such as the EMDB's.

Used alike by ``qscore archive stats``, ``qscore score/report/batch --archive`` and
:func:`qscore.read_archive`, so that a table one of them accepts, all of them accept.

Rules
-----
* A text table: comma-separated, or tab-separated for ``.tsv``, ``.tab`` and ``.txt``; gzip allowed.
* Columns are recognised by name, ignoring case and punctuation (:data:`RESOLUTION_NAMES`,
  :data:`Q_NAMES`: ``resolution``, ``Resolution (Å)``, ``qscore``, ``Q-score``, ``q_score``, …), or
  named explicitly; two candidate columns are an error that names both.
* Rows with an empty resolution or Q (or one of pandas' missing-value markers: ``NA``, ``n/a``, ``NaN``,
  ``null``, …) are dropped and counted.
* Every other problem is refused with the number of rows and the first of them, counted from 1 after
  the header: a value that is not a number (``inf`` and ``nan`` included), a resolution outside
  (0, 50] Å, a Q outside [−1, 1].  With ``drop_invalid=True`` those rows are dropped and counted
  instead (``ArchiveData.dropped_out_of_range``, ``dropped_invalid``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError, ParameterError, QScoreError
from ..types import RESOLUTION_MAX, ArchiveData
from .archive_names import Q_NAMES, RESOLUTION_NAMES

__all__ = ["RESOLUTION_NAMES", "Q_NAMES", "ROWS_SHOWN", "read_archive", "archive_from_table", "find_column",
           "normalise_name"]

#: how many offending rows a message or the JSON lists
ROWS_SHOWN = 10


def normalise_name(name) -> str:
    """A column name in lower case without punctuation or spaces ('Resolution (Å)' → 'resolutiona')."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower().replace("å", "a"))


def read_archive(path, *, resolution_column: str | None = None, q_column: str | None = None,
                 drop_invalid: bool = False) -> ArchiveData:
    """Read an archive table of (resolution, Q) pairs (rules: module docstring).

    Parameters
    ----------
    path : str or Path — CSV (``.tsv``/``.tab``/``.txt``: tab-separated), gzip allowed
    resolution_column, q_column : str, optional — the columns to use (default: recognised by name)
    drop_invalid : bool — drop and count rows with a non-numeric value, a resolution outside
        (0, 50] Å or a Q outside [−1, 1], instead of refusing the file

    Returns
    -------
    ArchiveData — resolutions (Å) and Q-scores of the usable rows, with what was dropped

    Raises
    ------
    InputFileError — the file is missing, unreadable or empty, or a column is missing
    ParameterError — rows that break the rules (unless dropped), two candidate columns, no usable row
    """
    p = Path(path)
    name = p.name[:-3] if p.name.lower().endswith(".gz") else p.name
    sep = "\t" if name.lower().endswith((".tsv", ".tab", ".txt")) else ","
    try:
        table = pd.read_csv(p, sep=sep, dtype=str, skipinitialspace=True)
    except FileNotFoundError:
        raise InputFileError(f"Archive file '{p}' does not exist; give the path of a CSV table with a "
                             "resolution and a Q-score column (e.g. from 'qscore archive download').") from None
    except IsADirectoryError:
        raise InputFileError(f"Archive '{p}' is a folder; give the path of a CSV file.") from None
    except pd.errors.EmptyDataError:
        raise InputFileError(f"Archive file '{p}' is empty; it needs a header line and one row per "
                             "entry.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, EOFError) as exc:
        raise InputFileError(f"Archive file '{p}' cannot be read as a table ({exc}); give a "
                             "comma-separated text file (gzip allowed).") from None
    return archive_from_table(table, source=str(p), resolution_column=resolution_column, q_column=q_column,
                              drop_invalid=drop_invalid)


def archive_from_table(table: pd.DataFrame, *, source: str = "table", resolution_column: str | None = None,
                       q_column: str | None = None, drop_invalid: bool = False) -> ArchiveData:
    """Validate the (resolution, Q) columns of a DataFrame; see :func:`read_archive` for the rules.

    Parameters
    ----------
    table : DataFrame — one row per entry; cells as text or numbers
    source : str — what the table is, for messages (a file name)
    resolution_column, q_column, drop_invalid : as for :func:`read_archive`

    Returns
    -------
    ArchiveData
    """
    columns = [str(c) for c in table.columns]
    found, problems = [], []
    for requested, names, kind, parameter in ((resolution_column, RESOLUTION_NAMES, "resolution", "resolution_column"),
                                              (q_column, Q_NAMES, "Q-score", "q_column")):
        try:
            found.append(find_column(columns, requested, names, kind=kind, parameter=parameter, source=source))
        except QScoreError as exc:  # both columns' problems in one message
            problems.append(exc)
    if problems:
        raise type(problems[0])(" ".join(str(e) for e in problems),
                                parameter=[p for e in problems for p in e.parameters])
    d_col, q_col = found
    if d_col == q_col:
        raise ParameterError(f"The resolution and the Q-score of '{source}' would both come from column "
                             f"'{d_col}'; name two different columns with resolution_column= and q_column=.",
                             parameter=("resolution_column", "q_column"))
    d_text, q_text = (table[table.columns[columns.index(c)]] for c in (d_col, q_col))
    d, d_bad = _numbers(d_text)
    q, q_bad = _numbers(q_text)
    rows = np.arange(1, len(d) + 1)
    missing = (np.isnan(d) & ~d_bad) | (np.isnan(q) & ~q_bad)
    non_numeric = ~missing & (d_bad | q_bad)
    outside = ~missing & ~non_numeric & ((d <= 0) | (d > RESOLUTION_MAX))
    bad_q = ~missing & ~non_numeric & ~outside & ((q < -1) | (q > 1))
    if not drop_invalid:
        advice = "or pass drop_invalid=True to leave those rows out (they are counted)."
        _refuse(non_numeric & d_bad, d_text.to_numpy(), rows, "resolution_column", lambda n, shown: (
            f"Column '{d_col}' of '{source}' has {n} non-numeric value(s): {shown}. Correct them, choose "
            f"another column with resolution_column=, {advice}"))
        _refuse(non_numeric & q_bad, q_text.to_numpy(), rows, "q_column", lambda n, shown: (
            f"Column '{q_col}' of '{source}' has {n} non-numeric value(s): {shown}. Correct them, choose "
            f"another column with q_column=, {advice}"))
        _refuse(outside, d, rows, "drop_invalid", lambda n, shown: (
            f"Column '{d_col}' of '{source}' has {n} resolution(s) outside (0, {RESOLUTION_MAX:g}] Å: {shown}. "
            f"Fix those rows, {advice}"))
        _refuse(bad_q, q, rows, "q_column", lambda n, shown: (
            f"Column '{q_col}' of '{source}' has {n} value(s) outside [-1, 1], which no Q-score can take: "
            f"{shown}. If it is not the Q-score column, choose the right one with q_column=; {advice}"))
    invalid = non_numeric | bad_q
    keep = ~missing & ~invalid & ~outside
    if not keep.any():
        raise ParameterError(f"'{source}' has no row with both a resolution and a Q-score "
                             f"({len(d)} rows read); check the columns '{d_col}' and '{q_col}'.")
    return ArchiveData(resolution=d[keep], q=q[keep], source=source, resolution_column=d_col, q_column=q_col,
                       rows=len(d), dropped_missing=int(missing.sum()), missing_rows=_first(rows, missing),
                       dropped_out_of_range=int(outside.sum()), out_of_range_rows=_first(rows, outside),
                       dropped_invalid=int(invalid.sum()), invalid_rows=_first(rows, invalid))


def find_column(columns: Sequence[str], requested: str | None, names: Sequence[str], *, kind: str,
                parameter: str, source: str) -> str:
    """The column to use: ``requested`` (exact, else case-insensitive), else the one named like ``names``.

    Parameters
    ----------
    columns : sequence of str — the table's columns
    requested : str or None — the column the caller named
    names : sequence of str — recognised names, as :func:`normalise_name` gives them
    kind : str — what the column holds, for messages
    parameter : str — the parameter that names the column (in messages)
    source : str — the table, for messages

    Raises
    ------
    InputFileError — no such column (the columns found are listed)
    ParameterError — several columns fit
    """
    found = ", ".join(repr(c) for c in columns) or "none"
    if requested is not None:
        if requested in columns:
            return requested
        folded = [c for c in columns if c.strip().lower() == requested.strip().lower()]
        if len(folded) == 1:
            return folded[0]
        raise InputFileError(f"Column '{requested}' ({parameter}=) is not in '{source}'; columns found: {found}.",
                             parameter=parameter)
    matches = [c for c in columns if normalise_name(c) in names]
    if not matches:
        raise InputFileError(f"'{source}' has no {kind} column: looked for one named "
                             f"{', '.join(names)} (any case, punctuation ignored); columns found: {found}. Name "
                             f"the column with {parameter}=.", parameter=parameter)
    if len(matches) > 1:
        raise ParameterError(f"Several columns of '{source}' could hold the {kind}: "
                             f"{', '.join(repr(c) for c in matches)}; choose one with {parameter}=.",
                             parameter=parameter)
    return matches[0]


def _numbers(raw: pd.Series) -> tuple:
    """(float64 values, mask of cells that hold something other than a finite number); empty cells are NaN."""
    text = raw.astype(str).str.strip().where(raw.notna(), "")
    values = np.array(pd.to_numeric(text.where(text != ""), errors="coerce"), dtype=np.float64)  # a writable copy
    bad = (text != "").to_numpy() & ~np.isfinite(values)
    values[bad] = np.nan
    return values, bad


def _first(rows: np.ndarray, mask: np.ndarray) -> tuple:
    return tuple(int(r) for r in rows[mask][:ROWS_SHOWN])


def _refuse(mask: np.ndarray, values: np.ndarray, rows: np.ndarray, parameter: str, message) -> None:
    """Raise ParameterError with ``message(count, shown rows)`` when any row is in ``mask``."""
    if not mask.any():
        return
    fmt = "{!r}" if values.dtype == object else "{:g}"
    shown = ", ".join(f"{fmt.format(v)} (row {r})"
                      for v, r in zip(values[mask][:ROWS_SHOWN], rows[mask][:ROWS_SHOWN], strict=True))
    more = ", …" if mask.sum() > ROWS_SHOWN else ""
    raise ParameterError(message(int(mask.sum()), f"{shown}{more} (rows count from 1 after the header)"),
                         parameter=(parameter, "drop_invalid"))
