"""What both map–model correlations of docs/science.md §8 share: the threshold, the pooled sums, CC and CC-mean,
atomic numbers and occupancies, the checks on the resolution and the memory allowed.

Used by :mod:`qscore.analysis.correlation` (molmap) and :mod:`qscore.analysis.emodel` (electron scattering).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from numba import njit

from ..errors import ParameterError
from ..types import check_resolution, sorted_codes

__all__ = ["THRESHOLD", "default_max_memory", "gib", "check_model_resolution", "distinct_strings", "on_blocks",
           "atomic_numbers",
           "occupancy_weights", "correlations", "pool", "pair_sums", "box_pair_sums"]

#: model-map points at or above this value enter the correlation (docs/science.md §8)
THRESHOLD = 0.01


def default_max_memory() -> int:
    """Half of this machine's physical memory, in bytes (8 GiB where it cannot be found)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def gib(n_bytes: float) -> str:
    """A number of bytes in GiB, for messages ('1.50 GiB')."""
    return f"{n_bytes / (1 << 30):.2f} GiB"


def check_model_resolution(resolution: float, dmap) -> None:
    """Raise ParameterError unless a model map at ``resolution`` makes sense for ``dmap``.

    The resolution must lie in (0, 50] Å, be at least twice the map's largest voxel size (a finer
    one cannot be represented on the map's grid) and no coarser than the smallest side of its box.

    Parameters
    ----------
    resolution : float — d, Å
    dmap : DensityMap — the map the model map will be compared with
    """
    check_resolution(resolution)
    name = dmap.path or "(in memory)"
    voxel = float(np.max(dmap.voxel_size))
    if resolution < 2.0 * voxel - 1e-9:
        raise ParameterError(f"resolution={resolution:g} Å is finer than twice the voxel size of map '{name}' "
                             f"(2 × {voxel:.4g} Å = {2 * voxel:.4g} Å): the map cannot hold such detail. Give the "
                             "map's reported resolution.", parameter="resolution")
    side = float(np.min(np.array(dmap.shape_xyz) * dmap.voxel_size))
    if resolution > side:
        raise ParameterError(f"resolution={resolution:g} Å is coarser than the smallest side of the box of map "
                             f"'{name}' ({side:.4g} Å); give the map's reported resolution in Å.",
                             parameter="resolution")


def distinct_strings(values) -> tuple:
    """``np.unique(values.astype(str), return_inverse=True)`` for a flat array, by hashing: strings of up to two
    characters (element symbols) are packed into one integer each, so that a million of them are not sorted
    (``benchmarks/bench_scan.py`` times both).

    Parameters
    ----------
    values : (n,) str

    Returns
    -------
    ((k,) str, (n,) int64) — the distinct strings, sorted, and each value's index into them
    """
    a = np.ascontiguousarray(np.asarray(values).astype(str).reshape(-1))
    width = a.dtype.itemsize // 4
    if width > 2 or not len(a):
        distinct, inverse = np.unique(a, return_inverse=True)
        return distinct, inverse.reshape(-1)
    chars = a.view(np.uint32).reshape(-1, width).astype(np.uint64)
    keys = chars[:, 0] << np.uint64(32)  # code points in order: the packed integers sort as the strings do
    if width == 2:
        keys |= chars[:, 1]
    codes, distinct_keys = sorted_codes(keys)
    first = np.empty(len(distinct_keys), dtype=np.int64)  # where each distinct string first occurs
    first[codes[::-1]] = np.arange(len(a))[::-1]
    return a[first], codes


def on_blocks(func, n: int, threads: int, *, blocks: int | None = None) -> list:
    """``func(a, b)`` for consecutive blocks [a, b) of range(n), on ``threads`` threads (for numba kernels that release
    the GIL); the results in block order.  With one thread or one block, called here.

    Parameters
    ----------
    func : callable (a, b) → result
    n : int — what is cut into blocks
    threads : int
    blocks : int, optional — how many blocks (default one per thread; never more than n, at least one)
    """
    threads = max(1, int(threads))
    k = max(1, min(int(n), threads if blocks is None else int(blocks)))
    edges = np.linspace(0, int(n), k + 1).astype(int).tolist()  # k ≤ n: every block holds something
    bounds = list(zip(edges[:-1], edges[1:], strict=True))
    if threads == 1 or len(bounds) == 1:
        return [func(a, b) for a, b in bounds]
    with ThreadPoolExecutor(max_workers=threads) as ex:
        return list(ex.map(lambda ab: func(*ab), bounds))


def atomic_numbers(elements) -> np.ndarray:
    """Atomic number of each element symbol ('C', 'FE', …); 0 for unknown symbols ('X', '')."""
    import gemmi

    elements = np.asarray(elements).astype(str)
    uniques, inverse = distinct_strings(elements)
    z = np.array([gemmi.Element(e).atomic_number if e else 0 for e in uniques], dtype=np.int64)
    return z[inverse].reshape(elements.shape)


def occupancy_weights(atoms) -> np.ndarray:
    """(n,) float64: 1 per atom, shared equally among the alternate locations of one atom (same
    residue and name), as the occupancies of a model with altlocs usually are."""
    w = np.ones(len(atoms))
    alt = np.flatnonzero(atoms.altloc != "")
    if len(alt):
        key = pd.Series(atoms.residue[alt].astype(str)).str.cat(pd.Series(atoms.name[alt]), sep="\x1f")
        counts = key.map(key.value_counts()).to_numpy(dtype=np.float64)
        w[alt] = 1.0 / counts
    return w


def correlations(sums: np.ndarray) -> dict:
    """CC and CC-mean from the pooled sums (n, mean_m, mean_c, S_mm, S_cc, S_mc, R_mm, R_cc, R_mc)."""
    n, _, _, smm, scc, smc, rmm, rcc, rmc = (float(v) for v in sums)
    cc = rmc / math.sqrt(rmm * rcc) if rmm > 0 and rcc > 0 else float("nan")
    ccm = smc / math.sqrt(smm * scc) if smm > 0 and scc > 0 else float("nan")
    return {"cc": cc, "cc_mean": ccm, "n_points": int(n)}


def pool(parts) -> np.ndarray:
    """Pool per-block sums (Chan et al.'s pairwise update of means and centred sums)."""
    total = np.zeros(9)
    for p in parts:
        nb = p[0]
        if nb == 0:
            continue
        na = total[0]
        if na == 0:
            total = p.copy()
            continue
        n = na + nb
        dm = p[1] - total[1]
        dc = p[2] - total[2]
        f = na * nb / n
        total[3] += p[3] + dm * dm * f
        total[4] += p[4] + dc * dc * f
        total[5] += p[5] + dm * dc * f
        total[6:9] += p[6:9]
        total[1] += dm * nb / n
        total[2] += dc * nb / n
        total[0] = n
    return total


@njit(cache=True, nogil=True)
def pair_sums(m, c, threshold):
    """Sums over the pairs with m ≥ threshold, in two passes (exact means).

    Parameters
    ----------
    m, c : (n,) float — model-map and map values at the same points
    threshold : float — model-map values at or above it count

    Returns
    -------
    (9,) float64 — (n, mean_m, mean_c, S_mm, S_cc, S_mc, R_mm, R_cc, R_mc), S the sums of products
    about the means and R about zero
    """
    return box_pair_sums(m.reshape((1, 1, m.shape[0])), c.reshape((1, 1, c.shape[0])), threshold)


@njit(cache=True, nogil=True)
def box_pair_sums(m, c, threshold):
    """:func:`pair_sums` of two grids of the same shape (views of larger grids are fine).

    Parameters
    ----------
    m, c : (nz, ny, nx) float — model-map and map values at the same points
    threshold : float — model-map values at or above it count

    Returns
    -------
    (9,) float64 — as :func:`pair_sums`
    """
    out = np.zeros(9)
    nz, ny, nx = m.shape
    n = 0
    sm = 0.0
    sc = 0.0
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                if m[k, j, i] >= threshold:
                    n += 1
                    sm += m[k, j, i]
                    sc += c[k, j, i]
    if n == 0:
        return out
    mm = sm / n
    mc = sc / n
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                v = float(m[k, j, i])
                if v >= threshold:
                    w = float(c[k, j, i])
                    a = v - mm
                    b = w - mc
                    out[3] += a * a
                    out[4] += b * b
                    out[5] += a * b
                    out[6] += v * v
                    out[7] += w * w
                    out[8] += v * w
    out[0] = n
    out[1] = mm
    out[2] = mc
    return out
