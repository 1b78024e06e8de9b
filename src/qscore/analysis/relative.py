"""Relative Q: where a model's Q falls among an archive of (resolution, Q) entries (SPEC §6).

Q_relative_all = #(entries with Q_i < Q) / #entries × 100 %.
Q_relative_resolution = the same among the entries with |d_i − d| ≤ w.

The paper uses w = 0.5 Å, the EMDB validation package 1.0 Å.  Nothing is widened silently:
when fewer than ``min_entries`` archive entries lie in the window, Q_relative_resolution is left
out and a note says how many there were.  Inputs are arrays and tables; reading the archive file
is the caller's business (:func:`qscore.api.read_archive`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import ParameterError

DEFAULT_WINDOW = 0.5
DEFAULT_MIN_ENTRIES = 10
#: tolerance on |d_i − d| ≤ w, Å (resolutions are given to 2 decimals; 3.4 − 2.4 is not exactly 1.0)
WINDOW_TOLERANCE = 1e-6
#: how many offending rows an error message lists (as qscore.analysis.archive.ROWS_SHOWN)
ROWS_SHOWN = 10
_RESOLUTION_NAMES = ("resolution", "resolutiona", "resolutionangstrom", "res", "d", "dmin")
_Q_NAMES = ("qscore", "q", "allmodelsaverageqscore", "averageqscore", "meanq", "qmean", "qscoremean")


def _norm(name) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _find_column(columns, wanted, candidates, what, option) -> str:
    if wanted is not None:
        for c in columns:
            if str(c) == wanted:
                return c
        for c in columns:
            if str(c).lower() == str(wanted).lower():
                return c
        raise ParameterError(f"The archive table has no column '{wanted}' for the {what}; it has: "
                             f"{', '.join(map(str, columns))}.")
    normed = {c: _norm(c) for c in columns}
    for cand in candidates:
        for c, n in normed.items():
            if n == cand:
                return c
    raise ParameterError(f"The archive table has no recognisable {what} column (found: "
                         f"{', '.join(map(str, columns)) or 'none'}); name it with {option}.")


def _examples(values: np.ndarray, mask: np.ndarray) -> str:
    """The first offending values with their data-row numbers (as :mod:`qscore.analysis.archive` lists them)."""
    rows = np.flatnonzero(mask)[:ROWS_SHOWN] + 1
    shown = ", ".join(f"{values[r - 1]:g} (row {r})" for r in rows)
    return f"{shown}{', …' if mask.sum() > ROWS_SHOWN else ''} (rows count from 1 after the header)"


def archive_from_table(table: pd.DataFrame, *, resolution_column: str | None = None,
                       q_column: str | None = None) -> pd.DataFrame:
    """Pick the resolution and Q columns of an archive table and keep the usable entries.

    Columns are recognised case-insensitively, ignoring punctuation: resolution ('resolution',
    'Resolution (Å)', 'res', …) and Q ('qscore', 'Q-score', 'q_score', 'Q', …); or give their names.

    Returns
    -------
    DataFrame with float columns ``resolution`` (Å) and ``q``, one row per entry with both values
    finite; ``attrs`` records the source columns and how many rows were dropped (empty or non-numeric).

    Raises
    ------
    ParameterError — no recognisable column (the message lists the columns found), a resolution ≤ 0 Å
    or a Q outside [−1, 1] (how many, the first rows; as ``qscore archive stats`` refuses them), or
    no usable entry
    """
    found, problems = [], []
    for wanted, names, what, option in ((resolution_column, _RESOLUTION_NAMES, "resolution",
                                         "--archive-resolution-column"),
                                        (q_column, _Q_NAMES, "Q-score", "--archive-q-column")):
        try:
            found.append(_find_column(list(table.columns), wanted, names, what, option))
        except ParameterError as exc:
            problems.append(str(exc))
    if problems:
        raise ParameterError(" ".join(problems))
    res_col, q_col = found
    d = pd.to_numeric(table[res_col], errors="coerce").to_numpy(dtype=np.float64)
    q = pd.to_numeric(table[q_col], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(d) & np.isfinite(q)
    bad_d = ok & (d <= 0)
    if bad_d.any():  # as qscore.analysis.archive's reader ('qscore archive stats') says it
        raise ParameterError(f"Column '{res_col}' has {int(bad_d.sum())} resolution(s) ≤ 0 Å, which no map can "
                             f"have: {_examples(d, bad_d)}. Fix or remove those rows, or name the resolution "
                             "column with --archive-resolution-column.")
    bad_q = ok & ((q < -1) | (q > 1))
    if bad_q.any():
        raise ParameterError(f"Column '{q_col}' has {int(bad_q.sum())} value(s) outside [-1, 1], which no "
                             f"Q-score can take: {_examples(q, bad_q)}. If it is not the Q-score column, choose "
                             "the right one with --archive-q-column.")
    if not ok.any():
        raise ParameterError(f"The archive table has no entry with both a resolution ('{res_col}') and "
                             f"a Q-score ('{q_col}'); check the columns.")
    out = pd.DataFrame({"resolution": d[ok], "q": q[ok]})
    out.attrs.update({"resolution_column": str(res_col), "q_column": str(q_col), "rows": int(len(table)),
                      "dropped": int((~ok).sum())})
    return out


def relative_q_many(q, resolution, archive_resolution, archive_q, *, window: float = DEFAULT_WINDOW) -> dict:
    """Q_relative_all and Q_relative_resolution (percent) for many (Q, resolution) pairs at once.

    Parameters
    ----------
    q, resolution : (m,) float — the Q-scores and resolutions (Å) to place
    archive_resolution, archive_q : (N,) float — the archive
    window : float — w, Å

    Returns
    -------
    dict of (m,) arrays: ``Q_relative_all``, ``Q_relative_resolution`` (NaN where the window is
    empty or the input is NaN) and ``n_window`` (archive entries within ±w).

    Notes
    -----
    O((N + m) log N): entries are sorted by resolution once; each distinct query resolution's window
    is a contiguous slice whose sorted Q values are searched for every query with that resolution.
    """
    if not np.isfinite(window) or window < 0:
        raise ParameterError(f"Window {window} Å must be a number ≥ 0 (the paper uses 0.5 Å, EMDB 1.0 Å).")
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    d = np.atleast_1d(np.asarray(resolution, dtype=np.float64))
    ad = np.asarray(archive_resolution, dtype=np.float64)
    aq = np.asarray(archive_q, dtype=np.float64)
    keep = np.isfinite(ad) & np.isfinite(aq)
    ad, aq = ad[keep], aq[keep]
    if len(aq) == 0:
        raise ParameterError("The archive holds no entry with a finite resolution and Q.")
    rel_all = np.searchsorted(np.sort(aq), q, side="left") / len(aq) * 100.0
    rel_all[~np.isfinite(q)] = np.nan

    order = np.argsort(ad, kind="stable")
    ad_s, aq_s = ad[order], aq[order]
    rel_res = np.full(len(q), np.nan)
    n_win = np.zeros(len(q), dtype=np.int64)
    valid = np.isfinite(d) & np.isfinite(q)
    if valid.any():
        dv = d[valid]
        uniq, inverse = np.unique(dv, return_inverse=True)
        lo = np.searchsorted(ad_s, uniq - window - WINDOW_TOLERANCE, side="left")
        hi = np.searchsorted(ad_s, uniq + window + WINDOW_TOLERANCE, side="right")
        idx_valid = np.flatnonzero(valid)
        by_group = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[by_group], np.arange(len(uniq)))
        ends = np.append(starts[1:], len(by_group))
        for g in range(len(uniq)):
            members = idx_valid[by_group[starts[g]:ends[g]]]
            n = hi[g] - lo[g]
            n_win[members] = n
            if n:
                win = np.sort(aq_s[lo[g]:hi[g]])
                rel_res[members] = np.searchsorted(win, q[members], side="left") / n * 100.0
    return {"Q_relative_all": rel_all, "Q_relative_resolution": rel_res, "n_window": n_win}


def relative_q(q: float, resolution: float | None, archive: pd.DataFrame, *, window: float = DEFAULT_WINDOW,
               min_entries: int = DEFAULT_MIN_ENTRIES) -> dict:
    """Place one model's Q in an archive (see the module docstring).

    Parameters
    ----------
    q : float — the model's mean Q
    resolution : float or None — the map's resolution, Å (None: only Q_relative_all)
    archive : DataFrame with columns ``resolution`` (Å) and ``q`` (from :func:`archive_from_table`)
    window : float — w, Å
    min_entries : int — fewest archive entries within ±w for Q_relative_resolution to be given

    Returns
    -------
    dict — Q_relative_all and Q_relative_resolution in percent (None when not computed), n_archive,
    n_window, window, min_entries, resolution, and note (None, or why a value is missing)
    """
    if min_entries < 1:
        raise ParameterError(f"The minimum number of entries in the window is {min_entries}; it must be ≥ 1.")
    res = relative_q_many([q], [np.nan if resolution is None else resolution], archive["resolution"],
                          archive["q"], window=window)
    out = {"Q_relative_all": float(res["Q_relative_all"][0]), "Q_relative_resolution": None,
           "n_archive": int(len(archive)), "n_window": None, "window": float(window),
           "min_entries": int(min_entries), "resolution": resolution, "note": None}
    if resolution is None:
        out["note"] = "Q_relative_resolution needs the map's resolution (--resolution)."
        return out
    n = int(res["n_window"][0])
    out["n_window"] = n
    if n < min_entries:
        out["note"] = (f"Q_relative_resolution not computed: only {n} archive entr{'y' if n == 1 else 'ies'} "
                       f"within ±{window:g} Å of {resolution:g} Å (minimum {min_entries}); use a larger "
                       "--window or a lower --min-entries to accept fewer.")
    else:
        out["Q_relative_resolution"] = float(res["Q_relative_resolution"][0])
    return out


def describe_relative(value: float | None) -> str:
    """The paper's reading of a percentile: poor fit / as commonly observed / over-fitting."""
    if value is None or not np.isfinite(value):
        return ""
    if value < 5:
        return "below ~5%: a poor fit or an over-stated resolution?"
    if value > 95:
        return "above ~95%: over-sharpening, over-fitting or an under-stated resolution?"
    return "as commonly observed"


__all__ = ["archive_from_table", "relative_q", "relative_q_many", "describe_relative", "DEFAULT_WINDOW",
           "DEFAULT_MIN_ENTRIES"]
