"""Run every command on the shared data and keep what it wrote, to diff two versions of qscore.

A refactoring must not change what users get.  This script runs, on ``../shared/data``::

    qscore score MODEL MAP --resolution 3.9 --report --mapq-files
    qscore-mapq MAP MODEL np=4 res=3.9          (on copies, since MapQ writes next to the model)
    qscore profile MODEL MAP --atoms A:26
    qscore cc MODEL MAP --resolution 3.9 --json cc.json
    qscore bfactors MODEL MAP --resolution 3.9
    qscore archive stats mapq_emdb_qscores.csv --repeats 10
    qscore batch manifest.csv                    (three entries: 7CEC chain A, apoferritin, actin)

into ``OUT/<command>/`` (standard output and error in ``OUT/<command>/stdout.txt``), then
``--diff A B`` compares two such folders file by file, ignoring only what changes from run to run:
times, dates, version fields, the host/worker and the folder the run wrote into.

    python benchmarks/behaviour_snapshot.py /tmp/before      # on the old checkout
    python benchmarks/behaviour_snapshot.py /tmp/after       # on the new one
    python benchmarks/behaviour_snapshot.py --diff /tmp/before /tmp/after

Exit code of ``--diff``: 0 when nothing differs, 1 otherwise (each difference is printed).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

DATA = Path(os.environ.get("QSCORE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CEC = DATA / "emd30342_7cec"
MODEL = CEC / "390_7cec_A.cif"
MAP = CEC / "390_emd_30342_A_z4.mrc"
ARCHIVE = DATA / "archive" / "mapq_emdb_qscores.csv"

#: JSON keys whose values change from run to run
VOLATILE_KEYS = {"elapsed_s", "versions", "qscore_version", "created", "started", "finished", "finished_at",
                 "downloaded", "command", "worker", "scoring_s", "python", "numpy", "numba", "gemmi", "pandas"}
#: table columns whose values change from run to run
VOLATILE_COLUMNS = {"elapsed_s", "finished_at", "worker", "versions", "qscore_version"}
_PATTERNS = [
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z| UTC)?"), "<DATE>"),
    (re.compile(r"<dt>run time \(s\)</dt><dd>[\d.]+</dd>"), "<dt>run time (s)</dt><dd><TIME></dd>"),
    (re.compile(r"\b\d+(\.\d+)? ?(s|ms)\b"), "<TIME>"),
    (re.compile(r"[\d.]+ entries/min"), "<RATE>"),
    (re.compile(r"qscore[ -](mapq )?\d+\.\d+\.\d+\S*"), "qscore <VERSION>"),
    (re.compile(r"<dc:date>.*?</dc:date>"), "<dc:date/>"),
    (re.compile(r"Matplotlib v[\d.]+\S*"), "Matplotlib <VERSION>"),
    (re.compile(r"\d+(\.\d+)?%\|[^\n]*"), "<PROGRESS>"),
    (re.compile(r"\b([mp]|image|C\d+_\d+_)[0-9a-f]{8,12}\b"), r"\1<ID>"),  # matplotlib's random SVG element ids
]


def _run(args, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(args, capture_output=True, text=True)
    (folder / "stdout.txt").write_text(f"exit {proc.returncode}\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    print(f"{proc.returncode}  {' '.join(map(str, args))}", flush=True)


def snapshot(out: Path) -> None:
    """Run every command into ``out`` (which must not exist yet)."""
    if not MODEL.is_file():
        sys.exit(f"needs the shared data at {DATA}")
    out.mkdir(parents=True)
    q = ["qscore"]
    _run([*q, "score", MODEL, MAP, "--resolution", "3.9", "--report", "--mapq-files", "--out", out / "score"],
         out / "score")
    mq = out / "mapq"
    mq.mkdir()
    shutil.copy(MODEL, mq / MODEL.name)
    shutil.copy(MAP, mq / MAP.name)
    _run(["qscore-mapq", mq / MAP.name, mq / MODEL.name, "np=4", "res=3.9", "bfactor=100"], mq)
    _run([*q, "profile", MODEL, MAP, "--atoms", "A:26", "--out", out / "profile"], out / "profile")
    (out / "cc").mkdir()
    _run([*q, "cc", MODEL, MAP, "--resolution", "3.9", "--json", out / "cc" / "cc.json"], out / "cc")
    _run([*q, "bfactors", MODEL, MAP, "--resolution", "3.9", "--out", out / "bfactors"], out / "bfactors")
    _run([*q, "archive", "stats", ARCHIVE, "--repeats", "10", "--out", out / "archive"], out / "archive")
    manifest = out / "manifest.csv"
    apo, actin = DATA / "emd20026_apoferritin", DATA / "emd5168_actin"
    manifest.write_text("id,map,model,resolution\n"
                        f"cec,{MAP},{MODEL},3.9\n"
                        f"apo,{apo / 'emd20026_prot.mrc'},{apo / '3ajo_fitted_refined.pdb'},1.75\n"
                        f"actin,{actin / 'emd_5168_monomer.mrc'},{actin / '1J6Z.pdb'},6.0\n")
    _run([*q, "batch", manifest, "--out", out / "batch", "--workers", "2", "--quiet"], out / "batch")


def _normalise_text(text: str, root: Path) -> str:
    text = text.replace(str(root.resolve()), "<ROOT>").replace(str(root), "<ROOT>")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _drop_volatile(obj):
    if isinstance(obj, dict):
        return {k: _drop_volatile(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_drop_volatile(v) for v in obj]
    return obj


def _load(path: Path, root: Path):
    """A comparable form of one output file: parsed JSON, a table without volatile columns, or text."""
    if path.suffix == ".parquet":
        import pandas as pd

        table = pd.read_parquet(path)
        return _normalise_text(table.drop(columns=[c for c in table if c in VOLATILE_COLUMNS]).to_csv(), root)
    if path.suffix == ".png":
        return None  # pixels are compared through the SVGs (PNG metadata carries versions)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    text = _normalise_text(text, root)
    if path.suffix == ".json":
        return json.dumps(_drop_volatile(json.loads(text)), indent=1, sort_keys=True)
    if path.suffix == ".csv" and path.name == "results.csv":
        import io

        import pandas as pd

        table = pd.read_csv(io.StringIO(text))
        return table.drop(columns=[c for c in table if c in VOLATILE_COLUMNS]).to_csv()
    if path.suffix == ".html":  # embedded figures carry dates and random ids; they are compared as SVG files
        text = re.sub(r"data:image/(png|svg\+xml);base64,[A-Za-z0-9+/=]+", "<FIGURE>", text)
    return text


def diff(a: Path, b: Path) -> int:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    problems = 0
    for rel in sorted(files_a ^ files_b):
        print(f"only in {'A' if rel in files_a else 'B'}: {rel}")
        problems += 1
    for rel in sorted(files_a & files_b):
        if rel.name.startswith(".results.journal"):
            continue
        x, y = _load(a / rel, a), _load(b / rel, b)
        if x == y:
            continue
        problems += 1
        print(f"differs: {rel}")
        if isinstance(x, str) and isinstance(y, str):
            lines = list(difflib.unified_diff(x.splitlines(), y.splitlines(), "A", "B", lineterm="", n=1))
            print("\n".join(lines[:40]) + ("\n  …" if len(lines) > 40 else ""))
    print(f"{len(files_a & files_b)} files compared, {problems} difference(s)")
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="OUT to snapshot into, or A B with --diff")
    parser.add_argument("--diff", action="store_true", help="compare two snapshot folders")
    args = parser.parse_args()
    if args.diff:
        if len(args.folders) != 2:
            parser.error("--diff takes two folders")
        sys.exit(diff(*args.folders))
    if len(args.folders) != 1:
        parser.error("give one folder to snapshot into")
    snapshot(args.folders[0])


if __name__ == "__main__":
    main()
