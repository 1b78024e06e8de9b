"""The report's figures drawn here, one after another, against drawn by worker processes, side by side.

``python benchmarks/bench_figures.py [--size 100k] [--repeats 2] [--out benchmarks/out]``

On the inputs of ``make_inputs.py`` (7CEC tiled, simulated 3 Å map), one process scores and analyses the
model once, then writes the report (``qscore.report.html.write_report``, no 3D view) alternately with
``workers=0`` (every figure drawn in this process) and with the default (up to the CPUs allowed, forked:
``qscore.report.render``), ``--repeats`` times each; the best of each is kept. The table, headed by the CPU
line, is written as ``figures.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out")
    args = parser.parse_args(argv)
    from machine import bench_inputs, machine_line

    info = bench_inputs(args.size, args.out)

    import qscore
    from qscore.core.engine import get_threads
    from qscore.pipeline import analysis_settings
    from qscore.report import render
    from qscore.report.html import write_report

    result = qscore.score(qscore.read_model(info["model"]), qscore.read_map(info["map"]), resolution=3.0)
    settings = analysis_settings(0.4, 3.0, correlation=False)
    result.analyse(settings)
    automatic = render.figure_workers
    best = {"here": float("inf"), "workers": float("inf")}
    for _ in range(args.repeats):
        for mode in best:
            render.figure_workers = (lambda n, threads=None: 0) if mode == "here" else automatic
            with tempfile.TemporaryDirectory() as folder:
                t = time.perf_counter()
                write_report(result, result.analysis, folder, curve=result.curve(settings), viewer=False)
                best[mode] = min(best[mode], time.perf_counter() - t)
                n_figures = len(list(Path(folder).glob("*_figures/*.png")))
    render.figure_workers = automatic
    workers = automatic(n_figures)
    text = "\n".join([
        machine_line(), "",
        f"{args.size}: {info['atoms']:,} atoms, {n_figures} figures; `write_report` without the 3D view, best of "
        f"{args.repeats}", "",
        "| figures drawn | report s |", "|---|---:|",
        f"| here, one after another | {best['here']:.2f} |",
        f"| by {workers} forked workers ({get_threads()} threads allowed) | {best['workers']:.2f} |", "",
        f"ratio: {best['here'] / best['workers']:.2f}×", ""])
    (args.out / "figures.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
