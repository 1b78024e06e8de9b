"""``qscore compare``: score several models in one map, or one model in several maps, and line them up.

Each input is scored and analysed exactly as :func:`qscore.pipeline.score_and_write` does it (same
options); :func:`qscore.analysis.compare.compare` lines the results up, and with ``published=``
:func:`qscore.analysis.published.compare_published` sets the first input against a validation
report's per-residue values.  :func:`compare_and_write` writes the tables, the JSON and the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..analysis.compare import (
    DEFAULT_MIN_DIFFERENCE,
    CompareInput,
    Comparison,
    check_labels,
    check_min_difference,
    compare,
)
from ..analysis.published import compare_published
from ..core.engine import on_emdb_lattice
from ..errors import ParameterError
from ..io.files import all_or_nothing, write_json, write_table
from ..io.maps import read_map
from ..io.models import read_model
from ..io.paths import file_stem, output_folder, refuse_overwriting_inputs
from ..io.published import read_published
from ..provenance import versions
from .scoring import AnalysisSettings, QScoreResult, score

__all__ = ["CompareRun", "compare_inputs", "compare_and_write", "default_labels", "compare_stem"]

#: the EMDB's published values are computed with this sigma
EMDB_SIGMA = 0.4


@dataclass
class CompareRun:
    """A finished comparison: the :class:`~qscore.analysis.compare.Comparison`, each input's result and the
    files written ({kind: path})."""

    comparison: Comparison
    results: list
    paths: dict


def default_labels(paths) -> list:
    """Labels from file names (the stem, characters a column name cannot hold as '_'), made unique.

    Parameters
    ----------
    paths : sequence of str or Path

    Returns
    -------
    list of str
    """
    labels = []
    for p in paths:
        base = re.sub(r"[^A-Za-z0-9_.+-]", "_", file_stem(p))[:36] or "input"
        label, k = base, 2
        while label in labels:
            label, k = f"{base}_{k}", k + 1
        labels.append(label)
    return labels


def compare_stem(mode: str, models, maps) -> str:
    """The output stem: ``<model1>_vs_<model2>__Q__<map>`` or ``<model>__Q__<map1>_vs_<map2>`` (at most 3 named).

    Parameters
    ----------
    mode : str — 'models' or 'maps'
    models, maps : sequence of str or Path

    Returns
    -------
    str
    """
    def joined(paths):
        names = [file_stem(p) for p in paths]
        return "_vs_".join(names[:3]) + (f"_and_{len(names) - 3}_more" if len(names) > 3 else "")

    if mode == "models":
        return f"{joined(models)}__Q__{file_stem(maps[0])}"
    return f"{file_stem(models[0])}__Q__{joined(maps)}"


def _check_request(models: list, maps: list, resolutions, published, min_difference) -> tuple:
    """The mode and one resolution per input, or a ParameterError before anything is read."""
    check_min_difference(min_difference)
    if not models or not maps:
        raise ParameterError("compare needs a model and a map: models= and maps= (one of them with several files).",
                             parameter=("models", "maps"))
    if len(models) > 1 and len(maps) > 1:
        raise ParameterError(f"Give several models in one map or one model in several maps, not {len(models)} models "
                             f"and {len(maps)} maps.", parameter=("models", "maps"))
    mode = "maps" if len(maps) > 1 else "models"
    n = max(len(models), len(maps))
    if n == 1 and published is None:
        raise ParameterError("compare needs at least two models or two maps (or published=); one model in one map "
                             "is what score() and 'qscore score' do.", parameter=("models", "maps"))
    res = list(resolutions) if isinstance(resolutions, (list, tuple)) else [resolutions]
    if len(res) == 1:
        res = res * n
    elif mode == "models" or len(res) != n:
        raise ParameterError(f"Give one resolution, or one per map ({n}); got {len(res)}. Several models in one map "
                             "share its resolution.", parameter="resolutions")
    return mode, res


def _published_note(result: QScoreResult) -> str | None:
    notes = []
    if abs(result.params.sigma - EMDB_SIGMA) > 1e-9:
        notes.append(f"this run used sigma {result.params.sigma:g} Å; the EMDB publishes values at {EMDB_SIGMA:g} Å")
    if not result.emdb_compat and not on_emdb_lattice(result.dmap):
        notes.append("the map's origin is off its voxel lattice and this run did not reproduce multi-process MapQ, "
                     "whose values the EMDB publishes: give emdb_compat=True (--emdb-compat) to match them")
    return "; ".join(notes) or None


def compare_inputs(models, maps, settings: AnalysisSettings | None = None, *, labels=None, resolutions=None,
                   min_difference: float = DEFAULT_MIN_DIFFERENCE, published=None,
                   progress_factory: Callable | None = None, **score_kwargs) -> tuple:
    """Score and analyse every input, then compare them (and the first with ``published``).

    Parameters
    ----------
    models : sequence of str, Path or Model — one model, or several (scored in the one map)
    maps : sequence of str, Path or DensityMap — one map, or several (the one model scored in each)
    settings : AnalysisSettings, optional — as for :meth:`QScoreResult.analyse` (the same for every input)
    labels : sequence of str, optional — a name per input (default: from the file names)
    resolutions : float or sequence of float, optional — the map's resolution, or one per map, Å
    min_difference : float — the smallest residue Q difference that names a better input
    published : str or Path, optional — a wwPDB validation XML or EMDB validation JSON of the first input
    progress_factory : callable(n_atoms) -> (update, close), optional — a progress bar per input
    **score_kwargs : sigma, emdb_compat, threads, permissive, num_points, shell_step, max_radius, command

    Returns
    -------
    (Comparison, list of QScoreResult)
    """
    models, maps = list(models), list(maps)
    mode, res = _check_request(models, maps, resolutions, published, min_difference)
    names = [x if isinstance(x, (str, Path)) else (x.path or "input") for x in (maps if mode == "maps" else models)]
    labels = check_labels(labels) if labels is not None else default_labels(names)
    if len(labels) != len(res):
        raise ParameterError(f"labels= gives {len(labels)} labels for {len(res)} inputs.", parameter="labels")
    permissive = score_kwargs.get("permissive", False)
    read_models = [read_model(m) if isinstance(m, (str, Path)) else m for m in models]
    read_maps = [read_map(m, permissive=permissive) if isinstance(m, (str, Path)) else m for m in maps]
    pub = None if published is None else read_published(published, model_name=read_models[0].path)
    inputs, results = [], []
    for i, label in enumerate(labels):
        mdl = read_models[0 if mode == "maps" else i]
        dmap = read_maps[i if mode == "maps" else 0]
        update, close = progress_factory(len(mdl.atoms)) if progress_factory else (None, lambda: None)
        try:
            result = score(mdl, dmap, resolution=res[i], progress=update, **score_kwargs)
        finally:
            close()
        analysis = result.analyse(settings)
        results.append(result)
        inputs.append(CompareInput(label=label, model=mdl.path, map=dmap.path or "(in memory)",
                                   atoms=result.atom_table(), analysis=analysis, resolution=res[i]))
    comparison = compare(inputs, mode=mode, min_difference=min_difference)
    if pub is not None:
        comparison.published = compare_published(inputs[0].analysis.residues, pub, note=_published_note(results[0]),
                                                 model=f"model '{inputs[0].model}'")
    return comparison, results


def _tables(comparison: Comparison) -> dict:
    out = {"atoms": comparison.atoms, "residues": comparison.residues, "ligands": comparison.ligands(),
           "chains": comparison.chains, "summary": comparison.summary}
    if not len(out["ligands"]):
        del out["ligands"]
    if len(comparison.unmatched):
        out["unmatched"] = comparison.unmatched
    if comparison.published is not None:
        out["published"] = comparison.published.table
    return out


def compare_and_write(models, maps, settings: AnalysisSettings | None = None, *, out_dir=None, report: bool = True,
                      max_chain_plots: int = 12, viewer: bool = True, **kwargs) -> CompareRun:
    """:func:`compare_inputs`, then write ``<stem>_compare_<table>.csv``, ``<stem>_compare.json`` and the report.

    Parameters
    ----------
    models, maps, settings : as for :func:`compare_inputs`
    out_dir : str or Path, optional — output folder (default: the first model's)
    report : bool — also ``<stem>_compare_report.html`` and its figures
    max_chain_plots : int — paired residue plots for at most this many chains
    viewer : bool — the report's 3D view, coloured by ΔQ
    **kwargs : labels, resolutions, min_difference, published, progress_factory and the score options, as
        for :func:`compare_inputs`

    Returns
    -------
    CompareRun
    """
    models, maps = list(models), list(maps)
    comparison, results = compare_inputs(models, maps, settings, **kwargs)
    model_paths = [m if isinstance(m, (str, Path)) else m.path for m in models]
    map_paths = [m if isinstance(m, (str, Path)) else (m.path or "map") for m in maps]
    stem = compare_stem(comparison.mode, model_paths, map_paths)
    with output_folder(out_dir, model_paths[0]) as folder, all_or_nothing() as written:
        tables = _tables(comparison)
        paths = {f"{k}_csv": folder / f"{stem}_compare_{k}.csv" for k in tables}
        paths["json"] = folder / f"{stem}_compare.json"
        refuse_overwriting_inputs(paths.values(), *model_paths, *map_paths, kwargs.get("published"))
        for k, table in tables.items():
            write_table(paths[f"{k}_csv"], table)
            written.append(paths[f"{k}_csv"])
        paths = {k: str(v) for k, v in paths.items()}
        if report:
            from ..report.compare_html import write_compare_report  # matplotlib only when a report is asked for

            made = write_compare_report(comparison, folder, stem, outputs=dict(paths), max_chain_plots=max_chain_plots,
                                        viewer_result=results[0] if viewer else None)
            written.extend(v for k, v in made.items() if k != "figures")
            paths.update({k: v for k, v in made.items() if not k.endswith(("_png", "_svg"))})
        doc = {"command": kwargs.get("command", ""), "versions": versions(), **comparison.to_dict(),
               "outputs": paths}
        write_json(paths["json"], doc)
        written.append(paths["json"])
    return CompareRun(comparison=comparison, results=results, paths=paths)
