"""Trilinear interpolation of a map given as its flat float32 values, as Chimera interpolates: numba kernels,
arrays in and out.  Used by the Q-score kernel (:mod:`qscore.core.kernels`), the EMDB-compatible shift of a map
and the map-model correlation."""

from __future__ import annotations

import numpy as np
from numba import njit

_CACHE = True


@njit(cache=_CACHE, nogil=True)
def _corners(flat, nx, ny, i, j, k, fx, fy, fz):
    """Trilinear blend of the 8 grid values of the cell with lowest corner (i, j, k)."""
    one = np.uint64(1)
    b0 = np.uint64((k * ny + j) * nx + i)
    b1 = b0 + np.uint64(nx)
    b2 = b0 + np.uint64(nx * ny)
    b3 = b2 + np.uint64(nx)
    c00 = np.float64(flat[b0]) * (1.0 - fx) + np.float64(flat[b0 + one]) * fx
    c10 = np.float64(flat[b1]) * (1.0 - fx) + np.float64(flat[b1 + one]) * fx
    c01 = np.float64(flat[b2]) * (1.0 - fx) + np.float64(flat[b2 + one]) * fx
    c11 = np.float64(flat[b3]) * (1.0 - fx) + np.float64(flat[b3 + one]) * fx
    c0 = c00 * (1.0 - fy) + c10 * fy
    c1 = c01 * (1.0 - fy) + c11 * fy
    return c0 * (1.0 - fz) + c1 * fz


@njit(cache=_CACHE, nogil=True)
def interpolate(flat, nx, ny, nz, ox, oy, oz, ix, iy, iz, x, y, z):
    """Trilinear value at a point of a map given as its flat values; 0 outside the grid (as Chimera).

    Parameters
    ----------
    flat : (nz·ny·nx,) float32 — the map's values, C order (z slowest)
    nx, ny, nz : int — grid size
    ox, oy, oz : float — origin, Å
    ix, iy, iz : float — reciprocal voxel sizes, Å⁻¹ (Chimera's xyz-to-ijk transform)
    x, y, z : float — the point, Å

    Returns
    -------
    float64 — indices are unsigned, so that no wraparound checks are made
    """
    gx = (x - ox) * ix
    gy = (y - oy) * iy
    gz = (z - oz) * iz
    if not (gx >= 0.0 and gy >= 0.0 and gz >= 0.0):
        return 0.0
    i = int(gx)
    j = int(gy)
    k = int(gz)
    # a point exactly on the last grid plane is inside (fraction 1 in the last cell)
    if i >= nx - 1:
        if i == nx - 1 and gx == i and nx > 1:
            i = nx - 2
        else:
            return 0.0
    if j >= ny - 1:
        if j == ny - 1 and gy == j and ny > 1:
            j = ny - 2
        else:
            return 0.0
    if k >= nz - 1:
        if k == nz - 1 and gz == k and nz > 1:
            k = nz - 2
        else:
            return 0.0
    return _corners(flat, nx, ny, i, j, k, gx - i, gy - j, gz - k)


@njit(cache=_CACHE, nogil=True)
def interpolate_inside(flat, nx, ny, ox, oy, oz, ix, iy, iz, x, y, z):
    """As :func:`interpolate` for a point known to lie in the grid's interior cells (no checks).

    Parameters
    ----------
    flat, nx, ny, ox, oy, oz, ix, iy, iz, x, y, z : as for :func:`interpolate`

    Returns
    -------
    float64
    """
    gx = (x - ox) * ix
    gy = (y - oy) * iy
    gz = (z - oz) * iz
    i = int(gx)
    j = int(gy)
    k = int(gz)
    return _corners(flat, nx, ny, i, j, k, gx - i, gy - j, gz - k)


@njit(cache=_CACHE, nogil=True)
def interpolate_points(values, origin, voxel, points):
    """Trilinear values at many points; 0 outside the grid.

    Parameters
    ----------
    values : (nz, ny, nx) float32 — the map
    origin, voxel : (3,) float64 — Å (x, y, z)
    points : (n, 3) float64 — Å

    Returns
    -------
    (n,) float64
    """
    n = points.shape[0]
    nz, ny, nx = values.shape
    flat = values.reshape(-1)
    out = np.empty(n, dtype=np.float64)
    for a in range(n):
        out[a] = interpolate(flat, nx, ny, nz, origin[0], origin[1], origin[2], 1.0 / voxel[0],
                             1.0 / voxel[1], 1.0 / voxel[2], points[a, 0], points[a, 1], points[a, 2])
    return out


@njit(cache=_CACHE, nogil=True)
def shift_linear(values, offset_zyx):
    """Resample a map at ``index + offset`` per axis by trilinear interpolation.

    Parameters
    ----------
    values : (nz, ny, nx) float32
    offset_zyx : (3,) float64 — the shift in voxels, z, y, x

    Returns
    -------
    (nz, ny, nx) float32 — grid points whose source lies outside the grid become 0
    """
    nz, ny, nx = values.shape
    flat = values.reshape(-1)
    out = np.empty((nz, ny, nx), dtype=np.float32)
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                out[k, j, i] = interpolate(flat, nx, ny, nz, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0,
                                           i + offset_zyx[2], j + offset_zyx[1], k + offset_zyx[0])
    return out


__all__ = ["interpolate", "interpolate_inside", "interpolate_points", "shift_linear"]
