"""Reading and writing a model: qscore against gemmi's own parse and write of the same files, side by side.

``python benchmarks/bench_io.py [--sizes 100k,400k,1M] [--repeats 3] [--out benchmarks/out]``

For each size the mmCIF of ``make_inputs.py`` (7CEC tiled) is made or reused, then each operation runs in a
fresh child process of its own (best of ``--repeats`` runs inside it, the file in the page cache):

* **read, gemmi**: ``gemmi.cif.read`` + ``gemmi.make_structure_from_block`` (a Structure, what a gemmi user
  starts from) and ``gemmi.read_structure`` (the same through gemmi's own entry point);
* **read, qscore**: ``qscore.read_model`` (the atom arrays qscore scores, and what it needs to write the file back);
* **write, gemmi**: ``Document.write_file`` of the document gemmi read (the file as it is, no column added);
* **write, qscore**: ``qscore.io.writers.write_mmcif_with_q`` (the same file with the Q column added), on one
  thread and on two (``threads=2``, what ``qscore score --threads 2`` uses).

The table gives each time and qscore's ratio to gemmi's (below 1: qscore is faster), headed by the CPU line,
and is written as ``io.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from machine import best_time  # noqa: E402

OPS = ("gemmi cif.read + make_structure", "gemmi read_structure", "qscore read_model", "gemmi write_file",
       "qscore write_mmcif_with_q", "qscore write_mmcif_with_q, 2 threads")




def child(op: str, model: str, repeats: int) -> float:
    """Best wall time (s) of one operation, in this process."""
    import gemmi
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.cif")
        if op == "gemmi cif.read + make_structure":
            return best_time(lambda: gemmi.make_structure_from_block(gemmi.cif.read(model)[0]), repeats)
        if op == "gemmi read_structure":
            return best_time(lambda: gemmi.read_structure(model), repeats)
        if op == "gemmi write_file":
            doc = gemmi.cif.read(model)
            return best_time(lambda: doc.write_file(out), repeats)
        import qscore

        if op == "qscore read_model":
            return best_time(lambda: qscore.read_model(model), repeats)
        from qscore.io.writers import write_mmcif_with_q

        mdl = qscore.read_model(model)
        q = np.linspace(-0.5, 1.0, len(mdl.atoms))
        threads = 2 if op.endswith("2 threads") else 1
        return best_time(lambda: write_mmcif_with_q(out, mdl, q, threads=threads), repeats)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,400k,1M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--child", nargs=3, metavar=("OP", "MODEL", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return 0
    from machine import bench_inputs, machine_line, publish, run_child

    rows = []
    for label in args.sizes.split(","):
        info = bench_inputs(label, args.out)
        times = {}
        for op in OPS:
            times[op] = run_child(__file__, op, info["model"], args.repeats)
        mb = Path(info["model"]).stat().st_size / 1e6
        rows.append((label, info["atoms"], mb, times))
    head = ["size", "atoms", "mmCIF MB", *[f"{op} s" for op in OPS], "read: qscore / gemmi", "write: qscore / gemmi",
            "write, 2 threads: qscore / gemmi"]
    lines = [machine_line(), f"best of {args.repeats} in a fresh process per operation", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, atoms, mb, t in rows:
        read_ratio = t["qscore read_model"] / t["gemmi cif.read + make_structure"]
        write_ratios = [t[op] / t["gemmi write_file"] for op in OPS[-2:]]
        lines.append("| " + " | ".join([label, f"{atoms:,}", f"{mb:.0f}", *[f"{t[op]:.2f}" for op in OPS],
                                        f"{read_ratio:.2f}", *[f"{r:.2f}" for r in write_ratios]]) + " |")
    return publish(lines, args.out, "io.md")


if __name__ == "__main__":
    sys.exit(main())
