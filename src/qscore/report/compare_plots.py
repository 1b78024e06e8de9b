"""The figures of a comparison report (:mod:`qscore.report.compare_html`).

:func:`plot_paired_residues` draws residue Q of every input along one chain with a ΔQ track below
(the largest differences labelled); :func:`plot_q_scatter` sets residue Q of each input against the
first's; :func:`plot_ligand_poses` puts each ligand's Q in every input against that input's band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import BAND_COLOUR, BLACK, BLUE, FONT_SIZE, GREEN, GREY, ORANGE, PURPLE, SKY_BLUE, VERMILLION, new_figure

__all__ = ["INPUT_COLOURS", "plot_paired_residues", "plot_q_scatter", "plot_ligand_poses", "N_LABELLED"]

#: one colour per input, in order (Okabe–Ito)
INPUT_COLOURS = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY_BLUE, BLACK)
#: residues labelled on the ΔQ track
N_LABELLED = 6


def _colour(i: int) -> str:
    return INPUT_COLOURS[i % len(INPUT_COLOURS)]


def _residue_text(row) -> str:
    return f"{row['res_name']}{row['res_num']}{row['ins_code'] or ''}"


def plot_paired_residues(table: pd.DataFrame, labels, *, chain: str, min_difference: float, expected=None):
    """Residue Q of every input along one chain (top) and each input's ΔQ from the first (bottom).

    Parameters
    ----------
    table : DataFrame — the comparison's residue rows of one chain and polymer type, in order
    labels : sequence of str — the inputs
    chain : str — for the title
    min_difference : float — drawn as ±lines on the ΔQ track
    expected : ExpectedQ, optional — the band drawn behind the Q track (when every input shares it)

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = table.reset_index(drop=True)
    x = np.arange(len(t))
    width = float(np.clip(4.0 + len(t) * 0.025, 7.0, 16.0))
    fig = new_figure(width, 4.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1.0))
    if expected is not None:
        top.axhspan(expected.Q_low95, expected.Q_high95, color=BAND_COLOUR, alpha=0.35, linewidth=0, zorder=0,
                    label="95% band (shared resolution)")
        top.axhline(expected.Q_peak, color=BLACK, linestyle="-.", linewidth=1.0, zorder=1, label="expected Q_peak")
    for i, lab in enumerate(labels):
        top.plot(x, t[f"Q_residue_{lab}"], color=_colour(i), linewidth=1.0, marker="o", markersize=2.2, label=lab,
                 gid=f"paired-q-{i}")
    top.set_ylabel("residue Q", fontsize=FONT_SIZE)
    top.set_title(f"Chain {chain}: residue Q of each input", fontsize=FONT_SIZE + 1)
    top.legend(fontsize=FONT_SIZE - 1, loc="lower left", ncols=min(len(labels) + 2, 4), frameon=False)
    bottom.axhline(0, color=GREY, linewidth=0.8)
    for s in (-min_difference, min_difference):
        bottom.axhline(s, color=GREY, linewidth=0.8, linestyle="--")
    n_others = max(len(labels) - 1, 1)
    bar = 0.8 / n_others
    for j, lab in enumerate(labels[1:]):
        d = t[f"dQ_residue_{lab}"].to_numpy(np.float64)
        bottom.bar(x - 0.4 + bar * (j + 0.5), d, width=bar, color=_colour(j + 1), gid=f"paired-dq-{j + 1}")
    if len(labels) > 1:
        spread = t["Q_spread"].to_numpy(np.float64)
        order = [k for k in np.argsort(-np.nan_to_num(spread, nan=-1.0), kind="stable")[:N_LABELLED]
                 if np.isfinite(spread[k]) and spread[k] >= min_difference]
        for k in order:
            d = np.nanmax(np.abs(t.loc[k, [f"dQ_residue_{lab}" for lab in labels[1:]]].to_numpy(np.float64)))
            sign = np.sign(t.loc[k, [f"dQ_residue_{lab}" for lab in labels[1:]]].to_numpy(np.float64)[0]) or 1
            bottom.annotate(_residue_text(t.loc[k]), (x[k], sign * d), fontsize=6.5, ha="center",
                            va="bottom" if sign > 0 else "top", xytext=(0, 2 * sign), textcoords="offset points")
    bottom.set_ylabel(f"ΔQ vs {labels[0]}", fontsize=FONT_SIZE)
    step = max(1, len(t) // 12)
    bottom.set_xticks(x[::step], [f"{n}{i or ''}" for n, i in zip(t["res_num"][::step], t["ins_code"][::step],
                                                                   strict=True)], fontsize=FONT_SIZE - 1)
    bottom.set_xlabel("residue", fontsize=FONT_SIZE)
    for ax in (top, bottom):
        ax.tick_params(labelsize=FONT_SIZE - 1)
    return fig


def plot_q_scatter(residues: pd.DataFrame, labels, *, min_difference: float):
    """Residue Q of each later input against the first's, with the line of equal Q and ±min_difference.

    Parameters
    ----------
    residues : DataFrame — the comparison's residue table
    labels : sequence of str — at least two
    min_difference : float

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = new_figure(4.8, 4.4)
    ax = fig.subplots()
    x = residues[f"Q_residue_{labels[0]}"].to_numpy(np.float64)
    values = [x]
    for j, lab in enumerate(labels[1:]):
        y = residues[f"Q_residue_{lab}"].to_numpy(np.float64)
        values.append(y)
        ax.scatter(x, y, s=6, color=_colour(j + 1), alpha=0.7, linewidths=0, label=lab, gid=f"scatter-{j + 1}")
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    lo, hi = min(lo, 0.0) - 0.02, max(hi, 0.5) + 0.02
    line = np.array([lo, hi])
    ax.plot(line, line, color=BLACK, linewidth=0.9)
    ax.fill_between(line, line - min_difference, line + min_difference, color=BAND_COLOUR, alpha=0.35, linewidth=0,
                    label=f"within ±{min_difference:g}")
    ax.set(xlim=(lo, hi), ylim=(lo, hi))
    ax.set_xlabel(f"residue Q, {labels[0]}", fontsize=FONT_SIZE)
    ax.set_ylabel("residue Q, " + ", ".join(labels[1:]), fontsize=FONT_SIZE)
    ax.legend(fontsize=FONT_SIZE - 1, loc="upper left", frameon=False)
    ax.tick_params(labelsize=FONT_SIZE - 1)
    return fig


def plot_ligand_poses(ligands: pd.DataFrame, labels, *, expected: dict):
    """Each ligand's Q in every input (markers) against that input's expected 95% band (bars).

    Parameters
    ----------
    ligands : DataFrame — the comparison's ligand and ion rows
    labels : sequence of str
    expected : dict {label: ExpectedQ or None} — each input's band

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = ligands.reset_index(drop=True)
    n = len(t)
    fig = new_figure(float(np.clip(2.5 + 0.45 * n, 5.0, 16.0)), 3.8)
    ax = fig.subplots()
    x = np.arange(n)
    offsets = np.linspace(-0.25, 0.25, len(labels)) if len(labels) > 1 else np.zeros(1)
    for i, lab in enumerate(labels):
        e = expected.get(lab)
        if e is not None:
            ax.bar(x + offsets[i], e.Q_high95 - e.Q_low95, bottom=e.Q_low95, width=0.5 / max(len(labels), 1),
                   color=_colour(i), alpha=0.18, linewidth=0)
        ax.scatter(x + offsets[i], t[f"Q_residue_{lab}"], color=_colour(i), s=22, zorder=3, label=lab,
                   gid=f"ligand-q-{i}")
    ax.set_xticks(x, [f"{r['chain']}:{_residue_text(r)}" for _, r in t.iterrows()], rotation=60, ha="right",
                  fontsize=FONT_SIZE - 1)
    ax.set_ylabel("ligand Q", fontsize=FONT_SIZE)
    ax.legend(fontsize=FONT_SIZE - 1, frameon=False, loc="best")
    ax.tick_params(labelsize=FONT_SIZE - 1)
    return fig
