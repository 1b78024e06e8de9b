"""Electron-scattering atom densities on a periodic grid, in parallel (:func:`splat_density`).

What gemmi's ``DensityCalculatorE.put_model_density_on_grid`` computes — each atom's density from
its element's 5-Gaussian electron form factor (``c4322``, International Tables C 4.3.2.2) with
B = B_iso + blur, ρ(r) = occ · Σₖ aₖ (4π/(bₖ+B))^{3/2} exp(−4π² r²/(bₖ+B)), summed over the grid
points within the radius where it falls to :data:`CUTOFF` (gemmi's default level), periodically —
but in float64, with separable exponentials (each Gaussian's factor per axis computed once per
atom) and on several threads (blocks of x planes; every thread writes only its own planes).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = ["CUTOFF", "form_factor_coefficients", "atom_gaussians", "density_radius", "splat_density"]

#: density level (e/Å³) where an atom's density is cut (gemmi's DensityCalculator.cutoff)
CUTOFF = 1e-5


def form_factor_coefficients(elements) -> tuple:
    """The c4322 coefficients of each atom: ((n, 5) a, (n, 5) b), from gemmi's tables.

    Parameters
    ----------
    elements : (n,) str — element symbols

    Returns
    -------
    (ndarray, ndarray)
    """
    import gemmi

    elements = np.asarray(elements).astype(str)
    table = {}
    for sym in np.unique(elements):
        coefs = gemmi.Element(str(sym)).c4322.get_coefs()
        table[sym] = (np.array(coefs[:5], dtype=np.float64), np.array(coefs[5:], dtype=np.float64))
    a = np.array([table[s][0] for s in elements]).reshape(-1, 5)
    b = np.array([table[s][1] for s in elements]).reshape(-1, 5)
    return a, b


def atom_gaussians(a, b, b_iso, blur: float) -> tuple:
    """Amplitudes and exponents of each atom's five real-space Gaussians: ρ(r) = Σₖ amp·exp(−expo·r²).

    Parameters
    ----------
    a, b : (n, 5) — c4322 coefficients
    b_iso : (n,) — B-factors, Å²
    blur : float — added to every B, Å²

    Returns
    -------
    (amp, expo) — (n, 5) each
    """
    total = b + (np.asarray(b_iso, dtype=np.float64) + blur)[:, None]
    return a * (4 * math.pi / total) ** 1.5, 4 * math.pi ** 2 / total


def density_radius(amp, expo, cutoff: float = CUTOFF) -> np.ndarray:
    """Per atom, the distance (Å) where its density falls to ``cutoff`` (bisection; 0 where it never reaches it).

    Parameters
    ----------
    amp, expo : (n, 5)
    cutoff : float — e/Å³

    Returns
    -------
    (n,) float
    """
    lo = np.zeros(len(amp))
    hi = np.full(len(amp), 1.0)
    for _ in range(8):  # grow the bracket until the density at hi is below the cutoff
        above = (amp * np.exp(-expo * hi[:, None] ** 2)).sum(axis=1) > cutoff
        hi = np.where(above, hi * 2, hi)
    for _ in range(30):  # the bracket's width, at most 2⁸ Å, falls below 1e-6 Å
        mid = 0.5 * (lo + hi)
        above = (amp * np.exp(-expo * mid[:, None] ** 2)).sum(axis=1) > cutoff
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return hi


@njit(cache=True, nogil=True)
def _splat_block(pos, occ, amp, expo, radius, voxel, x0, x1, grid):
    """Add the densities of all atoms to grid planes x0 … x1-1 (periodic in every axis) of ``grid`` (nx, ny, nz)."""
    nx, ny, nz = grid.shape
    span = 0
    for a in range(pos.shape[0]):
        span = max(span, int(2.0 * radius[a] / min(voxel[0], min(voxel[1], voxel[2]))) + 3)
    fx = np.empty((5, span))
    fy = np.empty((5, span))
    fz = np.empty((5, span))
    dx2 = np.empty(span)
    dy2 = np.empty(span)
    dz2 = np.empty(span)
    for a in range(pos.shape[0]):
        r = radius[a]
        if r <= 0.0 or occ[a] == 0.0:
            continue
        i_lo = int(math.ceil((pos[a, 0] - r) / voxel[0]))
        i_hi = int(math.floor((pos[a, 0] + r) / voxel[0]))
        mine = False
        for i in range(i_lo, i_hi + 1):
            iw = i % nx
            if x0 <= iw < x1:
                mine = True
                break
        if not mine:
            continue
        j_lo = int(math.ceil((pos[a, 1] - r) / voxel[1]))
        j_hi = int(math.floor((pos[a, 1] + r) / voxel[1]))
        k_lo = int(math.ceil((pos[a, 2] - r) / voxel[2]))
        k_hi = int(math.floor((pos[a, 2] + r) / voxel[2]))
        for i in range(i_lo, i_hi + 1):
            d = i * voxel[0] - pos[a, 0]
            dx2[i - i_lo] = d * d
        for j in range(j_lo, j_hi + 1):
            d = j * voxel[1] - pos[a, 1]
            dy2[j - j_lo] = d * d
        for k in range(k_lo, k_hi + 1):
            d = k * voxel[2] - pos[a, 2]
            dz2[k - k_lo] = d * d
        for g in range(5):
            e = expo[a, g]
            for i in range(i_hi - i_lo + 1):
                fx[g, i] = amp[a, g] * occ[a] * math.exp(-e * dx2[i])
            for j in range(j_hi - j_lo + 1):
                fy[g, j] = math.exp(-e * dy2[j])
            for k in range(k_hi - k_lo + 1):
                fz[g, k] = math.exp(-e * dz2[k])
        r2 = r * r
        for i in range(i_lo, i_hi + 1):
            iw = i % nx
            if iw < x0 or iw >= x1:
                continue
            ii = i - i_lo
            for j in range(j_lo, j_hi + 1):
                jj = j - j_lo
                dxy = dx2[ii] + dy2[jj]
                if dxy > r2:
                    continue
                jw = j % ny
                for k in range(k_lo, k_hi + 1):
                    kk = k - k_lo
                    if dxy + dz2[kk] > r2:
                        continue
                    s = 0.0
                    for g in range(5):
                        s += fx[g, ii] * fy[g, jj] * fz[g, kk]
                    grid[iw, jw, k % nz] += s


def splat_density(pos, occ, amp, expo, radius, voxel, shape, *, threads: int = 1) -> np.ndarray:
    """The summed atom densities on a periodic grid (module docstring).

    Parameters
    ----------
    pos : (n, 3) float — atom positions in the cell, Å (grid point (i, j, k) lies at (i, j, k) · voxel)
    occ : (n,) float — occupancies
    amp, expo : (n, 5) — from :func:`atom_gaussians`
    radius : (n,) float — from :func:`density_radius`
    voxel : (3,) float — grid spacing, Å
    shape : (nx, ny, nz) — the grid
    threads : int — blocks of x planes computed at once

    Returns
    -------
    (nx, ny, nz) float64
    """
    grid = np.zeros(tuple(int(n) for n in shape))
    args = (np.ascontiguousarray(pos, dtype=np.float64), np.ascontiguousarray(occ, dtype=np.float64),
            np.ascontiguousarray(amp, dtype=np.float64), np.ascontiguousarray(expo, dtype=np.float64),
            np.ascontiguousarray(radius, dtype=np.float64), np.asarray(voxel, dtype=np.float64))
    nx = grid.shape[0]
    n_blocks = max(1, min(nx, 4 * int(threads)))
    edges = np.linspace(0, nx, n_blocks + 1).astype(int)
    blocks = [(int(edges[k]), int(edges[k + 1])) for k in range(n_blocks) if edges[k + 1] > edges[k]]
    if threads <= 1 or len(blocks) == 1:
        _splat_block(*args, 0, nx, grid)
        return grid
    with ThreadPoolExecutor(max_workers=int(threads)) as ex:
        list(ex.map(lambda b: _splat_block(*args, b[0], b[1], grid), blocks))
    return grid
