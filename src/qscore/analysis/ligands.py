"""Ligands up close: every ligand, ion and saccharide of a model with its Q, band, flag and atoms.

:func:`ligand_table` lists them (each copy) from the analysis's residue table, with their kind —
'saccharide' for the carbohydrate components of :data:`SACCHARIDES` (the monosaccharides the PDB's
glycan entries use most), 'ion' and 'ligand' — and the number of their atoms outside the map;
:func:`ligand_atoms` gives one ligand's atoms and their Q (:func:`atoms_of_ligands` those of many).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SACCHARIDES", "ligand_table", "ligand_atoms", "atoms_of_ligands", "LIGAND_TYPES"]

LIGAND_TYPES = ("ligand", "ion")
#: chemical-component ids of common monosaccharides (N-/O-glycans, glycolipids, cell-wall sugars)
SACCHARIDES = frozenset({
    "NAG", "NDG", "BMA", "MAN", "GLC", "BGC", "GAL", "GLA", "FUC", "FUL", "SIA", "SLB", "XYS", "XYP", "A2G", "NGA",
    "GCS", "GCU", "BDP", "IDR", "RAM", "RHA", "ARA", "ARB", "AHR", "FRU", "LAT", "KDO", "NGC", "G6D", "Z9N",
})


def ligand_table(residues: pd.DataFrame) -> pd.DataFrame:
    """Every ligand, ion and saccharide residue (each copy), in model order, with its kind.

    Parameters
    ----------
    residues : DataFrame — the analysis's residue table

    Returns
    -------
    DataFrame — the residue rows of ligands and ions with a ``kind`` column ('saccharide', 'ligand', 'ion')
    """
    lig = residues[residues["mol_type"].isin(LIGAND_TYPES)].copy()
    kind = np.where(lig["res_name"].str.upper().isin(SACCHARIDES), "saccharide", lig["mol_type"])
    lig.insert(lig.columns.get_loc("mol_type") + 1, "kind", kind)
    return lig


def ligand_atoms(atom_table: pd.DataFrame, chain: str, res_num: int, ins_code: str = "") -> pd.DataFrame:
    """The non-H atoms of one residue with their Q and status.

    Parameters
    ----------
    atom_table : DataFrame — ``QScoreResult.atom_table()``
    chain : str; res_num : int; ins_code : str

    Returns
    -------
    DataFrame — atom_name, altloc, element, Q, status
    """
    return atoms_of_ligands(atom_table, [(chain, res_num, ins_code)])[0]


def atoms_of_ligands(atom_table: pd.DataFrame, keys) -> list:
    """:func:`ligand_atoms` of each residue of ``keys``, the table grouped once (not searched once per residue).

    Parameters
    ----------
    atom_table : DataFrame — ``QScoreResult.atom_table()``
    keys : iterable of (chain, res_num, ins_code)

    Returns
    -------
    list of DataFrame — atom_name, altloc, element, Q, status (empty where the residue has no non-H atom)
    """
    t = atom_table[~atom_table["is_hydrogen"].to_numpy(dtype=bool)][["chain", "res_num", "ins_code", "atom_name",
                                                                       "altloc", "element", "Q", "status"]]
    rows = t.groupby([t["chain"].astype(str), t["res_num"].astype(np.int64), t["ins_code"].astype(str)],
                     sort=False).indices
    none = np.zeros(0, dtype=np.intp)
    columns = ["atom_name", "altloc", "element", "Q", "status"]
    return [t.iloc[rows.get((str(c), int(n), str(i)), none)][columns] for c, n, i in keys]
