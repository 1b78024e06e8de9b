"""Electron-scattering atom densities on a periodic grid, in parallel (:func:`splat_density`).

What gemmi's ``DensityCalculatorE.put_model_density_on_grid`` computes — each atom's density from
its element's 5-Gaussian electron form factor (``c4322``, International Tables C 4.3.2.2) with
B = B_iso + blur, ρ(r) = occ · Σₖ aₖ (4π/(bₖ+B))^{3/2} exp(−4π² r²/(bₖ+B)), summed over the grid
points within the radius where it falls to :data:`CUTOFF` (gemmi's default level), periodically, into a
float32 grid as gemmi does — but each atom's terms in float64, with separable exponentials (each Gaussian's
factor per axis computed once per atom, by recurrence along the axis), each row of a sphere along z summed
in one branch-free vectorised pass, and on several threads (blocks of
planes across the longer of the first two axes; every thread writes only its own planes).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .cc_core import distinct_strings, on_blocks

__all__ = ["CUTOFF", "form_factor_coefficients", "form_factor_table", "atom_gaussians", "density_radius",
           "splat_density"]

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
    symbols, which = distinct_strings(elements)
    coefs = form_factor_table(symbols)[which]
    return coefs[:, :5], coefs[:, 5:]


def form_factor_table(symbols) -> np.ndarray:
    """The c4322 coefficients of each element symbol, from gemmi's tables: (k, 10), a₁…a₅ then b₁…b₅.

    Parameters
    ----------
    symbols : (k,) str — element symbols

    Returns
    -------
    ndarray
    """
    import gemmi

    return np.array([gemmi.Element(str(sym)).c4322.get_coefs() for sym in symbols], dtype=np.float64).reshape(-1, 10)


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


def density_radius(amp, expo, cutoff: float = CUTOFF, *, threads: int = 1) -> np.ndarray:
    """Per atom, the distance (Å) where its density falls to ``cutoff`` (0 where it never reaches it).

    Newton's method on log ρ as a function of u = r²: a sum of Gaussians makes it convex and decreasing,
    so from u = 0 the steps approach the root from below and never overshoot; a few steps reach it to
    about 1e-12 relative.

    Parameters
    ----------
    amp, expo : (n, 5)
    cutoff : float — e/Å³
    threads : int — blocks of atoms computed at once

    Returns
    -------
    (n,) float
    """
    amp, expo = np.ascontiguousarray(amp, dtype=np.float64), np.ascontiguousarray(expo, dtype=np.float64)
    return np.concatenate(on_blocks(lambda a, b: _radii(amp[a:b], expo[a:b], float(cutoff)), len(amp), threads))


@njit(cache=True, nogil=True)
def _radii(amp, expo, cutoff):
    """:func:`density_radius` (Newton's method on log ρ(u), u = r², from u = 0)."""
    out = np.zeros(amp.shape[0])
    log_cut = math.log(cutoff)
    for a in range(amp.shape[0]):
        u = 0.0
        for _ in range(100):
            rho = 0.0
            slope = 0.0
            for g in range(amp.shape[1]):
                t = amp[a, g] * math.exp(-expo[a, g] * u)
                rho += t
                slope += t * expo[a, g]
            if rho <= cutoff or rho <= 0.0:
                break
            step = (math.log(rho) - log_cut) * rho / slope
            u += step
            if step <= 1e-12 * u:
                break
        out[a] = math.sqrt(u)
    return out


@njit(cache=True, nogil=True)
def _splat_block(pos, occ, amp, expo, radius, voxel, own, p0, p1, grid):
    """Add the densities of all atoms to the planes p0 … p1-1 across axis ``own`` (0 or 1) of ``grid`` (nx, ny, nz),
    periodic in every axis."""
    nx, ny, nz = grid.shape
    span = 0
    for a in range(pos.shape[0]):
        span = max(span, int(2.0 * radius[a] / min(voxel[0], min(voxel[1], voxel[2]))) + 3)
    span = (span + 3) // 4 * 4  # room for a z-row padded to a multiple of 4 (below)
    fx = np.empty((5, span))
    fy = np.empty((5, span))
    fz = np.empty((5, span))
    d2 = np.empty((3, span))
    wrap = np.empty((3, span), dtype=np.int64)  # the grid index of each offset, taken modulo the cell once
    lo = np.empty(3, dtype=np.int64)
    hi = np.empty(3, dtype=np.int64)
    dims = (nx, ny, nz)
    for a in range(pos.shape[0]):
        r = radius[a]
        if r <= 0.0 or occ[a] == 0.0:
            continue
        for ax in range(3):
            lo[ax] = int(math.ceil((pos[a, ax] - r) / voxel[ax]))
            hi[ax] = int(math.floor((pos[a, ax] + r) / voxel[ax]))
        if lo[own] >= 0 and hi[own] < dims[own] and (hi[own] < p0 or lo[own] >= p1):
            continue  # no wrap across the planes, and none of them in this block
        mine = False
        for ax in range(3):
            for t in range(hi[ax] - lo[ax] + 1):
                g = lo[ax] + t
                d = g * voxel[ax] - pos[a, ax]
                d2[ax, t] = d * d
                wrap[ax, t] = g % dims[ax]
                if ax == own and p0 <= wrap[ax, t] < p1:
                    mine = True
        if not mine:
            continue
        ni, nj, nk = hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1
        for g in range(5):
            e = expo[a, g]
            w = amp[a, g] * occ[a]
            for ax in range(3):
                # exp(-e·d_t²) along the axis, d_t = d_0 + t·v, by recurrence: three exponentials, not one per offset
                v = voxel[ax]
                d0 = lo[ax] * v - pos[a, ax]
                f = math.exp(-e * d0 * d0)
                ratio = math.exp(-e * (2.0 * d0 * v + v * v))
                step = math.exp(-2.0 * e * v * v)
                for t in range(hi[ax] - lo[ax] + 1):
                    if ax == 0:
                        fx[g, t] = w * f
                    elif ax == 1:
                        fy[g, t] = f
                    else:
                        fz[g, t] = f
                    f *= ratio
                    ratio *= step
        r2 = r * r
        # a z-row padded to a multiple of 4 points that lies inside the grid is summed without branches: the points
        # outside the sphere (and the padding, d² = ∞) get + 0.0, which leaves a float32 value as it is, so the
        # loop is one vectorised pass over contiguous points (1.6-1.7× faster than testing each point)
        nkp = (nk + 3) // 4 * 4
        fast = lo[2] >= 0 and lo[2] + nkp <= nz
        if fast:
            for t in range(nk, nkp):
                d2[2, t] = np.inf
                for g in range(5):
                    fz[g, t] = 0.0
        for ii in range(ni):
            iw = wrap[0, ii]
            if own == 0 and (iw < p0 or iw >= p1):
                continue
            for jj in range(nj):
                jw = wrap[1, jj]
                dxy = d2[0, ii] + d2[1, jj]
                if dxy > r2 or (own == 1 and (jw < p0 or jw >= p1)):
                    continue
                f0 = fx[0, ii] * fy[0, jj]
                f1 = fx[1, ii] * fy[1, jj]
                f2 = fx[2, ii] * fy[2, jj]
                f3 = fx[3, ii] * fy[3, jj]
                f4 = fx[4, ii] * fy[4, jj]
                if fast:
                    row = grid[iw, jw, lo[2]:lo[2] + nkp]
                    for kk in range(nkp):
                        v = (f0 * fz[0, kk] + f1 * fz[1, kk] + f2 * fz[2, kk] + f3 * fz[3, kk] + f4 * fz[4, kk])
                        row[kk] += v if dxy + d2[2, kk] <= r2 else 0.0
                else:
                    for kk in range(nk):
                        if dxy + d2[2, kk] > r2:
                            continue
                        grid[iw, jw, wrap[2, kk]] += (f0 * fz[0, kk] + f1 * fz[1, kk] + f2 * fz[2, kk] + f3 * fz[3, kk]
                                                      + f4 * fz[4, kk])


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
    threads : int — blocks of planes computed at once

    Returns
    -------
    (nx, ny, nz) float32 — summed as gemmi sums, each atom's terms in float64
    """
    grid = np.zeros(tuple(int(n) for n in shape), dtype=np.float32)
    args = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in (pos, occ, amp, expo, radius, voxel))
    # threads own blocks of planes across the longer of the first two axes (a slab of a model map is thin along
    # its first): fewer atoms reach into two blocks, each of which computes the atom's factors again; the grid
    # stays C-contiguous (a transposed view would compile to a loop that does not vectorise)
    own = 0 if grid.shape[0] >= grid.shape[1] else 1
    threads = max(1, int(threads))
    on_blocks(lambda a, b: _splat_block(*args, own, a, b, grid), grid.shape[own], threads,
              blocks=4 * threads if threads > 1 else 1)
    return grid
