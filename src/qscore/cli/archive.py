"""``qscore archive``: commands over archives of (resolution, Q) pairs, such as the EMDB's.

``qscore archive stats ARCHIVE.csv`` fits the Q-versus-resolution model (docs/science.md §9) and writes its
statistics, tables and figures; ``--save-model`` stores the curve for ``--expected-model``.
``qscore archive download`` fetches the EMDB's current table into the cache (:mod:`qscore.io.emdb`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..io.archive_names import Q_NAMES, RESOLUTION_NAMES
from ..text import plural
from .funnel import handle_errors

__all__ = ["archive", "stats", "download"]

#: polynomial degrees always fitted (as :data:`qscore.analysis.archive_stats.DEGREES`; written out so that
#: the help does not load numpy and pandas)
DEGREES = (1, 2, 3, 4)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
def archive():
    """Statistics over an archive of (resolution, Q-score) pairs, e.g. the EMDB's.

    Resolutions are in Å; Q-scores are correlations (−1 to 1).
    """


@archive.command()
@click.argument("archive_path", metavar="ARCHIVE", type=click.Path(dir_okay=True))
@click.option("--resolution-column", default=None,
              help="Column holding the resolution in Å (default: the one named "
                   f"{', '.join(RESOLUTION_NAMES)}, ignoring case and punctuation).")
@click.option("--q-column", default=None,
              help=f"Column holding the Q-score (default: the one named {', '.join(Q_NAMES)}, ignoring case and "
                   "punctuation).")
@click.option("--out", "-o", "out_dir", type=click.Path(), default=None,
              help="Output folder (default: <archive stem>_stats in the working folder).")
@click.option("--degree", type=click.IntRange(min(DEGREES), max(DEGREES)), default=3, show_default=True,
              help="Polynomial degree of the model used for residuals, cross-validation, offsets and "
                   "--save-model (degrees 1–4 are always fitted and reported).")
@click.option("--repeats", type=click.IntRange(min=1), default=100, show_default=True,
              help="Number of random train/test splits in the cross-validation.")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              show_default=True, help="Share of the entries held out in each split (0.1: 90/10 splits).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random splits (the same seed gives the same numbers).")
@click.option("--peak-window", type=click.FloatRange(0, min_open=True), default=0.01, show_default=True,
              help="Q_peak is the shift of the curve with the most entries within ±this much of it "
                   "(Q units).")
@click.option("--coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True,
              help="Share of the entries above (below) Q_peak that the upper (lower) bound holds.")
@click.option("--rolling-window", type=click.FloatRange(0, min_open=True), default=0.5, show_default=True,
              help="Half-width of the rolling resolution windows that the offsets are compared with, Å.")
@click.option("--sigma", type=click.FloatRange(0, min_open=True), default=0.4, show_default=True,
              help="Reference-Gaussian width the archive's Q-scores were computed with, Å (0.4: EMDB). "
                   "Recorded in the saved model; the built-in curve for it is compared with the fit.")
@click.option("--save-model", type=click.Path(dir_okay=False), default=None,
              help="Also write the fitted curve and offsets to this JSON file, for --expected-model.")
@click.option("--drop-invalid", "--drop-out-of-range", "drop_invalid", is_flag=True,
              help="Drop rows with a value that is not a number, a resolution outside (0, 50] Å or a Q outside "
                   "[-1, 1] (counted in the report) instead of refusing the archive.")
@click.option("--no-figures", is_flag=True, help="Write the JSON and tables only (faster).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@handle_errors(aliases={"rolling_half_width": "rolling_window"})
def stats(archive_path, resolution_column, q_column, out_dir, degree, repeats, test_fraction, seed,
          peak_window, coverage, rolling_window, sigma, save_model, drop_invalid, no_figures, quiet):
    """Fit Q against resolution over ARCHIVE (CSV, one row per entry) and write the statistics.

    Fits polynomials of degree 1–4, cross-validates the chosen degree on random splits, finds the
    Q_peak offset and the bounds above and below it (globally and in rolling resolution windows)
    and analyses percentile windows of 0.1–1.5 Å.  Writes archive_stats.json, CSV tables and
    figures (PNG and SVG) into the output folder.  Rows with a missing resolution or Q are dropped
    and counted.
    """
    from ..pipeline.archive import run_archive_stats

    result, paths = run_archive_stats(archive_path, resolution_column=resolution_column, q_column=q_column,
                                      drop_invalid=drop_invalid, out_dir=out_dir, save_model=save_model,
                                      figures=not no_figures, command=" ".join(sys.argv), degree=degree,
                                      repeats=repeats, test_fraction=test_fraction, seed=seed,
                                      peak_window=peak_window, coverage=coverage, rolling_half_width=rolling_window,
                                      sigma=sigma)
    if not quiet:
        print_summary(result, paths)


def print_summary(result, paths: dict) -> None:
    """A short human summary of an :class:`~qscore.analysis.archive.ArchiveStats` run."""
    data = result.data
    click.echo(f"Archive  {data.source}: {plural(len(data), 'entry')} (resolution column '{data.resolution_column}', "
               f"Q column '{data.q_column}')")
    if data.dropped_missing:
        more = ", …" if data.dropped_missing > len(data.missing_rows) else ""
        click.echo(f"Dropped  {data.dropped_missing} row(s) with a missing resolution or Q "
                   f"(rows {', '.join(map(str, data.missing_rows))}{more})")
    if data.dropped_out_of_range:
        click.echo(f"Dropped  {data.dropped_out_of_range} row(s) with a resolution outside (0, 50] Å")
    if data.dropped_invalid:
        click.echo(f"Dropped  {data.dropped_invalid} row(s) with a value that is not a number or a Q outside [-1, 1]")
    click.echo("Polynomial fits of Q on resolution d (Å):")
    for fit in result.fits.values():
        mark = "  <- model" if fit.degree == result.degree else ""
        click.echo(f"  degree {fit.degree}: R² {fit.r2:.4f}, residual SE {fit.rse:.4f}{mark}")
    terms = " ".join(f"{c:+.4f}" + (f" d^{p}" if p > 1 else " d" if p == 1 else "")
                     for p, c in zip(range(result.degree, -1, -1), result.fit.coefficients, strict=True))
    click.echo(f"  Q_mean(d) = {terms}")
    cv = result.cross_validation.summary()
    split = f"{1 - cv['test_fraction']:.0%}/{cv['test_fraction']:.0%}"
    click.echo(f"Cross-validation ({cv['repeats']} random {split} splits, seed {cv['seed']}): test R² "
               f"{cv['r2']['mean']:.3f} ± {cv['r2']['sd']:.3f}, "
               f"RMSE {cv['rmse']['mean']:.4f} ± {cv['rmse']['sd']:.4f}, MAE {cv['mae']['mean']:.4f} ± "
               f"{cv['mae']['sd']:.4f}")
    off = result.offsets
    click.echo(f"Offsets from the curve: Q_peak {off.peak:+.3f} (window ±{off.window:g}), "
               f"{off.coverage:.0%} above {off.high:+.3f}, {off.coverage:.0%} below {off.low:+.3f}")
    roll = result.rolling_summary()
    if roll["windows"]:
        click.echo(f"Rolling windows (±{result.parameters['rolling_half_width']:g} Å, {roll['windows']} "
                   f"windows, entry-weighted): Q_peak {roll['peak']:+.3f}, above {roll['high']:+.3f}, "
                   f"below {roll['low']:+.3f}")
    ref = result.reference
    if ref is not None:
        click.echo(f"Built-in curve ({ref['source']}): its bounds {ref['low']:+.3f}/{ref['high']:+.3f} hold "
                   f"{ref['below_within_low']:.1%} of the entries below its Q_peak and "
                   f"{ref['above_within_high']:.1%} of those above")
    click.echo("Wrote:")
    for path in paths.values():
        click.echo(f"  {path}")


@archive.command("download")
@click.option("--url", default=None, metavar="URL",
              help="EMDB search API address (default: $QSCORE_EMDB_SEARCH_URL or "
                   "https://www.ebi.ac.uk/emdb/api/search/).")
@click.option("--query", default='current_status:"REL"', help="Search query (Solr syntax) selecting the entries.")
@click.option("--q-field", default="average_qscore_value",
              help="Name of the Q-score field in the search index (an entry with several fitted models lists one "
                   "value per model, comma-separated: their mean is kept).")
@click.option("--rows", type=int, default=1_000_000, help="Most entries to fetch.")
@click.option("--timeout", type=float, default=60.0, help="Seconds to wait for the server.")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: the cache, where '--archive emdb' finds it).")
@handle_errors
def download(url, query, q_field, rows, timeout, out):
    """Download the EMDB's current table of entries, resolutions (Å) and average Q-scores.

    Saved as CSV (emdb_id, resolution, qscore, n_models) in the user's cache ($XDG_CACHE_HOME/qscore or
    ~/.cache/qscore) for 'qscore score … --resolution D --archive emdb', with a JSON beside it that
    records the address, the counts and the rule for entries with several models (their mean).
    """
    from ..io.emdb import download_archive

    info = download_archive(url=url, query=query, q_field=q_field, rows=rows, timeout=timeout,
                            out=Path(out) if out else None)
    click.echo(f"Saved {info['entries']} EMDB entries with a resolution and a Q-score to {info['path']}"
               + (f" ({info['left_out']} rows without one left out)" if info["left_out"] else ""))
    if info["multi_model_rows"]:
        click.echo(f"  {info['multi_model_rows']} entries list several models' Q-scores: kept as "
                   f"{info['multi_model_rule']}")
    click.echo("Use it with: qscore score MODEL MAP --resolution D --archive emdb")
