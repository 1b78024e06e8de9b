"""Write the files of a ``qscore score`` run: annotated model, per-atom table, JSON summary.

Reads only a :class:`~qscore.api.QScoreResult`; every file is written atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .api import QScoreResult, output_stem
from .errors import OutputError
from .io.writers import all_or_nothing, write_json, write_mmcif_with_q, write_pdb_with_b, write_table


def prepare_out_dir(out_dir, model_path) -> Path:
    """The folder outputs go to (``out_dir``, or the model's folder), created and checked writable.

    Raises OutputError before any computation when it cannot be written.
    """
    folder = Path(out_dir) if out_dir is not None else Path(model_path).resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".qscore-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"Output folder '{folder}' cannot be written ({exc.strerror or exc}); "
                          "choose another with --out.") from None
    return folder


def refuse_overwriting_inputs(outputs, *inputs) -> None:
    """Raise OutputError, before anything is written, when an output path is one of the input files
    (``None`` inputs, such as a map held only in memory, are ignored)."""
    given = {Path(p).resolve() for p in inputs if p}
    for p in outputs:
        if Path(p).resolve() in given:
            raise OutputError(f"Output '{p}' would overwrite an input; use --out to pick another folder.")


def write_mapq_files(result: QScoreResult, folder, residues=None) -> dict:
    """Write MapQ's per-residue table ``<model>__Q__<map>_All.txt`` into ``folder`` (``score --mapq-files``).

    MapQ's annotated model (``<model>__Q__<map>.cif`` / ``.pdb``) is the one :func:`write_score_outputs`
    writes.  The table's expected Q is for ``result.resolution``, or MapQ's default 3.0 Å when none was
    given (see :mod:`qscore.io.mapq_files`).  ``residues``: the residue table of ``result.analysis()``,
    when made already.  Returns {'mapq_all_txt': path}.
    """
    from .io.mapq_files import DEFAULT_RESOLUTION, write_mapq_all

    path = Path(folder) / f"{output_stem(result.model.path, result.dmap.path or 'map')}_All.txt"
    write_mapq_all(path, result.atoms, result.q, resolution=result.resolution or DEFAULT_RESOLUTION,
                   sigma=result.params.sigma, residues=residues)
    return {"mapq_all_txt": str(path)}


def record_outputs(paths: dict) -> None:
    """Rewrite the summary at ``paths['summary_json']`` with ``paths`` as its ``outputs``, after
    files written later (MapQ's table, the report) have joined them."""
    import json

    summary_path = Path(paths["summary_json"])
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["outputs"] = {k: str(v) for k, v in paths.items()}
    write_json(summary_path, summary)


def write_score_outputs(result: QScoreResult, folder, summary: dict | None = None, tables: dict | None = None) -> dict:
    """Write the annotated model(s), the per-atom CSV and the JSON summary into ``folder``.

    Returns {kind: path} of the files written.  ``summary`` defaults to ``result.summary()``.
    ``tables`` ({'residues': DataFrame, 'chains': DataFrame}, from ``result.analysis()``) adds
    ``<stem>_residues.csv`` and ``<stem>_chains.csv``.
    """
    folder = Path(folder)
    stem = output_stem(result.model.path, result.dmap.path or "map")
    paths = {"model_cif": folder / f"{stem}.cif", "atoms_csv": folder / f"{stem}_atoms.csv",
             "summary_json": folder / f"{stem}_summary.json"}
    if result.model.format == "pdb":
        paths["model_pdb"] = folder / f"{stem}.pdb"
    tables = {k: v for k, v in (tables or {}).items() if v is not None}
    for kind in tables:
        paths[f"{kind}_csv"] = folder / f"{stem}_{kind}.csv"
    refuse_overwriting_inputs(paths.values(), result.model.path, result.dmap.path)
    summary = dict(summary if summary is not None else result.summary())
    summary["outputs"] = {k: str(v) for k, v in paths.items()}
    with all_or_nothing() as written:  # a failure removes the files already written: no partial set
        write_mmcif_with_q(paths["model_cif"], result.model, result.q)
        written.append(paths["model_cif"])
        if "model_pdb" in paths:
            write_pdb_with_b(paths["model_pdb"], result.model, result.q)
            written.append(paths["model_pdb"])
        write_table(paths["atoms_csv"], result.atom_table())
        written.append(paths["atoms_csv"])
        for kind, table in tables.items():
            write_table(paths[f"{kind}_csv"], table)
            written.append(paths[f"{kind}_csv"])
        write_json(paths["summary_json"], summary)
        written.append(paths["summary_json"])
    return {k: str(v) for k, v in paths.items()}


def analyse_and_write(result: QScoreResult, folder, *, archive=None, window: float | None = None,
                      min_entries: int | None = None, expected_model=None,
                      correlation: bool = True) -> tuple[dict, dict]:
    """Analyse ``result`` and write every file of a ``qscore score`` run into ``folder``.

    What ``qscore score`` and ``qscore batch`` (for each entry) do once Q is computed: the residue,
    chain and model analysis (expected Q, flags, Q-resolution and, with ``archive``, percentiles; see
    :meth:`QScoreResult.analysis`), the summary with it, and with a resolution the residue and chain
    tables.  With a resolution and ``correlation``, also the map-model CC and CC-mean
    (:func:`qscore.analysis.correlation.map_model_correlation`, lenient: what cannot be computed is
    recorded as skipped), in the summary and as ``analysis['correlation']``.

    Returns
    -------
    (analysis, paths) — the dict of :meth:`QScoreResult.analysis` and {kind: path} of the files written
    """
    analysis = result.analysis(archive=archive, window=window, min_entries=min_entries,
                               expected_model=expected_model)
    summary = {**result.summary(), "analysis": analysis["summary"]}
    if correlation and result.resolution is not None:
        from .analysis.correlation import map_model_correlation

        summary["correlation"] = analysis["correlation"] = map_model_correlation(
            result.atoms, result.dmap, result.resolution, lenient=True)
    tables = {"residues": analysis["residues"], "chains": analysis["chains"]} if result.resolution else None
    return analysis, write_score_outputs(result, folder, summary=summary, tables=tables)
