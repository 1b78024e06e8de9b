"""Figures of atomic profiles (``qscore profile``) and of the B-factor scan (``qscore bfactors``).

Reads only tables and results of :mod:`qscore.analysis.profiles` and :mod:`qscore.analysis.bfactors`.
matplotlib is imported when a figure is drawn (Agg canvas, no pyplot); figures are saved with
:func:`qscore.report.common.save_figure` (atomic PNG and SVG) in its Okabe–Ito colours.
"""

from __future__ import annotations

import math

import numpy as np

from .common import BLACK, BLUE, GREY, ORANGE, VERMILLION, new_figure

#: at most this many atoms get a panel each; larger selections are drawn in one panel
MAX_PANELS = 12


def _gaussian_curve(fit: dict, x: np.ndarray):
    from ..analysis.profiles import gaussian

    if not fit.get("converged"):
        return None
    return gaussian(x, fit["A"], fit["mu"], fit["sigma"], fit["B"])


def _short_reason(fit: dict) -> str:
    """Why a profile has no fitted curve, in a few words for a panel."""
    status = str(fit.get("fit_status") or "no fit")
    if status == "wider than range" and fit.get("sigma_min") == fit.get("sigma_min"):
        return f"σ > {fit['sigma_min']:.1f} Å:\nwider than the range"
    return status


def _draw_profile(ax, radii, values, fit: dict, reference, *, label: str, marker_colour=BLUE):
    x = np.linspace(0.0, float(np.max(radii)), 200)
    ax.plot(radii, values, linestyle="none", marker="o", markersize=3.5, color=marker_colour, label="profile")
    if reference is not None:
        ax.plot(x, reference(x), color=GREY, linestyle=":", linewidth=1.4, label="reference Gaussian")
    curve = _gaussian_curve(fit, x)
    if curve is not None:
        ax.plot(x, curve, color=VERMILLION, linestyle="--", linewidth=1.4, label="fitted Gaussian")
        note = f"σ {fit['sigma']:.2f} Å, μ {fit['mu']:.2f} Å\nerror {100 * fit['rel_error']:.1f}%"
    else:
        note = _short_reason(fit)
    ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=7, color=VERMILLION)
    ax.set_title(label, fontsize=8)
    ax.tick_params(labelsize=7)


def plot_profiles(table, *, reference=None, selection: dict | None = None, max_panels: int = MAX_PANELS):
    """Radial profiles with their fitted Gaussians and the Q-score's reference Gaussian.

    Parameters
    ----------
    table : DataFrame from :func:`qscore.analysis.profiles.profile_table`
    reference : callable x -> g(x), optional — the reference Gaussian (e.g.
        ``functools.partial(reference_gaussian, result)``)
    selection : dict from :func:`qscore.analysis.profiles.selection_profile`, optional — drawn as
        its own panel (the mean over the selection's points) when given
    max_panels : int — up to this many atoms get a panel each; beyond, every atom's profile is a
        thin line in one panel beside the selection's

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from ..analysis.profiles import atom_label

    radii = np.asarray(table.attrs["radii"], dtype=np.float64)
    cols = table.attrs["profile_columns"]
    n = len(table)
    each = n <= max_panels
    panels = (n if each else 1) + (1 if selection is not None else 0)
    ncols = min(4, max(panels, 1))
    nrows = math.ceil(panels / ncols)
    height = 2.4 * nrows + 0.6
    fig = Figure(figsize=(2.9 * ncols + 0.4, height))  # fixed margins: constrained layout is slow with many panels
    fig.subplots_adjust(left=0.25 / ncols + 0.04, right=0.98, bottom=0.55 / height, top=1 - 0.45 / height,
                        wspace=0.32, hspace=0.55)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    k = 0
    if each:
        for _, row in table.iterrows():
            fit = {key: row[key] for key in ("A", "mu", "sigma", "B", "rel_error", "converged", "fit_status",
                                             "sigma_min")}
            _draw_profile(axes[k], radii, row[cols].to_numpy(dtype=np.float64), fit, reference,
                          label=f"{atom_label(row)}  Q {row['Q']:.3f}")
            k += 1
    else:
        ax = axes[k]
        for values in table[cols].to_numpy(dtype=np.float64):
            ax.plot(radii, values, color=GREY, linewidth=0.5, alpha=0.4)
        ax.plot([], [], color=GREY, linewidth=0.5, label=f"{n} atoms")
        if reference is not None:
            x = np.linspace(0.0, float(radii.max()), 200)
            ax.plot(x, reference(x), color=BLACK, linestyle=":", linewidth=1.4, label="reference Gaussian")
        ax.set_title(f"{n} atoms, mean Q {table['Q'].mean():.3f}", fontsize=8)
        ax.tick_params(labelsize=7)
        k += 1
    if selection is not None:
        _draw_profile(axes[k], selection["radii"], selection["values"], selection["fit"], reference,
                      label=f"selection: {selection['atoms']} atoms, every kept point", marker_colour=ORANGE)
        k += 1
    for ax in axes[k:]:
        ax.set_visible(False)
    for i, ax in enumerate(axes[:k]):
        ax.set_xlabel("distance from atom (Å)", fontsize=7)
        if i % ncols == 0:
            ax.set_ylabel("map value", fontsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    if selection is not None and k > 1:
        handles, labels = axes[k - 1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncols=len(labels), fontsize=7, frameon=False)
    return fig


def plot_bfactor_scan(scan):
    """CC-mean of the map with the model map against f (B = f·(1 − Q)), the best f highlighted and
    the CC-mean with every B = 0 as a line.  ``scan`` is a :class:`~qscore.analysis.bfactors.BFactorScan`."""
    fig = new_figure(6.0, 4.0)
    ax = fig.subplots()
    ax.plot(scan.factors, scan.cc_mean, color=BLUE, marker="o", markersize=4, label="CC-mean, B = f·(1 − Q)")
    i = scan.best_index
    ax.plot([scan.factors[i]], [scan.cc_mean[i]], linestyle="none", marker="*", markersize=14, color=VERMILLION,
            label=f"best f = {scan.best_f:g} Å² (CC-mean {scan.cc_mean[i]:.4f})")
    ax.axhline(scan.cc_mean_b0, color=GREY, linestyle="--", linewidth=1.2,
               label=f"B = 0 (CC-mean {scan.cc_mean_b0:.4f})")
    ax.set_xlabel("f (Å²)")
    ax.set_ylabel("CC-mean, map vs model map")
    ax.set_title(f"Electron-scattering model maps at {scan.resolution:g} Å", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="best")
    return fig


__all__ = ["plot_profiles", "plot_bfactor_scan", "MAX_PANELS"]
