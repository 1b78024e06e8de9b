"""Throughput of ``qscore batch`` (entries per minute) with 1 and 2 local workers, and what it costs per entry.

``python benchmarks/bench_batch.py [--entries 48] [--configs serial,1x1,1x2,2x1] [--repeats 1]``

The manifest cycles through the entries of ``../shared/data`` (7CEC chain A, 4,308 atoms; its first
100 atoms; apoferritin, 1,654 atoms; actin, 2,872 atoms), under distinct ids, plus synthetic
helices from :func:`qscore.pipeline.demo.build_demo` (120 atoms) — or only synthetic ones where the data are
absent.  Sigma 0.4, each entry's residue/chain analysis and files as ``qscore score`` writes them.

Configurations (``WxT``: W worker processes with T kernel threads each, the same
``run_batch`` code path a cluster runs; ``serial``: the same per-entry function,
:func:`qscore.batch.entry.score_entry`, called in a loop in this process, no dask):

* entries/min counts the scoring phase, from the first submission to the last result (workers
  already warm); ``wall`` adds starting the LocalCluster and warming its workers;
* ``overhead ms/entry`` is the scoring phase per entry, times the number of task slots, minus the
  serial time per entry (what dask, the results table and the journal add to each entry; the serial
  loop runs with single-threaded BLAS, as dask's workers do);
* ``resume s`` is a second run of the same command on the finished folder (every entry skipped).

Also timed: writing the results table (Parquet + CSV, atomically) at archive scale, which decides
how often the driver rewrites it (at most ~10% of its time).

Results go to ``benchmarks/out/batch_results.md``, ``batch_results.csv`` and ``batch_results.json``.
"""

from __future__ import annotations

import os

# dask's nanny starts every worker with single-threaded BLAS/OpenMP; the serial loop here gets the same
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name, simd_level  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT_DIR = Path(__file__).resolve().parent / "out"
REAL = [("cecA", "emd30342_7cec/390_emd_30342_A_z4.mrc", "emd30342_7cec/390_7cec_A.cif", 3.9),
        ("cecA100", "emd30342_7cec/390_emd_30342_A_z4.mrc", "emd30342_7cec/390_7cec_A100.cif", 3.9),
        ("apo", "emd20026_apoferritin/emd20026_prot.mrc", "emd20026_apoferritin/3ajo_fitted_refined.pdb", 1.75),
        ("actin", "emd5168_actin/emd_5168_monomer.mrc", "emd5168_actin/1J6Z.pdb", 6.6)]
#: rows of a synthetic results table for the table-writing timings
TABLE_SIZES = (1_000, 10_000, 50_000)


def make_manifest(folder: Path, n: int) -> tuple[Path, dict]:
    """A manifest of ``n`` entries cycling through the real entries and a synthetic helix."""
    from qscore.pipeline.demo import build_demo

    kinds = [(k, DATA / m, DATA / p, d) for k, m, p, d in REAL if (DATA / m).exists() and (DATA / p).exists()]
    demo = build_demo(folder / "demo", resolution=2.5)
    kinds.append(("helix", Path(demo["map"]), Path(demo["model"]), 2.5))
    rows = [(f"{kinds[i % len(kinds)][0]}_{i:04d}", *kinds[i % len(kinds)][1:]) for i in range(n)]
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "map", "model", "resolution"])
        w.writerows(rows)
    mix = {}
    for r in rows:
        mix[r[0].split("_")[0]] = mix.get(r[0].split("_")[0], 0) + 1
    return manifest, mix


def run_serial(manifest: Path, out: Path) -> dict:
    """The per-entry function the workers run, in a loop here (after one warm-up entry)."""
    from qscore.batch import BatchSettings, read_manifest
    from qscore.batch.entry import score_entry, warm_up

    settings = BatchSettings(threads=1)
    entries = read_manifest(manifest, settings)
    out.mkdir(parents=True)
    warm_up()
    t0 = time.perf_counter()
    rows = [score_entry(e, settings, str(out)) for e in entries]
    scoring = time.perf_counter() - t0
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows if r["status"] != "ok"]
    return {"wall_s": scoring, "scoring_s": scoring, "resume_s": None}


def run_cluster(manifest: Path, out: Path, workers: int, threads: int) -> dict:
    from qscore.batch import BatchSettings, run_batch

    settings = BatchSettings(threads=threads)
    t0 = time.perf_counter()
    report = run_batch(manifest, out, settings, workers=workers)
    wall = time.perf_counter() - t0
    assert report.scored_failed == 0, report.failures
    t1 = time.perf_counter()
    again = run_batch(manifest, out, settings, workers=workers)
    resume = time.perf_counter() - t1
    assert again.skipped == report.entries
    return {"wall_s": wall, "scoring_s": report.scoring_s, "resume_s": resume}


def time_table_writes(folder: Path) -> list:
    """Seconds to write the results table (both files, atomically) for archive-sized batches."""
    import numpy as np

    from qscore.batch import ResultsStore

    rng = np.random.default_rng(0)
    out = []
    for n in TABLE_SIZES:
        store = ResultsStore(folder / f"table{n}", [f"e{i}" for i in range(n)], window=0.5, min_entries=10)
        store.folder.mkdir()
        for i in range(n):
            d = float(rng.uniform(1.5, 8))
            store.rows[f"e{i}"] = {"id": f"e{i}", "status": "ok", "resolution": d, "qscore": 1.3 - 0.15 * d,
                                   "map": f"/data/emd_{i}.map", "model": f"/data/{i}.cif", "atoms": 20000,
                                   "versions": '{"qscore": "0.1.0"}', "fingerprint": "0" * 24}
        t0 = time.perf_counter()
        store.flush()
        out.append({"rows": n, "write_s": time.perf_counter() - t0})
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=48)
    ap.add_argument("--configs", default="serial,1x1,1x2,2x1",
                    help="comma-separated: 'serial' and WxT (W workers, T threads per worker)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per configuration (the best is reported)")
    args = ap.parse_args(argv)

    import dask
    import numba

    import qscore

    OUT_DIR.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="qscore-bench-batch-"))
    try:
        manifest, mix = make_manifest(work, args.entries)
        results = []
        for config in args.configs.split(","):
            best = None
            for rep in range(args.repeats):
                out = work / f"out_{config}_{rep}"
                if config == "serial":
                    r = run_serial(manifest, out)
                    slots = 1
                else:
                    w, t = (int(x) for x in config.split("x"))
                    r = run_cluster(manifest, out, w, t)
                    slots = w
                if best is None or r["scoring_s"] < best["scoring_s"]:
                    best = {"config": config, "slots": slots, **r}
            best["entries_per_min"] = 60 * args.entries / best["scoring_s"]
            results.append(best)
            print(f"{config:>7s}: {best['entries_per_min']:7.1f} entries/min (scoring {best['scoring_s']:.2f} s, "
                  f"wall {best['wall_s']:.2f} s)", flush=True)
        serial = next((r for r in results if r["config"] == "serial"), None)
        for r in results:
            r["overhead_ms_per_entry"] = (None if serial is None or r is serial else
                                          1000 * (r["scoring_s"] * r["slots"] - serial["scoring_s"]) / args.entries)
        tables = time_table_writes(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    machine = {"cpus": os.cpu_count(), "cpu": cpu_name(), "simd": simd_level(), "python": platform.python_version(),
               "platform": platform.platform(),
               "qscore": qscore.__version__, "dask": dask.__version__, "numba": numba.__version__}
    payload = {"entries": args.entries, "mix": mix, "machine": machine, "results": results, "table_writes": tables}
    (OUT_DIR / "batch_results.json").write_text(json.dumps(payload, indent=2) + "\n")
    with open(OUT_DIR / "batch_results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)
    lines = [f"# qscore batch throughput ({args.entries} entries: "
             f"{', '.join(f'{v} {k}' for k, v in mix.items())})", "",
             f"{machine['cpu']} ({machine['simd']}), {machine['cpus']} CPUs, Python {machine['python']}, qscore "
             f"{machine['qscore']}, dask "
             f"{machine['dask']}, numba {machine['numba']}", "",
             "| config | entries/min | scoring s | wall s (with cluster start) | overhead ms/entry | resume s |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        oh = "–" if r["overhead_ms_per_entry"] is None else f"{r['overhead_ms_per_entry']:.0f}"
        rs = "–" if r["resume_s"] is None else f"{r['resume_s']:.2f}"
        lines.append(f"| {r['config']} | {r['entries_per_min']:.1f} | {r['scoring_s']:.2f} | {r['wall_s']:.2f} | "
                     f"{oh} | {rs} |")
    lines += ["", "Writing the results table (Parquet + CSV, atomically):", "",
              "| rows | seconds |", "|---:|---:|"]
    lines += [f"| {t['rows']} | {t['write_s']:.3f} |" for t in tables]
    (OUT_DIR / "batch_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nWrote {OUT_DIR / 'batch_results.md'}, .csv and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
