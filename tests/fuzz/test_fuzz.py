"""The fuzz suite: several hundred malformed inputs and option values (:mod:`cases`), each run through
the ``qscore`` command line in a worker process (:mod:`worker`) bounded in time and memory.

Every case must end one of two ways: exit 0 with sane numbers (every Q in [-1, 1], a finite mean), or
exit 2 with one ``Error:`` line (warnings aside), no traceback and no file or folder left behind.  A
crash, a hang, an internal error (exit 1) or anything else is a finding, listed with the case's name.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cases import build_cases

#: seconds one case may run (the largest valid one takes well under 2 s)
CASE_SECONDS = 60
#: resident memory (MB) the worker may reach; its address space is capped higher (worker.py)
RSS_MB = 2500


def _run_worker(folder: Path, cases_file: Path, start: int, results: dict) -> int | None:
    """Run the worker from case ``start``; collect its lines into ``results``; return the case at which it
    crashed or hung (None when it finished every case)."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("worker.py")), str(folder),
                             str(cases_file), str(start)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    started = {"k": start}

    def read(stream, tag):
        for line in stream:
            lines.put((tag, line))
        lines.put((tag, None))

    for stream, tag in ((proc.stdout, "out"), (proc.stderr, "err")):
        threading.Thread(target=read, args=(stream, tag), daemon=True).start()
    closed, last = 0, time.monotonic()
    while closed < 2:
        try:
            tag, line = lines.get(timeout=1.0)
        except queue.Empty:
            if time.monotonic() - last > CASE_SECONDS:
                proc.kill()
                proc.wait()
                results[started["k"]] = {"k": started["k"], "finding": f"hang: no result within {CASE_SECONDS} s"}
                return started["k"]
            continue
        if line is None:
            closed += 1
            continue
        last = time.monotonic()
        if tag == "err" and line.strip().isdigit():
            started["k"] = int(line)
        elif tag == "out" and line.startswith("{"):
            row = json.loads(line)
            results[row["k"]] = row
    proc.wait()
    if proc.returncode != 0 and started["k"] not in results:
        results[started["k"]] = {"k": started["k"], "finding": f"crash: the worker died with {proc.returncode}"}
        return started["k"]
    return None


def _finding(case, row) -> str | None:
    """Why a case's outcome breaks the promise (None when it keeps it)."""
    if "finding" in row:
        return row["finding"]
    lines = [line for line in row["output"].splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("Warning: ")]
    if row["wall_s"] > CASE_SECONDS or row["rss_mb"] > RSS_MB:
        return f"over its bounds: {row['wall_s']} s, {row['rss_mb']} MB"
    if "Traceback" in row["output"] or row["exception"]:
        return f"exception: {row['exception']}"
    if row["exit"] == 0:
        return f"insane numbers: {row['insane']}" if row["insane"] else None
    if row["exit"] != 2:
        return f"exit {row['exit']}: {row['output'][-300:]!r}"
    if len(errors) != 1 or not errors[0].startswith("Error: "):
        return f"not one Error line: {row['output'][-300:]!r}"
    if row["left"] or (row["out_exists"] and case.args[0] != "cc"):
        return f"left files behind: {row['left']}"
    return None


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    cases = build_cases(folder)
    cases_file = folder / "cases.json"
    cases_file.write_text(json.dumps([{"name": c.name, "args": c.args} for c in cases]))
    results: dict = {}
    start = 0
    while start < len(cases):
        stopped = _run_worker(folder, cases_file, start, results)
        if stopped is None:
            break
        start = stopped + 1
    return cases, results


def test_every_generated_case_ends_in_sane_numbers_or_one_clear_refusal(fuzz_results):
    cases, results = fuzz_results
    assert len(cases) > 300 and set(results) == set(range(len(cases))), (len(cases), len(results))
    findings = {f"{k} {cases[k].name}: {' '.join(cases[k].args)}": f for k in sorted(results)
                if (f := _finding(cases[k], results[k])) is not None}
    exits = [results[k].get("exit") for k in results]
    print(f"\nfuzz: {len(cases)} cases, {exits.count(0)} exit 0, {exits.count(2)} exit 2, {len(findings)} findings; "
          f"slowest {max(r.get('wall_s', 0) for r in results.values()):.2f} s, "
          f"worker RSS at most {max(r.get('rss_mb', 0) for r in results.values()):.0f} MB")
    assert not findings, "\n".join(f"{k}\n    {v}" for k, v in findings.items())


def test_the_valid_inputs_score_and_the_damage_is_refused_or_read(fuzz_results):
    """The suite is not vacuous: the valid inputs score, and most damaged ones are refused."""
    cases, results = fuzz_results
    by_name = {c.name: results[k] for k, c in enumerate(cases)}
    assert by_name["valid pdb"]["exit"] == 0 and by_name["valid cif"]["exit"] == 0
    assert by_name["map cut at byte 1023"]["exit"] == 2 and by_name["cif row short by 2 then long by 2"]["exit"] == 2
    assert by_name["pdb UTF-8 BOM"]["exit"] == 0 and by_name["pdb CR line ends"]["exit"] == 0
    assert sum(r.get("exit") == 2 for r in results.values()) > len(cases) // 3
