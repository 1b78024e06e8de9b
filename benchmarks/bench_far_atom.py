"""A stray atom far from the map costs nothing: 7CEC chain A alone and with one atom added far away, side by side.

``python benchmarks/bench_far_atom.py [--distance 10000] [--repeats 3]``

Each case runs ``qscore score MODEL MAP -r 3.9 --no-cc -q`` (the whole job: read, score, analyse, write)
and ``qscore cc`` (molmap and electron-scattering correlation) in a fresh process; printed are the CPU
model and SIMD level, the best wall time of ``--repeats`` runs and the peak memory (max RSS of the process) of each, and
the ratio of the far-atom case to chain A alone, measured in one run. Needs ``../shared/data``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "emd30342_7cec"


def _with_far_atom(model: Path, distance: float, out: Path) -> Path:
    import gemmi

    st = gemmi.read_structure(str(model))
    res = gemmi.Residue()
    res.name, res.seqid, res.het_flag = "HOH", gemmi.SeqId(9001, " "), "H"
    atom = gemmi.Atom()
    atom.name, atom.element, atom.occ, atom.b_iso = "O", gemmi.Element("O"), 1.0, 20.0
    atom.pos = gemmi.Position(distance, distance, distance)
    res.add_atom(atom)
    st[0]["A"].add_residue(res)
    st.setup_entities()
    st.make_mmcif_document().write_file(str(out))
    return out


def _run(args: list) -> tuple:
    """(wall seconds, peak RSS in MB) of one fresh ``qscore`` process (its own rusage, from wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qscore.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"qscore {' '.join(args)} failed (exit {proc.returncode})")
    return wall, usage.ru_maxrss / 1024  # KB on Linux


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distance", type=float, default=10_000.0, help="the stray atom's x = y = z, Å")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    model, mp = DATA / "390_7cec_A.cif", DATA / "390_emd_30342_A_z4.mrc"
    if not model.is_file():
        print(f"needs {DATA}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        far = _with_far_atom(model, args.distance, Path(tmp) / "far.cif")
        rows = {}
        for name, m in ((f"+ 1 atom at {args.distance:g} Å", far), ("chain A alone", model)):
            for job, extra in (("score", ["score", str(m), str(mp), "-r", "3.9", "--no-cc", "-q", "--out", tmp]),
                               ("cc", ["cc", str(m), str(mp), "-r", "3.9", "-q"])):
                walls = [_run(extra) for _ in range(args.repeats)]
                rows[(name, job)] = (min(w for w, _ in walls), max(r for _, r in walls))
    print(machine_line())
    print(f"{'case':28s} {'job':6s} {'best s':>8s} {'max RSS MB':>11s} {'vs alone':>9s}")
    for (name, job), (wall, rss) in rows.items():
        alone = rows[("chain A alone", job)][0]
        print(f"{name:28s} {job:6s} {wall:8.2f} {rss:11.0f} {wall / alone:8.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
