"""Read and write cryo-EM density maps (MRC/CCP4, optionally gzipped) with gemmi.

A map becomes a :class:`DensityMap`: values as a C-ordered ``(nz, ny, nx)`` float32 array in
x, y, z axis order whatever the file's MAPC/MAPR/MAPS, an origin and a voxel size in Å (x, y, z).
The origin follows Chimera and ChimeraX (docs/science.md §1): the ORIGIN header words when any is nonzero,
else NSTART × voxel size.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import InputFileError, MapError, QScoreWarning
from ..types import DensityMap
from .files import atomic_path, check_input_path

MAP_SUFFIXES = (".mrc", ".map", ".ccp4", ".mrcs")

#: MRC modes: 0 int8, 1 int16, 2 float32, 3 complex int16, 4 complex float32, 6 uint16, 12 float16
_INTEGER_MODES = {0: "int8", 1: "int16", 6: "uint16"}
_COMPLEX_MODES = {3: "complex int16", 4: "complex float32"}
_REAL_MODES = {2: "float32", 12: "float16"}


#: bytes per voxel of the MRC modes read (complex modes are refused before their size matters)
_MODE_BYTES = {0: 1, 1: 2, 2: 4, 6: 2, 12: 2}
#: the largest map (voxel data, bytes) a compressed file may claim: 16 GiB
_MAX_GZ_BYTES = 1 << 34


def _gzip_content_size(p: Path) -> int:
    """The decompressed size of a gzipped file, after reading it to its end: Python's gzip checks each
    member's CRC-32 and length trailer (gemmi's reader stops at the voxels it needs and checks neither).

    Raises
    ------
    InputFileError — a member cut short, a trailer missing or a CRC or length that does not match
    """
    import gzip
    import zlib

    size = 0
    buf = bytearray(1 << 22)
    try:
        with gzip.open(p, "rb") as f:
            while n := f.readinto(buf):
                size += n
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputFileError(f"Map file '{p}' is truncated or not a valid gzip file ({exc}); "
                             "re-download it.") from None
    return size


def _check_header(p: Path) -> int | None:
    """Check the file's MRC header against its size before gemmi allocates anything; return the
    mode word (None if the header cannot be read, e.g. a broken gzip stream: gemmi then says why).

    Refuses non-positive grid dimensions or extended-header size, a file shorter than its header says
    (gzipped: its decompressed content, read once to check the gzip trailer), or a gzipped file claiming
    more than 2^34 bytes of voxels.
    """
    import gzip
    import struct

    gz = p.name.lower().endswith(".gz")
    try:
        opener = gzip.open if gz else open
        with opener(p, "rb") as f:
            head = f.read(1024)
    except (OSError, EOFError):
        return None
    if len(head) < 1024:
        raise InputFileError(f"Map file '{p}' is shorter than an MRC header (1024 bytes); the file is "
                             "truncated, corrupt or not a map. Re-download or re-export it.")
    big = head[212:214] == b"\x11\x11"  # machine stamp of big-endian files
    nx, ny, nz, mode = struct.unpack(">4i" if big else "<4i", head[0:16])
    nsymbt = struct.unpack(">i" if big else "<i", head[92:96])[0]
    if min(nx, ny, nz) <= 0:
        raise InputFileError(
            f"Map file '{p}' is corrupt or not a map: its header gives grid dimensions "
            f"NX×NY×NZ = {nx}×{ny}×{nz}, which must be positive. Re-download or re-export it.")
    if nsymbt < 0:
        raise InputFileError(
            f"Map file '{p}' is corrupt or not a map: its header gives a negative extended-header "
            f"size (NSYMBT = {nsymbt}). Re-download or re-export it.")
    per_voxel = _MODE_BYTES.get(mode)
    if per_voxel is None:
        return mode  # complex or unknown mode: refused by read_map or by gemmi
    data = nx * ny * nz * per_voxel
    needed = 1024 + nsymbt + data
    if gz:
        if data > _MAX_GZ_BYTES:
            raise InputFileError(
                f"Map file '{p}' is corrupt or its header is wrong: the header says "
                f"{nx}×{ny}×{nz} voxels ({data} bytes, more than {_MAX_GZ_BYTES} bytes). "
                "Re-download or re-export it.")
        size = _gzip_content_size(p)
    else:
        size = p.stat().st_size
    if size < needed:
        raise InputFileError(
            f"Map file '{p}' is truncated or its header is wrong: the header says {nx}×{ny}×{nz} "
            f"voxels ({needed} bytes with the header) but the file holds {size} bytes. "
            "Re-download or re-export it.")
    return mode


#: voxel sizes (Å) a cryo-EM map can have; outside, the header is wrong (refused unless permissive)
VOXEL_RANGE = (0.05, 20.0)


def _read_grid(path, permissive: bool) -> DensityMap:
    """The map's grid, origin and voxel size with every header check; its values are not judged here."""
    import gemmi

    p = check_input_path(path, MAP_SUFFIXES, "Map")
    mode = _check_header(p)
    if mode in _COMPLEX_MODES:
        raise MapError(f"Map file '{p}' holds {_COMPLEX_MODES[mode]} values (MRC mode {mode}); "
                       "Q-scores need a real-space density map. Convert it to mode 2 (float32).")
    try:
        m = gemmi.read_ccp4_map(str(p))
    except (RuntimeError, ValueError, OSError, MemoryError, EOFError) as exc:
        raise InputFileError(
            f"Map file '{p}' could not be read as MRC/CCP4 ({exc}); the file is truncated, corrupt "
            "or not a map. Re-download or re-export it.") from None

    mode = m.header_i32(4)
    if mode in _INTEGER_MODES:
        msg = (f"Map file '{p}' holds {_INTEGER_MODES[mode]} values (MRC mode {mode}), which is "
               "usually a mask or segmentation rather than a density map.")
        if not permissive:
            raise MapError(msg + " Give the density map, or pass permissive=True to read it as real values.",
                           parameter="permissive")
        warnings.warn(msg + " Read as real values because permissive=True.", QScoreWarning,
                      stacklevel=2)
    elif mode not in _REAL_MODES:
        raise MapError(f"Map file '{p}' has unknown MRC mode {mode}; expected 2 (float32).")

    angles = tuple(m.header_float(w) for w in (14, 15, 16))  # CELLB
    if not all(np.isfinite(a) and abs(a - 90.0) <= 1e-3 for a in angles):  # a NaN angle is not 90° either
        raise MapError(
            f"Map file '{p}' has cell angles {angles}; cryo-EM maps have 90° angles and Q-scores "
            "need an orthogonal grid. Resample the map onto an orthogonal grid first.")

    n_crs = [m.header_i32(w) for w in (1, 2, 3)]
    start_crs = [m.header_i32(w) for w in (5, 6, 7)]
    sampling = np.array([m.header_i32(w) for w in (8, 9, 10)], dtype=np.float64)
    axis_order = tuple(m.header_i32(w) for w in (17, 18, 19))
    if sorted(axis_order) != [1, 2, 3]:
        raise MapError(f"Map file '{p}' has invalid axis order MAPC/MAPR/MAPS = {axis_order}; "
                       "expected a permutation of 1, 2, 3.")
    n_xyz = np.zeros(3)
    start_xyz = np.zeros(3)
    for word, axis in enumerate(axis_order):
        n_xyz[axis - 1] = n_crs[word]
        start_xyz[axis - 1] = start_crs[word]
    sampling = np.where(sampling > 0, sampling, n_xyz)
    lengths = np.array([m.header_float(w) for w in (11, 12, 13)], dtype=np.float64)  # CELLA (gemmi zeroes tiny ones)
    if not np.all(np.isfinite(lengths) & (lengths > 0)):
        raise MapError(f"Map file '{p}' has cell lengths {', '.join(f'{v:.4g}' for v in lengths)} Å; they must be "
                       "finite and positive. "
                       "Fix the header (CELLA) or regenerate the map.")
    voxel = lengths / sampling
    if not np.all((voxel >= VOXEL_RANGE[0]) & (voxel <= VOXEL_RANGE[1])):
        msg = (f"Map file '{p}' has a voxel size of {', '.join(f'{v:.4g}' for v in voxel)} Å, outside the "
               f"{VOXEL_RANGE[0]:g}–{VOXEL_RANGE[1]:g} Å a cryo-EM map has; check the header (CELLA, MX/MY/MZ).")
        if not permissive:
            raise MapError(msg + " Pass permissive=True to read it anyway.")
        warnings.warn(msg + " Read anyway because permissive=True.", QScoreWarning, stacklevel=2)

    header_origin = np.array([m.header_float(w) for w in (50, 51, 52)], dtype=np.float64)
    if not np.all(np.isfinite(header_origin)):
        raise MapError(f"Map file '{p}' has a non-finite ORIGIN {header_origin.tolist()}; fix the header.")
    notes = []
    nstart_origin = start_xyz * voxel
    if np.any(header_origin != 0):
        origin = header_origin
        if np.any(start_xyz != 0) and not np.allclose(header_origin, nstart_origin, atol=1e-3):
            msg = (f"Map file '{p}': ORIGIN {header_origin.round(4).tolist()} and NSTART × voxel "
                   f"size {nstart_origin.round(4).tolist()} disagree; using ORIGIN, as Chimera and "
                   "ChimeraX do.")
            warnings.warn(msg, QScoreWarning, stacklevel=2)
            notes.append(msg)
    else:
        origin = nstart_origin

    # gemmi's grid is (NC, NR, NS) in file order; transposed, a C-ordered (NS, NR, NC) view.
    file_order = np.asarray(m.grid).transpose(2, 1, 0)
    # file axis k (0 = sections, 1 = rows, 2 = columns) holds Cartesian axis axis_order[2 - k]
    cart_of_axis = [axis_order[2], axis_order[1], axis_order[0]]
    perm = [cart_of_axis.index(c) for c in (3, 2, 1)]
    values = np.ascontiguousarray(file_order.transpose(perm), dtype=np.float32)
    if values.size == 0:
        raise MapError(f"Map file '{p}' has an empty grid {n_crs}.")
    return DensityMap(values=values, origin=origin, voxel_size=voxel, path=str(p), axis_order=axis_order,
                      notes=notes)


def read_map(path, *, permissive: bool = False) -> DensityMap:
    """Read an MRC/CCP4 map (``.mrc``, ``.map``, ``.ccp4``, optionally ``.gz``).

    Parameters
    ----------
    path : str or Path
        The map file.
    permissive : bool
        Accept integer-mode maps (read as real values, with a warning) instead of refusing them.

    Returns
    -------
    DensityMap

    Raises
    ------
    InputFileError
        Missing, unreadable, truncated or corrupt file, or unknown extension.
    MapError
        Complex or (unless permissive) integer mode, non-90° cell, NaN values or zero variance.
    """
    dmap = _read_grid(path, permissive)
    values = dmap.values
    bad = sum(int(np.count_nonzero(~np.isfinite(values[k:k + 16]))) for k in range(0, values.shape[0], 16))
    if bad:
        raise MapError(f"Map file '{dmap.path}' has {bad} NaN or infinite values; fill or mask them "
                       "(e.g. set them to 0) before scoring.")
    if float(values.max()) == float(values.min()):
        raise MapError(f"Map file '{dmap.path}' has the same value ({float(values.min())}) everywhere; "
                       "a map of zero variance cannot be correlated. Check the file.")
    return dmap


def read_local_resolution(path) -> DensityMap:
    """Read a local-resolution map (MRC/CCP4, values in Å), with the header checks and origin rules of
    :func:`read_map`; NaN and constant values are allowed (they mean "no value" or a uniform map), and
    :func:`qscore.analysis.local_resolution.check_local_resolution` judges the values.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DensityMap

    Raises
    ------
    InputFileError, MapError — as :func:`read_map`, for the file and its header
    """
    return _read_grid(path, False)


def write_map(path, dmap: DensityMap, *, axis_order=(1, 2, 3), use_nstart: bool = False) -> None:
    """Write a :class:`DensityMap` as an MRC file (mode 2), atomically.

    Parameters
    ----------
    axis_order : tuple of int
        MAPC, MAPR, MAPS to store the data in (a permutation of 1, 2, 3).
    use_nstart : bool
        Express the origin through NSTART (it must then be a whole number of voxels) instead of
        the ORIGIN words.
    """
    import gemmi


    axis_order = tuple(int(a) for a in axis_order)
    zyx = dmap.values  # index [z, y, x]
    # file order array (NS, NR, NC): section axis is axis_order[2], etc.; zyx index of Cartesian c
    # is 3 - c  (x -> 2, y -> 1, z -> 0)
    perm = [3 - axis_order[2], 3 - axis_order[1], 3 - axis_order[0]]
    file_order = np.ascontiguousarray(zyx.transpose(perm))
    grid = gemmi.FloatGrid(np.ascontiguousarray(file_order.transpose(2, 1, 0)))
    nx, ny, nz = dmap.shape_xyz
    lengths = dmap.voxel_size * np.array([nx, ny, nz])
    grid.unit_cell = gemmi.UnitCell(*lengths, 90, 90, 90)
    m = gemmi.Ccp4Map()
    m.grid = grid
    m.update_ccp4_header(2)
    for word, axis in enumerate(axis_order):
        m.set_header_i32(17 + word, axis)
    n_xyz = [nx, ny, nz]
    for word, axis in enumerate(axis_order):
        m.set_header_i32(1 + word, n_xyz[axis - 1])
    for w, n in zip((8, 9, 10), n_xyz, strict=True):
        m.set_header_i32(w, n)
    if use_nstart:
        start = dmap.origin / dmap.voxel_size
        if not np.allclose(start, np.round(start), atol=1e-6):
            raise MapError("write_map(use_nstart=True) needs an origin that is a whole number of voxels.")
        for word, axis in enumerate(axis_order):
            m.set_header_i32(5 + word, int(round(start[axis - 1])))
        for w in (50, 51, 52):
            m.set_header_float(w, 0.0)
    else:
        for word in range(3):
            m.set_header_i32(5 + word, 0)
        for w, o in zip((50, 51, 52), dmap.origin, strict=True):
            m.set_header_float(w, float(o))
    with atomic_path(path) as tmp:
        m.write_ccp4_map(str(tmp))


__all__ = ["MAP_SUFFIXES", "read_map", "read_local_resolution", "write_map"]
