"""Atomic profiles, map–model correlation and B-factors from Q (docs/science.md §3, §7, §8) as whole runs.

What ``qscore profile``, ``qscore cc`` and ``qscore bfactors`` do, without the printing: check the
inputs, compute, and write each command's files all or nothing.  Each returns a small result object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.bfactors import BFactorScan, scan_bfactors, scan_factors
from ..analysis.cc_core import check_model_resolution
from ..analysis.correlation import map_model_correlation
from ..analysis.profiles import profile_table, select_atoms, selection_profile
from ..analysis.results import MapModelCorrelation
from ..core.engine import set_threads
from ..errors import ModelError, ParameterError
from ..io.files import all_or_nothing, check_output_file, write_json, write_table
from ..io.maps import read_map
from ..io.models import read_model
from ..io.paths import output_folder, output_stem, refuse_overwriting_inputs
from ..io.writers import write_mmcif_with_b, write_pdb_with_b
from ..report.common import save_figure
from ..report.profile_plots import plot_bfactor_scan, plot_profiles
from .scoring import QScoreResult, check_aligned, score

__all__ = ["ProfileRun", "CorrelationRun", "BFactorRun", "run_profile", "run_cc", "run_bfactors",
           "check_points_at_threshold"]


def _output_paths(folder, model, map_path, names: dict) -> dict:
    """{kind: folder / '<model>__Q__<map><suffix>'}, refusing to overwrite an input."""
    stem = output_stem(model, map_path)
    paths = {k: Path(folder) / f"{stem}{suffix}" for k, suffix in names.items()}
    refuse_overwriting_inputs(paths.values(), model, map_path)
    return paths


def _write_all(jobs) -> list:
    """Run the writing jobs in order; each takes the list of paths written so far and appends what it
    writes.  If one fails, the files already written are removed again (no partial set is left)."""
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
        save_figure(draw(), Path(path).with_suffix(""), written=written)
    return job


def _score(mdl, dmap, *, sigma, emdb_compat, threads, resolution=None, profiles=False, subset=None,
           progress=None) -> QScoreResult:
    return score(mdl, dmap, sigma=sigma, resolution=resolution, emdb_compat=emdb_compat, threads=threads or None,
                 profiles=profiles, subset=subset, progress=progress)


def check_points_at_threshold(corr: MapModelCorrelation) -> None:
    """Refuse a correlation over no model-map point (as ``qscore bfactors`` refuses such a scan).

    A section computed (not skipped) whose CC or CC-mean is not a number had no model-map point at or
    above the threshold, or map values that do not vary there: its numbers would be NaN.
    """
    names = {"molmap": "molmap", "emodel": "electron-scattering"}
    empty = [k for k, c in corr.sections().items()
             if c.skipped is None and not (math.isfinite(c.cc) and math.isfinite(c.cc_mean))]
    if empty:
        which = " and ".join(names[k] for k in empty) + (" model maps have" if len(empty) > 1 else " model map has")
        points = ", ".join(f"{corr.sections()[k].n_points} points" for k in empty)
        raise ParameterError(f"The {which} no points at or above threshold={corr.threshold:g} with map "
                             f"values that vary ({points}); the correlation would be NaN. Lower threshold= or "
                             "check that model and map overlap.", parameter="threshold")


@dataclass
class ProfileRun:
    """``qscore profile``: the scored selection, its per-atom table and the selection's own profile."""

    result: QScoreResult
    mask: np.ndarray
    n_outside: int
    table: pd.DataFrame
    selection: dict
    summary: dict
    paths: dict = field(default_factory=dict)


def _profile_mask(atoms, dmap, selection: str, map_path, skip_outside: bool) -> tuple:
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
                             "map, check that model and map are aligned"
                             + ("" if outside.sum() == mask.sum() else ", or pass skip_outside=True") + ".",
                             parameter="skip_outside")
        mask &= ~outside
    return mask, int(outside.sum())


def run_profile(model, map_path, selection: str, *, sigma: float = 0.4, emdb_compat: bool = False,
                threads: int | None = None, permissive: bool = False, skip_outside: bool = False,
                fix_mu: bool = False, out_dir=None, progress=None) -> ProfileRun:
    """Radial profiles and Gaussian fits of the atoms a selection picks (``qscore profile``).

    Writes ``<model>__Q__<map>_profiles.csv``, ``_profiles.png/.svg`` and ``_profiles.json``.

    Parameters
    ----------
    model, map_path : str or Path — the files
    selection : str — ``CHAIN[:RESIDUES[:ATOMS]]`` items joined by commas
    sigma : float — Å; emdb_compat : bool; threads : int, optional; permissive : bool
    skip_outside : bool — leave out selected atoms outside the map instead of refusing them
    fix_mu : bool — fit Gaussians centred on the atoms (μ = 0)
    out_dir : str or Path, optional — default: the model's folder
    progress : callable(done, total), optional — called as atoms are scored

    Returns
    -------
    ProfileRun

    Raises
    ------
    QScoreError — a selection that matches nothing or only hydrogens, selected atoms outside the map
        (unless ``skip_outside`` and some are inside), any bad input
    """
    mdl, dmap = read_model(model), read_map(map_path, permissive=permissive)
    mask, n_outside = _profile_mask(mdl.atoms, dmap, selection, map_path, skip_outside)
    with output_folder(out_dir, model) as folder:
        paths = _output_paths(folder, model, map_path, {"profiles_csv": "_profiles.csv",
                                                        "profiles_png": "_profiles.png",
                                                        "profiles_json": "_profiles.json"})
        result = _score(mdl, dmap, sigma=sigma, emdb_compat=emdb_compat, threads=threads, profiles=True,
                        subset=mask, progress=progress)  # the selection only: Q and profiles as in a whole-model run
        table = profile_table(result, mask, fix_mu=fix_mu)
        sel = selection_profile(result, mask, fix_mu=fix_mu)
        stats = result.map_stats
        converged = table["converged"]
        summary = {"inputs": {"model": str(model), "map": str(map_path)}, "selection": selection, "sigma": sigma,
                   "atoms": int(mask.sum()), "skipped_outside": n_outside,
                   "reference_gaussian": {"A": stats.max_d - stats.min_d, "B": stats.min_d, "sigma": sigma},
                   "selection_profile": {"radii": sel["radii"], "values": sel["values"], "points": sel["points"],
                                         "fit": sel["fit"]},
                   "fits": {"converged": int(converged.sum()), "not_converged": int((~converged).sum()),
                            "by_status": {str(k): int(v) for k, v in table["fit_status"].value_counts().items()},
                            "fix_mu": fix_mu,
                            "mean_rel_error": (float(table.loc[converged, "rel_error"].mean()) if converged.any()
                                               else None)},
                   "outputs": {k: str(v) for k, v in paths.items()}}
        summary["outputs"]["profiles_svg"] = str(paths["profiles_png"].with_suffix(".svg"))
        _write_all([_file(paths["profiles_csv"], lambda p: write_table(p, table)),
                    _figure(paths["profiles_png"], lambda: plot_profiles(
                        table, sigma=result.params.sigma, selection=sel)),
                    _file(paths["profiles_json"], lambda p: write_json(p, summary))])
        return ProfileRun(result=result, mask=mask, n_outside=n_outside, table=table, selection=sel, summary=summary,
                          paths=summary["outputs"])


@dataclass
class CorrelationRun:
    """``qscore cc``: the correlations, the number of atoms outside the map and the JSON written (if any)."""

    correlation: MapModelCorrelation
    n_atoms: int
    n_outside: int
    json_path: str | None = None


def run_cc(model, map_path, resolution: float, *, threshold: float = 0.01, molmap: bool = True,
           emodel: bool = True, max_memory: int | None = None, threads: int | None = None,
           permissive: bool = False, json_path=None) -> CorrelationRun:
    """CC and CC-mean between the map and model maps at a resolution (``qscore cc``).

    Parameters
    ----------
    model, map_path : str or Path
    resolution : float — d, Å
    threshold : float — model-map points at or above it are compared
    molmap, emodel : bool — which model maps
    max_memory : int, optional — bytes the electron-scattering map may take
    threads : int, optional; permissive : bool
    json_path : str or Path, optional — also write the numbers there

    Returns
    -------
    CorrelationRun

    Raises
    ------
    ParameterError — neither model map asked for, or no model-map point at or above ``threshold``
    """
    if not molmap and not emodel:
        raise ParameterError("molmap=False and emodel=False together leave nothing to compute; keep one.",
                             parameter=("molmap", "emodel"))
    if json_path is not None:
        check_output_file(json_path, "json_path")
    set_threads(threads or None)
    mdl, dmap = read_model(model), read_map(map_path, permissive=permissive)
    check_aligned(mdl, dmap)
    corr = map_model_correlation(mdl.atoms, dmap, resolution, threshold=threshold, molmap=molmap, emodel=emodel,
                                 max_memory=max_memory, source=mdl.path)
    check_points_at_threshold(corr)
    if json_path is not None:
        write_json(json_path, {"inputs": {"model": str(model), "map": str(map_path)}, **corr.to_dict()})
    return CorrelationRun(correlation=corr, n_atoms=len(mdl.atoms),
                          n_outside=int((~dmap.contains(mdl.atoms.coords)).sum()),
                          json_path=None if json_path is None else str(json_path))


@dataclass
class BFactorRun:
    """``qscore bfactors``: the Q-scores, the f scan, its table and summary, the files written."""

    result: QScoreResult
    scan: BFactorScan
    table: pd.DataFrame
    summary: dict
    paths: dict = field(default_factory=dict)


def run_bfactors(model, map_path, resolution: float, *, f_min: float = 0.0, f_max: float = 300.0,
                 f_step: float = 20.0, threshold: float = 0.01, formats: str = "auto", sigma: float = 0.4,
                 emdb_compat: bool = False, threads: int | None = None, permissive: bool = False,
                 max_memory: int | None = None, out_dir=None, progress=None) -> BFactorRun:
    """B-factors from Q, B = f·(1 − Q) with the f whose model map fits the map best (``qscore bfactors``).

    Writes ``<model>__Q__<map>_bfactors.cif``/``.pdb``, ``_bfactor_scan.csv``, ``_bfactor_scan.png/.svg``
    and ``_bfactors.json``.

    Parameters
    ----------
    model, map_path : str or Path
    resolution : float — d, Å (the model maps')
    f_min, f_max, f_step : float — the scan, Å²
    threshold : float — model-map points at or above it are compared
    formats : str — 'auto' (mmCIF, plus PDB for PDB input), 'cif', 'pdb' or 'both'
    sigma : float — Å; emdb_compat : bool; threads : int, optional; permissive : bool
    max_memory : int, optional — bytes an electron-scattering map may take
    out_dir : str or Path, optional
    progress : callable(done, total), optional — called as the factors of the scan are done

    Returns
    -------
    BFactorRun
    """
    scan_factors(f_min, f_max, f_step)  # refuse a bad scan before any work
    mdl, dmap = read_model(model), read_map(map_path, permissive=permissive)
    check_model_resolution(resolution, dmap)
    want_pdb = formats in ("pdb", "both") or (formats == "auto" and mdl.format == "pdb")
    want_cif = formats in ("cif", "both", "auto")
    with output_folder(out_dir, model) as folder:
        names = {"scan_csv": "_bfactor_scan.csv", "scan_png": "_bfactor_scan.png", "summary_json": "_bfactors.json"}
        if want_cif:
            names["model_cif"] = "_bfactors.cif"
        if want_pdb:
            names["model_pdb"] = "_bfactors.pdb"
        paths = _output_paths(folder, model, map_path, names)
        result = _score(mdl, dmap, sigma=sigma, emdb_compat=emdb_compat, threads=threads, resolution=resolution)
        scan = scan_bfactors(mdl.atoms, result.q, dmap, resolution, f_min=f_min, f_max=f_max, f_step=f_step,
                             threshold=threshold, max_memory=max_memory, progress=progress)
        table = scan.table()
        summary = {"inputs": {"model": str(model), "map": str(map_path)}, "sigma": sigma, "mean_q": result.mean_q(),
                   **scan.summary(), "outputs": {k: str(v) for k, v in paths.items()}}
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
        return BFactorRun(result=result, scan=scan, table=table, summary=summary, paths=summary["outputs"])
