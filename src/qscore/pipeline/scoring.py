"""Score a model in a map (:func:`score`) and analyse the result once (:meth:`QScoreResult.analyse`).

:func:`analysis_settings` checks and reads everything the analysis needs (archive, expected-Q curve,
window) before any Q is computed, so that bad input fails before anything is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..analysis.correlation import map_model_correlation
from ..analysis.expected import curve_for
from ..analysis.groups import analyse as analyse_tables
from ..analysis.groups import atom_status, check_archive_q
from ..analysis.local_resolution import (
    DEFAULT_SIDE_CHAIN_RESOLUTION,
    check_local_resolution,
    check_side_chain_resolution,
)
from ..analysis.relative import DEFAULT_MIN_ENTRIES, DEFAULT_WINDOW
from ..analysis.results import Analysis
from ..core.engine import compute_qscores, emdb_compatible_map, set_threads
from ..errors import ModelError, ParameterError
from ..io.archive import read_archive
from ..io.curves import read_expected_model
from ..io.maps import read_local_resolution, read_map
from ..io.models import read_model
from ..io.paths import cached_archive_path
from ..provenance import versions
from ..text import plural
from ..types import MOLECULE_TYPES, ArchiveData, DensityMap, ExpectedModel, MapStats, Model, QParams, check_resolution

__all__ = ["QScoreResult", "AnalysisSettings", "analysis_settings", "score", "check_aligned",
           "read_local_resolution_map"]


@dataclass(frozen=True)
class AnalysisSettings:
    """What the analysis after the Q-scores uses, checked and read (:func:`analysis_settings`).

    Attributes
    ----------
    archive : ArchiveData, optional — for the percentiles
    window : float — percentile window w, Å
    min_entries : int — fewest archive entries within ±w for Q_relative_resolution
    curve : ExpectedModel, optional — the user's expected-Q curve (None: the built-in one for the sigma)
    correlation : bool — also the map–model CC and CC-mean at the resolution
    n_worst : int — how many of the worst residues the summary lists
    archive_q : str — the model Q placed among the archive's entries: 'emdb' (Q_emdb) or 'mapq'
    local_resolution : DensityMap, optional — a local-resolution map (Å), checked
    local_resolution_values : dict, optional — what its check found (so that the analysis does not scan it again)
    side_chain_resolution : float — the local resolution (Å) at or below which side chains are resolved
    """

    archive: ArchiveData | None = None
    window: float = DEFAULT_WINDOW
    min_entries: int = DEFAULT_MIN_ENTRIES
    curve: ExpectedModel | None = None
    correlation: bool = False
    n_worst: int = 5
    archive_q: str = "emdb"
    local_resolution: DensityMap | None = None
    side_chain_resolution: float = DEFAULT_SIDE_CHAIN_RESOLUTION
    local_resolution_values: dict | None = None


def read_local_resolution_map(local_resolution) -> tuple:
    """A local-resolution map read (a path) or taken (a DensityMap), and its values checked.

    Parameters
    ----------
    local_resolution : str, Path, DensityMap or None

    Returns
    -------
    (DensityMap, dict) — the map and :func:`~qscore.analysis.local_resolution.check_local_resolution` of it;
    (None, None) for None
    """
    if local_resolution is None:
        return None, None
    dmap = local_resolution if isinstance(local_resolution, DensityMap) else read_local_resolution(local_resolution)
    return dmap, check_local_resolution(dmap)


def analysis_settings(sigma: float, resolution: float | None, *, archive=None, resolution_column: str | None = None,
                      q_column: str | None = None, drop_invalid: bool = False, window: float = DEFAULT_WINDOW,
                      min_entries: int = DEFAULT_MIN_ENTRIES, expected_model=None,
                      correlation: bool = False, archive_q: str = "emdb", local_resolution=None,
                      side_chain_resolution: float = DEFAULT_SIDE_CHAIN_RESOLUTION) -> AnalysisSettings:
    """Check and read what the analysis needs, before any Q is computed.

    Parameters
    ----------
    sigma : float — the reference-Gaussian width Q will be computed with, Å
    resolution : float or None — the map's resolution, Å
    archive : str, Path or ArchiveData, optional — archive table for percentiles; ``'emdb'`` for the
        table that ``qscore archive download`` saved (read by :func:`qscore.io.archive.read_archive`)
    resolution_column, q_column, drop_invalid : how the archive table is read
    window : float — percentile window w, Å (the paper 0.5, the EMDB 1.0)
    min_entries : int — fewest archive entries within ±w for Q_relative_resolution
    expected_model : str, Path or ExpectedModel, optional — instead of the built-in curve (a JSON file
        from ``qscore archive stats --save-model``)
    correlation : bool — also the map–model CC and CC-mean (with a resolution)
    archive_q : str — the model Q placed among the archive's entries: 'emdb' (Q_emdb, as the EMDB archive's
        own values are defined; default) or 'mapq' (MapQ's mean over every non-H atom)
    local_resolution : str, Path or DensityMap, optional — a local-resolution map in Å (MRC/CCP4): Q read
        against it (:mod:`qscore.analysis.local_resolution`)
    side_chain_resolution : float — the local resolution (Å) at or below which side chains are resolved (4.0)

    Returns
    -------
    AnalysisSettings

    Raises
    ------
    ParameterError, InputFileError — on any bad value or file (the message names the parameter)
    """
    if resolution is not None:
        check_resolution(resolution)
    if window is None or not window >= 0:
        raise ParameterError(f"window={window} Å must be ≥ 0 (the paper uses 0.5 Å, the EMDB 1.0 Å).",
                             parameter="window")
    if min_entries < 1:
        raise ParameterError(f"min_entries={min_entries} must be at least 1.", parameter="min_entries")
    check_archive_q(archive_q)
    check_side_chain_resolution(side_chain_resolution)
    local_map, local_values = read_local_resolution_map(local_resolution)
    curve = expected_model
    if curve is not None and not isinstance(curve, ExpectedModel):
        curve = read_expected_model(curve)
    curve_for(sigma, curve, required=resolution is not None)  # refuses a sigma without a curve
    table = archive
    if archive is not None and not isinstance(archive, ArchiveData):
        if resolution is None:
            raise ParameterError("archive= needs the map's resolution for the percentiles: give resolution= (Å).",
                                 parameter=("archive", "resolution"))
        path = archive
        if str(archive).lower() == "emdb":
            path = cached_archive_path()
            if not path.is_file():
                raise ParameterError(f"No downloaded EMDB archive at '{path}'; run 'qscore archive download' "
                                     "first, or give a CSV file with archive=FILE.", parameter="archive")
        table = read_archive(path, resolution_column=resolution_column, q_column=q_column, drop_invalid=drop_invalid)
    return AnalysisSettings(archive=table, window=float(window), min_entries=int(min_entries), curve=curve,
                            correlation=correlation, archive_q=archive_q, local_resolution=local_map,
                            local_resolution_values=local_values,
                            side_chain_resolution=float(side_chain_resolution))


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
    map_stats : MapStats — of the map as read
    resolution : float or None — the map's resolution in Å, if given
    emdb_compat : bool; threads : int; elapsed : float — s
    profile, kept, radii : radial profiles (with ``profiles=True``; see :func:`qscore.core.engine.compute_qscores`)
    command : str — the command line, set by the caller (recorded in the summary)
    analysis : Analysis or None — set by :meth:`analyse`, once
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
    command: str = ""
    analysis: Analysis | None = field(default=None, repr=False)

    @property
    def atoms(self):
        """The model's :class:`~qscore.types.Atoms`."""
        return self.model.atoms

    @property
    def scored(self) -> np.ndarray:
        """Mask of the atoms that enter averages: non-hydrogen atoms."""
        return ~self.atoms.is_hydrogen

    @property
    def status(self) -> np.ndarray:
        """(n,) str — what each atom's Q stands for: 'scored', 'outside map' (the atom lies outside the map
        box) or 'no density' (the map does not vary around it: MapQ's Q = 0); see
        :func:`qscore.analysis.groups.atom_status`."""
        return atom_status(self.q, self.outside, self.atoms.is_hydrogen)

    def atom_table(self, rows=None) -> pd.DataFrame:
        """One row per atom: identity, coordinates, Q, whether it lies outside the map, and (analysed against a
        local-resolution map) its local resolution; only the atoms ``rows`` (indices or a mask) when given."""
        def pick(values):
            return values if rows is None else np.asarray(values)[rows]

        t = self.atoms.table(rows)
        t["Q"] = pick(self.q)
        t["outside_map"] = pick(self.outside)
        t["status"] = pick(self.status)
        if self.analysis is not None and self.analysis.local is not None:
            t["local_res"] = pick(self.analysis.local.atom_values)
        return t

    def mean_q(self, mol_type: str | None = None) -> float:
        """Mean Q over the scored (non-H) atoms, optionally of one molecule type; NaN if none."""
        mask = self.scored
        if mol_type is not None:
            mask = mask & (self.atoms.mol_type == mol_type)
        return float(np.mean(self.q[mask])) if mask.any() else float("nan")

    def mean_q_inside(self) -> float:
        """Mean Q over the non-H atoms inside the map with density around them (status 'scored'); NaN if none."""
        mask = self.scored & (self.status == "scored")
        return float(np.mean(self.q[mask])) if mask.any() else float("nan")

    def curve(self, settings: AnalysisSettings | None = None) -> ExpectedModel | None:
        """The expected-Q curve of this result (:func:`qscore.analysis.expected.curve_for`); None when the
        sigma has none and no resolution was given."""
        return curve_for(self.params.sigma, settings.curve if settings else None, required=self.resolution is not None)

    def analyse(self, settings: AnalysisSettings | None = None) -> Analysis:
        """The residue, chain and model tables with expected Q, flags, Q-resolution, percentiles and CC.

        Computed once: the first call (with ``settings``, or the defaults: the built-in curve, no archive,
        no correlation) caches :attr:`analysis`; a later call without settings returns it.

        Parameters
        ----------
        settings : AnalysisSettings, optional — from :func:`analysis_settings`
        """
        if settings is None and self.analysis is not None:
            return self.analysis
        s = settings or AnalysisSettings()
        analysis = analyse_tables(self.atoms, self.q, sigma=self.params.sigma, resolution=self.resolution,
                                  curve=self.curve(s), archive=s.archive, window=s.window, min_entries=s.min_entries,
                                  n_worst=s.n_worst, status=self.status, archive_q=s.archive_q,
                                  local_map=s.local_resolution, side_chain_resolution=s.side_chain_resolution,
                                  density_map=self.dmap, local_values=s.local_resolution_values)
        if s.correlation and self.resolution is not None:
            analysis.correlation = map_model_correlation(self.atoms, self.dmap, self.resolution, lenient=True,
                                                         source=self.model.path)
        self.analysis = analysis
        return analysis

    def residue_table(self) -> pd.DataFrame:
        """One row per residue: Q, its parts, MapQ's smoothed values; expected Q and flags with a resolution."""
        return self.analyse().residues

    def chain_table(self) -> pd.DataFrame:
        """Per (chain, type) mean Q over atoms, residue counts, Q-resolution; expected Q with a resolution."""
        return self.analyse().chains

    def model_table(self) -> pd.DataFrame:
        """Model-wide mean Q: all atoms, protein, nucleic, water, ion and each ligand type."""
        return self.analyse().model

    def counts(self) -> dict:
        """Atoms, scored atoms, hydrogens (and those without a heavy atom), atoms outside the map, residues, chains."""
        a = self.atoms
        heavy = self.scored
        return {"atoms": int(len(a)), "scored": int(heavy.sum()), "hydrogens": int(a.is_hydrogen.sum()),
                "hydrogens_without_heavy_atom": int(np.isnan(self.q[a.is_hydrogen]).sum()),
                "outside_map": int(self.outside[heavy].sum()),
                "no_density": int((self.status[heavy] == "no density").sum()),
                "residues": len(pd.unique(a.residue)), "chains": len(pd.unique(a.codes("chain")[0]))}

    def summary(self) -> dict:
        """A JSON-ready summary: inputs, versions, parameters, map statistics, counts, mean Q; and, once
        analysed, the analysis and the map–model correlation."""
        a = self.atoms
        heavy = self.scored
        by_type = {}
        for t in MOLECULE_TYPES:
            n = int((heavy & (a.mol_type == t)).sum())
            if n:
                by_type[t] = {"atoms": n, "mean_q": self.mean_q(t)}
        out = {
            "inputs": {"model": self.model.path, "map": self.dmap.path},
            "command": self.command,
            "versions": versions(),
            "parameters": {**self.params.as_dict(), "emdb_compat": self.emdb_compat,
                           "resolution": self.resolution, "threads": self.threads},
            "map": {**self.dmap.describe(), "stats": self.map_stats.as_dict(), "notes": self.dmap.notes},
            "counts": self.counts(),
            "mean_q": self.mean_q(),
            "mean_q_inside_map": self.mean_q_inside(),
            "mean_q_by_type": by_type,
            "elapsed_s": round(self.elapsed, 3),
        }
        if self.analysis is not None:
            out["analysis"] = self.analysis.to_dict()
            if self.analysis.correlation is not None:
                out["correlation"] = self.analysis.correlation.to_dict()
        return out


def _inputs(model, map, permissive: bool) -> tuple:
    mdl = model if isinstance(model, Model) else read_model(model)
    dmap = map if isinstance(map, DensityMap) else read_map(map, permissive=permissive)
    if not isinstance(mdl, Model) or not isinstance(dmap, DensityMap):
        raise ParameterError("score() takes model= as a path or Model and map= as a path or DensityMap.",
                             parameter=("model", "map"))
    return mdl, dmap


def check_aligned(mdl: Model, dmap: DensityMap) -> None:
    """Raise ModelError when every non-hydrogen atom of the model lies outside the map's box.

    Parameters
    ----------
    mdl : Model
    dmap : DensityMap
    """
    heavy = ~mdl.atoms.is_hydrogen
    if np.any(dmap.contains(mdl.atoms.coords[heavy])):
        return
    lo, hi = dmap.extent
    raise ModelError(
        f"{'All ' if heavy.sum() > 1 else ''}{plural(int(heavy.sum()), 'atom')} of model '{mdl.path}' "
        f"{'lie' if heavy.sum() > 1 else 'lies'} outside the box of map "
        f"'{dmap.path or '(in memory)'}' (x {lo[0]:.1f}–{hi[0]:.1f}, y {lo[1]:.1f}–{hi[1]:.1f}, "
        f"z {lo[2]:.1f}–{hi[2]:.1f} Å); model and map are not aligned. Check that they belong "
        "together and that the map's origin is right.")


def score(model, map, *, sigma: float = 0.4, resolution: float | None = None,
          emdb_compat: bool = False, num_points: int = 8, shell_step: float = 0.1,
          max_radius: float = 2.0, tries: int = 50, threads: int | None = None,
          profiles: bool = False, permissive: bool = False, subset: np.ndarray | None = None,
          progress: Callable[[int, int], None] | None = None, command: str = "") -> QScoreResult:
    """Q-score every atom of ``model`` in ``map``.

    Parameters
    ----------
    model : str, Path or Model — PDB/mmCIF file (optionally .gz) or a model already read
    map : str, Path or DensityMap — MRC/CCP4 file (optionally .gz) or a map already read
    sigma : float — reference Gaussian width, Å (0.4 as the EMDB; 0.6 as the 2020 paper and MapQ)
    resolution : float, optional — the map's resolution in Å (recorded; used by the analyses)
    emdb_compat : bool — reproduce multi-process MapQ, whose numbers the EMDB publishes (docs/science.md §2)
    num_points, shell_step, max_radius, tries : advanced; MapQ's defaults
    threads : int, optional — numba threads (default: all cores)
    profiles : bool — keep the radial profile of every atom (``result.profile``)
    permissive : bool — accept integer-mode maps
    subset : (n,) bool, optional — score only these atoms (the others get NaN, and so do averages
        over them); each subset atom gets the Q of a whole-model run (every heavy atom is still a
        neighbour).  For profiles of a few atoms of a large model.
    progress : callable(done, total), optional
    command : str — the command line to record in the summary (the CLI passes its own)

    Returns
    -------
    QScoreResult

    Raises
    ------
    qscore.errors.QScoreError — on any bad input (missing/corrupt files, unusable map or model,
        parameters out of range)
    """
    t0 = time.perf_counter()
    params = QParams(sigma=sigma, num_points=num_points, shell_step=shell_step, max_radius=max_radius, tries=tries)
    if resolution is not None:
        check_resolution(resolution)
    n_threads = set_threads(threads)
    mdl, dmap = _inputs(model, map, permissive)
    atoms = mdl.atoms
    outside = ~dmap.contains(atoms.coords)
    heavy = ~atoms.is_hydrogen
    if not heavy.any():  # a file is refused on reading; a Model built in memory is refused here
        raise ModelError(f"Model '{mdl.path}' has only hydrogen atoms ({len(atoms)}); Q-scores are computed "
                         "for non-hydrogen atoms. Give the full model.")
    check_aligned(mdl, dmap)
    scored_map = emdb_compatible_map(dmap) if emdb_compat else dmap
    res = compute_qscores(atoms.coords, atoms.is_hydrogen, atoms.residue, scored_map, params,
                          profiles=profiles, subset=subset, progress=progress)
    return QScoreResult(model=mdl, dmap=scored_map, q=res["q"], outside=outside, params=params,
                        map_stats=dmap.stats(), resolution=resolution, emdb_compat=emdb_compat, threads=n_threads,
                        elapsed=time.perf_counter() - t0, profile=res.get("profile"), kept=res.get("kept"),
                        radii=res["radii"], command=command)
