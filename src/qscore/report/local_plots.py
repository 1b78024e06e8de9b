"""Residue Q against local resolution (:func:`plot_q_vs_local_resolution`): the 2025 paper's proposal drawn.

Each residue is a point at its local resolution (x) and Q (y), coloured by its reading; the expected
Q_peak curve and its 95% band are drawn over the curve's fitted range, the side-chain threshold as a
vertical line, and the residues read 'possible misfit' or 'possible over-fitting or noise' furthest
from the band are labelled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import BAND_COLOUR, BLACK, FONT_SIZE, GREY, READING_COLOURS, new_figure

__all__ = ["plot_q_vs_local_resolution", "READING_GIDS"]

#: the gid of each reading's point collection (SVG groups)
READING_GIDS = {r: "reading-" + r.split()[-1].replace("-", "") for r in READING_COLOURS}
N_LABELS = 10


def plot_q_vs_local_resolution(residues: pd.DataFrame, *, curve, threshold: float, resolution: float | None = None):
    """Residue Q against local resolution, with the expected curve and band, coloured by reading.

    Parameters
    ----------
    residues : DataFrame — the analysis's residue table with local_res, Q_residue, Q_low95_local,
        Q_high95_local and reading
    curve : ExpectedModel or None — the expected-Q curve
    threshold : float — the side-chain resolution, Å
    resolution : float, optional — the reported resolution, Å (a dotted line)

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = residues[residues["reading"].isin(list(READING_COLOURS))]
    fig = new_figure(9.5, 4.8)
    ax = fig.subplots()
    d = t["local_res"].to_numpy(np.float64)
    lo = float(np.nanmin(d)) if len(t) else 1.5
    hi = float(np.nanmax(d)) if len(t) else 6.0
    if curve is not None:
        c_lo, c_hi = curve.d_range or (lo, hi)
        grid = np.linspace(max(c_lo, lo - 0.5), min(c_hi, hi + 0.5), 200)
        m = curve.q_mean(grid)
        ax.fill_between(grid, m + curve.low, m + curve.high, color=BAND_COLOUR, alpha=0.4, linewidth=0,
                        label="95% band at each resolution")
        ax.plot(grid, m + curve.peak, color=BLACK, linestyle="-.", linewidth=1.0, label="expected Q_peak")
    ax.axvline(threshold, color=GREY, linestyle="--", linewidth=0.9, label=f"side chains resolved ≤ {threshold:g} Å")
    if resolution is not None:
        ax.axvline(resolution, color=BLACK, linestyle=":", linewidth=0.9, label=f"reported {resolution:g} Å")
    for reading, colour in READING_COLOURS.items():
        sel = t["reading"] == reading
        if sel.any():
            ax.scatter(t.loc[sel, "local_res"], t.loc[sel, "Q_residue"], s=9, color=colour, alpha=0.8,
                       linewidths=0, label=f"{reading} ({int(sel.sum())})", gid=READING_GIDS[reading])
    off = np.where(t["reading"] == "possible misfit", t["Q_low95_local"] - t["Q_residue"],
                   np.where(t["reading"] == "possible over-fitting or noise", t["Q_residue"] - t["Q_high95_local"],
                            np.nan))
    x_span = max(hi - lo, 1.0)
    placed: list = []
    for k in np.argsort(-np.nan_to_num(off, nan=-1.0), kind="stable"):
        if len(placed) >= N_LABELS or not np.isfinite(off[k]):
            break
        r = t.iloc[k]
        x, y = float(r["local_res"]), float(r["Q_residue"])
        if any(abs(x - px) < 0.04 * x_span and abs(y - py) < 0.04 for px, py in placed):
            continue  # a label there already: no pile of overlapping names
        placed.append((x, y))
        ax.annotate(f"{r['chain']}:{r['res_name']}{r['res_num']}", (x, y), fontsize=6.5, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel("local resolution, Å (median over the residue's atoms)", fontsize=FONT_SIZE)
    ax.set_ylabel("residue Q", fontsize=FONT_SIZE)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=FONT_SIZE - 1, frameon=False, loc="outside right upper")
    ax.tick_params(labelsize=FONT_SIZE - 1)
    return fig
