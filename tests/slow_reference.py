"""A slow, obvious implementation of the per-atom Q-score (SPEC §2), written independently of the
package's kernels: plain Python loops over atoms, shells, tries and points, brute-force distances."""

from __future__ import annotations

import math

import numpy as np


def spiral(n):
    """Saff-Kuijlaars spiral of n unit vectors, starting at -z."""
    pts = []
    theta = 0.0
    for k in range(1, n + 1):
        h = -1.0 + 2.0 * (k - 1) / (n - 1)
        phi = math.acos(h)
        if k == 1 or k == n:
            theta = 0.0
        else:
            theta = (theta + 3.6 / math.sqrt(n * (1.0 - h * h))) % (2 * math.pi)
        pts.append((math.sin(phi) * math.cos(theta), math.sin(phi) * math.sin(theta), math.cos(phi)))
    return np.array(pts)


def trilinear(values, origin, voxel, p):
    """Value at p (x, y, z); 0 outside the box spanned by the grid points."""
    nz, ny, nx = values.shape
    g = (np.asarray(p) - origin) * (1.0 / voxel)  # Chimera's xyz-to-ijk transform
    idx = np.floor(g).astype(int)
    size = np.array([nx, ny, nz])
    for a in range(3):
        if idx[a] == size[a] - 1 and g[a] == idx[a]:
            idx[a] -= 1
    if np.any(idx < 0) or np.any(idx > size - 2):
        return 0.0
    f = g - idx
    total = 0.0
    for dz in (0, 1):
        for dy in (0, 1):
            for dx in (0, 1):
                w = (f[0] if dx else 1 - f[0]) * (f[1] if dy else 1 - f[1]) * (f[2] if dz else 1 - f[2])
                total += w * float(values[idx[2] + dz, idx[1] + dy, idx[0] + dx])
    return total


def qscore_slow(coords, values, origin, voxel, sigma=0.6, num_points=8, step=0.1, max_r=2.0, tries=50,
                targets=None):
    """Q of each atom in ``targets`` (default all); every atom of ``coords`` is a neighbour."""
    coords = np.asarray(coords, dtype=float)
    origin = np.asarray(origin, dtype=float)
    voxel = np.asarray(voxel, dtype=float)
    v = values.astype(np.float64)
    mean, sd = v.mean(), v.std()
    max_d = min(mean + 10 * sd, v.max())
    min_d = max(mean - sd, v.min())
    amp, base = max_d - min_d, min_d
    out = []
    for a in (range(len(coords)) if targets is None else targets):
        p = coords[a]
        us = [trilinear(values, origin, voxel, p)] * num_points
        gs = [amp + base] * num_points
        for R in np.arange(step, max_r + 0.01, step):
            for i in range(tries):
                kept = []
                for d in spiral(num_points + 2 * i):
                    x = p + d * R
                    dist2 = np.sum((coords - x) ** 2, axis=1)
                    if not np.any(dist2 < (R * 0.9) ** 2):
                        kept.append(x)
                if len(kept) >= num_points:
                    us += [trilinear(values, origin, voxel, x) for x in kept]
                    gs += [amp * math.exp(-0.5 * (R / sigma) ** 2) + base] * len(kept)
                    break
        u = np.array(us)
        g = np.array(gs)
        du, dg = u - u.mean(), g - g.mean()
        den = math.sqrt(np.sum(du * du) * np.sum(dg * dg))
        out.append(0.0 if den == 0 or u.max() == u.min() else float(np.sum(du * dg) / den))
    return np.array(out)
