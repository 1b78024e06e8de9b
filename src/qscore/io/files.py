"""File plumbing shared by the readers and writers: input checks and atomic, all-or-nothing writes.

Every write is atomic: the data go to a temporary file in the destination folder, which is renamed
over the destination only once complete, so a failure never leaves a half-written file;
:func:`all_or_nothing` removes a whole set of files again when one of them fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import InputFileError, OutputError
from . import numtext
from .numtext import Cells, g6_cells, int_cells, join_rows, text_cells
from .paths import unzipped_name

__all__ = ["check_input_path", "check_output_file", "atomic_path", "all_or_nothing", "write_text", "write_json",
           "write_table", "csv_text", "csv_chunks", "CSV_CHUNK_ROWS", "release_freed_memory"]


def check_input_path(path, suffixes, kind: str) -> Path:
    """An input path, after checking that it is a readable file with a known extension.

    Parameters
    ----------
    path : str or Path
    suffixes : sequence of str — the extensions accepted (``.gz`` after them too)
    kind : str — what the file is ('Map', 'Model'), for messages

    Returns
    -------
    Path

    Raises
    ------
    InputFileError — missing, a folder, not a regular file, an unknown extension, or not readable
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{kind} file '{p}' does not exist; check the path.")
    if p.is_dir():
        raise InputFileError(f"{kind} file '{p}' is a folder; give the path of a file.")
    if not p.is_file():  # a named pipe, socket or device would block or never end
        raise InputFileError(f"{kind} file '{p}' is not a regular file (a pipe, socket or device); "
                             "give the path of a file on disk.")
    if not unzipped_name(p).lower().endswith(tuple(suffixes)):
        raise InputFileError(
            f"{kind} file '{p}' has an unknown extension; expected one of "
            f"{', '.join(suffixes)} (optionally .gz).")
    if not os.access(p, os.R_OK):
        raise InputFileError(f"{kind} file '{p}' cannot be read (permission denied).")
    return p


def check_output_file(path, parameter: str) -> Path:
    """An output file's path, checked before any computation: its folder exists and can be written,
    and the path is not a folder.

    Parameters
    ----------
    path : str or Path
    parameter : str — the Python parameter that gave it, for messages

    Returns
    -------
    Path

    Raises
    ------
    OutputError
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise OutputError(f"{parameter}={p} is a folder; give a file name.", parameter=parameter)
    if not folder.is_dir():
        raise OutputError(f"{parameter}={p}: folder '{folder}' does not exist; create it or choose another path.",
                          parameter=parameter)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{parameter}={p}: folder '{folder}' cannot be written; choose another path.",
                          parameter=parameter)
    return p


# The process's umask, read once here: reading it means setting it, and setting it to 0 on every
# write would, for that moment, give files and folders other threads create no permission mask.
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"Cannot write '{path}': {exc.strerror or exc}. Choose a writable "
                          "folder (e.g. with out_dir=).", parameter="out_dir") from None
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield Path(tmp)
        try:
            os.replace(tmp, path)
        except OSError as exc:
            what = ("a folder is in the way; remove or rename it" if path.is_dir()
                    else "check the path and its permissions")
            raise OutputError(f"Cannot write '{path}' ({exc.strerror or exc}): {what}, or choose "
                              "another folder with out_dir=.", parameter="out_dir") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def all_or_nothing():
    """Yield a list for the paths a block writes (append each as soon as it exists); if the block
    fails, remove them again, so that a set of files is written whole or not at all."""
    written: list = []
    try:
        yield written
    except BaseException:
        for p in written:
            Path(p).unlink(missing_ok=True)
        raise


def write_text(path, text: str) -> None:
    """Write text to a file atomically (UTF-8).

    Parameters
    ----------
    path : str or Path
    text : str
    """
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_json(path, data: dict) -> None:
    """Write a dict as indented JSON, atomically; numpy scalars and NaN become plain JSON.

    Parameters
    ----------
    path : str or Path
    data : dict
    """
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


def release_freed_memory() -> None:
    """Hand memory freed by Python back to the OS (``malloc_trim``: glibc keeps freed memory, in every thread's
    arena), so that what comes next — the map after the model, the report's forked workers after the tables —
    does not stack on top of it.  A no-op where unavailable."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def write_table(path, table, *, threads: int = 1) -> None:
    """Write a DataFrame atomically as CSV (``.csv``), TSV (``.tsv``) or Parquet (``.parquet``).

    Parameters
    ----------
    path : str or Path — its suffix chooses the format
    table : DataFrame
    threads : int — CSV blocks formatted at once (:func:`csv_chunks`)
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.writelines(csv_chunks(table, "\t" if path.suffix == ".tsv" else ",", threads=threads))
            if threads > 1:
                release_freed_memory()


def _field(sep: str):
    specials = (sep, '"', "\n", "\r")

    def quote(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in specials) else v

    quote.specials = specials
    return quote


def _column_cells(values, quote, compiled: bool | None = None) -> Cells:
    """One column's cells as pandas writes them with ``float_format='%.6g'``: NaN and NA empty, bools True/False.

    Numbers are formatted by :mod:`qscore.io.numtext` (``compiled``: as there); strings and categories once per
    distinct value."""
    import pandas as pd

    kind = values.dtype.kind if hasattr(values, "dtype") else "O"
    if kind == "f":
        return g6_cells(values.to_numpy(dtype=np.float64), compiled=compiled)
    if (kind == "i" or kind == "u" and values.dtype.itemsize < 8) and not values.hasnans:
        return int_cells(values.to_numpy(dtype=np.int64), compiled=compiled)
    if kind == "b" and not values.hasnans:
        return text_cells(["False", "True"]).take(values.to_numpy(dtype=np.intp))
    if (isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values.dtype)
            and (values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"))):
        codes, distinct = pd.factorize(values)  # distinct strings (or categories): no two with the same text
        codes[codes < 0] = len(distinct)  # missing: the empty cell after them
        return text_cells([*map(_cell_text(quote), distinct.tolist()), ""]).take(codes)
    return text_cells(list(map(_cell_text(quote), values.tolist())))


def _cell_text(quote):
    import pandas as pd

    def text(v) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, float):
            return f"{v:.6g}"
        return quote(str(v))

    return text


def csv_text(table, sep: str = ",") -> str:
    """The CSV (or TSV) text of a table, byte for byte what ``table.to_csv(index=False, sep=sep,
    float_format='%.6g')`` writes, without pandas' per-cell formatting (the write stage of
    ``benchmarks/bench_e2e.py`` shows what it saves).

    Parameters
    ----------
    table : DataFrame
    sep : str — the field separator

    Returns
    -------
    str
    """
    return "".join(csv_chunks(table, sep))


#: rows formatted at a time by :func:`csv_chunks` (bounds the memory its cells' strings take)
CSV_CHUNK_ROWS = 65_536


def csv_chunks(table, sep: str = ",", rows: int = CSV_CHUNK_ROWS, *, threads: int = 1):
    """:func:`csv_text` in pieces: the header line, then blocks of at most ``rows`` rows.

    Parameters
    ----------
    table : DataFrame
    sep : str — the field separator
    rows : int — rows per piece
    threads : int — pieces formatted at once, on threads (the compiled formatters release the GIL), each of
        ``rows // threads`` rows, so that what is held at once stays that of one piece of ``rows``; yielded in order

    Yields
    ------
    str
    """
    quote = _field(sep)
    yield sep.join(quote(str(c)) for c in table.columns) + "\n"
    if not len(table.columns):
        yield "\n" * len(table)
        return

    compiled = len(table) >= numtext.COMPILED_MIN  # decided for the table: its last piece may be short

    def piece(bounds: tuple) -> str:
        part = table.iloc[bounds[0]:bounds[1]]
        return join_rows([_column_cells(part[c], quote, compiled) for c in part.columns], sep,
                         compiled=compiled).decode()

    threads = max(int(threads), 1)
    size = max(1, rows // threads)
    pieces = [(start, start + size) for start in range(0, len(table), size)]
    if threads == 1 or len(pieces) == 1:
        yield from map(piece, pieces)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for i in range(0, len(pieces), threads):
            yield from pool.map(piece, pieces[i:i + threads])
