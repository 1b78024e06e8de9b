"""The electron-scattering CC whole and in slabs, side by side: time, peak memory and the CC itself.

``python benchmarks/bench_cc_slabs.py [--size 100k] [--budgets 0,1024,512,256] [--out benchmarks/out]``

On the inputs of ``make_inputs.py`` (7CEC tiled, simulated 3 Å map), each slab budget (MB; 0 means
the whole cell at once) runs :func:`qscore.analysis.emodel.emodel_correlation` in a fresh process,
so that each peak (``ru_maxrss``, less the process's peak before the CC) is its own. Prints a
Markdown table headed by the CPU line and writes it to ``cc_slabs.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))


def child(model: str, map_path: str, budget_mb: int) -> dict:
    import resource
    import time

    import qscore
    import qscore.analysis.emodel as emodel
    from qscore.analysis.cc_core import occupancy_weights

    atoms, dmap = qscore.read_model(model).atoms, qscore.read_map(map_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    emodel.SLAB_BYTES = budget_mb * 2**20 if budget_mb else 1 << 62
    t = time.perf_counter()
    r = emodel.emodel_correlation(atoms.coords, atoms.element, atoms.b_iso, dmap, 3.0,
                                  weights=occupancy_weights(atoms))
    return {"budget_mb": budget_mb, "slabs": r["slabs"], "s": round(time.perf_counter() - t, 2),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "cc_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before),
            "cc": r["cc"], "cc_mean": r["cc_mean"], "n_points": r["n_points"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k")
    parser.add_argument("--budgets", default="0,1024,512,256", help="slab budgets, MB (0: the whole cell)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return 0
    from machine import bench_inputs, machine_line, publish, run_child

    args.out.mkdir(parents=True, exist_ok=True)
    info = bench_inputs(args.size, args.out)
    rows = []
    for budget in (int(b) for b in args.budgets.split(",")):
        rows.append(run_child(__file__, info["model"], info["map"], budget))
    whole = rows[0]
    lines = [machine_line(), "", f"{args.size}: {info['atoms']:,} atoms, map {info['map_mb']} MB", "",
             "| slab budget | slabs | CC s | process peak MB | CC's own peak MB | CC | CC-mean | ΔCC vs first "
             "| points |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['budget_mb'] or 'whole cell'}{' MB' if r['budget_mb'] else ''} | {r['slabs']} | "
                     f"{r['s']:.2f} | {r['peak_mb']:,} | {r['cc_peak_mb']:,} | {r['cc']:.7f} | {r['cc_mean']:.7f} | "
                     f"{r['cc'] - whole['cc']:+.1e} | {r['n_points']:,} |")
    return publish(lines, args.out, "cc_slabs.md")


if __name__ == "__main__":
    sys.exit(main())
