"""Map–model correlation (docs/science.md §8): CC and CC-mean between a map and a model map.

Two model maps are offered.

* **molmap** (Chimera's ``molmap``, as MapQ uses it): a Gaussian per atom of amplitude proportional to
  its atomic number, ``Z (2π)^-3/2 σ^-3`` (ChimeraX's normalisation, in atomic number per Å³), with
  σ = d/(π√2), summed within ±5 σ along each axis on a grid of its own: spacing d/3, origin 3 d below
  the lowest atom, 3 d of padding above the highest (ChimeraX's defaults).  The model-map points at
  or above the threshold (0.01) form the vector m, the map interpolated trilinearly at them (0 outside
  its box) the vector c.  The model map is never held whole: it is summed in slabs of grid planes by a
  numba kernel, each slab reduced at once to the sums the correlations need (see
  :func:`molmap_correlation`), so memory stays bounded whatever the size of the model.
* **electron-scattering** model map (:class:`qscore.analysis.emodel.EModel`): gemmi's ``DensityCalculatorE`` (electron
  scattering factors, the atoms' B-factors) on the experimental map's own grid, limited to resolution
  d by a sharp cut in reciprocal space (as phenix.fmodel + mtz2map, which the 2025 paper used); the
  points at or above the threshold are compared with the map's values at the same grid points.

CC = ⟨m, c⟩ / (‖m‖ ‖c‖); CC-mean is the same about the means (Pearson correlation).  Atoms take an
occupancy of 1, shared equally among the alternate locations of one atom; atoms whose element has no
atomic number (``X``) are left out and counted.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..core.trilinear import interpolate
from ..errors import ModelError, ParameterError
from ..types import DensityMap
from .cc_core import (
    THRESHOLD,
    atomic_numbers,
    check_model_resolution,
    correlations,
    default_max_memory,
    gib,
    occupancy_weights,
    pair_sums,
    pool,
)
from .emodel import SLAB_BYTES, clamped_b, emodel_correlation, emodel_geometry
from .results import MapModelCorrelation, ModelMapCC

#: σ of the molmap Gaussians as a fraction of the resolution (ChimeraX: 1/(π√2))
SIGMA_FACTOR = 1.0 / (math.pi * math.sqrt(2.0))
#: molmap Gaussians are summed within this many σ along each axis (ChimeraX's cutoff range)
CUTOFF_RANGE = 5.0
#: grid points per molmap slab (bounds the memory of each thread: about 40 bytes a point)
BLOCK_POINTS = 1 << 21


@njit(cache=True, nogil=True)
def gaussian_slab(ijk, amp, sd, cutoff, k0, values):
    """Add Gaussians to ``values`` (nzb, ny, nx), planes k0 … k0 + nzb - 1 of a model grid.

    ijk : (k, 3) float64 — atom centres in grid units (x, y, z); amp : (k,) amplitudes; sd : σ in
    grid units; each Gaussian is summed over the grid points within ``cutoff`` σ along each axis.
    """
    nzb, ny, nx = values.shape
    reach = cutoff * sd
    c = -0.5 / (sd * sd)
    ex = np.empty(nx)
    ey = np.empty(ny)
    for a in range(ijk.shape[0]):
        ci = ijk[a, 0]
        cj = ijk[a, 1]
        ck = ijk[a, 2]
        i0 = max(int(math.ceil(ci - reach)), 0)
        i1 = min(int(math.floor(ci + reach)), nx - 1)
        j0 = max(int(math.ceil(cj - reach)), 0)
        j1 = min(int(math.floor(cj + reach)), ny - 1)
        kk0 = max(int(math.ceil(ck - reach)), k0)
        kk1 = min(int(math.floor(ck + reach)), k0 + nzb - 1)
        if i0 > i1 or j0 > j1 or kk0 > kk1:
            continue
        for i in range(i0, i1 + 1):
            ex[i] = math.exp(c * (i - ci) * (i - ci))
        for j in range(j0, j1 + 1):
            ey[j] = math.exp(c * (j - cj) * (j - cj))
        for k in range(kk0, kk1 + 1):
            wz = amp[a] * math.exp(c * (k - ck) * (k - ck))
            for j in range(j0, j1 + 1):
                wzy = wz * ey[j]
                for i in range(i0, i1 + 1):
                    values[k - k0, j, i] += wzy * ex[i]


@njit(cache=True, nogil=True)
def molmap_slab_sums(ijk, amp, sd, cutoff, k0, nzb, ny, nx, origin, step, threshold, map_values, map_origin,
                     map_voxel):
    """The pooled sums (see :func:`pair_sums`) of one slab of the molmap grid against the map."""
    values = np.zeros((nzb, ny, nx))
    gaussian_slab(ijk, amp, sd, cutoff, k0, values)
    mz, my, mx = map_values.shape
    flat = map_values.reshape(-1)
    ix = 1.0 / map_voxel[0]
    iy = 1.0 / map_voxel[1]
    iz = 1.0 / map_voxel[2]
    n = 0
    for k in range(nzb):
        for j in range(ny):
            for i in range(nx):
                if values[k, j, i] >= threshold:
                    n += 1
    m = np.empty(n)
    c = np.empty(n)
    p = 0
    for k in range(nzb):
        z = origin[2] + (k0 + k) * step
        for j in range(ny):
            y = origin[1] + j * step
            for i in range(nx):
                v = values[k, j, i]
                if v >= threshold:
                    m[p] = v
                    c[p] = interpolate(flat, mx, my, mz, map_origin[0], map_origin[1], map_origin[2], ix, iy, iz,
                                       origin[0] + i * step, y, z)
                    p += 1
    return pair_sums(m, c, threshold)


@dataclass(frozen=True)
class MolmapGrid:
    """Where a molmap model map lies: ``origin`` (3,) Å (x, y, z), cubic ``step`` Å, ``shape``
    (nz, ny, nx), Gaussian width ``sigma`` Å."""

    origin: np.ndarray
    step: float
    shape: tuple
    sigma: float


def molmap_grid(coords, resolution: float, *, step: float | None = None, pad: float | None = None,
                sigma_factor: float = SIGMA_FACTOR) -> MolmapGrid:
    """ChimeraX's molmap grid for atoms: spacing d/3 and padding 3 d by default.

    Parameters
    ----------
    coords : (n, 3) float — atom positions, Å
    resolution : float — d, Å
    step : float, optional — grid spacing, Å (default d/3)
    pad : float, optional — padding around the atoms, Å (default 3 d)
    sigma_factor : float — the Gaussians' σ as a fraction of d (ChimeraX: 1/(π√2))

    Returns
    -------
    MolmapGrid
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    step = resolution / 3.0 if step is None else float(step)
    pad = 3.0 * resolution if pad is None else float(pad)
    if not step > 0 or not pad >= 0:
        raise ParameterError(f"Model-map grid step {step} Å must be > 0 and padding {pad} Å ≥ 0.")
    lo = coords.min(axis=0)
    hi = coords.max(axis=0)
    shape = tuple(int(math.ceil((hi[a] - lo[a] + 2 * pad) / step)) for a in (2, 1, 0))
    return MolmapGrid(origin=lo - pad, step=step, shape=tuple(max(s, 1) for s in shape),
                      sigma=sigma_factor * resolution)


def _molmap_inputs(coords, z, weights, grid: MolmapGrid):
    """Atoms in grid units sorted by z, their amplitudes, σ in grid units and the reach in planes."""
    keep = z > 0
    ijk = (np.asarray(coords, dtype=np.float64)[keep] - grid.origin) / grid.step
    amp = z[keep] * weights[keep] * (2 * math.pi) ** -1.5 * grid.sigma ** -3
    order = np.argsort(ijk[:, 2], kind="stable")
    return np.ascontiguousarray(ijk[order]), np.ascontiguousarray(amp[order]), grid.sigma / grid.step


#: a molmap grid up to this many points (or 64 per atom) is summed whole; a larger one — atoms far apart,
#: such as a stray atom thousands of Å away — only in boxes around groups of atoms
WHOLE_GRID_POINTS = 50_000_000


def _sub_grids(coords: np.ndarray, grid: MolmapGrid, margin: float) -> list:
    """Boxes of ``grid`` (same lattice) that together hold every point within ``margin`` Å of an atom,
    none overlapping: the whole grid when it is small; else one box per group of atoms closer than
    2·margin, boxes that would overlap merged. Work is then bounded by the atoms, not by how far
    apart they lie. Returns a list of (k_lo, k_hi) int arrays, (x, y, z) grid indices, hi exclusive."""
    shape_xyz = np.array(grid.shape[::-1], dtype=np.int64)
    whole = [(np.zeros(3, dtype=np.int64), shape_xyz)]
    if float(np.prod(shape_xyz.astype(np.float64))) <= max(WHOLE_GRID_POINTS, 64 * len(coords)):
        return whole
    lo, hi = _group_boxes(coords, 2.0 * margin)
    boxes = _merged(lo - margin, hi + margin, grid.step)
    out = []
    for lo, hi in zip(*boxes, strict=True):
        k_lo = np.clip(np.floor((lo - grid.origin) / grid.step), 0, shape_xyz).astype(np.int64)
        k_hi = np.clip(np.ceil((hi - grid.origin) / grid.step) + 1, 0, shape_xyz).astype(np.int64)
        out.append((k_lo, k_hi))
    return out


def _group_boxes(coords: np.ndarray, cell: float) -> tuple:
    """The bounding boxes ((g, 3) lo, (g, 3) hi) of the groups of atoms whose cubes of side ``cell`` touch (the
    cube of each atom and its 26 neighbours), found as connected components of the occupied cubes."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keys = np.floor(coords / cell).astype(np.int64)
    keys -= keys.min(axis=0)
    span = keys.max(axis=0) + 3  # room for the offsets of -1 and +1 on either side
    keys += 1
    if float(np.prod(span.astype(np.float64))) > 2.0 ** 62:
        raise ModelError(f"The atoms lie too far apart for a model map ({float(np.ptp(coords, axis=0).max()):.3g} Å); "
                         "remove the atoms far from the rest.")
    code = (keys[:, 0] * span[1] + keys[:, 1]) * span[2] + keys[:, 2]
    cubes, inverse = np.unique(code, return_inverse=True)
    pairs = []
    for off in ((a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1) if (a, b, c) > (0, 0, 0)):
        other = cubes + (off[0] * span[1] + off[1]) * span[2] + off[2]
        j = np.minimum(np.searchsorted(cubes, other), len(cubes) - 1)
        hit = cubes[j] == other
        pairs.append((np.flatnonzero(hit), j[hit]))
    i, j = (np.concatenate(p) for p in zip(*pairs, strict=True))
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(len(cubes), len(cubes)))
    n_groups, labels = connected_components(graph, directed=False)
    group = labels[np.asarray(inverse).reshape(-1)]
    order = np.argsort(group, kind="stable")
    first = np.searchsorted(group[order], np.arange(n_groups))
    ordered = coords[order]
    return np.minimum.reduceat(ordered, first, axis=0), np.maximum.reduceat(ordered, first, axis=0)


def _merged(lo: np.ndarray, hi: np.ndarray, step: float) -> tuple:
    """Boxes ((b, 3) lo, hi) with those that overlap (or lie within ``step``) merged until none do."""
    lo, hi = lo.copy(), hi.copy()
    i = 0
    while i < len(lo):
        touch = np.all(lo[i] <= hi + step, axis=1) & np.all(lo <= hi[i] + step, axis=1)
        touch[i] = False
        if touch.any():  # grow box i by all it touches, drop them, and test it again
            lo[i] = np.minimum(lo[i], lo[touch].min(axis=0))
            hi[i] = np.maximum(hi[i], hi[touch].max(axis=0))
            keep = ~touch
            lo, hi, i = lo[keep], hi[keep], int(np.count_nonzero(keep[:i]))
        else:
            i += 1
    return lo, hi


def _slabs(grid: MolmapGrid, block_points: int):
    nz, ny, nx = grid.shape
    planes = max(1, block_points // (ny * nx))
    return [(k0, min(planes, nz - k0)) for k0 in range(0, nz, planes)]


def molmap(coords, elements, resolution: float, *, weights=None, step: float | None = None,
           pad: float | None = None, sigma_factor: float = SIGMA_FACTOR, cutoff: float = CUTOFF_RANGE):
    """The molmap model map itself (to look at or write).

    Holds the whole grid in memory (8 bytes a point); :func:`molmap_correlation` does not.

    Parameters
    ----------
    coords : (n, 3) float — atom positions, Å
    elements : (n,) str — element symbols (amplitudes ∝ atomic number)
    resolution : float — d, Å
    weights : (n,) float, optional — per-atom weights (occupancy)
    step, pad, sigma_factor : as for :func:`molmap_grid`
    cutoff : float — Gaussians summed within this many σ

    Returns
    -------
    DensityMap — values (nz, ny, nx) float32 on the molmap grid

    Raises
    ------
    ParameterError — a grid over :data:`WHOLE_GRID_POINTS` points (and 64 a point per atom)
    """
    z = atomic_numbers(elements)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, dtype=np.float64)
    grid = molmap_grid(coords, resolution, step=step, pad=pad, sigma_factor=sigma_factor)
    points = float(np.prod(np.array(grid.shape, dtype=np.float64)))
    if points > max(WHOLE_GRID_POINTS, 64 * len(z)):
        raise ParameterError(f"The molmap grid of these atoms would have {points:.3g} points ({8 * points / 2**30:.3g} "
                             "GiB): the atoms lie far apart. Remove the stray atoms; molmap_correlation works "
                             "without the whole grid.", parameter="coords")
    ijk, amp, sd = _molmap_inputs(coords, z, w, grid)
    values = np.zeros(grid.shape)
    gaussian_slab(ijk, amp, sd, cutoff, 0, values)
    return DensityMap(values=values.astype(np.float32), origin=grid.origin, voxel_size=np.full(3, grid.step))


def molmap_correlation(coords, elements, dmap, resolution: float, *, weights=None, threshold: float = THRESHOLD,
                       step: float | None = None, pad: float | None = None, sigma_factor: float = SIGMA_FACTOR,
                       cutoff: float = CUTOFF_RANGE, block_points: int = BLOCK_POINTS,
                       threads: int | None = None) -> dict:
    """CC and CC-mean of ``dmap`` with the molmap model map of the atoms, over model-map points ≥ threshold.

    Parameters
    ----------
    coords : (n, 3) float64, Å; elements : (n,) str — element symbols
    dmap : DensityMap — the experimental map (interpolated trilinearly, 0 outside its box)
    resolution : float — d, Å: σ = ``sigma_factor`` · d, grid spacing ``step`` (default d/3)
    weights : (n,) float, optional — occupancies (default 1)
    threshold : float — model-map value (atomic number per Å³) at or above which points are used
    block_points : int — grid points per slab; each thread holds about 40 bytes per point
    threads : int, optional — slabs computed in parallel (default: the package's thread setting)

    Returns
    -------
    dict with ``cc``, ``cc_mean`` (NaN when a vector has no spread), ``n_points``, ``grid``
    ([nx, ny, nz]), ``step`` and ``sigma`` (Å), ``threshold`` and ``atoms`` used.
    """
    from ..core.engine import get_threads

    z = atomic_numbers(elements)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (z > 0).any():
        raise ModelError("No atom with a known element: a model map needs atomic numbers (type_symbol).")
    if not threshold > 0:
        raise ParameterError(f"threshold={threshold} must be > 0: the model map is 0 away from the atoms.",
                             parameter="threshold")
    grid = molmap_grid(coords, resolution, step=step, pad=pad, sigma_factor=sigma_factor)
    values = np.ascontiguousarray(dmap.values)
    used = np.asarray(coords, dtype=np.float64)[z > 0]
    margin = max(3.0 * resolution if pad is None else float(pad), cutoff * grid.sigma) + grid.step
    parts = []
    for k_lo, k_hi in _sub_grids(used, grid, margin):
        sub = MolmapGrid(origin=grid.origin + k_lo * grid.step, step=grid.step,
                         shape=tuple(int(v) for v in (k_hi - k_lo)[::-1]), sigma=grid.sigma)
        lo_a, hi_a = sub.origin - margin, sub.origin + (k_hi - k_lo) * grid.step + margin
        near = np.all((coords >= lo_a) & (coords <= hi_a), axis=1)  # every atom that reaches the box
        parts += _molmap_box_sums(coords[near], z[near], w[near], sub, cutoff, threshold, values, dmap,
                                  block_points, threads or get_threads())
    out = correlations(pool(parts))
    nz, ny, nx = grid.shape
    out.update({"grid": [nx, ny, nz], "step": grid.step, "sigma": grid.sigma, "threshold": threshold,
                "atoms": int((z > 0).sum())})
    return out


def _molmap_box_sums(coords, z, w, grid: MolmapGrid, cutoff, threshold, values, dmap, block_points, threads):
    """The correlation sums of one box of the molmap grid, in slabs of planes run on threads."""
    ijk, amp, sd = _molmap_inputs(coords, z, w, grid)
    reach = cutoff * sd
    nz, ny, nx = grid.shape

    def run(slab):
        k0, nzb = slab
        lo = np.searchsorted(ijk[:, 2], k0 - reach - 1.0)
        hi = np.searchsorted(ijk[:, 2], k0 + nzb - 1 + reach + 1.0)
        return molmap_slab_sums(ijk[lo:hi], amp[lo:hi], sd, cutoff, k0, nzb, ny, nx, grid.origin, grid.step,
                                threshold, values, dmap.origin, dmap.voxel_size)

    slabs = _slabs(grid, block_points)
    n_threads = min(threads, len(slabs))
    if n_threads <= 1:
        return [run(s) for s in slabs]
    with ThreadPoolExecutor(max_workers=n_threads) as executor:
        return list(executor.map(run, slabs))


def map_model_correlation(atoms, dmap, resolution: float, *, threshold: float = THRESHOLD, molmap: bool = True,
                          emodel: bool = True, max_memory: int | None = None,
                          lenient: bool = False, source: str | None = None) -> MapModelCorrelation:
    """Both correlations of docs/science.md §8 for the atoms of a model (:class:`~qscore.types.Atoms`).

    Parameters
    ----------
    atoms : Atoms — every atom is used (hydrogens too), occupancy 1 shared among alternate locations
    dmap : DensityMap; resolution : float — d, Å (checked against the map's voxel size and box)
    molmap, emodel : bool — which model maps to use
    max_memory : int, optional — bytes the electron-scattering map may take
    lenient : bool — instead of raising, record ``{'skipped': reason}`` for a resolution that does not
        suit the map (then for both) or an electron-scattering map that would need more memory than
        allowed (as ``qscore score`` does, whose Q-scores should not fail for want of a correlation)
    source : str, optional — the model's file, named in messages

    Returns
    -------
    MapModelCorrelation — a section per model map asked for (see :func:`molmap_correlation`,
    :func:`emodel_correlation`); a skipped one holds ``{'skipped': reason}``
    """
    def result(**sections):
        return MapModelCorrelation(resolution=float(resolution), threshold=threshold,
                                   **{k: ModelMapCC(v) for k, v in sections.items()})

    def skip_both(reason):
        skipped = {"skipped": reason}
        return result(**({"molmap": skipped} if molmap else {}), **({"emodel": skipped} if emodel else {}))

    try:
        check_model_resolution(resolution, dmap)
    except ParameterError as exc:
        if not lenient:
            raise
        return skip_both(str(exc))
    if not (atomic_numbers(atoms.element) > 0).any():
        symbols = ", ".join(repr(e) for e in sorted(set(atoms.element.tolist()))[:5])
        model = f"of model '{source}' " if source else ""
        reason = (f"no atom {model}has a known element (symbols {symbols}), and a model map needs them: give "
                  "the model element symbols (mmCIF _atom_site.type_symbol, PDB columns 77-78)")
        if lenient:
            return skip_both(reason)
        raise ModelError(reason[0].upper() + reason[1:] + ".")
    if not np.any(dmap.contains(atoms.coords)):
        raise ModelError(f"All {len(atoms)} atoms {f'of model {source!r} ' if source else ''}lie outside the box "
                         f"of map '{dmap.path or '(in memory)'}'; model and map are not aligned.")
    out: dict = {}
    weights = occupancy_weights(atoms)
    if molmap:
        out["molmap"] = molmap_correlation(atoms.coords, atoms.element, dmap, resolution, weights=weights,
                                           threshold=threshold)
    if emodel:
        limit = default_max_memory() if max_memory is None else int(max_memory)
        need, geo = 0, None
        if lenient:  # otherwise EModel itself refuses a map over the limit
            geo = emodel_geometry(atoms.coords, atoms.element, dmap, resolution, b_max=clamped_b(atoms.b_iso)[2])
            need = min(geo["memory_bytes"], SLAB_BYTES)  # computed in slabs of at most SLAB_BYTES
        if need > limit:
            out["emodel"] = {"skipped": f"needs about {gib(need)}, more than the {gib(limit)} allowed "
                                        "('qscore cc --max-memory GIB' allows more)"}
        else:
            out["emodel"] = emodel_correlation(atoms.coords, atoms.element, atoms.b_iso, dmap, resolution,
                                               weights=weights, threshold=threshold, max_memory=limit, geometry=geo)
    return result(**out)


__all__ = ["SIGMA_FACTOR", "MolmapGrid", "molmap_grid", "molmap", "molmap_correlation", "map_model_correlation"]
