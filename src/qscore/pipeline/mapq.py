"""MapQ's own run (``mapq_cmd.py``): score each model in the map and write MapQ's files next to it.

The command line that parses MapQ's arguments is :mod:`qscore.cli.mapq` (``qscore-mapq``); the files
and their names are described there and in :mod:`qscore.io.mapq_files`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..analysis.groups import residue_table
from ..errors import OutputError
from ..io.files import all_or_nothing
from ..io.maps import read_map
from ..io.models import read_model
from ..io.paths import file_stem, output_stem, prepare_out_dir
from ..io.writers import DEFAULT_LAYOUT, q_layout, write_pdb_with_b
from .outputs import emdb_json_path, write_emdb_json, write_mapq_table, write_q_models
from .scoring import score

__all__ = ["DEFAULT_NP", "DEFAULT_RES", "DEFAULT_SIGMA", "DEFAULT_BFACTOR", "MODEL_KINDS", "kind_by_name",
           "mapq_paths", "run_mapq"]

#: MapQ's defaults (mapq_cmd.py)
DEFAULT_NP, DEFAULT_RES, DEFAULT_SIGMA, DEFAULT_BFACTOR = 1, 3.0, 0.6, -1.0
#: file kinds by extension, as MapQ recognises them (``.gz`` ignored)
MODEL_KINDS = (("map", (".mrc", ".map", ".ccp4")), ("pdb", (".pdb", ".ent")), ("cif", (".cif", ".mmcif")))


def kind_by_name(name: str) -> str | None:
    """'map', 'pdb', 'cif' or None, from a file name's extension (``.gz`` ignored)."""
    low = name.lower().removesuffix(".gz")
    for kind, suffixes in MODEL_KINDS:
        if low.endswith(suffixes):
            return kind
    return None


def mapq_paths(model_path, map_path, bfactor: float = DEFAULT_BFACTOR, model_format: str | None = None,
               mapq_layout=DEFAULT_LAYOUT) -> dict:
    """The files MapQ writes for one model, next to the model, named as the layout's MapQ names them.

    MapQ 2.9.7 (layout '2.9.7') appends to the model's file name as given: ``<model file>__Q__<map
    file>.cif`` (or ``.pdb``) — what the EMDB's validation package opens — and the table
    ``<model file>_All.txt`` for an mmCIF model, ``<model file>__Q__<map file>_All.txt`` for a PDB one.
    MapQ's 2021 files (layout '2021') drop the extensions: ``<model>__Q__<map>.cif`` and
    ``<model>__Q__<map>_All.txt``.

    Parameters
    ----------
    model_path, map_path : str or Path
    bfactor : float — f of B = f·(1 − Q); > 0 adds ``<model>_B<f>.pdb``
    model_format : str, optional — 'mmcif' or 'pdb' (default: from the extension)
    mapq_layout : str — '2.9.7' or '2021'

    Returns
    -------
    dict — 'model' (the model with its Q-scores), 'all_txt' and, for f > 0, 'bfactor'
    """
    model_path = Path(model_path)
    folder = model_path.resolve().parent
    if model_format is None:
        model_format = "pdb" if kind_by_name(model_path.name) == "pdb" else "mmcif"
    ext = "pdb" if model_format == "pdb" else "cif"
    if q_layout(mapq_layout).name == "2021":
        stem = output_stem(model_path, map_path)
        paths = {"model": folder / f"{stem}.{ext}", "all_txt": folder / f"{stem}_All.txt"}
    else:
        stem = f"{model_path.name}__Q__{Path(map_path).name}"
        paths = {"model": folder / f"{stem}.{ext}",
                 "all_txt": folder / (f"{stem}_All.txt" if ext == "pdb" else f"{model_path.name}_All.txt")}
    if bfactor > 0:
        paths["bfactor"] = folder / f"{file_stem(model_path)}_B{bfactor:.0f}.pdb"
    return paths


def run_mapq(maps, models, *, np: int = DEFAULT_NP, res: float = DEFAULT_RES, sigma: float = DEFAULT_SIGMA,
             bfactor: float = DEFAULT_BFACTOR, mapq_layout=DEFAULT_LAYOUT, emdb_json: bool = False, progress=None,
             command: str = "") -> list:
    """Score every model against the map and write MapQ's files next to each model (``qscore-mapq``).

    Parameters
    ----------
    maps : list of path — exactly one map
    models : list of path — the models, in MapQ's order (PDB files first)
    np : int — MapQ's processes: > 1 computes as multi-process MapQ (``emdb_compat``); also the threads
    res : float — the map's resolution, Å (the expected Q of the ``_All.txt`` table)
    sigma : float — the reference-Gaussian width, Å
    bfactor : float — f of B = f·(1 − Q); > 0 also writes ``<model>_B<f>.pdb``
    mapq_layout : str — '2.9.7' (MapQ today: ``_atom_site.Q-score``, 6 decimals) or '2021' (``Q_score``, 3)
    emdb_json : bool — also ``<map file>_qscore.json`` next to the first model, as the EMDB's validation
        package writes it from the models' Q files (all models in it)

    Every input is read and every output folder checked before anything is computed or written,
    so a bad input leaves no file behind.  Each file is written atomically.

    Returns
    -------
    list of dict, one per model: 'model', 'result' (QScoreResult) and 'paths' ({kind: Path})

    Raises
    ------
    QScoreError — unreadable or unusable map or model, output folder not writable, an output that
        would overwrite an input
    """
    q_layout(mapq_layout)
    dmap = read_map(maps[0], permissive=True)  # Chimera reads integer-mode maps too
    read = [read_model(p) for p in models]
    plans = []
    inputs = {Path(p).resolve() for p in [*models, *maps]}
    for path, model in zip(models, read, strict=True):
        prepare_out_dir(None, path)
        paths = mapq_paths(path, maps[0], bfactor, model.format, mapq_layout)
        clash = [p for p in paths.values() if p.resolve() in inputs]
        if clash:
            raise OutputError(f"Output '{clash[0]}' would overwrite an input file; rename or move the input.")
        plans.append((path, model, paths))
    done = []
    with all_or_nothing() as written:  # a failure on a later model leaves no files of earlier ones
        for path, model, paths in plans:
            result = score(model, dmap, sigma=sigma, resolution=res, emdb_compat=np > 1,
                           threads=min(np, os.cpu_count() or 1), progress=progress, command=command)
            pdb = model.format == "pdb"
            write_q_models(result, None if pdb else paths["model"], paths["model"] if pdb else None, mapq_layout)
            written.append(paths["model"])
            write_mapq_table(paths["all_txt"], result, residue_table(result.atoms, result.q), resolution=res,
                             mapq_layout=mapq_layout)
            written.append(paths["all_txt"])
            if "bfactor" in paths:
                write_pdb_with_b(paths["bfactor"], model, bfactor * (1.0 - result.q))
                written.append(paths["bfactor"])
            done.append({"model": path, "result": result, "paths": paths})
        if emdb_json:
            target = emdb_json_path(Path(models[0]).resolve().parent, maps[0])
            if target.resolve() in inputs:
                raise OutputError(f"Output '{target}' would overwrite an input file; rename or move the input.")
            write_emdb_json(target, [d["result"] for d in done])
            written.append(target)
            done[0]["paths"]["emdb_json"] = target
    return done
