"""The public entry point: :func:`score` a model against a map, get a :class:`QScoreResult`."""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .core.engine import QParams, compute_qscores, emdb_compatible_map, set_threads
from .errors import ModelError, ParameterError
from .io.maps import DensityMap, MapStats, read_map
from .io.models import MOLECULE_TYPES, Model, read_model


def versions() -> dict:
    """Versions of qscore and the components that decide its numbers."""
    import gemmi
    import numba

    from . import __version__

    return {"qscore": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "gemmi": gemmi.__version__, "pandas": pd.__version__}


@dataclass
class QScoreResult:
    """Per-atom Q-scores of a model in a map, with what is needed to interpret and write them.

    Attributes
    ----------
    model : Model — the model as read (atoms in file order)
    dmap : DensityMap — the map as scored (the resampled one in EMDB-compatible mode)
    q : (n,) float64 — Q of every atom of ``model.atoms``; hydrogens carry their heavy atom's
        Q (NaN where none lies within 1.3 Å) and are left out of every average
    outside : (n,) bool — atom lies outside the map box
    params : QParams
    resolution : float or None — the map's resolution in Å, if given
    """

    model: Model
    dmap: DensityMap
    q: np.ndarray
    outside: np.ndarray
    params: QParams
    map_stats: MapStats
    resolution: float | None = None
    emdb_compat: bool = False
    threads: int = 1
    elapsed: float = 0.0
    profile: np.ndarray | None = None
    kept: np.ndarray | None = None
    radii: np.ndarray | None = None
    command: str = field(default_factory=lambda: " ".join(sys.argv))

    @property
    def atoms(self):
        return self.model.atoms

    @property
    def scored(self) -> np.ndarray:
        """Mask of the atoms that enter averages: non-hydrogen atoms."""
        return ~self.atoms.is_hydrogen

    def atom_table(self) -> pd.DataFrame:
        """One row per atom: identity, coordinates, Q and whether it lies outside the map."""
        t = self.atoms.table()
        t["Q"] = self.q
        t["outside_map"] = self.outside
        return t

    def mean_q(self, mol_type: str | None = None) -> float:
        """Mean Q over the scored (non-H) atoms, optionally of one molecule type; NaN if none."""
        mask = self.scored
        if mol_type is not None:
            mask = mask & (self.atoms.mol_type == mol_type)
        return float(np.mean(self.q[mask])) if mask.any() else float("nan")

    def expected_model(self, expected_model=None):
        """The expected-Q curve for this result: ``expected_model`` if given (an ExpectedModel or a
        JSON file written by ``ExpectedModel.to_json``), else the built-in one for the sigma.

        Returns None when no curve exists for the sigma and no resolution was given; raises
        ParameterError when a resolution was given but there is no curve, or when the given curve
        was fitted for another sigma.
        """
        from .analysis.expected import BUILT_IN, ExpectedModel, model_for_sigma

        sigma = self.params.sigma
        if expected_model is not None:
            model = expected_model if isinstance(expected_model, ExpectedModel) else ExpectedModel.from_json(
                expected_model)
            if abs(model.sigma - sigma) > 1e-9:
                raise ParameterError(f"The expected-Q model '{model.source}' was fitted for sigma {model.sigma} Å "
                                     f"but Q was computed with sigma {sigma} Å; use --sigma {model.sigma} or a "
                                     "model fitted for this sigma.")
            return model
        if self.resolution is None and not any(abs(sigma - s) < 1e-9 for s in BUILT_IN):
            return None
        return model_for_sigma(sigma)

    def analysis(self, *, archive=None, window: float | None = None, min_entries: int | None = None,
                 expected_model=None, n_worst: int = 5) -> dict:
        """Residue, chain and model tables with expected Q, flags, Q-resolution and percentiles.

        Parameters
        ----------
        archive : DataFrame, str or Path, optional — archive of (resolution, Q) entries for the
            percentiles (a table from :func:`read_archive`, or a CSV file)
        window : float — percentile window w, Å (default 0.5, the paper's; the EMDB uses 1.0)
        min_entries : int — fewest archive entries within ±w for Q_relative_resolution (default 10)
        expected_model : ExpectedModel or JSON file, optional — instead of the built-in curve
        n_worst : int — how many of the worst residues the summary lists

        Returns
        -------
        dict with DataFrames 'residues', 'chains', 'model' and a JSON-ready 'summary'
        (see :func:`qscore.analysis.groups.analyse`)
        """
        from .analysis.groups import analyse

        if archive is not None and not isinstance(archive, pd.DataFrame):
            archive = read_archive(archive)
        if archive is not None and self.resolution is None:
            raise ParameterError("Percentiles against an archive need the map's resolution: add --resolution "
                                 "D (Å).")
        return analyse(self.atoms, self.q, sigma=self.params.sigma, resolution=self.resolution,
                       expected_model=self.expected_model(expected_model), archive=archive, window=window,
                       min_entries=min_entries, n_worst=n_worst)

    def residue_table(self, expected_model=None) -> pd.DataFrame:
        """One row per residue: Q, its parts, MapQ's smoothed values; expected Q and flags with a resolution."""
        return self.analysis(expected_model=expected_model)["residues"]

    def chain_table(self, expected_model=None) -> pd.DataFrame:
        """Per (chain, type) mean Q over atoms, residue counts, Q-resolution; expected Q with a resolution."""
        return self.analysis(expected_model=expected_model)["chains"]

    def model_table(self, expected_model=None) -> pd.DataFrame:
        """Model-wide mean Q: all atoms, protein, nucleic, water, ion and each ligand type."""
        return self.analysis(expected_model=expected_model)["model"]

    def summary(self) -> dict:
        """A JSON-ready summary: inputs, versions, parameters, map statistics, counts, mean Q."""
        a = self.atoms
        heavy = self.scored
        counts = {"atoms": int(len(a)), "scored": int(heavy.sum()), "hydrogens": int(a.is_hydrogen.sum()),
                  "hydrogens_without_heavy_atom": int(np.isnan(self.q[a.is_hydrogen]).sum()),
                  "outside_map": int(self.outside[heavy].sum()),
                  "residues": int(len(np.unique(a.residue))), "chains": int(len(np.unique(a.chain)))}
        by_type = {}
        for t in MOLECULE_TYPES:
            n = int((heavy & (a.mol_type == t)).sum())
            if n:
                by_type[t] = {"atoms": n, "mean_q": self.mean_q(t)}
        return {
            "inputs": {"model": self.model.path, "map": self.dmap.path},
            "command": self.command,
            "versions": versions(),
            "parameters": {**self.params.as_dict(), "emdb_compat": self.emdb_compat,
                           "resolution": self.resolution, "threads": self.threads},
            "map": {**self.dmap.describe(), "stats": self.map_stats.as_dict(), "notes": self.dmap.notes},
            "counts": counts,
            "mean_q": self.mean_q(),
            "mean_q_by_type": by_type,
            "elapsed_s": round(self.elapsed, 3),
        }


def score(model, map, *, sigma: float = 0.4, resolution: float | None = None,
          emdb_compat: bool = False, num_points: int = 8, shell_step: float = 0.1,
          max_radius: float = 2.0, tries: int = 50, threads: int | None = None,
          profiles: bool = False, permissive: bool = False, subset: np.ndarray | None = None,
          progress: Callable[[int, int], None] | None = None) -> QScoreResult:
    """Q-score every atom of ``model`` in ``map``.

    Parameters
    ----------
    model : str, Path or Model — PDB/mmCIF file (optionally .gz) or a model already read
    map : str, Path or DensityMap — MRC/CCP4 file (optionally .gz) or a map already read
    sigma : float — reference Gaussian width, Å (0.4 as the EMDB; 0.6 as the 2020 paper and MapQ)
    resolution : float, optional — the map's resolution in Å (recorded; used by the analyses)
    emdb_compat : bool — reproduce multi-process MapQ, whose numbers the EMDB publishes (SPEC §2)
    num_points, shell_step, max_radius, tries : advanced; MapQ's defaults
    threads : int, optional — numba threads (default: all cores)
    profiles : bool — keep the radial profile of every atom (``result.profile``)
    permissive : bool — accept integer-mode maps
    subset : (n,) bool, optional — score only these atoms (the others get NaN, and so do averages
        over them); each subset atom gets the Q of a whole-model run (every heavy atom is still a
        neighbour).  For profiles of a few atoms of a large model.
    progress : callable(done, total), optional

    Returns
    -------
    QScoreResult

    Raises
    ------
    qscore.errors.QScoreError — on any bad input (missing/corrupt files, unusable map or model,
        parameters out of range)
    """
    t0 = time.perf_counter()
    params = QParams(sigma=sigma, num_points=num_points, shell_step=shell_step,
                     max_radius=max_radius, tries=tries)
    if resolution is not None:
        from .analysis.expected import check_resolution

        check_resolution(resolution)
    n_threads = set_threads(threads)
    mdl = model if isinstance(model, Model) else read_model(model)
    dmap = map if isinstance(map, DensityMap) else read_map(map, permissive=permissive)
    if not isinstance(mdl, Model) or not isinstance(dmap, DensityMap):
        raise ParameterError("score() takes a model path or Model and a map path or DensityMap.")
    atoms = mdl.atoms
    outside = ~dmap.contains(atoms.coords)
    heavy = ~atoms.is_hydrogen
    if not heavy.any():  # a file is refused on reading; a Model built in memory is refused here
        raise ModelError(f"Model '{mdl.path}' has only hydrogen atoms ({len(atoms)}); Q-scores are computed "
                         "for non-hydrogen atoms. Give the full model.")
    if outside[heavy].all():
        lo, hi = dmap.extent
        raise ModelError(
            f"All {int(heavy.sum())} atoms of model '{mdl.path}' lie outside the box of map "
            f"'{dmap.path or '(in memory)'}' (x {lo[0]:.1f}–{hi[0]:.1f}, y {lo[1]:.1f}–{hi[1]:.1f}, "
            f"z {lo[2]:.1f}–{hi[2]:.1f} Å); model and map are not aligned. Check that they belong "
            "together and that the map's origin is right.")
    scored_map = emdb_compatible_map(dmap) if emdb_compat else dmap
    res = compute_qscores(atoms.coords, atoms.is_hydrogen, atoms.residue, scored_map, params,
                          profiles=profiles, subset=subset, progress=progress)
    return QScoreResult(model=mdl, dmap=scored_map, q=res["q"], outside=outside,
                        params=params, map_stats=dmap.stats(), resolution=resolution,
                        emdb_compat=emdb_compat, threads=n_threads,
                        elapsed=time.perf_counter() - t0, profile=res.get("profile"),
                        kept=res.get("kept"), radii=res["radii"])


def read_archive(path, *, resolution_column: str | None = None, q_column: str | None = None) -> pd.DataFrame:
    """Read an archive table of (resolution, Q) entries: CSV, TSV (``.tsv``/``.txt``) or ``.gz`` of either.

    Columns are recognised by name, case-insensitively (resolution; qscore, Q-score, q_score, Q), or
    named explicitly.  Returns a DataFrame with columns ``resolution`` (Å) and ``q``.

    Raises
    ------
    InputFileError — missing or unreadable file
    ParameterError — no recognisable resolution or Q column (the message lists the columns found)
    """
    from .analysis.relative import archive_from_table
    from .errors import InputFileError

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"Archive file '{p}' does not exist; give a CSV of (resolution, Q-score) entries, "
                             "e.g. from 'qscore archive download'.")
    name = p.name.lower().removesuffix(".gz")
    sep = "\t" if name.endswith((".tsv", ".txt", ".tab")) else ","
    try:
        table = pd.read_csv(p, sep=sep, comment=None, low_memory=False)
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        raise InputFileError(f"Archive file '{p}' could not be read as a table ({exc}); give a CSV with "
                             "resolution and Q-score columns.") from None
    try:
        return archive_from_table(table, resolution_column=resolution_column, q_column=q_column)
    except ParameterError as exc:
        raise ParameterError(f"Archive file '{p}': {exc}") from None


def analysis_inputs(sigma: float, resolution: float | None, archive_path=None, resolution_column: str | None = None,
                    q_column: str | None = None, window: float = 0.5, min_entries: int = 10, expected_model=None):
    """Check and read what :meth:`QScoreResult.analysis` needs, before any Q is computed.

    ``qscore score`` and ``qscore batch`` (for each entry) call it, so bad input fails before anything is
    written.

    Parameters
    ----------
    sigma : float — the reference-Gaussian width Q will be computed with, Å
    resolution : float or None — the map's resolution, Å
    archive_path : str or Path, optional — archive CSV for percentiles; ``'emdb'`` for the table that
        ``qscore archive download`` saved
    resolution_column, q_column : str, optional — the archive's columns (default: recognised by name)
    window : float — percentile window w, Å
    min_entries : int — fewest archive entries within ±w for Q_relative_resolution
    expected_model : str or Path, optional — JSON curve from ``qscore archive stats --save-model``

    Returns
    -------
    (archive, curve) — the archive table (or None) and the ExpectedModel (or None: the built-in one)

    Raises
    ------
    ParameterError, InputFileError — on any bad value or file (the message names the option)
    """
    from .analysis.expected import ExpectedModel, check_resolution, model_for_sigma

    if resolution is not None:
        check_resolution(resolution)
    if window is None or not window >= 0:
        raise ParameterError(f"--window {window} Å must be ≥ 0 (the paper uses 0.5 Å, the EMDB 1.0 Å).")
    if min_entries < 1:
        raise ParameterError(f"--min-entries {min_entries} must be at least 1.")
    curve = None
    if expected_model is not None:
        curve = ExpectedModel.from_json(expected_model)
        if abs(curve.sigma - sigma) > 1e-9:
            raise ParameterError(f"The expected-Q model '{expected_model}' was fitted for sigma {curve.sigma} Å "
                                 f"but --sigma is {sigma} Å; use --sigma {curve.sigma} or a model for this sigma.")
    elif resolution is not None:
        model_for_sigma(sigma)  # refuses a sigma without a curve
    archive = None
    if archive_path is not None:
        if resolution is None:
            raise ParameterError("--archive needs the map's resolution for the percentiles: add --resolution D (Å).")
        if str(archive_path).lower() == "emdb":
            from .commands.archive_download import cached_archive_path

            archive_path = cached_archive_path()
            if not archive_path.is_file():
                raise ParameterError(f"No downloaded EMDB archive at '{archive_path}'; run 'qscore archive "
                                     "download' first, or give a CSV file with --archive FILE.")
        archive = read_archive(archive_path, resolution_column=resolution_column, q_column=q_column)
        archive.attrs["source"] = str(archive_path)  # named by the report
    return archive, curve


def output_stem(model_path, map_path) -> str:
    """``<model>__Q__<map>``: the stem MapQ gives its output files."""
    def stem(p):
        name = Path(p).name
        for suffix in (".gz",):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        return Path(name).stem

    return f"{stem(model_path)}__Q__{stem(map_path)}"
