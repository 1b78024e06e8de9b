"""Computed per-residue Q against the values a validation report published (``qscore compare --published``).

The published values (wwPDB validation XML ``Q_score``, EMDB validation JSON ``qscore``) are the EMDB
validation package's per-residue means, the definition of Q_emdb (docs/science.md §10): they are
compared with this run's ``Q_emdb`` of each residue.  Residues are matched by chain, residue
number and insertion code; a matched residue whose name differs counts as a mismatch, not a match.

Agreement
    within the published rounding: a value written with d decimals stands for any Q within
    ±0.5·10⁻ᵈ of it, and Q_emdb is itself rounded to 3 decimals (±0.0005), so a residue agrees
    when |Q_emdb − Q_published| ≤ 0.5·10⁻ᵈ (+ 0.0005 when d < 3).  With d = 3 that is equality.
Another entry or model
    when fewer than :data:`MIN_MATCHED_SHARE` of the published residues match a residue of the model
    by key and name, the file is refused (:class:`~qscore.errors.InputFileError`) with the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..types import PublishedQ
from .results import records

__all__ = ["MIN_MATCHED_SHARE", "PublishedComparison", "compare_published", "tolerance"]

#: fewest published residues (share) that must match the model for the file to be taken as its report
MIN_MATCHED_SHARE = 0.5
_KEY = ["chain", "res_num", "ins_code"]


def tolerance(decimals: int) -> float:
    """The largest |Q_emdb − Q_published| that agrees with a value published with ``decimals`` decimals.

    Parameters
    ----------
    decimals : int

    Returns
    -------
    float
    """
    d = int(decimals)
    return 0.5 * 10.0 ** -min(d, 3) + (0.0005 if d < 3 else 0.0) + 1e-9


@dataclass
class PublishedComparison:
    """This run's per-residue Q_emdb against a published file's.

    Attributes
    ----------
    source, kind, model_name, entry : where the values come from (:class:`~qscore.types.PublishedQ`)
    table : DataFrame — one row per published residue: key, res_name, res_name_model, Q_published,
        Q_emdb, dQ (computed − published), status ('agrees', 'differs', 'not in model', 'other residue')
    decimals : int — the file's rounding
    tolerance : float — :func:`tolerance` of it
    note : str or None — why agreement is not to be expected (another sigma, not EMDB-compatible)
    """

    source: str
    kind: str
    model_name: str | None
    entry: str | None
    table: pd.DataFrame
    decimals: int
    tolerance: float
    note: str | None = None

    def counts(self) -> dict:
        """Residues published, matched, agreeing, differing; the largest |dQ| and the mean dQ of the matched."""
        s = self.table["status"]
        matched = self.table[s.isin(("agrees", "differs"))]
        return {"published": int(len(self.table)), "matched": int(len(matched)), "agree": int((s == "agrees").sum()),
                "differ": int((s == "differs").sum()), "not_in_model": int((s == "not in model").sum()),
                "other_residue": int((s == "other residue").sum()),
                "max_abs_dQ": float(matched["dQ"].abs().max()) if len(matched) else None,
                "mean_dQ": float(matched["dQ"].mean()) if len(matched) else None}

    def worst(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` matched residues that differ most."""
        m = self.table[self.table["status"].isin(("agrees", "differs"))]
        return m.reindex(m["dQ"].abs().sort_values(ascending=False, kind="stable").index).head(n)

    def to_dict(self) -> dict:
        """JSON form: where from, the rounding, the counts, the note and the residues that differ most."""
        return {"source": self.source, "kind": self.kind, "model_name": self.model_name, "entry": self.entry,
                "decimals": self.decimals, "tolerance": self.tolerance, "note": self.note, **self.counts(),
                "largest_differences": records(self.worst())}


def compare_published(residues: pd.DataFrame, published: PublishedQ, *, note: str | None = None,
                      model: str = "the model") -> PublishedComparison:
    """Compare this run's residue ``Q_emdb`` with published per-residue Q (see the module docstring).

    Parameters
    ----------
    residues : DataFrame — the analysis's residue table (chain, res_num, ins_code, res_name, Q_emdb)
    published : PublishedQ — from :func:`qscore.io.published.read_published`
    note : str, optional — why the values may not agree (recorded)
    model : str — the model's name, for the message when the file is not its report

    Returns
    -------
    PublishedComparison

    Raises
    ------
    InputFileError — fewer than :data:`MIN_MATCHED_SHARE` of the published residues match the model
    """
    pub = published.residues
    ours = residues[_KEY + ["res_name", "Q_emdb"]].drop_duplicates(_KEY).rename(columns={"res_name": "res_name_model"})
    t = pub.drop(columns="decimals").merge(ours, on=_KEY, how="left")
    t["dQ"] = t["Q_emdb"] - t["Q_published"]
    decimals = int(pub["decimals"].max()) if len(pub) else 3
    tol = tolerance(decimals)
    found = t["res_name_model"].notna().to_numpy()
    same = found & (t["res_name_model"].astype(str).str.upper() == t["res_name"].astype(str).str.upper()).to_numpy()
    close = (t["dQ"].abs() <= tol).to_numpy()
    t["status"] = np.select([same & close, same, found], ["agrees", "differs", "other residue"], "not in model")
    n_match = int(same.sum())
    if n_match < MIN_MATCHED_SHARE * len(t):
        raise InputFileError(
            f"Published file '{published.source}' lists {len(t):,} residues, of which {n_match:,} match a residue of "
            f"{model} by chain, number, insertion code and name ({int((found & ~same).sum()):,} have another name, "
            f"{int((~found).sum()):,} are not in the model): it is probably the report of another entry or model. "
            "Give the validation file of this model.")
    return PublishedComparison(source=published.source, kind=published.kind, model_name=published.model_name,
                               entry=published.entry, table=t, decimals=decimals, tolerance=tol, note=note)
