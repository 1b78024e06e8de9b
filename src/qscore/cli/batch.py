"""``qscore batch``: score every entry of a manifest on local worker processes or a Dask cluster.

A thin command over :func:`qscore.batch.run_batch`; it shares its scoring and analysis options with
``qscore score`` (:mod:`qscore.cli.options`).
"""

from __future__ import annotations

import contextlib
import logging
import sys

import click

from ..text import plural
from .funnel import EXIT_INTERRUPTED, handle_errors
from .options import ANALYSIS_ALIASES, SIDE_CHAIN_RESOLUTION, analysis_options, score_options

__all__ = ["batch", "ProgressBar", "print_report"]

#: how many failed entries the summary lists
FAILURES_SHOWN = 10
EXIT_SOME_FAILED = 1


@click.command("batch")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--out", "-o", "out_dir", type=click.Path(), required=True,
              help="Batch folder: <id>/ with each entry's files, results.parquet and results.csv.")
@click.option("--workers", "-w", type=int, default=None,
              help="Local worker processes (default: the cores divided by --threads-per-worker).")
@click.option("--threads-per-worker", "-t", "threads", type=int, default=1,
              help="qscore's kernel threads in each task.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on the dask.distributed cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786) "
                   "instead of local workers; its workers must see the files and the --out folder.")
@click.option("--memory-limit", default="auto",
              help="Memory per local worker process, e.g. 4GB ('auto': the machine's memory shared out); a "
                   "worker that exceeds it is restarted and its entry fails.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Fail an entry still running after this many seconds (its worker is restarted).")
@click.option("--retry-failed", is_flag=True, help="Score again the entries that failed in an earlier run.")
@click.option("--force", is_flag=True,
              help="Use an --out folder of another manifest or with other files; its results table is "
                   "started afresh and every entry is scored again.")
@click.option("--limit", type=int, default=None, metavar="N",
              help="Score at most N of the entries still to do, then stop (run again to go on).")
@score_options(exclude=("resolution", "threads"))
@analysis_options
@SIDE_CHAIN_RESOLUTION
@click.option("--no-cc", is_flag=True,
              help="Leave the map-model correlation (CC and CC-mean, as 'qscore score' adds) out; it is slow for "
                   "huge maps.")
@click.option("--report", "write_reports", is_flag=True,
              help="Also write each entry's HTML report (as 'qscore report') and OUT/index.html: one sortable row per "
                   "entry linked to its report, and the batch's entries on the archive scatter.")
@click.option("--no-viewer", "no_viewer", is_flag=True, help="With --report: leave the reports' 3D view out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@handle_errors(aliases={**ANALYSIS_ALIASES, "archive": "archive_path"})
def batch(manifest, out_dir, workers, threads, scheduler, memory_limit, timeout, retry_failed, force, limit,
          quiet, archive_path, archive_resolution_column, archive_q_column, archive_drop_invalid, window, min_entries,
          expected_model, no_cc, write_reports, no_viewer, **scoring):
    """Q-score every entry of MANIFEST, a CSV/TSV table with one (map, model) pair per row.

    \b
    Columns (any case): id, map, model, resolution (Å); optional per-entry
    sigma, emdb_compat, permissive, num_points, shell_step, max_radius
    (an empty cell takes the command's option), and local_resolution: the
    entry's local-resolution map (as 'qscore score --local-resolution').
    Relative paths are read from the manifest's folder.

    Each entry is scored as 'qscore score MODEL MAP --resolution D' scores it
    (with --archive, percentiles too) and its files are written to OUT/<id>/.
    OUT/results.parquet and OUT/results.csv get one row per entry: Q (all,
    protein, nucleic), Q-resolution, expected Q and flag, percentiles against
    --archive and against the batch itself, map-model CC and CC-mean, atom
    counts, status (ok/failed),
    error, time and versions.  'qscore archive stats OUT/results.csv' reads it.

    Entries run on a local dask.distributed cluster of --workers processes,
    or on a running cluster (--scheduler).  A missing or corrupt file, an
    error, or a worker killed (out of memory, --timeout) fails that entry
    only.  Running the same command again skips the entries already finished
    with unchanged files and options; --retry-failed scores failed ones again.
    Ctrl-C stops cleanly (the tables keep every finished entry).

    Exit code 0: every entry ok; 1: some failed (see the table); 2: bad input; 130: interrupted.
    """
    from ..batch import BatchInterrupted, BatchSettings, run_batch

    if not logging.getLogger("qscore").isEnabledFor(logging.DEBUG):  # -vv shows the cluster's own log
        with contextlib.suppress(ImportError):
            import distributed  # noqa: F401 - sets its loggers' levels on import, so import it first

        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # failures are reported per entry
    settings = BatchSettings(**scoring, archive=archive_path, archive_resolution_column=archive_resolution_column,
                             archive_q_column=archive_q_column, window=window, min_entries=min_entries,
                             expected_model=expected_model, correlation=not no_cc, threads=threads,
                             timeout=timeout, archive_drop_invalid=archive_drop_invalid, command=" ".join(sys.argv),
                             report=write_reports, report_viewer=not no_viewer)
    bar = ProgressBar(enabled=not quiet)
    try:
        report = run_batch(manifest, out_dir, settings, workers=workers, scheduler=scheduler,
                           memory_limit=memory_limit, retry_failed=retry_failed, force=force, limit=limit,
                           progress=bar.update)
    except BatchInterrupted as stop:
        bar.close()
        r = stop.report
        click.echo(f"Interrupted: {r.scored_ok + r.scored_failed} entries finished in this run, {r.not_run} "
                   f"not yet; {r.paths()['results_csv']} holds every finished entry. Run the same command "
                   "again to go on.", err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
    finally:
        bar.close()
    if not quiet:
        print_report(report, manifest)
    if report.failures:
        click.get_current_context().exit(EXIT_SOME_FAILED)


class ProgressBar:
    """A tqdm bar of entries with ok/failed/remaining counts and an ETA (made on the first update)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def update(self, state) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=state.total, unit="entry", desc="Entries", file=sys.stderr, mininterval=0.5)
        self.bar.set_postfix_str(f"ok {state.ok}, failed {state.failed}, remaining {state.remaining}", refresh=False)
        self.bar.update(state.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def print_report(report, manifest) -> None:
    """The summary of a finished batch.

    Parameters
    ----------
    report : qscore.batch.BatchReport
    manifest : str — the manifest's path, as given
    """
    n_run = report.scored_ok + report.scored_failed
    click.echo(f"Batch  {manifest}: {plural(report.entries, 'entry')}; {report.skipped} already finished (skipped), "
               f"{n_run} scored now: {report.scored_ok} ok, {report.scored_failed} failed"
               + (f"; {report.not_run} left for a later run" if report.not_run else ""))
    if n_run:
        click.echo(f"Time   {report.elapsed_s:.1f} s, {plural(report.workers, 'worker')}; scoring "
                   f"{report.scoring_s:.1f} s, {report.entries_per_minute:.1f} entries/min")
    failures = report.failures
    if failures:
        click.echo(f"Failed entries ({len(failures)}):")
        for ident, error in failures[:FAILURES_SHOWN]:
            click.echo(f"  {ident}: {error}")
        if len(failures) > FAILURES_SHOWN:
            click.echo(f"  … {len(failures) - FAILURES_SHOWN} more in the table (status 'failed'); "
                       "--retry-failed scores them again")
    paths = report.paths()
    click.echo(f"Wrote  {paths['results_parquet']}, {paths['results_csv']} and a folder per entry in "
               f"{report.out_dir}")
    if "index_html" in paths:
        click.echo(f"Index  {paths['index_html']} (each entry's report linked)")
