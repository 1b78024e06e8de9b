"""Relative Q: where a model's Q falls among an archive of (resolution, Q) entries (docs/science.md §6).

Q_relative_all = #(entries with Q_i < Q) / #entries × 100 %.
Q_relative_resolution = the same among the entries with |d_i − d| ≤ w.

The paper uses w = 0.5 Å, the EMDB validation package 1.0 Å.  Nothing is widened silently:
when fewer than ``min_entries`` archive entries lie in the window, Q_relative_resolution is left
out and a note says how many there were.  Inputs are arrays and an :class:`~qscore.types.ArchiveData`;
reading the archive file is :func:`qscore.io.archive.read_archive`'s business.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..types import ArchiveData

DEFAULT_WINDOW = 0.5
DEFAULT_MIN_ENTRIES = 10
#: tolerance on |d_i − d| ≤ w, Å (resolutions are given to 2 decimals; 3.4 − 2.4 is not exactly 1.0)
WINDOW_TOLERANCE = 1e-6
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
        raise ParameterError(f"window={window} Å must be a number ≥ 0 (the paper uses 0.5 Å, the EMDB 1.0 Å).",
                             parameter="window")
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


def relative_q(q: float, resolution: float | None, archive: ArchiveData, *, window: float = DEFAULT_WINDOW,
               min_entries: int = DEFAULT_MIN_ENTRIES) -> dict:
    """Place one model's Q in an archive (see the module docstring).

    Parameters
    ----------
    q : float — the model's mean Q
    resolution : float or None — the map's resolution, Å (None: only Q_relative_all)
    archive : ArchiveData — the archive's resolutions (Å) and Q-scores
    window : float — w, Å
    min_entries : int — fewest archive entries within ±w for Q_relative_resolution to be given

    Returns
    -------
    dict — Q_relative_all and Q_relative_resolution in percent (None when not computed), n_archive,
    n_window, window, min_entries, resolution, and note (None, or why a value is missing)
    """
    if min_entries < 1:
        raise ParameterError(f"min_entries={min_entries} must be at least 1 (archive entries within the window).",
                             parameter="min_entries")
    res = relative_q_many([q], [np.nan if resolution is None else resolution], archive.resolution,
                          archive.q, window=window)
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


__all__ = ["relative_q", "relative_q_many", "describe_relative", "DEFAULT_WINDOW",
           "DEFAULT_MIN_ENTRIES"]
