"""Atomic B-factors from Q-scores (docs/science.md §7).

B = f · (1 − Q) per atom, clamped at 0.  For each f of a scan (0, 20, …, 300 Å² by default) an
electron-scattering model map is built from the atoms with those B-factors at the map's resolution
on the map's grid (:class:`~qscore.analysis.emodel.EModel`), and its CC-mean with the map over
the model-map points at or above the threshold is computed; the f with the highest CC-mean is kept.
Atoms without a Q (a hydrogen with no heavy atom within 1.3 Å) are taken as Q = 0, i.e. B = f.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .cc_core import THRESHOLD, check_model_resolution, occupancy_weights
from .emodel import EModel

#: the scan of the 2025 paper: f = 0, 20, …, 300 Å²
F_MIN, F_MAX, F_STEP = 0.0, 300.0, 20.0


def bfactors_from_q(q, f: float) -> np.ndarray:
    """B-factors from Q: B = f · (1 − Q), clamped at 0; a missing Q (NaN) counts as 0.

    Parameters
    ----------
    q : (n,) float — per-atom Q
    f : float — the factor f, Å²

    Returns
    -------
    (n,) float64 — B, Å²
    """
    q = np.nan_to_num(np.asarray(q, dtype=np.float64), nan=0.0)
    return np.maximum(f * (1.0 - q), 0.0)


def scan_factors(f_min: float = F_MIN, f_max: float = F_MAX, f_step: float = F_STEP) -> np.ndarray:
    """The factors f_min, f_min + f_step, … up to f_max (included when on the step).

    Parameters
    ----------
    f_min, f_max, f_step : float — Å²

    Returns
    -------
    (k,) float64 — the factors, Å²

    Raises
    ------
    ParameterError — a negative f_min, f_max < f_min, a step ≤ 0, or more than 1000 factors
    """
    if not (np.isfinite(f_min) and np.isfinite(f_max) and np.isfinite(f_step)):
        raise ParameterError(f"The f scan f_min={f_min}, f_max={f_max}, f_step={f_step} must be finite numbers (Å²).",
                             parameter=("f_min", "f_max", "f_step"))
    if f_min < 0 or f_max < f_min:
        raise ParameterError(f"The f scan must have 0 ≤ f_min ≤ f_max; got f_min={f_min:g}, f_max={f_max:g} Å² "
                             "(the paper scans 0 to 300).", parameter=("f_min", "f_max"))
    if f_step <= 0:
        raise ParameterError(f"f_step={f_step:g} Å² must be > 0 (the paper uses 20).", parameter="f_step")
    n = int(np.floor((f_max - f_min) / f_step + 1e-9)) + 1
    if n > 1000:
        raise ParameterError(f"The f scan {f_min:g}..{f_max:g} step {f_step:g} has {n} factors; use at most 1000 "
                             "(a larger f_step=).", parameter="f_step")
    return f_min + f_step * np.arange(n)


@dataclass
class BFactorScan:
    """The result of :func:`scan_bfactors`.

    Attributes
    ----------
    factors : (k,) float64 — the f scanned, Å²
    cc_mean, cc : (k,) float64 — CC-mean and CC of the map with each model map
    n_points : (k,) int64 — model-map points at or above the threshold
    best_f : float — the f of the highest CC-mean (the smallest such f on a tie)
    b_iso : (n,) float64 — B-factors of every atom for best_f, Å²
    cc_mean_b0, cc_b0 : float — the same correlations with every B = 0, for comparison
    """

    factors: np.ndarray
    cc_mean: np.ndarray
    cc: np.ndarray
    n_points: np.ndarray
    best_f: float
    b_iso: np.ndarray
    cc_mean_b0: float
    cc_b0: float
    resolution: float
    threshold: float
    elapsed: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def best_index(self) -> int:
        return int(np.flatnonzero(self.factors == self.best_f)[0])

    def table(self) -> pd.DataFrame:
        """One row per f: f (Å²), CC-mean, CC, points, and whether it is the best."""
        return pd.DataFrame({"f": self.factors, "cc_mean": self.cc_mean, "cc": self.cc, "n_points": self.n_points,
                             "best": self.factors == self.best_f})

    def summary(self) -> dict:
        """JSON-ready: the best f, its correlations, B = 0 for comparison, the B-factors' range."""
        i = self.best_index
        b = self.b_iso
        return {"resolution": self.resolution, "threshold": self.threshold,
                "factors": {"min": float(self.factors[0]), "max": float(self.factors[-1]),
                            "count": int(len(self.factors))},
                "best_f": self.best_f, "cc_mean_best": float(self.cc_mean[i]), "cc_best": float(self.cc[i]),
                "cc_mean_b0": self.cc_mean_b0, "cc_b0": self.cc_b0,
                "improvement": float(self.cc_mean[i] - self.cc_mean_b0),
                "b_iso": {"min": float(b.min()), "mean": float(b.mean()), "max": float(b.max())},
                "notes": list(self.notes), "elapsed_s": round(self.elapsed, 3)}


def scan_bfactors(atoms, q, dmap, resolution: float, *, f_min: float = F_MIN, f_max: float = F_MAX,
                  f_step: float = F_STEP, threshold: float = THRESHOLD, max_memory: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> BFactorScan:
    """Scan f of B = f · (1 − Q) for the model map that best matches ``dmap`` (docs/science.md §7).

    Parameters
    ----------
    atoms : Atoms — the model (every atom enters the model maps; occupancy 1 shared among altlocs)
    q : (n,) float64 — Q of every atom (e.g. ``QScoreResult.q``)
    dmap : DensityMap — the experimental map
    resolution : float — the map's resolution d, Å (≥ twice the voxel size)
    f_min, f_max, f_step : float — the factors scanned, Å²
    threshold : float — model-map value at or above which grid points are compared
    max_memory : int, optional — bytes one model map may take (default half the machine's memory)
    progress : callable(done, total), optional

    Returns
    -------
    BFactorScan

    Raises
    ------
    ParameterError — bad resolution or scan, a model map too large for the memory allowed
    ModelError — no atom with a known element, or the model outside the map
    """
    t0 = time.perf_counter()
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (len(atoms),):
        raise ParameterError(f"q= has shape {q.shape}; expected one Q per atom ({len(atoms)},).", parameter="q")
    check_model_resolution(resolution, dmap)
    factors = scan_factors(f_min, f_max, f_step)
    b_top = float(bfactors_from_q(q, float(factors[-1])).max())
    em = EModel(atoms.coords, atoms.element, dmap, resolution, weights=occupancy_weights(atoms), b_max=b_top,
                max_memory=max_memory)
    results = []
    total = len(factors) + (0 if factors[0] == 0 else 1)
    for i, f in enumerate(factors):
        results.append(em.correlation(bfactors_from_q(q, float(f)), threshold))
        if progress is not None:
            progress(i + 1, total)
    if factors[0] == 0:
        b0 = results[0]
    else:
        b0 = em.correlation(np.zeros(len(atoms)), threshold)
        if progress is not None:
            progress(total, total)
    cc_mean = np.array([r["cc_mean"] for r in results])
    if not np.isfinite(cc_mean).any():
        raise ParameterError(f"No model map of the scan has points at or above threshold={threshold:g} with "
                             "map values that vary; lower threshold= or check that model and map overlap.",
                             parameter="threshold")
    best = int(np.nanargmax(cc_mean))
    notes = []
    if em.skipped_atoms:
        notes.append(f"{em.skipped_atoms} atoms without a known element were left out of the model maps")
    if best == len(factors) - 1 and len(factors) > 1:
        notes.append(f"the best f is the largest scanned ({factors[best]:g} Å²); a larger f-max may do better")
    return BFactorScan(factors=factors, cc_mean=cc_mean, cc=np.array([r["cc"] for r in results]),
                       n_points=np.array([r["n_points"] for r in results], dtype=np.int64),
                       best_f=float(factors[best]), b_iso=bfactors_from_q(q, float(factors[best])),
                       cc_mean_b0=float(b0["cc_mean"]), cc_b0=float(b0["cc"]), resolution=float(resolution),
                       threshold=threshold, elapsed=time.perf_counter() - t0, notes=notes)


__all__ = ["bfactors_from_q", "scan_factors", "scan_bfactors", "BFactorScan"]
