"""The index page of a batch (``qscore batch --report``): one sortable row per entry, linked to its report,
and the batch's entries on the archive's Q-versus-resolution scatter (:func:`write_batch_index`)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from .common import BLACK, BLUE, FONT_SIZE, GREY, VERMILLION, embed_figure, new_figure
from .html_parts import asset, drop_empty, escape, table_block, table_spec

__all__ = ["write_batch_index", "plot_batch_scatter", "INDEX_NAME", "INDEX_COLUMNS"]

INDEX_NAME = "index.html"
INDEX_COLUMNS = [("id", "Entry", "str", None, True), ("report", "Report", "link", None, False),
                 ("status", "Status", "str", None, True), ("resolution", "Resolution (Å)", "num", 2, False),
                 ("qscore", "Q", "num", 3, False), ("qscore_emdb", "Q_emdb", "num", 3, False),
                 ("q_expected", "Expected", "num", 3, False), ("q_low95", "95% band from", "num", 3, False),
                 ("q_high95", "to", "num", 3, False), ("q_flag", "Flag", "str", None, True),
                 ("q_relative_all", "Percentile (archive)", "num", 1, False),
                 ("q_relative_resolution", "Percentile (archive, ±w)", "num", 1, False),
                 ("batch_relative_all", "Percentile (batch)", "num", 1, False),
                 ("q_resolution", "Q-resolution (Å)", "num", 2, False), ("cc_molmap", "CC (molmap)", "num", 3, False),
                 ("cc_mean_molmap", "CC-mean (molmap)", "num", 3, False),
                 ("residues_possible_misfit", "Possible misfits (local res.)", "num", None, False),
                 ("error", "Error", "str", None, True)]


def plot_batch_scatter(table: pd.DataFrame, *, archive=None, curve=None):
    """The batch's entries (Q against resolution) over the archive's entries and the expected curves.

    Parameters
    ----------
    table : DataFrame — the batch's results (resolution, qscore, status)
    archive : ArchiveData, optional — drawn in grey behind
    curve : ExpectedModel, optional — Q_peak and the 95% curves

    Returns
    -------
    matplotlib.figure.Figure
    """
    ok = table[table["status"] == "ok"]
    fig = new_figure(7.5, 5.0, dpi=100)
    ax = fig.subplots()
    if archive is not None:
        ax.scatter(archive.resolution, archive.q, s=4, color=GREY, alpha=0.35, linewidths=0, rasterized=True,
                   label=f"archive entries (n = {len(archive):,})")
    d = ok["resolution"].to_numpy(float)
    x_max = float(max(np.nanmax(d) + 1.0 if len(d) else 5.0, 5.0))
    if curve is not None:
        lo, hi = curve.d_range or (0.5, 50.0)
        grid = np.linspace(max(lo, 0.5), min(x_max, hi), 300)
        c = curve.evaluate(grid)
        ax.plot(grid, c["Q_peak"], color=BLACK, linewidth=1.4, label="Q_peak")
        ax.plot(grid, c["Q_high95"], color=BLUE, linestyle="--", linewidth=1.2, label="95% bounds")
        ax.plot(grid, c["Q_low95"], color=BLUE, linestyle="--", linewidth=1.2)
    ax.scatter(d, ok["qscore"], s=36, marker="o", color=VERMILLION, edgecolors=BLACK, linewidths=0.5, zorder=4,
               label=f"this batch (n = {len(ok):,})", gid="batch-entries")
    ax.set_xlim(0, x_max)
    ax.set_xlabel("Resolution (Å)", fontsize=FONT_SIZE)
    ax.set_ylabel("Q-score (model mean)", fontsize=FONT_SIZE)
    ax.legend(fontsize=FONT_SIZE - 1, frameon=False, loc="upper right")
    ax.tick_params(labelsize=FONT_SIZE - 1)
    return fig


def write_batch_index(table: pd.DataFrame, folder, *, reports: dict, archive=None, curve=None) -> str:
    """Write ``<folder>/index.html``: the batch's entries, linked to their reports, and the scatter.

    Parameters
    ----------
    table : DataFrame — the batch's results table
    folder : str or Path — the batch folder
    reports : dict {entry id: report path relative to the folder}
    archive : ArchiveData, optional — for the scatter
    curve : ExpectedModel, optional — for the scatter

    Returns
    -------
    str — the index's path
    """
    from ..io.files import write_text

    folder = Path(folder)
    t = table.copy()
    t["report"] = [reports.get(i) for i in t["id"]]
    spec = table_spec(t, drop_empty(t, INDEX_COLUMNS))
    stem = folder / "index_figures" / "batch_scatter"
    stem.parent.mkdir(exist_ok=True)
    uri = embed_figure(plot_batch_scatter(t, archive=archive, curve=curve), stem)["data_uri"]
    n_ok, n_failed = int((t["status"] == "ok").sum()), int((t["status"] == "failed").sum())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"<header><h1>Q-score batch</h1><p class=\"sub\">{escape(folder.name)} · {n_ok:,} entries ok, "
            f"{n_failed:,} failed · qscore {escape(__version__)} · {escape(stamp)}</p></header><main>"
            f'<section id="entries"><h2>Entries</h2><p>Click a column header to sort; type in the box to filter. '
            f"<code>results.csv</code> holds every column.</p>{table_block('table-entries', spec, 'No entries.')}"
            f'</section><section id="scatter"><h2>The batch among the archive</h2><figure><img src="{uri}" '
            f'alt="Q against resolution"><figcaption>Each entry of the batch (red) at its resolution and mean Q'
            f"{' over the archive entries (grey)' if archive is not None else ''}, with the expected Q_peak and 95% "
            "curves.</figcaption></figure></section></main>")
    page = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Q-score batch: '
            f'{escape(folder.name)}</title>\n<link rel="icon" href="data:,">\n<style>{asset("report.css")}</style>\n'
            f"</head>\n<body>\n{body}\n<script>{asset('report.js')}</script>\n</body>\n</html>\n")
    target = folder / INDEX_NAME
    write_text(target, page)
    return str(target)
