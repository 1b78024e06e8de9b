"""Figures of one scored model, as the Q-score papers show them.

- :func:`plot_residue_q` (from :mod:`qscore.report.residue_plots`) — residue Q along the sequence
  of one chain, with its parts, the expected Q_peak line and the 95% band at the map's resolution;
  residues outside the band are marked and the most severe labelled.
- :func:`plot_chain_overview` — mean Q of every polymer chain (for models with many chains).
- :func:`plot_archive_position` — the entry on the archive's Q-versus-resolution scatter with the
  Q_peak and 95% curves.
- :func:`plot_atom_distributions` — atom Q per molecule type, with each type's expected mean Q
  (2020 relations) where it has one.
- :func:`plot_profiles` — radial profiles of chosen atoms, drawn as ``qscore profile`` draws them
  (:mod:`qscore.report.profile_plots`).

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
from functools import partial

import numpy as np
import pandas as pd

from ..analysis.ligands import ligand_table
from ..errors import ParameterError
from ..text import plural
from .common import (
    BLACK,
    BLUE,
    FONT_SIZE,
    GREY,
    ORANGE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    band_legend,
    draw_band,
    expected_text,
    new_figure,
    save_figure,
)
from .ligand_plots import plot_ligand_strip
from .residue_plots import PART_LINES, RESIDUE_POINT_GIDS, plot_residue_q, polymer_group, polymer_groups

__all__ = ["worst_groups", "plot_residue_q", "plot_chain_overview", "plot_archive_position", "plot_atom_distributions",
           "atom_histograms", "draw_atom_histograms", "plot_profiles", "select_profile_atoms", "profile_selection",
           "polymer_groups", "polymer_group", "report_figures", "ReportFigure", "save_figure", "RESIDUE_POINT_GIDS",
           "MAX_PROFILE_PANELS"]


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
    fig = new_figure(11.0, 3.6, dpi=100)
    ax = fig.subplots()
    draw_band(ax, expected)
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
    handles, labels = ax.get_legend_handles_labels()
    band = band_legend(expected, resolution)
    fig.legend(handles + list(band.values()), labels + list(band), loc="outside lower center",
               ncols=len(labels) + len(band), frameon=False, fontsize=FONT_SIZE - 1)
    ax.set_title(f"Chains: mean Q — {expected_text(expected, resolution)}", fontsize=FONT_SIZE + 1, loc="left")
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
    fig = new_figure(7.5, 5.0, dpi=100)
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


def plot_atom_distributions(q: np.ndarray, mol_type: np.ndarray, *, expected_by_type: dict | None = None,
                            resolution: float | None = None):
    """Histograms of atom Q, one panel per molecule type present (protein, nucleic, water, ion, ligand).

    The 95% band of the expected-Q curve is for whole entries' mean Q, not for single atoms, so it is
    not drawn here; a panel shows instead the expected mean Q of its molecule type at the map's
    resolution from the 2020 linear relations, where that type has one (protein, nucleic, water, ion).

    Parameters
    ----------
    q : (n,) float — Q of the scored (non-H) atoms
    mol_type : (n,) str — their molecule types
    expected_by_type : dict {molecule type: float}, optional — the 2020 relations' expected mean Q at
        ``resolution`` (the model table's ``Q_expected_2020``)
    resolution : float, optional — the map's resolution, Å (for the legend)
    """
    return draw_atom_histograms(atom_histograms(q, mol_type), expected_by_type=expected_by_type,
                                resolution=resolution)


def atom_histograms(q: np.ndarray, mol_type: np.ndarray) -> dict:
    """What :func:`plot_atom_distributions` draws, counted: ``bins`` (45 edges) and ``types``, a list of (molecule
    type, counts per bin, mean Q, atoms) for each type present — a few numbers, whatever the model's size.

    Parameters
    ----------
    q : (n,) float — Q of the scored (non-H) atoms
    mol_type : (n,) str — their molecule types

    Raises
    ------
    ParameterError — no atom has a Q
    """
    from ..types import MOLECULE_TYPES

    q = np.asarray(q, dtype=float)
    mol_type = np.asarray(mol_type, dtype=str)
    ok = np.isfinite(q)
    types = [t for t in MOLECULE_TYPES if (ok & (mol_type == t)).any()]
    if not types:
        raise ParameterError("No atom has a Q-score to plot.")
    bins = np.linspace(min(-0.1, float(q[ok].min())), max(1.0, float(q[ok].max())), 45)
    out = []
    for t in types:
        v = q[ok & (mol_type == t)]
        out.append((t, np.histogram(v, bins=bins)[0], float(v.mean()), len(v)))
    return {"bins": bins, "types": out}


def draw_atom_histograms(histograms: dict, *, expected_by_type: dict | None = None,
                         resolution: float | None = None):
    """:func:`plot_atom_distributions` from the counts of :func:`atom_histograms`.

    Parameters
    ----------
    histograms : dict — from :func:`atom_histograms`
    expected_by_type : dict, optional; resolution : float, optional — as for :func:`plot_atom_distributions`
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    bins, types = histograms["bins"], histograms["types"]
    expected_by_type = {k: float(v) for k, v in (expected_by_type or {}).items() if v is not None and v == v}
    lo, hi = float(bins[0]), float(bins[-1])
    colours = {"protein": BLUE, "nucleic": ORANGE, "water": SKY_BLUE, "ion": PURPLE, "ligand": VERMILLION}
    fig = new_figure(min(max(3.0 * len(types) + 1.0, 6.5), 14.0), 3.6, dpi=100)
    axes = np.atleast_1d(fig.subplots(1, len(types), sharex=True, squeeze=False)[0])
    drew_expected = False
    for ax, (t, counts, mean, n) in zip(axes, types, strict=True):
        ax.hist(bins[:-1], bins=bins, weights=counts, color=colours[t], alpha=0.85, edgecolor="white",
                linewidth=0.3, zorder=2)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.axvline(mean, color=BLACK, linestyle="-", linewidth=1.3, zorder=3)
        title = f"{t}: {plural(n, 'atom')}, mean {mean:.3f}"
        if t in expected_by_type:
            ax.axvline(expected_by_type[t], color=BLACK, linestyle="-.", linewidth=1.1, zorder=3)
            title += f"\nexpected (2020) {expected_by_type[t]:.3f}"
            drew_expected = True
        ax.set_title(title, fontsize=FONT_SIZE)
        ax.set_xlabel("Atom Q-score", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE - 1)
        ax.set_xlim(lo, hi)
    axes[0].set_ylabel("Atoms", fontsize=FONT_SIZE)
    handles = [Line2D([], [], color=BLACK, linewidth=1.3)]
    labels = ["mean Q of the type's atoms"]
    if drew_expected:
        handles.append(Line2D([], [], color=BLACK, linestyle="-.", linewidth=1.1))
        labels.append(f"expected mean Q of the type at {resolution:g} Å (2020 linear relation)")
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


def atom_label(atoms, i: int) -> str:
    """'A ARG 26 CA' (insertion code and alternate location where present) of atom ``i``."""
    from ..analysis.profiles import atom_label as label

    return label({"chain": atoms.chain[i], "res_name": atoms.res_name[i], "res_num": atoms.res_num[i],
                  "ins_code": atoms.ins_code[i], "atom_name": atoms.name[i], "altloc": atoms.altloc[i]})


def plot_profiles(result, indices) -> object:
    """Radial profiles of the atoms ``indices``, in that order, drawn as ``qscore profile`` draws them
    (:func:`qscore.report.profile_plots.plot_profiles`): map values at the centre and on each shell,
    the reference Gaussian of the Q-score (width sigma) spanning each profile's range — Q does not
    depend on the Gaussian's height or offset, only on how well its shape follows the map values —
    and the bounded Gaussian fit of :func:`qscore.analysis.profiles.fit_gaussians`, or why there is none.

    Parameters
    ----------
    result : qscore.api.QScoreResult — scored with ``profiles=True``
    indices : list of int — atom indices (see :func:`select_profile_atoms`)
    """
    if result.profile is None:
        raise ParameterError("Radial profiles were not kept; score with profiles=True.")
    if not len(indices):
        raise ParameterError("No atom to draw a profile for.")
    return _draw_profiles(_profile_rows(result, indices), result.params.sigma)


def profile_selection(scored, indices) -> tuple:
    """The profile figure's atoms and table: (the profile table of the first :data:`MAX_PROFILE_PANELS` of
    ``indices``, in order, or None when there are none; ``indices``, every atom chosen).

    Parameters
    ----------
    scored : QScoreResult — with ``profiles=True``: the run itself, or a run of the chosen atoms only
        (``score(..., subset=…, profiles=True)``: their Q the same)
    indices : list of int — the atoms chosen (:func:`select_profile_atoms` on the run)
    """
    return (_profile_rows(scored, indices[:MAX_PROFILE_PANELS]) if indices else None), list(indices)


def _profile_rows(result, indices) -> pd.DataFrame:
    """The profile table of the atoms ``indices``, in that order."""
    from ..analysis.profiles import profile_table

    mask = np.zeros(len(result.atoms), dtype=bool)
    mask[list(indices)] = True
    table = profile_table(result, mask)
    order = {int(i): k for k, i in enumerate(indices)}
    return table.iloc[np.argsort([order[int(i)] for i in table["atom_index"]], kind="stable")]


def _draw_profiles(table: pd.DataFrame, sigma: float):
    from .profile_plots import plot_profiles as draw

    return draw(table, sigma=sigma, max_panels=MAX_PROFILE_PANELS)


@dataclass
class ReportFigure:
    """One figure of the report: to draw, or a note saying why not.

    key : short file-name-safe name; title, caption : text for the report
    draw : callable with no arguments that returns the matplotlib Figure (a ``functools.partial`` of a
        module-level function, so that a worker process can draw it), or None when it cannot be drawn
        (``note`` says why)
    figure : the Figure, drawn on first use
    """

    key: str
    title: str
    caption: str
    draw: object = None
    note: str | None = None
    meta: dict = field(default_factory=dict)
    _figure: object = field(default=None, init=False, repr=False)

    @property
    def figure(self):
        if self._figure is None and self.draw is not None:
            self._figure = self.draw()
        return self._figure


def worst_groups(groups: list, chains: pd.DataFrame, n: int) -> list:
    """The ``n`` (chain, polymer type) groups with the lowest mean Q, in model order (all when they fit).

    Parameters
    ----------
    groups : list of (chain, mol_type) — in model order
    chains : DataFrame — the chain table (chain, mol_type, Q)
    n : int
    """
    if len(groups) <= n:
        return list(groups)
    q = {(str(c), str(t)): v for c, t, v in chains[["chain", "mol_type", "Q"]].itertuples(index=False, name=None)}
    ranked = sorted(range(len(groups)), key=lambda k: (np.nan_to_num(q.get(groups[k], np.nan), nan=np.inf), k))
    return [groups[k] for k in sorted(ranked[:n])]


def _safe_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text) or "_"


def _atom_q_figure(result, analysis, d) -> ReportFigure:
    """The figure of atom Q by molecule type (histogram counts made here: a worker draws them)."""
    heavy = result.scored
    by_type = (dict(zip(analysis.model["group"], analysis.model["Q_expected_2020"], strict=True))
               if d is not None and "Q_expected_2020" in analysis.model else {})
    caption = "Distribution of atom Q for each molecule type (solid line: the mean" + (
        "; dash-dot line: the type's expected mean Q at this resolution from the 2020 linear relations, where the "
        "type has one). The 95% band of the expected-Q curve holds entries' mean Q, not single atoms', so it is not "
        "drawn here." if d is not None else "). Give --resolution D for the expected mean Q of each type.")
    if not np.isfinite(result.q[heavy]).any():
        return ReportFigure("atom_q", "Atom Q by molecule type", caption, note="No atom has a Q-score to plot.")
    counts = atom_histograms(result.q[heavy], result.atoms.mol_type[heavy])
    return ReportFigure("atom_q", "Atom Q by molecule type", caption,
                        draw=partial(draw_atom_histograms, counts, expected_by_type=by_type, resolution=d))


def report_figures(result, analysis, *, archive=None, curve=None, profile_atoms=None, max_chain_plots: int = 12,
                   window: float | None = None, profiles: tuple | None = None) -> Iterator:
    """Yield the report's figures, each with what draws it (:attr:`ReportFigure.draw`; drawn on first use of
    ``.figure``, or by :func:`qscore.report.render.render_figures`, several at once in worker processes).

    Parameters
    ----------
    result : qscore.pipeline.QScoreResult
    analysis : qscore.analysis.results.Analysis — tables, expected Q, percentiles
    archive : qscore.types.ArchiveData, optional — the archive the percentiles used
    curve : qscore.types.ExpectedModel, optional — the expected-Q curve (needed for the archive figure)
    profile_atoms : list of str, optional — atoms for the profile figure (:func:`select_profile_atoms`)
    max_chain_plots : int — residue plots are drawn for at most this many chains: those with the lowest mean Q
        (in model order) when there are more
    window : float, optional — the percentile window, Å
    profiles : tuple, optional — :func:`profile_selection` made by the caller (a result kept without the profiles of
        every atom); by default made from ``result``'s own profiles

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
    shown = worst_groups(groups, analysis.chains, max(int(max_chain_plots), 0))
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
                           draw=partial(plot_residue_q, table, chain=chain, mol_type=mol_type, expected=expected,
                                        resolution=d),
                           meta={"chain": chain, "mol_type": mol_type, "residues": len(table)})
    if len(groups) > len(shown):
        yield ReportFigure("residue_q_more", "Further chains", "",
                           note=f"Residue plots are drawn for the {len(shown)} of {len(groups)} polymer chains with "
                                "the lowest mean Q (in model order; the chain overview shows every chain); every "
                                "residue is in the residue table below and in the residues CSV.")
    if len(groups) >= 4:
        yield ReportFigure("chains", "Chains: mean Q",
                           "Mean Q over the atoms of each protein and nucleic chain, in model order"
                           + (", with the expected Q_peak and 95% band." if expected is not None else "."),
                           draw=partial(plot_chain_overview, analysis.chains, expected=expected, resolution=d))
    ligands = ligand_table(analysis.residues)
    if len(ligands):
        yield ReportFigure("ligands", "Ligands, ions and saccharides against the band",
                           "Q of each ligand copy (points, jittered), grouped by component and coloured by kind"
                           + (f"; the grey band holds 95% of archive entries at {d:g} Å and the dash-dot line is the "
                              "expected Q_peak (ions are judged against no band)." if expected is not None else
                              "; give --resolution D for the expected band."),
                           draw=partial(plot_ligand_strip, ligands, expected=expected, resolution=d))
    local = analysis.local
    if local is not None:
        from .local_plots import plot_q_vs_local_resolution

        yield ReportFigure("local_resolution", "Residue Q against local resolution",
                           "Each residue at its local resolution (median over its atoms) and Q, coloured by its "
                           "reading; the dash-dot curve is the expected Q_peak and the grey band holds 95% of entries "
                           f"at each resolution; dashed: {local.threshold:g} Å, the local resolution at or below "
                           "which side chains are taken as resolved. The residues furthest outside the band are "
                           "labelled.",
                           draw=partial(plot_q_vs_local_resolution, analysis.residues, curve=curve,
                                        threshold=local.threshold, resolution=d))
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
                           draw=partial(plot_archive_position, archive, q=float(analysis.overall["Q"]),
                                                        resolution=d, expected_model=curve,
                                                        relative=analysis.relative, window=window))
    yield _atom_q_figure(result, analysis, d)
    title = "Radial profiles"
    if profiles is None and result.profile is not None:
        profiles = profile_selection(result, select_profile_atoms(result.atoms, result.q, profile_atoms,
                                                                  status=result.status))
    idx = [] if profiles is None else profiles[1]
    if profiles is None:
        yield ReportFigure("profiles", title, "", note="Radial profiles were not kept (score with profiles=True).")
    elif not idx:  # the default picks only atoms inside the map with density
        yield ReportFigure("profiles", title, "", note="No atom lies inside the map with density, so no profile "
                                                      "is drawn by default; choose atoms with --profile-atom.")
    else:
        caption = ("Average map value at each distance from the atom (points), the reference Gaussian the Q-score "
                   "correlates them with (dashed; drawn over the points' range, since Q depends only on its shape) "
                   "and the Gaussian fitted to the profile (solid). "
                   + (f"Atoms chosen with --profile-atom ({len(idx)})" if profile_atoms else
                      "Atoms nearest the 95th, 50th and 5th percentiles of atom Q; choose others with "
                      "--profile-atom SELECTION (e.g. A:26:CA)")
                   + (f"; the first {MAX_PROFILE_PANELS} are drawn." if len(idx) > MAX_PROFILE_PANELS else "."))
        idx = idx[:MAX_PROFILE_PANELS]
        yield ReportFigure("profiles", title, caption, draw=partial(_draw_profiles, profiles[0], result.params.sigma),
                           meta={"atoms": [atom_label(result.atoms, i) for i in idx]})
