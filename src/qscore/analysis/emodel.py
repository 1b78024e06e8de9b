"""The electron-scattering model map of docs/science.md §8 on the map's own grid: the atom densities of gemmi's
``DensityCalculatorE`` (:mod:`qscore.analysis.edensity`, computed here in parallel), and the resolution cut
done with single-precision FFTs (the CC moves by about 1e-7), the blur's removal applied to the spectrum in
place (:func:`_cut_spectrum`) and the sums of the CC taken on the cell's sub-box and the map's without copies.

The model's B-factors (or any given ones, as :mod:`qscore.analysis.bfactors` scans them), cut at
resolution d in reciprocal space, computed on a periodic cell around the model's sub-box of the map
grid, so that memory stays bounded by the model's extent (:func:`emodel_geometry` says how much first).
For the CC (:func:`emodel_correlation`) a large sub-box is cut along z into slabs of at most
:data:`SLAB_BYTES`, each in its own periodic cell with the same margins, and their sums pooled.  The
resolution cut's ripples near a slab's faces differ a little from the whole cell's, so the CC moves in
the sixth decimal for thick slabs and by up to 2e-4 for slabs only a few margins thick; time and
memory side by side: ``benchmarks/bench_cc_slabs.py`` (figures in ``benchmarks/README.md``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..core.engine import get_threads
from ..errors import ModelError, ParameterError
from .cc_core import (
    THRESHOLD,
    atomic_numbers,
    box_pair_sums,
    correlations,
    default_max_memory,
    distinct_strings,
    gib,
    on_blocks,
    pool,
)
from .edensity import atom_gaussians, density_radius, form_factor_table, splat_density

__all__ = ["EMODEL_BYTES_PER_POINT", "SLAB_BYTES", "MAX_B_FACTOR", "emodel_geometry", "EModel", "emodel_correlation",
           "clamped_b", "irfftn_in_place"]

#: bytes per grid point of an electron-scattering model map at its peak: the float32 density grid (4) and its
#: single-precision half-complex transform (4), then that transform and the float32 result (4 + 4)
#: (:meth:`EModel.values` adds a float64 copy of the sub-box, which the CC does not make)
EMODEL_BYTES_PER_POINT = 8


def emodel_geometry(coords, elements, dmap, resolution: float, *, b_max: float = 0.0, limits=None) -> dict:
    """Where an electron-scattering model map lies on ``dmap``'s grid and what it costs.

    Parameters
    ----------
    coords : (n, 3) float — atom positions, Å
    elements : (n,) str — element symbols
    dmap : DensityMap — the map whose grid the model map uses
    resolution : float — d, Å
    b_max : float — the largest B-factor, Å² (sets the margin)
    limits : ((3,) int, (3,) int), optional — grid indices (x y z) the sub-box is clipped to (a slab of it)

    Returns
    -------
    dict — ``usable`` (n,) bool (atoms with a known element), ``symbols`` and ``codes`` (the distinct element
    symbols and each atom's index into them), ``lo``/``hi`` (3,) int (the first and last
    map grid index, x y z, of the sub-box the model map covers), ``margin`` (3,) int (grid points added on
    each side to make the periodic cell), ``cell_shape`` (nx, ny, nz), ``blur`` (Å², gemmi's sampling blur
    for B = 0 atoms: 8π²/1.1 · spacing², as refmac) and ``memory_bytes``

    Raises
    ------
    ModelError — no atom has a known element, or the atoms lie far outside the map's box
    """
    import gemmi

    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    symbols, codes = distinct_strings(elements)
    usable = (atomic_numbers(symbols) > 0)[codes]
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
    for sym in symbols[np.bincount(codes[usable], minlength=len(symbols)) > 0]:
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
    # clipped before the cast to integers, so that an atom far outside the box (1e30 Å) cannot overflow them
    lo = np.clip(np.floor((lo_xyz - dmap.origin) / voxel), 0, n_xyz - 1).astype(np.int64)
    hi = np.clip(np.ceil((hi_xyz - dmap.origin) / voxel), 0, n_xyz - 1).astype(np.int64)
    geo = {"usable": usable, "symbols": symbols, "codes": codes, "lo": lo, "hi": hi,
           "margin": np.ceil(reach / voxel).astype(np.int64), "blur": blur}
    return _clipped(geo, limits)


def _clipped(geo: dict, limits) -> dict:
    """``geo`` with its sub-box clipped to ``limits`` (None: as it is) and the cell and memory of that sub-box."""
    from scipy import fft

    lo, hi = geo["lo"], geo["hi"]
    if limits is not None:
        lo, hi = np.maximum(lo, limits[0]), np.minimum(hi, limits[1])
    cell = tuple(int(fft.next_fast_len(int(n + 2 * m), real=True))
                 for n, m in zip(hi - lo + 1, geo["margin"], strict=True))
    return {**geo, "lo": lo, "hi": hi, "cell_shape": cell,
            "memory_bytes": int(EMODEL_BYTES_PER_POINT * float(np.prod(np.array(cell, dtype=np.float64))))}


class EModel:
    """Electron-scattering model maps of one set of atoms on (part of) a map's grid, at resolution d.

    The model map covers the map's grid points within reach of the atoms (the sub-box ``box``); it is
    computed as gemmi's ``DensityCalculatorE`` computes it (:mod:`qscore.analysis.edensity`) in a periodic cell
    made of that sub-box plus a margin
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
    limits : ((3,) int, (3,) int), optional — grid indices (x y z) the sub-box is clipped to: the model
        map of one slab of it (:func:`emodel_correlation` sums the slabs)
    geometry : dict, optional — :func:`emodel_geometry` of these atoms at this ``b_max``, computed once for
        all the slabs (else computed here)

    Attributes
    ----------
    box : tuple of slices — the sub-box of ``dmap.values`` (z, y, x) the model maps cover
    cell_shape : tuple — (nx, ny, nz) of the periodic cell
    memory_bytes : int — estimated peak memory of one model map
    """

    def __init__(self, coords, elements, dmap, resolution: float, *, weights=None, b_max: float = 0.0,
                 max_memory: int | None = None, limits=None, geometry: dict | None = None):
        from scipy import fft

        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
        geo = (emodel_geometry(coords, elements, dmap, resolution, b_max=b_max, limits=limits) if geometry is None
               else _clipped(geometry, limits))
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
                f"needs about {gib(self.memory_bytes)} (a {'×'.join(map(str, self.cell_shape))} grid with margins), "
                f"more than the {gib(limit)} allowed. Allow more with max_memory=, crop the map around the "
                "model, or leave the electron-scattering map out (emodel=False).", parameter=("max_memory", "emodel"))
        voxel = dmap.voxel_size
        lo, hi, margin = geo["lo"], geo["hi"], geo["margin"]
        cell_n = np.array(self.cell_shape)
        self.box = tuple(slice(int(lo[a]), int(hi[a]) + 1) for a in (2, 1, 0))
        # the cell is laid out (z, y, x) as the map is, so that the model map's sub-box and the map's line up
        self._offset = tuple(int(margin[a]) for a in (2, 1, 0))
        self._shape = tuple(int(cell_n[a]) for a in (2, 1, 0))
        cell_origin = dmap.origin + (lo - margin) * voxel
        local = coords - cell_origin
        inside = usable & np.all((local >= 0) & (local < cell_n * voxel), axis=1)
        self.used_atoms = int(inside.sum())
        idx = np.flatnonzero(inside)
        self._index = idx
        self._pos = np.ascontiguousarray(local[idx][:, ::-1])
        self._occ, self._blur, self._voxel = w[idx], geo["blur"], np.ascontiguousarray(voxel[::-1])
        coefs = form_factor_table(geo["symbols"])[geo["codes"][idx]]
        self._coef_a, self._coef_b = coefs[:, :5], coefs[:, 5:]
        # the squared spatial frequencies along z, y and x (rfftn layout: x halved)
        self._s2 = (fft.fftfreq(self._shape[0], d=self._voxel[0]) ** 2,
                    fft.fftfreq(self._shape[1], d=self._voxel[1]) ** 2,
                    fft.rfftfreq(self._shape[2], d=self._voxel[2]) ** 2)
        self.map_values = dmap.values[self.box]

    def _model_box(self, b_iso) -> np.ndarray:
        """The model map on the sub-box, float32 (nz', ny', nx'): a view into the whole cell."""
        from scipy import fft

        b = np.asarray(b_iso, dtype=np.float64)[self._index]
        if np.any(~np.isfinite(b)) or np.any(b < 0):
            raise ParameterError("B-factors for a model map must be finite and ≥ 0 Å².")
        amp, expo = atom_gaussians(self._coef_a, self._coef_b, b, self._blur)
        threads = get_threads()
        grid = splat_density(self._pos, self._occ, amp, expo, density_radius(amp, expo, threads=threads),
                             self._voxel, self._shape, threads=threads)
        spectrum = fft.rfftn(grid, workers=-1)
        del grid
        sz2, sy2, sx2 = self._s2
        cut = (self._blur / 4.0, 1.0 / self.resolution ** 2)
        on_blocks(lambda k0, k1, s=spectrum: _cut_spectrum(s[k0:k1], sz2[k0:k1], sy2, sx2, *cut), len(sz2),
                  threads)  # each plane alone: the same values however the planes are split
        full = irfftn_in_place(spectrum, self._shape)
        del spectrum
        oz, oy, ox = self._offset
        bz, by, bx = self.box
        return full[oz:oz + (bz.stop - bz.start), oy:oy + (by.stop - by.start), ox:ox + (bx.stop - bx.start)]

    def values(self, b_iso) -> np.ndarray:
        """The model map on the sub-box ``box`` (nz', ny', nx') float64, atoms with B-factors ``b_iso``
        ((n,) Å², one per atom given at construction)."""
        return np.array(self._model_box(b_iso), dtype=np.float64)

    def correlation(self, b_iso, threshold: float = THRESHOLD) -> dict:
        """CC, CC-mean and point count of the map with the model map of B-factors ``b_iso``."""
        return correlations(self.pair_sums(b_iso, threshold))

    def pair_sums(self, b_iso, threshold: float = THRESHOLD) -> np.ndarray:
        """The pooled sums (:func:`qscore.analysis.cc_core.box_pair_sums`) of the model map against the map."""
        return box_pair_sums(self._model_box(b_iso), self.map_values, float(threshold))


def irfftn_in_place(spectrum: np.ndarray, shape: tuple) -> np.ndarray:
    """``scipy.fft.irfftn(spectrum, s=shape)`` of a 3-D half-complex spectrum, the same values, with 8 bytes a
    point at the peak instead of 12: in place across the first two axes, then to real along the last (irfftn
    copies the spectrum first), scaled by 1/N at the end as pocketfft scales it (the same float32 product).
    ``spectrum`` is overwritten.

    Parameters
    ----------
    spectrum : (nz, ny, nx // 2 + 1) complex
    shape : (nz, ny, nx) — of the real result
    """
    from scipy import fft

    spectrum = fft.ifftn(spectrum, axes=(0, 1), workers=-1, overwrite_x=True, norm="forward")
    out = fft.irfft(spectrum, n=shape[2], axis=2, workers=-1, overwrite_x=True, norm="forward")
    out *= out.dtype.type(1 / np.longdouble(math.prod(shape)))
    return out


@njit(cache=True, nogil=True)
def _cut_spectrum(spectrum, sz2, sy2, sx2, quarter_blur, s2_max):
    """In place: remove the sampling blur (× exp(blur·s²/4)) up to s² = ``s2_max`` and zero the rest.

    The blur's factor is separable, exp(blur·(sx² + sy² + sz²)/4) = ex·ey·ez; the sphere is tested on
    sx² + sy² + sz² summed in that order, as the whole array of s² was summed before."""
    ez = np.exp(quarter_blur * sz2)
    ey = np.exp(quarter_blur * sy2)
    ex = np.exp(quarter_blur * sx2)
    nz, ny, nx = spectrum.shape
    for k in range(nz):
        for j in range(ny):
            f = ez[k] * ey[j]
            for i in range(nx):
                if sx2[i] + sy2[j] + sz2[k] <= s2_max:
                    spectrum[k, j, i] *= f * ex[i]
                else:
                    spectrum[k, j, i] = 0.0


def emodel_correlation(coords, elements, b_iso, dmap, resolution: float, *, weights=None,
                       threshold: float = THRESHOLD, max_memory: int | None = None,
                       geometry: dict | None = None) -> dict:
    """CC and CC-mean of ``dmap`` with the electron-scattering model map.

    Negative or missing B-factors (a model with Q-scores in its B column, say) are taken as 0, those over
    :data:`MAX_B_FACTOR` as that, and counted in ``b_clamped``.

    Parameters
    ----------
    coords : (n, 3) float — atom positions, Å
    elements : (n,) str — element symbols
    b_iso : (n,) float — B-factors, Å²
    dmap : DensityMap; resolution : float — d, Å
    weights : (n,) float, optional — per-atom weights (occupancy)
    threshold : float — model-map points at or above it are compared
    max_memory : int, optional — bytes the model map may take (default: half the machine's memory)
    geometry : dict, optional — :func:`emodel_geometry` of these atoms with ``b_max`` from :func:`clamped_b`,
        when the caller has it already

    Returns
    -------
    dict — ``cc``, ``cc_mean``, ``n_points``, ``threshold``, ``atoms`` used, ``b_clamped``, ``grid``
    ([nx, ny, nz] of the whole periodic cell), ``slabs`` (how many it was computed in) and ``memory_bytes``
    (the largest slab's)
    """
    b, bad, b_max = clamped_b(b_iso)
    geo = emodel_geometry(coords, elements, dmap, resolution, b_max=b_max) if geometry is None else geometry
    parts, used, peak = [], np.zeros(len(b), dtype=bool), 0
    for limits in _slabs(geo, SLAB_BYTES):
        em = EModel(coords, elements, dmap, resolution, weights=weights, b_max=b_max, max_memory=max_memory,
                    limits=limits, geometry=geo)
        parts.append(em.pair_sums(b, threshold))
        used[em._index] = True
        peak = max(peak, em.memory_bytes)
        del em
    out = correlations(pool(parts))
    out.update({"threshold": threshold, "atoms": int(used.sum()), "b_clamped": int(bad.sum()),
                "grid": list(geo["cell_shape"]), "slabs": len(parts), "memory_bytes": peak})
    return out


#: the largest B-factor (Å²) a model map takes: the most a PDB file can hold; a larger one (a misread or corrupt
#: value) is taken as this (gemmi's radius estimate gives nonsense beyond about 1e4 Å² and never returns for 1e300)
MAX_B_FACTOR = 999.99


def clamped_b(b_iso) -> tuple:
    """B-factors for a model map: negative or missing ones as 0, those over :data:`MAX_B_FACTOR` as that.

    Parameters
    ----------
    b_iso : (n,) float — Å²

    Returns
    -------
    ((n,) float64, (n,) bool, float) — the B-factors, which were clamped, and the largest
    """
    b = np.asarray(b_iso, dtype=np.float64)
    bad = ~(b >= 0) | (b > MAX_B_FACTOR)
    b = np.where(b >= 0, np.minimum(b, MAX_B_FACTOR), 0.0)
    return b, bad, float(b.max()) if len(b) else 0.0


#: the most memory (bytes, :data:`EMODEL_BYTES_PER_POINT` per point) one slab's model map may take; a
#: larger sub-box is cut into slabs along z, each computed in its own periodic cell and summed
SLAB_BYTES = 256 * 2**20


def _slabs(geo: dict, budget: int) -> list:
    """((lo, hi), …): the model's sub-box cut along z into slabs whose cells (slab + margins) fit ``budget``
    (one slab, the whole sub-box, when it fits)."""
    from scipy import fft

    lo, hi, margin = geo["lo"], geo["hi"], geo["margin"]
    if geo["memory_bytes"] <= budget:
        return [(lo, hi)]
    per_z = geo["memory_bytes"] / geo["cell_shape"][2]  # bytes per z-plane of the cell
    depth = max(int(budget // per_z) - 2 * int(margin[2]), 8)
    while depth > 8 and per_z * fft.next_fast_len(depth + 2 * int(margin[2]), real=True) > budget:
        depth -= 1  # the cell's z size is rounded up to a fast FFT length
    starts = range(int(lo[2]), int(hi[2]) + 1, depth)
    return [(np.array([lo[0], lo[1], z]), np.array([hi[0], hi[1], min(z + depth - 1, int(hi[2]))])) for z in starts]
