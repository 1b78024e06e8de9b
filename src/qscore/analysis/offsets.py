"""Offsets of an expected-Q curve (docs/science.md §9): Q_peak and the bounds that hold 95% of the entries on each side.

Used by :mod:`qscore.analysis.archive_stats`; all inputs are arrays of residuals (Q minus the curve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .relative import WINDOW_TOLERANCE

__all__ = ["PEAK_TOLERANCE", "count_within", "peak_offset", "coverage_quantile", "Offsets", "curve_offsets",
           "bound_coverage", "rolling_offsets"]

#: slack (Q units) in |r − s| ≤ window, so that rounding never drops an entry on the band's edge
PEAK_TOLERANCE = 1e-12


def count_within(residuals, shift: float, window: float) -> int:
    """Entries whose residual lies within ±window of ``shift`` (edges count as inside).

    Parameters
    ----------
    residuals : (n,) float — Q minus the curve, Q units
    shift, window : float — Q units

    Returns
    -------
    int
    """
    return int(np.count_nonzero(np.abs(np.asarray(residuals) - shift) <= window + PEAK_TOLERANCE))


def peak_offset(residuals, window: float = 0.01) -> float:
    """The vertical shift s of the curve with the most entries within ±window of it.

    The count only changes at the breakpoints r_i ± window, so every breakpoint and every stretch
    between two of them is tested (no grid).  Where the maximum holds over a range of shifts, the
    middle of the lowest such range is returned.

    Parameters
    ----------
    residuals : (n,) array — Q minus the curve, Q units
    window : float — half-width of the band around the shifted curve, Q units (> 0)
    """
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    if r.size == 0:
        raise ParameterError("No entries to find the Q_peak offset from.")
    if not window > 0:
        raise ParameterError(f"peak_window={window} must be positive (Q units, e.g. peak_window=0.01).",
                             parameter="peak_window")
    edges = np.unique(np.concatenate([r - window, r + window]))
    probes = np.empty(2 * edges.size - 1)
    probes[0::2] = edges
    probes[1::2] = 0.5 * (edges[:-1] + edges[1:])
    counts = (np.searchsorted(r, probes + window + PEAK_TOLERANCE, side="right")
              - np.searchsorted(r, probes - window - PEAK_TOLERANCE, side="left"))
    first = int(np.argmax(counts))
    fewer = np.flatnonzero(counts[first:] != counts[first])
    last = first + (int(fewer[0]) if fewer.size else counts.size - first) - 1
    # a shift beyond the extreme residuals never holds more entries than the extreme itself, so the
    # clip keeps the count maximal while undoing the midpoint's rounding
    return float(np.clip(0.5 * (probes[first] + probes[last]), r[0], r[-1]))


def coverage_quantile(values, coverage: float = 0.95) -> float:
    """Smallest of ``values`` with at least ``coverage`` of them ≤ it.

    The inverted-CDF quantile: one of the values, so a bound taken from it holds exactly the
    entries it should, with no rounding at its edge.

    Parameters
    ----------
    values : (n,) float
    coverage : float — in (0, 1)

    Returns
    -------
    float — NaN when ``values`` is empty
    """
    v = np.sort(np.asarray(values, dtype=np.float64))
    if v.size == 0:
        return math.nan
    return float(v[max(math.ceil(coverage * v.size - 1e-9), 1) - 1])


@dataclass(frozen=True)
class Offsets:
    """Offsets of Q_peak and the coverage bounds from a curve, in Q units.

    peak : shift with the most residuals within ±window
    high : offset (from the curve) above which lie (1 − coverage) of the entries above Q_peak
    low : likewise below (negative)
    n_above, n_below : entries strictly above / below the Q_peak curve
    n_peak : entries within ±window of the Q_peak curve
    """

    peak: float
    low: float
    high: float
    window: float
    coverage: float
    n_above: int
    n_below: int
    n_peak: int

    def summary(self) -> dict:
        return {"peak": self.peak, "low": self.low, "high": self.high, "window": self.window,
                "coverage": self.coverage, "n_above": self.n_above, "n_below": self.n_below,
                "n_peak": self.n_peak}


def curve_offsets(residuals, *, window: float = 0.01, coverage: float = 0.95) -> Offsets:
    """Q_peak offset and the ``coverage`` offsets above and below it (docs/science.md §9).

    The upper offset holds ``coverage`` of the entries lying above the Q_peak curve between
    itself and Q_peak; the lower one likewise for the entries below.  Both are residual values
    (inverted-CDF quantiles), so each bound holds at least ``coverage`` of its side exactly.

    On the EMDB archive the lower 95% offset comes to −0.173 rather than the published −0.126,
    because the residuals have a long lower tail; see the module notes.

    Parameters
    ----------
    residuals : (n,) array — Q minus the curve, Q units
    window : float — half-width of the Q_peak band, Q units
    coverage : float — share of each side's entries the bound holds, in (0, 1)
    """
    if not 0 < coverage < 1:
        raise ParameterError(f"coverage={coverage} must lie strictly between 0 and 1 (e.g. coverage=0.95).",
                             parameter="coverage")
    r = np.asarray(residuals, dtype=np.float64)
    peak = peak_offset(r, window)
    above, below = r[r > peak], r[r < peak]
    return Offsets(peak=peak, low=-coverage_quantile(-below, coverage),
                   high=coverage_quantile(above, coverage), window=window, coverage=coverage,
                   n_above=above.size, n_below=below.size, n_peak=count_within(r, peak, window))


def bound_coverage(residuals, *, peak: float, low: float, high: float) -> dict:
    """Fractions of entries each bound holds, for offsets from a curve.

    Parameters
    ----------
    residuals : (n,) float — Q minus the curve, Q units
    peak, low, high : float — the offsets of Q_peak and of the bounds, Q units

    Returns
    -------
    dict — 'inside' (share of all entries between low and high), 'above_within_high' (share of the
    entries above Q_peak at or below high), 'below_within_low' (share of those below Q_peak at or above low)
    """
    r = np.asarray(residuals, dtype=np.float64)
    above, below = r[r > peak], r[r < peak]
    return {"inside": float(np.mean((r >= low) & (r <= high))),
            "above_within_high": float(np.mean(above <= high)) if above.size else math.nan,
            "below_within_low": float(np.mean(below >= low)) if below.size else math.nan}


def rolling_offsets(d, q, fit, *, half_width: float = 0.5, step: float = 0.1,
                    min_entries: int = 50, window: float = 0.01, coverage: float = 0.95) -> pd.DataFrame:
    """The offsets of :func:`curve_offsets` in rolling resolution windows, for comparison.

    At resolutions d_c = k·step across the archive, the residuals (from ``fit``) of the entries
    with |d − d_c| ≤ half_width give a local Q_peak and local bounds.

    Parameters
    ----------
    d, q : (n,) float — resolutions (Å) and Q-scores
    fit : PolynomialFit — the curve (anything with ``predict(d)``)
    half_width, step : float — window half-width and spacing of the windows, Å
    min_entries : int — windows with fewer entries are left out
    window, coverage : as for :func:`curve_offsets`

    Returns
    -------
    DataFrame with columns ``resolution`` (Å), ``entries``, ``mean``, ``peak``, ``low``, ``high``
    (offsets from the curve, Q units) and the curves ``q_mean``, ``q_peak``, ``q_low95``, ``q_high95``
    """
    if not half_width > 0 or not step > 0:
        raise ParameterError(f"rolling_half_width={half_width} Å and the step {step} Å must be positive.",
                             parameter="rolling_half_width")
    d = np.asarray(d, dtype=np.float64)
    residuals = np.asarray(q, dtype=np.float64) - fit.predict(d)
    order = np.argsort(d, kind="stable")
    ds, rs = d[order], residuals[order]
    centres = np.arange(math.ceil(ds[0] / step - 1e-9), math.floor(ds[-1] / step + 1e-9) + 1) * step
    lo = np.searchsorted(ds, centres - half_width - WINDOW_TOLERANCE, side="left")
    hi = np.searchsorted(ds, centres + half_width + WINDOW_TOLERANCE, side="right")
    rows = []
    for c, a, b in zip(centres, lo, hi, strict=True):
        if b - a < min_entries:
            continue
        off = curve_offsets(rs[a:b], window=window, coverage=coverage)
        rows.append({"resolution": round(float(c), 10), "entries": int(b - a), "mean": float(rs[a:b].mean()),
                     "peak": off.peak, "low": off.low, "high": off.high})
    table = pd.DataFrame(rows, columns=["resolution", "entries", "mean", "peak", "low", "high"])
    base = fit.predict(table["resolution"].to_numpy(dtype=np.float64))
    for name, col in (("q_mean", "mean"), ("q_peak", "peak"), ("q_low95", "low"), ("q_high95", "high")):
        table[name] = base + table[col].to_numpy(dtype=np.float64)
    return table
