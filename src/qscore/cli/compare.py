"""``qscore compare``: several models in one map, or one model in several maps, and published values.

Runs :func:`qscore.pipeline.compare.compare_and_write` and prints the comparison.
"""

from __future__ import annotations

import sys

import click

from .funnel import handle_errors
from .options import OUT, analysis_options, score_options
from .printing import fmt, progress_bar

__all__ = ["compare_command", "print_comparison"]

ALIASES = {"resolutions": "resolution", "labels": "label", "archive": "archive_path",
           "resolution_column": "archive_resolution_column", "q_column": "archive_q_column",
           "drop_invalid": "archive_drop_invalid"}


def _check_arguments(map_path, model, inputs, resolution, published) -> tuple:
    """(models, maps, resolutions) from the arguments, or a usage error naming the fix."""
    if (map_path is None) == (model is None):
        raise click.UsageError("Give --map MAP with several models, or --model MODEL with several maps "
                               "(one of the two).")
    if len(inputs) < 2 and published is None:
        raise click.UsageError(f"compare needs at least two {'models' if map_path else 'maps'} (or --published FILE); "
                               "one model in one map is what 'qscore score' does.")
    models, maps = ([*inputs], [map_path]) if map_path else ([model], [*inputs])
    if len(resolution) > 1 and (map_path or len(resolution) != len(inputs)):
        raise click.UsageError(f"Give --resolution once, or once per map ({len(maps)} with --model); got "
                               f"{len(resolution)}.")
    res = list(resolution) if len(resolution) > 1 else (resolution[0] if resolution else None)
    return models, maps, res


def print_comparison(run) -> None:
    """The comparison's lines: each input, residues where each is best, the largest differences, notes,
    published values and files.

    Parameters
    ----------
    run : qscore.pipeline.compare.CompareRun
    """
    c = run.comparison
    what = "models in one map" if c.mode == "models" else "maps for one model"
    if len(c.labels) == 1:
        lines = [f"Scored {c.inputs[0].model} in {c.inputs[0].map}, to compare with the published values."]
    else:
        lines = [f"Compared {len(c.labels)} {what} (reference {c.labels[0]}); {len(c.atoms):,} atoms in every input."]
    lines.append(f"  {'input':<24} {'Q':>7} {'Q_emdb':>7} {'flag':>7} {'best in':>8}")
    for _, r in c.summary.iterrows():
        lines.append(f"  {str(r['label'])[:24]:<24} {fmt(r['Q'], '.3f'):>7} {fmt(r['Q_emdb'], '.3f'):>7} "
                     f"{str(r.get('Q_flag', '–') or '–'):>7} {int(r['residues_best']):>8,}")
    best = c.residues["best"]
    lines.append(f"Residues: {int((best == 'similar').sum()):,} similar (differences below {c.min_difference:g}), "
                 f"{int((best == 'not comparable').sum()):,} not comparable (outside the map or in no density), "
                 f"{int(best.str.startswith('only in').sum()):,} not in every input.")
    top = c.largest_differences(5)
    top = top[top["Q_spread"] >= c.min_difference]
    if len(c.labels) > 1 and not len(top):
        lines.append(f"No residue differs by {c.min_difference:g} or more.")
    elif len(c.labels) > 1:
        lines.append("Largest differences:")
        for _, r in top.iterrows():
            qs = " ".join(f"{x} {fmt(r[f'Q_residue_{x}'], '.3f')}" for x in c.labels)
            lines.append(f"  {r['chain']} {r['res_name']} {r['res_num']}{r['ins_code'] or ''}: {qs} → {r['best']}")
    lines += [f"Note: {n}" for n in c.notes]
    p = c.published
    if p is not None:
        k = p.counts()
        lines.append(f"Published ({p.kind}, {p.source}): {k['agree']:,} of {k['matched']:,} matched residues agree "
                     f"within ±{p.tolerance:.4f}; {k['differ']:,} differ (largest |ΔQ| {fmt(k['max_abs_dQ'], '.4f')}); "
                     f"{k['not_in_model'] + k['other_residue']:,} of {k['published']:,} published not matched.")
        if p.note:
            lines.append(f"Note: {p.note}.")
    lines.append("Files:")
    lines += [f"  {v}" for k, v in run.paths.items() if k != "figures"]
    click.echo("\n".join(lines))


@click.command("compare")
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False), metavar="FILES...")
@click.option("--map", "map_path", type=click.Path(dir_okay=False), default=None, metavar="MAP",
              help="The one map: FILES are models scored in it.")
@click.option("--model", type=click.Path(dir_okay=False), default=None, metavar="MODEL",
              help="The one model: FILES are maps it is scored in.")
@click.option("--resolution", "-r", type=float, multiple=True,
              help="The map's resolution, Å; with --model once per map (in order) when they differ.")
@click.option("--label", "labels", multiple=True, help="A name per input, in order (default: the file names).")
@click.option("--published", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="A wwPDB validation XML or EMDB validation JSON: its per-residue Q-scores against the first "
                   "input's Q_emdb, residue by residue.")
@click.option("--min-difference", type=float, default=0.05,
              help="The smallest residue Q difference that names a better input.")
@score_options(exclude=("resolution",))
@OUT
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.option("--no-cc", is_flag=True, help="Leave out the map-model correlation of each input.")
@click.option("--no-report", is_flag=True, help="Skip the HTML comparison report and its figures.")
@click.option("--no-viewer", is_flag=True, help="Leave the report's 3D view (coloured by ΔQ) out.")
@click.option("--max-chain-plots", type=click.IntRange(0), default=12,
              help="Paired residue plots for at most this many chains.")
@analysis_options
@handle_errors(aliases=ALIASES)
def compare_command(inputs, map_path, model, resolution, labels, published, min_difference, out_dir, quiet, no_cc,
                    no_report, no_viewer, max_chain_plots, archive_path, archive_resolution_column, archive_q_column,
                    archive_drop_invalid, window, min_entries, expected_model, archive_q, **score_kwargs):
    """Compare Q-scores: several models in one map (--map MAP MODEL1 MODEL2 ...) or one model in several
    maps (--model MODEL MAP1 MAP2 ...), and with --published against a validation report's values.

    Each input is scored and analysed as 'qscore score' does it, with the same options. Atoms are
    matched by chain, residue number, insertion code, atom name and altloc; residues by chain,
    number and insertion code; the unmatched are counted and listed. Differences are each input
    minus the first. A residue's 'best' input is the one with the highest Q when the inputs differ
    by at least --min-difference (default 0.05), else 'similar'.

    Writes <stem>_compare_atoms.csv, _residues.csv, _chains.csv, _summary.csv (_ligands.csv,
    _unmatched.csv, _published.csv when there are any), <stem>_compare.json and the HTML report
    <stem>_compare_report.html with its figures, where <stem> is <model1>_vs_<model2>__Q__<map> or
    <model>__Q__<map1>_vs_<map2>.
    """
    from ..pipeline import analysis_settings
    from ..pipeline.compare import compare_and_write

    models, maps, res = _check_arguments(map_path, model, inputs, resolution, published)
    any_res = res if not isinstance(res, list) else res[0]
    settings = analysis_settings(score_kwargs["sigma"], any_res, archive=archive_path,
                                 resolution_column=archive_resolution_column, q_column=archive_q_column,
                                 drop_invalid=archive_drop_invalid, window=window, min_entries=min_entries,
                                 expected_model=expected_model, correlation=not no_cc, archive_q=archive_q)
    score_kwargs["threads"] = score_kwargs.get("threads") or None
    run = compare_and_write(models, maps, settings, out_dir=out_dir, report=not no_report, viewer=not no_viewer,
                            max_chain_plots=max_chain_plots, labels=list(labels) or None, resolutions=res,
                            min_difference=min_difference, published=published, command=" ".join(sys.argv),
                            progress_factory=lambda n: progress_bar(n, enabled=not quiet), **score_kwargs)
    if not quiet:
        print_comparison(run)
