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
#: text size in profile panels (smaller than the report figures', which have fewer panels)
PANEL_FONT_SIZE = 8


def _short_reason(fit: dict) -> str:
    """Why a profile has no fitted curve, in a few words for a panel."""
    status = str(fit.get("fit_status") or "no fit")
    if status == "wider than range" and fit.get("sigma_min") == fit.get("sigma_min"):
        return f"no fit: σ > {fit['sigma_min']:.1f} Å,\nwider than the range"
    return f"no fit: {status}"


def _draw_reference(ax, x: np.ndarray, values: np.ndarray, sigma: float, colour=GREY) -> None:
    """The Q-score's reference Gaussian (width ``sigma``) spanning the points' range: Q depends only on
    its shape, not on its height or offset."""
    from ..analysis.profiles import gaussian

    ok = np.isfinite(values)
    if ok.any():
        lo, hi = float(values[ok].min()), float(values[ok].max())
        ax.plot(x, gaussian(x, hi - lo, 0.0, sigma, lo), color=colour, linestyle="--", linewidth=1.3)


def draw_profile_panel(ax, radii, values, fit: dict, sigma: float, *, title: str, marker_colour=BLUE) -> bool:
    """One atom's (or selection's) radial profile: the map values (points), the reference Gaussian
    over the points' range (dashed grey) and the fitted Gaussian (solid vermillion) with its σ, μ and
    error — or the reason there is none.

    Parameters
    ----------
    ax : matplotlib Axes
    radii, values : (m,) float — distances from the atom (Å) and mean map values (NaN: no point kept)
    fit : dict — one fit (:func:`qscore.analysis.profiles.fit_gaussian` keys, or a profile-table row)
    sigma : float — the Q-score's reference width, Å
    title : str — the panel's title
    marker_colour : colour of the points

    Returns
    -------
    bool — whether a fitted curve was drawn
    """
    from ..analysis.profiles import gaussian

    radii = np.asarray(radii, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    x = np.linspace(0.0, float(np.max(radii)), 200)
    ok = np.isfinite(values)
    _draw_reference(ax, x, values, sigma)
    ax.plot(radii[ok], values[ok], linestyle="none", marker="o", markersize=3.5, color=marker_colour, zorder=3)
    fitted = bool(fit.get("converged"))
    if fitted:
        ax.plot(x, gaussian(x, fit["A"], fit["mu"], fit["sigma"], fit["B"]), color=VERMILLION, linewidth=1.3)
        note = f"fit σ {fit['sigma']:.2f} Å, μ {fit['mu']:.2f} Å\nerror {100 * fit['rel_error']:.1f}%"
    else:
        note = _short_reason(fit)
    ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=PANEL_FONT_SIZE - 1,
            color=BLACK if fitted else VERMILLION)
    ax.set_title(title, fontsize=PANEL_FONT_SIZE)
    ax.tick_params(labelsize=PANEL_FONT_SIZE - 1)
    return fitted


def profile_legend(fig, sigma: float, *, fitted: bool, extra=()) -> None:
    """The legend of a profile figure, below the panels (as in the report's other figures).

    Parameters
    ----------
    fig : matplotlib Figure
    sigma : float — the reference width, Å
    fitted : bool — whether any panel has a fitted curve
    extra : sequence of (handle, label) — further entries (e.g. the many-atoms panel's lines)
    """
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linestyle="none", marker="o", markersize=3.5, color=BLUE),
               Line2D([], [], color=GREY, linestyle="--", linewidth=1.3)]
    labels = ["map values (mean over the points Q used)", f"reference Gaussian, σ {sigma:g} Å (over the points' range)"]
    if fitted:
        handles.append(Line2D([], [], color=VERMILLION, linewidth=1.3))
        labels.append("fitted Gaussian")
    for h, lab in extra:
        handles.append(h)
        labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncols=min(len(labels), 4), frameon=False,
               fontsize=PANEL_FONT_SIZE - 1)


def plot_profiles(table, *, sigma: float, selection: dict | None = None, max_panels: int = MAX_PANELS):
    """Radial profiles with their fitted Gaussians and the Q-score's reference Gaussian.

    Parameters
    ----------
    table : DataFrame from :func:`qscore.analysis.profiles.profile_table` — one panel per row, in
        the table's order
    sigma : float — the Q-score's reference width, Å (``result.params.sigma``)
    selection : dict from :func:`qscore.analysis.profiles.selection_profile`, optional — drawn as
        its own panel (the mean over the selection's points) when given
    max_panels : int — up to this many atoms get a panel each; beyond, every atom's profile is a
        thin line in one panel beside the selection's

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ..analysis.profiles import atom_label

    radii = np.asarray(table.attrs["radii"], dtype=np.float64)
    cols = table.attrs["profile_columns"]
    n = len(table)
    each = n <= max_panels
    panels = (n if each else 1) + (1 if selection is not None else 0)
    ncols = min(3 if panels <= 9 else 4, max(panels, 1))
    nrows = math.ceil(panels / ncols)
    height = 2.7 * nrows + 0.9
    fig = Figure(figsize=(3.4 * ncols + 0.4, height))  # fixed margins: constrained layout is slow with many panels
    fig.subplots_adjust(left=0.3 / ncols + 0.05, right=0.98, bottom=0.95 / height, top=1 - 0.4 / height,
                        wspace=0.3, hspace=0.6)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    k, fitted, extra = 0, False, []
    if each:
        for _, row in table.iterrows():
            fitted |= draw_profile_panel(axes[k], radii, row[cols].to_numpy(dtype=np.float64), row.to_dict(), sigma,
                                         title=f"{atom_label(row)} · Q {row['Q']:.3f}")
            k += 1
    else:
        ax = axes[k]
        profiles = table[cols].to_numpy(dtype=np.float64)
        for values in profiles:
            ax.plot(radii, values, color=GREY, linewidth=0.5, alpha=0.4)
        x = np.linspace(0.0, float(radii.max()), 200)
        _draw_reference(ax, x, np.nanmean(profiles, axis=0), sigma, colour=BLACK)
        extra = [(Line2D([], [], color=GREY, linewidth=0.5), f"one atom's profile ({n} atoms)"),
                 (Line2D([], [], color=BLACK, linestyle="--", linewidth=1.3), "reference over the mean's range")]
        ax.set_title(f"{n} atoms, mean Q {table['Q'].mean():.3f}", fontsize=PANEL_FONT_SIZE)
        ax.tick_params(labelsize=PANEL_FONT_SIZE - 1)
        k += 1
    if selection is not None:
        fitted |= draw_profile_panel(axes[k], selection["radii"], selection["values"], selection["fit"], sigma,
                                     title=f"selection: {selection['atoms']} atoms, every kept point",
                                     marker_colour=ORANGE)
        extra.append((Line2D([], [], linestyle="none", marker="o", markersize=3.5, color=ORANGE),
                      "the selection's points together"))
        k += 1
    for ax in axes[k:]:
        ax.set_visible(False)
    for i, ax in enumerate(axes[:k]):
        ax.set_xlabel("Distance from the atom (Å)", fontsize=PANEL_FONT_SIZE)
        if i % ncols == 0:
            ax.set_ylabel("Map value", fontsize=PANEL_FONT_SIZE)
    profile_legend(fig, sigma, fitted=fitted, extra=extra)
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


__all__ = ["plot_profiles", "draw_profile_panel", "profile_legend", "plot_bfactor_scan", "MAX_PANELS"]
