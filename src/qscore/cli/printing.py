"""What the commands print: run summaries, analysis lines, correlations, warnings and progress bars.

Everything here reads the pipeline's typed results (:class:`~qscore.pipeline.QScoreResult`,
:class:`~qscore.analysis.results.Analysis`, :class:`~qscore.analysis.results.MapModelCorrelation`).
"""

from __future__ import annotations

import sys

import click

from ..text import plural

__all__ = ["fmt", "print_summary", "print_analysis", "correlation_lines", "warn_outside", "progress_bar"]


def fmt(v, spec=".4f", none="–") -> str:
    """A number for a table cell.

    Parameters
    ----------
    v : float or None
    spec : str — format specification
    none : str — shown for None and NaN

    Returns
    -------
    str
    """
    if v is None or (isinstance(v, float) and v != v):
        return none
    text = format(v, spec)
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no '-0.0000'


def _residue_id(r: dict) -> str:
    return f"{r['chain']} {r['res_name']} {r['res_num']}{r.get('ins_code') or ''}"


def progress_bar(n_atoms: int, enabled: bool = True, *, unit: str = "atom", desc: str = "Q-scores",
                 minimum: int = 20000):
    """(update(done, total), close()) of a tqdm bar for long steps.

    Parameters
    ----------
    n_atoms : int — the step's size; no bar at or below ``minimum``
    enabled : bool
    unit, desc : str — what is counted, and the bar's label
    minimum : int — smaller steps take a few seconds at most and get no bar; any bar appears only once its
        step has taken 2 s

    Returns
    -------
    (update(done, total) or None, close())
    """
    if not enabled or n_atoms <= minimum:
        return None, lambda: None
    from tqdm import tqdm

    bar = None

    def update(done, total):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit=unit, unit_scale=unit == "atom", desc=desc, file=sys.stderr, mininterval=0.5,
                       delay=2.0)  # shown only for a step that takes more than 2 s
        bar.update(done - bar.n)

    def close():
        if bar is not None:
            bar.close()

    return update, close


def warn_outside(n_outside: int, n_atoms: int, consequence: str) -> None:
    """The warning for atoms outside the map box, on stderr (nothing when there are none).

    Parameters
    ----------
    n_outside, n_atoms : int
    consequence : str — what it does to the numbers
    """
    if n_outside:
        click.echo(f"Warning: {n_outside} of {plural(n_atoms, 'atom')} lie outside the map box; {consequence}. "
                   "Check that model and map are aligned.", err=True)


def _print_expected_and_q_resolution(a) -> None:
    if a.expected_note:
        click.echo(f"Expected Q: none ({a.expected_note})")
    e = a.expected
    if e is not None:
        overall = a.overall
        click.echo(f"Expected Q at {a.resolution:g} Å ({e.source}): Q_mean {e.Q_mean:.4f}, peak "
                   f"{e.Q_peak:.4f}, 95% band {e.Q_low95:.4f} to {e.Q_high95:.4f}; model "
                   f"{overall['Q']:.4f}: {overall['Q_flag']}")
    qr = a.q_resolution
    lin = ", ".join(f"{t} {fmt(v, '.2f')} Å" for t, v in qr.by_type_2020.items() if v is not None)
    lin = f"; 2020 linear relations per type: {lin}" if lin else ""
    if qr.value is not None:
        click.echo(f"Q-resolution {qr.value:.2f} Å ({qr.curve}, inverted){lin}")
    else:
        click.echo(f"Q-resolution: none ({qr.note}){lin}")


def _print_chains(a, max_rows: int) -> None:
    click.echo("Chains (mean over atoms):")
    chains = a.chains
    for c in chains.head(max_rows).to_dict(orient="records"):
        line = (f"  {c['chain']:>4s} {c['type']:8s} {c['n_residues']:6d} res {c['n_atoms']:7d} atoms  "
                f"Q {fmt(c['Q'])}")
        if a.expected is not None:
            line += f"  {c['Q_flag'] or '–'}"
        q_res = c.get("Q_resolution_2020")
        if q_res is not None and q_res == q_res:
            line += f"  Q-res (2020) {q_res:.2f} Å"
        click.echo(line)
    if len(chains) > max_rows:
        click.echo(f"  … {len(chains) - max_rows} more in the chains table")


def _print_relative(rel) -> None:
    name = "Q_emdb" if rel.q_definition.startswith("Q_emdb") else "MapQ's mean"
    placed = f"{name} {rel.q_placed:.3f}" if rel.q_placed is not None else "Q"
    click.echo(f"Relative Q ({placed}) against {rel.n_archive} archive entries: Q_relative_all "
               f"{fmt(rel.Q_relative_all, '.1f')}% ({rel.reading_all})")
    if rel.Q_relative_resolution is not None:
        click.echo(f"  Q_relative_resolution {rel.Q_relative_resolution:.1f}% of {rel.n_window} entries "
                   f"within ±{rel.window:g} Å of {rel.resolution:g} Å ({rel.reading_resolution})")
    else:
        click.echo(f"  {rel.note}")
    if rel.sigma_note:
        click.echo(f"  Note: {rel.sigma_note}")
    if (rel.archive or {}).get("dropped"):
        click.echo(f"  ({rel.archive['dropped']} archive rows without a usable resolution or Q were left out)")


def _print_local(local, max_rows: int) -> None:
    med = f"median {local.median:.2f} Å over the atoms that have one" if local.median is not None else "no value"
    click.echo(f"Local resolution ({local.source}): {med}; side chains taken as resolved at "
               f"≤ {local.threshold:g} Å")
    click.echo("  Readings: " + ", ".join(f"{n:,} {r}" for r, n in local.counts.items()))
    chains = local.chains
    if len(chains) > 1:
        for c in chains.head(max_rows).to_dict(orient="records"):
            click.echo(f"  {c['chain']:>4s} {c['mol_type']:8s} local {fmt(c['local_res_median'], '.2f')} Å "
                       f"({fmt(c['local_res_p25'], '.2f')}–{fmt(c['local_res_p75'], '.2f')}): "
                       + ", ".join(f"{c[r]} {r}" for r in local.counts))
        if len(chains) > max_rows:
            click.echo(f"  … {len(chains) - max_rows} more in the summary JSON")
    for note in local.notes:
        click.echo(f"  Note: {note}")


def print_analysis(a, max_rows: int = 20) -> None:
    """The expected-Q, Q-resolution, chain, worst-residue, ligand, percentile and local-resolution lines of an
    Analysis.

    Parameters
    ----------
    a : qscore.analysis.results.Analysis
    max_rows : int — chains listed at most
    """
    from ..analysis.results import records

    _print_expected_and_q_resolution(a)
    _print_chains(a, max_rows)
    fc = a.flag_counts
    if fc is not None:
        unjudged = fc.residues_outside_map + fc.residues_no_density
        click.echo(f"Flags: {fc.residues_below} of {plural(fc.residues, 'residue')} below Q_low95, "
                   f"{fc.residues_above} above Q_high95" + (
                       f" ({fc.residues_outside_map} outside the map and {fc.residues_no_density} in no density "
                       "are not judged)" if unjudged else "") + (
                       f"; {fc.ligands_below} of {fc.ligands} ligands below, {fc.ligands_above} above"
                       if fc.ligands else ""))
    worst = records(a.worst_residues())
    if worst:
        click.echo("Worst residues: " + "; ".join(f"{_residue_id(r)} {fmt(r['Q_residue'], '.3f')}" for r in worst))
    ligands = records(a.ligands())
    if ligands:
        click.echo("Ligands (worst first): " + "; ".join(
            f"{_residue_id(r)} {fmt(r['Q_residue'], '.3f')}" + (f" ({r['Q_flag']})" if r.get("Q_flag") else "")
            for r in ligands[:10]) + (f"; … {len(ligands) - 10} more" if len(ligands) > 10 else ""))
    if a.relative is not None:
        _print_relative(a.relative)
    if a.local is not None:
        _print_local(a.local, max_rows)


def print_summary(result, paths: dict) -> None:
    """The lines of a 'qscore score' run: inputs, mean Q, the analysis, time, files and correlation.

    Parameters
    ----------
    result : QScoreResult — analysed
    paths : dict {kind: path} — the files written
    """
    s = result.summary()
    c = s["counts"]
    click.echo(f"Model  {s['inputs']['model']}  ({plural(c['atoms'], 'atom')}, {c['scored']:,} scored, "
               f"{plural(c['residues'], 'residue')}, {plural(c['chains'], 'chain')})")
    mp = s["map"]
    click.echo(f"Map    {s['inputs']['map']}  grid {mp['grid']}, voxel "
               f"{', '.join(f'{v:.4g}' for v in mp['voxel_size'])} Å, origin "
               f"{', '.join(f'{v:.4g}' for v in mp['origin'])} Å")
    p = s["parameters"]
    click.echo(f"Q-score (sigma {p['sigma']} Å{', EMDB-compatible' if p['emdb_compat'] else ''}): "
               f"mean {s['mean_q']:.4f} over {plural(c['scored'], 'atom')}")
    if c["outside_map"] or c["no_density"]:
        inside = c["scored"] - c["outside_map"] - c["no_density"]
        click.echo(f"  {fmt(s['mean_q_inside_map'])} over the {inside} inside the map with density around them "
                   f"({c['outside_map']} outside the map box, {c['no_density']} where the map does not vary)")
    for t, v in s["mean_q_by_type"].items():
        click.echo(f"  {t:8s} {v['mean_q']:.4f}  ({plural(v['atoms'], 'atom')})")
    emdb = result.analysis.emdb if result.analysis is not None else None
    if emdb is not None:
        click.echo(f"  Q_emdb   {fmt(emdb.value, '.3f')}  (the EMDB's average: {plural(emdb.n_atoms, 'atom')} not in "
                   "HOH and not named H*)")
    warn_outside(c["outside_map"], c["scored"], "their Q is near 0")
    if result.analysis is not None:
        print_analysis(result.analysis)
    if result.resolution is None:
        click.echo("No resolution given: add --resolution D (Å) for expected Q, flags, residue and chain "
                   "tables and percentiles.")
    corr = result.analysis.correlation if result.analysis is not None else None
    if corr is not None:
        click.echo("\n".join(correlation_lines(corr)))
    click.echo(f"Time   {s['elapsed_s']:.2f} s with {plural(p['threads'], 'thread')}")
    click.echo("Wrote:")
    for path in paths.values():
        click.echo(f"  {path}")


def correlation_lines(corr) -> list:
    """Lines describing a :class:`~qscore.analysis.results.MapModelCorrelation`."""
    lines = []
    names = {"molmap": "molmap (Gaussians ∝ Z)", "emodel": "electron scattering (model B-factors)"}
    for key, c in corr.sections().items():
        name = names[key]
        if c.skipped is not None:
            lines.append(f"  {name}: skipped: {c.skipped}")
            continue
        lines.append(f"  {name}: CC {c.cc:.4f}, CC-mean {c.cc_mean:.4f} over {c.n_points} points "
                     f"≥ {corr.threshold:g}")
        if c.b_clamped:
            from ..analysis.emodel import MAX_B_FACTOR  # loaded already: the CC was computed with it

            lines.append(f"    ({c.b_clamped} negative, missing or over-{MAX_B_FACTOR:g} Å² B-factors clamped)")
    return [f"Map–model correlation at {corr.resolution:g} Å:"] + lines
