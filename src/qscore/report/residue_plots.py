"""Residue Q along the sequence of one chain (:func:`plot_residue_q`), as the Q-score papers show it.

Points are residues' mean Q, lines their parts (backbone and side chain for protein; phosphate, sugar
and base for nucleic acid), over the expected Q_peak line and the 95% band of entries at the map's
resolution.  Residues below or above the band are marked (▼, ▲) and the most severe labelled, in
strips kept free above and below the points so that no label covers a marker; residues whose atoms
lie outside the map or in no density are drawn apart (×, ○), as not judged.  Long chains wrap onto
rows of :data:`RESIDUES_PER_ROW` residues at most, drawn to one scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..text import plural
from .common import (
    BLACK,
    BLUE,
    FONT_SIZE,
    GREEN,
    GREY,
    LOCAL_BAND_COLOUR,
    ORANGE,
    SKY_BLUE,
    VERMILLION,
    band_legend,
    draw_band,
    expected_text,
    new_figure,
)

__all__ = ["plot_residue_q", "polymer_groups", "polymer_group", "RESIDUE_POINT_GIDS", "RESIDUE_MARKERS",
           "PART_LINES", "RESIDUES_PER_ROW"]

#: the gid of the residue-point collections in a residue plot (one point per residue; SVG groups)
RESIDUE_POINT_GIDS = {"within": "residue-q-within", "below": "residue-q-below", "above": "residue-q-above",
                      "none": "residue-q", "outside map": "residue-q-outside-map",
                      "no density": "residue-q-no-density"}
#: how each kind of residue point is drawn: (marker, face colour, area in pt², edge colour, legend label)
RESIDUE_MARKERS = {"within": ("o", BLACK, 10, "none", "residue Q"),
                   "none": ("o", BLACK, 10, "none", "residue Q"),
                   "below": ("v", VERMILLION, 26, BLACK, "below the 95% band"),
                   "above": ("^", SKY_BLUE, 26, BLACK, "above the 95% band"),
                   "outside map": ("X", GREY, 22, "none", "atoms outside the map (not judged)"),
                   "no density": ("o", "none", 18, GREY, "atoms in no density (not judged)")}
#: the parts drawn for each polymer type: (column, label, colour, line style)
PART_LINES = {
    "protein": (("Q_backbone", "backbone", BLUE, "-"), ("Q_sidechain", "side chain", ORANGE, "--")),
    "nucleic": (("Q_phosphate", "phosphate", BLUE, "-"), ("Q_sugar", "sugar", ORANGE, "--"),
                ("Q_base", "base", GREEN, ":")),
}
#: residues per row of a residue plot; longer chains wrap onto further rows of equal length
RESIDUES_PER_ROW = 120
#: the share of each row's height kept free for the labels of residues below (bottom) or above (top) the band
LABEL_STRIP = 0.3
LABEL_SIZE = 6.5


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


def _pick_labels(x: np.ndarray, severity: np.ndarray, n: int, min_sep: float) -> np.ndarray:
    """Indices of up to ``n`` points to label: the most severe first, none closer than ``min_sep`` in x."""
    order = np.argsort(-severity, kind="stable")
    chosen: list = []
    for i in order:
        if len(chosen) >= n:
            break
        if all(abs(x[i] - x[j]) >= min_sep for j in chosen):
            chosen.append(i)
    return np.array(chosen, dtype=int)


def _residue_kinds(table: pd.DataFrame, expected) -> np.ndarray:
    """Each residue's kind of point (a key of :data:`RESIDUE_MARKERS`): not judged where its atoms lie
    outside the map or in no density, else its flag against the band (or 'none' without a band)."""
    n = len(table)
    kinds = np.full(n, "none", dtype=object)
    if expected is not None and "Q_flag" in table:
        flags = table["Q_flag"].astype(str).to_numpy()
        known = np.isin(flags, ("within", "below", "above"))
        kinds[known] = flags[known]
    if "status" in table:
        status = table["status"].astype(str).to_numpy()
        unscored = np.isin(status, ("outside map", "no density"))
        kinds[unscored] = status[unscored]
    return kinds


def _y_limits(values: list, expected, *, below: bool, above: bool) -> tuple:
    """(y_lo, y_hi, data_lo, data_hi): the data (and the band) in the middle of the axis, with
    :data:`LABEL_STRIP` of its height kept free below and/or above for labels."""
    finite = np.concatenate([np.asarray(v, dtype=float)[np.isfinite(v)] for v in values])
    if expected is not None:
        finite = np.append(finite, [expected.Q_low95, expected.Q_high95])
    if not len(finite):
        finite = np.array([0.0, 1.0])
    lo, hi = float(finite.min()) - 0.02, float(finite.max()) + 0.02
    if hi - lo < 0.2:
        lo, hi = (lo + hi) / 2 - 0.1, (lo + hi) / 2 + 0.1
    pad_lo = LABEL_STRIP if below else 0.04
    pad_hi = LABEL_STRIP if above else 0.04
    total = (hi - lo) / (1.0 - pad_lo - pad_hi)
    return lo - pad_lo * total, hi + pad_hi * total, lo, hi


def _label_outliers(ax, t: pd.DataFrame, x: np.ndarray, q: np.ndarray, kinds: np.ndarray, expected, *,
                    start: int, span: float, max_labels: int, data_range: tuple) -> None:
    """Label the most severe residues below (above) the band in the strip under (over) every point, so
    that no label covers a marker, with a dotted leader up (down) to the point; labels are at least
    one label height apart along x."""
    if expected is None:
        return
    axis_pt = 10.2 * 72.0  # the axes' width on the 11-inch figure, in points
    min_sep = span * (LABEL_SIZE * 1.6) / axis_pt
    for kind, severity in (("below", expected.Q_low95 - q), ("above", q - expected.Q_high95)):
        idx = np.flatnonzero(kinds == kind)
        if len(idx) == 0:
            continue
        low = kind == "below"
        for i in idx[_pick_labels(x[idx], severity[idx], max_labels, min_sep)]:
            edge = data_range[0] if low else data_range[1]
            ax.plot([x[i], x[i]], [edge, q[i] + (-0.03 if low else 0.03)], color=GREY, linestyle=":",
                    linewidth=0.7, zorder=1)
            ax.annotate(_residue_label(t.iloc[start + i]), (x[i], 0.015 if low else 0.985),
                        xycoords=("data", "axes fraction"), rotation=90, ha="center", va="bottom" if low else "top",
                        fontsize=LABEL_SIZE, color=VERMILLION if low else BLUE, zorder=4,
                        gid=f"residue-label-{kind}")


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
    max_labels : int — most outliers labelled per row and kind (below, above), the most severe first; all are marked
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
    from matplotlib.ticker import MaxNLocator

    x_all = _x_positions(t)
    q_all = t["Q_residue"].to_numpy(dtype=float)
    kinds = _residue_kinds(t, expected)
    n_rows = int(np.ceil(n / per_row))
    row_len = int(np.ceil(n / n_rows))  # rows of equal length, drawn to the same scale
    fig = new_figure(11.0, 2.5 * n_rows + 1.0, dpi=100)
    axes = np.atleast_1d(fig.subplots(n_rows, 1, squeeze=False)[:, 0])
    parts = [(c, lab, col, ls) for c, lab, col, ls in PART_LINES[mol_type] if c in t and t[c].notna().any()]
    part_values = [t[c].to_numpy(dtype=float) for c, *_ in parts]
    y_lo, y_hi, data_lo, data_hi = _y_limits([q_all, *part_values], expected, below=bool((kinds == "below").any()),
                                             above=bool((kinds == "above").any()))
    step = 0.2 if data_hi - data_lo > 0.6 else 0.1
    ticks = [v for v in np.round(np.arange(-1.2, 1.21, step), 1) if data_lo - 1e-9 <= v <= data_hi + 1e-9]
    width = max(float(x_all[min((r + 1) * row_len, n) - 1] - x_all[r * row_len]) for r in range(n_rows))
    span = max(width, 1.0)
    for r, ax in enumerate(axes):
        sl = slice(r * row_len, min((r + 1) * row_len, n))
        x, q, kind_row = x_all[sl], q_all[sl], kinds[sl]
        draw_band(ax, expected)
        if "Q_low95_local" in t and t["Q_low95_local"].notna().any():  # the band at each residue's local resolution
            ax.fill_between(x, t["Q_low95_local"].to_numpy(float)[sl], t["Q_high95_local"].to_numpy(float)[sl],
                            step="mid", color=LOCAL_BAND_COLOUR, alpha=0.15, linewidth=0, zorder=0.5,
                            label="95% band at the local resolution")
        for (_, label, colour, style), values in zip(parts, part_values, strict=True):
            xs, ys = _gapped(x, values[sl])
            ax.plot(xs, ys, color=colour, linestyle=style, linewidth=0.9, alpha=0.9, label=label, zorder=2)
        for kind, (shape, colour, area, edge, label) in RESIDUE_MARKERS.items():
            sel = (kind_row == kind) & np.isfinite(q)  # a residue without a Q has no point
            if sel.any():
                coll = ax.scatter(x[sel], q[sel], s=area, marker=shape, color=colour, edgecolors=edge,
                                  linewidths=0.6, zorder=3, label=label)
                coll.set_gid(RESIDUE_POINT_GIDS[kind])
        _label_outliers(ax, t, x, q, kind_row, expected, start=sl.start, span=span, max_labels=max_labels,
                        data_range=(data_lo, data_hi))
        pad = max(span * 0.01, 0.6)
        ax.set_xlim(float(x[0]) - pad, float(x[0]) + span + pad)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(y_lo, y_hi)
        ax.set_yticks(ticks)
        ax.set_ylabel("Q-score", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE - 1)
        ax.grid(axis="y", color="#E5E5E5", linewidth=0.6, zorder=0)
        ax.set_axisbelow(True)
    axes[-1].set_xlabel("Residue number", fontsize=FONT_SIZE)
    seen: dict = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    seen.update(band_legend(expected, resolution))
    fig.legend(list(seen.values()), list(seen.keys()), loc="outside lower center", ncols=min(len(seen), 4),
               frameon=False, fontsize=FONT_SIZE - 1)
    counts = ""
    if expected is not None:
        counts = f"; {int((kinds == 'below').sum())} below, {int((kinds == 'above').sum())} above the band"
    unjudged = int(np.isin(kinds, ("outside map", "no density")).sum())
    if unjudged:
        counts += f"; {unjudged} not judged"
    fig.suptitle(f"Chain {chain} ({mol_type}, {plural(n, 'residue')}): residue Q — "
                 f"{expected_text(expected, resolution)}{counts}", fontsize=FONT_SIZE + 1, x=0.01, ha="left")
    return fig
