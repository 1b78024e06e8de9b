"""Map–model correlation (SPEC §8): CC and CC-mean between a map and a model map.

Two model maps are offered.

* **molmap** (Chimera's ``molmap``, as MapQ uses it): a Gaussian per atom of amplitude proportional to
  its atomic number, ``Z (2π)^-3/2 σ^-3`` (ChimeraX's normalisation, in atomic number per Å³), with
  σ = d/(π√2), summed within ±5 σ along each axis on a grid of its own: spacing d/3, origin 3 d below
  the lowest atom, 3 d of padding above the highest (ChimeraX's defaults).  The model-map points at
  or above the threshold (0.01) form the vector m, the map interpolated trilinearly at them (0 outside
  its box) the vector c.  The model map is never held whole: it is summed in slabs of grid planes by a
  numba kernel, each slab reduced at once to the sums the correlations need (see
  :func:`molmap_correlation`), so memory stays bounded whatever the size of the model.
* **electron-scattering** model map (:class:`EModel`): gemmi's ``DensityCalculatorE`` (electron
  scattering factors, the atoms' B-factors) on the experimental map's own grid, limited to resolution
  d by a sharp cut in reciprocal space (as phenix.fmodel + mtz2map, which the 2025 paper used); the
  points at or above the threshold are compared with the map's values at the same grid points.

CC = ⟨m, c⟩ / (‖m‖ ‖c‖); CC-mean is the same about the means (Pearson correlation).  Atoms take an
occupancy of 1, shared equally among the alternate locations of one atom; atoms whose element has no
atomic number (``X``) are left out and counted.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from ..core.kernels import interpolate
from ..errors import ModelError, ParameterError
from ..types import DensityMap, check_resolution
from .results import MapModelCorrelation, ModelMapCC

#: σ of the molmap Gaussians as a fraction of the resolution (ChimeraX: 1/(π√2))
SIGMA_FACTOR = 1.0 / (math.pi * math.sqrt(2.0))
#: model-map points at or above this value enter the correlation (SPEC §8)
THRESHOLD = 0.01
#: molmap Gaussians are summed within this many σ along each axis (ChimeraX's cutoff range)
CUTOFF_RANGE = 5.0
#: grid points per molmap slab (bounds the memory of each thread: about 40 bytes a point)
BLOCK_POINTS = 1 << 21
#: bytes per grid point of an electron-scattering model map at its peak (gemmi grid 4, float64 copy 8,
#: half-complex transform 8, reciprocal-space multiplier 4, real result 8; the sub-box's map values and
#: model values, 16, bounded by the cell)
EMODEL_BYTES_PER_POINT = 48


def default_max_memory() -> int:
    """Half of this machine's physical memory, in bytes (8 GiB where it cannot be found)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / (1 << 30):.2f} GiB"


def check_model_resolution(resolution: float, dmap) -> None:
    """Raise ParameterError unless a model map at ``resolution`` Å makes sense for ``dmap``.

    The resolution must lie in (0, 50] Å, be at least twice the map's largest voxel size (a finer
    one cannot be represented on the map's grid) and no coarser than the smallest side of its box.
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


def atomic_numbers(elements) -> np.ndarray:
    """Atomic number of each element symbol ('C', 'FE', …); 0 for unknown symbols ('X', '')."""
    import gemmi

    elements = np.asarray(elements).astype(str)
    uniques, inverse = np.unique(elements, return_inverse=True)
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


def _correlations(sums: np.ndarray) -> dict:
    """CC and CC-mean from the pooled sums (n, mean_m, mean_c, S_mm, S_cc, S_mc, R_mm, R_cc, R_mc)."""
    n, _, _, smm, scc, smc, rmm, rcc, rmc = (float(v) for v in sums)
    cc = rmc / math.sqrt(rmm * rcc) if rmm > 0 and rcc > 0 else float("nan")
    ccm = smc / math.sqrt(smm * scc) if smm > 0 and scc > 0 else float("nan")
    return {"cc": cc, "cc_mean": ccm, "n_points": int(n)}


def _pool(parts) -> np.ndarray:
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
    """Sums over the pairs with m >= threshold: (n, mean_m, mean_c, S_mm, S_cc, S_mc, R_mm, R_cc, R_mc)
    with S the sums of products about the means and R about zero.  Two passes (exact means)."""
    out = np.zeros(9)
    n = 0
    sm = 0.0
    sc = 0.0
    for i in range(m.shape[0]):
        if m[i] >= threshold:
            n += 1
            sm += m[i]
            sc += c[i]
    if n == 0:
        return out
    mm = sm / n
    mc = sc / n
    for i in range(m.shape[0]):
        if m[i] >= threshold:
            a = m[i] - mm
            b = c[i] - mc
            out[3] += a * a
            out[4] += b * b
            out[5] += a * b
            out[6] += m[i] * m[i]
            out[7] += c[i] * c[i]
            out[8] += m[i] * c[i]
    out[0] = n
    out[1] = mm
    out[2] = mc
    return out


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
    """ChimeraX's molmap grid for atoms at ``coords`` (n, 3) Å: spacing d/3 and padding 3 d by default."""
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


def _slabs(grid: MolmapGrid, block_points: int):
    nz, ny, nx = grid.shape
    planes = max(1, block_points // (ny * nx))
    return [(k0, min(planes, nz - k0)) for k0 in range(0, nz, planes)]


def molmap(coords, elements, resolution: float, *, weights=None, step: float | None = None,
           pad: float | None = None, sigma_factor: float = SIGMA_FACTOR, cutoff: float = CUTOFF_RANGE):
    """The molmap model map itself, as a :class:`~qscore.io.maps.DensityMap` (to look at or write).

    Holds the whole grid in memory (8 bytes a point); :func:`molmap_correlation` does not.
    """
    z = atomic_numbers(elements)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, dtype=np.float64)
    grid = molmap_grid(coords, resolution, step=step, pad=pad, sigma_factor=sigma_factor)
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
    grid = molmap_grid(coords, resolution, step=step, pad=pad, sigma_factor=sigma_factor)
    ijk, amp, sd = _molmap_inputs(coords, z, w, grid)
    reach = cutoff * sd
    nz, ny, nx = grid.shape
    values = np.ascontiguousarray(dmap.values)

    def run(slab):
        k0, nzb = slab
        lo = np.searchsorted(ijk[:, 2], k0 - reach - 1.0)
        hi = np.searchsorted(ijk[:, 2], k0 + nzb - 1 + reach + 1.0)
        return molmap_slab_sums(ijk[lo:hi], amp[lo:hi], sd, cutoff, k0, nzb, ny, nx, grid.origin, grid.step,
                                threshold, values, dmap.origin, dmap.voxel_size)

    slabs = _slabs(grid, block_points)
    n_threads = min(threads or get_threads(), len(slabs))
    if n_threads <= 1:
        parts = [run(s) for s in slabs]
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            parts = list(pool.map(run, slabs))
    out = _correlations(_pool(parts))
    out.update({"grid": [nx, ny, nz], "step": grid.step, "sigma": grid.sigma, "threshold": threshold,
                "atoms": int((z > 0).sum())})
    return out


def emodel_geometry(coords, elements, dmap, resolution: float, *, b_max: float = 0.0) -> dict:
    """Where an electron-scattering model map lies on ``dmap``'s grid and what it costs.

    Returns a dict with ``usable`` (n,) bool (atoms with a known element), ``lo``/``hi`` (3,) int — the
    first and last map grid index (x, y, z) of the sub-box the model map covers, ``margin`` (3,) int —
    grid points added on each side to make the periodic cell, ``cell_shape`` (nx, ny, nz), ``blur``
    (Å², gemmi's sampling blur for B = 0 atoms: 8π²/1.1 · spacing², as refmac) and ``memory_bytes``.

    Raises ModelError when no atom has a known element or the atoms lie far outside the map's box.
    """
    import gemmi
    from scipy import fft

    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    usable = atomic_numbers(elements) > 0
    if not usable.any():
        raise ModelError("No atom with a known element: a model map needs element symbols (type_symbol).")
    voxel = dmap.voxel_size
    blur = 8 * math.pi ** 2 / 1.1 * float(voxel.min()) ** 2
    # reach of a model map around its atoms: the widest atom density asked for (gemmi's estimate, with
    # the blur) plus one resolution for the ripples of the resolution cut
    dc = gemmi.DensityCalculatorE()
    dc.blur = blur
    probe = gemmi.Atom()
    probe.b_iso = float(b_max) if np.isfinite(b_max) else 0.0
    radius = 0.0
    for sym in np.unique(np.asarray(elements).astype(str)[usable]):
        probe.element = gemmi.Element(str(sym))
        radius = max(radius, dc.estimate_radius(probe))
    reach = radius + float(resolution)
    n_xyz = np.array(dmap.shape_xyz)
    lo_xyz = coords[usable].min(axis=0) - reach
    hi_xyz = coords[usable].max(axis=0) + reach
    box_lo, box_hi = dmap.extent
    if np.any(lo_xyz > box_hi) or np.any(hi_xyz < box_lo):
        raise ModelError(f"The model lies entirely outside the box of map '{dmap.path or '(in memory)'}'; "
                         "model and map are not aligned.")
    lo = np.clip(np.floor((lo_xyz - dmap.origin) / voxel).astype(np.int64), 0, n_xyz - 1)
    hi = np.clip(np.ceil((hi_xyz - dmap.origin) / voxel).astype(np.int64), 0, n_xyz - 1)
    margin = np.ceil(reach / voxel).astype(np.int64)
    cell = tuple(int(fft.next_fast_len(int(n + 2 * m), real=True)) for n, m in zip(hi - lo + 1, margin, strict=True))
    return {"usable": usable, "lo": lo, "hi": hi, "margin": margin, "cell_shape": cell, "blur": blur,
            "memory_bytes": int(EMODEL_BYTES_PER_POINT * float(np.prod(np.array(cell, dtype=np.float64))))}


class EModel:
    """Electron-scattering model maps of one set of atoms on (part of) a map's grid, at resolution d.

    The model map covers the map's grid points within reach of the atoms (the sub-box ``box``); it is
    computed by gemmi's ``DensityCalculatorE`` in a periodic cell made of that sub-box plus a margin
    wide enough that no atom's density wraps into the sub-box, then limited to resolution d in
    reciprocal space (a sharp cut, the gemmi blur removed).  Build once, then call :meth:`values` or
    :meth:`correlation` with any B-factors up to ``b_max``.

    Parameters
    ----------
    coords : (n, 3) float64 Å; elements : (n,) str; weights : (n,) occupancies (default 1)
    dmap : DensityMap; resolution : float — d, Å
    b_max : float — the largest B-factor (Å²) that will be asked for (sets the margin)
    max_memory : int, optional — bytes allowed (default: half the machine's memory); a larger
        need raises ParameterError before anything is allocated

    Attributes
    ----------
    box : tuple of slices — the sub-box of ``dmap.values`` (z, y, x) the model maps cover
    cell_shape : tuple — (nx, ny, nz) of the periodic cell
    memory_bytes : int — estimated peak memory of one model map
    """

    def __init__(self, coords, elements, dmap, resolution: float, *, weights=None, b_max: float = 0.0,
                 max_memory: int | None = None):
        import gemmi
        from scipy import fft

        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
        geo = emodel_geometry(coords, elements, dmap, resolution, b_max=b_max)
        usable = geo["usable"]
        w = np.ones(len(coords)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.resolution = float(resolution)
        self.dmap = dmap
        self.skipped_atoms = int((~usable).sum())
        self.cell_shape = geo["cell_shape"]
        self.memory_bytes = geo["memory_bytes"]
        limit = default_max_memory() if max_memory is None else int(max_memory)
        if self.memory_bytes > limit:
            raise ParameterError(
                f"An electron-scattering model map of this model on the grid of map '{dmap.path or '(in memory)'}' "
                f"needs about {_gib(self.memory_bytes)} (a {'×'.join(map(str, self.cell_shape))} grid with margins), "
                f"more than the {_gib(limit)} allowed. Allow more with max_memory=, crop the map around the "
                "model, or leave the electron-scattering map out (emodel=False).", parameter=("max_memory", "emodel"))
        voxel = dmap.voxel_size
        lo, hi, margin = geo["lo"], geo["hi"], geo["margin"]
        cell_n = np.array(self.cell_shape)
        blur = geo["blur"]
        dc = gemmi.DensityCalculatorE()
        dc.blur = blur
        self.box = tuple(slice(int(lo[a]), int(hi[a]) + 1) for a in (2, 1, 0))
        self._offset = margin
        cell_origin = dmap.origin + (lo - margin) * voxel
        cell_len = cell_n * voxel
        local = coords - cell_origin
        inside = usable & np.all((local >= 0) & (local < cell_len), axis=1)
        self.used_atoms = int(inside.sum())
        idx = np.flatnonzero(inside)
        self._index = idx
        st = gemmi.Structure()
        st.cell = gemmi.UnitCell(*cell_len, 90, 90, 90)
        st.spacegroup_hm = "P 1"
        model = gemmi.Model(1)
        chain = gemmi.Chain("A")
        res = gemmi.Residue()
        res.name = "UNK"
        res.seqid = gemmi.SeqId(1, " ")
        el_cache: dict = {}
        for i in idx.tolist():
            at = gemmi.Atom()
            sym = str(elements[i])
            if sym not in el_cache:
                el_cache[sym] = gemmi.Element(sym)
            at.element = el_cache[sym]
            at.pos = gemmi.Position(*local[i])
            at.occ = float(w[i])
            res.add_atom(at)
        chain.add_residue(res)
        model.add_chain(chain)
        st.add_model(model)
        self._structure = st
        dc.grid.set_unit_cell(st.cell)
        dc.grid.spacegroup = gemmi.SpaceGroup("P 1")
        dc.grid.set_size(*self.cell_shape)
        self._dc = dc
        # reciprocal-space multiplier: the blur removed up to 1/d, zero beyond (rfftn layout: x, y, z/2+1)
        s2 = np.zeros((cell_n[0], cell_n[1], cell_n[2] // 2 + 1))
        s2 += fft.fftfreq(cell_n[0], d=voxel[0])[:, None, None] ** 2
        s2 += fft.fftfreq(cell_n[1], d=voxel[1])[None, :, None] ** 2
        s2 += fft.rfftfreq(cell_n[2], d=voxel[2])[None, None, :] ** 2
        inside_sphere = s2 <= 1.0 / self.resolution ** 2
        self._multiplier = np.where(inside_sphere, np.exp(blur * s2 / 4.0), 0.0)
        self.map_values = np.asarray(dmap.values[self.box], dtype=np.float64)

    def values(self, b_iso) -> np.ndarray:
        """The model map on the sub-box ``box`` (nz', ny', nx') float64, atoms with B-factors ``b_iso``
        ((n,) Å², one per atom given at construction)."""
        from scipy import fft

        b = np.asarray(b_iso, dtype=np.float64)[self._index]
        if np.any(~np.isfinite(b)) or np.any(b < 0):
            raise ParameterError("B-factors for a model map must be finite and ≥ 0 Å².")
        res = self._structure[0][0][0]
        for at, v in zip(res, b.tolist(), strict=True):
            at.b_iso = v
        self._dc.put_model_density_on_grid(self._structure[0])
        grid = np.asarray(self._dc.grid).astype(np.float64)
        spectrum = fft.rfftn(grid, workers=-1)
        del grid
        spectrum *= self._multiplier
        full = fft.irfftn(spectrum, s=self.cell_shape, workers=-1)
        ox, oy, oz = self._offset
        bz, by, bx = self.box
        sub = full[ox:ox + (bx.stop - bx.start), oy:oy + (by.stop - by.start), oz:oz + (bz.stop - bz.start)]
        return np.ascontiguousarray(sub.transpose(2, 1, 0))

    def correlation(self, b_iso, threshold: float = THRESHOLD) -> dict:
        """CC, CC-mean and point count of the map with the model map of B-factors ``b_iso``."""
        m = self.values(b_iso).reshape(-1)
        return _correlations(pair_sums(m, self.map_values.reshape(-1), threshold))


def emodel_correlation(coords, elements, b_iso, dmap, resolution: float, *, weights=None,
                       threshold: float = THRESHOLD, max_memory: int | None = None) -> dict:
    """CC and CC-mean of ``dmap`` with the electron-scattering model map (B-factors ``b_iso``, Å²).

    Negative or missing B-factors (a model with Q-scores in its B column, say) are taken as 0 and
    counted in ``b_clamped``.

    Returns a dict with ``cc``, ``cc_mean``, ``n_points``, ``threshold``, ``atoms`` used,
    ``b_clamped``, ``grid`` ([nx, ny, nz] of the periodic cell) and ``memory_bytes``.
    """
    b = np.asarray(b_iso, dtype=np.float64)
    bad = ~(b >= 0)
    b = np.where(bad, 0.0, b)
    em = EModel(coords, elements, dmap, resolution, weights=weights, b_max=float(b.max()) if len(b) else 0.0,
                max_memory=max_memory)
    out = em.correlation(b, threshold)
    out.update({"threshold": threshold, "atoms": em.used_atoms, "b_clamped": int(bad.sum()),
                "grid": list(em.cell_shape), "memory_bytes": em.memory_bytes})
    return out


def map_model_correlation(atoms, dmap, resolution: float, *, threshold: float = THRESHOLD, molmap: bool = True,
                          emodel: bool = True, max_memory: int | None = None,
                          lenient: bool = False) -> MapModelCorrelation:
    """Both correlations of SPEC §8 for the atoms of a model (:class:`~qscore.types.Atoms`).

    Parameters
    ----------
    atoms : Atoms — every atom is used (hydrogens too), occupancy 1 shared among alternate locations
    dmap : DensityMap; resolution : float — d, Å (checked against the map's voxel size and box)
    molmap, emodel : bool — which model maps to use
    max_memory : int, optional — bytes the electron-scattering map may take
    lenient : bool — instead of raising, record ``{'skipped': reason}`` for a resolution that does not
        suit the map (then for both) or an electron-scattering map that would need more memory than
        allowed (as ``qscore score`` does, whose Q-scores should not fail for want of a correlation)

    Returns
    -------
    MapModelCorrelation — a section per model map asked for (see :func:`molmap_correlation`,
    :func:`emodel_correlation`); a skipped one holds ``{'skipped': reason}``
    """
    def result(**sections):
        return MapModelCorrelation(resolution=float(resolution), threshold=threshold,
                                   **{k: ModelMapCC(v) for k, v in sections.items()})

    try:
        check_model_resolution(resolution, dmap)
    except ParameterError as exc:
        if not lenient:
            raise
        skipped = {"skipped": str(exc)}
        return result(**({"molmap": skipped} if molmap else {}), **({"emodel": skipped} if emodel else {}))
    if not np.any(dmap.contains(atoms.coords)):
        raise ModelError(f"All {len(atoms)} atoms lie outside the box of map '{dmap.path or '(in memory)'}'; "
                         "model and map are not aligned.")
    out: dict = {}
    weights = occupancy_weights(atoms)
    if molmap:
        out["molmap"] = molmap_correlation(atoms.coords, atoms.element, dmap, resolution, weights=weights,
                                           threshold=threshold)
    if emodel:
        limit = default_max_memory() if max_memory is None else int(max_memory)
        need = 0
        if lenient:  # otherwise EModel itself refuses a map over the limit
            b_max = float(np.nanmax(atoms.b_iso)) if len(atoms) else 0.0
            need = emodel_geometry(atoms.coords, atoms.element, dmap, resolution, b_max=b_max)["memory_bytes"]
        if need > limit:
            out["emodel"] = {"skipped": f"needs about {_gib(need)}, more than the {_gib(limit)} allowed "
                                        "('qscore cc --max-memory GIB' allows more)"}
        else:
            out["emodel"] = emodel_correlation(atoms.coords, atoms.element, atoms.b_iso, dmap, resolution,
                                               weights=weights, threshold=threshold, max_memory=limit)
    return result(**out)


__all__ = ["THRESHOLD", "SIGMA_FACTOR", "MolmapGrid", "molmap_grid", "molmap", "molmap_correlation", "EModel",
           "emodel_correlation", "emodel_geometry", "map_model_correlation", "check_model_resolution", "atomic_numbers",
           "occupancy_weights", "pair_sums", "default_max_memory"]
