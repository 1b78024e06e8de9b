"""What every figure module of :mod:`qscore.report` shares: colours, a new figure, saving, the expected band.

Figures are built on :class:`matplotlib.figure.Figure` (Agg canvas, no pyplot, no global backend
change), with matplotlib imported only when a figure is made.  Colours are the Okabe–Ito palette,
which readers with colour-vision deficiencies can tell apart.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from ..errors import QScoreWarning

#: Okabe–Ito colours
BLACK, ORANGE, SKY_BLUE, GREEN, BLUE, VERMILLION, PURPLE, GREY = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#999999")
BAND_COLOUR = "#BBBBBB"
#: the colour of each reading against local resolution (qscore.analysis.local_resolution.READINGS, in order)
READING_COLOURS = {"as expected": BLUE, "possible misfit": VERMILLION, "not resolved": GREY,
                   "possible over-fitting or noise": ORANGE}
#: the band at each residue's local resolution in residue plots
LOCAL_BAND_COLOUR = PURPLE
FONT_SIZE = 9
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
    """Save a figure atomically as PNG and SVG (its text kept as text in the SVG; laid out once for both).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : str or Path — the files' path without extension
    written : list, optional — each path is appended as soon as the file exists

    Returns
    -------
    dict {format: path}
    """
    from matplotlib import rc_context

    from ..io.files import atomic_path

    paths = {}
    engine = fig.get_layout_engine()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for fmt in FORMATS:
                path = Path(f"{stem}.{fmt}")
                with atomic_path(path) as tmp, rc_context({"svg.fonttype": "none"}):  # SVG text as text
                    fig.savefig(tmp, format=fmt, dpi=DPI)
                # the first drawing placed every axes; later formats keep those places, not laid out again
                fig.set_layout_engine("none")
                paths[fmt] = path
                if written is not None:
                    written.append(path)
        finally:
            fig.set_layout_engine(engine)
    _rewarn(caught, Path(stem).name)
    return paths


def embed_figure(fig, stem) -> dict:
    """Save a figure as PNG and SVG (:func:`save_figure`), drop its artists, and give the SVG as a data URI.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : str or Path — the files' path without extension

    Returns
    -------
    dict — ``png`` and ``svg`` (paths as str) and ``data_uri`` (the SVG, base64, for an ``<img>``)
    """
    import base64

    paths = save_figure(fig, stem)
    fig.clear()
    svg = Path(paths["svg"]).read_bytes()
    return {"png": str(paths["png"]), "svg": str(paths["svg"]),
            "data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")}


def _rewarn(caught, name: str) -> None:
    """matplotlib's warnings while saving, as one package warning each: missing glyphs in one line
    naming the characters, others as they are (without matplotlib's source line)."""
    glyphs = sorted({chr(int(m.group(1))) for w in caught
                     if (m := re.match(r"Glyph (\d+) .*missing from font", str(w.message)))})
    if glyphs:
        warnings.warn(f"Figure '{name}': the font has no glyph for {' '.join(glyphs)} (drawn as boxes); install a "
                      "font that has them (e.g. Noto Sans CJK) for matplotlib to use.", QScoreWarning, stacklevel=3)
    for w in caught:
        text = str(w.message)
        if "missing from font" not in text:
            warnings.warn(f"Figure '{name}': {text}", QScoreWarning, stacklevel=3)




def expected_text(expected, resolution) -> str:
    """'expected at d Å: Q_peak …, 95% band …–…', or why there is no expected Q (for titles).

    Parameters
    ----------
    expected : qscore.analysis.results.ExpectedQ or None
    resolution : float or None — the map's resolution, Å
    """
    if expected is None:
        return ("no resolution given: no expected Q" if resolution is None
                else f"no expected Q at {resolution:g} Å (outside the curve's fitted range)")
    return (f"expected at {resolution:g} Å: Q_peak {expected.Q_peak:.3f}, "
            f"95% band {expected.Q_low95:.3f}–{expected.Q_high95:.3f}")


def draw_band(ax, expected) -> None:
    """The expected Q_peak (dash-dot) and the 95% band of entries (grey) across ``ax``; nothing without one.

    Parameters
    ----------
    ax : matplotlib Axes
    expected : qscore.analysis.results.ExpectedQ or None
    """
    if expected is None:
        return
    ax.axhspan(expected.Q_low95, expected.Q_high95, color=BAND_COLOUR, alpha=0.35, linewidth=0, zorder=0)
    ax.axhline(expected.Q_peak, color=BLACK, linestyle="-.", linewidth=1.1, zorder=1)


def band_legend(expected, resolution) -> dict:
    """Legend entries {label: handle} for the Q_peak line and the 95% band, naming the curve; none
    without an expected Q.

    Parameters
    ----------
    expected : qscore.analysis.results.ExpectedQ or None
    resolution : float or None — the map's resolution, Å
    """
    if expected is None:
        return {}
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    return {f"expected Q_peak of entries at {resolution:g} Å ({expected.source})":
            Line2D([], [], color=BLACK, linestyle="-.", linewidth=1.1),
            "95% of entries at this resolution": Patch(color=BAND_COLOUR, alpha=0.35)}


__all__ = ["new_figure", "save_figure", "embed_figure", "expected_text", "draw_band", "band_legend", "BLACK", "ORANGE",
           "SKY_BLUE", "GREEN", "BLUE", "VERMILLION", "PURPLE", "GREY", "BAND_COLOUR", "FONT_SIZE", "FORMATS", "DPI",
           "READING_COLOURS", "LOCAL_BAND_COLOUR"]
