"""Drive the kernels: parameters, neighbour grid, batching, threads, hydrogens, EMDB-compat map.

Arrays in, arrays out: :func:`compute_qscores` takes coordinates and a map and returns per-atom
Q-scores (and, on request, radial profiles).  No files are read here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..types import DensityMap, QParams
from . import kernels, trilinear
from .spiral import spiral_table

#: Hydrogens take the Q of the nearest heavy atom of their residue within this distance (Å)
HYDROGEN_BOND_MAX = 1.3


def _lattice_offset(dmap: DensityMap) -> tuple:
    """(the origin multi-process MapQ puts the map at, the shift to it in voxels (x, y, z), the float32 step)."""
    o32 = dmap.origin.astype(np.float32).astype(np.float64)
    s32 = dmap.voxel_size.astype(np.float32).astype(np.float64)
    new_origin = np.round(o32 / s32) * s32
    return new_origin, (new_origin - o32) / s32, s32


def on_emdb_lattice(dmap: DensityMap) -> bool:
    """Whether multi-process MapQ sees ``dmap`` as it is (its origin on the voxel lattice): then
    :func:`emdb_compatible_map` changes nothing and every Q is the same with or without ``emdb_compat``."""
    return bool(np.all(np.abs(_lattice_offset(dmap)[1]) < 1e-9))


def emdb_compatible_map(dmap: DensityMap) -> DensityMap:
    """The map as multi-process MapQ sees it (docs/science.md §2, last point).

    The map is resampled by trilinear interpolation (0 outside) onto the lattice with the same
    voxel size whose origin is ``round(O / step) · step``, O and step taken in float32 as Chimera
    reads them.  A map whose origin is already on that lattice comes back unchanged.
    """
    new_origin, offset_xyz, s32 = _lattice_offset(dmap)
    if on_emdb_lattice(dmap):
        return dmap
    values = trilinear.shift_linear(dmap.values, np.ascontiguousarray(offset_xyz[::-1]))
    return DensityMap(values=values, origin=new_origin, voxel_size=s32, path=dmap.path,
                      axis_order=dmap.axis_order, notes=list(dmap.notes))


_THREADS = [os.cpu_count() or 1]


def set_threads(threads: int | None) -> int:
    """Use ``threads`` threads for the kernels (None or 0: all cores); returns the number in use."""
    if threads is None or threads <= 0:
        threads = os.cpu_count() or 1
    if threads > 1024:
        raise ParameterError(f"threads={threads} is not a sensible number of threads; use at most "
                             f"the {os.cpu_count()} cores of this machine.", parameter="threads")
    _THREADS[0] = int(threads)
    return int(threads)


def get_threads() -> int:
    """The number of threads the kernels use."""
    return _THREADS[0]


@dataclass(frozen=True)
class KernelInputs:
    """What :func:`kernels.qscore_atoms` needs, prepared once for a model and a map.

    heavy : (h,) int64 — indices of the non-H atoms near the map (the kernel's atoms: neighbours and
    atoms to score); targets : (m,) — the heavy atoms to score (indices into ``heavy``), in cell order;
    unsampled : (u,) int64 — indices of the non-H atoms (of ``subset``) too far outside the map to
    sample it: Q = 0 without sampling; radii : (s,) float64 — shell radii, Å; n_shells : int — s;
    args : tuple — the kernel's arguments after ``targets`` and before ``want_profile``
    """

    heavy: np.ndarray
    targets: np.ndarray
    unsampled: np.ndarray
    radii: np.ndarray
    n_shells: int
    args: tuple


#: the most cells of the neighbour grid, beyond the atoms' own count (coarser cells beyond it)
MAX_EXTRA_CELLS = 1_000_000


def _near_box(coords: np.ndarray, dmap: DensityMap, margin: float) -> np.ndarray:
    """Which points lie within ``margin`` Å of the map's grid box."""
    lo, hi = dmap.extent
    return np.all((coords >= lo - margin) & (coords <= hi + margin), axis=1)


def _cell_size(coords: np.ndarray, cell: float) -> float:
    """The neighbour-cell edge: ``cell`` (one cell per neighbour reach), doubled until the grid has at
    most 8 cells per atom plus :data:`MAX_EXTRA_CELLS` (decided before any grid is allocated)."""
    if not len(coords):
        return cell
    span = coords.max(axis=0) - coords.min(axis=0)
    while float(np.prod(np.floor(span / cell) + 1.0)) > 8 * len(coords) + MAX_EXTRA_CELLS:
        cell *= 2.0
    return cell


def kernel_inputs(coords: np.ndarray, is_hydrogen: np.ndarray, dmap: DensityMap, params: QParams | None = None, *,
                  subset: np.ndarray | None = None) -> KernelInputs:
    """The neighbour cell grid, spiral table and reference Gaussian of a run (see :func:`compute_qscores`).

    Parameters
    ----------
    coords : (n, 3) float64 — every atom, Å
    is_hydrogen : (n,) bool
    dmap : DensityMap
    params : QParams, optional — MapQ's defaults when not given
    subset : (n,) bool, optional — score only these atoms

    Returns
    -------
    KernelInputs

    Raises
    ------
    ParameterError — no heavy atom, or a ``subset`` that is not a mask of the atoms
    """
    n = len(coords)
    heavy = np.flatnonzero(~is_hydrogen)
    if len(heavy) == 0:
        raise ParameterError("No non-hydrogen atoms to score; Q-scores need heavy atoms.")
    params = params or QParams()
    radii = params.radii()
    dirs, dir_start = spiral_table(params.num_points, params.tries)
    if subset is not None:
        subset = np.asarray(subset, dtype=bool)
        if subset.shape != (n,):
            raise ParameterError(f"subset= has shape {subset.shape}; it must be a mask of the model's {n} atoms.",
                                 parameter="subset")
    # Work and memory bounded by the map, not by coordinates: an atom more than max_radius outside the
    # grid samples only points outside it, where the map is 0, so its Q is 0 without sampling; only
    # atoms within 3·max_radius (an atom to score plus the reach of its points' neighbours) are
    # neighbours. A stray atom far away therefore costs nothing.
    reach = float(radii[-1])
    sampled = _near_box(coords[heavy], dmap, reach + 1e-6)
    neighbour = _near_box(coords[heavy], dmap, 3.0 * reach + 1e-6)
    wanted = np.ones(len(heavy), dtype=bool) if subset is None else subset[heavy]
    unsampled = heavy[~sampled & wanted]
    heavy, sampled, wanted = heavy[neighbour], sampled[neighbour], wanted[neighbour]  # the kernel's atoms
    heavy_coords = np.ascontiguousarray(coords[heavy])
    cell = _cell_size(heavy_coords, reach * 1.9 + 1e-6)  # one cell per neighbour reach: 27 cells (measured fastest)
    if len(heavy_coords):
        lo, dims, start, order = kernels.build_cells(heavy_coords, cell)
    else:  # every atom far outside the map: nothing to sample
        lo, dims = np.zeros(3), np.ones(3, dtype=np.int64)
        start, order = np.zeros(2, dtype=np.int32), np.zeros(0, dtype=np.int32)
    stats = dmap.stats()
    # atoms in cell order: consecutive atoms of one cell share their neighbour candidates
    targets = order[(sampled & wanted)[order]]
    args = (heavy_coords, dmap.values, dmap.origin, dmap.voxel_size, radii, dirs, dir_start, params.num_points,
            params.sigma, stats.max_d - stats.min_d, stats.min_d, lo, dims, start, order, cell)
    return KernelInputs(heavy=heavy, targets=targets, unsampled=unsampled, radii=radii, n_shells=len(radii),
                        args=args)


def compute_qscores(coords: np.ndarray, is_hydrogen: np.ndarray, residue: np.ndarray,
                    dmap: DensityMap, params: QParams | None = None, *, profiles: bool = False,
                    subset: np.ndarray | None = None, chunk_size: int = 2048,
                    progress: Callable[[int, int], None] | None = None) -> dict:
    """Per-atom Q-scores.

    Parameters
    ----------
    coords : (n, 3) float64, Å — every atom of the model
    is_hydrogen : (n,) bool — hydrogens are neither scored nor neighbours
    residue : (n,) int — residue index of each atom (hydrogens take the Q of the nearest heavy
        atom of their residue within 1.3 Å)
    dmap : DensityMap
    params : QParams, optional — MapQ's defaults when not given
    profiles : bool — also return the radial profiles of the heavy atoms
    subset : (n,) bool, optional — score only these atoms (and hydrogens whose heavy atom is among
        them); the rest get NaN.  Every heavy atom is still a neighbour, so the Q of a subset atom is
        the one a whole-model run gives.
    chunk_size : atoms per kernel call; chunks run on the threads set by :func:`set_threads`
        (the progress callback is called as they complete)
    progress : callable(done, total) or None

    Returns
    -------
    dict with
      ``q`` (n,) float64 — Q of every atom; NaN for a hydrogen without a heavy atom within 1.3 Å;
      ``profile`` (n, s + 1) float64 and ``kept`` (n, s + 1) int32, when profiles is True
      (rows of hydrogens are NaN / 0);
      ``radii`` (s,) float64 — shell radii.
    """
    coords = np.ascontiguousarray(coords, dtype=np.float64)
    is_hydrogen = np.asarray(is_hydrogen, dtype=bool)
    n = len(coords)
    inputs = kernel_inputs(coords, is_hydrogen, dmap, params, subset=subset)
    heavy, targets = inputs.heavy, inputs.targets
    n_s = inputs.n_shells + 1
    q_heavy = np.full(len(heavy), np.nan)
    # profiles go straight into the rows of every atom (hydrogens' rows stay NaN / 0): one copy, not two
    prof = np.full((n, n_s), np.nan) if profiles else None
    kept = np.zeros((n, n_s), dtype=np.int32) if profiles else None

    def run(b0: int) -> int:
        t = targets[b0:b0 + chunk_size]
        q, p, k = kernels.qscore_atoms(t, *inputs.args, profiles)
        q_heavy[t] = q
        if profiles:
            prof[heavy[t]] = p
            kept[heavy[t]] = k
        return len(t)

    starts = range(0, len(targets), chunk_size)
    n_threads = get_threads()
    done = 0
    if n_threads == 1 or len(starts) == 1:
        for b0 in starts:
            done += run(b0)
            if progress is not None:
                progress(done, len(targets))
    else:  # the kernel releases the GIL: chunks run truly in parallel
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            for n_done in pool.map(run, starts):
                done += n_done
                if progress is not None:
                    progress(done, len(targets))

    q_all = np.full(n, np.nan)
    q_all[heavy] = q_heavy
    q_all[inputs.unsampled] = 0.0  # far outside the map: every point it would sample is 0 (profile NaN, kept 0)
    hyd = np.flatnonzero(is_hydrogen)
    if len(hyd):
        src = assign_hydrogens(coords, is_hydrogen, np.asarray(residue, dtype=np.int64))
        ok = src >= 0
        q_all[hyd[ok]] = q_all[src[ok]]
    out = {"q": q_all, "radii": inputs.radii}
    if profiles:
        out["profile"], out["kept"] = prof, kept
    return out


def assign_hydrogens(coords: np.ndarray, is_hydrogen: np.ndarray, residue: np.ndarray) -> np.ndarray:
    """For each hydrogen, the nearest heavy atom of the same residue within 1.3 Å.

    Parameters
    ----------
    coords : (n, 3) float64 — every atom, Å
    is_hydrogen : (n,) bool
    residue : (n,) int64 — residue index of each atom

    Returns
    -------
    (h,) int64 — for each hydrogen (in order), the atom index of its heavy atom, or -1 when there is none
    """
    heavy = np.flatnonzero(~is_hydrogen)
    hyd = np.flatnonzero(is_hydrogen)
    n_res = int(residue.max()) + 1 if len(residue) else 0
    by_res = np.argsort(residue[heavy], kind="stable")
    res_start = np.searchsorted(residue[heavy][by_res], np.arange(n_res + 1))
    local = kernels.nearest_heavy(np.ascontiguousarray(coords[hyd]), residue[hyd],
                                  np.ascontiguousarray(coords[heavy]), by_res, res_start,
                                  HYDROGEN_BOND_MAX)
    return np.where(local >= 0, heavy[np.maximum(local, 0)], -1)


__all__ = ["HYDROGEN_BOND_MAX", "KernelInputs", "kernel_inputs", "emdb_compatible_map", "on_emdb_lattice",
           "set_threads", "get_threads", "compute_qscores", "assign_hydrogens"]
