"""Read atomic models (PDB and PDBx/mmCIF, optionally gzipped) with gemmi into plain arrays.

Only the first model of a multi-model file is used.  Every atom, hydrogens and alternate
locations included, becomes one entry of :class:`Atoms`; hydrogens are flagged so that the core
skips them.  Each atom carries its residue identity and the molecule type of its residue
(protein, nucleic, water, ion, ligand) for the analysis layer.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError, ModelError, QScoreWarning
from ..text import plural
from ..types import Atoms, Model, combined_codes
from .files import check_input_path, release_freed_memory
from .model_text import check_row_lengths, fast_columns, find_atom_site, read_bytes
from .paths import unzipped_name

MODEL_SUFFIXES = (".cif", ".mmcif", ".pdbx", ".pdb", ".ent")
WATER_NAMES = frozenset({"HOH", "WAT", "DOD", "H2O", "SOL", "TIP", "TIP3", "TP3"})
# Elements that, alone in a residue, make it an ion (metals, halides and the like)
_NON_ION_ELEMENTS = frozenset({"H", "D", "C", "N", "O", "P", "S", "SE", "B", "SI", "X", ""})
_PROTEIN_CHEM_TYPES = ("peptide", "amino")
_NUCLEIC_CHEM_TYPES = ("rna", "dna")


def model_document(model: Model, *, copy: bool = False):
    """The model as a gemmi CIF document.

    Parameters
    ----------
    model : Model
    copy : bool — a private copy of the document read (to edit)

    Returns
    -------
    gemmi.cif.Document — the one read, else the file parsed by gemmi (mmCIF read by the fast reader),
    else made from the PDB structure
    """
    import gemmi

    if model.doc is not None:
        return gemmi.cif.read_string(model.doc.as_string()) if copy else model.doc
    if model.gemmi_structure is not None:
        return model.gemmi_structure.make_mmcif_document()
    return gemmi.cif.read_string(read_bytes(model.path))


def model_structure(model: Model):
    """A gemmi Structure of the model's first model (for writing PDB)."""
    import gemmi

    if model.gemmi_structure is not None:
        return model.gemmi_structure.clone()
    st = gemmi.make_structure_from_block(model_document(model)[0])
    while len(st) > 1:
        del st[len(st) - 1]
    return st


def _unquote(values: list) -> np.ndarray:
    import gemmi

    arr = np.array(values, dtype=object)
    quoted = np.array([v[:1] in ("'", '"') for v in values], dtype=bool)
    if quoted.any():
        arr[quoted] = [gemmi.cif.as_string(v) for v in arr[quoted]]
    return arr.astype(str)


def _distinct(arr, func) -> tuple:
    """Apply ``func`` (array of distinct values → array) to the distinct values of ``arr`` (a str array or a pandas
    Categorical) only: (the (n,) str array of the results, their (n,) int64 codes — equal where the results are —,
    and the (k,) distinct results, by code)."""
    if isinstance(arr, pd.Categorical):
        codes, uniq = arr.codes, arr.categories.astype(str)
    else:
        codes, uniq = pd.factorize(arr)
    mapped_codes, mapped = pd.factorize(np.asarray(func(np.asarray(uniq, dtype=str)), dtype=str))
    codes = mapped_codes[codes].astype(np.int64)
    distinct = np.asarray(mapped, dtype=str)
    return distinct[codes], codes, distinct


def _floats(column, rows: np.ndarray, default: float) -> np.ndarray:
    """A numeric column's ``rows`` as floats, converted once per distinct value; ``default`` for a value that is
    not a number ('?', '.') and for all rows when there is no such column."""
    if column is None:
        return np.full(len(rows), default)
    if isinstance(column, pd.Categorical):
        codes, uniq = column.codes[rows], np.asarray(column.categories, dtype=object)
    else:
        codes, uniq = pd.factorize(np.asarray(column)[rows])
    values = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce").fillna(default).to_numpy(np.float64)
    return values[codes]


def _blank(u: np.ndarray) -> np.ndarray:
    """Distinct values with '?' and '.' (unknown, not applicable) as ''."""
    return np.where(np.isin(u, ["?", "."]), "", u)


def _block_columns(block):
    """Column getter over a gemmi mmCIF block: tag → unquoted str array, or None."""
    def get(tag):
        col = block.find_values("_atom_site." + tag)
        return _unquote(list(col)) if col else None

    return get


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


#: coordinates beyond this (Å) are refused: no cryo-EM map is that large, and they only cost memory
MAX_COORDINATE = 1e5


def _numbers(column, rows: np.ndarray, tag: str, path: str) -> np.ndarray:
    """A coordinate column's ``rows`` as floats; ModelError naming the first row whose value is not a
    number ('?', '.', a word; 'nan' and 'inf' read as such and are refused later as non-finite)."""
    text = np.asarray(column)[rows]
    if text.dtype.kind == "f":
        return text.astype(np.float64)
    values = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(np.float64)
    for k in np.flatnonzero(np.isnan(values)).tolist():
        try:
            float(text[k])
        except ValueError:
            raise ModelError(f"Model file '{path}' row {int(rows[k]) + 1} of _atom_site: {tag} is "
                             f"'{text[k]}', not a number; coordinates that are not numbers cannot be "
                             "scored. Fix or regenerate the file.") from None
    return values


def check_coordinates(coords: np.ndarray, what: str, where) -> None:
    """Raise ModelError when a coordinate is not finite or beyond ±:data:`MAX_COORDINATE` Å.

    Parameters
    ----------
    coords : (n, 3) float
    what : str — the model, as messages name it ("Model file 'x.cif'")
    where : callable(int) -> str — how messages name the atom of index i ("atom row 12 of _atom_site")
    """
    bad = np.flatnonzero(~np.all(np.isfinite(coords) & (np.abs(coords) <= MAX_COORDINATE), axis=1))
    if len(bad):
        x, y, z = coords[bad[0]]
        kind = "non-finite" if not np.all(np.isfinite(coords[bad[0]])) else f"beyond ±{MAX_COORDINATE:,.0f} Å:"
        raise ModelError(f"{what} has coordinates {kind} ({x:g}, {y:g}, {z:g}) at {where(int(bad[0]))} "
                         f"({plural(len(bad), 'such atom')}); no map reaches there: fix or remove those atoms.")


def _atoms_from_columns(get, n_all: int, chem_types: dict, path: str) -> Atoms:
    """Atoms of the first model from a column getter (tag → str array of all rows, or None)."""
    import gemmi

    if n_all == 0 or get("Cartn_x") is None:
        raise ModelError(f"Model file '{path}' has no atoms (no _atom_site table); give a model "
                         "with coordinates.")
    rows = np.arange(n_all)
    model_num = get("pdbx_PDB_model_num")
    if model_num is not None:
        rows = rows[model_num == model_num[0]]
    missing = [f"Cartn_{c}" for c in "xyz" if get("Cartn_" + c) is None]
    if missing:
        raise ModelError(f"Model file '{path}' has no {', '.join(missing)} column in its _atom_site table; "
                         "every atom needs x, y and z: fix or regenerate the file.")
    coords = np.column_stack([_numbers(get("Cartn_" + c), rows, f"Cartn_{c}", path) for c in "xyz"])
    check_coordinates(coords, f"Model file '{path}'", lambda i: f"atom row {int(rows[i]) + 1} of _atom_site")

    def col(*tags, default="", func=_blank):  # (values, codes, distinct values) of the first tag present
        for tag in tags:
            c = get(tag)
            if c is not None:
                return _distinct(c[rows], func)
        return np.full(len(rows), default).astype(str), np.zeros(len(rows), dtype=np.int64), np.array([default])

    known = {}  # the codes of the string columns, handed to the Atoms (Atoms.codes)
    name, *known["name"] = col("auth_atom_id", "label_atom_id")
    res_name, *known["res_name"] = col("auth_comp_id", "label_comp_id")
    chain, *known["chain"] = col("auth_asym_id", "label_asym_id")
    seq, seq_codes, seq_distinct = col("auth_seq_id", "label_seq_id")
    if len(rows) > 1 and not np.any(seq != ""):
        raise ModelError(f"Model file '{path}' gives no residue numbers (_atom_site.auth_seq_id or label_seq_id), "
                         "so its residues cannot be told apart; fix or regenerate the file.")
    res_num = pd.to_numeric(pd.Series(seq_distinct), errors="coerce").fillna(0).to_numpy().astype(np.int64)[seq_codes]
    ins_code, *known["ins_code"] = col("pdbx_PDB_ins_code")
    altloc, *known["altloc"] = col("label_alt_id")
    element, *known["element"] = col("type_symbol", func=lambda u: np.char.upper(_blank(u)))
    missing = element == ""
    if missing.any():  # element from the atom name, as PDB readers do
        del known["element"]
        element[missing] = [gemmi.Element(n.lstrip("0123456789")[:1] or "X").name.upper()
                            for n in name[missing]]
    b_iso = _floats(get("B_iso_or_equiv"), rows, 0.0)
    occupancy = _floats(get("occupancy"), rows, 1.0)
    is_h = np.isin(element, ["H", "D"])

    # residue: chain, number, insertion code, name — combined integer codes, order of appearance
    residue = combined_codes(known["chain"][0], seq_codes, known["ins_code"][0], known["res_name"][0])
    n_res = int(residue.max()) + 1

    # molecule type per residue, decided once per (name, heavy-atom count, sole heavy element)
    first = np.full(n_res, -1, dtype=np.int64)
    first[residue[::-1]] = np.arange(len(rows))[::-1]
    heavy = np.flatnonzero(~is_h)
    n_heavy = np.bincount(residue[heavy], minlength=n_res)
    sole = np.full(n_res, "", dtype=element.dtype)
    sole[residue[heavy]] = element[heavy]
    n_kind = np.minimum(n_heavy, 2)
    sole_codes, soles = pd.factorize(np.where(n_kind == 1, sole, ""))
    kind = (known["res_name"][0][first] * 3 + n_kind) * max(len(soles), 1) + sole_codes
    _, at, of_kind = np.unique(kind, return_index=True, return_inverse=True)  # one residue of each kind
    decided = [_residue_type(r, [e] if n == 1 else [""] * n, chem_types) for r, n, e in
               zip(res_name[first[at]].tolist(), n_kind[at].tolist(), np.asarray(soles)[sole_codes[at]].tolist(),
                   strict=True)]
    res_type = np.array(decided, dtype=object)[of_kind.reshape(-1)]
    _type_by_linkage(res_type, residue, res_name, name, coords, chain, is_h, chem_types)
    type_codes, types = pd.factorize(res_type.astype(str))
    known["mol_type"] = (type_codes[residue], np.asarray(types, dtype=str))
    mol_type = known["mol_type"][1][known["mol_type"][0]]

    atoms = Atoms(coords=np.ascontiguousarray(coords), element=element, name=name, altloc=altloc,
                  res_name=res_name, chain=chain, res_num=res_num, ins_code=ins_code,
                  residue=residue, mol_type=mol_type, is_hydrogen=is_h, row=rows.astype(np.int64),
                  b_iso=b_iso, occupancy=occupancy)
    for column, (codes, distinct) in known.items():
        atoms.set_codes(column, codes, distinct)
    return atoms


def _atoms_from_block(block, path: str) -> Atoms:
    xs = block.find_values("_atom_site.Cartn_x")
    return _atoms_from_columns(_block_columns(block), len(xs) if xs else 0, _chem_comp_types(block), path)


def model_format(path) -> str:
    """'pdb' for ``.pdb``/``.ent`` files (``.gz`` too), else 'mmcif'.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    return "pdb" if unzipped_name(path).lower().endswith((".pdb", ".ent")) else "mmcif"


_PDB_COORDS = ((30, 38), (38, 46), (46, 54))  # x, y, z: columns 31-38, 39-46, 47-54


def _ascii_pdb(data: bytes, path) -> bytes:
    """PDB text with every non-ASCII character replaced by '?' (one byte, so that the fixed columns stay
    where the file's writer put them: a UTF-8 'é' is two bytes, and gemmi counts bytes), with a warning
    naming the first such line."""
    if data.isascii():
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # a one-byte encoding: every character is one column already
    line = next(i for i, t in enumerate(text.split("\n")) if not t.isascii()) + 1
    warnings.warn(f"Model file '{path}' line {line} (and maybe others) holds characters that are not ASCII; "
                  "read as '?' (PDB files are ASCII).", QScoreWarning, stacklevel=3)
    return re.sub(r"[^\x00-\x7f]", "?", text).encode("ascii")


def _check_pdb_coordinates(data: bytes, path) -> None:
    """Raise ModelError naming the line when an ATOM/HETATM record ends before its coordinates do
    (column 54: a file cut short) or its x, y or z field (columns 31-54) is not a number (gemmi reads
    such a field as 0 without a word)."""
    lines = data.decode("latin-1").split("\n")
    atoms = [i for i, line in enumerate(lines) if line[:4].upper() in ("ATOM", "HETA")]
    for i in atoms:
        if len(lines[i].rstrip("\r")) < _PDB_COORDS[2][1]:
            raise ModelError(f"Model file '{path}' line {i + 1}: the {lines[i][:6].strip()} record ends at column "
                             f"{len(lines[i].rstrip())}, before its coordinates (columns 31-54) do; the file is "
                             "cut short or not PDB. Check or regenerate it.")
    fields = [lines[i][a:b].strip() for i in atoms for a, b in _PDB_COORDS]
    values = pd.to_numeric(pd.Series(fields, dtype=object), errors="coerce").to_numpy(np.float64)
    for k in np.flatnonzero(np.isnan(values)).tolist():
        try:
            float(fields[k])  # 'nan' as such: refused later as non-finite
        except ValueError:
            i = atoms[k // 3]
            raise ModelError(
                f"Model file '{path}' line {i + 1}: coordinate {'xyz'[k % 3]} "
                f"(columns {_PDB_COORDS[k % 3][0] + 1}-{_PDB_COORDS[k % 3][1]}) is "
                f"'{fields[k]}', not a number; coordinates that are not numbers cannot be scored. "
                "Fix or regenerate the file.") from None


def _read_pdb(p: Path):
    """A PDB file (gzipped or not) as a gemmi Structure, as gemmi.read_structure reads it, after
    checking its coordinates; decompressed here, so that a truncated gzip file is refused."""
    import gemmi

    data = _ascii_pdb(read_bytes(p), p)
    _check_pdb_coordinates(data, p)
    if data and not data.endswith(b"\n") and not re.search(rb"^(END|ENDMDL)\b", data, re.M):
        warnings.warn(f"Model file '{p}' ends in the middle of a line and has no END record: it may be cut short "
                      "(the atoms up to there were read). Check the file.", QScoreWarning, stacklevel=3)
    try:
        st = gemmi.read_pdb_string(data)
    except RuntimeError as exc:  # its message ends with the name of the "file", 'string'
        raise RuntimeError(re.sub(r":? string$", "", str(exc))) from None
    name = p.name  # as gemmi.read_structure names it
    for ext in (".gz", ".pdb"):
        if name.endswith(ext):
            name = name[:-len(ext)]
    st.name = name
    st.merge_chain_parts()
    return st


def _read_mmcif(p: Path) -> Model:
    """mmCIF: the fast _atom_site reader where the loop is in its usual simple form, else gemmi's."""
    import gemmi

    data = read_bytes(p)
    loop = find_atom_site(data)
    fast = fast_columns(data, loop) if loop is not None else None
    if fast is not None:
        get, n_rows = fast
        rest = gemmi.cif.read_string((data[:loop.loop_start] + data[loop.rows_end:]).decode("utf-8", "replace"))
        del data
        chem = _chem_comp_types(rest[0]) if len(rest) else {}
        model = Model(path=str(p), format="mmcif", atoms=_atoms_from_columns(get, n_rows, chem, str(p)),
                      loop=replace(loop, n_rows=n_rows))
        del get
        release_freed_memory()  # the parser's (glibc keeps it otherwise: ~0.1 GB per million atoms)
        return model
    if loop is not None:
        check_row_lengths(data, loop, p)
    doc = gemmi.cif.read_string(data)
    if len(doc) == 0:
        raise ModelError(f"Model file '{p}' holds no data block; give an mmCIF model.")
    return Model(path=str(p), format="mmcif", atoms=_atoms_from_block(doc[0], str(p)), doc=doc)


def read_model(path) -> Model:
    """Read a PDB or mmCIF model (optionally gzipped); the first model of a multi-model file.

    Raises
    ------
    InputFileError
        Missing, unreadable or corrupt file, or unknown extension.
    ModelError
        No atoms, only hydrogens, or non-numeric coordinates.
    """
    p = check_input_path(path, MODEL_SUFFIXES, "Model")
    fmt = model_format(p)
    try:
        if fmt == "mmcif":
            model = _read_mmcif(p)
        else:
            st = _read_pdb(p)
            empty = []
            while len(st) > 1 and st[0].count_atom_sites() == 0:
                empty.append(str(st[0].num))
                del st[0]
            if empty:
                warnings.warn(f"Model file '{p}': MODEL {', '.join(empty)} holds no atoms; read MODEL "
                              f"{st[0].num}, the first with atoms.", QScoreWarning, stacklevel=2)
            if len(st) == 0 or st[0].count_atom_sites() == 0:
                raise ModelError(f"Model file '{p}' has no atoms (no ATOM/HETATM records); give a "
                                 "model with coordinates.")
            while len(st) > 1:
                del st[len(st) - 1]
            st.setup_entities()
            doc = st.make_mmcif_document()
            model = Model(path=str(p), format=fmt, atoms=_atoms_from_block(doc[0], str(p)),
                          gemmi_structure=st)
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
    """Build :class:`Atoms` from arrays (for tests and callers with their own parsers).

    Parameters
    ----------
    coords : (n, 3) float — Å
    element, name, res_name, chain : (n,) str, optional — defaults 'C', 'CA', 'UNK', 'A'
    res_num : (n,) int, optional — default 1 … n
    mol_type : (n,) str, optional — default 'ligand'

    Returns
    -------
    Atoms — residues are the distinct (chain, number, name) triples; B-factors 0

    Raises
    ------
    ModelError — a coordinate that is not finite or beyond ±:data:`MAX_COORDINATE` Å (as the readers refuse)
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    check_coordinates(coords, "coords=", lambda i: f"index {i}")
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


__all__ = ["MODEL_SUFFIXES", "read_model", "atoms_from_arrays", "model_document", "model_structure", "model_format"]
