"""Write annotated models: mmCIF with a Q column (or new B-factors), PDB with a value in the B-factor column.

Every write is atomic (:func:`qscore.io.files.atomic_path`): a failure never leaves a half-written file.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import OutputError, ParameterError
from . import numtext, row_scan
from .files import atomic_path
from .model_text import find_atom_site, read_bytes
from .models import model_document, model_structure
from .numtext import Cells, fixed_cells, int_cells, join_rows, repeated, text_cells


@dataclass(frozen=True)
class QLayout:
    """How a file with Q-scores holds them: MapQ 2.9.7's layout (today's; what the EMDB's validation
    package reads) or MapQ's 2021 one (the reference files in the tests; older lab scripts parse it).

    name : '2.9.7' or '2021'
    column : the mmCIF item after ``_atom_site.B_iso_or_equiv`` (``Q-score`` or ``Q_score``)
    decimals : digits after the point (MapQ 2.9.7 writes ``%f``: 6; 2021: 3)
    pdb_remarks : whether a PDB file starts with MapQ 2.9.7's ``REMARK   0`` lines
    """

    name: str
    column: str
    decimals: int
    pdb_remarks: bool


#: the layouts, by name; every reader in the package reads both
MAPQ_LAYOUTS = {"2.9.7": QLayout("2.9.7", "Q-score", 6, True), "2021": QLayout("2021", "Q_score", 3, False)}
DEFAULT_LAYOUT = "2.9.7"
#: the mmCIF items a Q column may have (either layout)
Q_COLUMNS = tuple(layout.column for layout in MAPQ_LAYOUTS.values())

__all__ = ["QLayout", "MAPQ_LAYOUTS", "DEFAULT_LAYOUT", "Q_COLUMNS", "q_layout", "mapq_pdb_remarks",
           "write_mmcif_with_q", "write_pdb_with_b", "write_mmcif_with_b", "atoms_mmcif_text"]


def q_layout(name) -> QLayout:
    """The :class:`QLayout` called ``name`` ('2.9.7' or '2021'; a QLayout is returned as it is).

    Raises
    ------
    ParameterError — another name
    """
    if isinstance(name, QLayout):
        return name
    if str(name) not in MAPQ_LAYOUTS:
        raise ParameterError(f"mapq_layout={name} is not a MapQ file layout; use {' or '.join(MAPQ_LAYOUTS)}.",
                             parameter="mapq_layout")
    return MAPQ_LAYOUTS[str(name)]


def mapq_pdb_remarks(*, sigma: float, model_name: str, map_name: str) -> str:
    """The ``REMARK   0`` lines MapQ 2.9.7 puts before the atoms of a PDB file with Q-scores.

    Parameters
    ----------
    sigma : float — Å
    model_name, map_name : str — the model's and the map's file names

    Returns
    -------
    str — the lines, each ending with a newline
    """
    lines = ["", "Q-scores calculated with MapQ (computed by qscore)", f"  - sigma {sigma:.1f}",
             "  - more info: github.com/gregdp/mapq", "  - Q-scores for each atom are stored in B-factor column",
             f"  - Model: {model_name}", "  - for all atoms", f"  - Map: {map_name}", ""]
    return "".join(f"REMARK   0 {line}\n" for line in lines)


def write_mmcif_with_q(path, model, q: np.ndarray, *, layout=DEFAULT_LAYOUT, threads: int = 1) -> None:
    """Write the model's mmCIF with a Q column right after B_iso_or_equiv (``_atom_site.Q-score`` with
    6 decimals in MapQ 2.9.7's layout, ``_atom_site.Q_score`` with 3 in the 2021 one); a Q column of
    either layout already in the file is replaced.

    Rows of later models (not scored) get '?'.  Everything else is kept as read: a model read by the
    fast reader is rewritten line by line from its text (no full parse, little memory); otherwise
    through gemmi's document.

    Parameters
    ----------
    path : str or Path
    model : Model
    q : (n,) float — one value per atom of ``model.atoms``
    layout : str or QLayout — '2.9.7' (default) or '2021'
    threads : int — blocks of rows scanned and written at once, on threads (the fast reader's files)
    """
    layout = q_layout(layout)
    with atomic_path(path) as tmp:
        if model.loop is not None:  # read by the fast reader: stream the file with the column added
            n_rows = model.loop.n_rows
            with ThreadPoolExecutor(max_workers=1) as pool:  # the values formatted while the file is read
                cells = pool.submit(_q_cells, model, q, layout.decimals, n_rows) if threads > 1 and n_rows else None
                data = read_bytes(model.path)
                loop = find_atom_site(data)
                if loop is None or loop.tags != model.loop.tags:
                    raise OutputError(f"Model file '{model.path}' changed since it was read; score it again.")
                values = cells.result() if cells is not None else _q_cells(
                    model, q, layout.decimals, n_rows if n_rows is not None else _count_rows(data, loop))
            with open(tmp, "wb") as f:
                if _write_with_q_column(f, data, loop, values, layout.column, threads):
                    return
        _write_with_gemmi(tmp, model, q, layout)


def _write_with_gemmi(path, model, q, layout) -> None:
    """The mmCIF with the Q column through gemmi's document (a Q column already there is replaced)."""
    doc = model_document(model)
    block = doc[0]
    column = block.find_values("_atom_site.Cartn_x")
    if not column:
        raise OutputError(f"Cannot add Q-scores to '{model.path}': it has no _atom_site table.")
    loop = column.get_loop()
    for name in Q_COLUMNS:
        if f"_atom_site.{name}" in list(loop.tags):
            loop.remove_column(f"_atom_site.{name}")
    full = f"_atom_site.{layout.column}"
    tags = list(loop.tags)
    pos = tags.index("_atom_site.B_iso_or_equiv") + 1 if "_atom_site.B_iso_or_equiv" in tags else -1
    loop.add_columns([full], "?", pos)
    column = block.find_values(full)
    for r, v in enumerate(_q_cells(model, q, layout.decimals, len(column)).strings()):
        column[r] = v
    doc.write_file(str(path))


def _q_cells(model, q, decimals: int, n_rows: int) -> Cells:
    """The Q token of each of the n_rows _atom_site rows: ``decimals`` decimals, '?' for rows not scored or no Q."""
    tokens = fixed_cells(q, decimals, "?")
    missing = len(tokens.data)  # a '?' after the tokens, for the rows not scored
    start, end = np.full(n_rows, missing, dtype=np.int64), np.full(n_rows, missing + 1, dtype=np.int64)
    start[model.atoms.row], end[model.atoms.row] = tokens.start, tokens.end
    return Cells(np.concatenate([tokens.data, np.frombuffer(b"?", dtype=np.uint8)]), start, end)


_ROW = re.compile(rb"(?m)^[ \t\r\f\v]*\S")  # the start of a line that is not blank


def _count_rows(data: bytes, loop) -> int:
    return len(_ROW.findall(data, loop.tags_end, loop.rows_end))


_TOKEN = re.compile(rb'"[^"]*"|\S+')
#: bytes of the loop's rows handled at a time by :func:`_write_with_q_column` (bounds its memory)
_CHUNK_BYTES = 8 << 20


def _write_with_q_column(f, data: bytes, loop, values: Cells, name: str, threads: int = 1) -> bool:
    """Write the mmCIF bytes to ``f`` with a Q tag (``name``) after B_iso_or_equiv and the value in every row,
    a block of rows at a time (``threads`` blocks at once); False (``f`` then holds a part) when the loop's rows
    are not one per line or it has a Q column already (then gemmi does it)."""
    tags = loop.tags
    if any(c in tags for c in Q_COLUMNS):
        return False
    after = tags.index("B_iso_or_equiv") if "B_iso_or_equiv" in tags else len(tags) - 1
    tag_lines = data[loop.tags_start:loop.tags_end].splitlines(keepends=True)
    tag_lines.insert(after + 1, f"_atom_site.{name}\n".encode())
    f.write(data[:loop.tags_start])
    f.write(b"".join(tag_lines))
    blocks, pos = [], loop.tags_end
    while pos < loop.rows_end:
        stop = min(loop.rows_end, data.find(b"\n", min(pos + _CHUNK_BYTES, loop.rows_end - 1)) + 1 or loop.rows_end)
        blocks.append((pos, stop))
        pos = stop
    compiled = len(values) >= numtext.COMPILED_MIN  # few rows: the line-by-line path, no kernel to compile
    threads = max(1, min(int(threads), len(blocks))) if compiled else 1
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
    run = pool.map if pool is not None else map
    widest = int((values.end - values.start).max()) if len(values) else 0
    row = 0
    try:
        for i in range(0, len(blocks), threads):
            window = blocks[i:i + threads]
            scans = run(lambda b: _row_cuts(data, *b, len(tags), after), window) if compiled else [None] * len(window)
            jobs = []  # each gives a block's bytes with the values put in
            for (pos, stop), scan in zip(window, scans, strict=True):
                if scan is None:  # quoted values, or lines that are not rows: line by line
                    done = _with_values_by_lines(data[pos:stop], len(tags), after, values, row)
                    if done is None:
                        return False
                    jobs.append(lambda text=done[0]: text)
                    row += done[1]
                else:
                    jobs.append(lambda scan=scan, first=row: _insert(scan, values, first, widest))
                    row += len(scan[1])
                if row > len(values):
                    return False
            for text in run(lambda job: job(), jobs):
                f.write(text)
    finally:
        if pool is not None:
            pool.shutdown()
    if row != len(values):
        return False
    f.write(data[loop.rows_end:])
    return True


def _row_cuts(data: bytes, pos: int, stop: int, n_tags: int, after: int):
    """The block ``data[pos:stop]`` (whole lines of the loop), padded, and where each of its rows gets its
    value (:func:`qscore.io.row_scan.row_cuts`); None when the compiled scan leaves it to
    :func:`_with_values_by_lines` (a token starts with a quote, or a line holds neither 0 nor ``n_tags``
    tokens)."""
    a = row_scan.padded_rows(data, pos, stop)
    cuts = np.empty((stop - pos + 1) // (2 * max(n_tags, 1)) + 1, dtype=np.int64)  # a row takes ≥ 2 n_tags bytes
    rows = row_scan.row_cuts(a, stop - pos, n_tags, after, cuts)
    return None if rows < 0 else (a, cuts[:rows], stop - pos)


def _insert(scan, values: Cells, row: int, widest: int) -> memoryview:
    """The block of a :func:`_row_cuts` scan with " " and value ``row + r`` put at its cut r (``widest``: the
    longest value, bytes)."""
    a, cuts, n = scan
    out = np.empty(n + len(cuts) * (widest + 1), dtype=np.uint8)
    end = row_scan.insert_values(a, n, cuts, values.data, values.start, values.end, row, out)
    return memoryview(out[:end])


def _with_values_by_lines(chunk: bytes, n_tags: int, after: int, values: Cells, row: int):
    """:func:`_row_cuts` and :func:`_insert` line by line in Python, tokenising quoted values: (bytes, rows), or
    None when the lines are not one row each or there are more rows than values."""
    pieces = _line_pieces(chunk, n_tags, after)
    if pieces is None or row + len(pieces) - 1 > len(values):
        return None
    out = [None] * (2 * len(pieces) - 1)
    out[0::2] = pieces
    out[1::2] = [b" " + v.encode() for v in values.take(slice(row, row + len(pieces) - 1)).strings()]
    return b"".join(out), len(pieces) - 1


def _line_pieces(chunk: bytes, n_tags: int, after: int):
    """Where :func:`_row_cuts` cuts, line by line and tokenising quoted values: the pieces between the cuts
    (None: not one row per line)."""
    head = re.compile(rb"\s*(?:\S+\s+){%d}\S+" % after)  # up to the end of the token after which Q goes
    pieces, last, pos = [], 0, 0
    while pos < len(chunk):
        stop = chunk.find(b"\n", pos) + 1 or len(chunk)
        line = chunk[pos:stop]
        if line.strip():
            if b'"' in line:  # a quoted value may hold spaces: tokenise it properly
                tokens = list(_TOKEN.finditer(line))
                if len(tokens) != n_tags:
                    return None
                cut = tokens[after].end()
            else:
                if len(line.split()) != n_tags:
                    return None
                cut = head.match(line).end()
            pieces.append(chunk[last:pos + cut])
            last = pos + cut
        pos = stop
    pieces.append(chunk[last:])
    return pieces


def write_pdb_with_b(path, model, values: np.ndarray, *, remarks: str = "") -> None:
    """Write the model as PDB with a value per atom in the B-factor column, atomically.

    Q-scores (MapQ's convention for PDB files) or B-factors derived from them; NaN is written as 0.

    Parameters
    ----------
    path : str or Path
    model : Model
    values : (n,) float — one per atom of ``model.atoms``
    remarks : str — lines put before the file's own (e.g. :func:`mapq_pdb_remarks`)
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
        Path(tmp).write_text(remarks + st.make_pdb_string(), encoding="ascii", errors="replace")


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


def atoms_mmcif_text(atoms, mask) -> str:
    """A minimal mmCIF of some atoms (one ``_atom_site`` loop with author and label names), for viewers.

    Parameters
    ----------
    atoms : qscore.types.Atoms
    mask : (n,) bool — the atoms to write

    Returns
    -------
    str
    """
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    cols = ("group_PDB", "id", "type_symbol", "label_atom_id", "label_alt_id", "label_comp_id", "label_asym_id",
            "label_seq_id", "pdbx_PDB_ins_code", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv",
            "auth_seq_id", "auth_asym_id", "auth_atom_id", "pdbx_PDB_model_num")

    def q(v: str) -> str:
        if not v:
            return "?"
        return f"'{v}'" if any(ch in v for ch in " '\"#$;_[]") or v[0] in "_#$" else v

    def words(column: str, spell=q) -> Cells:  # each distinct value spelt once
        codes, distinct = atoms.codes(column)
        return text_cells([spell(str(v)) for v in distinct.tolist()]).take(codes[idx])

    polymer = np.isin(np.asarray(atoms.mol_type)[idx], ("protein", "nucleic"))
    coords = np.asarray(atoms.coords, dtype=np.float64)[idx]
    number, chain, name = int_cells(np.asarray(atoms.res_num)[idx]), words("chain"), words("name")
    n = len(idx)
    columns = [text_cells(["HETATM", "ATOM"]).take(polymer.astype(np.intp)), int_cells(np.arange(1, n + 1)),
               words("element"), name, words("altloc", lambda v: q(v) if v else "."), words("res_name"), chain,
               number, words("ins_code"), *(fixed_cells(coords[:, k], 3) for k in range(3)), repeated("1.00", n),
               fixed_cells(np.asarray(atoms.b_iso, dtype=np.float64)[idx], 2), number, chain, name, repeated("1", n)]
    head = "\n".join(["data_model", "loop_"] + [f"_atom_site.{c}" for c in cols]) + "\n"
    return head + (join_rows(columns, " ").decode() if n else "")
