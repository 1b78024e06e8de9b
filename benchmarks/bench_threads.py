"""Why the kernels run as nogil chunks on a thread pool rather than numba's ``prange``: measured side by side.

``python benchmarks/bench_threads.py [--size 100k] [--threads 2] [--repeats 3]``

The same kernel (:func:`qscore.core.kernels.qscore_atoms`) on the same atoms (the 7CEC model tiled to
``--size`` atoms with its simulated 3 Å map, from ``make_inputs.py``) is run three ways, each warm:

* **serial** — one call over every atom, one thread;
* **thread pool** — qscore's engine: chunks of 2,048 atoms (in cell order) on a ``ThreadPoolExecutor``
  of ``--threads`` threads; the kernel releases the GIL (``nogil=True``), so chunks run in parallel;
* **prange** — the same chunks as iterations of a ``numba.prange`` loop in a ``parallel=True`` function
  (numba's threading layer, ``--threads`` threads via ``numba.set_num_threads``).

Printed: the CPU model and SIMD level, the first call (compiling or loading the cached kernels), the
seconds of the best of ``--repeats`` warm runs, µs per atom and
each one's speed relative to serial, measured in one run; and the largest |ΔQ| between the ways (0:
the same numbers).  Results go to ``benchmarks/out/threads.json`` too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line  # noqa: E402
from make_inputs import OUT_DIR, make_inputs  # noqa: E402

CHUNK = 2048


def _prange_runner():
    """A ``parallel=True`` numba function running the kernel over chunks with ``prange`` (compiled on first use)."""
    from numba import njit, prange

    from qscore.core.kernels import qscore_atoms

    @njit(parallel=True)
    def run(targets, chunk, out, coords, values, origin, voxel, radii, dirs, dir_start, num_points, sigma, amp,
            base, lo, dims, start, order, cell):
        n_chunks = (len(targets) + chunk - 1) // chunk
        for c in prange(n_chunks):
            b0 = c * chunk
            b1 = min(b0 + chunk, len(targets))
            t = targets[b0:b1]
            q, _, _ = qscore_atoms(t, coords, values, origin, voxel, radii, dirs, dir_start, num_points, sigma,
                                   amp, base, lo, dims, start, order, cell, False)
            for i in range(b1 - b0):
                out[t[i]] = q[i]

    return run


def _best(fn, repeats: int) -> tuple:
    """(seconds of the first call — compiling or loading the cached kernel —, best of ``repeats`` warm calls)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, min(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100k", help="model size (20k, 100k, 1M; see make_inputs.py)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import numba

    from qscore.core import kernels
    from qscore.core.engine import compute_qscores, kernel_inputs, set_threads
    from qscore.io.maps import read_map
    from qscore.io.models import read_model

    entry = make_inputs([args.size])[args.size]
    model, dmap = read_model(entry["model"]), read_map(entry["map"])
    atoms = model.atoms
    inputs = kernel_inputs(atoms.coords, atoms.is_hydrogen, dmap)
    n = len(inputs.targets)

    def serial():
        return kernels.qscore_atoms(inputs.targets, *inputs.args, False)[0]

    def pool():
        set_threads(args.threads)
        return compute_qscores(atoms.coords, atoms.is_hydrogen, atoms.residue, dmap, chunk_size=CHUNK)["q"]

    runner = _prange_runner()
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    q_prange = np.full(len(inputs.heavy), np.nan)

    def prange_run():
        runner(inputs.targets, CHUNK, q_prange, *inputs.args)
        return q_prange

    runs = {"serial": _best(serial, args.repeats), "thread pool": _best(pool, args.repeats),
            "prange": _best(prange_run, args.repeats)}
    times = {way: best for way, (_, best) in runs.items()}
    q_serial = np.full(len(inputs.heavy), np.nan)
    q_serial[inputs.targets] = serial()
    q_pool = pool()[inputs.heavy]
    diffs = {"thread pool": float(np.nanmax(np.abs(q_pool - q_serial))),
             "prange": float(np.nanmax(np.abs(q_prange - q_serial)))}

    print(machine_line())
    print(f"Model: {entry['model']} ({n:,} heavy atoms), map {entry['map']}; {args.threads} threads, best of "
          f"{args.repeats} warm runs; numba {numba.__version__}, threading layer {numba.threading_layer()}")
    print(f"{'way':12s} {'first call s':>12s} {'seconds':>9s} {'µs/atom':>9s} {'vs serial':>10s} {'max |ΔQ|':>10s}")
    for way, (first, t) in runs.items():
        print(f"{way:12s} {first:12.2f} {t:9.3f} {1e6 * t / n:9.2f} {times['serial'] / t:9.2f}× "
              f"{diffs.get(way, 0.0):10.1e}")
    out = OUT_DIR / "threads.json"
    first = {w: f for w, (f, _) in runs.items()}
    out.write_text(json.dumps({"machine": machine_line(), "atoms": n, "threads": args.threads, "seconds": times,
                               "first_call_s": first,
                               "max_abs_dq": diffs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
