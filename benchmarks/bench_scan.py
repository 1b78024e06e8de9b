"""Small pieces of the job, each timed against what it replaced, side by side in one process.

``python benchmarks/bench_scan.py [--size 1M] [--repeats 5] [--out benchmarks/out]``

On the inputs of ``make_inputs.py`` (7CEC tiled), best of ``--repeats`` each:

* **where the rows end**: ``row_scan.next_item_line`` against the regex it replaced (``model_text._ROWS_END``), from
  the ``_atom_site`` loop's first row;
* **distinct element symbols**: ``cc_core.distinct_strings`` against ``np.unique(..., return_inverse=True)``;
* **density radii**: ``edensity.density_radius`` on 2 threads against 1 (the model's atoms, B-factors as read);
* **copying the rows**: one copy per line of the loop's rows, numba's slice assignment against the loop on unsigned
  offsets that ``row_scan.insert_values`` uses.

Prints a Markdown table headed by the CPU line and writes it to ``scan.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from numba import njit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from machine import best_time  # noqa: E402


@njit(cache=True, nogil=True)
def _copy_by_slices(a, lines, out):
    i, p = 0, 0
    for li in range(lines.shape[0]):
        stop = lines[li] + 1
        out[p:p + stop - i] = a[i:stop]
        p += stop - i
        i = stop
    return p


@njit(cache=True, nogil=True)
def _copy_by_offsets(a, lines, out):
    i, p = 0, 0
    for li in range(lines.shape[0]):
        stop = lines[li] + 1
        o, s = np.uint64(p), np.uint64(i)
        for k in range(stop - i):
            out[o + np.uint64(k)] = a[s + np.uint64(k)]
        p += stop - i
        i = stop
    return p




def measure(model: str, repeats: int) -> list:
    """(what, old way, new way, old s, new s) of each piece."""
    import qscore
    from qscore.analysis import edensity
    from qscore.analysis.cc_core import distinct_strings
    from qscore.analysis.emodel import clamped_b
    from qscore.io import model_text, row_scan

    data = model_text.read_bytes(model)
    loop = model_text.find_atom_site(data)
    text = np.frombuffer(data, dtype=np.uint8)
    start = loop.tags_end - 1
    assert row_scan.next_item_line(text, start) == model_text._ROWS_END.search(data, start).start()
    atoms = qscore.read_model(model).atoms
    a, b = edensity.form_factor_coefficients(atoms.element)
    amp, expo = edensity.atom_gaussians(a, b, clamped_b(atoms.b_iso)[0], 8 * np.pi ** 2 / 1.1)
    rows = text[loop.tags_end:loop.rows_end]
    lines = np.flatnonzero(rows == 10)
    out = np.empty(len(rows), dtype=np.uint8)
    pieces = [
        ("where the rows end", "regex", "next_item_line", lambda: model_text._ROWS_END.search(data, start),
         lambda: row_scan.next_item_line(text, start)),
        ("distinct element symbols", "np.unique", "distinct_strings",
         lambda: np.unique(atoms.element.astype(str), return_inverse=True), lambda: distinct_strings(atoms.element)),
        ("density radii", "1 thread", "2 threads", lambda: edensity.density_radius(amp, expo),
         lambda: edensity.density_radius(amp, expo, threads=2)),
        ("copying the rows, a line at a time", "slice assignment", "unsigned offsets",
         lambda: _copy_by_slices(rows, lines, out), lambda: _copy_by_offsets(rows, lines, out)),
    ]
    return [(what, old, new, best_time(f_old, repeats, warm=True), best_time(f_new, repeats, warm=True))
            for what, old, new, f_old, f_new in pieces]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1M")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out")
    args = parser.parse_args(argv)
    from machine import bench_inputs, machine_line, publish

    args.out.mkdir(parents=True, exist_ok=True)
    info = bench_inputs(args.size, args.out)
    lines = [machine_line(), "", f"{args.size}: {info['atoms']:,} atoms; seconds, best of {args.repeats}, one process",
             "", "| piece | old way | new way | old s | new s | new / old |", "|---|---|---|---:|---:|---:|"]
    for what, old, new, t_old, t_new in measure(info["model"], args.repeats):
        lines.append(f"| {what} | {old} | {new} | {t_old:.4f} | {t_new:.4f} | {t_new / t_old:.2f} |")
    return publish(lines, args.out, "scan.md")


if __name__ == "__main__":
    sys.exit(main())
