"""Where files go: output names and folders, and the user's cache.

``<model>__Q__<map>`` is the stem MapQ gives its outputs; every command names its files after it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError

__all__ = ["output_stem", "file_stem", "unzipped_name", "prepare_out_dir", "output_folder", "refuse_overwriting_inputs",
           "cache_dir", "cached_archive_path", "ARCHIVE_NAME"]

#: file name of the downloaded EMDB archive in the cache
ARCHIVE_NAME = "emdb_qscores.csv"


def output_stem(model_path, map_path) -> str:
    """``<model>__Q__<map>``: the stem MapQ gives its output files.

    Parameters
    ----------
    model_path, map_path : str or Path — ``.gz`` and the extension are removed

    Returns
    -------
    str
    """
    return f"{file_stem(model_path)}__Q__{file_stem(map_path)}"


def file_stem(path) -> str:
    """A file's name without ``.gz`` and its extension (``model.cif.gz`` → ``model``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    return Path(unzipped_name(path)).stem


def unzipped_name(path) -> str:
    """A file's name without a ``.gz`` suffix, any case (``model.cif.GZ`` → ``model.cif``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    name = Path(path).name
    return name[:-3] if name.lower().endswith(".gz") else name


def prepare_out_dir(out_dir, model_path) -> Path:
    """The folder outputs go to, created and checked writable.

    Parameters
    ----------
    out_dir : str, Path or None — the folder (None: the folder of ``model_path``)
    model_path : str or Path

    Returns
    -------
    Path

    Raises
    ------
    OutputError — before any computation, when the folder cannot be made or written
    """
    folder = Path(out_dir) if out_dir is not None else Path(model_path).resolve().parent
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"Output folder '{folder}' is a file; choose a folder with out_dir=.",
                          parameter="out_dir")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".qscore-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"Output folder '{folder}' cannot be written ({exc.strerror or exc}); "
                          "choose another with out_dir=.", parameter="out_dir") from None
    return folder


@contextmanager
def output_folder(out_dir, model_path) -> Iterator[Path]:
    """:func:`prepare_out_dir` for one run: a folder this run created is removed again when the run
    fails before writing a file into it (empty sub-folders do not count), so a failed run leaves no
    empty output folder.

    Parameters
    ----------
    out_dir : str, Path or None — as for :func:`prepare_out_dir`
    model_path : str or Path

    Yields
    ------
    Path
    """
    target = Path(out_dir) if out_dir is not None else Path(model_path).resolve().parent
    created = not target.exists()
    folder = prepare_out_dir(out_dir, model_path)
    try:
        yield folder
    except BaseException:
        if created and not any(p.is_file() for p in folder.rglob("*")):
            shutil.rmtree(folder, ignore_errors=True)
        raise


def refuse_overwriting_inputs(outputs, *inputs) -> None:
    """Raise OutputError, before anything is written, when an output path is one of the input files
    (``None`` inputs, such as a map held only in memory, are ignored)."""
    given = {Path(p).resolve() for p in inputs if p}
    for p in outputs:
        if Path(p).resolve() in given:
            raise OutputError(f"Output '{p}' would overwrite an input; use out_dir= to pick another folder.",
                              parameter="out_dir")


def cache_dir() -> Path:
    """The user's cache folder for qscore (platformdirs' convention, without the dependency)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "qscore"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "qscore"
    if sys.platform.startswith("win") and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "qscore" / "Cache"
    return Path.home() / ".cache" / "qscore"


def cached_archive_path() -> Path:
    """Where ``qscore archive download`` saves the EMDB table (``--archive emdb`` reads it)."""
    return cache_dir() / ARCHIVE_NAME
