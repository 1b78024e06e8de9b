"""The results of a batch folder: one row per finished entry, journalled, with atomic Parquet/CSV snapshots.

Every finished entry is appended to a journal (``OUT/.results.journal.jsonl``, flushed to disk)
before it counts as done; the Parquet and CSV tables are atomic snapshots of the journal, rewritten
as entries finish (at most ~10% of the driver's time goes to rewriting them).  A crash or Ctrl-C
therefore never loses a finished entry.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.relative import relative_q_many
from ..errors import OutputError
from ..io.files import write_table

__all__ = ["RESULTS_PARQUET", "RESULTS_CSV", "JOURNAL", "RESULT_COLUMNS", "batch_percentiles", "rows_to_table",
           "ResultsStore", "clean_cell"]

RESULTS_PARQUET = "results.parquet"
RESULTS_CSV = "results.csv"
JOURNAL = ".results.journal.jsonl"

#: the results table: column -> kind ('str', 'float', 'int', 'bool'), in order
RESULT_COLUMNS = {
    "id": "str", "status": "str", "error": "str",
    "resolution": "float", "qscore": "float", "qscore_emdb": "float", "qscore_protein": "float",
    "qscore_nucleic": "float",
    "q_resolution": "float", "q_expected": "float", "q_low95": "float", "q_high95": "float", "q_flag": "str",
    "q_relative_all": "float", "q_relative_resolution": "float", "q_relative_n_window": "int",
    "batch_relative_all": "float", "batch_relative_resolution": "float", "batch_n_window": "int",
    "cc_molmap": "float", "cc_mean_molmap": "float", "cc_emodel": "float", "cc_mean_emodel": "float",
    "atoms": "int", "scored_atoms": "int", "hydrogens": "int", "outside_map": "int", "residues": "int",
    "chains": "int", "residues_below": "int", "residues_above": "int",
    "local_resolution_median": "float", "residues_as_expected": "int", "residues_possible_misfit": "int",
    "residues_not_resolved": "int", "residues_overfit_or_noise": "int",
    "sigma": "float", "emdb_compat": "bool", "permissive": "bool", "num_points": "int", "shell_step": "float",
    "max_radius": "float", "map": "str", "model": "str", "local_resolution": "str", "outputs": "str",
    "report": "str",
    "elapsed_s": "float", "finished_at": "str", "worker": "str", "threads": "int", "warnings": "str",
    "qscore_version": "str", "versions": "str", "fingerprint": "str",
}
_DTYPES = {"str": "string", "float": "float64", "int": "Int64", "bool": "boolean"}


def clean_cell(value):
    """A JSON/pandas-neutral cell: numpy scalars to Python, NaN and NA to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def batch_percentiles(table: pd.DataFrame, *, window: float, min_entries: int) -> pd.DataFrame:
    """Percentiles (docs/science.md §6) of every ok entry of ``table`` against the ok entries of the batch itself.

    Parameters
    ----------
    table : DataFrame — the results table (columns :data:`RESULT_COLUMNS`)
    window : float — w, Å
    min_entries : int — fewest entries within ±w for a percentile by resolution

    Returns
    -------
    DataFrame — a copy with ``batch_relative_all``, ``batch_relative_resolution`` (percent; empty where
    fewer than ``min_entries`` entries lie within ±``window`` Å) and ``batch_n_window``
    """
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
    """The results table of ``rows``, typed, with batch percentiles.

    Parameters
    ----------
    rows : iterable of dict — finished entries' rows
    window, min_entries : as for :func:`batch_percentiles`

    Returns
    -------
    DataFrame — columns :data:`RESULT_COLUMNS`
    """
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
                self.rows[str(rec["id"])] = {k: clean_cell(v) for k, v in rec.items()}
        if self.journal.is_file():
            for line in self.journal.read_text(encoding="utf-8", errors="replace").splitlines():
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    rec = json.loads(line)
                    self.rows[str(rec["id"])] = rec

    def record(self, row: dict) -> None:
        """Add a finished entry: appended to the journal (on disk before this returns), then maybe a snapshot."""
        row = {k: clean_cell(v) for k, v in row.items()}
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
