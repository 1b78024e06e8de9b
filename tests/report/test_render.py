"""Figures drawn in worker processes (qscore.report.render) are the files drawn here, warnings included."""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import pytest

from qscore.report.plots import ReportFigure
from qscore.report.render import figure_workers, render_figures


def _line_figure(k: int, warn: bool = False):
    from qscore.report.common import new_figure

    if warn:
        warnings.warn(f"figure {k} has something to say", UserWarning, stacklevel=1)
    fig = new_figure(4.0, 3.0, dpi=100)
    ax = fig.subplots()
    ax.plot(range(10), [v * k for v in range(10)])
    ax.set_title(f"line {k}")
    return fig


def _figures():
    return [ReportFigure(f"f{k}", "t", "c", draw=partial(_line_figure, k, warn=(k == 2)))
            for k in range(4)] + [ReportFigure("none", "t", "c", note="not drawn")]


def test_workers_draw_the_same_files_and_their_warnings_come_back(tmp_path):
    here, away = tmp_path / "here", tmp_path / "away"
    here.mkdir()
    away.mkdir()
    with pytest.warns(UserWarning, match="figure 2 has something to say"):
        serial = render_figures(_figures(), here, workers=0)
    with pytest.warns(UserWarning, match="figure 2 has something to say"):
        pooled = render_figures(_figures(), away, workers=2)
    assert list(serial) == list(pooled) == ["f0", "f1", "f2", "f3"]
    for key in serial:
        assert Path(serial[key]["png"]).read_bytes() == Path(pooled[key]["png"]).read_bytes()
        assert Path(pooled[key]["svg"]).parent == away and pooled[key]["data_uri"].startswith("data:image/svg+xml")


def test_figures_are_drawn_here_with_one_thread_or_one_figure():
    assert figure_workers(10, threads=1) == 0 and figure_workers(1, threads=8) == 0
    assert figure_workers(3, threads=8) in (0, 3)  # 3 on Linux, 0 where fork is not used


def _dies(k: int):
    import os

    os._exit(3)  # as a worker killed for memory would


def test_figures_of_a_worker_that_died_are_drawn_here(tmp_path):
    figures = [ReportFigure("dies", "t", "c", draw=partial(_dies, 0)), *_figures()[1:2]]
    figures[0]._figure = _line_figure(9)  # what this process draws in its place (its draw would end it)
    out = render_figures(figures, tmp_path, workers=2)
    assert set(out) == {"dies", "f1"} and all(Path(v["png"]).is_file() for v in out.values())
