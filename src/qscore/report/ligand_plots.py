"""Ligand Q against the band (:func:`plot_ligand_strip`), as the 2025 paper plots each saccharide's Q."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import BAND_COLOUR, BLACK, BLUE, FONT_SIZE, GREEN, ORANGE, new_figure

__all__ = ["plot_ligand_strip", "KIND_COLOURS"]

KIND_COLOURS = {"saccharide": GREEN, "ligand": BLUE, "ion": ORANGE}


def plot_ligand_strip(ligands: pd.DataFrame, *, expected=None, resolution: float | None = None):
    """Each ligand copy's Q (points, jittered), grouped by component, over the expected band.

    Parameters
    ----------
    ligands : DataFrame — :func:`qscore.analysis.ligands.ligand_table` rows
    expected : ExpectedQ, optional — Q_peak and the 95% band at the map's resolution
    resolution : float, optional — Å, for the legend

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(dict.fromkeys(ligands.sort_values(["kind", "res_name"])["res_name"]))
    fig = new_figure(float(np.clip(2.0 + 0.55 * len(names), 5.0, 14.0)), 3.8)
    ax = fig.subplots()
    if expected is not None:
        ax.axhspan(expected.Q_low95, expected.Q_high95, color=BAND_COLOUR, alpha=0.4, linewidth=0,
                   label=f"95% band at {resolution:g} Å")
        ax.axhline(expected.Q_peak, color=BLACK, linestyle="-.", linewidth=1.0, label="expected Q_peak")
    rng = np.random.default_rng(0)
    for kind, colour in KIND_COLOURS.items():
        sel = ligands["kind"] == kind
        if not sel.any():
            continue
        x = np.array([names.index(n) for n in ligands.loc[sel, "res_name"]], dtype=float)
        x += rng.uniform(-0.18, 0.18, len(x))
        ax.scatter(x, ligands.loc[sel, "Q_residue"], s=18, color=colour, alpha=0.85, linewidths=0, zorder=3,
                   label=f"{kind} ({int(sel.sum())})", gid=f"ligand-strip-{kind}")
    ax.set_xticks(range(len(names)), names, rotation=60 if len(names) > 8 else 0, fontsize=FONT_SIZE - 1)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel("Q (each copy)", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=FONT_SIZE - 1, frameon=False, loc="outside right upper")
    return fig
