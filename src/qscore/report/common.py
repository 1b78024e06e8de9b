"""What every figure module of :mod:`qscore.report` shares: colours, a new figure, saving.

Figures are built on :class:`matplotlib.figure.Figure` (Agg canvas, no pyplot, no global backend
change), with matplotlib imported only when a figure is made.  Colours are the Okabe–Ito palette,
which readers with colour-vision deficiencies can tell apart.
"""

from __future__ import annotations

from pathlib import Path

#: Okabe–Ito colours
BLACK, ORANGE, SKY_BLUE, GREEN, BLUE, VERMILLION, PURPLE, GREY = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#999999")
#: formats and resolution :func:`save_figure` writes
FORMATS = ("png", "svg")
DPI = 150


def new_figure(width: float, height: float, *, dpi: float | None = None):
    """A constrained-layout matplotlib Figure (no pyplot).

    Parameters
    ----------
    width, height : float — inches
    dpi : float, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    if dpi is not None:
        fig.set_dpi(dpi)
    return fig


def save_figure(fig, stem, *, written: list | None = None) -> dict:
    """Save a figure atomically as PNG and SVG.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : str or Path — the files' path without extension
    written : list, optional — each path is appended as soon as the file exists

    Returns
    -------
    dict {format: path}
    """
    from ..io.files import atomic_path

    paths = {}
    for fmt in FORMATS:
        path = Path(f"{stem}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI)
        paths[fmt] = path
        if written is not None:
            written.append(path)
    return paths


__all__ = ["new_figure", "save_figure", "BLACK", "ORANGE", "SKY_BLUE", "GREEN", "BLUE", "VERMILLION", "PURPLE",
           "GREY", "FORMATS", "DPI"]
