"""The parts of the job around the kernel, timed one by one in two (or more) versions of qscore side by side.

``python benchmarks/bench_parts.py [--size 1M] [--repeats 3] [--versions start=/tmp/old/src,this=] [--out DIR]``

Each version (``LABEL=SRC``: SRC goes first on ``PYTHONPATH``; empty: the installed qscore) runs in a child
process of its own, one after the other, on the inputs of ``make_inputs.py``. The child reads the model and
the map, scores once (2 threads), analyses at 3 Å, and then times, best of ``--repeats``:

* **read model**: ``qscore.read_model`` of the mmCIF;
* **analyse**: ``QScoreResult.analyse`` (residue, chain and model tables, Q_emdb), without the CC;
* **densities**: ``analysis.edensity.splat_density`` of every atom on a periodic cell around the model
  (the map's 1 Å spacing, B-factors as read, gemmi's blur), 1 and 2 threads;
* **CC (electron scattering)**: ``analysis.emodel.emodel_correlation`` at 3 Å;
* **atoms CSV**, **residues CSV**: ``io.files.write_table`` of the two tables (with ``threads=2`` where the
  version takes it);
* **.defattr**: ``io.chimerax.write_defattr``;
* **ligand section**: ``report.ligand_html.ligand_section``.

Prints a Markdown table headed by the CPU line (seconds; the last column the ratio of the last version to
the first) and writes it as ``parts.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from machine import best_time  # noqa: E402

PARTS = ("read model", "analyse", "densities, 1 thread", "densities, 2 threads", "CC (electron scattering)",
         "atoms CSV", "residues CSV", ".defattr", "ligand section")




def child(model: str, map_path: str, repeats: int) -> dict:
    """Time every part in this process (the version on ``sys.path``); return {part: s}."""
    import inspect
    import math

    import numpy as np

    import qscore
    from qscore.analysis import edensity, emodel
    from qscore.io.chimerax import write_defattr
    from qscore.io.files import write_table
    from qscore.pipeline import analysis_settings
    from qscore.report.ligand_html import ligand_section

    out = {"read model": best_time(lambda: qscore.read_model(model), repeats)}
    mdl, dmap = qscore.read_model(model), qscore.read_map(map_path)
    result = qscore.score(mdl, dmap, sigma=0.4, resolution=3.0, threads=2)
    settings = analysis_settings(0.4, 3.0, correlation=False)

    def analyse():
        result.analysis = None
        result.analyse(settings)

    out["analyse"] = best_time(analyse, repeats)
    a = result.atoms
    blur = 8 * math.pi ** 2 / 1.1  # gemmi's blur for a 1 Å grid
    coef_a, coef_b = edensity.form_factor_coefficients(a.element)
    amp, expo = edensity.atom_gaussians(coef_a, coef_b, emodel.clamped_b(a.b_iso)[0], blur)
    radius = edensity.density_radius(amp, expo)
    pos = a.coords - a.coords.min(axis=0) + 12.0
    shape = tuple(int(n) for n in np.ceil(pos.max(axis=0) + 12.0))
    for threads in (1, 2):
        out[f"densities, {threads} thread{'s' if threads > 1 else ''}"] = best_time(
            lambda t=threads: edensity.splat_density(pos, np.ones(len(pos)), amp, expo, radius, np.ones(3), shape,
                                                     threads=t), repeats)
    out["CC (electron scattering)"] = best_time(
        lambda: emodel.emodel_correlation(a.coords, a.element, a.b_iso, dmap, 3.0), repeats)
    kwargs = {"threads": 2} if "threads" in inspect.signature(write_table).parameters else {}
    tables = {"atoms CSV": result.atom_table(), "residues CSV": result.analysis.residues}
    with tempfile.TemporaryDirectory() as folder:
        for part, table in tables.items():
            out[part] = best_time(lambda t=table: write_table(os.path.join(folder, "t.csv"), t, **kwargs), repeats)
        out[".defattr"] = best_time(lambda: write_defattr(os.path.join(folder, "m.defattr"), result), repeats)
    out["ligand section"] = best_time(lambda: ligand_section(result, result.analysis, page_size=25, viewer=True),
                                      repeats)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--versions", default="this=", help="LABEL=SRC,… (SRC first on PYTHONPATH; empty: installed)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return 0
    from machine import bench_inputs, machine_line, publish, run_child

    args.out.mkdir(parents=True, exist_ok=True)
    info = bench_inputs(args.size, args.out)
    versions = [v.split("=", 1) for v in args.versions.split(",")]
    results = {}
    for label, src in versions:
        env = dict(os.environ)
        if src:
            env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
        results[label] = run_child(__file__, info["model"], info["map"], args.repeats, env=env)
    labels = list(results)
    ratio = len(labels) > 1
    lines = [machine_line(), "", f"{args.size}: {info['atoms']:,} atoms; seconds, best of {args.repeats}", "",
             "| part | " + " | ".join(labels) + (f" | {labels[-1]} / {labels[0]} |" if ratio else " |"),
             "|---|" + "---:|" * (len(labels) + ratio)]
    for part in PARTS:
        cells = [f"{results[label][part]:.2f}" for label in labels]
        if ratio:
            cells.append(f"{results[labels[-1]][part] / results[labels[0]][part]:.2f}")
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    return publish(lines, args.out, "parts.md")


if __name__ == "__main__":
    sys.exit(main())
