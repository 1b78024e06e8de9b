"""Write results: annotated models (mmCIF with a Q column, PDB with Q as B-factor), tables, JSON.

Every write is atomic: the data go to a temporary file in the destination folder, which is renamed
over the destination only once complete, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import OutputError

#: mmCIF column MapQ writes, placed right after ``_atom_site.B_iso_or_equiv``
Q_COLUMN = "Q_score"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"Cannot write '{path}': {exc.strerror or exc}. Choose a writable "
                          "folder (e.g. with --out).") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_json(path, data: dict) -> None:
    """Write ``data`` as indented JSON, atomically; numpy scalars and NaN become plain JSON."""
    write_text(path, json.dumps(_jsonable(data), indent=2) + "\n")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_table(path, table) -> None:
    """Write a pandas DataFrame as CSV (``.csv``), TSV (``.tsv``) or Parquet (``.parquet``)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False, sep="\t" if path.suffix == ".tsv" else ",",
                         float_format="%.6g")


def _format_q(q: float, decimals: int) -> str:
    return "?" if not np.isfinite(q) else f"{q:.{decimals}f}"


def write_mmcif_with_q(path, model, q: np.ndarray, *, decimals: int = 3) -> None:
    """Write the model's mmCIF document with a ``_atom_site.Q_score`` column after B_iso_or_equiv.

    ``model`` is a :class:`qscore.io.models.Model`; ``q`` holds one value per atom of
    ``model.atoms``. Rows of later models (not scored) get '?'. Everything else is kept as read.
    """
    import gemmi

    doc = gemmi.cif.read_string(model.cif_text()) if model.doc is None else model.doc
    block = doc[0]
    column = block.find_values("_atom_site.Cartn_x")
    if not column:
        raise OutputError(f"Cannot add Q-scores to '{model.path}': it has no _atom_site table.")
    loop = column.get_loop()
    tags = list(loop.tags)
    full = f"_atom_site.{Q_COLUMN}"
    if full in tags:
        loop.remove_column(full)
        tags = list(loop.tags)
    pos = tags.index("_atom_site.B_iso_or_equiv") + 1 if "_atom_site.B_iso_or_equiv" in tags else -1
    loop.add_columns([full], "?", pos)
    values = block.find_values(full)
    rows = model.atoms.row
    for r, v in zip(rows.tolist(), np.asarray(q, dtype=np.float64).tolist(), strict=True):
        values[r] = _format_q(v, decimals)
    with atomic_path(path) as tmp:
        doc.write_file(str(tmp))


def write_pdb_with_q(path, model, q: np.ndarray) -> None:
    """Write the model as PDB with Q in the B-factor column (MapQ's convention for PDB files)."""
    st = model.structure()
    qs = np.asarray(q, dtype=np.float64)
    i = 0
    for chain in st[0]:
        for res in chain:
            for atom in res:
                v = qs[i]
                atom.b_iso = float(v) if np.isfinite(v) else 0.0
                i += 1
    if i != len(qs):
        raise OutputError(f"Internal mismatch writing '{path}': {i} atoms vs {len(qs)} Q-scores.")
    with atomic_path(path) as tmp:
        st.write_pdb(str(tmp))
