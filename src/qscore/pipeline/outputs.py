"""Score → analyse → write: what ``qscore score``, ``qscore report`` and every batch entry run.

:func:`score_and_write` checks every input first (analysis settings, profile selection, output
folder), scores, analyses once, and writes the run's files: the annotated model(s), the per-atom
(and with a resolution the residue and chain) tables and the JSON summary, all or nothing; then,
when asked, MapQ's ``_All.txt`` table and the HTML report with its figures and ChimeraX files.
It returns a :class:`ScoreRun` and never prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..analysis.emdb import emdb_q, va_json
from ..analysis.mapq import mapq_table
from ..analysis.results import Analysis
from ..io.files import all_or_nothing, write_json, write_table, write_text
from ..io.mapq_all_297 import format_mapq_all_297
from ..io.mapq_files import DEFAULT_RESOLUTION, write_mapq_all
from ..io.maps import read_map
from ..io.models import read_model
from ..io.paths import output_folder, output_stem, refuse_overwriting_inputs
from ..io.writers import DEFAULT_LAYOUT, mapq_pdb_remarks, q_layout, write_mmcif_with_q, write_pdb_with_b
from ..report.plots import MAX_PROFILE_PANELS, profile_selection, select_profile_atoms
from ..types import DensityMap, Model
from .scoring import AnalysisSettings, QScoreResult, score

__all__ = ["ScoreRun", "score_and_write", "write_score_outputs", "write_q_models", "write_mapq_table",
           "write_mapq_files", "write_emdb_json", "emdb_json_path", "check_profile_atoms"]


@dataclass
class ScoreRun:
    """What :func:`score_and_write` did: the result (analysed) and {kind: path} of every file written."""

    result: QScoreResult
    paths: dict = field(default_factory=dict)

    @property
    def analysis(self) -> Analysis:
        return self.result.analysis


def check_profile_atoms(model: Model, profile_atoms) -> None:
    """Refuse, before any Q is computed, a profile selection that is malformed or matches no heavy atom.

    Parameters
    ----------
    model : Model
    profile_atoms : sequence of str — selections (``A:26:CA``)
    """
    if profile_atoms:
        import numpy as np

        select_profile_atoms(model.atoms, np.zeros(len(model.atoms)), list(profile_atoms))


def write_score_outputs(result: QScoreResult, folder, *, mapq_layout=DEFAULT_LAYOUT) -> dict:
    """Write the annotated model(s), the per-atom CSV, (with a resolution) the residue and chain CSVs
    and the JSON summary into ``folder``, all or nothing.

    Parameters
    ----------
    result : QScoreResult — analysed already, for the tables and the summary's analysis
    folder : str or Path — existing, writable
    mapq_layout : str — how the annotated model holds Q: '2.9.7' (``_atom_site.Q-score``, 6 decimals;
        PDB with MapQ 2.9.7's REMARK lines) or '2021' (``_atom_site.Q_score``, 3 decimals)

    Returns
    -------
    dict {kind: path} of the files written
    """
    folder = Path(folder)
    stem = output_stem(result.model.path, result.dmap.path or "map")
    paths = {"model_cif": folder / f"{stem}.cif", "atoms_csv": folder / f"{stem}_atoms.csv",
             "summary_json": folder / f"{stem}_summary.json"}
    if result.model.format == "pdb":
        paths["model_pdb"] = folder / f"{stem}.pdb"
    analysis = result.analysis
    tables = {}
    if analysis is not None and result.resolution is not None:
        tables = {"residues": analysis.residues, "chains": analysis.chains}
    for kind in tables:
        paths[f"{kind}_csv"] = folder / f"{stem}_{kind}.csv"
    refuse_overwriting_inputs(paths.values(), result.model.path, result.dmap.path)
    summary = result.summary()
    summary["outputs"] = {k: str(v) for k, v in paths.items()}
    with all_or_nothing() as written:  # a failure removes the files already written: no partial set
        write_q_models(result, paths.get("model_cif"), paths.get("model_pdb"), mapq_layout)
        written += [paths[k] for k in ("model_cif", "model_pdb") if k in paths]
        write_table(paths["atoms_csv"], result.atom_table(), threads=result.threads)
        written.append(paths["atoms_csv"])
        for kind, table in tables.items():
            write_table(paths[f"{kind}_csv"], table, threads=result.threads)
            written.append(paths[f"{kind}_csv"])
        write_json(paths["summary_json"], summary)
        written.append(paths["summary_json"])
    return {k: str(v) for k, v in paths.items()}


def write_q_models(result: QScoreResult, cif_path, pdb_path, mapq_layout=DEFAULT_LAYOUT) -> None:
    """Write the model with its Q-scores in a MapQ layout: an mmCIF with the Q column and/or a PDB file
    with Q in the B-factor column (None: not that one).

    Parameters
    ----------
    result : QScoreResult
    cif_path, pdb_path : str, Path or None
    mapq_layout : str or QLayout — '2.9.7' or '2021' (:data:`qscore.io.writers.MAPQ_LAYOUTS`)
    """
    layout = q_layout(mapq_layout)
    if cif_path is not None:
        write_mmcif_with_q(cif_path, result.model, result.q, layout=layout, threads=result.threads)
    if pdb_path is not None:
        remarks = "" if not layout.pdb_remarks else mapq_pdb_remarks(
            sigma=result.params.sigma, model_name=Path(result.model.path).name,
            map_name=Path(result.dmap.path or "map").name)
        write_pdb_with_b(pdb_path, result.model, result.q, remarks=remarks)


def emdb_json_path(folder, map_path) -> Path:
    """``<map file>_qscore.json`` in ``folder``: the name the EMDB's validation package gives its Q-score JSON.

    Parameters
    ----------
    folder : str or Path
    map_path : str, Path or None — the map (None: an in-memory map, named 'map')

    Returns
    -------
    Path
    """
    return Path(folder) / f"{Path(map_path or 'map').name}_qscore.json"


def write_emdb_json(path, results) -> str:
    """Write the ``<map>_qscore.json`` the EMDB's validation package would write from these models' Q files.

    Parameters
    ----------
    path : str or Path
    results : sequence of QScoreResult — the models scored in one map, in the package's order

    Returns
    -------
    str — the path
    """
    def computed(r):  # an analysed result has its Q_emdb already
        return r.analysis.emdb if r.analysis is not None and r.analysis.emdb is not None else emdb_q(r.atoms, r.q)

    models = [(Path(r.model.path).name, computed(r)) for r in results]
    write_json(path, va_json(models))
    return str(path)


def write_mapq_table(path, result: QScoreResult, residues, *, resolution: float, mapq_layout=DEFAULT_LAYOUT) -> None:
    """Write MapQ's ``_All.txt`` for a result, laid out as MapQ 2.9.7 (:mod:`qscore.io.mapq_all_297`) or
    MapQ's 2021 files (:mod:`qscore.io.mapq_files`) write it.

    Parameters
    ----------
    path : str or Path
    result : QScoreResult
    residues : DataFrame — the result's residue table
    resolution : float — Å, for the expected Q
    mapq_layout : str — '2.9.7' or '2021'
    """
    sigma = result.params.sigma
    table = mapq_table(result.atoms, result.q, residues, resolution=resolution, sigma=sigma)
    if q_layout(mapq_layout).name == "2021":
        write_mapq_all(path, table, sigma=sigma)
    else:
        write_text(path, format_mapq_all_297(table, sigma=sigma, map_name=Path(result.dmap.path or "map").name,
                                             model_name=Path(result.model.path).name))


def write_mapq_files(result: QScoreResult, folder, *, mapq_layout=DEFAULT_LAYOUT) -> dict:
    """Write MapQ's per-residue table ``<model>__Q__<map>_All.txt`` (``score --mapq-files``).

    The table's expected Q is for ``result.resolution``, or MapQ's default 3.0 Å when none was given
    (see :mod:`qscore.io.mapq_files`); the residue table is the result's analysis.

    Parameters
    ----------
    result : QScoreResult
    folder : str or Path
    mapq_layout : str — '2.9.7' (MapQ 2.9.7's table) or '2021'

    Returns
    -------
    dict {'mapq_all_txt': path}
    """
    path = Path(folder) / f"{output_stem(result.model.path, result.dmap.path or 'map')}_All.txt"
    write_mapq_table(path, result, result.analyse().residues, resolution=result.resolution or DEFAULT_RESOLUTION,
                     mapq_layout=mapq_layout)
    return {"mapq_all_txt": str(path)}


def _record_outputs(paths: dict) -> None:
    """Rewrite the summary at ``paths['summary_json']`` with ``paths`` as its ``outputs``, after
    files written later (MapQ's table, the report) have joined them."""
    summary_path = Path(paths["summary_json"])
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["outputs"] = {k: str(v) for k, v in paths.items()}
    write_json(summary_path, summary)


def _report_profiles(result: QScoreResult, profile_atoms, score_kwargs: dict) -> tuple:
    """The report's profile figure (:func:`qscore.report.plots.profile_selection`): the atoms it draws scored
    again with their profiles, so that the run does not keep the profile of every atom (about 250 bytes an atom).
    They are scored in the map the run scored (with ``emdb_compat`` already resampled: not resampled again)."""
    chosen = select_profile_atoms(result.atoms, result.q, list(profile_atoms or ()), status=result.status)
    if not chosen:
        return profile_selection(result, chosen)
    subset = np.zeros(len(result.atoms), dtype=bool)
    subset[chosen[:MAX_PROFILE_PANELS]] = True
    kwargs = {k: v for k, v in score_kwargs.items() if k not in ("command", "emdb_compat")}
    return profile_selection(score(result.model, result.dmap, profiles=True, subset=subset, **kwargs), chosen)


def _write_report(result: QScoreResult, folder, settings: AnalysisSettings, *, outputs: dict, profile_atoms,
                  max_chain_plots: int, map_path, viewer: bool = True, report_map: bool = False,
                  profiles: tuple | None = None) -> dict:
    """The report, figures and ChimeraX files; returns the paths worth listing (not each PNG and SVG)."""
    from ..report.html import write_report  # matplotlib and the report assets only when a report is asked for

    paths = write_report(result, result.analysis, folder, archive=settings.archive, curve=result.curve(settings),
                         outputs=outputs, profile_atoms=list(profile_atoms or ()), max_chain_plots=max_chain_plots,
                         viewer=viewer, report_map=report_map,
                         map_path=map_path, profiles=profiles)
    return {k: v for k, v in paths.items() if not k.endswith(("_png", "_svg"))}


def score_and_write(model, map_path, settings: AnalysisSettings, *, out_dir=None, report: bool = False,
                    mapq_files: bool = False, mapq_layout=DEFAULT_LAYOUT, emdb_json: bool = False, profile_atoms=(),
                    max_chain_plots: int = 12, viewer: bool = True, report_map: bool = False,
                    progress_factory: Callable | None = None, **score_kwargs) -> ScoreRun:
    """Score ``model`` in ``map_path``, analyse once and write the files of a ``qscore score`` run.

    Parameters
    ----------
    model : str, Path or Model — the model (a path is read here, before the map)
    map_path : str, Path or DensityMap — the map
    settings : AnalysisSettings — from :func:`qscore.pipeline.scoring.analysis_settings` (checked already)
    out_dir : str or Path, optional — output folder (default: the model's)
    report : bool — also the HTML report, figures and ChimeraX files (the profile figure's atoms scored again with
        their radial profiles; the result keeps none)
    mapq_files : bool — also MapQ's ``_All.txt`` table
    mapq_layout : str — the annotated model's layout, '2.9.7' (default) or '2021' (see :func:`write_q_models`)
    emdb_json : bool — also ``<map file>_qscore.json``, as the EMDB's validation package writes it
    profile_atoms : sequence of str — atoms for the report's profile figure (checked before scoring)
    max_chain_plots : int — residue plots in the report for at most this many chains
    viewer : bool — the report's 3D view (Mol*)
    report_map : bool — the map in the 3D view too (cropped to the model and reduced)
    progress_factory : callable(n_atoms) -> (update, close), optional — a progress bar for the scoring
    **score_kwargs : sigma, resolution, emdb_compat, threads, permissive, num_points, shell_step,
        max_radius, command — as for :func:`qscore.pipeline.scoring.score`

    Returns
    -------
    ScoreRun
    """
    t0 = time.perf_counter()
    q_layout(mapq_layout)  # a bad name is refused before anything is read
    model_path = model.path if isinstance(model, Model) else model
    mdl = model if isinstance(model, Model) else read_model(model)
    check_profile_atoms(mdl, profile_atoms)  # a bad selection is refused before anything is computed
    dmap = map_path if isinstance(map_path, DensityMap) else read_map(map_path,
                                                                     permissive=score_kwargs.get("permissive", False))
    with output_folder(out_dir, model_path) as folder:  # once both inputs were read; removed if the run fails
        update, close = progress_factory(len(mdl.atoms)) if progress_factory else (None, lambda: None)
        try:
            result = score(mdl, dmap, progress=update, **score_kwargs)
        finally:
            close()
        profiles = _report_profiles(result, profile_atoms, score_kwargs) if report else None
        result.elapsed = time.perf_counter() - t0  # reading the inputs included, as the run time users see
        result.analyse(settings)
        paths = write_score_outputs(result, folder, mapq_layout=mapq_layout)
        if mapq_files:
            paths.update(write_mapq_files(result, folder, mapq_layout=mapq_layout))
        if emdb_json:
            target = emdb_json_path(folder, result.dmap.path)
            refuse_overwriting_inputs([target], result.model.path, result.dmap.path)
            paths["emdb_json"] = write_emdb_json(target, [result])
        if report:
            paths.update(_write_report(result, folder, settings, outputs=dict(paths), profile_atoms=profile_atoms,
                                       max_chain_plots=max_chain_plots, viewer=viewer, report_map=report_map,
                                       map_path=None if isinstance(map_path, DensityMap) else map_path,
                                       profiles=profiles))
        if mapq_files or report or emdb_json:
            _record_outputs(paths)
        return ScoreRun(result=result, paths=paths)
