"""``qscore profile``, ``qscore cc`` and ``qscore bfactors``: atomic profiles, map–model correlation and
B-factors from Q (docs/science.md §3, §7, §8).  Thin commands over :mod:`qscore.pipeline.tools`.
"""

from __future__ import annotations

import click

from ..text import plural
from .funnel import handle_errors
from .options import MAP, MODEL, OUT, PERMISSIVE, THREADS, score_options
from .printing import correlation_lines, progress_bar, warn_outside

__all__ = ["profile", "cc", "bfactors"]

_QUIET = click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
_THRESHOLD = click.option("--threshold", type=float, default=0.01, show_default=True,
                          help="Model-map points at or above this value are compared with the map "
                               "(docs/science.md §8).")
_MAX_MEMORY = click.option("--max-memory", type=click.FloatRange(0, min_open=True), default=None, metavar="GIB",
                           help="Memory an electron-scattering model map may take, GiB (default: half of this "
                                "machine's memory); a larger need stops the command before it starts.")
#: the Q-score options of the commands that score first (the advanced ones keep MapQ's defaults)
_q_options = score_options(exclude=("resolution", "num_points", "shell_step", "max_radius"))


def _resolution_option(help_text: str):
    return click.option("--resolution", "-r", type=float, required=True, help=help_text)


def _gib_to_bytes(gib):
    return None if gib is None else int(gib * (1 << 30))


def _print_paths(paths: dict) -> None:
    click.echo("Wrote:")
    for p in paths.values():
        click.echo(f"  {p}")


@click.command()
@MODEL
@MAP
@click.option("--atoms", "-a", "selection", required=True, metavar="SELECTION",
              help="Atoms to profile: CHAIN[:RESIDUES[:ATOMS]] items joined by commas, e.g. 'A:26:CD2', 'A:20-40', "
                   "'B', 'A:26,B:26', '*:*:CA' (RESIDUES: N, N-M or *; ATOMS: NAME, NAME+NAME or *).")
@_q_options
@click.option("--fix-mu", is_flag=True, help="Fit Gaussians centred on the atoms (μ = 0) instead of μ within 0–2 Å.")
@click.option("--skip-outside", is_flag=True,
              help="Leave out selected atoms outside the map box instead of stopping (their profiles would be 0).")
@OUT
@_QUIET
@handle_errors
def profile(model, map_path, selection, sigma, emdb_compat, threads, permissive, fix_mu, skip_outside, out_dir, quiet):
    """Radial map profiles of selected atoms of MODEL in MAP, with Gaussian fits (docs/science.md §3).

    A profile is the mean map value at the atom's centre and on each shell (0.1-2.0 Å) over the points
    the Q-score keeps; it is fitted with A·exp(-½((x-μ)/σ)²) + B over 0-2 Å (error: RMS residual over
    the profile's range).  Writes <model>__Q__<map>_profiles.csv (one row per atom: identity, Q,
    profile values r_0.00 … r_2.00, A, mu, sigma, B, rel_error, converged), _profiles.png/.svg
    (profiles, reference Gaussian, fitted Gaussian) and _profiles.json (the selection's own profile
    and fit).
    """
    from ..analysis.profiles import FIT_KEYS, atom_label, fit_summary
    from ..pipeline.tools import run_profile

    update, close = progress_bar(1, enabled=not quiet, minimum=0)  # appears only if scoring takes > 2 s
    try:
        run = run_profile(model, map_path, selection, sigma=sigma, emdb_compat=emdb_compat, threads=threads,
                          permissive=permissive, skip_outside=skip_outside, fix_mu=fix_mu, out_dir=out_dir,
                          progress=update)
    finally:
        close()
    if quiet:
        return
    table = run.table
    click.echo(f"Profiles of {plural(int(run.mask.sum()), 'atom')} ({selection}) in {map_path}, sigma {sigma} Å"
               + (f"; {run.n_outside} outside the map left out" if run.n_outside else ""))
    for _, row in table.head(20).iterrows():
        fit = {k: row[k] for k in FIT_KEYS}
        fit["message"] = row["fit_message"]
        click.echo(f"  {atom_label(row):22s} Q {row['Q']:.3f}  {fit_summary(fit)}")
    if len(table) > 20:
        click.echo(f"  … {len(table) - 20} more in the table")
    bad = table.loc[~table["converged"], "fit_status"].value_counts()
    if len(bad):
        click.echo(f"Profiles without a determined fit: {int(bad.sum())} of {len(table)} ("
                   + ", ".join(f"{n} {status}" for status, n in bad.items()) + "; NaN parameters in the table)")
    click.echo(f"Selection as a whole: {fit_summary(run.selection['fit'])}")
    _print_paths(run.paths)


@click.command()
@MODEL
@MAP
@_resolution_option("The map's resolution d, Å: molmap σ = d/(π√2) on a grid of d/3; the electron-scattering "
                    "map is cut at d. At least twice the voxel size.")
@_THRESHOLD
@click.option("--no-molmap", is_flag=True, help="Leave out the molmap correlation.")
@click.option("--no-emodel", is_flag=True,
              help="Leave out the electron-scattering correlation (an FFT on the map's grid).")
@_MAX_MEMORY
@THREADS
@PERMISSIVE
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the numbers to this JSON file.")
@_QUIET
@handle_errors
def cc(model, map_path, resolution, threshold, no_molmap, no_emodel, max_memory, threads, permissive, json_path,
       quiet):
    """CC and CC-mean between MAP and model maps of MODEL at resolution d (docs/science.md §8).

    molmap: a Gaussian per atom, amplitude ∝ atomic number, σ = d/(π√2), grid d/3 (as Chimera), the
    map interpolated at the model-map points ≥ the threshold.  Electron scattering: gemmi's model map
    with the model's B-factors on the map's own grid, cut at resolution d.  CC is about zero, CC-mean
    about the means.
    """
    from ..pipeline.tools import run_cc

    run = run_cc(model, map_path, resolution, threshold=threshold, molmap=not no_molmap, emodel=not no_emodel,
                 max_memory=_gib_to_bytes(max_memory), threads=threads, permissive=permissive, json_path=json_path)
    if quiet:
        return
    warn_outside(run.n_outside, run.n_atoms, "their density is compared with zeros (molmap) or left out (electron "
                 "scattering), which skews the correlations")
    click.echo(f"Model {model} ({plural(run.n_atoms, 'atom')}), map {map_path}")
    for line in correlation_lines(run.correlation):
        click.echo(line)
    if run.json_path is not None:
        click.echo(f"Wrote {run.json_path}")


@click.command()
@MODEL
@MAP
@_resolution_option("The map's resolution d, Å: the model maps are computed at it on the map's grid "
                    "(at least twice the voxel size).")
@click.option("--f-min", type=float, default=0.0, show_default=True, help="Smallest f scanned, Å².")
@click.option("--f-max", type=float, default=300.0, show_default=True, help="Largest f scanned, Å².")
@click.option("--f-step", type=float, default=20.0, show_default=True, help="Step of the f scan, Å².")
@_THRESHOLD
@click.option("--format", "formats", type=click.Choice(["auto", "cif", "pdb", "both"]), default="auto",
              show_default=True,
              help="Model file(s) written with the new B-factors: auto is mmCIF, plus PDB for PDB input.")
@_q_options
@_MAX_MEMORY
@OUT
@_QUIET
@handle_errors
def bfactors(model, map_path, resolution, f_min, f_max, f_step, threshold, formats, sigma, emdb_compat, threads,
             permissive, max_memory, out_dir, quiet):
    """B-factors of MODEL from its Q-scores in MAP: B = f·(1 - Q), the f that fits MAP best (docs/science.md §7).

    For each f of the scan (0, 20, … 300 Å² by default), an electron-scattering model map with
    B = max(f·(1 - Q), 0) is computed at the map's resolution on its grid; the f whose model map has
    the highest CC-mean with MAP (over model-map points ≥ the threshold) is kept.  Writes
    <model>__Q__<map>_bfactors.cif (and/or .pdb) with those B-factors, _bfactor_scan.csv (f, CC-mean,
    CC, points), _bfactor_scan.png/.svg (CC-mean against f, best f marked, B = 0 as a line) and
    _bfactors.json.
    """
    from ..pipeline.tools import run_bfactors

    update, close = progress_bar(1, enabled=not quiet, unit="f", desc="B-factor scan", minimum=0)
    try:
        run = run_bfactors(model, map_path, resolution, f_min=f_min, f_max=f_max, f_step=f_step, threshold=threshold,
                           formats=formats, sigma=sigma, emdb_compat=emdb_compat, threads=threads,
                           permissive=permissive, max_memory=_gib_to_bytes(max_memory), out_dir=out_dir,
                           progress=update)
    finally:
        close()
    if quiet:
        return
    result, s = run.result, run.summary
    counts = result.counts()
    warn_outside(counts["outside_map"], counts["scored"], "their Q is near 0, so their B-factors come out near f")
    click.echo(f"Q-scores of {plural(int(result.scored.sum()), 'atom')} (sigma {sigma} Å): mean {result.mean_q():.4f}")
    click.echo(f"B = f·(1 - Q), f = {s['factors']['min']:g} … {s['factors']['max']:g} Å² ({s['factors']['count']} "
               f"values), model maps at {resolution:g} Å on the map's grid:")
    for _, row in run.table.iterrows():
        click.echo(f"  f {row['f']:6g}  CC-mean {row['cc_mean']:.4f}  CC {row['cc']:.4f}"
                   + ("  <- best" if row["best"] else ""))
    click.echo(f"Best f {s['best_f']:g} Å²: CC-mean {s['cc_mean_best']:.4f} against {s['cc_mean_b0']:.4f} with B = 0 "
               f"({s['improvement']:+.4f}); B from {s['b_iso']['min']:.1f} to {s['b_iso']['max']:.1f} Å², mean "
               f"{s['b_iso']['mean']:.1f}")
    for note in s["notes"]:
        click.echo(f"Note: {note}")
    click.echo(f"Time   {s['elapsed_s']:.2f} s for the scan")
    _print_paths(run.paths)
