"""Write annotated models: mmCIF with a Q column (or new B-factors), PDB with a value in the B-factor column.

Every write is atomic (:func:`qscore.io.files.atomic_path`): a failure never leaves a half-written file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import OutputError
from .files import atomic_path
from .model_text import find_atom_site, read_bytes
from .models import model_document, model_structure

#: mmCIF column MapQ writes, placed right after ``_atom_site.B_iso_or_equiv``
Q_COLUMN = "Q_score"

__all__ = ["Q_COLUMN", "write_mmcif_with_q", "write_pdb_with_b", "write_mmcif_with_b"]


def _format_q(q: float, decimals: int) -> str:
    return "?" if not np.isfinite(q) else f"{q:.{decimals}f}"


def write_mmcif_with_q(path, model, q: np.ndarray, *, decimals: int = 3) -> None:
    """Write the model's mmCIF with a ``_atom_site.Q_score`` column right after B_iso_or_equiv.

    Rows of later models (not scored) get '?'.  Everything else is kept as read: a model read by the
    fast reader is rewritten line by line from its text (no full parse, little memory); otherwise
    through gemmi's document.

    Parameters
    ----------
    path : str or Path
    model : Model
    q : (n,) float — one value per atom of ``model.atoms``
    decimals : int
    """

    if model.loop is not None:  # read by the fast reader: stream the file with the column added
        data = read_bytes(model.path)
        loop = find_atom_site(data)
        if loop is None or loop.tags != model.loop.tags:
            raise OutputError(f"Model file '{model.path}' changed since it was read; score it again.")
        out = _bytes_with_q_column(data, loop, _q_by_row(model, q, decimals, _count_rows(data, loop)))
        if out is not None:
            with atomic_path(path) as tmp:
                Path(tmp).write_bytes(out)
            return
    doc = model_document(model)
    block = doc[0]
    column = block.find_values("_atom_site.Cartn_x")
    if not column:
        raise OutputError(f"Cannot add Q-scores to '{model.path}': it has no _atom_site table.")
    loop = column.get_loop()
    full = f"_atom_site.{Q_COLUMN}"
    if full in list(loop.tags):
        loop.remove_column(full)
    tags = list(loop.tags)
    pos = tags.index("_atom_site.B_iso_or_equiv") + 1 if "_atom_site.B_iso_or_equiv" in tags else -1
    loop.add_columns([full], "?", pos)
    column = block.find_values(full)
    for r, v in enumerate(_q_by_row(model, q, decimals, len(column))):
        column[r] = v
    with atomic_path(path) as tmp:
        doc.write_file(str(tmp))


def _q_by_row(model, q, decimals: int, n_rows: int) -> list:
    """The Q token of each of the n_rows _atom_site rows ('?' for rows not scored)."""
    values = ["?"] * n_rows
    for r, v in zip(model.atoms.row.tolist(), np.asarray(q, dtype=np.float64).tolist(), strict=True):
        values[r] = _format_q(v, decimals)
    return values


def _count_rows(data: bytes, loop) -> int:
    return sum(1 for line in data[loop.tags_end:loop.rows_end].splitlines() if line.strip())


_TOKEN = re.compile(rb'"[^"]*"|\S+')


def _bytes_with_q_column(data: bytes, loop, values: list) -> bytes | None:
    """The mmCIF bytes with a Q_score tag after B_iso_or_equiv and the value in every row, or None
    when the loop's rows are not one per line or it has a Q_score already (then gemmi does it)."""
    tags = loop.tags
    if Q_COLUMN in tags:
        return None
    after = tags.index("B_iso_or_equiv") if "B_iso_or_equiv" in tags else len(tags) - 1
    tag_lines = data[loop.tags_start:loop.tags_end].splitlines(keepends=True)
    tag_lines.insert(after + 1, f"_atom_site.{Q_COLUMN}\n".encode())
    out = [data[:loop.tags_start], b"".join(tag_lines)]
    row = 0
    for line in data[loop.tags_end:loop.rows_end].splitlines(keepends=True):
        if not line.strip():
            out.append(line)
            continue
        tokens = list(_TOKEN.finditer(line))
        if len(tokens) != len(tags) or row >= len(values):
            return None
        cut = tokens[after].end()
        out.append(line[:cut] + b" " + values[row].encode() + line[cut:])
        row += 1
    if row != len(values):
        return None
    out.append(data[loop.rows_end:])
    return b"".join(out)


def write_pdb_with_b(path, model, values: np.ndarray) -> None:
    """Write the model as PDB with a value per atom in the B-factor column, atomically.

    Q-scores (MapQ's convention for PDB files) or B-factors derived from them; NaN is written as 0.

    Parameters
    ----------
    path : str or Path
    model : Model
    values : (n,) float — one per atom of ``model.atoms``
    """
    st = model_structure(model)
    qs = np.asarray(values, dtype=np.float64)
    i = 0
    for chain in st[0]:
        for res in chain:
            for atom in res:
                v = qs[i]
                atom.b_iso = float(v) if np.isfinite(v) else 0.0
                i += 1
    if i != len(qs):
        raise OutputError(f"Internal mismatch writing '{path}': {i} atoms vs {len(qs)} values.")
    with atomic_path(path) as tmp:
        st.write_pdb(str(tmp))


def write_mmcif_with_b(path, model, b_iso, *, decimals: int = 2) -> None:
    """Write the model's mmCIF with ``_atom_site.B_iso_or_equiv`` replaced, atomically; the rest as read.

    Parameters
    ----------
    path : str or Path
    model : Model
    b_iso : (n,) float — Å², one per atom of ``model.atoms``
    decimals : int
    """
    doc = model_document(model, copy=True)
    block = doc[0]
    if not block.find_values("_atom_site.Cartn_x"):
        raise OutputError(f"Cannot write B-factors into '{model.path}': it has no _atom_site table.")
    tag = "_atom_site.B_iso_or_equiv"
    if not block.find_values(tag):
        block.find_values("_atom_site.Cartn_x").get_loop().add_columns([tag], "?")
    column = block.find_values(tag)
    for r, v in zip(model.atoms.row.tolist(), np.asarray(b_iso, dtype=np.float64).tolist(), strict=True):
        column[r] = f"{v:.{decimals}f}"
    with atomic_path(path) as tmp:
        doc.write_file(str(tmp))
