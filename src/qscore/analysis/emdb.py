"""The EMDB's own Q numbers: ``Q_emdb`` as the EMDB validation package (``va``; PyPI ``emdbva``) derives it
from MapQ's ``<model>__Q__<map>.cif``, and the ``<map>_qscore.json`` it writes (docs/science.md §10).

The package's rules, read from its source (``emdbva`` 0.1.2, ``ValidationAnalysis.newread_qscore``
and ``newcif_toqdict``), differ from MapQ's all-atom mean:

* **Which atoms.**  Every atom of the file's first model except those whose name starts with ``H``
  (hydrogens, but also e.g. a mercury named ``HG``) and those of residues named ``HOH`` (other water
  names count).  An atom with alternate locations counts once, at its first location (Biopython's
  choice when the occupancies are equal).
* **Which Q.**  The file's Q column as written (6 decimals), ``?`` read as 0 — and matched to the
  atoms by the floor of their coordinates: every atom takes the Q of the *last* row whose x, y and z
  fall in the same 1 Å cube.  Two atoms closer than about 1.7 Å often share a cube, so Q_emdb is not
  quite the mean of the per-atom Q even over the same atoms.
* **Rounding.**  The model, each chain and each residue: the mean rounded to 3 decimals; several
  models: the atom-count-weighted mean of the rounded model values, rounded again.

:func:`emdb_q` computes it from arrays; :func:`va_json` lays out the package's JSON (colours, the
residue list, the Q histograms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["EmdbQ", "emdb_q", "appearance_rank", "decimal_round", "va_atom_q", "included_atoms", "allmodels_average",
           "va_colour", "va_model_colour", "va_json", "Q_LEVELS", "EMDB_Q_DEFINITION"]

#: what the summary says Q_emdb is
EMDB_Q_DEFINITION = ("mean Q over the atoms not in HOH and not named H*, each matched to the Q file by the "
                     "floor of its coordinates, rounded to 3 decimals — as the EMDB's validation package computes it")
#: the histogram edges of the package's qFractionDistribution
Q_LEVELS = np.linspace(-1, 1, 100)


def included_atoms(atoms) -> np.ndarray:
    """(n,) bool: the atoms the package counts (not named H*, not in HOH, the first location of each atom)."""
    name_code, names = atoms.codes("name")
    res_code, res_names = atoms.codes("res_name")
    keep = ~np.char.startswith(names, "H")[name_code] & (res_names != "HOH")[res_code]
    key = np.asarray(atoms.residue, dtype=np.int64) * max(len(names), 1) + name_code
    return keep & ~pd.Series(key).duplicated().to_numpy()


def va_atom_q(atoms, q, *, decimals: int = 6) -> np.ndarray:
    """Each atom's Q as the package reads it back from the Q file: the value written with ``decimals``
    digits (no Q: 0), then looked up by the floor of the coordinates, the last row in a 1 Å cube winning
    (the rows of the file's other models, which qscore does not read, are not seen).

    Parameters
    ----------
    atoms : qscore.types.Atoms
    q : (n,) float — per-atom Q (NaN: no Q)
    decimals : int — digits the Q file holds (MapQ 2.9.7's ``%f``: 6)

    Returns
    -------
    (n,) float
    """
    q = np.nan_to_num(np.asarray(q, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)  # '?' reads as 0
    written = decimal_round(q, decimals)
    if not len(q):
        return written
    # the package's coordinates are float32 (Biopython); one integer per cube, from the cubes' own range
    # (coordinates are finite and within ±1e5 Å: the readers and atoms_from_arrays refuse others)
    cube = np.floor(np.asarray(atoms.coords, dtype=np.float32).astype(np.float64)).astype(np.int64)
    cube -= cube.min(axis=0)
    span = cube.max(axis=0) + 1
    key = (cube[:, 0] * span[1] + cube[:, 1]) * span[2] + cube[:, 2]
    inverse = pd.factorize(key)[0]  # the cubes numbered by hashing, not by sorting a million keys
    last = np.full(inverse.max() + 1, -1, dtype=np.int64)
    np.maximum.at(last, inverse, np.arange(len(key)))  # the last row in each cube gives its Q
    return written[last[inverse]]


def appearance_rank(codes, n: int) -> tuple:
    """Codes into ``n`` values renumbered by first appearance in ``codes``: ((n,) rank of each value — 0 for one
    that does not appear —, the values' codes in order of first appearance).

    Parameters
    ----------
    codes : (m,) int — e.g. :meth:`qscore.types.Atoms.codes` of the chains
    n : int — how many values the codes index
    """
    seen = pd.unique(np.asarray(codes))
    rank = np.zeros(int(n), dtype=np.int64)
    rank[seen] = np.arange(len(seen))
    return rank, seen


def _round3(total: float, n: int) -> float:
    """The package's rounded mean (its sums run left to right, as np.bincount's and np.cumsum's do)."""
    return round(float(total) / n, 3) if n else 0.0


def decimal_round(values, decimals: int) -> np.ndarray:
    """``values`` rounded to ``decimals`` digits as Python's ``round`` and printf's ``%.Nf`` round them (the exact
    binary value, ties to even): ``np.round`` (rint of x·10^N, then /10^N) does the same except where x·10^N lies
    next to a half, and those few are formatted by printf.

    Parameters
    ----------
    values : (n,) float — finite
    decimals : int
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.round(values, decimals)
    scaled = values * 10.0 ** decimals
    near_half = np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
    out[near_half] = np.char.mod(f"%.{decimals}f", values[near_half]).astype(np.float64)
    return out


def _round3_all(total: np.ndarray, n: np.ndarray) -> list:
    """:func:`_round3` of each (total, n), at once."""
    total, n = np.asarray(total, dtype=np.float64), np.asarray(n)
    return decimal_round(np.where(n > 0, total / np.where(n > 0, n, 1), 0.0), 3).tolist()


@dataclass
class EmdbQ:
    """Q_emdb of one model: its value, atoms counted, per chain and per residue (in file order).

    residues : DataFrame — chain, res_num, ins_code, res_name, label ('A:12 ALA', 'A:12B ALA'), Q_emdb;
        every residue of a chain with counted atoms except waters (HOH), 0.0 when none of its atoms count
    """

    value: float  # NaN when no atom counts (a model of waters only: the package has no value then)
    n_atoms: int
    chains: dict
    residues: pd.DataFrame
    atom_q: np.ndarray  # the counted atoms' Q as the package sees them (for its histogram)

    def to_dict(self) -> dict:
        """The summary's ``emdb`` section."""
        return {"Q_emdb": self.value, "atoms": self.n_atoms, "definition": EMDB_Q_DEFINITION,
                "chains": dict(self.chains)}


def emdb_q(atoms, q) -> EmdbQ:
    """Q_emdb of a model (see the module docstring).

    Parameters
    ----------
    atoms : qscore.types.Atoms
    q : (n,) float — per-atom Q (NaN: no Q)

    Returns
    -------
    EmdbQ
    """
    qv = va_atom_q(atoms, q)
    keep = included_atoms(atoms)
    counted = qv[keep]
    codes, distinct = atoms.codes("chain")
    rank, seen = appearance_rank(codes, len(distinct))  # the chains in order of first appearance
    chain_code, chain_names = rank[codes], distinct[seen]
    n_chain = np.bincount(chain_code, weights=keep, minlength=len(chain_names))
    q_chain = np.bincount(chain_code, weights=np.where(keep, qv, 0.0), minlength=len(chain_names))
    chains = {str(c): _round3(t, int(n)) for c, t, n in zip(chain_names, q_chain, n_chain, strict=True) if n}
    residue = np.asarray(atoms.residue)
    n_res = int(residue.max()) + 1 if len(residue) else 0
    first = np.full(n_res, len(residue), dtype=np.int64)
    np.minimum.at(first, residue, np.arange(len(residue)))
    n_in = np.bincount(residue, weights=keep, minlength=n_res)
    q_in = np.bincount(residue, weights=np.where(keep, qv, 0.0), minlength=n_res)
    # residues as the package lists them: chain by chain (first appearance), in file order; no waters, and
    # none of a chain without a counted atom
    listed = (atoms.res_name[first] != "HOH") & (n_chain[chain_code[first]] > 0)
    order = np.flatnonzero(listed)
    order = order[np.argsort(chain_code[first[order]], kind="stable")]
    at = first[order]
    ins = np.char.strip(np.asarray(atoms.ins_code, dtype=str)[at])
    chain = np.asarray(atoms.chain, dtype=str)[at]
    num = np.asarray(atoms.res_num)[at].astype(np.int64)
    name = np.asarray(atoms.res_name, dtype=str)[at]
    labels = [f"{c}:{n}{i} {r}" for c, n, i, r in zip(chain.tolist(), num.tolist(), ins.tolist(), name.tolist(),
                                                       strict=True)]  # Python strings: 3x faster than numpy's
    residues = pd.DataFrame({"chain": chain, "res_num": num, "ins_code": ins, "res_name": name, "label": labels,
                             "Q_emdb": _round3_all(q_in[order], n_in[order])})
    value = _round3(float(np.cumsum(counted)[-1]), len(counted)) if len(counted) else float("nan")
    return EmdbQ(value=value, n_atoms=int(keep.sum()), chains=chains, residues=residues, atom_q=counted)


def allmodels_average(models) -> float | None:
    """The package's ``allmodels_average_qscore``: the atom-weighted mean of rounded model values, rounded.

    Parameters
    ----------
    models : sequence of EmdbQ

    Returns
    -------
    float or None — None when no model counts an atom
    """
    counted = [m for m in models if m.n_atoms]
    n = sum(m.n_atoms for m in counted)
    return round(sum(m.n_atoms * m.value for m in counted) / n, 3) if n else None


def va_colour(value: float) -> str | None:
    """The package's colour of a Q (``__floatohex``): ``#7A`` then Q·255 twice in green and blue; magenta below 0."""
    if not np.isfinite(value):
        return None  # no value (a model with no counted atom): no colour
    if value < 0:
        return "#FF00FF"
    v = int(value * 255)
    return f"#{122:02X}{v:02X}{v:02X}"


def va_model_colour(value: float) -> str:
    """The package's ``model_color`` of a residue, ``value`` its Q scaled to [0, 1] over the model's
    residues: red–white–blue (``va.utils.misc.float_to_hex`` with that palette)."""
    colours = [(255, 0, 0), (255, 255, 255), (0, 0, 255)]
    index = min(int(value * (len(colours) - 1)), len(colours) - 2)
    start, end = colours[index], colours[index + 1]
    fraction = (value - index / (len(colours) - 1)) * (len(colours) - 1)
    return "#{:02x}{:02x}{:02x}".format(*[int(s + fraction * (e - s)) for s, e in zip(start, end, strict=True)])


def _fractions(values) -> list:
    values = np.asarray(values, dtype=np.float64)
    hist, _ = np.histogram(values, bins=Q_LEVELS)
    return [float(v) for v in np.around(hist / values.size, 3)] if values.size else []


def _model_entry(name: str, m: EmdbQ) -> dict:
    """One model's entry of the package's JSON (``newcif_toqdict``; its colour of residues with Q above 1 is
    left out: no mean of correlations exceeds 1)."""
    qs = m.residues["Q_emdb"].astype(float).tolist()
    colours = [va_colour(v) for v in qs]
    q_min, q_max = (min(qs), max(qs)) if qs else (0.0, 0.0)
    model_colours = ["#000000" if q_min == q_max else va_model_colour((v - q_min) / (q_max - q_min)) for v in qs]
    return {"name": name, "data": {
        "averageqscore": m.value, "averageqscore_color": va_colour(m.value), "numberofatoms": m.n_atoms,
        "color": colours, "model_color": model_colours, "inclusion": qs, "qscore": qs,
        "residue": m.residues["label"].tolist(),
        "chainqscore": {c: {"value": v, "color": va_colour(v)} for c, v in m.chains.items()},
        "qFractionDistribution": {"qLevels": [float(v) for v in np.around(Q_LEVELS[1:], 3)],
                                  "qResidueFractions": _fractions(qs), "qAtomFractions": _fractions(m.atom_q)}}}


def va_json(models) -> dict:
    """The ``<map>_qscore.json`` the package writes from the models' Q files.

    Parameters
    ----------
    models : sequence of (name, EmdbQ) — the model file's name as the package names it (its file name)
        and its Q_emdb

    Returns
    -------
    dict — ``{"qscore": {"0": {...}, "1": {...}, …, "allmodels_average_qscore": x}}``
    """
    body: dict = {str(i): _model_entry(name, m) for i, (name, m) in enumerate(models)}
    average = allmodels_average([m for _, m in models])
    if average is not None:
        body["allmodels_average_qscore"] = average
    return {"qscore": body}
