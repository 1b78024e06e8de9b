"""qscore batch: manifests, fault isolation on a real dask.distributed cluster, resume, Ctrl-C, bad input."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ACTIN, APO, CEC
from qscore.batch import (
    JOURNAL,
    RESULT_COLUMNS,
    BatchSettings,
    ResultsStore,
    check_out_dir,
    read_manifest,
)
from qscore.cli import main
from qscore.errors import ParameterError

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

#: the worker preload that makes the entries 'killed', 'hang' and 'boom' fail (tests/batch/faults.py)
FAULTS = Path(__file__).with_name("faults.py")

#: synthetic entries (build_demo): resolutions, Å — distinct, so 'qscore archive stats' can fit them
DEMO_RESOLUTIONS = (2.0, 2.5, 3.0, 3.5, 4.0, 4.5)
#: per-entry timeout of the cluster test, s: far above any entry here (< 3 s), far below the hang (1 h)
TIMEOUT = 6
#: keys of a summary that differ between 'qscore score' and a batch entry by nature
VOLATILE = ("elapsed_s", "outputs", "command")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Synthetic entries (relative paths in the manifest), a corrupt map and a small archive."""
    from conftest import build_demo

    folder = tmp_path_factory.mktemp("inputs")
    for d in DEMO_RESOLUTIONS:
        build_demo(folder / f"demo{d}", resolution=d, seed=int(d * 10))
    data = (folder / "demo2.0" / "demo_map.mrc").read_bytes()
    (folder / "corrupt.mrc").write_bytes(data[:1500])  # header intact, data cut short
    rng = np.random.default_rng(3)
    d = rng.uniform(1.5, 8.0, 400)
    q = (1.3 - 0.15 * d + rng.normal(0, 0.05, 400)).clip(-1, 1)  # Q is a correlation
    pd.DataFrame({"resolution": d.round(2), "qscore": q.round(3)}).to_csv(folder / "archive.csv", index=False)
    return folder


def demo_rows(prefix="demo"):
    return [(f"{prefix}{d}".replace(".", "_"), f"demo{d}/demo_map.mrc", f"demo{d}/demo_helix.pdb", d)
            for d in DEMO_RESOLUTIONS]


def real_rows():
    """Entries from ../shared/data (left out where the data are absent)."""
    rows = []
    if CEC.exists():
        rows += [("cec_A", CEC / "390_emd_30342_A_z4.mrc", CEC / "390_7cec_A.cif", 3.9),
                 ("cec_A100", CEC / "390_emd_30342_A_z4.mrc", CEC / "390_7cec_A100.cif", 3.9)]
    if APO.exists():
        rows.append(("apoferritin", APO / "emd20026_prot.mrc", APO / "3ajo_fitted_refined.pdb", 1.75))
    if ACTIN.exists():
        rows.append(("actin", ACTIN / "emd_5168_monomer.mrc", ACTIN / "1J6Z.pdb", 6.6))
    return rows


def write_manifest(path, rows, header="id,map,model,resolution", sep=","):
    lines = [header.replace(",", sep)] + [sep.join(str(v) for v in r) for r in rows]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


@pytest.fixture(scope="module")
def cluster():
    """A running dask.distributed cluster of 2 single-threaded worker processes."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50, preload=[str(FAULTS)]) as c:
        yield c


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_results(out: Path) -> pd.DataFrame:
    """The Parquet table, after checking that the CSV holds the same rows."""
    table = pd.read_parquet(out / "results.parquet")
    csv = pd.read_csv(out / "results.csv", dtype={"id": str})
    assert list(table.columns) == list(RESULT_COLUMNS) == list(csv.columns)
    assert list(table["id"]) == list(csv["id"]) and list(table["status"]) == list(csv["status"])
    assert np.allclose(table["qscore"].astype(float), csv["qscore"], rtol=1e-5, equal_nan=True)
    assert not (out / JOURNAL).exists() or (out / JOURNAL).stat().st_size == 0
    return table


def assert_close(a, b, where):
    """Equal JSON values, floats within 1e-12: the map's SD is a BLAS dot product, whose rounding depends on
    BLAS's thread count, and dask starts its workers with OMP_NUM_THREADS=1."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


def assert_same_as_score(entry_dir: Path, model, map_path, resolution, tmp, extra=()):
    """The files of a batch entry equal those 'qscore score' writes for the same model, map and options."""
    ref = tmp / f"ref_{entry_dir.name}"
    res = invoke("score", model, map_path, "--resolution", resolution, "--threads", 1, "--out", ref, "--quiet",
                 *extra)
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in ref.iterdir())
    assert names == sorted(p.name for p in entry_dir.iterdir())
    for name in names:
        if name.endswith(".json"):
            a, b = (json.loads((f / name).read_text()) for f in (entry_dir, ref))
            for key in VOLATILE:
                a.pop(key), b.pop(key)
            assert_close(a, b, name)
        else:
            assert (entry_dir / name).read_bytes() == (ref / name).read_bytes(), name


def test_batch_on_a_cluster_isolates_faults_and_matches_score(inputs, cluster, tmp_path):
    ok_rows = demo_rows() + real_rows()
    bad_rows = [("corrupt", "corrupt.mrc", "demo2.0/demo_helix.pdb", 2.0),
                ("missing", "no_such_map.mrc", "demo2.0/demo_helix.pdb", 2.0),
                ("killed", "demo2.5/demo_map.mrc", "demo2.5/demo_helix.pdb", 2.5),
                ("hang", "demo3.0/demo_map.mrc", "demo3.0/demo_helix.pdb", 3.0),
                ("boom", "demo3.5/demo_map.mrc", "demo3.5/demo_helix.pdb", 3.5)]
    manifest = write_manifest(inputs / "cluster.tsv", ok_rows + bad_rows, sep="\t")
    out = tmp_path / "out"
    res = invoke("batch", manifest, "--out", out, "--scheduler", cluster.scheduler_address, "--timeout", TIMEOUT,
                 "--archive", inputs / "archive.csv", "--min-entries", 2)
    assert res.exit_code == 1, res.output  # 1: finished, with failed entries
    assert f"{len(ok_rows)} ok, {len(bad_rows)} failed" in res.output

    table = read_results(out).set_index("id")
    assert list(table.index) == [r[0] for r in ok_rows + bad_rows]  # the manifest's order
    assert set(table.index[table["status"] == "failed"]) == {r[0] for r in bad_rows}
    errors = table["error"]
    assert "corrupt.mrc" in errors["corrupt"] and "no_such_map.mrc" in errors["missing"]
    assert "does not exist" in errors["missing"]
    assert "worker process died" in errors["killed"]
    assert f"timed out after {TIMEOUT} s" in errors["hang"]
    assert errors["boom"] == "RuntimeError: test fault injected by the tests' worker preload"
    for ident, *_ in bad_rows:
        assert not (out / ident).exists()  # no partial files of a failed entry

    summaries = {}
    for ident, map_path, model, d in ok_rows:
        map_path, model = (Path(p) if Path(p).is_absolute() else inputs / p for p in (map_path, model))
        assert_same_as_score(out / ident, model, map_path, d, tmp_path, ("--archive", inputs / "archive.csv",
                                                                           "--min-entries", 2))
        summaries[ident] = json.loads(next((out / ident).glob("*_summary.json")).read_text())
    for ident, s in summaries.items():
        row = table.loc[ident]
        a = s["analysis"]
        assert row["status"] == "ok" and pd.isna(row["error"])
        assert row["qscore"] == s["mean_q"] and row["scored_atoms"] == s["counts"]["scored"]
        assert row["q_flag"] == a["model"][0]["Q_flag"] and row["q_expected"] == a["expected"]["Q_mean"]
        assert_close(row["q_resolution"], a["q_resolution"]["value"] or math.nan, "q_resolution")
        assert row["q_relative_all"] == a["relative"]["Q_relative_all"]
        assert row["qscore_version"] == s["versions"]["qscore"] and json.loads(row["versions"]) == s["versions"]
        cc = s["correlation"]  # the map-model correlation, as 'qscore score' adds it with a resolution
        for kind in ("molmap", "emodel"):
            assert_close(row[f"cc_{kind}"], cc[kind].get("cc", math.nan), "cc")
            assert_close(row[f"cc_mean_{kind}"], cc[kind].get("cc_mean", math.nan), "cc_mean")
        assert row["elapsed_s"] > 0 and row["threads"] == 1

    # percentiles against the batch itself
    from qscore.analysis.relative import relative_q_many

    ok = table[table["status"] == "ok"]
    rel = relative_q_many(ok["qscore"], ok["resolution"], ok["resolution"], ok["qscore"], window=0.5)
    assert np.allclose(ok["batch_relative_all"], rel["Q_relative_all"])
    expect = np.where(rel["n_window"] >= 2, rel["Q_relative_resolution"], np.nan)
    assert np.allclose(ok["batch_relative_resolution"].astype(float), expect, equal_nan=True)

    # the table goes straight into 'qscore archive stats' (failed rows are dropped and counted)
    stats = invoke("archive", "stats", out / "results.csv", "--out", tmp_path / "stats", "--no-figures",
                   "--degree", 1, "--repeats", 3, "--test-fraction", 0.5, "--quiet")
    assert stats.exit_code == 0, stats.output
    data = json.loads((tmp_path / "stats" / "archive_stats.json").read_text())["input"]
    assert (data["resolution_column"], data["q_column"]) == ("resolution", "qscore")
    assert data["entries"] == len(ok_rows) and data["dropped_missing"] == len(bad_rows)


def test_limit_then_resume_recomputes_nothing(inputs, cluster, tmp_path):
    rows = demo_rows()[:4] + [("late", "late/demo_map.mrc", "late/demo_helix.pdb", 2.0)]
    manifest = write_manifest(inputs / "resume.csv", rows)
    out = tmp_path / "out"
    # the default execution: a new LocalCluster of 2 processes
    first = invoke("batch", manifest, "--out", out, "--workers", 2, "--limit", 3, "--quiet")
    assert first.exit_code == 0, first.output
    t1 = read_results(out)
    assert list(t1["id"]) == [r[0] for r in rows[:3]] and set(t1["status"]) == {"ok"}
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("demo*/*")}

    second = invoke("batch", manifest, "--out", out, "--scheduler", cluster.scheduler_address)
    assert second.exit_code == 1, second.output  # 'late' has no files yet
    assert "3 already finished (skipped), 2 scored now: 1 ok, 1 failed" in second.output
    t2 = read_results(out).set_index("id")
    assert list(t2.index) == [r[0] for r in rows]
    assert t2.loc["late", "status"] == "failed" and "does not exist" in t2.loc["late", "error"]
    finished = t1.set_index("id")[["finished_at", "elapsed_s", "worker", "qscore", "fingerprint"]]
    pd.testing.assert_frame_equal(t2.loc[finished.index, finished.columns], finished)  # nothing recomputed
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.exists())

    # a failed entry is kept until retried; once its files exist its fingerprint changes and it is scored
    third = invoke("batch", manifest, "--out", out, "--scheduler", cluster.scheduler_address, "--retry-failed")
    assert "4 already finished (skipped), 1 scored now: 0 ok, 1 failed" in third.output
    assert read_results(out).set_index("id").loc["late", "finished_at"] >= t2.loc["late", "finished_at"]
    (inputs / "late").mkdir(exist_ok=True)
    for name in ("demo_map.mrc", "demo_helix.pdb"):
        (inputs / "late" / name).write_bytes((inputs / "demo2.0" / name).read_bytes())
    fourth = invoke("batch", manifest, "--out", out, "--scheduler", cluster.scheduler_address)
    assert fourth.exit_code == 0, fourth.output
    assert "4 already finished (skipped), 1 scored now: 1 ok, 0 failed" in fourth.output
    t4 = read_results(out)
    assert set(t4["status"]) == {"ok"} and len(t4) == len(rows)
    same = t4.set_index("id").loc[["late", "demo2_0"], "qscore"]
    assert same.iloc[0] == same.iloc[1]  # the same files give the same Q

    # a changed parameter changes every fingerprint: all entries are scored again
    fifth = invoke("batch", manifest, "--out", out, "--scheduler", cluster.scheduler_address, "--sigma", 0.6,
                   "--no-cc", "--limit", 1)
    assert "0 already finished (skipped), 1 scored now" in fifth.output
    t5 = read_results(out).set_index("id")
    assert t5.loc["demo2_0", "sigma"] == 0.6 and pd.isna(t5.loc["demo2_0", "cc_molmap"])
    assert t5.loc["demo2_5", "sigma"] == 0.4 and t5.loc["demo2_5", "cc_molmap"] > 0


#: the CLI in a subprocess that Ctrl-C reaches even when the tests run as a background job (a shell without job
#: control starts those with SIGINT ignored, which their children inherit)
DRIVER = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); from qscore.cli import main; main()"


def test_ctrl_c_stops_cleanly_and_the_rerun_finishes(inputs, tmp_path):
    rows = demo_rows() + [("hang", "demo2.0/demo_map.mrc", "demo2.0/demo_helix.pdb", 2.0)]
    manifest = write_manifest(inputs / "interrupt.csv", rows)
    out = tmp_path / "out"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__PRELOAD": str(FAULTS)}  # the entry 'hang' hangs
    cmd = [sys.executable, "-c", DRIVER, "batch", str(manifest), "--out", str(out),
           "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:  # wait until every entry but the hang is done
        done = [p for p in out.glob("demo*/*_summary.json")]
        if len(done) == len(rows) - 1 and (out / "results.csv").exists() and len(
                pd.read_csv(out / "results.csv")) == len(rows) - 1:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted" in err and "Run the same command again" in err
    table = read_results(out)
    assert list(table["id"]) == [r[0] for r in rows[:-1]] and set(table["status"]) == {"ok"}
    assert not (out / "hang").exists()

    res = invoke("batch", manifest, "--out", out, "--workers", 1)
    assert res.exit_code == 0, res.output
    assert f"{len(rows) - 1} already finished (skipped), 1 scored now: 1 ok, 0 failed" in res.output
    final = read_results(out)
    assert list(final["id"]) == [r[0] for r in rows] and set(final["status"]) == {"ok"}
    kept = ["finished_at", "fingerprint"]
    pd.testing.assert_frame_equal(final.iloc[:-1][kept], table[kept])


def _allowed_failures(client) -> int:
    return client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_a_driver_stopped_on_an_external_cluster_leaves_no_files_and_the_scheduler_as_it_was(
        inputs, cluster, tmp_path, signum):
    """The workers of an external cluster outlive the driver: the entry running when it stops must not write
    its folder afterwards, and the scheduler's allowed_failures must be what it was, even after SIGKILL."""
    from faults import SLOW_SECONDS

    manifest = write_manifest(inputs / f"slow_{signum}.csv", [("slow", "demo2.0/demo_map.mrc",
                                                               "demo2.0/demo_helix.pdb", 2.0)])
    out = tmp_path / "out"
    with distributed.Client(cluster.scheduler_address) as client:
        before = _allowed_failures(client)
        cmd = [sys.executable, "-c", DRIVER, "batch", str(manifest), "--out",
               str(out), "--scheduler", cluster.scheduler_address, "-q"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

        def running():
            return [k for keys in client.processing().values() for k in keys if "qscore-batch-slow" in str(k)]

        deadline = time.monotonic() + 60
        while not running() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert running(), proc.communicate()
        assert _allowed_failures(client) == 0  # while the driver runs
        t_stop = time.monotonic()
        os.killpg(proc.pid, signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == (130 if signum == signal.SIGINT else -signal.SIGKILL), err
        while running() and time.monotonic() < t_stop + 60:  # the worker goes on with the entry, then stops
            time.sleep(0.2)
        time.sleep(max(0.0, t_stop + SLOW_SECONDS + 1 - time.monotonic()))
        assert _allowed_failures(client) == before
    assert not (out / "slow").exists()
    if (out / "results.csv").exists():
        assert "slow" not in set(pd.read_csv(out / "results.csv", dtype={"id": str})["id"])


# ---------------------------------------------------------------------------------------------
# Manifests, folders and bad input (no cluster is started)
# ---------------------------------------------------------------------------------------------

def test_manifest_paths_options_and_case(tmp_path):
    (tmp_path / "sub").mkdir()
    manifest = write_manifest(tmp_path / "sub" / "m.txt", [("a", "maps/a.mrc", "/abs/a.cif", 3.1, "", "yes", "7"),
                                                             ("b", "b.mrc", "~/b.pdb", "2", "0.6", "", "")],
                              header="ID,Map,MODEL,Resolution,sigma,emdb_compat,num_points", sep="\t")
    a, b = read_manifest(manifest, BatchSettings(sigma=0.4, num_points=9))
    assert a.map == str(tmp_path / "sub" / "maps" / "a.mrc") and a.model == "/abs/a.cif"
    assert b.model == os.path.expanduser("~/b.pdb")
    assert (a.sigma, a.emdb_compat, a.num_points, a.resolution) == (0.4, True, 7, 3.1)
    assert (b.sigma, b.emdb_compat, b.num_points, b.resolution) == (0.6, False, 9, 2.0)


@pytest.mark.parametrize("header, rows, message", [
    ("id,map,resolution", [("a", "a.mrc", 3)], "lacks the column model"),
    ("id,model", [("a", "a.cif")], "lacks the columns map, resolution"),
    ("id,map,model,resolution,sigmma", [("a", "a.mrc", "a.cif", 3, 0.4)], "'sigmma' is not known"),
    ("id,map,model,resolution", [("a", "a.mrc", "a.cif", 3), ("a", "b.mrc", "b.cif", 3)], "line 3 (id 'a'): duplicate"),
    ("id,map,model,resolution", [("A1", "a.mrc", "a.cif", 3), ("a1", "b.mrc", "b.cif", 3)], "differing only in case"),
    ("id,map,model,resolution", [("x/y", "a.mrc", "a.cif", 3)], "the id must be"),
    ("id,map,model,resolution", [("a", "a.mrc", "a.cif", "three")], "resolution 'three' is not a number"),
    ("id,map,model,resolution", [("a", "a.mrc", "a.cif", "")], "the resolution is empty"),
    ("id,map,model,resolution", [("a", "a.mrc", "a.cif", 80)], "outside (0, 50] Å"),
    ("id,map,model,resolution,sigma", [("a", "a.mrc", "a.cif", 3, -1)], "sigma=-1.0 Å is outside"),
    ("id,map,model,resolution,sigma", [("a", "a.mrc", "a.cif", 3, 0.5)], "No expected-Q curve exists for sigma=0.5"),
    ("id,map,model,resolution,emdb_compat", [("a", "a.mrc", "a.cif", 3, "maybe")], "not a yes/no value"),
    ("id,map,model,resolution", [("a", "a.mrc", "a.cif")], "has 3 fields but the header has 4"),
    ("id,map,model,resolution", [], "has a header but no entries"),
])
def test_bad_manifest_is_refused_with_one_message_and_nothing_written(tmp_path, header, rows, message):
    manifest = write_manifest(tmp_path / "m.csv", rows, header=header)
    out = tmp_path / "out"
    res = invoke("batch", manifest, "--out", out)
    assert res.exit_code == 2, res.output
    assert message in res.output and res.output.startswith("Error: ") and res.output.count("\n") == 1
    assert not out.exists()


def test_bad_options_and_folders_are_refused_before_any_work(inputs, tmp_path):
    manifest = write_manifest(inputs / "small.csv", demo_rows()[:1])
    cases = [(["--workers", 2, "--scheduler", "tcp://127.0.0.1:1"], "Give one of them"),
             (["--workers", 0], "--workers 0 must be at least 1"),
             (["--threads-per-worker", 0], "must be at least 1"),
             (["--timeout", 0], "--timeout 0.0 s must be > 0"),
             (["--limit", -1], "--limit -1 must be ≥ 0"),
             (["--archive", tmp_path / "none.csv"], "does not exist"),
             (["--window", -1], "--window -1.0 Å must be ≥ 0")]
    for extra, message in cases:
        res = invoke("batch", manifest, "--out", tmp_path / "out", *extra)
        assert res.exit_code == 2 and message in res.output, (extra, res.output)
    assert invoke("batch", tmp_path / "none.csv", "--out", tmp_path / "out").exit_code == 2
    assert not (tmp_path / "out").exists()

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    res = invoke("batch", manifest, "--out", other)
    assert res.exit_code == 2 and "holds no qscore batch" in res.output and "--force" in res.output
    (other / "notes.txt").unlink()
    (other / "batch.json").write_text(json.dumps({"manifest": "/elsewhere/m.csv"}))
    res = invoke("batch", manifest, "--out", other)
    assert res.exit_code == 2 and "holds the batch of '/elsewhere/m.csv'" in res.output
    assert check_out_dir(other, manifest, force=True) is False  # --force: started afresh
    (other / "batch.json").write_text(json.dumps({"manifest": str(manifest.resolve())}))
    assert check_out_dir(other, manifest, force=False) is True  # the same manifest: resumed


def test_journal_keeps_finished_entries_a_snapshot_missed(tmp_path):
    """After a crash between a journal append and the next snapshot, nothing finished is lost."""
    store = ResultsStore(tmp_path, ["a", "b", "c"], window=0.5, min_entries=1)
    row = {"id": "a", "status": "ok", "resolution": 3.0, "qscore": 0.5, "fingerprint": "f1"}
    store.record(row)  # the first record writes a snapshot
    with open(tmp_path / JOURNAL, "a") as fh:  # entries journalled, snapshot not yet written; a torn last line
        fh.write(json.dumps({**row, "id": "b", "qscore": 0.6}) + "\n" + '{"id": "c", "sta')
    again = ResultsStore(tmp_path, ["a", "b", "c"], window=0.5, min_entries=1)
    again.load()
    assert set(again.rows) == {"a", "b"} and again.rows["b"]["qscore"] == 0.6
    again.flush()
    table = read_results(tmp_path)
    assert list(table["id"]) == ["a", "b"] and list(table["batch_relative_all"]) == [0.0, 50.0]


def test_run_batch_takes_a_client_and_leaves_it_open(inputs, cluster, tmp_path):
    """run_batch(client=...) runs on the caller's cluster (as stumpy.stumped(client, ...)) and does not close it."""
    from qscore.batch import run_batch

    manifest = write_manifest(inputs / "client.csv", demo_rows()[:2])
    with distributed.Client(cluster.scheduler_address) as client:
        report = run_batch(manifest, tmp_path / "out", BatchSettings(correlation=False), client=client)
        assert report.scored_ok == 2 and report.workers == 2
        assert client.status == "running" and client.submit(sum, [1, 2]).result() == 3  # still usable
        with pytest.raises(ParameterError, match="client= runs the batch on a cluster already connected"):
            run_batch(manifest, tmp_path / "out", client=client, workers=2)
    table = read_results(tmp_path / "out")
    assert list(table["status"]) == ["ok", "ok"] and table["cc_molmap"].isna().all()


def test_a_duplicate_id_does_not_hide_the_rows_other_problems(tmp_path):
    manifest = write_manifest(tmp_path / "m.csv", [("a", "a.mrc", "a.cif", 3), ("a", "b.mrc", "b.cif", 80)])
    res = invoke("batch", manifest, "--out", tmp_path / "out")
    assert res.exit_code == 2 and "duplicate id (also on line 2)" in res.output and "outside (0, 50] Å" in res.output
    assert "(e.g. 3.2).." not in res.output


def test_batch_report_writes_each_report_and_an_index_whose_links_resolve(inputs, cluster, tmp_path, browser):
    from urllib.parse import unquote

    from conftest import open_page, page_messages
    from qscore.batch import run_batch

    rows = demo_rows()[:2] + [("broken", "corrupt.mrc", "demo2.0/demo_helix.pdb", 2.0)]
    manifest = write_manifest(inputs / "reports.csv", rows)
    settings = BatchSettings(correlation=False, report=True, report_viewer=False, archive=str(inputs / "archive.csv"))
    with distributed.Client(cluster.scheduler_address) as client:
        report = run_batch(manifest, tmp_path / "out", settings, client=client)
    index = report.paths()["index_html"]
    table = read_results(tmp_path / "out").set_index("id")
    assert table.loc["broken", "status"] == "failed" and pd.isna(table.loc["broken", "report"])
    for ident in ("demo2_0", "demo2_5"):
        assert (tmp_path / "out" / table.loc[ident, "report"]).is_file()
    assert open_page(browser, index) == []
    rows_shown = browser.find_elements("css selector", "#table-entries tbody tr")
    assert len(rows_shown) == 3
    hrefs = [a.get_attribute("href") for a in browser.find_elements("css selector", "#table-entries tbody a")]
    assert len(hrefs) == 2 and all(Path(unquote(h.removeprefix("file://"))).is_file() for h in hrefs)
    assert "Map file" in browser.find_element("id", "table-entries").text  # the failed entry's error
    assert browser.execute_script("return document.querySelector('#scatter img').naturalWidth") > 100
    assert page_messages(browser) == []
