"""Read atomic models (PDB and PDBx/mmCIF, optionally gzipped) with gemmi into plain arrays.

Only the first model of a multi-model file is used.  Every atom, hydrogens and alternate
locations included, becomes one entry of :class:`Atoms`; hydrogens are flagged so that the core
skips them.  Each atom carries its residue identity and the molecule type of its residue
(protein, nucleic, water, ion, ligand) for the analysis layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError, ModelError
from .maps import _check_path

MODEL_SUFFIXES = (".cif", ".mmcif", ".pdbx", ".pdb", ".ent")
WATER_NAMES = frozenset({"HOH", "WAT", "DOD", "H2O", "SOL", "TIP", "TIP3", "TP3"})
MOLECULE_TYPES = ("protein", "nucleic", "water", "ion", "ligand")
# Elements that, alone in a residue, make it an ion (metals, halides and the like)
_NON_ION_ELEMENTS = frozenset({"H", "D", "C", "N", "O", "P", "S", "SE", "B", "SI", "X", ""})
_PROTEIN_CHEM_TYPES = ("peptide", "amino")
_NUCLEIC_CHEM_TYPES = ("rna", "dna")


@dataclass
class Atoms:
    """The atoms of one model as parallel arrays (length n).

    Attributes
    ----------
    coords : (n, 3) float64, Å
    element : (n,) str — upper-case element symbol ('C', 'FE', …)
    name : (n,) str — atom name ('CA', "O5'", …)
    altloc : (n,) str — alternate location ('' when none)
    res_name, chain : (n,) str — residue name and author chain id
    res_num : (n,) int64 — author residue number
    ins_code : (n,) str — insertion code ('' when none)
    residue : (n,) int64 — index of the atom's residue (0 .. n_residues-1, order of appearance)
    mol_type : (n,) str — 'protein', 'nucleic', 'water', 'ion' or 'ligand'
    is_hydrogen : (n,) bool
    row : (n,) int64 — the atom's row in the file's ``_atom_site`` table
    b_iso : (n,) float64 — B-factors as read
    """

    coords: np.ndarray
    element: np.ndarray
    name: np.ndarray
    altloc: np.ndarray
    res_name: np.ndarray
    chain: np.ndarray
    res_num: np.ndarray
    ins_code: np.ndarray
    residue: np.ndarray
    mol_type: np.ndarray
    is_hydrogen: np.ndarray
    row: np.ndarray
    b_iso: np.ndarray

    def __len__(self) -> int:
        return len(self.coords)

    def table(self) -> pd.DataFrame:
        """The atoms as a DataFrame (one row per atom, file order)."""
        return pd.DataFrame({
            "chain": self.chain, "res_num": self.res_num, "ins_code": self.ins_code,
            "res_name": self.res_name, "atom_name": self.name, "altloc": self.altloc,
            "element": self.element, "mol_type": self.mol_type,
            "x": self.coords[:, 0], "y": self.coords[:, 1], "z": self.coords[:, 2],
            "b_iso": self.b_iso, "is_hydrogen": self.is_hydrogen,
        })


@dataclass
class Model:
    """A model file as read: its atoms (first model) and what is needed to write it back."""

    path: str
    format: str  # 'mmcif' or 'pdb'
    atoms: Atoms
    doc: object = None  # gemmi.cif.Document for mmCIF input
    _structure: object = None  # gemmi.Structure for PDB input

    def structure(self):
        """A gemmi Structure of the first model (for writing PDB)."""
        import gemmi

        if self._structure is not None:
            return self._structure.clone()
        st = gemmi.make_structure_from_block(self.doc[0])
        while len(st) > 1:
            del st[len(st) - 1]
        return st

    def cif_text(self) -> str:
        return self._structure.make_mmcif_document().as_string()


def _unquote(values: list) -> np.ndarray:
    import gemmi

    arr = np.array(values, dtype=object)
    quoted = np.array([v[:1] in ("'", '"') for v in values], dtype=bool)
    if quoted.any():
        arr[quoted] = [gemmi.cif.as_string(v) for v in arr[quoted]]
    return arr.astype(str)


def _blank(arr: np.ndarray) -> np.ndarray:
    out = arr.copy()
    out[np.isin(out, ["?", "."])] = ""
    return out


def _column(block, tag, n, default=None):
    col = block.find_values("_atom_site." + tag)
    if not col:
        return None if default is None else np.full(n, default, dtype=object).astype(str)
    return _unquote(list(col))


def _chem_comp_types(block) -> dict:
    ids = block.find_values("_chem_comp.id")
    types = block.find_values("_chem_comp.type")
    if not ids or not types or len(ids) != len(types):
        return {}
    import gemmi

    return {gemmi.cif.as_string(i): gemmi.cif.as_string(t).lower() for i, t in zip(ids, types, strict=True)}


def _residue_type(name: str, heavy_elements: list, chem_types: dict) -> str:
    import gemmi

    if name in WATER_NAMES:
        return "water"
    info = gemmi.find_tabulated_residue(name)
    if info is not None:
        if info.is_water():
            return "water"
        if info.is_amino_acid():
            return "protein"
        if info.is_nucleic_acid():
            return "nucleic"
    ctype = chem_types.get(name, "")
    if any(k in ctype for k in _PROTEIN_CHEM_TYPES) and "non-polymer" not in ctype:
        return "protein"
    if any(k in ctype for k in _NUCLEIC_CHEM_TYPES) and "non-polymer" not in ctype:
        return "nucleic"
    if len(heavy_elements) == 1 and heavy_elements[0] not in _NON_ION_ELEMENTS:
        return "ion"
    return "ligand"


#: (type, this residue's atom, neighbour's atom, bond cutoff Å) — peptide C–N and phosphodiester O3'–P
_POLYMER_LINKS = (("protein", "N", "C", 1.75), ("nucleic", "P", "O3'", 1.9))


def _type_by_linkage(res_type, residue, res_name, name, coords, chain, is_h, chem_types) -> None:
    """Residues unknown to gemmi's table and to _chem_comp (modified residues in PDB files) that are
    bonded into a protein or nucleic chain (C–N or O3'–P to the previous or next residue of the same
    chain) take that chain's type; anything else unknown stays a ligand.  Edits ``res_type`` in place."""
    import gemmi

    ligands = np.flatnonzero(res_type == "ligand")
    if len(ligands) == 0:
        return
    first = np.full(len(res_type), -1, dtype=np.int64)
    first[residue[::-1]] = np.arange(len(residue))[::-1]
    unknown: dict = {}
    candidates = []
    for r in ligands.tolist():
        nm = res_name[first[r]]
        if nm not in unknown:
            info = gemmi.find_tabulated_residue(nm)
            unknown[nm] = ((info is None or info.kind == gemmi.ResidueKind.UNKNOWN)
                           and chem_types.get(nm, "").strip(".? ") == "")
        if unknown[nm]:
            candidates.append(r)
    if not candidates:
        return
    names = np.char.replace(name.astype(str), "*", "'")
    order = np.argsort(residue, kind="stable")
    bounds = np.searchsorted(residue[order], np.arange(len(res_type) + 1))

    def position(r, atom_name):
        idx = order[bounds[r]:bounds[r + 1]]
        idx = idx[(names[idx] == atom_name) & ~is_h[idx]]
        return coords[idx[0]] if len(idx) else None

    for r in candidates:
        for kind, own, other, cutoff in _POLYMER_LINKS:
            for nb, a, b in ((r - 1, own, other), (r + 1, other, own)):
                if not (0 <= nb < len(res_type)) or first[nb] < 0 or res_type[nb] != kind:
                    continue
                if chain[first[nb]] != chain[first[r]]:
                    continue
                pa, pb = position(r, a), position(nb, b)
                if pa is not None and pb is not None and np.linalg.norm(pa - pb) <= cutoff:
                    res_type[r] = kind
                    break
            if res_type[r] == kind:
                break


def _atoms_from_block(block, path: str) -> Atoms:
    import gemmi

    xs = block.find_values("_atom_site.Cartn_x")
    if not xs:
        raise ModelError(f"Model file '{path}' has no atoms (no _atom_site table); give a model "
                         "with coordinates.")
    n_all = len(xs)
    rows = np.arange(n_all)
    model_num = _column(block, "pdbx_PDB_model_num", n_all)
    if model_num is not None and n_all:
        rows = rows[model_num == model_num[0]]
    try:
        coords = np.column_stack([
            np.array(list(block.find_values("_atom_site.Cartn_" + c)), dtype=str).astype(np.float64)
            for c in "xyz"])[rows]
    except ValueError as exc:
        raise ModelError(f"Model file '{path}' has coordinates that are not numbers ({exc}); "
                         "fix or regenerate the file.") from None
    if len(rows) == 0:
        raise ModelError(f"Model file '{path}' has no atoms; give a model with coordinates.")
    if not np.all(np.isfinite(coords)):
        raise ModelError(f"Model file '{path}' has non-finite coordinates; fix the file.")

    def col(*tags, default=""):
        for tag in tags:
            c = _column(block, tag, n_all)
            if c is not None:
                return _blank(c[rows])
        return np.full(len(rows), default, dtype=object).astype(str)

    name = col("auth_atom_id", "label_atom_id")
    res_name = col("auth_comp_id", "label_comp_id")
    chain = col("auth_asym_id", "label_asym_id")
    seq = col("auth_seq_id", "label_seq_id")
    res_num = pd.to_numeric(pd.Series(seq), errors="coerce").fillna(0).to_numpy(np.int64)
    ins_code = col("pdbx_PDB_ins_code")
    altloc = col("label_alt_id")
    element = np.char.upper(col("type_symbol"))
    missing = element == ""
    if missing.any():  # element from the atom name, as PDB readers do
        element[missing] = [gemmi.Element(n.lstrip("0123456789")[:1] or "X").name.upper()
                            for n in name[missing]]
    b_col = col("B_iso_or_equiv", default="0")
    b_iso = pd.to_numeric(pd.Series(b_col), errors="coerce").fillna(0.0).to_numpy(np.float64)
    is_h = np.isin(element, ["H", "D"])

    key = pd.Series(chain).str.cat([pd.Series(seq), pd.Series(ins_code), pd.Series(res_name)], sep="\x1f")
    residue, uniques = pd.factorize(key)
    residue = residue.astype(np.int64)

    # molecule type per residue
    chem_types = _chem_comp_types(block)
    first = np.full(len(uniques), -1, dtype=np.int64)
    order = np.arange(len(rows))
    first[residue[::-1]] = order[::-1]
    heavy_elems: dict = {}
    for r, e in zip(residue[~is_h].tolist(), element[~is_h].tolist(), strict=True):
        heavy_elems.setdefault(r, []).append(e)
    cache: dict = {}
    res_type = np.empty(len(uniques), dtype=object)
    for r in range(len(uniques)):
        nm = res_name[first[r]]
        elems = heavy_elems.get(r, [])
        k = (nm, tuple(elems) if len(elems) <= 1 else len(elems))
        if k not in cache:
            cache[k] = _residue_type(nm, elems, chem_types)
        res_type[r] = cache[k]
    _type_by_linkage(res_type, residue, res_name, name, coords, chain, is_h, chem_types)
    mol_type = res_type[residue].astype(str)

    return Atoms(coords=np.ascontiguousarray(coords), element=element, name=name, altloc=altloc,
                 res_name=res_name, chain=chain, res_num=res_num, ins_code=ins_code,
                 residue=residue, mol_type=mol_type, is_hydrogen=is_h, row=rows.astype(np.int64),
                 b_iso=b_iso)


def model_format(path) -> str:
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return "pdb" if name.endswith((".pdb", ".ent")) else "mmcif"


def read_model(path) -> Model:
    """Read a PDB or mmCIF model (optionally gzipped); the first model of a multi-model file.

    Raises
    ------
    InputFileError
        Missing, unreadable or corrupt file, or unknown extension.
    ModelError
        No atoms, only hydrogens, or non-numeric coordinates.
    """
    import gemmi

    p = _check_path(path, MODEL_SUFFIXES, "Model")
    fmt = model_format(p)
    try:
        if fmt == "mmcif":
            doc = gemmi.cif.read(str(p))
            if len(doc) == 0:
                raise ModelError(f"Model file '{p}' holds no data block; give an mmCIF model.")
            model = Model(path=str(p), format=fmt, atoms=_atoms_from_block(doc[0], str(p)), doc=doc)
        else:
            st = gemmi.read_structure(str(p), format=gemmi.CoorFormat.Pdb)
            if len(st) == 0:
                raise ModelError(f"Model file '{p}' has no atoms (no ATOM/HETATM records); give a "
                                 "model with coordinates.")
            while len(st) > 1:
                del st[len(st) - 1]
            st.setup_entities()
            doc = st.make_mmcif_document()
            model = Model(path=str(p), format=fmt, atoms=_atoms_from_block(doc[0], str(p)),
                          _structure=st)
    except (RuntimeError, ValueError, UnicodeDecodeError, OSError) as exc:
        raise InputFileError(f"Model file '{p}' could not be read as {fmt.upper()} ({exc}); the "
                             "file is corrupt or not a model. Check or regenerate it.") from None
    atoms = model.atoms
    if np.all(atoms.is_hydrogen):
        raise ModelError(f"Model file '{p}' has only hydrogen atoms ({len(atoms)}); Q-scores are "
                         "computed for non-hydrogen atoms. Give the full model.")
    return model


def atoms_from_arrays(coords, element=None, *, name=None, res_name=None, chain=None, res_num=None,
                      mol_type=None) -> Atoms:
    """Build :class:`Atoms` from arrays (for tests and callers with their own parsers)."""
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    n = len(coords)

    def fill(v, default):
        return np.asarray(v if v is not None else [default] * n).astype(str) if n else np.array([], str)

    element = np.char.upper(fill(element, "C"))
    res_num_arr = np.asarray(res_num if res_num is not None else np.arange(1, n + 1), dtype=np.int64)
    chain_arr = fill(chain, "A")
    res_name_arr = fill(res_name, "UNK")
    key = pd.Series(chain_arr).str.cat([pd.Series(res_num_arr.astype(str)), pd.Series(res_name_arr)], sep="|")
    residue = pd.factorize(key)[0].astype(np.int64)
    return Atoms(coords=coords, element=element, name=fill(name, "CA"), altloc=fill(None, ""),
                 res_name=res_name_arr, chain=chain_arr, res_num=res_num_arr, ins_code=fill(None, ""),
                 residue=residue, mol_type=fill(mol_type, "ligand"),
                 is_hydrogen=np.isin(element, ["H", "D"]), row=np.arange(n, dtype=np.int64),
                 b_iso=np.zeros(n))


__all__ = ["Atoms", "Model", "read_model", "atoms_from_arrays", "MOLECULE_TYPES", "InputFileError"]
