"""The numbers of MapQ's per-residue table ``<model>__Q__<map>_All.txt``, computed as MapQ computes them.

:func:`mapq_table` turns per-atom Q and the residue table into what :mod:`qscore.io.mapq_files`
writes; the layout, and why the file keeps MapQ's quirks, are described there.  MapQ's rules:

* chain lines: the mean Q over the chain's non-H atoms; the types of its residues (Protein,
  Nucleic, Ion, Water, Other); the first of Protein, Nucleic, Ion, Water among them picks the
  2020 linear relation (sigma 0.6 Å, whatever the sigma) whose inverse is the Est.Res.;
* residue rows: MapQ's parts [backbone or phosphate, side chain or base, residue, sugar], a part
  a residue lacks counting 0; the expected Q of the row's type from an older pair of relations
  (:data:`ROW_RELATIONS`); ±k averages along the whole chain in order of residue number
  (:func:`qscore.analysis.groups.smooth_mapq`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .expected import LINEAR_2020
from .groups import smooth_mapq

__all__ = ["MAPQ_IONS", "ROW_RELATIONS", "CHAIN_RELATIONS", "WINDOWS", "MapQTable", "mapq_table", "mapq_label",
           "mapq_297_expected"]

#: residue names MapQ labels "Ion" (its ``chargedIons``)
MAPQ_IONS = frozenset({"MG", "NA", "CL", "CA", "ZN", "MN", "FE", "CO", "NI"})
#: the ±k windows (MapQ labels them 2k+1)
WINDOWS = (1, 2, 3, 5)
#: the relations (slope Å⁻¹, intercept) of the chain lines and the header: the 2020 ones for sigma 0.6 Å
CHAIN_RELATIONS = LINEAR_2020[0.6]
#: the older relations of MapQ's residue rows (ion and water rows use the 2020 ones)
ROW_RELATIONS = {"protein": (-0.1794, 1.1244), "nucleic": (-0.1574, 1.0673),
                 "ion": LINEAR_2020[0.6]["ion"], "water": LINEAR_2020[0.6]["water"]}
#: chain-line labels in the order MapQ tests them for the relation and Est.Res.
_CHAIN_KINDS = (("Protein", "protein"), ("Nucleic", "nucleic"), ("Ion", "ion"), ("Water", "water"))
_ROW_KIND = {"Protein": "protein", "Nucleic": "nucleic", "Ion": "ion", "Water": "water", "Other": "other"}


def mapq_label(mol_type: str, res_name: str) -> str:
    """MapQ's type of a residue.

    Parameters
    ----------
    mol_type : str — qscore's molecule type
    res_name : str — the residue name

    Returns
    -------
    str — Protein, Nucleic, Ion (:data:`MAPQ_IONS`), Water (HOH) or Other
    """
    if mol_type == "protein":
        return "Protein"
    if mol_type == "nucleic":
        return "Nucleic"
    if res_name.upper() in MAPQ_IONS:
        return "Ion"
    if res_name.upper() == "HOH":
        return "Water"
    return "Other"


@dataclass(frozen=True)
class MapQTable:
    """What MapQ's ``_All.txt`` holds, as numbers.

    Attributes
    ----------
    resolution : float — the resolution the expected values are for, Å
    chains : DataFrame — one row per chain, in order of first appearance: ``chain``, ``Q_chain`` (mean
        over non-H atoms), ``labels`` (list of its residue types in order of appearance), ``kind``
        (the relation used: 'protein', 'nucleic', 'ion', 'water', or '' for none) and ``est_res`` (Å;
        0 where there is no relation)
    residues : DataFrame — one row per residue, chains in order of appearance, residues in order of
        residue number then insertion code: ``chain``, ``res_name``, ``res_num``, ``kind`` (row type),
        ``bb``, ``sc``, ``qres``, ``sugar`` (MapQ's parts, 0 where missing), ``Q_residue`` (NaN without
        heavy atoms), ``has_sc``, ``expected`` (NaN for Other) and ``avg<2k+1>_<j>`` (±k means of part j)
    chain_types : DataFrame — MapQ 2.9.7's chain table: per chain (in order of first appearance) and
        residue type (Protein, Nucleic, Water or the residue name, in order of first appearance):
        ``chain``, ``type``, ``n_residues``, ``Q`` (mean over the type's non-H atoms with a Q)
    q_peak : dict — MapQ 2.9.7's expected Q at the resolution (:func:`mapq_297_expected`)
    """

    resolution: float
    chains: pd.DataFrame
    residues: pd.DataFrame
    chain_types: pd.DataFrame = field(default_factory=pd.DataFrame)
    q_peak: dict = field(default_factory=dict)


def mapq_297_expected(resolution: float, sigma: float) -> dict:
    """MapQ 2.9.7's expected Q at a resolution (its ``ExpectedQScore``): the 2025 cubic Q_peak with its
    95% bounds for sigma 0.6 Å (±0.1) or 0.4 Å, and 1.0 (0 to 1) for any other sigma, as MapQ has it.

    Parameters
    ----------
    resolution : float — Å
    sigma : float — Å

    Returns
    -------
    dict — ``expected``, ``low``, ``high`` and ``equation`` (MapQ's text, with ``RES`` and ``POWER``)
    """
    x = float(resolution)
    if abs(sigma - 0.6) < 1e-5:
        e = -0.0019064058 * x ** 3 + 0.0499875375 * x ** 2 - 0.4513945578 * x + 1.5361860733
        return {"expected": e, "low": e - 0.1, "high": e + 0.1,
                "equation": "-0.0019064058*POWER(RES,3) + 0.0499875375*POWER(RES,2) - 0.4513945578*RES + 1.5361860733"}
    if abs(sigma - 0.4) < 1e-5:
        base = -0.0016 * x ** 3 + 0.0434 * x ** 2 - 0.3956 * x + 1.3366
        return {"expected": base + 0.024, "low": base - 0.126, "high": base + 0.109,
                "equation": "-0.0016*POWER(RES,3) + 0.0434*POWER(RES,2) - 0.3956*RES + 1.3366 + 0.024"}
    return {"expected": 1.0, "low": 0.0, "high": 1.0, "equation": "1.0"}


def _chain_types(atoms, q, use) -> pd.DataFrame:
    """MapQ 2.9.7's per-chain, per-type rows (see :class:`MapQTable`)."""
    kind = np.asarray(atoms.mol_type, dtype=str)
    name = np.asarray(atoms.res_name, dtype=str)
    label = np.where(kind == "protein", "Protein", np.where(kind == "nucleic", "Nucleic",
                                                             np.where(name == "HOH", "Water", name)))
    frame = pd.DataFrame({"chain": np.asarray(atoms.chain, dtype=str), "type": label, "residue": atoms.residue,
                          "q": np.where(use, q, np.nan)})
    rows = []
    for (chain, kind_), part in frame.groupby(["chain", "type"], sort=False):
        values = part["q"].dropna()
        if len(values):
            rows.append({"chain": chain, "type": kind_, "n_residues": int(part["residue"].nunique()),
                         "Q": float(values.mean())})
    return pd.DataFrame(rows, columns=["chain", "type", "n_residues", "Q"])


def mapq_table(atoms, q, residues: pd.DataFrame, *, resolution: float, sigma: float = 0.6) -> MapQTable:
    """MapQ's chain and residue values (rules: module docstring).

    Parameters
    ----------
    atoms : qscore.types.Atoms
    q : (n,) float — per-atom Q (hydrogens are ignored)
    residues : DataFrame — the residue table of (atoms, q), :func:`qscore.analysis.groups.residue_table`
    resolution : float — the map's resolution, Å (MapQ's ``res=``)
    sigma : float — the sigma Q was computed with, Å (MapQ 2.9.7's expected Q depends on it)

    Returns
    -------
    MapQTable
    """
    resolution = float(resolution)
    if not (np.isfinite(resolution) and resolution > 0):
        raise ParameterError(f"resolution={resolution} Å must be a positive number (MapQ's res=, e.g. 3.2).",
                             parameter="resolution")
    q = np.asarray(q, dtype=np.float64)
    use = ~np.asarray(atoms.is_hydrogen, dtype=bool) & np.isfinite(q)
    kinds = residues["mol_type"].to_numpy(dtype=str)
    names = residues["res_name"].to_numpy(dtype=str)
    labels = np.array([mapq_label(k, n) for k, n in zip(kinds, names, strict=True)], dtype=object)
    row_kind = np.array([_ROW_KIND[lab] for lab in labels], dtype=object)
    prot, nuc = kinds == "protein", kinds == "nucleic"
    parts = np.column_stack([
        np.where(prot, residues["Q_backbone"], np.where(nuc, residues["Q_phosphate"], np.nan)),
        np.where(prot, residues["Q_sidechain"], np.where(nuc, residues["Q_base"], np.nan)),
        residues["Q_residue"].to_numpy(dtype=float),
        np.where(nuc, residues["Q_sugar"], np.nan),
    ])
    expected = {k: a * resolution + b for k, (a, b) in ROW_RELATIONS.items()}
    chain_col = residues["chain"].to_numpy()
    atom_chain = np.asarray(atoms.chain, dtype=str)
    chains, rows_out = [], []
    for chain in pd.unique(chain_col):
        rows = np.flatnonzero(chain_col == chain)
        mask = use & (atom_chain == chain)
        q_chain = float(q[mask].mean()) if mask.any() else float("nan")
        chain_labels = list(dict.fromkeys(labels[rows].tolist()))
        kind = next((k for lab, k in _CHAIN_KINDS if lab in chain_labels), "")
        est = (q_chain - CHAIN_RELATIONS[kind][1]) / CHAIN_RELATIONS[kind][0] if kind else 0.0
        chains.append({"chain": chain, "Q_chain": q_chain, "labels": labels[rows].tolist(), "kind": kind,
                       "est_res": est})
        rows = rows[np.lexsort((residues["ins_code"].to_numpy()[rows], residues["res_num"].to_numpy()[rows]))]
        values = np.nan_to_num(parts[rows], nan=0.0)
        block = pd.DataFrame({"chain": chain, "res_name": names[rows],
                              "res_num": residues["res_num"].to_numpy()[rows].astype(int), "kind": row_kind[rows],
                              "bb": values[:, 0], "sc": values[:, 1], "qres": values[:, 2], "sugar": values[:, 3],
                              "Q_residue": residues["Q_residue"].to_numpy(dtype=float)[rows],
                              "has_sc": ~np.isnan(parts[rows, 1]),
                              "expected": [expected.get(k, np.nan) for k in row_kind[rows]]})
        for k in WINDOWS:
            avg = smooth_mapq(values, k)
            for j in range(4):
                block[f"avg{2 * k + 1}_{j}"] = avg[:, j]
        rows_out.append(block)
    return MapQTable(resolution=resolution, chains=pd.DataFrame(chains),
                     residues=pd.concat(rows_out, ignore_index=True) if rows_out else pd.DataFrame(),
                     chain_types=_chain_types(atoms, q, use), q_peak=mapq_297_expected(resolution, sigma))
