"""Per-atom Q turned into what a structural biologist reads: residues, chains and the model (docs/science.md §4).

Everything here takes plain arrays (an :class:`~qscore.io.models.Atoms` and its per-atom Q) and
returns pandas tables; nothing reads files or prints.  Hydrogens never enter an average.

Residue parts
    Amino acids: backbone N, CA, C, O (and the terminal OXT/OT1/OT2), side chain every other
    non-H atom (glycine has none → NaN).  Nucleotides: phosphate P, OP1, OP2, OP3, O1P, O2P, O3P,
    O5', C5', O3'; sugar C1', C2', C3', C4', O4', O2'; base the rest.  ``*`` is read as ``'``.

Smoothed values (MapQ's "Average over 3/5/7/11 residues")
    Worked out from MapQ's own ``*_All.txt`` output and confirmed in its source: the residues of
    one chain and polymer type are put in order of residue number (then insertion code); the
    value of residue i averaged over ±k is the plain mean of the *residue values* of the
    neighbours i−k … i+k in that list (by position, so gaps in the numbering are ignored),
    truncated at the chain ends (fewer residues, not padded).  A residue that lacks the part
    (e.g. glycine's side chain) enters its neighbours' averages as 0, and its own smoothed value
    of that part is left empty — both exactly as MapQ does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..types import ArchiveData, ExpectedModel
from .emdb import EMDB_Q_DEFINITION, EmdbQ, appearance_rank, emdb_q
from .expected import flag_q, linear_expected_q, linear_q_resolution, q_resolution
from .local_resolution import DEFAULT_SIDE_CHAIN_RESOLUTION, local_analysis
from .relative import DEFAULT_MIN_ENTRIES, DEFAULT_WINDOW, describe_relative, relative_q
from .results import Analysis, ExpectedQ, FlagCounts, QResolution, RelativeQ

#: half-widths k of the smoothing windows (±k residues); MapQ labels them by 2k+1 = 3, 5, 7, 11
WINDOWS = (1, 2, 3, 5)
#: what an atom's Q stands for: scored in the map, outside the map box (Q near 0, no information), or
#: in a region where the map does not vary (MapQ's Q = 0 for zero variance, e.g. a zoned map's zeros)
ATOM_STATUSES = ("scored", "outside map", "no density")
#: a chain or the model is not judged against the band when more than this share of its atoms lie
#: outside the map or in no density (a residue or ligand is not judged when any of its atoms do)
UNSCORED_SHARE = 0.1
#: molecule types judged against no band: the entry curve is for whole models, and the 2020 relations
#: for waters and ions give an expected value (Q_expected_2020) without a band
UNBANDED_TYPES = ("water", "ion")
NO_BAND_REASON = "none: waters and ions have no 95% band (the 2020 relation gives only an expected value)"
POLYMER_TYPES = ("protein", "nucleic")
PROTEIN_BACKBONE = frozenset({"N", "CA", "C", "O", "OXT", "OT1", "OT2"})
NUCLEIC_PHOSPHATE = frozenset({"P", "OP1", "OP2", "OP3", "O1P", "O2P", "O3P", "O5'", "C5'", "O3'"})
NUCLEIC_SUGAR = frozenset({"C1'", "C2'", "C3'", "C4'", "O4'", "O2'"})
PROTEIN_PARTS = ("backbone", "sidechain")
NUCLEIC_PARTS = ("phosphate", "sugar", "base")
PARTS = PROTEIN_PARTS + NUCLEIC_PARTS
#: chain-table type labels of the molecule types (ligands and ions are labelled by residue name)
TYPE_LABELS = {"protein": "Protein", "nucleic": "Nucleic", "water": "Water"}


def atom_parts(names, mol_types) -> np.ndarray:
    """The part of its residue each atom belongs to.

    Parameters
    ----------
    names : (n,) str — atom names (``*`` is accepted for ``'``)
    mol_types : (n,) str — molecule type of each atom's residue

    Returns
    -------
    (n,) object — 'backbone' or 'sidechain' (protein), 'phosphate', 'sugar' or 'base' (nucleic),
    '' for other molecule types
    """
    names = np.char.replace(np.asarray(names, dtype=str), "*", "'")
    mol_types = np.asarray(mol_types, dtype=str)
    out = np.full(len(names), "", dtype=object)
    prot = mol_types == "protein"
    bb = np.isin(names, list(PROTEIN_BACKBONE))
    out[prot & bb] = "backbone"
    out[prot & ~bb] = "sidechain"
    nuc = mol_types == "nucleic"
    phos = np.isin(names, list(NUCLEIC_PHOSPHATE))
    sugar = np.isin(names, list(NUCLEIC_SUGAR))
    out[nuc & phos] = "phosphate"
    out[nuc & sugar] = "sugar"
    out[nuc & ~phos & ~sugar] = "base"
    return out


def window_label(k: int) -> str:
    """Column suffix of the ±k window: ``avg3`` for k=1 (MapQ's 'Average over 3 residues')."""
    return f"avg{2 * k + 1}"


def _check(atoms, q) -> tuple:
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (len(atoms),):
        raise ParameterError(f"q= has shape {q.shape}; expected one value per atom ({len(atoms)},)", parameter="q")
    use = ~np.asarray(atoms.is_hydrogen, dtype=bool) & np.isfinite(q)
    return q, use


def _group_mean(index: np.ndarray, q: np.ndarray, mask: np.ndarray, n: int) -> tuple:
    counts = np.bincount(index[mask], minlength=n)
    sums = np.bincount(index[mask], weights=q[mask], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), counts


def smooth_mapq(values: np.ndarray, k: int) -> np.ndarray:
    """MapQ's ±k smoothing of per-residue values along one chain (see the module docstring).

    Parameters
    ----------
    values : (m,) or (m, p) float — residue values in chain order; NaN where a residue lacks the part
    k : int — half-width, residues

    Returns
    -------
    same shape — the truncated-window means, NaN(s) where ``values`` is NaN
    """
    v = np.asarray(values, dtype=np.float64)
    flat = v.ndim == 1
    v2 = v[:, None] if flat else v
    m = len(v2)
    cs = np.vstack([np.zeros((1, v2.shape[1])), np.cumsum(np.nan_to_num(v2, nan=0.0), axis=0)])
    i = np.arange(m)
    lo = np.maximum(i - k, 0)
    hi = np.minimum(i + k + 1, m)
    out = (cs[hi] - cs[lo]) / (hi - lo)[:, None]
    out[np.isnan(v2)] = np.nan
    return out[:, 0] if flat else out


def atom_status(q, outside, is_hydrogen) -> np.ndarray:
    """The status of each atom's Q (:data:`ATOM_STATUSES`).

    Parameters
    ----------
    q : (n,) float — per-atom Q
    outside : (n,) bool — the atom lies outside the map box
    is_hydrogen : (n,) bool — hydrogens take their heavy atom's status

    Returns
    -------
    (n,) object — 'outside map', 'no density' (an atom inside the box whose Q is exactly 0: the map does
    not vary around it) or 'scored'
    """
    q = np.asarray(q, dtype=np.float64)
    outside = np.asarray(outside, dtype=bool)
    # taken from three strings by code (np.full of a string into an object array is several times slower)
    return np.array(["scored", "no density", "outside map"], dtype=object)[np.where(outside, 2, q == 0.0)]


def _status_counts(index: np.ndarray, status, use: np.ndarray, n: int) -> tuple:
    """(atoms outside the map, atoms without density) of each group of ``index``, non-H atoms only."""
    if status is None:
        zeros = np.zeros(n, dtype=np.int64)
        return zeros, zeros
    status = np.asarray(status, dtype=object)
    return (np.bincount(index[use & (status == "outside map")], minlength=n),
            np.bincount(index[use & (status == "no density")], minlength=n))


def residue_table(atoms, q, *, windows=WINDOWS, status=None) -> pd.DataFrame:
    """One row per residue (file order): identity, atom count, Q and its parts, smoothed values.

    Parameters
    ----------
    atoms : qscore.io.models.Atoms
    q : (n,) float — per-atom Q (hydrogens are ignored)
    windows : half-widths k of the ±k smoothing windows (default 1, 2, 3, 5)
    status : (n,) str, optional — :func:`atom_status`; adds the counts and the residue's status

    Returns
    -------
    DataFrame with columns chain, res_num, ins_code, res_name, mol_type, n_atoms (non-H), with a status
    ``n_outside_map``, ``n_no_density`` and ``status`` ('outside map' or 'no density' when any of its atoms
    is, else 'scored'), Q_residue,
    Q_backbone, Q_sidechain (amino acids), Q_phosphate, Q_sugar, Q_base (nucleotides), and for
    each window k the columns ``Q_<part>_avg<2k+1>`` for residue, backbone, side chain, phosphate,
    sugar and base (polymer residues only).  Parts a residue lacks are NaN.
    """
    q, use = _check(atoms, q)
    residue = np.asarray(atoms.residue, dtype=np.int64)
    n_res = int(residue.max()) + 1 if len(residue) else 0
    first = np.full(n_res, -1, dtype=np.int64)
    first[residue[::-1]] = np.arange(len(residue))[::-1]
    present = first >= 0
    first = first[present]
    parts = atom_parts(atoms.name, atoms.mol_type)

    table = pd.DataFrame({
        "chain": atoms.chain[first], "res_num": atoms.res_num[first], "ins_code": atoms.ins_code[first],
        "res_name": atoms.res_name[first], "mol_type": atoms.mol_type[first],
    })
    q_res, counts = _group_mean(residue, q, use, n_res)
    table["n_atoms"] = counts[present]
    if status is not None:
        n_out, n_nod = _status_counts(residue, status, ~np.asarray(atoms.is_hydrogen, dtype=bool), n_res)
        table["n_outside_map"], table["n_no_density"] = n_out[present], n_nod[present]
        table["status"] = np.where(table["n_outside_map"] > 0, "outside map",
                                   np.where(table["n_no_density"] > 0, "no density", "scored"))
    table["Q_residue"] = q_res[present]
    for part in PARTS:
        table[f"Q_{part}"] = _group_mean(residue, q, use & (parts == part), n_res)[0][present]

    cols = ["Q_residue"] + [f"Q_{p}" for p in PARTS]
    smoothed = {f"{c}_{window_label(k)}": np.full(len(table), np.nan) for k in windows for c in cols}
    polymer = np.flatnonzero(table["mol_type"].isin(POLYMER_TYPES).to_numpy())
    # each chain's polymer residues of one type, by number and insertion code (stable: file order on ties)
    group = pd.factorize(table["chain"].to_numpy()[polymer])[0] * len(POLYMER_TYPES) + pd.factorize(
        table["mol_type"].to_numpy()[polymer])[0]
    perm = np.lexsort((atoms.ins_code[first][polymer], atoms.res_num[first][polymer], group))
    order = polymer[perm]
    bounds = np.flatnonzero(np.diff(group[perm], prepend=-1, append=-2))  # where each group starts, and the end
    values = table[cols].to_numpy(dtype=np.float64)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[a:b]
        for k in windows:
            avg = smooth_mapq(values[rows], k)
            for j, c in enumerate(cols):
                smoothed[f"{c}_{window_label(k)}"][rows] = avg[:, j]
    return pd.concat([table, pd.DataFrame(smoothed, index=table.index)], axis=1)


def _type_codes(atoms) -> tuple:
    """Chain-table type of each atom — Protein, Nucleic, Water, or the residue name (ligand, ion) — as codes into
    the distinct labels: ((n,) int64, (k,) str)."""
    name_codes, names = atoms.codes("res_name")
    mol_codes, mol_types = atoms.codes("mol_type")
    pair_codes, pairs = pd.factorize(name_codes * len(mol_types) + mol_codes)
    labels = [TYPE_LABELS.get(str(mol_types[p % len(mol_types)]), str(names[p // len(mol_types)]))
              for p in pairs.tolist()]
    label_codes, distinct = pd.factorize(np.asarray(labels, dtype=object))
    return label_codes[pair_codes].astype(np.int64), np.asarray(distinct, dtype=str)


def chain_table(atoms, q, *, status=None) -> pd.DataFrame:
    """Per (chain, type) averages over atoms (docs/science.md §4): chains, and types within each, in order.

    Parameters
    ----------
    atoms : qscore.types.Atoms
    q : (n,) float — per-atom Q (hydrogens ignored)

    Returns
    -------
    DataFrame with columns chain, type ('Protein', 'Nucleic', 'Water', or the residue name of a
    ligand or ion), mol_type, n_residues, n_atoms (non-H) and Q (mean over those atoms, MapQ's); with
    ``status`` also n_outside_map, n_no_density and Q_inside (the mean over the scored atoms only).
    """
    q, use = _check(atoms, q)
    st = np.asarray(status, dtype=object) if status is not None else np.full(len(q), "scored", dtype=object)
    # grouped by the codes of chain, type and molecule type (the strings put back after): the same groups, in
    # the same order of appearance, without hashing a million strings
    chain_codes, chains = atoms.codes("chain")
    type_codes, types = _type_codes(atoms)
    mol_codes, mol_types = atoms.codes("mol_type")
    frame = pd.DataFrame({"chain": chain_codes, "type": type_codes, "mol_type": mol_codes,
                          "residue": atoms.residue, "q": q, "outside": st == "outside map",
                          "no_density": st == "no density", "q_in": np.where(st == "scored", q, np.nan)})[use]
    grouped = frame.groupby(["chain", "type", "mol_type"], sort=False)
    out = grouped.agg(n_residues=("residue", "nunique"), n_atoms=("q", "size"), Q=("q", "mean"),
                      n_outside_map=("outside", "sum"), n_no_density=("no_density", "sum"),
                      Q_inside=("q_in", "mean")).reset_index()
    if status is None:
        out = out.drop(columns=["n_outside_map", "n_no_density", "Q_inside"])
    rank, _ = appearance_rank(frame["chain"].to_numpy(), len(chains))  # each chain's rows together
    out = out.iloc[np.argsort(rank[out["chain"].to_numpy()], kind="stable")].reset_index(drop=True)
    for column, names in (("chain", chains), ("type", types), ("mol_type", mol_types)):
        out[column] = names[out[column].to_numpy()] if len(out) else pd.Series([], dtype=str)
    return out


def model_table(atoms, q, *, status=None) -> pd.DataFrame:
    """Model-wide averages over atoms: all, protein, nucleic, water, ion, and each ligand type.

    Parameters
    ----------
    atoms : qscore.types.Atoms
    q : (n,) float — per-atom Q (hydrogens ignored)

    Returns
    -------
    DataFrame with columns group ('all', 'protein', 'nucleic', 'water', 'ion', or 'ligand <NAME>'),
    mol_type ('' for all), res_name (ligand rows), n_residues, n_atoms (non-H) and Q; with ``status``
    also n_outside_map, n_no_density and Q_inside (the mean over the scored atoms only).  Rows for
    types absent from the model are left out; 'all' is always first.
    """
    q, use = _check(atoms, q)
    residue = np.asarray(atoms.residue)
    mt = np.asarray(atoms.mol_type, dtype=str)
    if status is not None:
        st = np.asarray(status, dtype=object)
        scored, outside, no_density = st == "scored", st == "outside map", st == "no density"
    rows = [{"group": "all", "mol_type": "", "res_name": "", "mask": use}]
    for t in ("protein", "nucleic", "water", "ion"):
        rows.append({"group": t, "mol_type": t, "res_name": "", "mask": use & (mt == t)})
    lig = use & (mt == "ligand")
    for name in pd.unique(np.asarray(atoms.res_name)[lig]):
        rows.append({"group": f"ligand {name}", "mol_type": "ligand", "res_name": name,
                     "mask": lig & (atoms.res_name == name)})
    out = []
    for r in rows:
        m = r.pop("mask")
        if r["group"] != "all" and not m.any():
            continue
        row = {**r, "n_residues": len(pd.unique(residue[m])), "n_atoms": int(m.sum()),
               "Q": float(q[m].mean()) if m.any() else float("nan")}
        if status is not None:
            inside = m & scored
            row.update(n_outside_map=int((m & outside).sum()), n_no_density=int((m & no_density).sum()),
                       Q_inside=float(q[inside].mean()) if inside.any() else float("nan"))
        out.append(row)
    return pd.DataFrame(out)


def add_expected(table: pd.DataFrame, resolution: float, model: ExpectedModel, *, q_column: str = "Q",
                 mol_type_column: str = "mol_type") -> pd.DataFrame:
    """Add the expected Q at ``resolution`` and a flag to each row of a residue/chain/model table.

    Adds Q_expected (the entry curve's Q_mean), Q_peak, Q_low95, Q_high95 (from ``model``; NaN for waters
    and ions, which the entry curve does not describe), Q_flag
    ('below', 'within' or 'above' the 95% band; '' where Q is NaN and for waters and ions, which have no band;
    the row's ``status`` — 'outside map' or 'no density' — where it is not 'scored': for residues any of
    their atoms, for chains and the model more than :data:`UNSCORED_SHARE` of them), Q_flag_reference
    (what the flag was judged against, or why there is none) and Q_expected_2020 (the 2020
    linear relation for the row's molecule type at the model's sigma; NaN for ligands).

    Parameters
    ----------
    table : DataFrame with a Q column and a molecule-type column
    resolution : float — the map's resolution, Å (0 < d ≤ 50)
    model : ExpectedModel — the curve (built-in for the sigma, or one read with --expected-model)
    """
    values = model.evaluate(resolution)
    out = table.copy()
    if "status" not in out and "n_outside_map" in out:  # chains and the model: judged unless many atoms are not
        share_out = out["n_outside_map"] / out["n_atoms"].clip(lower=1)
        share_none = out["n_no_density"] / out["n_atoms"].clip(lower=1)
        out["status"] = np.where(share_out > UNSCORED_SHARE, "outside map",
                                 np.where(share_out + share_none > UNSCORED_SHARE, "no density", "scored"))
    unscored = out["status"].to_numpy() != "scored" if "status" in out else np.zeros(len(out), dtype=bool)
    # waters and ions have no 95% band of their own (the 2020 relations give an expected value only), and the
    # entry curve is not theirs: no entry-curve value, no flag, and they say so; Q_expected_2020 is theirs
    unbanded = out[mol_type_column].isin(UNBANDED_TYPES).to_numpy()
    out["Q_expected"] = np.where(unbanded, np.nan, float(values["Q_mean"]))
    out["Q_peak"] = np.where(unbanded, np.nan, float(values["Q_peak"]))
    out["Q_low95"] = np.where(unbanded, np.nan, float(values["Q_low95"]))
    out["Q_high95"] = np.where(unbanded, np.nan, float(values["Q_high95"]))
    flags = flag_q(out[q_column].to_numpy(dtype=float), float(values["Q_low95"]), float(values["Q_high95"]))
    flags = np.where(unbanded, "", flags)
    out["Q_flag"] = np.where(unscored, out["status"] if "status" in out else "", flags)  # never 'below' for
    # a residue whose atoms lie outside the map or in no density: its Q says nothing about the fit
    out["Q_flag_reference"] = np.where(
        unscored, "none: " + (out["status"].astype(str) if "status" in out else ""),
        np.where(unbanded, NO_BAND_REASON, f"{model.source}, 95% band at {resolution:g} Å"))
    lin = {t: linear_expected_q(resolution, t, model.sigma) for t in pd.unique(out[mol_type_column])}
    out["Q_expected_2020"] = out[mol_type_column].map(lin).astype(float)
    return out


def add_q_resolution(table: pd.DataFrame, sigma: float, *, q_column: str = "Q",
                     mol_type_column: str = "mol_type") -> pd.DataFrame:
    """Add Q_resolution_2020 to a chain or model table: the 2020 linear relation of the row's molecule
    type inverted (MapQ's "Est.Res."; NaN for ligands and for the all-atom row).

    The expected-Q curve is fitted to whole entries, so its inverse (:func:`whole_model_q_resolution`)
    is given for the whole model only, never per chain or type.

    Parameters
    ----------
    table : DataFrame — a chain or model table
    sigma : float — the reference-Gaussian width, Å
    q_column, mol_type_column : str — the table's Q and molecule-type columns

    Returns
    -------
    DataFrame — a copy with the column added
    """
    out = table.copy()
    out["Q_resolution_2020"] = [linear_q_resolution(v, t, sigma) for v, t in
                                zip(out[q_column].to_numpy(dtype=float), out[mol_type_column], strict=True)]
    return out


def whole_model_q_resolution(model: pd.DataFrame, curve: ExpectedModel | None) -> QResolution:
    """The Q-resolution of the whole model.

    Parameters
    ----------
    model : DataFrame — the model table (its 'all' row first), with Q_resolution_2020 (:func:`add_q_resolution`)
    curve : ExpectedModel or None — the expected-Q curve

    Returns
    -------
    QResolution — the curve inverted at the 'all' row's Q (inside the range the curve was fitted on),
    and the 2020 relations per molecule type
    """
    value, note, source = None, "no expected-Q curve for this sigma", None
    if curve is not None:
        value, note = q_resolution(float(model["Q"].iloc[0]), curve)
        source = curve.source
    by_type = {r["group"]: (None if not np.isfinite(r["Q_resolution_2020"]) else float(r["Q_resolution_2020"]))
               for _, r in model.iterrows() if r["group"] in TYPE_LABELS or r["group"] == "ion"}
    return QResolution(value=value, note=note, curve=source, by_type_2020=by_type)


def _expected_summary(residues: pd.DataFrame, resolution: float, curve: ExpectedModel) -> tuple:
    values = curve.evaluate(resolution)
    expected = ExpectedQ(source=curve.source, sigma=curve.sigma, **{k: float(v) for k, v in values.items()})
    poly = residues[residues["mol_type"].isin(POLYMER_TYPES)]
    lig = residues[residues["mol_type"] == "ligand"]
    flags = FlagCounts(residues_below=int((poly["Q_flag"] == "below").sum()),
                       residues_above=int((poly["Q_flag"] == "above").sum()), residues=int(len(poly)),
                       ligands_below=int((lig["Q_flag"] == "below").sum()),
                       ligands_above=int((lig["Q_flag"] == "above").sum()), ligands=int(len(lig)),
                       residues_outside_map=int((poly["Q_flag"] == "outside map").sum()),
                       residues_no_density=int((poly["Q_flag"] == "no density").sum()),
                       ligands_outside_map=int((lig["Q_flag"] == "outside map").sum()),
                       ligands_no_density=int((lig["Q_flag"] == "no density").sum()))
    return expected, flags


def relative_to_archive(q: float, resolution: float | None, archive: ArchiveData, *, sigma: float,
                        window: float = DEFAULT_WINDOW, min_entries: int = DEFAULT_MIN_ENTRIES,
                        definition: str = "") -> RelativeQ:
    """The model's percentiles in an archive (docs/science.md §6), with the paper's readings.

    Parameters
    ----------
    q : float — the model's mean Q
    resolution : float or None — the map's resolution, Å
    archive : ArchiveData
    sigma : float — the reference-Gaussian width Q was computed with, Å (a note says so unless 0.4)
    window : float — w, Å; min_entries : int — fewest entries within ±w for Q_relative_resolution
    definition : str — what ``q`` is (recorded: the archive's entries follow one definition)

    Returns
    -------
    RelativeQ
    """
    rel = relative_q(q, resolution, archive, window=window, min_entries=min_entries)
    sigma_note = None
    if abs(sigma - 0.4) > 1e-9:
        sigma_note = (f"Q here uses sigma {sigma:g} Å; the EMDB's archive Q-scores use sigma 0.4 Å. "
                      "Compare like with like (sigma 0.4).")
    source = {"resolution_column": archive.resolution_column, "q_column": archive.q_column, "rows": archive.rows,
              "dropped": archive.dropped, "source": archive.source}
    return RelativeQ(**rel, reading_all=describe_relative(rel["Q_relative_all"]),
                     reading_resolution=describe_relative(rel["Q_relative_resolution"]), archive=source,
                     sigma_note=sigma_note, q_placed=float(q), q_definition=definition)


#: which model Q is placed among an archive's entries: the EMDB's (the archive's own definition) or MapQ's mean
ARCHIVE_Q = ("emdb", "mapq")


def check_archive_q(archive_q: str) -> None:
    """Raise ParameterError unless ``archive_q`` is one of :data:`ARCHIVE_Q`."""
    if archive_q not in ARCHIVE_Q:
        raise ParameterError(f"archive_q={archive_q} is not a Q definition; use 'emdb' or 'mapq'.",
                             parameter="archive_q")


def _with_emdb(residues: pd.DataFrame, chains: pd.DataFrame, model: pd.DataFrame, emdb: EmdbQ) -> tuple:
    """The tables with a Q_emdb column: per residue (waters: none), per chain (the chain's value on each of
    its rows), and on the model's 'all' row."""
    keys = ["chain", "res_num", "ins_code", "res_name"]
    per_residue = emdb.residues[keys + ["Q_emdb"]].drop_duplicates(keys)
    residues = residues.merge(per_residue, on=keys, how="left", validate="many_to_one")
    chains = chains.assign(Q_emdb=chains["chain"].map(emdb.chains).astype(float))
    model = model.assign(Q_emdb=[emdb.value] + [np.nan] * (len(model) - 1))
    return residues, chains, model


def analyse(atoms, q, *, sigma: float, resolution: float | None = None, curve: ExpectedModel | None = None,
            archive: ArchiveData | None = None, window: float = DEFAULT_WINDOW,
            min_entries: int = DEFAULT_MIN_ENTRIES, n_worst: int = 5, status=None,
            archive_q: str = "emdb", local_map=None, side_chain_resolution: float = DEFAULT_SIDE_CHAIN_RESOLUTION,
            density_map=None, local_values: dict | None = None) -> Analysis:
    """Residue, chain and model tables with expected Q, flags, Q-resolution and percentiles.

    Parameters
    ----------
    atoms : qscore.types.Atoms
    q : (n,) float — per-atom Q
    sigma : float — the reference-Gaussian width Q was computed with, Å
    resolution : float, optional — the map's resolution, Å; without it no expected values or flags
    curve : ExpectedModel, optional — the curve for expected Q and Q-resolution
        (:func:`qscore.analysis.expected.curve_for` chooses it; needed with a resolution); at a resolution
        outside the range it was fitted on, no expected values or flags are given and
        ``Analysis.expected_note`` says why
    archive : ArchiveData, optional — for the percentiles (needs the resolution)
    window, min_entries : percentile window w (Å) and fewest entries in it
    n_worst : how many of the worst residues the summary lists
    status : (n,) str, optional — :func:`atom_status` of each atom: residues with atoms outside the map or
        in no density are flagged so (never 'below'), counted in every table, and left out of the worst
        residues; the chain and model tables add ``Q_inside`` (the mean over scored atoms only)
    archive_q : str — the model Q placed among the archive's entries: 'emdb' (Q_emdb, the EMDB archive's own
        definition, :mod:`qscore.analysis.emdb`) or 'mapq' (the mean over every non-H atom)
    local_map : DensityMap, optional — a local-resolution map (Å): each residue's local resolution, its band
        there and its reading (:mod:`qscore.analysis.local_resolution`; ``Analysis.local``)
    side_chain_resolution : float — the local resolution (Å) at or below which side chains are resolved
    density_map : DensityMap, optional — the scored map (a local-resolution map on another grid is noted)
    local_values : dict, optional — the local-resolution map's values, when checked already

    Returns
    -------
    Analysis
    """
    check_archive_q(archive_q)
    emdb = emdb_q(atoms, q)
    residues, chains, model = _with_emdb(residue_table(atoms, q, status=status), chain_table(atoms, q, status=status),
                                         model_table(atoms, q, status=status), emdb)
    expected = flags = note = None
    if resolution is not None and curve is not None and not curve.covers(resolution):
        note = curve.range_note(resolution)  # no extrapolation: no expected Q, band or flags
    elif resolution is not None:
        if curve is None:
            raise ParameterError(f"Expected Q at a resolution needs an expected-Q curve for sigma {sigma} Å; "
                                 "pass curve= (see qscore.analysis.expected.curve_for).", parameter="curve")
        residues = add_expected(residues, resolution, curve, q_column="Q_residue")
        chains = add_expected(chains, resolution, curve)
        model = add_expected(model, resolution, curve)
        expected, flags = _expected_summary(residues, resolution, curve)
    chains = add_q_resolution(chains, sigma)
    model = add_q_resolution(model, sigma)
    qres = whole_model_q_resolution(model, curve)
    if curve is not None:  # the curve's inverse is for the whole model only
        model.insert(len(model.columns) - 1, "Q_resolution", [qres.value if qres.value is not None else np.nan]
                     + [np.nan] * (len(model) - 1))
        model.insert(len(model.columns) - 1, "Q_resolution_note", [qres.note or ""] + [""] * (len(model) - 1))
    local = None
    if local_map is not None:
        residues, local = local_analysis(atoms, residues, local_map, curve=curve, resolution=resolution,
                                         q_resolution=qres.value, density_map=density_map,
                                         threshold=side_chain_resolution, values=local_values)
    relative = None
    if archive is not None:
        if resolution is None:
            raise ParameterError("Percentiles against an archive need the map's resolution: give resolution= (Å).",
                                 parameter="resolution")
        emdb_placed = archive_q == "emdb" and emdb.n_atoms > 0
        definition = f"Q_emdb: {EMDB_Q_DEFINITION}" if emdb_placed else "mean Q over every non-H atom (MapQ)"
        if archive_q == "emdb" and not emdb_placed:
            definition += "; the model has no atom Q_emdb counts (all in HOH or named H*)"
        relative = relative_to_archive(emdb.value if emdb_placed else float(model["Q"].iloc[0]), resolution,
                                       archive, sigma=sigma, window=window, min_entries=min_entries,
                                       definition=definition)
    return Analysis(sigma=float(sigma), resolution=resolution, residues=residues, chains=chains, model=model,
                    expected=expected, flag_counts=flags, q_resolution=qres, relative=relative, n_worst=n_worst,
                    expected_note=note, emdb=emdb, local=local)


__all__ = ["WINDOWS", "ATOM_STATUSES", "ARCHIVE_Q", "check_archive_q", "atom_status",
           "POLYMER_TYPES", "PARTS", "TYPE_LABELS", "atom_parts", "smooth_mapq", "residue_table",
           "chain_table", "model_table", "analyse", "add_expected", "add_q_resolution", "whole_model_q_resolution",
           "relative_to_archive", "window_label"]
