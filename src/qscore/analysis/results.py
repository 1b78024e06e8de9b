"""The typed result of the analysis after the Q-scores: tables, expected Q, flags, Q-resolution, percentiles, CC.

:func:`qscore.analysis.groups.analyse` makes an :class:`Analysis` once per run; the CLI's printout,
the JSON summary, the batch row and the HTML report all read its attributes.  ``to_dict()`` gives
the JSON form (the ``analysis`` section of ``<model>__Q__<map>_summary.json``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .emdb import EmdbQ

__all__ = ["FLAG_HELP", "ExpectedQ", "FlagCounts", "QResolution", "RelativeQ", "ModelMapCC", "MapModelCorrelation",
           "Analysis", "records"]

FLAG_HELP = "below: Q < Q_low95; above: Q > Q_high95 (not commonly observed at this resolution)"


def _plain(v):
    """A JSON-neutral value: numpy scalars to Python, NaN to None."""
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and not math.isfinite(v) else v


def records(table: pd.DataFrame, columns=None) -> list:
    """The rows of a table as dicts with NaN as None (JSON-ready).

    Parameters
    ----------
    table : DataFrame
    columns : sequence of str, optional — only these columns (those the table has)

    Returns
    -------
    list of dict
    """
    cols = list(table.columns) if columns is None else [c for c in columns if c in table.columns]
    return [{k: _plain(v) for k, v in row.items()} for row in table[cols].to_dict(orient="records")]


@dataclass(frozen=True)
class ExpectedQ:
    """The expected Q at the map's resolution (docs/science.md §5): the curve's Q_mean, Q_peak and 95% band."""

    source: str
    sigma: float
    Q_mean: float
    Q_peak: float
    Q_low95: float
    Q_high95: float

    def to_dict(self) -> dict:
        """JSON form, with the flags' meaning."""
        return {**asdict(self), "flags": FLAG_HELP}


@dataclass(frozen=True)
class FlagCounts:
    """How many polymer residues and ligands lie below Q_low95 or above Q_high95, and how many are not
    judged because atoms of theirs lie outside the map or in no density."""

    residues_below: int
    residues_above: int
    residues: int
    ligands_below: int
    ligands_above: int
    ligands: int
    residues_outside_map: int = 0
    residues_no_density: int = 0
    ligands_outside_map: int = 0
    ligands_no_density: int = 0

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class QResolution:
    """The resolution at which the whole model's Q is expected (the curve inverted), and the 2020
    linear relations inverted per molecule type (MapQ's Est.Res.).

    value : float or None — Å; None with ``note`` saying why (beyond the curve, no curve for the sigma)
    curve : str or None — the curve's source
    by_type_2020 : dict {group: Å or None} — protein, nucleic, water, ion rows of the model table
    """

    value: float | None
    note: str | None
    curve: str | None
    by_type_2020: dict

    def to_dict(self) -> dict:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class RelativeQ:
    """Where the model's Q falls in an archive (docs/science.md §6), in percent, with the paper's readings."""

    Q_relative_all: float
    Q_relative_resolution: float | None
    n_archive: int
    n_window: int | None
    window: float
    min_entries: int
    resolution: float | None
    note: str | None
    reading_all: str = ""
    reading_resolution: str = ""
    archive: dict | None = None
    sigma_note: str | None = None
    q_placed: float | None = None  # the model Q placed among the entries
    q_definition: str = ""  # which definition it follows (Q_emdb by default, as the EMDB archive's)

    def to_dict(self) -> dict:
        """JSON form (``sigma_note`` only when there is one)."""
        d = asdict(self)
        if d["sigma_note"] is None:
            del d["sigma_note"]
        return d


@dataclass(frozen=True)
class ModelMapCC:
    """CC and CC-mean of the map with one model map (docs/science.md §8), or why it was skipped.

    ``values`` holds every number computed (see :func:`qscore.analysis.correlation.molmap_correlation`,
    :func:`~qscore.analysis.emodel.emodel_correlation`) or ``{'skipped': reason}``.
    """

    values: dict

    @property
    def skipped(self) -> str | None:
        return self.values.get("skipped")

    @property
    def cc(self) -> float:
        return float(self.values.get("cc", math.nan))

    @property
    def cc_mean(self) -> float:
        return float(self.values.get("cc_mean", math.nan))

    @property
    def n_points(self) -> int:
        return int(self.values.get("n_points", 0))

    @property
    def b_clamped(self) -> int:
        return int(self.values.get("b_clamped", 0))

    def to_dict(self) -> dict:
        """JSON form."""
        return dict(self.values)


@dataclass(frozen=True)
class MapModelCorrelation:
    """Both map–model correlations at one resolution; a model map left out is None."""

    resolution: float
    threshold: float
    molmap: ModelMapCC | None = None
    emodel: ModelMapCC | None = None

    def sections(self) -> dict:
        """{'molmap': ModelMapCC, 'emodel': ModelMapCC} of those computed or skipped."""
        return {k: v for k, v in (("molmap", self.molmap), ("emodel", self.emodel)) if v is not None}

    def to_dict(self) -> dict:
        """JSON form: resolution, threshold and a section per model map."""
        return {"resolution": self.resolution, "threshold": self.threshold,
                **{k: v.to_dict() for k, v in self.sections().items()}}


@dataclass
class Analysis:
    """Everything computed from per-atom Q after scoring (see :func:`qscore.analysis.groups.analyse`).

    Attributes
    ----------
    sigma : float — the reference-Gaussian width, Å
    resolution : float or None — the map's resolution, Å
    residues, chains, model : DataFrame — the residue, chain and model tables (with expected Q and
        flags when a resolution is given; Q-resolution columns in the chain and model tables)
    expected : ExpectedQ or None — None without a resolution
    flag_counts : FlagCounts or None — None without a resolution
    q_resolution : QResolution
    relative : RelativeQ or None — with an archive only
    correlation : MapModelCorrelation or None — added by the pipeline with a resolution
    n_worst : int — how many of the worst residues the summary lists
    expected_note : str or None — why there is no expected Q although a resolution was given (outside
        the range the curve was fitted on)
    emdb : EmdbQ or None — Q_emdb, the EMDB's average, per model, chain and residue (:mod:`qscore.analysis.emdb`)
    local : LocalResolution or None — Q read against a local-resolution map
        (:mod:`qscore.analysis.local_resolution`)
    """

    sigma: float
    resolution: float | None
    residues: pd.DataFrame
    chains: pd.DataFrame
    model: pd.DataFrame
    expected: ExpectedQ | None
    flag_counts: FlagCounts | None
    q_resolution: QResolution
    relative: RelativeQ | None = None
    correlation: MapModelCorrelation | None = None
    n_worst: int = 5
    expected_note: str | None = None
    emdb: EmdbQ | None = None
    local: object = None

    @property
    def overall(self) -> dict:
        """The model table's 'all' row (mean Q over every non-H atom; Q_flag with a resolution)."""
        return records(self.model.iloc[:1])[0]

    def worst_residues(self) -> pd.DataFrame:
        """The :attr:`n_worst` polymer residues with the lowest Q_residue (ties in table order)."""
        r = self.residues
        ok = (r["mol_type"].isin(("protein", "nucleic")) & r["Q_residue"].notna()).to_numpy(dtype=bool)
        if "status" in r:  # a residue outside the map or in no density is not a badly fitted one
            ok = ok & (r["status"] == "scored").to_numpy(dtype=bool)
        rows = np.flatnonzero(ok)  # the rows found and ranked first, then only the few taken from the table
        return r.iloc[rows[np.argsort(r["Q_residue"].to_numpy(dtype=np.float64)[rows], kind="stable")[:self.n_worst]]]

    def ligands(self) -> pd.DataFrame:
        """Every ligand residue (each copy of each ligand), lowest Q first — those outside the map or in no
        density after the ones scored."""
        lig = self.residues[self.residues["mol_type"] == "ligand"]
        if "status" not in lig:
            return lig.sort_values("Q_residue", kind="stable")
        return lig.assign(_unscored=lig["status"] != "scored").sort_values(
            ["_unscored", "Q_residue"], kind="stable").drop(columns="_unscored")

    def to_dict(self) -> dict:
        """The JSON form: the ``analysis`` section of the run's summary (correlation is kept apart)."""
        out: dict = {"sigma": float(self.sigma), "resolution": self.resolution,
                     "expected": None if self.expected is None else self.expected.to_dict(),
                     "relative": None if self.relative is None else self.relative.to_dict()}
        if self.flag_counts is not None:
            out["flag_counts"] = self.flag_counts.to_dict()
        if self.resolution is None:
            out["note"] = ("No resolution given: expected Q, flags and percentiles need the map's resolution; "
                           "add --resolution D (Å).")
        elif self.expected_note:
            out["note"] = self.expected_note
        if self.emdb is not None:
            out["emdb"] = self.emdb.to_dict()
        if self.local is not None:
            out["local_resolution"] = self.local.to_dict()
        out["q_resolution"] = self.q_resolution.to_dict()
        out["model"] = records(self.model)
        out["chains"] = records(self.chains)
        out["worst_residues"] = records(self.worst_residues(), RESIDUE_SUMMARY_COLUMNS)
        out["ligands"] = records(self.ligands(), RESIDUE_SUMMARY_COLUMNS)
        return out


#: residue columns listed for the worst residues and the ligands in the JSON
RESIDUE_SUMMARY_COLUMNS = ("chain", "res_num", "ins_code", "res_name", "mol_type", "n_atoms", "Q_residue",
                           "Q_backbone", "Q_sidechain", "Q_flag", "local_res", "Q_flag_local", "reading")
