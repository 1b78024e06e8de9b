"""Drawing a report's figures, several at once in worker processes where that is safe (:func:`render_figures`).

matplotlib draws in Python, one figure at a time per process, and a report's dozen figures take most of
its time.  Each :class:`~qscore.report.plots.ReportFigure` carries what draws it (a ``functools.partial``
of a module-level plot function and its tables), so worker processes can draw and save figures while this
process does the report's other work (``meanwhile``: the 3D view's data, the ChimeraX files).

The workers are forked (they start at once, with everything imported) and only where forking is safe:
on Linux, from a process that runs no other thread at that moment (so no lock can be left held in a
child) and is not daemonic (a Dask worker process may not have children), with more than one thread
allowed (:func:`qscore.core.engine.set_threads`, ``--threads``).  Elsewhere every figure is drawn here, one after
another.  Either way the files and the page are the same.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..core.engine import get_threads

__all__ = ["render_figures", "figure_workers"]


def figure_workers(n_figures: int, threads: int | None = None) -> int:
    """How many worker processes :func:`render_figures` uses for ``n_figures`` (0: draw them all here).

    Parameters
    ----------
    n_figures : int — figures that may be drawn in a worker
    threads : int, optional — the CPUs allowed (default :func:`qscore.core.engine.get_threads`)
    """
    threads = get_threads() if threads is None else int(threads)
    if (n_figures < 2 or threads < 2 or not sys.platform.startswith("linux")
            or multiprocessing.current_process().daemon or threading.active_count() > 1):
        return 0
    return min(threads, n_figures)


def _draw_and_embed(draw, stem: str) -> tuple:
    """In a worker: draw, save and embed one figure; return the entry and the warnings (category, text)."""
    from .common import embed_figure

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entry = embed_figure(draw(), stem)
    return entry, [(w.category, str(w.message)) for w in caught]


def _prime_matplotlib() -> None:
    """Import matplotlib's figure and both backends and draw text once before forking, so that the workers start
    with them (else each imports them again: about 0.35 s)."""
    import io

    from .common import FORMATS, new_figure

    fig = new_figure(1.0, 1.0)
    fig.text(0.5, 0.5, "Q")
    for fmt in FORMATS:
        fig.savefig(io.BytesIO(), format=fmt)


def render_figures(figures: list, folder, *, workers: int | None = None, meanwhile=None) -> dict:
    """Draw, save (PNG and SVG) and embed every figure that can be drawn.

    Parameters
    ----------
    figures : list of qscore.report.plots.ReportFigure — those without ``draw`` are skipped
    folder : str or Path — the figures' folder (existing); each is saved as ``<key>.png`` and ``.svg``
    workers : int, optional — worker processes (default :func:`figure_workers`; 0 draws everything here)
    meanwhile : callable, optional — other work of the report, called (without arguments) in this process while
        the workers draw, or after the figures when there are none

    Returns
    -------
    dict {key: entry} — entry as :func:`qscore.report.common.embed_figure` gives it (``png``, ``svg``, ``data_uri``)
    """
    from .common import embed_figure

    folder = Path(folder)
    drawable = [f for f in figures if f.draw is not None]
    n = figure_workers(len(drawable)) if workers is None else min(int(workers), len(drawable))
    if n < 2:
        out = {f.key: embed_figure(f.figure, folder / f.key) for f in drawable}
        if meanwhile is not None:
            meanwhile()
        return out
    out = {}
    _prime_matplotlib()
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {f.key: pool.submit(_draw_and_embed, f.draw, str(folder / f.key)) for f in drawable}
        try:
            if meanwhile is not None:  # while the workers draw
                meanwhile()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        for key, future in futures.items():
            try:
                out[key], caught = future.result()
            except BrokenProcessPool:  # a worker died (killed for memory, say): this process draws the rest
                continue
            for category, text in caught:  # as drawing here would have warned
                warnings.warn(text, category, stacklevel=2)
    for f in drawable:
        if f.key not in out:
            out[f.key] = embed_figure(f.figure, folder / f.key)
    return {f.key: out[f.key] for f in drawable}
