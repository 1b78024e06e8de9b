"""The whole job, stage by stage: where the time and the memory of ``qscore score`` and ``qscore report`` go.

``python benchmarks/bench_e2e.py [--sizes 100k,400k,1M] [--threads 2] [--isa native|avx2] [--out benchmarks/out]``

For each size the inputs of ``make_inputs.py`` (7CEC tiled, simulated 3 Å map, 1 Å voxels) are
made or reused. Two things are then measured, each in processes of its own:

* **Stages**, in one child process (the inputs are made in another, so that no child starts with
  the memory peak of its parent, which Linux passes on): import, read the model, read the map, the first scoring call
  (it loads the numba cache), the kernel warm (a second ``qscore.score`` on the loaded inputs), the
  analysis at 3 Å, the map–model CC, writing the files of ``qscore score``, and the report. Each
  stage gets its wall time, the resident memory after it, and the peak so far (``ru_maxrss``, which
  only grows).
* **Commands**, each in a fresh process: ``qscore score MODEL MAP --resolution 3`` and ``qscore
  report MODEL MAP --resolution 3``, with their wall time and peak resident memory (``wait4``).

The table reports both commands against the warm kernel (issue 16's targets: score ≤ 2×, report ≤ 3×)
and their peaks against the map in float32 plus 1 GB. It is written as ``e2e.md`` and ``e2e.json`` in
``--out`` and printed, headed by the CPU line. ``--isa avx2`` limits the generated code to AVX2 (see
``machine.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from machine import ISAS, bench_inputs, isa_environment, run_child  # noqa: E402

STAGES = ("import", "read model", "read map", "first score", "kernel warm", "analyse", "CC", "write", "report")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(model: str, map_path: str, threads: int) -> dict:
    """Run every stage once in this process; return {stage: {s, rss_mb, peak_mb}}."""
    out: dict = {}
    t = time.perf_counter()

    def done(stage):
        nonlocal t
        now = time.perf_counter()
        out[stage] = {"s": round(now - t, 3), "rss_mb": round(_rss_mb()), "peak_mb": round(_peak_mb())}
        t = time.perf_counter()

    import qscore
    from qscore.analysis.correlation import map_model_correlation
    from qscore.pipeline import analysis_settings
    from qscore.pipeline.outputs import write_score_outputs
    done("import")
    mdl = qscore.read_model(model)
    done("read model")
    dmap = qscore.read_map(map_path)
    done("read map")
    result = qscore.score(mdl, dmap, sigma=0.4, resolution=3.0, threads=threads)
    done("first score")
    result = qscore.score(mdl, dmap, sigma=0.4, resolution=3.0, threads=threads)
    done("kernel warm")
    settings = analysis_settings(0.4, 3.0, correlation=False)
    result.analyse(settings)
    done("analyse")
    result.analysis.correlation = map_model_correlation(result.atoms, result.dmap, 3.0, lenient=True)
    done("CC")
    with tempfile.TemporaryDirectory() as folder:
        paths = write_score_outputs(result, folder)
        done("write")
        from qscore.report.html import write_report

        write_report(result, result.analysis, folder, curve=result.curve(settings), outputs=paths, map_path=map_path)
        done("report")
    return out


def _command(args: list, threads: int) -> tuple:
    """(wall s, peak RSS MB) of a fresh ``qscore`` process."""
    with tempfile.TemporaryDirectory() as folder:
        cmd = [sys.executable, "-c", "from qscore.cli import main; main()", *args, "--threads", str(threads),
               "--out", folder, "--quiet"]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.read().decode()[-500:]}")
    return round(wall, 2), round(usage.ru_maxrss / 1024)


def measure(label: str, threads: int, out_dir: Path) -> dict:
    info = bench_inputs(label, out_dir)  # in a process of its own: this one must stay small
    stages = run_child(__file__, info["model"], info["map"], threads)
    score_s, score_mb = _command(["score", str(info["model"]), str(info["map"]), "--resolution", "3"], threads)
    report_s, report_mb = _command(["report", str(info["model"]), str(info["map"]), "--resolution", "3"], threads)
    return {"size": label, "atoms": info["atoms"], "map_mb": round(info["map_mb"]), "stages": stages,
            "score_s": score_s, "score_peak_mb": score_mb, "report_s": report_s, "report_peak_mb": report_mb}


def table(rows: list, isa: str = "native") -> str:
    from machine import machine_line

    head = ["size", "atoms", "map MB", *[f"{s} s" for s in STAGES], "score s", "score/kernel", "score peak MB",
            "report s", "report/kernel", "report peak MB", "map f32 + 1 GB"]
    lines = [machine_line(isa), "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        kernel = r["stages"]["kernel warm"]["s"]
        cells = [r["size"], f"{r['atoms']:,}", str(r["map_mb"]), *[f"{r['stages'][s]['s']:.2f}" for s in STAGES],
                 f"{r['score_s']:.1f}", f"{r['score_s'] / kernel:.1f}×", f"{r['score_peak_mb']:,}",
                 f"{r['report_s']:.1f}", f"{r['report_s'] / kernel:.1f}×", f"{r['report_peak_mb']:,}",
                 f"{r['map_mb'] + 1024:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Peak RSS after each stage (MB, in the stage process): "
              + "; ".join(f"{r['size']}: " + ", ".join(f"{s} {r['stages'][s]['peak_mb']:,}" for s in STAGES)
                          for r in rows)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,400k,1M")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--isa", choices=ISAS, default="native", help="limit generated code to AVX2 (see machine.py)")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "MAP", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return 0
    os.environ.update(isa_environment(args.isa))  # the child processes inherit it
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [measure(label, args.threads, args.out) for label in args.sizes.split(",")]
    text = table(rows, args.isa)
    (args.out / "e2e.md").write_text(text)
    (args.out / "e2e.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
