"""Figures of the archive statistics (``qscore archive stats``): fit, offsets, windows, residuals.

Reads only an :class:`~qscore.analysis.archive_stats.ArchiveStats`.  matplotlib is imported when a figure
is drawn; figures are made and saved (atomically, PNG and SVG) with :mod:`qscore.report.common`, in
its Okabe–Ito colours; lines also differ in style.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import BLACK, BLUE, GREY, ORANGE, SKY_BLUE, VERMILLION, new_figure, save_figure


def _figure(width: float, height: float, ncols: int = 1):
    fig = new_figure(width, height)
    return fig, fig.subplots(1, ncols)


def _grid(stats, points: int = 400) -> np.ndarray:
    d = stats.data.resolution
    return np.linspace(max(d.min(), 1e-3), d.max(), points)


def plot_archive_fit(stats):
    """Q against resolution with the fitted curve, Q_peak and the 95% curves (cf. the paper's Fig. 2a).

    Solid lines: the polynomial curve shifted by the global offsets; markers: the same offsets
    from rolling resolution windows, for comparison.
    """
    fig, ax = _figure(7.0, 4.8)
    d, q = stats.data.resolution, stats.data.q
    ax.scatter(d, q, s=3, color=GREY, alpha=0.35, linewidths=0, rasterized=True,
               label=f"entries (n = {len(d)})")
    x = _grid(stats)
    base = stats.fit.predict(x)
    off = stats.offsets
    pct = f"{off.coverage:.0%}"
    curves = (("mean", 0.0, BLACK, "-", f"Q_mean (degree {stats.degree}, R² {stats.fit.r2:.4f})"),
              ("peak", off.peak, BLUE, "-", f"Q_peak ({off.peak:+.3f})"),
              ("high", off.high, VERMILLION, "--", f"Q_high{pct[:-1]} ({off.high:+.3f})"),
              ("low", off.low, ORANGE, "--", f"Q_low{pct[:-1]} ({off.low:+.3f})"))
    roll = stats.rolling
    for column, shift, colour, style, label in curves:
        ax.plot(x, base + shift, color=colour, linestyle=style, linewidth=1.6, label=label)
        if not roll.empty:
            rolled = {"mean": "q_mean", "peak": "q_peak", "high": "q_high95", "low": "q_low95"}[column]
            ax.plot(roll["resolution"], roll[rolled], color=colour, linestyle="none", marker=".",
                    markersize=3)
    if not roll.empty:
        ax.plot([], [], color=GREY, linestyle="none", marker=".",
                label=f"rolling windows (±{stats.parameters['rolling_half_width']:g} Å)")
    ax.set_xlabel("Resolution d (Å)")
    ax.set_ylabel("Q-score")
    ax.set_title(f"{Path(stats.data.source).name}: Q against resolution")
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    return fig


def plot_window_sizes(stats):
    """Entries per percentile window (min/mean/max over 1–10 Å) and the Q_relative–d correlations."""
    fig, (left, right) = _figure(9.0, 3.8, ncols=2)
    t = stats.windows
    w = t["window"]
    left.fill_between(w, t["entries_min"], t["entries_max"], color=SKY_BLUE, alpha=0.35, label="min – max")
    left.plot(w, t["entries_mean"], color=BLUE, marker="o", label="mean")
    left.plot(w, t["entries_min"], color=BLUE, linestyle=":", marker="v", markersize=4, label="min")
    left.plot(w, t["entries_max"], color=BLUE, linestyle="--", marker="^", markersize=4, label="max")
    left.set_xlabel("Window half-width w (Å)")
    left.set_ylabel("Entries within ±w (resolutions 1–10 Å)")
    left.legend(fontsize=8, frameon=False)
    split = stats.parameters["split_resolution"]
    right.axhline(0.0, color=GREY, linewidth=0.8)
    right.plot(w, t["r_below"], color=BLUE, marker="o", label=f"d < {split:g} Å")
    right.plot(w, t["r_above"], color=VERMILLION, marker="s", linestyle="--", label=f"d ≥ {split:g} Å")
    right.set_xlabel("Window half-width w (Å)")
    right.set_ylabel("Pearson r of Q_relative_resolution with d")
    right.legend(fontsize=8, frameon=False)
    return fig


def plot_residuals(stats):
    """Residuals of the chosen curve against resolution, with the offset lines."""
    fig, ax = _figure(7.0, 4.0)
    d = stats.data.resolution
    ax.scatter(d, stats.residual_values(), s=3, color=GREY, alpha=0.35, linewidths=0, rasterized=True)
    off = stats.offsets
    ax.axhline(0.0, color=BLACK, linewidth=1.2, label="curve")
    ax.axhline(off.peak, color=BLUE, linewidth=1.2, label=f"Q_peak {off.peak:+.3f}")
    ax.axhline(off.high, color=VERMILLION, linestyle="--", linewidth=1.2, label=f"high {off.high:+.3f}")
    ax.axhline(off.low, color=ORANGE, linestyle="--", linewidth=1.2, label=f"low {off.low:+.3f}")
    ax.set_xlabel("Resolution d (Å)")
    ax.set_ylabel(f"Residual Q − Q_mean (degree {stats.degree})")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return fig


def plot_qq(stats):
    """Normal QQ plot of the chosen curve's residuals."""
    from ..analysis.archive_stats import qq_points

    fig, ax = _figure(4.8, 4.6)
    theoretical, ordered = qq_points(stats.residual_values())
    ax.scatter(theoretical, ordered, s=3, color=BLUE, linewidths=0, rasterized=True, label="residuals")
    r = stats.residuals
    ax.plot(theoretical, r["qq_slope"] * theoretical + r["qq_intercept"], color=VERMILLION, linestyle="--",
            label=f"normal line (r = {r['qq_r']:.4f})")
    ax.set_xlabel("Normal quantile")
    ax.set_ylabel("Ordered residual (Q units)")
    ax.set_title(f"skewness {r['skewness']:.2f}, excess kurtosis {r['excess_kurtosis']:.2f}", fontsize=9)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return fig


#: figure name -> drawing function
FIGURES = {"fit": plot_archive_fit, "windows": plot_window_sizes, "residuals": plot_residuals, "qq": plot_qq}


def write_archive_figures(stats, folder, *, written: list | None = None) -> dict:
    """Draw every figure of :data:`FIGURES` into ``folder`` as ``archive_<name>.png`` and ``.svg``.

    Parameters
    ----------
    stats : ArchiveStats
    folder : str or Path — existing folder
    written : list, optional — each path is appended as soon as it exists (for clean-up on failure)

    Returns
    -------
    dict {'<name>_png' | '<name>_svg': path}
    """
    out = {}
    for name, draw in FIGURES.items():
        fig = draw(stats)
        for fmt, path in save_figure(fig, Path(folder) / f"archive_{name}", written=written).items():
            out[f"{name}_{fmt}"] = path
    return out


__all__ = ["plot_archive_fit", "plot_window_sizes", "plot_residuals", "plot_qq", "write_archive_figures"]
