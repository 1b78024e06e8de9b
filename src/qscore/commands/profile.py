"""``qscore profile``, ``qscore cc`` and ``qscore bfactors``: atomic profiles, map–model correlation and
B-factors from Q (SPEC §3, §7, §8).  Thin commands over :mod:`qscore.analysis.profiles`,
:mod:`qscore.analysis.correlation` and :mod:`qscore.analysis.bfactors`; registered in ``qscore.cli``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from .archive import handle_errors
from .options import PERMISSIVE, THREADS, score_options

_MODEL = click.argument("model", type=click.Path(dir_okay=False))
_MAP = click.argument("map_path", metavar="MAP", type=click.Path(dir_okay=False))
_OUT = click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False), default=None,
                    help="Output folder (default: the model's folder).")
_QUIET = click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
_THRESHOLD = click.option("--threshold", type=float, default=0.01, show_default=True,
                          help="Model-map points at or above this value are compared with the map (SPEC §8).")
_MAX_MEMORY = click.option("--max-memory", type=click.FloatRange(0, min_open=True), default=None, metavar="GIB",
                           help="Memory an electron-scattering model map may take, GiB (default: half of this "
                                "machine's memory); a larger need stops the command before it starts.")


#: the Q-score options of the commands that score first (the advanced ones keep MapQ's defaults)
_q_options = score_options(exclude=("resolution", "num_points", "shell_step", "max_radius"))


def _resolution_option(help_text: str):
    return click.option("--resolution", "-r", type=float, required=True, help=help_text)


def _gib_to_bytes(gib):
    return None if gib is None else int(gib * (1 << 30))


def _read_inputs(model, map_path, permissive):
    from ..io.maps import read_map
    from ..io.models import read_model

    return read_model(model), read_map(map_path, permissive=permissive)


def _score(mdl, dmap, *, sigma, emdb_compat, threads, permissive, resolution=None, profiles=False, subset=None):
    from ..cli import run_score

    return run_score(mdl, dmap, sigma=sigma, resolution=resolution, emdb_compat=emdb_compat, threads=threads,
                     permissive=permissive, num_points=8, shell_step=0.1, max_radius=2.0, quiet=True,
                     profiles=profiles, subset=subset)


def _output_paths(folder, model, map_path, names: dict) -> dict:
    """{kind: folder / '<model>__Q__<map><suffix>'}, refusing to overwrite an input."""
    from ..api import output_stem
    from ..outputs import refuse_overwriting_inputs

    stem = output_stem(model, map_path)
    paths = {k: Path(folder) / f"{stem}{suffix}" for k, suffix in names.items()}
    refuse_overwriting_inputs(paths.values(), model, map_path)
    return paths


def _write_all(jobs) -> list:
    """Run the writing jobs in order; each takes the list of paths written so far and appends what it
    writes.  If one fails, the files already written are removed again (no partial set is left)."""
    from ..io.writers import all_or_nothing

    with all_or_nothing() as written:
        for job in jobs:
            job(written)
    return written


def _file(path, write):
    """A job for :func:`_write_all` that writes one file with ``write(path)``."""
    def job(written):
        write(path)
        written.append(Path(path))
    return job


def _figure(path, draw):
    """A job for :func:`_write_all` that draws a figure and saves it as PNG and SVG beside ``path``."""
    def job(written):
        from ..report.common import save_figure

        save_figure(draw(), Path(path).with_suffix(""), written=written)
    return job


def warn_outside(n_outside: int, n_atoms: int, consequence: str) -> None:
    """The warning 'qscore score' gives for atoms outside the map box (see ``cli.print_summary``), on stderr."""
    if n_outside:
        click.echo(f"Warning: {n_outside} of {n_atoms} atoms lie outside the map box; {consequence}. Check that "
                   "model and map are aligned.", err=True)


def check_points_at_threshold(corr: dict) -> None:
    """Refuse a correlation over no model-map point (as ``qscore bfactors`` refuses such a scan).

    A section computed (not skipped) whose CC or CC-mean is not a number had no model-map point at or
    above the threshold, or map values that do not vary there: its numbers would be NaN.
    """
    import math

    from ..errors import ParameterError

    names = {"molmap": "molmap", "emodel": "electron-scattering"}
    empty = [k for k, c in corr.items()
             if k in names and "skipped" not in c and not (math.isfinite(c["cc"]) and math.isfinite(c["cc_mean"]))]
    if empty:
        which = " and ".join(names[k] for k in empty) + (" model maps have" if len(empty) > 1 else " model map has")
        points = ", ".join(f"{corr[k]['n_points']} points" for k in empty)
        raise ParameterError(f"The {which} no points at or above the threshold {corr['threshold']:g} with map "
                             f"values that vary ({points}); the correlation would be NaN. Lower --threshold or "
                             "check that model and map overlap.")


def correlation_lines(corr: dict) -> list:
    """Lines describing a :func:`~qscore.analysis.correlation.map_model_correlation` result."""
    lines = []
    names = {"molmap": "molmap (Gaussians ∝ Z)", "emodel": "electron scattering (model B-factors)"}
    for key, name in names.items():
        c = corr.get(key)
        if c is None:
            continue
        if "skipped" in c:
            lines.append(f"  {name}: skipped: {c['skipped']}")
            continue
        lines.append(f"  {name}: CC {c['cc']:.4f}, CC-mean {c['cc_mean']:.4f} over {c['n_points']} points "
                     f"≥ {c['threshold']:g}")
        if c.get("b_clamped"):
            lines.append(f"    ({c['b_clamped']} negative or missing B-factors taken as 0)")
    return [f"Map–model correlation at {corr['resolution']:g} Å:"] + lines


@click.command()
@_MODEL
@_MAP
@click.option("--atoms", "-a", "selection", required=True, metavar="SELECTION",
              help="Atoms to profile: CHAIN[:RESIDUES[:ATOMS]] items joined by commas, e.g. 'A:26:CD2', 'A:20-40', "
                   "'B', 'A:26,B:26', '*:*:CA' (RESIDUES: N, N-M or *; ATOMS: NAME, NAME+NAME or *).")
@_q_options
@click.option("--skip-outside", is_flag=True,
              help="Leave out selected atoms outside the map box instead of stopping (their profiles would be 0).")
@_OUT
@_QUIET
@handle_errors
def profile(model, map_path, selection, sigma, emdb_compat, threads, permissive, skip_outside, out_dir, quiet):
    """Radial map profiles of selected atoms of MODEL in MAP, with Gaussian fits (SPEC §3).

    A profile is the mean map value at the atom's centre and on each shell (0.1-2.0 Å) over the points
    the Q-score keeps; it is fitted with A·exp(-½((x-μ)/σ)²) + B over 0-2 Å (error: RMS residual over
    the profile's range).  Writes <model>__Q__<map>_profiles.csv (one row per atom: identity, Q,
    profile values r_0.00 … r_2.00, A, mu, sigma, B, rel_error, converged), _profiles.png/.svg
    (profiles, reference Gaussian, fitted Gaussian) and _profiles.json (the selection's own profile
    and fit).
    """
    import numpy as np

    from ..analysis.profiles import (
        FIT_KEYS,
        atom_label,
        fit_summary,
        profile_table,
        reference_gaussian,
        select_atoms,
        selection_profile,
    )
    from ..errors import ModelError
    from ..io.writers import write_json, write_table
    from ..outputs import prepare_out_dir
    from ..report.profile_plots import plot_profiles

    mdl, dmap = _read_inputs(model, map_path, permissive)
    atoms = mdl.atoms
    mask = select_atoms(atoms, selection) & ~atoms.is_hydrogen
    if not mask.any():
        raise ModelError(f"Selection '{selection}' holds only hydrogen atoms, which have no profile of their own.")
    outside = mask & ~dmap.contains(atoms.coords)
    if outside.any():
        which = ", ".join(f"{atoms.chain[i]}:{atoms.res_num[i]}:{atoms.name[i]}" for i in np.flatnonzero(outside)[:5])
        more = " …" if outside.sum() > 5 else ""
        if not skip_outside or outside.sum() == mask.sum():
            raise ModelError(f"{int(outside.sum())} of {int(mask.sum())} selected atoms lie outside the box of map "
                             f"'{map_path}' ({which}{more}); their profiles would be 0. Select atoms inside the "
                             "map, check that model and map are aligned" +
                             ("" if outside.sum() == mask.sum() else ", or pass --skip-outside") + ".")
        mask &= ~outside
    folder = prepare_out_dir(out_dir, model)
    paths = _output_paths(folder, model, map_path, {"profiles_csv": "_profiles.csv", "profiles_png": "_profiles.png",
                                                    "profiles_json": "_profiles.json"})
    result = _score(mdl, dmap, sigma=sigma, emdb_compat=emdb_compat, threads=threads, permissive=permissive,
                    profiles=True, subset=mask)  # only the selection: its Q and profiles as in a whole-model run
    table = profile_table(result, mask)
    sel = selection_profile(result, mask)
    stats = result.map_stats
    summary = {"inputs": {"model": str(model), "map": str(map_path)}, "selection": selection, "sigma": sigma,
               "atoms": int(mask.sum()), "skipped_outside": int(outside.sum()),
               "reference_gaussian": {"A": stats.max_d - stats.min_d, "B": stats.min_d, "sigma": sigma},
               "selection_profile": {"radii": sel["radii"], "values": sel["values"], "points": sel["points"],
                                     "fit": sel["fit"]},
               "fits": {"converged": int(table["converged"].sum()), "not_converged": int((~table["converged"]).sum()),
                        "mean_rel_error": float(table.loc[table["converged"], "rel_error"].mean())
                        if table["converged"].any() else None},
               "outputs": {k: str(v) for k, v in paths.items()}}
    summary["outputs"]["profiles_svg"] = str(paths["profiles_png"].with_suffix(".svg"))
    _write_all([_file(paths["profiles_csv"], lambda p: write_table(p, table)),
                _figure(paths["profiles_png"], lambda: plot_profiles(
                    table, reference=functools.partial(reference_gaussian, result), selection=sel)),
                _file(paths["profiles_json"], lambda p: write_json(p, summary))])
    if quiet:
        return
    click.echo(f"Profiles of {int(mask.sum())} atoms ({selection}) in {map_path}, sigma {sigma} Å"
               + (f"; {int(outside.sum())} outside the map left out" if outside.any() else ""))
    for _, row in table.head(20).iterrows():
        fit = {k: row[k] for k in FIT_KEYS}
        fit["message"] = row["fit_message"]
        click.echo(f"  {atom_label(row):22s} Q {row['Q']:.3f}  {fit_summary(fit)}")
    if len(table) > 20:
        click.echo(f"  … {len(table) - 20} more in the table")
    bad = int((~table["converged"]).sum())
    if bad:
        click.echo(f"Fits that did not converge: {bad} of {len(table)} (NaN parameters in the table)")
    click.echo(f"Selection as a whole: {fit_summary(sel['fit'])}")
    click.echo("Wrote:")
    for p in summary["outputs"].values():
        click.echo(f"  {p}")


@click.command()
@_MODEL
@_MAP
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
    """CC and CC-mean between MAP and model maps of MODEL at resolution d (SPEC §8).

    molmap: a Gaussian per atom, amplitude ∝ atomic number, σ = d/(π√2), grid d/3 (as Chimera), the
    map interpolated at the model-map points ≥ the threshold.  Electron scattering: gemmi's model map
    with the model's B-factors on the map's own grid, cut at resolution d.  CC is about zero, CC-mean
    about the means.
    """
    from ..analysis.correlation import map_model_correlation
    from ..core.engine import set_threads
    from ..errors import ParameterError
    from ..io.writers import write_json

    if no_molmap and no_emodel:
        raise ParameterError("--no-molmap and --no-emodel together leave nothing to compute; drop one.")
    set_threads(threads or None)
    mdl, dmap = _read_inputs(model, map_path, permissive)
    corr = map_model_correlation(mdl.atoms, dmap, resolution, threshold=threshold, molmap=not no_molmap,
                                 emodel=not no_emodel, max_memory=_gib_to_bytes(max_memory))
    check_points_at_threshold(corr)
    if not quiet:
        warn_outside(int((~dmap.contains(mdl.atoms.coords)).sum()), len(mdl.atoms),
                     "their density is compared with zeros (molmap) or left out (electron scattering), which "
                     "skews the correlations")
    if json_path is not None:
        write_json(json_path, {"inputs": {"model": str(model), "map": str(map_path)}, **corr})
    if not quiet:
        click.echo(f"Model {model} ({len(mdl.atoms)} atoms), map {map_path}")
        for line in correlation_lines(corr):
            click.echo(line)
        if json_path is not None:
            click.echo(f"Wrote {json_path}")


@click.command()
@_MODEL
@_MAP
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
@_OUT
@_QUIET
@handle_errors
def bfactors(model, map_path, resolution, f_min, f_max, f_step, threshold, formats, sigma, emdb_compat, threads,
             permissive, max_memory, out_dir, quiet):
    """B-factors of MODEL from its Q-scores in MAP: B = f·(1 - Q), the f that fits MAP best (SPEC §7).

    For each f of the scan (0, 20, … 300 Å² by default), an electron-scattering model map with
    B = max(f·(1 - Q), 0) is computed at the map's resolution on its grid; the f whose model map has
    the highest CC-mean with MAP (over model-map points ≥ the threshold) is kept.  Writes
    <model>__Q__<map>_bfactors.cif (and/or .pdb) with those B-factors, _bfactor_scan.csv (f, CC-mean,
    CC, points), _bfactor_scan.png/.svg (CC-mean against f, best f marked, B = 0 as a line) and
    _bfactors.json.
    """
    from ..analysis.bfactors import scan_bfactors, scan_factors
    from ..analysis.correlation import check_model_resolution
    from ..io.writers import write_json, write_mmcif_with_b, write_pdb_with_b, write_table
    from ..outputs import prepare_out_dir
    from ..report.profile_plots import plot_bfactor_scan

    scan_factors(f_min, f_max, f_step)  # refuse a bad scan before any work
    mdl, dmap = _read_inputs(model, map_path, permissive)
    check_model_resolution(resolution, dmap)
    want_pdb = formats in ("pdb", "both") or (formats == "auto" and mdl.format == "pdb")
    want_cif = formats in ("cif", "both", "auto")
    folder = prepare_out_dir(out_dir, model)
    names = {"scan_csv": "_bfactor_scan.csv", "scan_png": "_bfactor_scan.png", "summary_json": "_bfactors.json"}
    if want_cif:
        names["model_cif"] = "_bfactors.cif"
    if want_pdb:
        names["model_pdb"] = "_bfactors.pdb"
    paths = _output_paths(folder, model, map_path, names)
    result = _score(mdl, dmap, sigma=sigma, emdb_compat=emdb_compat, threads=threads, permissive=permissive,
                    resolution=resolution)
    scan = scan_bfactors(mdl.atoms, result.q, dmap, resolution, f_min=f_min, f_max=f_max, f_step=f_step,
                         threshold=threshold, max_memory=_gib_to_bytes(max_memory))
    s = scan.summary()
    table = scan.table()
    summary = {"inputs": {"model": str(model), "map": str(map_path)}, "sigma": sigma, "mean_q": result.mean_q(),
               **s, "outputs": {k: str(v) for k, v in paths.items()}}
    summary["outputs"]["scan_svg"] = str(paths["scan_png"].with_suffix(".svg"))
    jobs = []
    if want_cif:
        jobs.append(_file(paths["model_cif"], lambda p: write_mmcif_with_b(p, mdl, scan.b_iso)))
    if want_pdb:  # the PDB writer puts any per-atom value in the B-factor column
        jobs.append(_file(paths["model_pdb"], lambda p: write_pdb_with_b(p, mdl, scan.b_iso)))
    jobs += [_file(paths["scan_csv"], lambda p: write_table(p, table)),
             _figure(paths["scan_png"], lambda: plot_bfactor_scan(scan)),
             _file(paths["summary_json"], lambda p: write_json(p, summary))]
    _write_all(jobs)
    if quiet:
        return
    counts = result.summary()["counts"]
    warn_outside(counts["outside_map"], counts["scored"], "their Q is near 0, so their B-factors come out near f")
    click.echo(f"Q-scores of {result.scored.sum()} atoms (sigma {sigma} Å): mean {result.mean_q():.4f}")
    click.echo(f"B = f·(1 - Q), f = {s['factors']['min']:g} … {s['factors']['max']:g} Å² ({s['factors']['count']} "
               f"values), model maps at {resolution:g} Å on the map's grid:")
    for _, row in table.iterrows():
        click.echo(f"  f {row['f']:6g}  CC-mean {row['cc_mean']:.4f}  CC {row['cc']:.4f}"
                   + ("  <- best" if row["best"] else ""))
    click.echo(f"Best f {s['best_f']:g} Å²: CC-mean {s['cc_mean_best']:.4f} against {s['cc_mean_b0']:.4f} with B = 0 "
               f"({s['improvement']:+.4f}); B from {s['b_iso']['min']:.1f} to {s['b_iso']['max']:.1f} Å², mean "
               f"{s['b_iso']['mean']:.1f}")
    for note in s["notes"]:
        click.echo(f"Note: {note}")
    click.echo(f"Time   {s['elapsed_s']:.2f} s for the scan")
    click.echo("Wrote:")
    for p in summary["outputs"].values():
        click.echo(f"  {p}")


__all__ = ["profile", "cc", "bfactors", "correlation_lines", "check_points_at_threshold", "warn_outside"]
