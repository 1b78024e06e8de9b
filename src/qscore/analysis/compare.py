"""Compare Q-scores: several models in one map, or one model in several maps (``qscore compare``).

Each input was scored and analysed on its own, as ``qscore score`` does it; this module only lines
the results up.  Matching
    atoms by chain, residue number, insertion code, atom name and altloc (:data:`ATOM_KEY`);
    residues by chain, residue number and insertion code (:data:`RESIDUE_KEY`).  Hydrogens are left
    out, as from every average.  An atom or residue missing from any input is *unmatched*: counted,
    listed, and kept out of the atom differences.
Differences
    ``dQ_<label>`` is that input's Q minus the first input's (the reference), per atom, per residue
    value (``dQ_residue_<label>``, ``dQ_backbone_<label>``, …), per chain and for the model.  A residue
    value is each input's own mean over its own atoms (``n_atoms_<label>`` says how many).
Which input is better where
    For each residue, ``Q_spread`` is the highest Q_residue minus the lowest; when it reaches
    ``min_difference`` (default :data:`DEFAULT_MIN_DIFFERENCE`, 0.05) ``best`` names the input with
    the highest Q_residue, otherwise ``best`` is 'similar'.  0.05 is about a quarter of the change
    in expected Q between maps 1 Å apart in resolution near 3 Å (the expected-Q curve falls by
    0.15–0.2 per Å there), well above the Q-score's own rounding and noise between equivalent
    copies.  A residue outside the map or in no density in any input is not judged ('not comparable').
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ModelError, ParameterError, QScoreWarning
from ..text import plural
from .results import Analysis, records

__all__ = ["ATOM_KEY", "RESIDUE_KEY", "DEFAULT_MIN_DIFFERENCE", "RESIDUE_VALUES", "MOSTLY_UNMATCHED",
           "CompareInput", "Comparison", "check_labels", "check_min_difference", "match_atoms", "compare_residues",
           "compare_chains", "compare"]

ATOM_KEY = ("chain", "res_num", "ins_code", "atom_name", "altloc")
RESIDUE_KEY = ("chain", "res_num", "ins_code")
DEFAULT_MIN_DIFFERENCE = 0.05
#: the residue values compared (those an input's residue table has)
RESIDUE_VALUES = ("Q_residue", "Q_backbone", "Q_sidechain", "Q_phosphate", "Q_sugar", "Q_base")
#: fewer matched atoms than this share of the smaller input: the inputs are probably different molecules
MOSTLY_UNMATCHED = 0.5
_BAND = ("Q_peak", "Q_low95", "Q_high95", "Q_flag")
_LABEL_OK = re.compile(r"^[A-Za-z0-9_.+-]{1,40}$")


@dataclass
class CompareInput:
    """One scored and analysed input of a comparison.

    Attributes
    ----------
    label : str — its name in column names (``Q_<label>``)
    model, map : str — the files (or descriptions)
    atoms : DataFrame — the atom table (``QScoreResult.atom_table()``: identity, Q, status, is_hydrogen)
    analysis : Analysis — its analysis (residue, chain and model tables, expected Q)
    resolution : float or None — the map's resolution it was analysed at, Å
    """

    label: str
    model: str
    map: str
    atoms: pd.DataFrame
    analysis: Analysis
    resolution: float | None = None


def check_min_difference(min_difference) -> float:
    """``min_difference`` checked: a finite Q difference ≥ 0.

    Parameters
    ----------
    min_difference : float

    Returns
    -------
    float
    """
    if min_difference is None or not (np.isfinite(min_difference) and min_difference >= 0):
        raise ParameterError(f"min_difference={min_difference} must be a Q difference ≥ 0 (default 0.05).",
                             parameter="min_difference")
    return float(min_difference)


def check_labels(labels) -> list:
    """Labels checked: unique, 1–40 characters of letters, digits and ``_ . + -``.

    Parameters
    ----------
    labels : sequence of str

    Returns
    -------
    list of str
    """
    labels = [str(x) for x in labels]
    for x in labels:
        if not _LABEL_OK.match(x):
            raise ParameterError(f"labels= {x!r} cannot name a column: use 1–40 letters, digits or _ . + -.",
                                 parameter="labels")
    if len(set(labels)) != len(labels):
        raise ParameterError(f"labels= {labels} repeat a label; give each input its own.", parameter="labels")
    return labels


def _heavy_atoms(inp: CompareInput) -> tuple:
    t = inp.atoms[~inp.atoms["is_hydrogen"].to_numpy(bool)]
    dup = t.duplicated(list(ATOM_KEY))
    return t[~dup], int(dup.sum())


def match_atoms(inputs) -> tuple:
    """Line up the non-hydrogen atoms of the inputs by :data:`ATOM_KEY`.

    Parameters
    ----------
    inputs : sequence of CompareInput — the first is the reference of the differences

    Returns
    -------
    (matched, unmatched, notes) — matched: DataFrame, the key, res_name, element, mol_type, then
    ``Q_<label>`` and ``status_<label>`` per input and ``dQ_<label>`` per input after the first;
    unmatched: DataFrame of the atoms not in every input (``input`` names where it is); notes: list of str

    Raises
    ------
    ModelError — no atom is in every input
    """
    key = list(ATOM_KEY)
    notes, tables = [], []
    for inp in inputs:
        t, n_dup = _heavy_atoms(inp)
        if n_dup:
            notes.append(f"{inp.label}: {plural(n_dup, 'atom')} with the same chain, residue, atom name and altloc as "
                         "an earlier one; the first of each is compared.")
        tables.append(t)
    first = inputs[0].label
    matched = tables[0][key + ["res_name", "element", "mol_type", "Q", "status"]].rename(
        columns={"Q": f"Q_{first}", "status": f"status_{first}"})
    for inp, t in zip(inputs[1:], tables[1:], strict=True):
        matched = matched.merge(t[key + ["Q", "status"]].rename(
            columns={"Q": f"Q_{inp.label}", "status": f"status_{inp.label}"}), on=key, how="inner")
    if matched.empty:
        raise ModelError(f"The inputs have no atom in common: {', '.join(i.model for i in inputs)}. Atoms are matched "
                         "by chain, residue number, insertion code, atom name and altloc; check that the models use "
                         "the same chain ids and residue numbering.")
    for inp in inputs[1:]:
        matched[f"dQ_{inp.label}"] = matched[f"Q_{inp.label}"] - matched[f"Q_{first}"]
    keys = pd.MultiIndex.from_frame(matched[key])
    unmatched = []
    for inp, t in zip(inputs, tables, strict=True):
        out = t[~pd.MultiIndex.from_frame(t[key]).isin(keys)]
        unmatched.append(out[key + ["res_name"]].assign(input=inp.label))
    unmatched = pd.concat(unmatched, ignore_index=True)
    smaller = min(len(t) for t in tables)
    if len(matched) < MOSTLY_UNMATCHED * smaller:
        msg = (f"Only {len(matched):,} of {smaller:,} atoms of the smaller input are in every input "
               f"({', '.join(f'{i.label}: {len(t):,}' for i, t in zip(inputs, tables, strict=True))} atoms): these "
               "may be models of different molecules, or numbered differently.")
        notes.append(msg)
        warnings.warn(msg, QScoreWarning, stacklevel=2)
    return matched.reset_index(drop=True), unmatched, notes


def _residue_columns(inp: CompareInput) -> pd.DataFrame:
    r = inp.analysis.residues
    cols = [c for c in ("res_name", "mol_type", "n_atoms", "status", *RESIDUE_VALUES, *_BAND) if c in r.columns]
    t = r[list(RESIDUE_KEY) + cols].copy()
    if "Q_peak" in t.columns:
        t["Q_vs_peak"] = t["Q_residue"] - t["Q_peak"]
    return t.rename(columns={c: f"{c}_{inp.label}" for c in t.columns if c not in RESIDUE_KEY})


def _first_of(table: pd.DataFrame, columns: list) -> pd.Series:
    out = table[columns[0]].copy()
    for c in columns[1:]:
        out = out.where(out.notna(), table[c])
    return out


def compare_residues(inputs, *, min_difference: float = DEFAULT_MIN_DIFFERENCE) -> pd.DataFrame:
    """One row per residue of any input, with each input's values, the differences and which is better.

    Parameters
    ----------
    inputs : sequence of CompareInput
    min_difference : float — the smallest spread of Q_residue that names a better input

    Returns
    -------
    DataFrame — the key, res_name, mol_type, ``in_all``, per input its residue values, band and flag
    (``<column>_<label>``), ``dQ_<value>_<label>`` after the first, ``Q_spread``, ``best``
    """
    labels = [i.label for i in inputs]
    table = None
    for inp in inputs:
        t = _residue_columns(inp)
        table = t if table is None else table.merge(t, on=list(RESIDUE_KEY), how="outer")
    names = [f"res_name_{x}" for x in labels]
    table.insert(3, "res_name", _first_of(table, names))
    table.insert(4, "mol_type", _first_of(table, [f"mol_type_{x}" for x in labels]))
    present = table[[f"n_atoms_{x}" for x in labels]].notna().to_numpy()
    table.insert(5, "in_all", present.all(axis=1))
    differs = table[names].nunique(axis=1, dropna=True) > 1
    table.insert(6, "res_name_differs", differs.to_numpy())
    table = table.drop(columns=names + [f"mol_type_{x}" for x in labels])
    first = labels[0]
    for value in RESIDUE_VALUES:
        for x in labels[1:]:
            if f"{value}_{x}" in table and f"{value}_{first}" in table:
                table[f"dQ_{value[2:]}_{x}"] = table[f"{value}_{x}"] - table[f"{value}_{first}"]
    q = table[[f"Q_residue_{x}" for x in labels]].to_numpy(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # residues without a value in some input
        spread = np.nanmax(q, axis=1) - np.nanmin(q, axis=1)
    spread[~present.all(axis=1)] = np.nan
    table["Q_spread"] = spread
    status = table[[f"status_{x}" for x in labels]].to_numpy(object)
    comparable = present.all(axis=1) & (status == "scored").all(axis=1) & np.isfinite(q).all(axis=1)
    best = np.where(spread >= min_difference, np.array(labels, dtype=object)[np.argmax(np.nan_to_num(q, nan=-9), 1)],
                    "similar")
    best = np.where(comparable, best, "not comparable")
    best = np.where(present.all(axis=1), best, ["only in " + ", ".join(np.array(labels)[p]) for p in present])
    table["best"] = best
    return table.sort_values(list(RESIDUE_KEY), kind="stable").reset_index(drop=True)


def compare_chains(inputs, residues: pd.DataFrame) -> pd.DataFrame:
    """One row per chain and molecule type: each input's mean Q and atoms, the differences, and how many
    residues each input is better in.

    Parameters
    ----------
    inputs : sequence of CompareInput
    residues : DataFrame — from :func:`compare_residues`

    Returns
    -------
    DataFrame
    """
    labels = [i.label for i in inputs]
    table = None
    for inp in inputs:
        c = inp.analysis.chains
        cols = [x for x in ("n_residues", "n_atoms", "Q", "Q_emdb", "Q_flag") if x in c.columns]
        t = c[["chain", "type", "mol_type"] + cols].rename(columns={x: f"{x}_{inp.label}" for x in cols})
        table = t if table is None else table.merge(t, on=["chain", "type", "mol_type"], how="outer")
    for x in labels[1:]:
        table[f"dQ_{x}"] = table[f"Q_{x}"] - table[f"Q_{labels[0]}"]
    groups = residues.groupby(["chain", "mol_type"], sort=False)["best"]
    for x in [*labels, "similar"]:
        counts = groups.apply(lambda b, x=x: int((b == x).sum())).rename(f"residues_{x}" if x == "similar"
                                                                          else f"residues_best_{x}")
        table = table.merge(counts.reset_index(), on=["chain", "mol_type"], how="left")
    filled = [c for c in table.columns if c.startswith("residues_")]
    table[filled] = table[filled].fillna(0).astype(int)
    return table


@dataclass
class Comparison:
    """The lined-up Q-scores of several inputs (:func:`compare`).

    Attributes
    ----------
    mode : str — 'models' (several models in one map) or 'maps' (one model in several maps)
    inputs : list of CompareInput
    atoms : DataFrame — matched atoms (:func:`match_atoms`)
    unmatched : DataFrame — atoms not in every input
    residues : DataFrame — :func:`compare_residues`
    chains : DataFrame — :func:`compare_chains`
    summary : DataFrame — one row per input: files, resolution, Q, Q_emdb, expected Q and flags, atoms
        matched, mean dQ over matched atoms, residues where it is best
    min_difference : float
    notes : list of str — what the reader should know (unmatched atoms, different resolutions, …)
    published : PublishedComparison or None — set by the pipeline with ``published=``
    """

    mode: str
    inputs: list
    atoms: pd.DataFrame
    unmatched: pd.DataFrame
    residues: pd.DataFrame
    chains: pd.DataFrame
    summary: pd.DataFrame
    min_difference: float
    notes: list = field(default_factory=list)
    published: object = None

    @property
    def labels(self) -> list:
        return [i.label for i in self.inputs]

    def ligands(self) -> pd.DataFrame:
        """The residue rows of ligands and ions (each copy), in model order."""
        return self.residues[self.residues["mol_type"].isin(("ligand", "ion"))]

    def largest_differences(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` comparable residues with the largest Q_spread (largest first)."""
        r = self.residues[self.residues["Q_spread"].notna() & (self.residues["best"] != "not comparable")]
        return r.sort_values("Q_spread", ascending=False, kind="stable").head(n)

    def to_dict(self) -> dict:
        """The JSON form: summary, notes, chains, the largest differences, ligands, unmatched atoms."""
        keys = list(RESIDUE_KEY) + ["res_name", "mol_type", "best", "Q_spread"]
        qcols = [f"Q_residue_{x}" for x in self.labels] + [f"dQ_residue_{x}" for x in self.labels[1:]]
        out = {"mode": self.mode, "labels": self.labels, "min_difference": self.min_difference,
               "notes": list(self.notes), "summary": records(self.summary), "chains": records(self.chains),
               "largest_differences": records(self.largest_differences(), keys + qcols),
               "ligands": records(self.ligands(), keys + qcols + [f"Q_flag_{x}" for x in self.labels]),
               "atoms_matched": int(len(self.atoms)),
               "atoms_unmatched": {x: int((self.unmatched["input"] == x).sum()) for x in self.labels},
               "unmatched_atoms_first": records(self.unmatched.head(50))}
        if self.published is not None:
            out["published"] = self.published.to_dict()
        return out


def _summary(inputs, atoms: pd.DataFrame, residues: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for inp in inputs:
        a = inp.analysis
        overall = a.overall
        row = {"label": inp.label, "model": inp.model, "map": inp.map, "resolution": inp.resolution,
               "n_atoms": int((~inp.atoms["is_hydrogen"].to_numpy(bool)).sum()), "Q": overall.get("Q"),
               "Q_emdb": a.emdb.value if a.emdb is not None else np.nan}
        if a.expected is not None:
            row.update(Q_peak=a.expected.Q_peak, Q_low95=a.expected.Q_low95, Q_high95=a.expected.Q_high95,
                       Q_flag=overall.get("Q_flag"))
        if a.flag_counts is not None:
            row.update(residues_below=a.flag_counts.residues_below, residues_above=a.flag_counts.residues_above)
        if a.correlation is not None:
            for name, cc in a.correlation.sections().items():
                if not cc.skipped:
                    row.update({f"CC_{name}": cc.cc, f"CC_mean_{name}": cc.cc_mean})
        row["atoms_matched"] = len(atoms)
        row["mean_Q_matched"] = float(atoms[f"Q_{inp.label}"].mean())
        row["mean_dQ_matched"] = float(atoms[f"dQ_{inp.label}"].mean()) if f"dQ_{inp.label}" in atoms else 0.0
        row["residues_best"] = int((residues["best"] == inp.label).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def _resolution_notes(mode: str, inputs) -> list:
    res = [i.resolution for i in inputs]
    known = {r for r in res if r is not None}
    if len(known) > 1 or (known and None in res):
        text = ", ".join(f"{i.label} {'?' if i.resolution is None else f'{i.resolution:g} Å'}" for i in inputs)
        return [f"The {'maps' if mode == 'maps' else 'inputs'} are at different resolutions ({text}): Q is expected "
                "to be higher at the better resolution, so each input is also judged against its own expected band "
                "(Q_flag_<label>; Q_vs_peak_<label> is Q_residue minus that input's expected Q_peak)."]
    return []


def compare(inputs, *, mode: str, min_difference: float = DEFAULT_MIN_DIFFERENCE) -> Comparison:
    """Line up the Q-scores of scored and analysed inputs.

    Parameters
    ----------
    inputs : sequence of CompareInput — the first is the reference of the differences (one input only
        when it is compared with published values)
    mode : str — 'models' (one map) or 'maps' (one model)
    min_difference : float — the smallest residue Q difference that names a better input (≥ 0)

    Returns
    -------
    Comparison

    Raises
    ------
    ParameterError — no input, a bad mode, labels or min_difference
    ModelError — no atom in every input
    """
    inputs = list(inputs)
    if mode not in ("models", "maps"):
        raise ParameterError(f"mode={mode!r} must be 'models' or 'maps'.", parameter="mode")
    if not inputs:
        raise ParameterError("compare() needs inputs=: CompareInput of each scored input.", parameter="inputs")
    check_min_difference(min_difference)
    check_labels([i.label for i in inputs])
    atoms, unmatched, notes = match_atoms(inputs)
    residues = compare_residues(inputs, min_difference=min_difference)
    n_not_all = int((~residues["in_all"]).sum())
    if n_not_all:
        notes.append(f"{plural(n_not_all, 'residue')} are not in every input ('only in …' in the best column).")
    n_names = int(residues["res_name_differs"].sum())
    if n_names:
        notes.append(f"{plural(n_names, 'residue')} have different names in different inputs (res_name_differs).")
    notes += _resolution_notes(mode, inputs)
    return Comparison(mode=mode, inputs=inputs, atoms=atoms, unmatched=unmatched, residues=residues,
                      chains=compare_chains(inputs, residues), summary=_summary(inputs, atoms, residues),
                      min_difference=float(min_difference), notes=notes)
