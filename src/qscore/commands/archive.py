"""``qscore archive``: commands over archives of (resolution, Q) pairs, such as the EMDB's.

``qscore archive stats ARCHIVE.csv`` fits the Q-versus-resolution model (SPEC §9) and writes its
statistics, tables and figures; ``--save-model`` stores the curve for ``--expected-model``.
Further subcommands are added to the :func:`archive` group with ``@archive.command()``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..analysis.archive_names import DEGREES, Q_NAMES, RESOLUTION_NAMES


def handle_errors(func):
    """Apply the CLI's error handling (:func:`qscore.cli.handle_errors`) when the command runs.

    ``qscore.cli`` imports this module to register the group, so it is looked up lazily rather
    than imported at load time (which would be circular).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..cli import handle_errors as cli_handle_errors

        return cli_handle_errors(func)(*args, **kwargs)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
def archive():
    """Statistics over an archive of (resolution, Q-score) pairs, e.g. the EMDB's.

    Resolutions are in Å; Q-scores are correlations (−1 to 1).
    """


def default_out_dir(archive_path) -> Path:
    """``<archive stem>_stats`` beside the archive (``.gz`` and the table suffix removed)."""
    p = Path(archive_path)
    name = p.name[:-3] if p.name.lower().endswith(".gz") else p.name
    return p.parent / f"{Path(name).stem}_stats"


@archive.command()
@click.argument("archive_path", metavar="ARCHIVE", type=click.Path(dir_okay=True))
@click.option("--resolution-column", default=None,
              help="Column holding the resolution in Å (default: the one named "
                   f"{', '.join(RESOLUTION_NAMES)}, any case).")
@click.option("--q-column", default=None,
              help=f"Column holding the Q-score (default: the one named {', '.join(Q_NAMES)}, any case).")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: <archive stem>_stats beside the archive).")
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
@click.option("--drop-out-of-range", is_flag=True,
              help="Drop rows whose resolution is outside (0, 50] Å (counted in the report) instead of "
                   "refusing the archive.")
@click.option("--no-figures", is_flag=True, help="Write the JSON and tables only (faster).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@handle_errors
def stats(archive_path, resolution_column, q_column, out_dir, degree, repeats, test_fraction, seed,
          peak_window, coverage, rolling_window, sigma, save_model, drop_out_of_range, no_figures, quiet):
    """Fit Q against resolution over ARCHIVE (CSV, one row per entry) and write the statistics.

    Fits polynomials of degree 1–4, cross-validates the chosen degree on random splits, finds the
    Q_peak offset and the bounds above and below it (globally and in rolling resolution windows)
    and analyses percentile windows of 0.1–1.5 Å.  Writes archive_stats.json, CSV tables and
    figures (PNG and SVG) into the output folder.  Rows with a missing resolution or Q are dropped
    and counted.
    """
    from ..analysis.archive import archive_stats, read_archive_data, write_archive_stats
    from ..outputs import prepare_out_dir

    data = read_archive_data(archive_path, resolution_column=resolution_column, q_column=q_column,
                        drop_out_of_range=drop_out_of_range)
    result = archive_stats(data, degree=degree, repeats=repeats, test_fraction=test_fraction, seed=seed,
                           peak_window=peak_window, coverage=coverage, rolling_half_width=rolling_window,
                           sigma=sigma)
    folder = prepare_out_dir(out_dir if out_dir is not None else default_out_dir(archive_path), archive_path)
    paths = write_archive_stats(result, folder, save_model=save_model, figures=not no_figures)
    if not quiet:
        print_summary(result, paths)


def print_summary(result, paths: dict) -> None:
    """A short human summary of an :class:`~qscore.analysis.archive.ArchiveStats` run."""
    data = result.data
    click.echo(f"Archive  {data.source}: {len(data)} entries (resolution column '{data.resolution_column}', "
               f"Q column '{data.q_column}')")
    if data.dropped_missing:
        more = ", …" if data.dropped_missing > len(data.missing_rows) else ""
        click.echo(f"Dropped  {data.dropped_missing} row(s) with a missing resolution or Q "
                   f"(rows {', '.join(map(str, data.missing_rows))}{more})")
    if data.dropped_out_of_range:
        click.echo(f"Dropped  {data.dropped_out_of_range} row(s) with a resolution outside (0, 50] Å")
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
