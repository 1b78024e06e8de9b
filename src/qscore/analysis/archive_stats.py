"""Archive statistics (docs/science.md §9): the Q-versus-resolution model, its offsets and percentile windows.

From an archive of (resolution d in Å, Q) pairs this module computes, as plain numbers, dataclasses
and pandas tables:

* polynomial regressions of Q on d of degree 1–4 (coefficients, R², residual standard error),
  the residuals of the chosen degree and their normal QQ line;
* repeated random train/test splits (90/10 by default, seeded) with test R², RMSE and MAE;
* the Q_peak offset (the vertical shift of the curve with the most entries within ±window of it)
  and the 95% offsets above and below Q_peak, globally and in rolling windows over d;
* for percentile windows w (docs/science.md §6): how many entries a window of ±w holds at resolutions 1–10 Å,
  and how Q_relative_resolution correlates with d below and at or above 5 Å.

The archive is read by :func:`qscore.io.archive.read_archive`; :func:`qscore.pipeline.archive.write_archive_stats`
writes the JSON summary, the tables and the figures; :meth:`ArchiveStats.expected_model` turns the fit into
an :class:`~qscore.types.ExpectedModel` that ``--save-model`` stores.

Notes
-----
On ``mapq_emdb_qscores.csv`` (10,188 EMDB entries, the data behind the published sigma-0.4 model)
the fits give R² 0.5960, 0.6997, 0.7037 and 0.7059 for degrees 1–4 (published 0.5959, 0.6999,
0.7039, 0.7061) and the cubic −0.001602 d³ + 0.04323 d² − 0.39499 d + 1.33580 (published −0.0016,
0.0434, −0.3956, 1.3366).  The d³ term agrees to its printed digits, the others and the R² differ
in the 4th decimal: the file is not exactly the paper's fit.  The published coefficients lie well
inside the spread of fits to random 90% training splits of this file (within 0.4 SD for every
coefficient), so they may come from such a split or a slightly different snapshot; the curves
differ by < 0.003 in Q over 1–5.5 Å and < 0.014 up to 10 Å.  Cross-validation gives test R²
0.70, RMSE 0.074 and MAE 0.056.  Q_peak comes to +0.024 (as published) and the upper 95% offset
to +0.111 (published +0.109).

The lower 95% offset comes to −0.173, not the published −0.126.  The residuals are skewed to the
left (skewness −1.25, excess kurtosis 3.3; see the QQ plot): besides the bulk, a long tail of
entries lies far below the curve — models fitted poorly, or maps whose reported resolution is
better than their content — with no matching tail above it.  Holding 95% of the entries below
Q_peak therefore takes a shift of −0.173; the published −0.126 holds only 89.5% of them (the 90%
offset is −0.129), while above Q_peak the published +0.109 holds 94.6%.  Trimming residuals beyond
about 2.2 SD before taking the offsets, or a lower coverage on the lower side, would give the
published value; the rule as stated, applied to this file, cannot.  The tail sits at 2–5 Å, where
most entries are; at d ≥ 6 Å Q cannot fall far below 0 and the local lower offset is only about
−0.10, so the rolling-window curves show that a constant lower offset is a compromise.
:func:`bound_coverage` reports the share of entries each bound actually holds, for the fitted and
the built-in curve, in every run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..types import ArchiveData, ExpectedModel
from .expected import model_for_sigma
from .offsets import Offsets, bound_coverage, curve_offsets, rolling_offsets
from .relative import WINDOW_TOLERANCE, relative_q_many

#: polynomial degrees always fitted
DEGREES = (1, 2, 3, 4)

#: percentile windows w (Å) of the window-size analysis
PERCENTILE_WINDOWS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5)
#: resolutions (Å) at which window sizes are counted: 1.0, 1.1, …, 10.0
WINDOW_CENTRES = np.arange(10, 101) / 10.0
#: resolution (Å) separating the two groups of the Q_relative_resolution correlation
SPLIT_RESOLUTION = 5.0


# ---------------------------------------------------------------------------------------------
# Polynomial regression and cross-validation
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolynomialFit:
    """Least-squares polynomial Q(d).

    Attributes
    ----------
    degree : int
    coefficients : tuple of float — highest power first (numpy.polyval order), in Å⁻ᵏ
    r2 : float — coefficient of determination on the fitted entries
    adjusted_r2 : float — R² adjusted for the degree, 1 − (1 − R²)(n − 1)/(n − degree − 1)
    rse : float — residual standard error √(SS_res / (n − degree − 1)), Q units
    n : int — entries fitted
    """

    degree: int
    coefficients: tuple
    r2: float
    adjusted_r2: float
    rse: float
    n: int

    def predict(self, d) -> np.ndarray:
        """Q of the curve at resolution(s) d (Å)."""
        return np.polyval(np.asarray(self.coefficients), np.asarray(d, dtype=np.float64))

    def summary(self) -> dict:
        return {"degree": self.degree, "coefficients": list(self.coefficients), "r2": self.r2,
                "adjusted_r2": self.adjusted_r2, "rse": self.rse, "n": self.n}


def _in(source: str) -> str:
    """'Archive file 'x': ' before a message about the entries of an archive read from a file ('' without)."""
    return f"Archive file '{source}': " if source else ""


def fit_polynomial(d, q, degree: int, *, source: str = "") -> PolynomialFit:
    """Fit Q = Σ c_k d^k (k ≤ degree) by least squares.

    Parameters
    ----------
    d : (n,) array of float — resolutions, Å
    q : (n,) array of float — Q-scores
    degree : int — at least 1
    source : str — the archive file the entries come from (named when there are too few)

    Raises
    ------
    ParameterError
        Fewer than degree + 2 entries or fewer than degree + 1 distinct resolutions.
    """
    d = np.asarray(d, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    n = len(d)
    if degree < 1:
        raise ParameterError(f"degree={degree} is not allowed; use 1 to {max(DEGREES)}.", parameter="degree")
    distinct = np.unique(d).size
    if n < degree + 2 or distinct < degree + 1:
        raise ParameterError(f"{_in(source)}Too few entries for a degree-{degree} fit: {n} entries with {distinct} "
                             f"distinct resolution(s); it needs at least {degree + 2} entries and "
                             f"{degree + 1} distinct resolutions. Use a larger archive or a lower degree=.",
                             parameter="degree")
    coefficients = np.polyfit(d, q, degree)
    ss_res = float(np.sum((q - np.polyval(coefficients, d)) ** 2))
    ss_tot = float(np.sum((q - q.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    return PolynomialFit(degree=degree, coefficients=tuple(float(c) for c in coefficients), r2=r2,
                         adjusted_r2=1.0 - (1.0 - r2) * (n - 1) / (n - degree - 1),
                         rse=math.sqrt(ss_res / (n - degree - 1)), n=n)


def fit_polynomials(d, q, degrees: Sequence[int] = DEGREES, *, source: str = "") -> dict:
    """{degree: PolynomialFit} for each degree.

    Parameters
    ----------
    d : (n,) float — resolutions, Å
    q : (n,) float — Q-scores
    degrees : sequence of int — the polynomial degrees to fit
    source : str — the archive file the entries come from (named when there are too few)

    Returns
    -------
    dict {int: PolynomialFit}
    """
    return {k: fit_polynomial(d, q, k, source=source) for k in degrees}


def fits_table(fits: dict) -> pd.DataFrame:
    """One row per degree: R², adjusted R², RSE, n and the coefficients c0 (constant) … c_k."""
    rows = []
    for k, fit in fits.items():
        row = {"degree": k, "r2": fit.r2, "adjusted_r2": fit.adjusted_r2, "rse": fit.rse, "n": fit.n}
        row.update(_coefficient_columns(fit))
        rows.append(row)
    return pd.DataFrame(rows)


def _coefficient_columns(fit: PolynomialFit) -> dict:
    """{'c0': constant, 'c1': coefficient of d, …} of a fit."""
    return {f"c{p}": c for p, c in enumerate(reversed(fit.coefficients))}


@dataclass(frozen=True)
class CrossValidation:
    """Repeated random train/test splits of a polynomial fit.

    Attributes
    ----------
    degree, repeats, seed : int
    test_fraction : float — share of the entries held out each time (test size ⌈fraction·n⌉)
    n_train, n_test : int
    table : DataFrame — one row per repeat: ``r2``, ``rmse``, ``mae`` on the held-out entries and
        the coefficients ``c0`` (constant), ``c1`` … of the fit to the training entries
    """

    degree: int
    repeats: int
    seed: int
    test_fraction: float
    n_train: int
    n_test: int
    table: pd.DataFrame

    def summary(self) -> dict:
        """Mean, SD, minimum and maximum of each test metric over the repeats; mean and SD of the
        training fits' coefficients (highest power first)."""
        ddof = 1 if self.repeats > 1 else 0
        metrics = {m: {"mean": float(self.table[m].mean()), "sd": float(self.table[m].std(ddof=ddof)),
                       "min": float(self.table[m].min()), "max": float(self.table[m].max())}
                   for m in ("r2", "rmse", "mae")}
        powers = range(self.degree, -1, -1)
        coefficients = {"mean": [float(self.table[f"c{p}"].mean()) for p in powers],
                        "sd": [float(self.table[f"c{p}"].std(ddof=ddof)) for p in powers]}
        return {"degree": self.degree, "repeats": self.repeats, "seed": self.seed,
                "test_fraction": self.test_fraction, "n_train": self.n_train, "n_test": self.n_test,
                **metrics, "training_coefficients": coefficients}


def prediction_metrics(q_true, q_pred) -> dict:
    """R², RMSE and MAE of predictions.

    Parameters
    ----------
    q_true, q_pred : (n,) float — observed and predicted Q

    Returns
    -------
    dict {'r2', 'rmse', 'mae'} — R² about the mean of ``q_true`` (NaN if it is constant); RMSE, MAE in Q units
    """
    q_true = np.asarray(q_true, dtype=np.float64)
    err = q_true - np.asarray(q_pred, dtype=np.float64)
    ss_tot = float(np.sum((q_true - q_true.mean()) ** 2))
    return {"r2": 1.0 - float(np.sum(err ** 2)) / ss_tot if ss_tot > 0 else math.nan,
            "rmse": math.sqrt(float(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}


def split_sizes(n: int, test_fraction: float) -> tuple:
    """Sizes of a random train/test split.

    Parameters
    ----------
    n : int — entries
    test_fraction : float — share held out, in (0, 1)

    Returns
    -------
    (n_train, n_test) — with n_test = ⌈test_fraction · n⌉
    """
    n_test = math.ceil(test_fraction * n - 1e-9)
    return n - n_test, n_test


def cross_validate(d, q, degree: int = 3, *, repeats: int = 100, test_fraction: float = 0.1,
                   seed: int = 0, source: str = "") -> CrossValidation:
    """Fit on a random (1 − test_fraction) share, score on the rest; ``repeats`` times, seeded.

    Parameters
    ----------
    d, q : (n,) arrays — resolutions (Å) and Q-scores
    degree : int — polynomial degree
    repeats : int — number of random splits (≥ 1)
    test_fraction : float — share held out, in (0, 1)
    seed : int — seed of :func:`numpy.random.default_rng`; the same seed gives the same splits
    source : str — the archive file the entries come from (named when there are too few)

    Raises
    ------
    ParameterError
        Bad ``repeats``/``test_fraction``, or too few entries for a test set of at least 2 and a
        training set of at least degree + 2 entries.
    """
    d = np.asarray(d, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if repeats < 1:
        raise ParameterError(f"repeats={repeats} must be at least 1 (cross-validation splits, e.g. repeats=100).",
                             parameter="repeats")
    if not 0 < test_fraction < 1:
        raise ParameterError(f"test_fraction={test_fraction} must lie strictly between 0 and 1 (e.g. "
                             "test_fraction=0.1).", parameter="test_fraction")
    n = len(d)
    n_train, n_test = split_sizes(n, test_fraction)
    if n_test < 2 or n_train < degree + 2:
        needed = next(m for m in range(2, 10 ** 6) if split_sizes(m, test_fraction)[1] >= 2
                      and split_sizes(m, test_fraction)[0] >= degree + 2)
        raise ParameterError(f"{_in(source)}Too few entries ({n}) for a {1 - test_fraction:.0%}/"
                             f"{test_fraction:.0%} split with a degree-{degree} fit: it needs at least {needed} "
                             "entries (2 to test, "
                             f"{degree + 2} to fit). Use a larger archive, a lower degree= or a larger "
                             "test_fraction=.", parameter=("degree", "test_fraction"))
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(repeats):
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
        fit = fit_polynomial(d[train], q[train], degree)
        row = prediction_metrics(q[test], fit.predict(d[test]))
        row.update(_coefficient_columns(fit))
        rows.append(row)
    return CrossValidation(degree=degree, repeats=repeats, seed=seed, test_fraction=test_fraction,
                           n_train=n_train, n_test=n_test, table=pd.DataFrame(rows))


# ---------------------------------------------------------------------------------------------
# Percentile windows (docs/science.md §6)
# ---------------------------------------------------------------------------------------------

def window_counts(d, w: float, centres=WINDOW_CENTRES) -> np.ndarray:
    """Number of entries within ±w of each resolution.

    Parameters
    ----------
    d : (n,) float — the entries' resolutions, Å
    w : float — window half-width, Å
    centres : (m,) float — the resolutions to count at, Å

    Returns
    -------
    (m,) int — #{i : |d_i − c| ≤ w} for each c of ``centres``
    """
    ds = np.sort(np.asarray(d, dtype=np.float64))
    c = np.asarray(centres, dtype=np.float64)
    return (np.searchsorted(ds, c + w + WINDOW_TOLERANCE, side="right")
            - np.searchsorted(ds, c - w - WINDOW_TOLERANCE, side="left"))


def relative_resolution_percentiles(d, q, w: float) -> np.ndarray:
    """Q_relative_resolution of every entry against the archive itself (docs/science.md §6), in percent.

    For entry j: 100 · #{i : |d_i − d_j| ≤ w and Q_i < Q_j} / #{i : |d_i − d_j| ≤ w}; the entry
    itself counts in the denominator.  Computed by :func:`qscore.analysis.relative.relative_q_many`.

    Parameters
    ----------
    d, q : (n,) arrays — resolutions (Å) and Q-scores
    w : float — window half-width, Å

    Returns
    -------
    (n,) float64 array, in the order of ``d``.
    """
    return relative_q_many(q, d, d, q, window=w)["Q_relative_resolution"]


def pearson(x, y) -> float:
    """Pearson correlation of x and y.

    Parameters
    ----------
    x, y : (n,) float

    Returns
    -------
    float — NaN with fewer than 2 pairs or a constant variable
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size < 2:
        return math.nan
    xc, yc = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(xc @ xc) * float(yc @ yc))
    return float(xc @ yc) / denominator if denominator > 0 else math.nan


def window_size_table(d, q, windows: Sequence[float] = PERCENTILE_WINDOWS, *, centres=WINDOW_CENTRES,
                      split: float = SPLIT_RESOLUTION) -> pd.DataFrame:
    """Window-size analysis of the percentile windows.

    Parameters
    ----------
    d, q : (n,) float — resolutions (Å) and Q-scores of the archive
    windows : sequence of float — percentile window half-widths w, Å
    centres : (m,) float — resolutions at which window sizes are counted, Å
    split : float — resolution separating the two correlation groups, Å

    Returns
    -------
    DataFrame, one row per window w (Å): ``entries_min``, ``entries_mean``, ``entries_max`` (number
    of entries within ±w over ``centres``), and the Pearson correlation of Q_relative_resolution
    with d for entries below ``split`` Å (``r_below``, over ``n_below`` entries) and at or above
    it (``r_above``, ``n_above``).
    """
    d = np.asarray(d, dtype=np.float64)
    below = d < split
    rows = []
    for w in windows:
        if not w > 0:
            raise ParameterError(f"windows= holds {w} Å; every percentile window must be positive.",
                                 parameter="windows")
        counts = window_counts(d, w, centres)
        rel = relative_resolution_percentiles(d, q, w)
        rows.append({"window": float(w), "entries_min": int(counts.min()),
                     "entries_mean": float(counts.mean()), "entries_max": int(counts.max()),
                     "r_below": pearson(rel[below], d[below]),
                     "n_below": int(below.sum()), "r_above": pearson(rel[~below], d[~below]),
                     "n_above": int((~below).sum())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Residuals
# ---------------------------------------------------------------------------------------------

def residual_summary(residuals) -> dict:
    """Mean, SD, skewness, excess kurtosis and tail quantiles of residuals, plus the normal QQ line.

    The QQ line (``qq_slope``, ``qq_intercept``, ``qq_r``) is scipy's probplot fit of the ordered
    residuals against normal quantiles; ``qq_r`` near 1 means nearly normal residuals.
    """
    from scipy import stats

    r = np.asarray(residuals, dtype=np.float64)
    (_, _), (slope, intercept, qq_r) = stats.probplot(r, dist="norm")
    quantiles = dict(zip(("q02.5", "q05", "q50", "q95", "q97.5"),
                         np.quantile(r, [0.025, 0.05, 0.5, 0.95, 0.975]).tolist(), strict=True))
    return {"mean": float(r.mean()), "sd": float(r.std(ddof=1)) if r.size > 1 else math.nan,
            "skewness": float(stats.skew(r)), "excess_kurtosis": float(stats.kurtosis(r)), **quantiles,
            "qq_slope": float(slope), "qq_intercept": float(intercept), "qq_r": float(qq_r)}


def qq_points(residuals) -> tuple:
    """(theoretical normal quantiles, ordered residuals) for a QQ plot (scipy's probplot positions)."""
    from scipy import stats

    (theoretical, ordered), _ = stats.probplot(np.asarray(residuals, dtype=np.float64), dist="norm")
    return theoretical, ordered


# ---------------------------------------------------------------------------------------------
# Everything together
# ---------------------------------------------------------------------------------------------

@dataclass
class ArchiveStats:
    """All archive statistics of one run (see :func:`archive_stats`).

    Attributes
    ----------
    data : ArchiveData
    fits : dict {degree: PolynomialFit}
    degree : int — the degree used for residuals, cross-validation, offsets and the saved model
    cross_validation : CrossValidation
    offsets : Offsets — from the chosen curve over the whole archive
    rolling : DataFrame — :func:`rolling_offsets`
    windows : DataFrame — :func:`window_size_table`
    residuals : dict — :func:`residual_summary` of the chosen curve's residuals
    reference : dict or None — the built-in curve for ``sigma`` and the share of this archive its
        bounds hold (:func:`bound_coverage`)
    parameters : dict — every parameter of the run
    """

    data: ArchiveData
    fits: dict
    degree: int
    cross_validation: CrossValidation
    offsets: Offsets
    rolling: pd.DataFrame
    windows: pd.DataFrame
    residuals: dict
    reference: dict | None
    parameters: dict

    @property
    def fit(self) -> PolynomialFit:
        """The fit of the chosen degree."""
        return self.fits[self.degree]

    def residual_values(self) -> np.ndarray:
        """(n,) Q minus the chosen curve, for every entry."""
        return self.data.q - self.fit.predict(self.data.resolution)

    def expected_model(self, source: str | None = None) -> ExpectedModel:
        """The chosen curve and its offsets as an :class:`ExpectedModel` (sigma from the parameters)."""
        d = self.data.resolution
        return ExpectedModel(coefficients=self.fit.coefficients, peak=self.offsets.peak, low=self.offsets.low,
                             high=self.offsets.high, sigma=float(self.parameters["sigma"]),
                             d_range=(float(d.min()), float(d.max())),
                             source=source or f"degree-{self.degree} fit to {len(self.data)} entries of "
                                              f"{Path(self.data.source).name} (qscore archive stats)")

    def rolling_summary(self) -> dict:
        """Entry-weighted means of the rolling-window offsets (Q units) and the windows used."""
        t = self.rolling
        if t.empty:
            return {"windows": 0}
        weights = t["entries"].to_numpy(dtype=np.float64)
        return {"windows": len(t), "resolution_min": float(t["resolution"].min()),
                "resolution_max": float(t["resolution"].max()),
                **{c: float(np.average(t[c], weights=weights)) for c in ("mean", "peak", "low", "high")}}

    def summary(self) -> dict:
        """Everything as plain, JSON-ready values (the caller adds the provenance: command, versions)."""
        return {"kind": "qscore-archive-stats", "version": 1, "input": self.data.summary(),
                "parameters": self.parameters, "polynomial_fits": [f.summary() for f in self.fits.values()],
                "degree": self.degree, "cross_validation": self.cross_validation.summary(),
                "offsets": self.offsets.summary(),
                "offset_coverage": bound_coverage(self.residual_values(), peak=self.offsets.peak,
                                                  low=self.offsets.low, high=self.offsets.high),
                "rolling_offsets": self.rolling_summary(), "residuals": self.residuals,
                "window_sizes": {"centres_A": [float(WINDOW_CENTRES[0]), float(WINDOW_CENTRES[-1])],
                                 "split_resolution_A": self.parameters["split_resolution"],
                                 "rows": self.windows.to_dict(orient="records")},
                "reference_model": self.reference}


def archive_stats(data: ArchiveData, *, degree: int = 3, repeats: int = 100, test_fraction: float = 0.1,
                  seed: int = 0, peak_window: float = 0.01, coverage: float = 0.95,
                  rolling_half_width: float = 0.5, rolling_min_entries: int = 50,
                  windows: Sequence[float] = PERCENTILE_WINDOWS,
                  split_resolution: float = SPLIT_RESOLUTION, sigma: float = 0.4) -> ArchiveStats:
    """Compute every archive statistic of docs/science.md §9 for ``data``.

    Parameters
    ----------
    data : ArchiveData — from :func:`qscore.io.archive.read_archive`
    degree : int — polynomial degree (1–4) of the model, its residuals, cross-validation and offsets
    repeats, test_fraction, seed : cross-validation (see :func:`cross_validate`)
    peak_window : float — half-width (Q units) of the band that defines Q_peak
    coverage : float — share of the entries each bound holds on its side of Q_peak (0.95)
    rolling_half_width : float — half-width of the rolling resolution windows, Å
    rolling_min_entries : int — windows with fewer entries are left out
    windows : sequence of float — percentile windows w, Å
    split_resolution : float — resolution (Å) separating the two correlation groups
    sigma : float — reference-Gaussian width the archive's Q was computed with, Å (recorded in the
        saved model; the built-in curve for it, if any, is compared with the fit)

    Raises
    ------
    ParameterError — a parameter out of range, or too few entries for the degree or the split.
    """
    if degree not in DEGREES:
        raise ParameterError(f"degree={degree} is not available; choose one of "
                             f"{', '.join(str(k) for k in DEGREES)}.", parameter="degree")
    d, q = data.resolution, data.q
    fits = fit_polynomials(d, q, sorted(set(DEGREES)), source=data.source)
    cv = cross_validate(d, q, degree, repeats=repeats, test_fraction=test_fraction, seed=seed, source=data.source)
    residuals = q - fits[degree].predict(d)
    offsets = curve_offsets(residuals, window=peak_window, coverage=coverage)
    rolling = rolling_offsets(d, q, fits[degree], half_width=rolling_half_width,
                              min_entries=rolling_min_entries, window=peak_window, coverage=coverage)
    reference = _reference_comparison(d, q, sigma)
    parameters = {"degree": degree, "repeats": repeats, "test_fraction": test_fraction, "seed": seed,
                  "peak_window": peak_window, "coverage": coverage, "rolling_half_width": rolling_half_width,
                  "rolling_min_entries": rolling_min_entries, "windows": [float(w) for w in windows],
                  "split_resolution": split_resolution, "sigma": sigma}
    return ArchiveStats(data=data, fits=fits, degree=degree, cross_validation=cv, offsets=offsets,
                        rolling=rolling, windows=window_size_table(d, q, windows, split=split_resolution),
                        residuals=residual_summary(residuals), reference=reference, parameters=parameters)


def _reference_comparison(d, q, sigma: float) -> dict | None:
    """How the built-in curve for ``sigma`` (if there is one) describes these entries."""
    try:
        model = model_for_sigma(sigma)
    except ParameterError:
        return None
    r = q - model.q_mean(d)
    return {"source": model.source, "coefficients": list(model.coefficients), "peak": model.peak,
            "low": model.low, "high": model.high, "rmse": math.sqrt(float(np.mean(r ** 2))),
            **bound_coverage(r, peak=model.peak, low=model.low, high=model.high)}


__all__ = ["DEGREES", "PERCENTILE_WINDOWS", "WINDOW_CENTRES", "SPLIT_RESOLUTION", "PolynomialFit", "fit_polynomial",
           "fit_polynomials", "fits_table", "CrossValidation", "cross_validate", "prediction_metrics", "split_sizes",
           "window_counts", "relative_resolution_percentiles", "pearson", "window_size_table",
           "residual_summary", "qq_points", "ArchiveStats", "archive_stats"]
