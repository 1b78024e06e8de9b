"""The text of model files, before any parsing: decompressed, with a byte-order mark and old-Mac line ends
dealt with (:func:`read_bytes`), and the mmCIF ``_atom_site`` loop found and read straight from the bytes
(:func:`find_atom_site`, :func:`fast_columns`) — the fast reader behind :func:`qscore.io.models.read_model`
and the streaming writer of :mod:`qscore.io.writers` — with every row checked for its number of values
(:func:`check_row_lengths`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..types import sorted_codes
from . import row_scan

__all__ = ["AtomSiteLoop", "find_atom_site", "check_row_lengths", "fast_columns", "read_bytes"]


_ATOM_SITE_TAGS = re.compile(rb"^loop_[ \t]*\r?\n((?:[ \t]*_atom_site\.\S+[ \t]*\r?\n)+)", re.M)


@dataclass
class AtomSiteLoop:
    """Where the _atom_site loop lies in an mmCIF text (for the streaming reader and writer)."""

    tags: list
    loop_start: int
    tags_start: int
    tags_end: int
    rows_end: int
    comments: bool = False  # comment lines among the rows (the fast reader leaves such a loop to gemmi)
    n_rows: int | None = None  # the rows, one per line, when the fast reader has read them


def find_atom_site(data: bytes) -> AtomSiteLoop | None:
    """Where the _atom_site loop of an mmCIF file's bytes lies (offsets into ``data``), or None."""
    m = _ATOM_SITE_TAGS.search(data)
    if m is None:
        return None
    tags = [t.strip()[len("_atom_site."):].decode() for t in m.group(1).split(b"\n") if t.strip()]
    # the rows end at the first line that starts a new item, loop or block; a comment line ('#', as
    # mmCIF files put between categories) ends them too unless more rows follow it
    end, comments = m.end(), False
    while True:
        found = _rows_end(data, end - 1)  # the first of them: one scan, not one per word
        end = found + 1 if found >= 0 else len(data)
        after = _COMMENTS.match(data, end).end()
        if after >= len(data) or data.startswith((b"loop_", b"_", b"data_", b"save_"), after):
            break
        end, comments = after, True  # rows after a comment: the loop goes on
    return AtomSiteLoop(tags=tags, loop_start=m.start(), tags_start=m.start(1), tags_end=m.end(1),
                        rows_end=end, comments=comments)


#: a line that ends a loop's rows: a comment, a new loop, item, block or save frame
_ROWS_END = re.compile(rb"\n(?:#|loop_|_|data_|save_)")
#: from this many bytes on, :func:`_rows_end` searches with compiled code (``benchmarks/bench_scan.py`` times it
#: against the regex); below it the regex is quick and nothing needs loading
COMPILED_BYTES = 1 << 20


def _rows_end(data: bytes, pos: int) -> int:
    """Where the newline before the first line from ``pos`` on that ends a loop's rows is (-1: none)."""
    if len(data) - pos >= COMPILED_BYTES:
        return row_scan.next_item_line(np.frombuffer(data, dtype=np.uint8), pos)
    found = _ROWS_END.search(data, pos)
    return found.start() if found else -1
#: comment and blank lines
_COMMENTS = re.compile(rb"(?:[ \t]*(?:#[^\n]*)?\r?\n)*")


_TOKEN_MASK = bytes.maketrans(bytes(range(256)), bytes(1 if b > 32 else 0 for b in range(256)))


def _count_tokens(data: bytes, start: int, end: int, chunk: int = 1 << 22) -> int:
    """The number of whitespace-separated tokens in data[start:end] (C speed, bounded memory)."""
    n = 0
    for a in range(start, end, chunk):
        b = min(a + chunk, end)
        # a token starts where a byte > 32 follows whitespace (or the start)
        piece = data[max(a - 1, start):b].translate(_TOKEN_MASK)
        n += piece.count(b"\0\1")
        if a == start and piece[:1] == b"\1":
            n += 1
    return n


#: one value of a CIF line: a quoted string (closed by its quote before whitespace), a comment, or a bare word
_CIF_TOKEN = re.compile(rb"""'.*?'(?=\s|$)|".*?"(?=\s|$)|#.*|\S+""")


def _line_values(line: bytes) -> int:
    """The number of CIF values on one line (quoted strings count once; a comment ends the line)."""
    if b"'" not in line and b'"' not in line and b"#" not in line:
        return len(line.split())
    return sum(1 for t in _CIF_TOKEN.findall(line) if not t.startswith(b"#"))


def check_row_lengths(data: bytes, loop: AtomSiteLoop, path) -> None:
    """Raise InputFileError naming the row and line where an _atom_site row does not hold the loop's
    number of values.

    Checked per line, not in total (a row short by two and the next long by two would garble the model
    without a word): a line holds whole rows, or a run of shorter lines holds exactly one row (a row
    split across lines, which is valid mmCIF).  A loop with multi-line text fields is left to gemmi.

    Parameters
    ----------
    data : bytes — the file's text
    loop : the _atom_site loop found in it (:func:`find_atom_site`)
    path : str or Path — the file, for messages

    Raises
    ------
    InputFileError
    """
    rows = data[loop.tags_end:loop.rows_end]
    if rows.startswith(b";") or b"\n;" in rows:
        return
    n = len(loop.tags)
    row = 0  # rows complete so far
    run = None  # (line index, its values, values so far) of a row being read across lines
    for i, line in enumerate(rows.split(b"\n")):
        k = _line_values(line)
        if k == 0:
            continue
        if run is None and k % n == 0:  # whole rows
            row += k // n
            continue
        run = (i, k, k) if run is None else (run[0], run[1], run[2] + k)
        if run[2] == n:
            row, run = row + 1, None
        elif run[2] > n:
            break
    if run is None:
        return
    line_no = data.count(b"\n", 0, loop.tags_end) + 1 + run[0]
    raise InputFileError(
        f"Model file '{path}' is corrupt: row {row + 1} of _atom_site (line {line_no}) has "
        f"{run[1] if run[2] > n else run[2]} values for {n} columns; fix or regenerate the file.")


_COORDINATES = ("Cartn_x", "Cartn_y", "Cartn_z")
#: the other columns the reader takes, as strings (numbers among them are converted once per distinct value)
_STRINGS = ("pdbx_PDB_model_num", "auth_atom_id", "label_atom_id", "auth_comp_id", "label_comp_id", "auth_asym_id",
            "label_asym_id", "auth_seq_id", "label_seq_id", "pdbx_PDB_ins_code", "label_alt_id", "type_symbol",
            "B_iso_or_equiv", "occupancy")


def fast_columns(data: bytes, loop: AtomSiteLoop):
    """Fast, lean reader of the rows of the _atom_site loop: compiled (:func:`qscore.io.row_scan.row_columns`)
    where every row is a line of plain tokens, else with pandas' C tokenizer.

    Returns ``(get, n_rows)`` — get(tag) gives a float array (coordinates) or a pandas Categorical —
    or None when the loop is not in the simple form this reader handles (text fields,
    single-quoted values, comments among the rows, rows split across lines or of the wrong length):
    the caller then checks the rows (:func:`check_row_lengths`) and falls back to gemmi.

    Parameters
    ----------
    data : bytes — the file's text
    loop : AtomSiteLoop — where its _atom_site loop lies (:func:`find_atom_site`)
    """
    import io

    if loop.comments:
        return None
    compiled = _compiled_columns(data, loop)  # it declines all that follows (a token starting with ; ' ")
    if compiled is not None:
        return compiled
    rows = data[loop.tags_end:loop.rows_end]
    if rows.startswith(b";") or b"\n;" in rows or (b"'" in rows and re.search(rb"\s'", rows)):
        return None
    use = [t for t in _COORDINATES + _STRINGS if t in loop.tags]
    last = loop.tags[-1]  # '' there tells a row with too few values (the tokenizer fills it in)
    if last not in use:
        use.append(last)
    dtypes = {t: "category" for t in use if not t.startswith("Cartn_")}
    try:
        table = pd.read_csv(io.BytesIO(rows), sep=r"\s+", header=None, names=loop.tags, usecols=use,
                            dtype=dtypes, quotechar='"', na_filter=False, engine="c", encoding="utf-8",
                            encoding_errors="replace")
    except (ValueError, pd.errors.ParserError):
        return None
    del rows
    # a row with too many values the tokenizer drops silently: count all values (a quoted value
    # with spaces counts more than once; gemmi then reads the loop)
    ragged = _count_tokens(data, loop.tags_end, loop.rows_end) != len(table) * len(loop.tags)
    if isinstance(table[last].dtype, pd.CategoricalDtype):
        ragged = ragged or "" in table[last].cat.categories
    if ragged:
        return None  # rows split across lines (or of wrong lengths: checked before gemmi reads them)
    try:
        coords = {c: pd.to_numeric(table[c], errors="raise").to_numpy(np.float64)
                  for c in ("Cartn_x", "Cartn_y", "Cartn_z") if c in table}
    except ValueError:
        return None
    if len(coords) < 3 or any(np.isnan(v).any() for v in coords.values()):
        return None  # ragged rows: let gemmi parse (and report) it

    def get(tag):
        if tag in coords:
            return coords[tag]
        return table[tag].array if tag in table else None  # a pandas Categorical

    return get, len(table)


def _compiled_columns(data: bytes, loop: AtomSiteLoop):
    """:func:`fast_columns` by the compiled scan: the strings' categories are their text, sorted; None where the
    scan leaves the loop to pandas (quotes, long or non-ASCII tokens, numbers that are not plain decimals, a line
    that is not one row)."""
    tags = loop.tags
    strings = [t for t in _STRINGS if t in tags]
    if len(set(tags)) != len(tags) or not all(c in tags for c in _COORDINATES):
        return None
    kind, slot = np.zeros(len(tags), dtype=np.int64), np.zeros(len(tags), dtype=np.int64)
    for i, t in enumerate(_COORDINATES):
        kind[tags.index(t)], slot[tags.index(t)] = 2, i
    for i, t in enumerate(strings):
        kind[tags.index(t)], slot[tags.index(t)] = 1, i
    text = np.frombuffer(data, dtype=np.uint8)[loop.tags_end:loop.rows_end]
    lines = row_scan.newlines(text) + 1
    keys, numbers = np.empty((len(strings), lines), dtype=np.uint64), np.empty((3, lines))
    rows = row_scan.row_columns(text, len(text), kind, slot, keys, numbers)
    if rows < 0:
        return None
    columns = {t: numbers[i, :rows] for i, t in enumerate(_COORDINATES)}
    columns.update((t, _packed_categorical(keys[i, :rows])) for i, t in enumerate(strings))
    return columns.get, rows


def _packed_categorical(keys: np.ndarray) -> pd.Categorical:
    """The Categorical of strings packed into integers (:func:`qscore.io.row_scan.row_columns`), its categories
    sorted."""
    codes, distinct = sorted_codes(keys)
    text = [int(k).to_bytes(8, "big").rstrip(b"\0").decode("ascii") for k in distinct]
    return pd.Categorical.from_codes(codes, categories=pd.Index(text, dtype=str))


def read_bytes(p) -> bytes:
    """The (decompressed) text of a model file, gzipped or not, as UTF-8 bytes with ``\\n`` line ends:
    a UTF-8 byte-order mark is dropped and old-Mac line ends (CR only) become LF (gemmi would read
    such a PDB file as one line, or miss the first record after the mark, without a word).

    Raises
    ------
    InputFileError
        A gzipped file that is truncated or corrupt, or a UTF-16/32 text.
    """
    import gzip
    import zlib

    p = Path(p)
    if p.name.lower().endswith(".gz"):
        try:
            with gzip.open(p, "rb") as f:
                data = f.read()
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise InputFileError(f"Model file '{p}' is truncated or not a valid gzip file ({exc}); "
                                 "check or download it again.") from None
    else:
        data = p.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] == b"\0\0\xfe\xff":
        raise InputFileError(f"Model file '{p}' is UTF-16 or UTF-32 text (it starts with that byte-order mark); "
                             "save it as UTF-8 or ASCII.")
    if b"\r" in data[:1 << 16] and b"\n" not in data[:1 << 16]:
        data = data.replace(b"\r", b"\n")
    return data
