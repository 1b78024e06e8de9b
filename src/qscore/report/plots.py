"""Figures of one scored model, as the Q-score papers show them.

- :func:`plot_residue_q` — residue Q along the sequence of one chain (backbone and side chain for
  protein; phosphate, sugar and base for nucleic acid), with the expected Q_peak line and the 95%
  band at the map's resolution; residues outside the band are marked and the worst labelled.
- :func:`plot_chain_overview` — mean Q of every polymer chain (for models with many chains).
- :func:`plot_archive_position` — the entry on the archive's Q-versus-resolution scatter with the
  Q_peak and 95% curves.
- :func:`plot_atom_distributions` — atom Q per molecule type.
- :func:`plot_profiles` — radial profiles of chosen atoms with the reference Gaussian and the
  Gaussian fitted by :func:`qscore.analysis.profiles.fit_gaussian`.

:func:`report_figures` yields all that apply to a result, with captions, for the HTML report.
Every function reads results only and returns a :class:`matplotlib.figure.Figure` (Agg canvas, no
pyplot, no global backend change); matplotlib is imported when a figure is drawn.  Colours are the
Okabe–Ito palette, which readers with colour-vision deficiencies tell apart, and series also differ
in line style or marker shape, so that figures stay readable in grey print.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .common import BLACK, BLUE, GREEN, GREY, ORANGE, PURPLE, SKY_BLUE, VERMILLION, new_figure, save_figure

__all__ = ["plot_residue_q", "plot_chain_overview", "plot_archive_position", "plot_atom_distributions",
           "plot_profiles", "select_profile_atoms", "polymer_groups", "polymer_group", "report_figures", "ReportFigure",
           "save_figure", "RESIDUE_POINT_GIDS", "MAX_PROFILE_PANELS"]

#: the gid of the residue-point collections in a residue plot (one point per residue; SVG groups)
RESIDUE_POINT_GIDS = {"within": "residue-q-within", "below": "residue-q-below", "above": "residue-q-above",
                      "none": "residue-q"}
#: the parts drawn for each polymer type: (column, label, colour, line style)
PART_LINES = {
    "protein": (("Q_backbone", "backbone", BLUE, "-"), ("Q_sidechain", "side chain", ORANGE, "--")),
    "nucleic": (("Q_phosphate", "phosphate", BLUE, "-"), ("Q_sugar", "sugar", ORANGE, "--"),
                ("Q_base", "base", GREEN, ":")),
}
#: residues per row of a residue plot; longer chains wrap onto further rows
RESIDUES_PER_ROW = 400
BAND_COLOUR = "#BBBBBB"
FONT_SIZE = 9


def _new_figure(width: float, height: float):
    return new_figure(width, height, dpi=100)


def _expected_text(expected, resolution) -> str:
    if expected is None:
        return ("no resolution given: no expected Q" if resolution is None
                else f"no expected Q at {resolution:g} Å (outside the curve's fitted range)")
    return (f"expected at {resolution:g} Å: Q_peak {expected.Q_peak:.3f}, "
            f"95% band {expected.Q_low95:.3f}–{expected.Q_high95:.3f}")


def _draw_band(ax, expected, *, vertical: bool = False) -> None:
    if expected is None:
        return
    lo, hi, peak = expected.Q_low95, expected.Q_high95, expected.Q_peak
    if vertical:
        ax.axvspan(lo, hi, color=BAND_COLOUR, alpha=0.35, linewidth=0, zorder=0)
        ax.axvline(peak, color=BLACK, linestyle="-.", linewidth=1.1, zorder=1)
    else:
        ax.axhspan(lo, hi, color=BAND_COLOUR, alpha=0.35, linewidth=0, zorder=0)
        ax.axhline(peak, color=BLACK, linestyle="-.", linewidth=1.1, zorder=1)


def _residue_label(row) -> str:
    return f"{row['res_name']}{row['res_num']}{row['ins_code'] or ''}"


def _x_positions(table: pd.DataFrame) -> np.ndarray:
    """Residue numbers, with residues sharing a number (insertion codes) spread between it and the next."""
    num = table["res_num"].to_numpy(dtype=float)
    rank = table.groupby("res_num", sort=False).cumcount().to_numpy(dtype=float)
    count = table.groupby("res_num", sort=False)["res_num"].transform("size").to_numpy(dtype=float)
    return num + rank / count


def _gapped(x: np.ndarray, y: np.ndarray) -> tuple:
    """Insert NaN between residues more than one number apart so that lines break at gaps."""
    if len(x) < 2:
        return x, y
    gaps = np.flatnonzero(np.diff(np.floor(x)) > 1)
    return np.insert(x, gaps + 1, np.nan), np.insert(y.astype(float), gaps + 1, np.nan)


def _pick_labels(x: np.ndarray, q: np.ndarray, n: int, min_sep: float, worst_low: bool) -> np.ndarray:
    """Indices of up to ``n`` points to label: the most extreme first, none closer than ``min_sep`` in x."""
    order = np.argsort(q if worst_low else -q, kind="stable")
    chosen: list = []
    for i in order:
        if len(chosen) >= n:
            break
        if all(abs(x[i] - x[j]) >= min_sep for j in chosen):
            chosen.append(i)
    return np.array(chosen, dtype=int)


def polymer_groups(residues: pd.DataFrame) -> list:
    """The (chain, polymer type) groups of a residue table, in order of appearance.

    Returns
    -------
    list of (chain, mol_type) — see :func:`polymer_group` for each group's rows
    """
    poly = residues.loc[residues["mol_type"].isin(tuple(PART_LINES)), ["chain", "mol_type"]].drop_duplicates()
    return [(str(c), str(t)) for c, t in poly.itertuples(index=False, name=None)]


def polymer_group(residues: pd.DataFrame, chain: str, mol_type: str) -> pd.DataFrame:
    """The residues of one (chain, polymer type) group, in sequence order.

    Parameters
    ----------
    residues : DataFrame — the residue table
    chain : str; mol_type : str — 'protein' or 'nucleic'

    Returns
    -------
    DataFrame
    """
    rows = residues[(residues["chain"] == chain) & (residues["mol_type"] == mol_type)]
    return rows.sort_values(["res_num", "ins_code"], kind="stable")


def plot_residue_q(table: pd.DataFrame, *, chain: str, mol_type: str, expected=None,
                   resolution: float | None = None, max_labels: int = 12, per_row: int = RESIDUES_PER_ROW):
    """Residue Q along the sequence of one chain, with its parts, the expected band and outliers.

    Parameters
    ----------
    table : DataFrame — rows of one chain and polymer type from ``Analysis.residues``
        (columns res_num, ins_code, res_name, Q_residue and the part columns; Q_flag with a resolution)
    chain, mol_type : the chain ID and polymer type ('protein' or 'nucleic'), for titles
    expected : qscore.analysis.results.ExpectedQ or None — Q_peak and the 95% band at the map's resolution
    resolution : float, optional — the map's resolution, Å (for the title)
    max_labels : int — most outliers labelled per row (the most extreme; all are marked)
    per_row : int — residues per row; longer chains wrap

    Returns
    -------
    matplotlib.figure.Figure — one point per residue in the collections of :data:`RESIDUE_POINT_GIDS`
    """
    if mol_type not in PART_LINES:
        raise ParameterError(f"Residue plots are drawn for protein and nucleic chains, not '{mol_type}'.")
    t = table.sort_values(["res_num", "ins_code"], kind="stable").reset_index(drop=True)
    n = len(t)
    if n == 0:
        raise ParameterError(f"Chain '{chain}' has no {mol_type} residues to plot.")
    x_all = _x_positions(t)
    q_all = t["Q_residue"].to_numpy(dtype=float)
    flags = (t["Q_flag"].astype(str).to_numpy() if expected is not None and "Q_flag" in t
             else np.full(n, "none", dtype=object))
    from matplotlib.ticker import MaxNLocator

    n_rows = int(np.ceil(n / per_row))
    row_len = int(np.ceil(n / n_rows))  # rows of equal length, drawn to the same scale
    fig = _new_figure(11.0, 2.5 * n_rows + 1.0)
    axes = np.atleast_1d(fig.subplots(n_rows, 1, squeeze=False)[:, 0])
    finite = q_all[np.isfinite(q_all)]
    parts = [(c, lab, col, ls) for c, lab, col, ls in PART_LINES[mol_type] if c in t and t[c].notna().any()]
    part_values = [t[c].to_numpy(dtype=float) for c, *_ in parts]
    lows = [finite.min() if len(finite) else 0.0] + [np.nanmin(v) for v in part_values if np.isfinite(v).any()]
    highs = [finite.max() if len(finite) else 1.0] + [np.nanmax(v) for v in part_values if np.isfinite(v).any()]
    has_below, has_above = bool((flags == "below").any()), bool((flags == "above").any())
    y_lo = min(min(lows), 0.0) - (0.25 if has_below else 0.05)
    y_hi = max(max(highs) + (0.25 if has_above else 0.05), 1.02)
    width = max(float(x_all[min((r + 1) * row_len, n) - 1] - x_all[r * row_len]) for r in range(n_rows))
    marker = {"within": ("o", BLACK, 10, "residue Q"), "none": ("o", BLACK, 10, "residue Q"),
              "below": ("v", VERMILLION, 26, "below the 95% band"), "above": ("^", SKY_BLUE, 26, "above the 95% band")}
    for r, ax in enumerate(axes):
        sl = slice(r * row_len, min((r + 1) * row_len, n))
        x, q, fl = x_all[sl], q_all[sl], flags[sl]
        _draw_band(ax, expected)
        for (_, label, colour, style), values in zip(parts, part_values, strict=True):
            xs, ys = _gapped(x, values[sl])
            ax.plot(xs, ys, color=colour, linestyle=style, linewidth=0.9, alpha=0.9, label=label, zorder=2)
        for kind in ("within", "none", "below", "above"):
            sel = fl == kind
            if not sel.any():
                continue
            shape, colour, area, label = marker[kind]
            edge = BLACK if kind in ("below", "above") else "none"
            coll = ax.scatter(x[sel], q[sel], s=area, marker=shape, color=colour, edgecolors=edge,
                              linewidths=0.5, zorder=3, label=label)
            coll.set_gid(RESIDUE_POINT_GIDS[kind])
        span = max(width, 1.0)
        for kind, low in (("below", True), ("above", False)):
            idx = np.flatnonzero(fl == kind)
            if len(idx) == 0:
                continue
            pick = idx[_pick_labels(x[idx], q[idx], max_labels, span / 55.0, worst_low=low)]
            for i in pick:
                ax.annotate(_residue_label(t.iloc[sl.start + i]), (x[i], q[i]),
                            xytext=(0, -6 if low else 6), textcoords="offset points", rotation=90,
                            ha="center", va="top" if low else "bottom", fontsize=6.5, color=BLACK, zorder=4)
        pad = max(span * 0.01, 0.6)
        ax.set_xlim(float(x[0]) - pad, float(x[0]) + span + pad)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(y_lo, y_hi)
        ax.set_ylabel("Q-score", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE - 1)
        ax.grid(axis="y", color="#E5E5E5", linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)
    axes[-1].set_xlabel("Residue number", fontsize=FONT_SIZE)
    seen: dict = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    if expected is not None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        seen[f"Q_peak at {resolution:g} Å"] = Line2D([], [], color=BLACK, linestyle="-.", linewidth=1.1)
        seen["95% of entries"] = Patch(color=BAND_COLOUR, alpha=0.35)
    fig.legend(list(seen.values()), list(seen.keys()), loc="outside lower center", ncols=min(len(seen), 7),
               frameon=False, fontsize=FONT_SIZE - 1)
    counts = ""
    if expected is not None:
        counts = f"; {int((flags == 'below').sum())} below, {int((flags == 'above').sum())} above the band"
    fig.suptitle(f"Chain {chain} ({mol_type}, {n} residue{'s' if n != 1 else ''}): residue Q — "
                 f"{_expected_text(expected, resolution)}{counts}", fontsize=FONT_SIZE + 1, x=0.01, ha="left")
    return fig


def plot_chain_overview(chains: pd.DataFrame, *, expected=None, resolution: float | None = None,
                        max_labels: int = 40):
    """Mean Q (over atoms) of every protein and nucleic chain, in model order, with the expected band.

    Parameters
    ----------
    chains : DataFrame — ``Analysis.chains`` (columns chain, mol_type, n_residues, Q)
    expected, resolution : as for :func:`plot_residue_q`
    max_labels : int — chain IDs are written on the axis only up to this many chains
    """
    poly = chains[chains["mol_type"].isin(tuple(PART_LINES))].reset_index(drop=True)
    if poly.empty:
        raise ParameterError("The model has no protein or nucleic chain to summarise.")
    fig = _new_figure(11.0, 3.6)
    ax = fig.subplots()
    _draw_band(ax, expected)
    x = np.arange(len(poly))
    for mol_type, shape, colour in (("protein", "o", BLUE), ("nucleic", "s", ORANGE)):
        sel = (poly["mol_type"] == mol_type).to_numpy()
        if sel.any():
            ax.scatter(x[sel], poly.loc[sel, "Q"], s=14 if len(poly) < 200 else 5, marker=shape, color=colour,
                       label=f"{mol_type} chain", zorder=3)
    if len(poly) <= max_labels:
        ax.set_xticks(x, poly["chain"].astype(str), fontsize=FONT_SIZE - 1, rotation=90 if len(poly) > 12 else 0)
        ax.set_xlabel("Chain", fontsize=FONT_SIZE)
    else:
        ax.set_xlabel(f"Chain, in model order ({len(poly)} chains; IDs in the chains table)", fontsize=FONT_SIZE)
    ax.set_ylabel("Mean Q over atoms", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    ax.grid(axis="y", color="#E5E5E5", linewidth=0.6)
    ax.set_axisbelow(True)
    if poly["mol_type"].nunique() > 1:
        ax.legend(fontsize=FONT_SIZE - 1, frameon=False, loc="lower right")
    ax.set_title(f"Chains: mean Q — {_expected_text(expected, resolution)}", fontsize=FONT_SIZE + 1, loc="left")
    return fig


def plot_archive_position(archive, *, q: float, resolution: float, expected_model,
                          relative=None, window: float | None = None):
    """The entry on the archive's Q-versus-resolution scatter, with the Q_peak and 95% curves.

    Parameters
    ----------
    archive : qscore.types.ArchiveData — the archive's resolutions (Å) and Q
    q : float — the model's mean Q
    resolution : float — the map's resolution, Å
    expected_model : qscore.types.ExpectedModel — the curves
    relative : qscore.analysis.results.RelativeQ, optional — the percentiles, for the label
    window : float, optional — the percentile window w, Å (shaded around the resolution)
    """
    d = np.asarray(archive.resolution, dtype=float)
    aq = np.asarray(archive.q, dtype=float)
    fig = _new_figure(7.5, 5.0)
    ax = fig.subplots()
    ax.scatter(d, aq, s=4, color=GREY, alpha=0.35, linewidths=0, rasterized=True,
               label=f"archive entries (n = {len(d):,})")
    x_max = float(max(np.quantile(d, 0.995) if len(d) else 0.0, resolution + 1.0, 5.0))
    lo, hi = expected_model.d_range or (0.5, 50.0)  # the curves only where the curve was fitted
    grid = np.linspace(max(lo, 0.5), min(x_max, hi, 50.0), 300)
    curves = expected_model.evaluate(grid)
    ax.plot(grid, curves["Q_peak"], color=BLACK, linestyle="-", linewidth=1.6, label="Q_peak")
    ax.plot(grid, curves["Q_high95"], color=BLUE, linestyle="--", linewidth=1.4, label="95% bounds")
    ax.plot(grid, curves["Q_low95"], color=BLUE, linestyle="--", linewidth=1.4)
    if window:
        ax.axvspan(resolution - window, resolution + window, color=SKY_BLUE, alpha=0.15, linewidth=0,
                   label=f"percentile window ±{window:g} Å")
    label = f"this model: Q {q:.3f} at {resolution:g} Å"
    if relative is not None:
        parts = [f"{relative.Q_relative_all:.0f}% of all entries below"]
        if relative.Q_relative_resolution is not None:
            parts.append(f"{relative.Q_relative_resolution:.0f}% within ±{relative.window:g} Å")
        label += "\n(" + "; ".join(parts) + ")"
    ax.scatter([resolution], [q], s=220, marker="*", color=VERMILLION, edgecolors=BLACK, linewidths=0.8,
               zorder=5, label=label)
    ax.set_xlim(0, x_max)
    ax.set_ylim(min(-0.1, float(np.nanmin(aq)) if len(aq) else 0.0, q - 0.05), max(1.0, q + 0.05))
    ax.set_xlabel("Resolution (Å)", fontsize=FONT_SIZE)
    ax.set_ylabel("Q-score (model mean)", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    ax.legend(fontsize=FONT_SIZE - 1, frameon=False, loc="upper right")
    ax.set_title(f"The model among {len(d):,} archive entries ({expected_model.source})", fontsize=FONT_SIZE,
                 loc="left")
    return fig


def plot_atom_distributions(q: np.ndarray, mol_type: np.ndarray, *, expected=None,
                            resolution: float | None = None):
    """Histograms of atom Q, one panel per molecule type present (protein, nucleic, water, ion, ligand).

    Parameters
    ----------
    q : (n,) float — Q of the scored (non-H) atoms
    mol_type : (n,) str — their molecule types
    expected, resolution : as for :func:`plot_residue_q` (the entry's band, for reference)
    """
    from matplotlib.ticker import MaxNLocator

    from ..types import MOLECULE_TYPES

    q = np.asarray(q, dtype=float)
    mol_type = np.asarray(mol_type, dtype=str)
    ok = np.isfinite(q)
    types = [t for t in MOLECULE_TYPES if (ok & (mol_type == t)).any()]
    if not types:
        raise ParameterError("No atom has a Q-score to plot.")
    lo = min(-0.1, float(q[ok].min()))
    hi = max(1.0, float(q[ok].max()))
    bins = np.linspace(lo, hi, 45)
    colours = {"protein": BLUE, "nucleic": ORANGE, "water": SKY_BLUE, "ion": PURPLE, "ligand": VERMILLION}
    fig = _new_figure(min(max(3.0 * len(types) + 1.0, 6.5), 14.0), 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(types), sharex=True, squeeze=False)[0])
    for ax, t in zip(axes, types, strict=True):
        v = q[ok & (mol_type == t)]
        _draw_band(ax, expected, vertical=True)
        ax.hist(v, bins=bins, color=colours[t], alpha=0.85, edgecolor="white", linewidth=0.3, zorder=2)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.axvline(float(v.mean()), color=BLACK, linestyle="-", linewidth=1.3, zorder=3)
        ax.set_title(f"{t}: {len(v):,} atom{'s' if len(v) != 1 else ''}, mean {v.mean():.3f}",
                     fontsize=FONT_SIZE)
        ax.set_xlabel("Atom Q-score", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE - 1)
        ax.set_xlim(lo, hi)
    axes[0].set_ylabel("Atoms", fontsize=FONT_SIZE)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Line2D([], [], color=BLACK, linewidth=1.3)]
    labels = ["mean"]
    if expected is not None:
        handles += [Line2D([], [], color=BLACK, linestyle="-.", linewidth=1.1), Patch(color=BAND_COLOUR, alpha=0.35)]
        labels += [f"entry Q_peak at {resolution:g} Å", "95% band of entries"]
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False,
               fontsize=FONT_SIZE - 1)
    return fig


#: the profile figure draws at most this many atoms (the first of a larger selection)
MAX_PROFILE_PANELS = 9


def select_profile_atoms(atoms, q: np.ndarray, selection=None, *, n_default: int = 3, status=None) -> list:
    """Atoms whose radial profiles to draw.

    Parameters
    ----------
    atoms : qscore.io.models.Atoms
    q : (n,) float — per-atom Q
    selection : str or list of str, optional — atoms in the selection language of
        :func:`qscore.analysis.profiles.select_atoms` (``A:26:CA``, ``A:20-22:CA+CB``, …); a list is
        joined into one selection
    n_default : int — without a selection: this many atoms, from the best resolved to the worst
        (the atoms nearest the 95th, 50th and 5th percentiles of Q among the scored atoms)
    status : (n,) str, optional — atoms' statuses; the default picks only 'scored' atoms (never one outside
        the map or in no density, whose profile is flat)

    Returns
    -------
    list of int — atom indices, file order for a selection

    Raises
    ------
    ParameterError, QScoreError — a malformed selection, one that matches no atom, or only hydrogens
    """
    heavy = ~np.asarray(atoms.is_hydrogen, dtype=bool) & np.isfinite(q)
    if selection:
        from ..analysis.profiles import select_atoms

        text = selection if isinstance(selection, str) else ",".join(str(s) for s in selection)
        idx = np.flatnonzero(select_atoms(atoms, text) & heavy)
        if len(idx) == 0:
            raise ParameterError(f"Profile atoms '{text}' are hydrogens or have no Q; profiles exist for scored "
                                 "(non-hydrogen) atoms only.")
        return idx.tolist()
    cand = np.flatnonzero(heavy if status is None else heavy & (np.asarray(status, dtype=object) == "scored"))
    if len(cand) == 0:
        return []
    order = cand[np.argsort(q[cand], kind="stable")]
    picks = []
    for p in np.linspace(0.95, 0.05, n_default) if n_default > 1 else [0.5]:
        i = int(order[min(int(round(p * (len(order) - 1))), len(order) - 1)])
        if i not in picks:
            picks.append(i)
    return picks


def _short(text: str, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def atom_label(atoms, i: int) -> str:
    """'A ARG 26 CA' (insertion code and alternate location where present) of atom ``i``."""
    from ..analysis.profiles import atom_label as label

    return label({"chain": atoms.chain[i], "res_name": atoms.res_name[i], "res_num": atoms.res_num[i],
                  "ins_code": atoms.ins_code[i], "atom_name": atoms.name[i], "altloc": atoms.altloc[i]})


def plot_profiles(result, indices) -> object:
    """Radial profiles of the atoms ``indices``: map values at the centre and on each shell.

    Drawn with the reference Gaussian of the Q-score (width sigma) spanning each profile's range —
    Q does not depend on the Gaussian's height or offset, only on how well its shape follows the map
    values — and the Gaussian fitted to the profile (free height, centre, width and offset;
    :func:`qscore.analysis.profiles.fit_gaussian`).

    Parameters
    ----------
    result : qscore.api.QScoreResult — scored with ``profiles=True``
    indices : list of int — atom indices (see :func:`select_profile_atoms`)
    """
    if result.profile is None:
        raise ParameterError("Radial profiles were not kept; score with profiles=True.")
    if not len(indices):
        raise ParameterError("No atom to draw a profile for.")
    from ..analysis.profiles import fit_gaussian, gaussian, profile_radii

    radii = profile_radii(result)
    sigma = result.params.sigma
    n = len(indices)
    ncols = min(n, 3)
    nrows = int(np.ceil(n / ncols))
    fig = _new_figure(max(3.6 * ncols + 0.4, 6.0), 2.9 * nrows + 0.5)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    smooth = np.linspace(0.0, radii[-1], 200)
    drawn_fit = False
    for ax, i in zip(axes, indices, strict=False):
        y = np.asarray(result.profile[i], dtype=float)
        ok = np.isfinite(y)
        if ok.any():  # the reference's shape, spanning the points' range (Q ignores its height and offset)
            lo, hi = float(y[ok].min()), float(y[ok].max())
            ax.plot(smooth, gaussian(smooth, hi - lo, 0.0, sigma, lo), color=GREY, linestyle="--", linewidth=1.3)
        ax.plot(radii[ok], y[ok], linestyle="none", marker="o", markersize=3.5, color=BLUE)
        title = f"{atom_label(result.atoms, i)} · Q {result.q[i]:.3f}"
        f = fit_gaussian(radii, y)
        if f["converged"]:
            ax.plot(smooth, gaussian(smooth, f["A"], f["mu"], f["sigma"], f["B"]), color=VERMILLION, linestyle="-",
                    linewidth=1.3)
            title += f"\nfit σ {f['sigma']:.2f} Å, μ {f['mu']:.2f} Å, error {100 * f['rel_error']:.1f}%"
            drawn_fit = True
        else:
            title += "\nno fit: " + _short(str(f["message"]).split(" (")[0], 48)
        ax.set_title(title, fontsize=FONT_SIZE)
        ax.set_xlabel("Distance from the atom (Å)", fontsize=FONT_SIZE)
        ax.set_ylabel("Map value", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE - 1)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linestyle="none", marker="o", markersize=3.5, color=BLUE),
               Line2D([], [], color=GREY, linestyle="--", linewidth=1.3)]
    labels = ["map values (mean over the points Q used)", f"reference Gaussian, σ {sigma:g} Å (over the points' range)"]
    if drawn_fit:
        handles.append(Line2D([], [], color=VERMILLION, linewidth=1.3))
        labels.append("fitted Gaussian")
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), ncols + 1), frameon=False,
               fontsize=FONT_SIZE - 1)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig


@dataclass
class ReportFigure:
    """One figure of the report: drawn, or a note saying why not.

    key : short file-name-safe name; title, caption : text for the report
    figure : matplotlib Figure, or None when it cannot be drawn (``note`` says why)
    """

    key: str
    title: str
    caption: str
    figure: object = None
    note: str | None = None
    meta: dict = field(default_factory=dict)


def _safe_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text) or "_"


def report_figures(result, analysis, *, archive=None, curve=None, profile_atoms=None, max_chain_plots: int = 12,
                   window: float | None = None) -> Iterator:
    """Yield the report's figures one at a time (each can be saved and dropped before the next is drawn).

    Parameters
    ----------
    result : qscore.pipeline.QScoreResult
    analysis : qscore.analysis.results.Analysis — tables, expected Q, percentiles
    archive : qscore.types.ArchiveData, optional — the archive the percentiles used
    curve : qscore.types.ExpectedModel, optional — the expected-Q curve (needed for the archive figure)
    profile_atoms : list of str, optional — atoms for the profile figure (:func:`select_profile_atoms`)
    max_chain_plots : int — residue plots are drawn for at most this many chains (in model order)
    window : float, optional — the percentile window, Å

    Yields
    ------
    ReportFigure
    """
    expected = analysis.expected
    d = result.resolution
    need_d = "Needs the map's resolution: give --resolution D (Å)."
    groups = polymer_groups(analysis.residues)
    if not groups:
        yield ReportFigure("residue_q", "Residue Q along the sequence",
                           "Residue Q along each protein or nucleic chain.",
                           note="The model has no protein or nucleic-acid residues; see the ligand table.")
    shown = groups[:max(int(max_chain_plots), 0)]
    for k, (chain, mol_type) in enumerate(shown):
        table = polymer_group(analysis.residues, chain, mol_type)
        parts = "backbone and side chain" if mol_type == "protein" else "phosphate, sugar and base"
        caption = (f"Residue Q (points) and its {parts} (lines) along chain {chain}. "
                   + ("The dash-dot line is the expected Q_peak and the grey band holds 95% of archive entries at "
                      f"{d:g} Å; residues below it (▼) or above it (▲) are not commonly observed at this "
                      "resolution, and the most extreme are labelled." if expected is not None else
                      "No resolution was given, so no expected Q_peak or 95% band is drawn: give --resolution D."))
        yield ReportFigure(f"residue_q_{k + 1}_{_safe_key(chain)}_{mol_type}",
                           f"Chain {chain} ({mol_type}): residue Q", caption,
                           figure=plot_residue_q(table, chain=chain, mol_type=mol_type, expected=expected,
                                                 resolution=d),
                           meta={"chain": chain, "mol_type": mol_type, "residues": len(table)})
    if len(groups) > len(shown):
        yield ReportFigure("residue_q_more", "Further chains", "",
                           note=f"Residue plots are drawn for the first {len(shown)} of {len(groups)} polymer chains; "
                                "every residue is in the residue table below and in the residues CSV.")
    if len(groups) >= 4:
        yield ReportFigure("chains", "Chains: mean Q",
                           "Mean Q over the atoms of each protein and nucleic chain, in model order"
                           + (", with the expected Q_peak and 95% band." if expected is not None else "."),
                           figure=plot_chain_overview(analysis.chains, expected=expected, resolution=d))
    title = "The model among the archive"
    caption = ("Mean Q of this model (star) on the archive's Q-versus-resolution scatter, with the expected "
               "Q_peak (solid) and the curves holding 95% of entries (dashed).")
    if d is None:
        yield ReportFigure("archive", title, caption,
                           note=need_d + " The archive comparison also needs --archive FILE.")
    elif archive is None or curve is None:
        yield ReportFigure("archive", title, caption,
                           note="No archive given: add --archive FILE (a CSV of resolution and Q-score, e.g. from "
                                "'qscore archive download') to place the model among archive entries.")
    else:
        yield ReportFigure("archive", title, caption,
                           figure=plot_archive_position(archive, q=float(analysis.overall["Q"]),
                                                        resolution=d, expected_model=curve,
                                                        relative=analysis.relative, window=window))
    heavy = result.scored
    yield ReportFigure("atom_q", "Atom Q by molecule type",
                       "Distribution of atom Q for each molecule type (vertical line: mean"
                       + ("; grey band: 95% of archive entries at this resolution)." if expected is not None
                          else "). Give --resolution D for the expected band."),
                       figure=plot_atom_distributions(result.q[heavy], result.atoms.mol_type[heavy],
                                                      expected=expected, resolution=d))
    title = "Radial profiles"
    if result.profile is None:
        yield ReportFigure("profiles", title, "", note="Radial profiles were not kept (score with profiles=True).")
    else:
        idx = select_profile_atoms(result.atoms, result.q, profile_atoms, status=result.status)
        caption = ("Average map value at each distance from the atom (points), the reference Gaussian the Q-score "
                   "correlates them with (dashed; drawn over the points' range, since Q depends only on its shape) "
                   "and the Gaussian fitted to the profile (solid). "
                   + (f"Atoms chosen with --profile-atom ({len(idx)})" if profile_atoms else
                      "Atoms nearest the 95th, 50th and 5th percentiles of atom Q; choose others with "
                      "--profile-atom SELECTION (e.g. A:26:CA)")
                   + (f"; the first {MAX_PROFILE_PANELS} are drawn." if len(idx) > MAX_PROFILE_PANELS else "."))
        idx = idx[:MAX_PROFILE_PANELS]
        yield ReportFigure("profiles", title, caption, figure=plot_profiles(result, idx),
                           meta={"atoms": [atom_label(result.atoms, i) for i in idx]})
