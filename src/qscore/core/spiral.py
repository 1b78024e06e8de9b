"""Points on a sphere by the generalised spiral (Saff & Kuijlaars), exactly as MapQ places them.

For n points, k = 1..n: h = -1 + 2(k-1)/(n-1), φ = arccos h, θ₁ = θₙ = 0 and
θₖ = (θₖ₋₁ + 3.6/√(n(1-h²))) mod 2π; direction (sin φ cos θ, sin φ sin θ, cos φ).
The spiral starts at -z and ends at +z.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np


def spiral_directions(n: int) -> np.ndarray:
    """Unit vectors of the n-point spiral, shape (n, 3), float64 (computed as MapQ does, in order)."""
    if n < 2:
        raise ValueError(f"a spiral needs at least 2 points, got {n}")
    thetas = []
    phis = []
    for k in range(1, n + 1):
        h = -1.0 + 2.0 * (k - 1) / (n - 1)
        phis.append(math.acos(h))
        if k == 1 or k == n:
            thetas.append(0.0)
        else:
            thetas.append((thetas[k - 2] + 3.6 / math.sqrt(n * (1.0 - h ** 2.0))) % (2 * math.pi))
    out = np.empty((n, 3), dtype=np.float64)
    for i, (theta, phi) in enumerate(zip(thetas, phis, strict=True)):
        out[i] = (math.sin(phi) * math.cos(theta), math.sin(phi) * math.sin(theta), math.cos(phi))
    return out


@lru_cache(maxsize=16)
def spiral_table(num_points: int, tries: int) -> tuple:
    """Directions of every try, concatenated: try i has ``num_points + 2 i`` points.

    Parameters
    ----------
    num_points : int — points of the first try
    tries : int — number of tries

    Returns
    -------
    (dirs, start) — dirs (total, 3) float64 unit vectors and start (tries + 1,) int64 such that try i
    uses ``dirs[start[i]:start[i + 1]]``
    """
    sizes = [num_points + 2 * i for i in range(tries)]
    start = np.zeros(tries + 1, dtype=np.int64)
    start[1:] = np.cumsum(sizes)
    dirs = np.concatenate([spiral_directions(n) for n in sizes])
    dirs.setflags(write=False)
    start.setflags(write=False)
    return dirs, start


__all__ = ["spiral_directions", "spiral_table"]
