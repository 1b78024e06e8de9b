"""Batch scoring: every (map, model) entry of a manifest, on local processes or a Dask cluster.

Each entry is scored exactly as ``qscore score`` scores it (:func:`qscore.pipeline.score_and_write`,
run by :func:`qscore.batch.entry.score_entry` on a worker), its files written under ``OUT/<id>/``,
and one row per entry goes to ``OUT/results.parquet`` and ``OUT/results.csv``
(:class:`qscore.batch.store.ResultsStore`).

Execution always goes through ``dask.distributed``: a client the caller hands in (``client=``), a
new ``LocalCluster(n_workers=N, threads_per_worker=1, processes=True)`` on this machine, or the
scheduler of a running cluster (:mod:`qscore.batch.cluster`).  Only paths travel to the workers,
which read their own files and write the entry's outputs; the driver (the process that runs
:func:`run_batch`) keeps the results table.  At most one entry runs per worker thread at a time,
and the scheduler's ``allowed_failures`` is set to 0 while the batch's driver is connected (put back
when it leaves, even killed: :func:`no_retries_while_connected`), so a worker killed by the
operating system (out of memory, a crash) fails exactly the entry it was running, at once.  An entry
the driver cancels (Ctrl-C, a timeout) never leaves files: the worker removes what it wrote once it
sees the driver's cancel marker or the task released (:func:`qscore.batch.entry.score_entry`).
Rerunning the command skips every entry already finished with the same inputs (file sizes and
modification times) and parameters (:func:`qscore.batch.manifest.fingerprint`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import OutputError, ParameterError, QScoreError
from ..io.files import write_json
from ..io.paths import output_folder
from ..pipeline.scoring import analysis_settings
from ..provenance import utc_now
from .cluster import open_cluster, stop_runaway, task_slots
from .entry import CANCELLED, cancel_marker, describe_error, failed_row, score_entry
from .manifest import BatchSettings, fingerprint, read_manifest
from .store import RESULTS_CSV, RESULTS_PARQUET, ResultsStore

__all__ = ["STATE_FILE", "BatchProgress", "BatchReport", "BatchInterrupted", "check_out_dir", "run_batch"]

log = logging.getLogger("qscore.batch")

STATE_FILE = "batch.json"
STATE_FORMAT = "qscore-batch/1"
#: seconds between checks of the running entries (timeouts, new workers)
POLL_SECONDS = 0.5
#: seconds a cluster may have no worker at all before the batch stops
NO_WORKER_SECONDS = 60.0


@dataclass
class BatchProgress:
    """Where a running batch stands (what a progress bar shows)."""

    total: int  # entries to score in this run
    ok: int = 0
    failed: int = 0
    scoring_s: float = 0.0  # from the first submission to the last result

    @property
    def done(self) -> int:
        return self.ok + self.failed

    @property
    def remaining(self) -> int:
        return self.total - self.done


@dataclass
class BatchReport:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    entries : int — entries in the manifest
    skipped : int — already finished with the same inputs and parameters (not scored again)
    scored_ok, scored_failed : int — entries scored in this run, by outcome
    not_run : int — entries left for a later run (``limit``, or an interruption)
    table : DataFrame — the results table as written
    elapsed_s : float — wall time of the run, s
    scoring_s : float — wall time from the first submission to the last result, s
    workers : int — workers of the cluster when the batch started
    failures : list of (id, error) — every failed entry of the table
    """

    out_dir: Path
    entries: int
    skipped: int
    scored_ok: int
    scored_failed: int
    not_run: int
    table: pd.DataFrame
    elapsed_s: float
    scoring_s: float
    workers: int
    interrupted: bool = False

    @property
    def failures(self) -> list:
        t = self.table[self.table["status"] == "failed"]
        return list(zip(t["id"], t["error"], strict=True))

    @property
    def entries_per_minute(self) -> float:
        n = self.scored_ok + self.scored_failed
        return 60.0 * n / self.scoring_s if self.scoring_s > 0 else float("nan")

    def paths(self) -> dict:
        """The batch's tables, and its index page when one was written."""
        out = {"results_parquet": self.out_dir / RESULTS_PARQUET, "results_csv": self.out_dir / RESULTS_CSV}
        if (self.out_dir / "index.html").is_file():
            out["index_html"] = self.out_dir / "index.html"
        return out


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the batch; ``report`` says what was finished (the tables hold all of it)."""

    def __init__(self, report: BatchReport):
        super().__init__("batch interrupted")
        self.report = report


def check_out_dir(out_dir, manifest_path, *, force: bool) -> bool:
    """Refuse a folder that belongs to another manifest's batch or holds other files (unless ``force``).

    Writes nothing.

    Parameters
    ----------
    out_dir : str or Path — the batch folder
    manifest_path : str or Path — the manifest the batch is for
    force : bool — take the folder anyway (its results are started afresh)

    Returns
    -------
    bool — True when the folder holds this manifest's batch (to resume)

    Raises
    ------
    OutputError — a file where the folder should be, or a folder of another batch or with other files
    """
    folder = Path(out_dir)
    manifest = str(Path(manifest_path).resolve())
    state = folder / STATE_FILE
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"Output '{folder}' is a file, not a folder; choose a folder with out_dir=.",
                          parameter="out_dir")
    if state.is_file():
        try:
            owner = json.loads(state.read_text(encoding="utf-8")).get("manifest")
        except (OSError, ValueError, AttributeError):
            owner = None
        if owner == manifest:
            return not force
        if not force:
            raise OutputError(f"Output folder '{folder}' holds the batch of "
                              f"{'another manifest' if owner is None else repr(owner)}, not of '{manifest}'; "
                              "choose another folder with out_dir=, or pass force=True to start this manifest's "
                              "batch there (its results table is replaced).", parameter=("out_dir", "force"))
        return False
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise OutputError(f"Output folder '{folder}' is not empty and holds no qscore batch (no {STATE_FILE}); "
                          "choose a new or empty folder with out_dir=, or pass force=True to use it anyway.",
                          parameter=("out_dir", "force"))
    return False


def _write_state(folder: Path, manifest_path, extra: dict) -> None:
    state = folder / STATE_FILE
    previous = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(state.read_text(encoding="utf-8"))
    if not isinstance(previous, dict) or previous.get("manifest") != str(Path(manifest_path).resolve()):
        previous = {"created": utc_now()}
    write_json(state, {**previous, "format": STATE_FORMAT, "manifest": str(Path(manifest_path).resolve()), **extra})


def _check_options(settings: BatchSettings, *, client, workers, scheduler, limit) -> int | None:
    """Refuse bad run options before anything is read or written; returns the local workers to start."""
    if settings.threads < 1:
        raise ParameterError(f"threads={settings.threads} must be at least 1 (kernel threads per task).",
                             parameter="threads")
    if settings.timeout is not None and not settings.timeout > 0:
        raise ParameterError(f"timeout={settings.timeout} s must be > 0 (seconds an entry may run).",
                             parameter="timeout")
    if limit is not None and limit < 0:
        raise ParameterError(f"limit={limit} must be ≥ 0.", parameter="limit")
    if client is not None and (scheduler or workers is not None):
        raise ParameterError("client= runs the batch on a cluster already connected; workers= and scheduler= "
                             "set one up. Give one of them.", parameter=("workers", "scheduler"))
    if scheduler and workers is not None:
        raise ParameterError("workers= sets up the local cluster; with scheduler= the cluster's own workers are "
                             "used. Give one of them.", parameter=("workers", "scheduler"))
    if workers is None and not scheduler and client is None:
        workers = max(1, (os.cpu_count() or 1) // settings.threads)
    if workers is not None and workers < 1:
        raise ParameterError(f"workers={workers} must be at least 1.", parameter="workers")
    return workers


def _still_to_do(entries, settings: BatchSettings, store: ResultsStore, folder: Path, retry_failed: bool) -> list:
    """(entry, fingerprint) of the entries not finished with the same inputs (failed ones: unless retried)."""
    todo = []
    for e in entries:
        fp = fingerprint(e, settings)
        prev = store.rows.get(e.id)
        if prev is not None and prev.get("fingerprint") == fp and (
                (prev.get("status") == "ok" and (folder / e.id).is_dir())
                or (prev.get("status") == "failed" and not retry_failed)):
            continue
        todo.append((e, fp))
    return todo


def run_batch(manifest, out_dir, settings: BatchSettings | None = None, *, client=None, workers: int | None = None,
              scheduler: str | None = None, memory_limit="auto", retry_failed: bool = False, force: bool = False,
              limit: int | None = None, progress: Callable[[BatchProgress], None] | None = None) -> BatchReport:
    """Score every entry of ``manifest`` into ``out_dir`` (see the package docstring).

    Parameters
    ----------
    manifest : str or Path — CSV/TSV of entries (see :func:`qscore.batch.manifest.read_manifest`)
    out_dir : str or Path — batch folder: ``<id>/`` per entry, ``results.parquet``, ``results.csv``
    settings : BatchSettings — options shared by the entries
    client : distributed.Client, optional — run on this client's cluster, which stays open afterwards
        (as ``stumpy.stumped(client, …)`` does); otherwise a cluster is opened and closed here
    workers : int, optional — processes of a new local cluster (default: cores // threads)
    scheduler : str, optional — address of a running dask.distributed scheduler to connect to
    memory_limit : str or float — memory per local worker process ('auto': the machine's shared out; '4GB')
    retry_failed : bool — score again the entries that failed before (with unchanged inputs)
    force : bool — use a folder of another manifest or with other files; start its results afresh
    limit : int, optional — score at most this many of the entries still to do
    progress : callable(BatchProgress), optional — called as entries finish

    Returns
    -------
    BatchReport

    Raises
    ------
    InputFileError, ParameterError, OutputError — bad manifest, options or folder (nothing is written)
    BatchInterrupted — on Ctrl-C, after the running entries were cancelled and the tables written
    QScoreError — the cluster had no worker for :data:`NO_WORKER_SECONDS` (the tables are written too)
    """
    t_start = time.perf_counter()
    settings = settings or BatchSettings()
    workers = _check_options(settings, client=client, workers=workers, scheduler=scheduler, limit=limit)
    entries = read_manifest(manifest, settings)
    checked = analysis_settings(entries[0].sigma, entries[0].resolution, **settings.analysis_kwargs())  # archive once
    resume = check_out_dir(out_dir, manifest, force=force)

    with output_folder(out_dir, manifest) as folder:  # removed again if nothing was written into it
        store = ResultsStore(folder, [e.id for e in entries], window=settings.window, min_entries=settings.min_entries)
        if resume:
            store.load()
        todo = _still_to_do(entries, settings, store, folder, retry_failed)
        skipped = len(entries) - len(todo)
        if limit is not None:
            todo = todo[:limit]
        state = BatchProgress(total=len(todo))

        interrupted, n_workers = False, 0
        if not todo:  # a cluster only when there is work; a bad scheduler fails here, before anything is written
            cluster = contextlib.nullcontext()
        elif client is not None:
            cluster = contextlib.nullcontext(client)
        else:
            cluster = open_cluster(workers=workers, scheduler=scheduler, memory_limit=memory_limit)
        run_info = {"command": settings.command, "scheduler": scheduler, "workers": workers}
        with cluster as active:
            if not resume:
                store.discard()
            _write_state(folder, manifest, {"last_run": {**run_info, "started": utc_now()}})
            table = store.flush()  # the table as it stands: this manifest's finished entries, the journal folded in
            try:
                if active is not None:
                    n_workers = len(active.nthreads())
                    _score_on_cluster(active, todo, settings, folder, store, state, progress)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                if active is not None:  # entries were scored (without a cluster nothing changed since the flush above)
                    table = store.flush()
                _write_state(folder, manifest, {"last_run": {
                    **run_info, "finished": utc_now(), "interrupted": interrupted, "skipped": skipped, "ok": state.ok,
                    "failed": state.failed, "not_run": len(entries) - skipped - state.done,
                    "elapsed_s": round(time.perf_counter() - t_start, 3)}})

        if settings.report and not interrupted:
            _write_index(folder, table, checked, entries[0].sigma)
        report = BatchReport(out_dir=folder, entries=len(entries), skipped=skipped, scored_ok=state.ok,
                             scored_failed=state.failed, not_run=len(entries) - skipped - state.done,
                             table=table, elapsed_s=time.perf_counter() - t_start, scoring_s=state.scoring_s,
                             workers=n_workers, interrupted=interrupted)
        if interrupted:
            raise BatchInterrupted(report)
        return report


def _write_index(folder: Path, table, checked, sigma: float) -> None:
    """The batch's ``index.html``: every entry linked to its report, and the batch on the archive scatter."""
    from ..analysis.expected import curve_for
    from ..report.batch_html import write_batch_index

    reports = {i: r for i, r in zip(table["id"], table["report"], strict=True) if isinstance(r, str) and r}
    write_batch_index(table, folder, reports=reports, archive=checked.archive,
                      curve=curve_for(sigma, checked.curve, required=False))


def _mark_cancelled(out: str, key: str) -> None:
    """Leave the marker that tells the worker running ``key`` to remove its files when it finishes."""
    marker = cancel_marker(out, key)
    with contextlib.suppress(OSError):
        marker.parent.mkdir(exist_ok=True)
        marker.touch()


def _forget_old_markers(folder: Path, age_s: float = 86400.0) -> None:
    """Remove cancel markers of tasks cancelled over a day ago (their workers have long finished)."""
    now = time.time()
    for marker in (folder / CANCELLED).glob("*"):
        with contextlib.suppress(OSError):
            if now - marker.stat().st_mtime > age_s:
                marker.unlink()


def no_retries_while_connected(dask_scheduler, client_id: str) -> None:
    """On the scheduler: set ``allowed_failures`` to 0 while the client ``client_id`` is connected, so that
    a worker that dies fails the one entry it ran.  The value before the first qscore client came is
    kept on the scheduler and put back when the last one leaves — by :func:`retries_as_before`, or by a
    scheduler plugin when a client disconnects without a word (a driver killed with SIGKILL), so a dead
    driver cannot leave it at 0.  Runs on the scheduler (``client.run_on_scheduler``); the plugin class is
    defined inside, so that it travels by value and any scheduler can run it without qscore installed.
    """
    from distributed.diagnostics.plugin import SchedulerPlugin

    name = "qscore-allowed-failures"
    plugin = dask_scheduler.plugins.get(name)
    if plugin is None:
        class RestoreAllowedFailures(SchedulerPlugin):
            def __init__(self, original):
                self.original, self.clients = original, set()

            def release(self, scheduler, client):
                self.clients.discard(client)
                if not self.clients:
                    scheduler.allowed_failures = self.original
                    scheduler.remove_plugin(name=name)

            def remove_client(self, scheduler, client):
                if client in self.clients:
                    self.release(scheduler, client)

        plugin = RestoreAllowedFailures(dask_scheduler.allowed_failures)
        dask_scheduler.add_plugin(plugin, name=name)
    plugin.clients.add(client_id)
    dask_scheduler.allowed_failures = 0


def retries_as_before(dask_scheduler, client_id: str) -> None:
    """On the scheduler: the client ``client_id`` is done; see :func:`no_retries_while_connected`."""
    plugin = dask_scheduler.plugins.get("qscore-allowed-failures")
    if plugin is not None:
        plugin.release(dask_scheduler, client_id)


def _score_on_cluster(client, todo, settings: BatchSettings, folder: Path, store: ResultsStore,
                      state: BatchProgress, progress) -> None:
    """Run the ``todo`` entries on ``client``'s cluster, one per worker thread at a time, recording each row.

    On KeyboardInterrupt, or when the cluster has had no worker for :data:`NO_WORKER_SECONDS` (QScoreError),
    the running entries are cancelled (their folders removed) and the exception propagates.
    """
    from distributed import KilledWorker, wait

    def finish(entry, fp, row):
        row["fingerprint"] = fp
        store.record(row)
        if row["status"] == "ok":
            state.ok += 1
        else:
            state.failed += 1
            log.info("%s failed: %s", entry.id, row["error"])
        if progress is not None:
            progress(state)

    def submit(slots):
        while pending and len(running) < slots:
            entry, fp = pending.popleft()
            fut = client.submit(score_entry, entry, settings, out, pure=False, retries=0,
                                key=f"qscore-batch-{entry.id}-{os.urandom(4).hex()}")
            running[fut] = (entry, fp, time.monotonic())

    client.run_on_scheduler(no_retries_while_connected, client_id=client.id)
    out = str(folder.resolve())
    _forget_old_markers(folder)
    pending = deque(todo)
    running: dict = {}  # future -> (entry, fingerprint, submitted at)
    t0 = time.perf_counter()
    if progress is not None:
        progress(state)
    last_worker = time.monotonic()
    try:
        while pending or running:
            slots = task_slots(client)
            if slots:
                last_worker = time.monotonic()
            elif time.monotonic() - last_worker > NO_WORKER_SECONDS:
                raise QScoreError(f"The cluster has had no worker for {NO_WORKER_SECONDS:g} s (they died and none "
                                  "came back; a memory_limit= below what qscore needs, ~300 MB, does that); "
                                  f"{len(pending) + len(running)} entries were not run. The tables hold every "
                                  "finished entry; run the same command again to go on.", parameter="memory_limit")
            submit(max(slots, 1))
            try:
                done = wait(list(running), timeout=POLL_SECONDS, return_when="FIRST_COMPLETED").done
            except TimeoutError:  # nothing finished within the poll interval
                done = ()
            finished = []
            for fut in done:
                entry, fp, t_sub = running.pop(fut)
                try:
                    row = fut.result()
                except KilledWorker:
                    with contextlib.suppress(OSError):
                        shutil.rmtree(folder / entry.id)
                    row = failed_row(entry, settings, "the worker process died while scoring this entry "
                                     "(killed by the operating system, e.g. out of memory, or crashed)",
                                     time.monotonic() - t_sub)
                except Exception as exc:  # noqa: BLE001 - whatever the cluster reports fails this entry
                    row = failed_row(entry, settings, f"the cluster could not run this entry ({describe_error(exc)})",
                                     time.monotonic() - t_sub)
                finished.append((entry, fp, row))
            if finished:
                submit(max(slots, 1))  # the freed workers start their next entries before the bookkeeping
            for entry, fp, row in finished:
                finish(entry, fp, row)
            store.flush_if_due()
            if settings.timeout is None:
                continue
            now = time.monotonic()
            for fut, (entry, fp, t_sub) in list(running.items()):
                if now - t_sub > settings.timeout and not fut.done():
                    running.pop(fut)
                    _mark_cancelled(out, fut.key)
                    stop_runaway(client, fut.key)
                    fut.cancel()
                    with contextlib.suppress(OSError):
                        shutil.rmtree(folder / entry.id)
                    finish(entry, fp, failed_row(entry, settings, f"timed out after {settings.timeout:g} s "
                                                 "(the batch's timeout); its worker was restarted", now - t_sub))
    except (KeyboardInterrupt, QScoreError):
        for fut, (entry, _, _) in running.items():
            _mark_cancelled(out, fut.key)  # first: a worker that finishes later removes what it wrote
            fut.cancel()
            with contextlib.suppress(OSError):
                shutil.rmtree(folder / entry.id)
        raise
    finally:
        state.scoring_s = time.perf_counter() - t0
        with contextlib.suppress(Exception):
            client.run_on_scheduler(retries_as_before, client_id=client.id)
