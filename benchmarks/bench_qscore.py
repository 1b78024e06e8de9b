"""Time qscore side by side with jqscore 0.2 (JAX on CPU) on the same files and threads.

``python benchmarks/bench_qscore.py [--sizes 20k,100k,1M] [--threads 2] [--repeats 1]
[--skip-jqscore] [--skip-cli] [--wait-idle 120] [--isa native|avx2] [--out benchmarks/out]``

For each size the inputs of ``make_inputs.py`` (7CEC tiled, simulated 3 Å map, 1 Å voxels) are
made or reused, then each tool runs in a process of its own, pinned to the same ``--threads`` CPUs:

* qscore: ``read_model`` + ``read_map``, then ``qscore.score(model, map, sigma=0.4,
  threads=N)`` once to warm up (numba cache load or compilation) and ``--repeats`` more times;
* jqscore: ``read_mrc`` + ``gemmi.cif.read``, then ``jqscore.block_qscores(block, …,
  sigma=0.4, mapq_compat=False)`` (its per-``_atom_site``-row API) the same way.

JAX on CPU has no setting for a number of threads: XLA sizes its thread pool from the CPUs the
process may run on, so each child first restricts itself with ``os.sched_setaffinity`` to the
first N allowed CPUs (what ``taskset -c 0-(N-1)`` does), before importing the tool; jqscore's
cKDTree searches then share those CPUs too.  qscore gets the same pinning and ``threads=N``.
JAX is also told to use the CPU (``JAX_PLATFORMS=cpu``).  Before each child the script waits
(``--wait-idle``) for other processes to leave the CPUs, and records the load around the runs.

Reported per tool and size: reading time, first (warm-up) run, best warm run (wall and CPU time),
warm µs per atom, and the child's peak resident memory (``ru_maxrss`` read inside the child, which
imports nothing but numpy and its tool, so one tool's peak is not mixed with another's).  The
per-atom Q of both tools are compared by ``_atom_site`` row; each atom with |ΔQ| > 1e-5 is classed
as a cutoff tie when a sample point that decides its shells lies within ``TIE_MARGIN`` of the
exclusion cutoff 0.9 R in float64 (jqscore documents that float32 cannot decide those), else by its
distance from the map origin, and such atoms are re-checked on a cropped map (see ``compare``).

Last, the fresh-process timings of the ``qscore score`` command on 7CEC chain A (4,308 atoms):
once with an empty numba cache (``NUMBA_CACHE_DIR`` set to a new folder: the first-ever run,
compiling) and then three times more with that cache warm.

``--isa avx2`` limits the code of every child (numba, numpy, XLA) to AVX2 on an AVX-512 CPU (see
``machine.py``); the table's CPU line says so.

Results go to ``benchmarks/out/results.md``, ``results.csv`` and ``results.json``.
jqscore is not a dependency of the project: ``pip install "jqscore==0.2" jax jaxlib``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import ISAS, cpu_name, isa_environment, simd_text  # noqa: E402

CHAIN_A_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "emd30342_7cec"
CHAIN_A = (CHAIN_A_DIR / "390_7cec_A.cif", CHAIN_A_DIR / "390_emd_30342_A_z4.mrc")
SIGMA = 0.4
DQ_TOLERANCE = 1e-5
TIE_MARGIN = 1e-6  # Å: a sample point this close to its exclusion cutoff makes an atom a tie
TARGET_SPEEDUP = 15.0
MEMORY_ALLOWANCE_MB = 512.0  # peak memory budget: the map in float32 plus this
TOOLS = ("qscore", "jqscore")
JQSCORE_INSTALL = 'pip install "jqscore==0.2" jax jaxlib'
RESULT_TAG = "BENCH-RESULT "


# --------------------------------------------------------------------------- child processes

def _pin_cpus(threads: int) -> list:
    """Restrict this process to the first ``threads`` CPUs it may use; returns them."""
    allowed = sorted(os.sched_getaffinity(0))
    cpus = allowed[:max(1, threads)]
    os.sched_setaffinity(0, cpus)
    return cpus


def _rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load_qscore(model_path: str, map_path: str):
    """Read both inputs with qscore; returns a function that scores them by ``_atom_site`` row."""
    from qscore import score
    from qscore.io.maps import read_map
    from qscore.io.models import read_model

    model = read_model(model_path)
    dmap = read_map(map_path)
    n_rows = int(model.atoms.row.max()) + 1  # rows of later models, if any, are left out

    def run(threads: int) -> np.ndarray:
        result = score(model, dmap, sigma=SIGMA, threads=threads)
        q = np.full(n_rows, np.nan)
        q[model.atoms.row] = result.q
        return q

    return run, len(model.atoms)


def _load_jqscore(model_path: str, map_path: str):
    """Read both inputs with jqscore; returns a function that scores them by ``_atom_site`` row."""
    import gemmi
    import jqscore

    data, origin, voxel_size = jqscore.read_mrc(map_path)
    doc = gemmi.cif.read(model_path)
    columns = jqscore.AtomSiteColumns(doc[0])
    n_atoms = len(columns.floats("Cartn_x"))

    def run(threads: int) -> np.ndarray:  # the thread count is the CPU pinning
        return jqscore.block_qscores(doc[0], data, origin, voxel_size, columns=columns, sigma=SIGMA,
                                     mapq_compat=False)

    return run, n_atoms


def child(tool: str, model_path: str, map_path: str, threads: int, repeats: int, save: str) -> None:
    """Time one tool on one input, in this (fresh) process; prints a JSON result line.

    Parameters
    ----------
    tool : {'qscore', 'jqscore'}
    model_path, map_path : str
    threads : int
        CPUs to pin to (and qscore's ``threads``).
    repeats : int
        Timed runs after the warm-up run; the best is reported.
    save : str
        Where to save the per-row Q-scores (``.npy``).
    """
    cpus = _pin_cpus(threads)
    t0 = time.perf_counter()
    loader = _load_qscore if tool == "qscore" else _load_jqscore
    run, n_atoms = loader(model_path, map_path)
    t_read = time.perf_counter() - t0
    rss_read = _rss_mb()
    t0 = time.perf_counter()
    q = run(threads)
    t_first = time.perf_counter() - t0
    warm, warm_cpu = [], []
    load = [os.getloadavg()[0]]
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        q = run(threads)
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(time.process_time() - c0)
    load.append(os.getloadavg()[0])
    np.save(save, q)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(RESULT_TAG + json.dumps({
        "tool": tool, "atoms": n_atoms, "cpus": cpus, "read_s": t_read, "first_s": t_first,
        "warm_s": min(warm), "warm_all_s": warm, "us_per_atom": min(warm) / n_atoms * 1e6,
        "warm_cpu_s": min(warm_cpu), "cpu_us_per_atom": min(warm_cpu) / n_atoms * 1e6,
        "rss_after_read_mb": rss_read, "peak_rss_mb": _rss_mb(),
        "cpu_s": cpu.ru_utime + cpu.ru_stime, "load": max(load)}), flush=True)


def busy_fraction(interval: float = 2.0) -> float:
    """Fraction of the machine's CPU time spent busy over ``interval`` seconds (from /proc/stat)."""
    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total0, idle0 = sample()
    time.sleep(interval)
    total1, idle1 = sample()
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_idle(max_wait: float, threshold: float = 0.1) -> float:
    """Wait (at most ``max_wait`` s) until other processes use under ``threshold`` of the CPUs,
    so that timings are not shared with them; returns the busy fraction last seen."""
    deadline = time.monotonic() + max_wait
    busy = busy_fraction() if Path("/proc/stat").exists() else 0.0
    while busy > threshold and time.monotonic() < deadline:
        busy = busy_fraction()
    return busy


def run_child(tool: str, entry: dict, threads: int, repeats: int, out_dir: Path) -> dict:
    """Run :func:`child` in a new process; returns its result plus the path of its Q-scores."""
    save = out_dir / f"q_{tool}_{Path(entry['model']).stem}.npy"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, "--model", entry["model"],
           "--map", entry["map"], "--threads", str(threads), "--repeats", str(repeats),
           "--save", str(save)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{tool} on {entry['model']} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][len(RESULT_TAG):])
    result.update(process_wall_s=wall, q_path=str(save))
    return result


# --------------------------------------------------------------------------- comparison

def cutoff_margins(coords: np.ndarray, atoms: np.ndarray, num_points: int = 8, shell_step: float = 0.1,
                   max_radius: float = 2.0, tries: int = 50) -> np.ndarray:
    """For each atom, how close (Å) any sample point that decides its shells is to a cutoff.

    A shell's spiral tries are evaluated in order up to the first with ``num_points`` points
    clear of every other atom by 0.9 R; over the points of those tries and the atoms within
    1.9 R, the smallest ``| |p - a| - 0.9 R |`` is returned (float64).  A tiny margin means a
    float32 computation may take another try, or keep another point, than a float64 one.

    Parameters
    ----------
    coords : ndarray, shape (n, 3)
        Every non-H atom (the neighbours of the exclusion test), Å.
    atoms : ndarray of int
        Indices into coords of the atoms to examine.
    num_points, shell_step, max_radius, tries
        The Q-score parameters (MapQ's defaults).

    Returns
    -------
    ndarray, shape (len(atoms),)
    """
    from scipy.spatial import cKDTree

    from qscore.core.spiral import spiral_table
    from qscore.types import QParams

    params = QParams(sigma=SIGMA, num_points=num_points, shell_step=shell_step, max_radius=max_radius,
                     tries=tries)
    radii = params.radii()
    dirs, start = spiral_table(num_points, tries)
    tree = cKDTree(coords)
    out = np.full(len(atoms), np.inf)
    for i, a in enumerate(atoms):
        near = [b for b in tree.query_ball_point(coords[a], 1.9 * radii[-1] + 1e-6) if b != a]
        rel = coords[near] - coords[a]
        dot = dirs @ rel.T  # (points, neighbours): |r d - w|² = r² + |w|² - 2 r d·w
        w2 = np.einsum("ij,ij->i", rel, rel)
        for r in radii:
            dist = np.sqrt(np.maximum(r * r + w2[None, :] - 2.0 * r * dot, 0.0))
            gap = np.abs(dist - 0.9 * r).min(axis=1, initial=np.inf)
            clear = ~(dist < 0.9 * r).any(axis=1)
            n_clear = np.add.reduceat(clear.astype(np.int64), start[:-1])
            ok = np.flatnonzero(n_clear >= num_points)
            last = start[ok[0] + 1] if len(ok) else start[-1]
            out[i] = min(out[i], gap[:last].min())
    return out


def compare(entry: dict, q_path: str, jq_path: str, limit: int = 5000) -> dict:
    """Per-atom |ΔQ| between qscore and jqscore, and why the atoms that differ do.

    Every atom with |ΔQ| > ``DQ_TOLERANCE`` (at most ``limit`` of them) is classed as

    * a cutoff tie: a sample point that decides its shells lies within ``TIE_MARGIN`` Å of its
      exclusion cutoff (see :func:`cutoff_margins`), which float32 (jqscore) cannot decide;
    * otherwise "other", counted by distance from the map's first voxel: jqscore passes sample
      positions to the device as float32 voxel coordinates, whose rounding grows with that
      distance (6e-5 voxel at 1,000 voxels).  :func:`recheck_cropped` tests this directly.

    Parameters
    ----------
    entry : dict
        The input's description from ``make_inputs``.
    q_path, jq_path : str
        Per-row Q-scores saved by the children.
    limit : int
        At most this many differing atoms are classed.

    Returns
    -------
    dict
    """
    from qscore.io.maps import read_map
    from qscore.io.models import read_model

    q = np.load(q_path)
    jq = np.load(jq_path)[:len(q)]  # jqscore also has (NaN) rows for any later models
    both = np.isfinite(q) & np.isfinite(jq)
    dq = np.where(both, np.abs(q - jq), 0.0)
    bad = np.flatnonzero(dq > DQ_TOLERANCE)
    result = {"compared": int(both.sum()), "nan_mismatch": int((np.isfinite(q) != np.isfinite(jq)).sum()),
              "max_dq_all": float(dq.max()), "mean_dq": float(dq[both].mean()), "n_over": int(len(bad)),
              "max_dq_over": float(dq[bad].max()) if len(bad) else 0.0, "ties": 0, "other": 0}
    if not len(bad):
        return result
    atoms = read_model(entry["model"]).atoms
    heavy = ~atoms.is_hydrogen
    heavy_rows = atoms.row[heavy]
    by_row = dict(zip(heavy_rows.tolist(), range(len(heavy_rows)), strict=True))
    examined = bad[:limit]
    index = np.array([by_row[r] for r in examined])  # into the heavy atoms
    margins = cutoff_margins(atoms.coords[heavy], index)
    ties = margins < TIE_MARGIN
    dmap = read_map(entry["map"])
    voxels_out = np.abs((atoms.coords[heavy] - dmap.origin) / dmap.voxel_size).max(axis=1)
    far = voxels_out[index[~ties]]
    edges = [0, 256, 512, 1024, np.inf]
    result.update(
        examined=int(len(examined)), ties=int(ties.sum()), other=int((~ties).sum()),
        max_dq_ties=float(dq[examined[ties]].max()) if ties.any() else 0.0,
        max_dq_other=float(dq[examined[~ties]].max()) if (~ties).any() else 0.0,
        other_by_voxels_from_origin={
            f"{lo:g}-{hi:g}": [int(((far >= lo) & (far < hi)).sum()),
                               int(((voxels_out >= lo) & (voxels_out < hi)).sum())]
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)},
        worst=[{"row": int(r), "q": float(q[r]), "jqscore": float(jq[r]), "margin_A": float(m)}
               for r, m in zip(examined[:10], margins[:10], strict=True)])
    if (~ties).any():
        result["recheck"] = recheck_cropped(atoms.coords[heavy], heavy_rows, dmap, q, index[~ties])
    return result


def recheck_cropped(coords: np.ndarray, rows: np.ndarray, dmap, q: np.ndarray, index: np.ndarray,
                    half_box: float = 60.0) -> dict:
    """Score again, with both tools, the atoms around the differing atom farthest from the map's
    first voxel, on the map cropped to a box around them (so their voxel coordinates are small).

    The atoms and the map values near them are the same, so in exact arithmetic the Q-scores are
    too; qscore's (float64) must not move, and if the differences came from jqscore's float32
    voxel coordinates, jqscore's now agree with qscore's full-map values.

    Parameters
    ----------
    coords : ndarray, shape (n, 3)
        The non-H atoms, Å.
    rows : ndarray of int, shape (n,)
        Their ``_atom_site`` rows.
    dmap : qscore.types.DensityMap
    q : ndarray
        qscore's per-row Q on the full map.
    index : ndarray of int
        The differing atoms that are not cutoff ties (indices into coords).
    half_box : float
        Half the side of the box, Å.

    Returns
    -------
    dict with the number of differing atoms re-checked, how many still differ from qscore's
    full-map values, and the largest change of qscore's own values.
    """
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jqscore

    from qscore.core.engine import compute_qscores
    from qscore.types import DensityMap, QParams

    far = index[np.argmax(np.abs(coords[index] - dmap.origin).max(axis=1))]
    lo_xyz, hi_xyz = coords[far] - half_box, coords[far] + half_box
    inside = np.all((coords >= lo_xyz) & (coords <= hi_xyz), axis=1)
    interior = np.all((coords >= lo_xyz + 4.0) & (coords <= hi_xyz - 4.0), axis=1)  # neighbours all present
    sub = np.flatnonzero(inside)
    lo = np.maximum(np.floor((coords[sub].min(axis=0) - 3.0 - dmap.origin) / dmap.voxel_size), 0).astype(int)
    hi = np.minimum(np.ceil((coords[sub].max(axis=0) + 3.0 - dmap.origin) / dmap.voxel_size),
                    np.array(dmap.shape_xyz) - 1).astype(int)
    values = np.ascontiguousarray(dmap.values[lo[2]:hi[2] + 1, lo[1]:hi[1] + 1, lo[0]:hi[0] + 1])
    crop = DensityMap(values=values, origin=dmap.origin + lo * dmap.voxel_size, voxel_size=dmap.voxel_size)
    q_crop = compute_qscores(coords[sub], np.zeros(len(sub), bool), np.arange(len(sub)), crop,
                             QParams(sigma=SIGMA))["q"]
    jq_crop, _, _ = jqscore.qscores_from_arrays(coords[sub], np.ones(len(sub), bool), np.arange(len(sub)),
                                                values, crop.origin, crop.voxel_size, sigma=SIGMA,
                                                mapq_compat=False)
    at = np.searchsorted(sub, index[interior[index]])  # the differing atoms inside the box
    q_full = q[rows[sub[at]]]
    return {"box_atoms": int(len(sub)), "half_box": half_box, "crop_grid": values.shape[::-1],
            "voxels_from_origin_before": float(np.abs(coords[far] - dmap.origin).max() / dmap.voxel_size.min()),
            "rechecked": int(len(at)),
            "still_over": int((np.abs(jq_crop[at] - q_full) > DQ_TOLERANCE).sum()),
            "max_dq_after": float(np.abs(jq_crop[at] - q_full).max()) if len(at) else 0.0,
            "qscore_crop_vs_full": float(np.abs(q_crop[at] - q_full).max()) if len(at) else 0.0}


# --------------------------------------------------------------------------- CLI timings

def qscore_command() -> list:
    """The installed ``qscore`` console script (no shell shim), else an equivalent Python call."""
    script = Path(sys.executable).parent / "qscore"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from qscore.cli import main; main()"]


def cli_timings(threads: int, warm_runs: int = 3, wait_idle: float = 0.0) -> dict:
    """Fresh-process ``qscore score`` on 7CEC chain A: once compiling, then with a warm cache.

    The numba cache goes to a new folder (``NUMBA_CACHE_DIR``), empty for the first run; the
    runs are timed from process start to exit (imports, reading, scoring and writing outputs).

    Parameters
    ----------
    threads : int
        ``--threads`` of the command (the process is pinned to as many CPUs).
    warm_runs : int
        Runs after the first.
    wait_idle : float
        Before each run, wait up to this many seconds for the machine to be idle.

    Returns
    -------
    dict with ``cold_s``, ``warm_s`` (list), ``warm_median_s`` and ``command``.
    """
    model, map_path = CHAIN_A
    if not model.exists():
        raise SystemExit(f"{model} is missing (see ../shared/data/README.md).")
    with tempfile.TemporaryDirectory(prefix="qscore-bench-") as tmp:
        cmd = qscore_command() + ["score", str(model), str(map_path), "-o", str(Path(tmp) / "out"),
                                  "-q", "--threads", str(threads)]
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "numba-cache"))
        allowed = os.sched_getaffinity(0)
        times = []
        try:
            _pin_cpus(threads)  # inherited by the commands (no preexec_fn: JAX may be loaded here)
            for _ in range(1 + warm_runs):
                wait_until_idle(wait_idle)
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, check=True, capture_output=True)
                times.append(time.perf_counter() - t0)
        finally:
            os.sched_setaffinity(0, allowed)
        summary = json.loads(next((Path(tmp) / "out").glob("*_summary.json")).read_text())
    return {"cold_s": times[0], "warm_s": times[1:], "warm_median_s": statistics.median(times[1:]),
            "atoms": summary["counts"]["atoms"], "mean_q": summary["mean_q"],
            "command": " ".join(["qscore"] + cmd[len(qscore_command()):]).replace(tmp, "$TMP")}


# --------------------------------------------------------------------------- report

def source_state() -> str:
    """The commit of the working tree, with ``+changes`` when src/ has uncommitted edits."""
    root = Path(__file__).resolve().parent.parent

    def git(*cmd):
        return subprocess.run(["git", *cmd], cwd=root, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    return commit + (" +changes in src/" if git("status", "--porcelain", "--", "src") else "")


def versions(with_jqscore: bool) -> dict:
    """Versions of the tools and of the libraries that decide their speed."""
    import gemmi
    import numba

    import qscore

    out = {"python": platform.python_version(), "qscore": f"{qscore.__version__} ({source_state()})",
           "numba": numba.__version__, "numpy": np.__version__, "gemmi": gemmi.__version__}
    if with_jqscore:
        from importlib.metadata import version

        out.update(jqscore=version("jqscore"), jax=version("jax"), jaxlib=version("jaxlib"))
    return out


def result_rows(inputs: dict, runs: dict, comparisons: dict) -> list:
    """One flat row per (size, tool) for the tables and the CSV."""
    rows = []
    for label, entry in inputs.items():
        jq = runs.get((label, "jqscore"))
        for tool in TOOLS:
            r = runs.get((label, tool))
            if r is None:
                continue
            speedup = jq["warm_s"] / r["warm_s"] if jq is not None and tool == "qscore" else None
            cpu_speedup = jq["warm_cpu_s"] / r["warm_cpu_s"] if jq is not None and tool == "qscore" else None
            cmp_ = comparisons.get(label, {}) if tool == "qscore" else {}
            budget = entry["map_mb"] + MEMORY_ALLOWANCE_MB
            rows.append({
                "size": label, "atoms": r["atoms"], "map_grid": "x".join(map(str, entry["map_grid"])),
                "map_mb": entry["map_mb"], "tool": tool, "threads": len(r["cpus"]),
                "read_s": round(r["read_s"], 2), "first_s": round(r["first_s"], 2),
                "warm_s": round(r["warm_s"], 3), "us_per_atom": round(r["us_per_atom"], 2),
                "cpu_us_per_atom": round(r["cpu_us_per_atom"], 2),
                "peak_rss_mb": round(r["peak_rss_mb"]), "rss_after_read_mb": round(r["rss_after_read_mb"]),
                "load": round(r["load"], 1),
                "memory_budget_mb": round(budget) if tool == "qscore" else "",
                "speedup": round(speedup, 2) if speedup is not None else "",
                "cpu_speedup": round(cpu_speedup, 2) if cpu_speedup is not None else "",
                "n_dq_over_1e-5": cmp_.get("n_over", ""), "max_dq": cmp_.get("max_dq_over", ""),
                "cutoff_ties": cmp_.get("ties", ""), "other": cmp_.get("other", "")})
    return rows


def markdown(rows: list, comparisons: dict, cli: dict | None, meta: dict) -> str:
    """The results as a Markdown report."""
    lines = [f"# qscore vs jqscore — {meta['date']}", "",
             f"{meta['cpu']}, {meta['threads']} thread(s) per tool (CPU-pinned), warm runs: best of "
             f"{meta['repeats']}; sigma {SIGMA} Å, jqscore `mapq_compat=False`.", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()), "",
             "| size | atoms | map (voxels, MB) | tool | read s | first run s | warm s | µs/atom | "
             "peak RSS MB | speed-up | CPU µs/atom | CPU speed-up | load |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        speedup = f"{r['speedup']:.1f}×" if r["speedup"] != "" else ""
        cpu_speedup = f"{r['cpu_speedup']:.1f}×" if r["cpu_speedup"] != "" else ""
        lines.append(f"| {r['size']} | {r['atoms']:,} | {r['map_grid']}, {r['map_mb']:.0f} | {r['tool']} | "
                     f"{r['read_s']:.2f} | {r['first_s']:.2f} | {r['warm_s']:.2f} | {r['us_per_atom']:.2f} | "
                     f"{r['peak_rss_mb']:,} | {speedup} | {r['cpu_us_per_atom']:.2f} | {cpu_speedup} | "
                     f"{r['load']:.1f} |")
    lines += ["", "warm s, µs/atom: wall time of the best timed run; speed-up: jqscore's over qscore's. CPU µs/atom: "
              "the CPU time (all threads) of the least costly timed run, per atom, less sensitive to other "
              "processes than wall time. load: the machine's 1-minute load average around the timed runs "
              f"(each tool alone accounts for about {meta['threads']}; more means other processes shared the CPUs).",
              "", f"Memory budget for qscore: the map in float32 + {MEMORY_ALLOWANCE_MB:.0f} MB; "
              f"speed-up target at 1M atoms: ≥ {TARGET_SPEEDUP:.0f}× (warm).", ""]
    for r in rows:
        if r["tool"] == "qscore":
            within = "within" if r["peak_rss_mb"] <= r["memory_budget_mb"] else "OVER"
            lines.append(f"- {r['size']}: qscore peak {r['peak_rss_mb']:,} MB vs budget "
                         f"{r['memory_budget_mb']:,} MB — {within} budget")
    if comparisons:
        lines += agreement_lines(comparisons)
    if cli:
        lines += ["", "## Fresh process, 7CEC chain A", "",
                  f"`{cli['command']}` ({cli['atoms']:,} atoms, mean Q {cli['mean_q']:.4f}), timed from "
                  "process start to exit:", "",
                  f"- first-ever run (empty numba cache, compiling): {cli['cold_s']:.2f} s",
                  f"- warm cache: median {cli['warm_median_s']:.2f} s "
                  f"({', '.join(f'{t:.2f}' for t in cli['warm_s'])} s)"]
    return "\n".join(lines) + "\n"


def agreement_lines(comparisons: dict) -> list:
    """The per-atom agreement section of the report."""
    lines = ["", "## Per-atom agreement (qscore − jqscore)", "",
             "| size | atoms | mean \\|ΔQ\\| | \\|ΔQ\\| > 1e-5 | max \\|ΔQ\\| | cutoff ties (max \\|ΔQ\\|) | "
             "others (max \\|ΔQ\\|) | others by voxels from the map origin: 0-256 / 256-512 / 512-1024 / ≥1024 |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for label, c in comparisons.items():
        bins = c.get("other_by_voxels_from_origin", {})
        by_far = " / ".join(f"{n} of {total:,}" for n, total in bins.values()) if bins else ""
        lines.append(f"| {label} | {c['compared']:,} | {c['mean_dq']:.2g} | {c['n_over']} | {c['max_dq_over']:.3g} | "
                     f"{c['ties']} ({c.get('max_dq_ties', 0):.3g}) | {c['other']} ({c.get('max_dq_other', 0):.3g}) | "
                     f"{by_far} |")
    lines += ["", f"Cutoff tie: a sample point that decides the atom's shells lies within {TIE_MARGIN:g} Å "
              "(float64) of its exclusion cutoff 0.9 R, which float32 cannot decide (jqscore documents this). "
              "The tiling copies the model's geometry, so a tie of the model recurs in every copy."]
    for label, c in comparisons.items():
        r = c.get("recheck")
        if r:
            verdict = ("So these come from jqscore's float32 voxel coordinates, which lose precision far from "
                       "the map origin." if r["still_over"] == 0 else
                       "Not all of these are explained by jqscore's float32 voxel coordinates.")
            lines.append(f"\n{label}, others: the {r['box_atoms']:,} atoms of a {2 * r['half_box']:g} Å box around "
                         "the differing atom "
                         f"farthest from the map origin ({r['voxels_from_origin_before']:.0f} voxels) scored again on "
                         f"the map cropped to them ({'x'.join(map(str, r['crop_grid']))} voxels): of its "
                         f"{r['rechecked']} differing atoms, {r['still_over']} still differ by more than "
                         f"{DQ_TOLERANCE:g} (max \\|ΔQ\\| {r['max_dq_after']:.2g}); qscore's own values moved by at "
                         f"most {r['qscore_crop_vs_full']:.1g}. " + verdict)
    return lines


def write_results(out_dir: Path, rows: list, text: str, raw: dict) -> None:
    """Write results.md, results.csv and results.json to ``out_dir``."""
    (out_dir / "results.md").write_text(text)
    with open(out_dir / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["size"])
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "results.json").write_text(json.dumps(raw, indent=1, default=str))


def main(argv=None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated sizes (20k, 100k, 1M, …; default: all three)")
    parser.add_argument("--threads", type=int, default=2, help="threads (CPUs) for each tool")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs after the warm-up run")
    parser.add_argument("--skip-jqscore", action="store_true", help="time qscore only")
    parser.add_argument("--skip-cli", action="store_true", help="skip the chain-A fresh-process timings")
    parser.add_argument("--out", type=Path, help="folder for inputs and results (default: benchmarks/out)")
    parser.add_argument("--wait-idle", type=float, default=120.0,
                        help="before each run, wait up to this many seconds for the machine to be idle")
    parser.add_argument("--isa", choices=ISAS, default="native",
                        help="limit the code numba, numpy and XLA generate to AVX2 (see machine.py)")
    parser.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--map", help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.model, args.map, args.threads, args.repeats, args.save)
        return 0
    if args.threads > len(os.sched_getaffinity(0)):
        parser.error(f"--threads {args.threads}: this process may use only "
                     f"{len(os.sched_getaffinity(0))} CPUs")
    with_jq = not args.skip_jqscore
    if with_jq and importlib.util.find_spec("jqscore") is None:
        print(f"jqscore is not installed (it is not a dependency of qscore). Install it with\n"
              f"    {JQSCORE_INSTALL}\nor run with --skip-jqscore.", file=sys.stderr)
        return 2

    from make_inputs import OUT_DIR, SIZES

    os.environ.update(isa_environment(args.isa))  # before any child starts: they inherit it

    out_dir = args.out or OUT_DIR
    # the source state as timed
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": f"{cpu_name()}, {simd_text(args.isa)}",
            "threads": args.threads, "repeats": args.repeats, "versions": versions(with_jq)}
    sizes = args.sizes.split(",") if args.sizes else list(SIZES)
    # the inputs are made in a process of their own: on Linux a child's peak memory (ru_maxrss) starts from its
    # parent's, so this process must stay small while the children run
    subprocess.run([sys.executable, str(Path(__file__).with_name("make_inputs.py")), "--sizes", ",".join(sizes),
                    "--out", str(out_dir)], check=True)
    recorded = json.loads((Path(out_dir) / "inputs.json").read_text())
    inputs = {label: recorded[label] for label in sizes}
    runs, comparisons = {}, {}
    for label, entry in inputs.items():
        for tool in TOOLS if with_jq else TOOLS[:1]:
            busy = wait_until_idle(args.wait_idle)
            r = run_child(tool, entry, args.threads, args.repeats, out_dir)
            r["busy_before"] = busy
            runs[label, tool] = r
            print(f"{label:>5} {tool:8} read {r['read_s']:6.2f} s  first {r['first_s']:7.2f} s  warm "
                  f"{r['warm_s']:7.3f} s  {r['us_per_atom']:7.2f} µs/atom  peak {r['peak_rss_mb']:7.0f} MB",
                  flush=True)
        if with_jq:
            comparisons[label] = c = compare(entry, runs[label, "qscore"]["q_path"],
                                             runs[label, "jqscore"]["q_path"])
            print(f"{label:>5} |ΔQ| > {DQ_TOLERANCE:g}: {c['n_over']} of {c['compared']:,} atoms "
                  f"(max {c['max_dq_over']:.3g}; cutoff ties {c['ties']}, others {c['other']})", flush=True)
    cli = None if args.skip_cli else cli_timings(args.threads, wait_idle=args.wait_idle)
    rows = result_rows(inputs, runs, comparisons)
    text = markdown(rows, comparisons, cli, meta)
    write_results(out_dir, rows, text, {"meta": meta, "inputs": inputs, "comparisons": comparisons,
                                         "cli": cli, "runs": {f"{k[0]}/{k[1]}": v for k, v in runs.items()}})
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
