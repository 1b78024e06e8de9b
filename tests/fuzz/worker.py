"""Run fuzz cases in this process, one JSON line per case on stdout: ``python worker.py FOLDER CASES.json START``.

Each case runs the ``qscore`` command line in-process (click's runner) from the cases' folder, into
``out<k>/``, and reports its exit code, output, wall time, the process's resident memory after it,
what it left in its output folder and, for a run that succeeded, whether its numbers are sane.  Before
a case starts its index goes to stderr, so that the parent (:mod:`test_fuzz`) knows which case a
crash (a segmentation fault, the memory limit) or a hang took down, and starts a new worker after it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _sane(out: Path) -> str | None:
    """Why the numbers a successful score wrote are not sane (None when they are)."""
    import pandas as pd

    summaries = list(out.glob("*_summary.json"))
    if not summaries:
        return None  # cc and profile write no summary
    mean = json.loads(summaries[0].read_text())["mean_q"]
    if not (isinstance(mean, float) and -1 <= mean <= 1):  # NaN fails too
        return f"model mean Q {mean!r}"
    for table in out.glob("*_atoms.csv"):
        q = pd.read_csv(table)["Q"].dropna()
        if len(q) and not q.between(-1, 1).all():
            return f"atom Q outside [-1, 1]: {q.min()}..{q.max()}"
    return None


def main(folder: str, cases_json: str, start: int) -> None:
    from click.testing import CliRunner

    from qscore.cli import main as qscore

    limit = int(os.environ.get("QSCORE_FUZZ_MEMORY_MB", "6000")) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # a runaway allocation fails here, not on the machine
    os.chdir(folder)
    cases = json.loads(Path(cases_json).read_text())
    runner = CliRunner()
    for k in range(start, len(cases)):
        print(k, file=sys.stderr, flush=True)
        args = list(cases[k]["args"])
        out = Path(f"out{k:04d}")
        if args[0] in ("score", "profile"):
            args += ["--out", str(out), "--threads", "1"] if "--threads" not in args else ["--out", str(out)]
        elif args[0] == "cc":
            out.mkdir()
            args += ["--json", str(out / "cc.json")]
        t0 = time.perf_counter()
        res = runner.invoke(qscore, args, prog_name="qscore")
        wall = time.perf_counter() - t0
        left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []
        sane = _sane(out) if res.exit_code == 0 and out.exists() else None
        line = {"k": k, "exit": res.exit_code, "output": res.output[-2000:], "wall_s": round(wall, 3),
                "rss_mb": round(_rss_mb(), 1), "left": left, "out_exists": out.exists(), "insane": sane,
                "exception": None if res.exception is None or isinstance(res.exception, SystemExit)
                else f"{type(res.exception).__name__}: {res.exception}"}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
