"""numba kernels: arrays in, arrays out; no I/O, no logging.

The per-atom Q-score of docs/science.md §2: spiral points on shells R = dR … maxR, a point kept when no
non-H atom lies strictly closer than 0.9 R, the first of up to ``tries`` spirals of
``num_points + 2 i`` points with at least ``num_points`` kept points used whole, the centre value
counted ``num_points`` times, trilinear interpolation (0 outside the grid; :mod:`qscore.core.trilinear`),
Pearson correlation against the reference Gaussian.  Neighbours are found through a uniform cell grid.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .trilinear import interpolate, interpolate_inside

_CACHE = True


@njit(cache=_CACHE, nogil=True)
def _cell_of(coords, a, lo, dims, cell_size):
    """Linear index of the cell holding point a."""
    ix = min(int((coords[a, 0] - lo[0]) / cell_size), dims[0] - 1)
    iy = min(int((coords[a, 1] - lo[1]) / cell_size), dims[1] - 1)
    iz = min(int((coords[a, 2] - lo[2]) / cell_size), dims[2] - 1)
    return ix + dims[0] * (iy + dims[1] * iz)


@njit(cache=_CACHE, nogil=True)
def build_cells(coords, cell_size):
    """Sort points into a uniform grid of cubic cells.

    Parameters
    ----------
    coords : (n, 3) float64 — Å
    cell_size : float — cell edge, Å

    Returns
    -------
    (lo, dims, start, order) — lowest corner (3,) Å, cell counts (3,) int64, and the points of cell c
    as ``order[start[c]:start[c + 1]]`` with c = ix + nx (iy + ny iz)
    """
    n = coords.shape[0]
    lo = np.empty(3)
    hi = np.empty(3)
    for d in range(3):
        lo[d] = coords[0, d]
        hi[d] = coords[0, d]
    for a in range(n):
        for d in range(3):
            v = coords[a, d]
            if v < lo[d]:
                lo[d] = v
            if v > hi[d]:
                hi[d] = v
    dims = np.empty(3, dtype=np.int64)
    for d in range(3):
        dims[d] = int((hi[d] - lo[d]) / cell_size) + 1
    ncell = dims[0] * dims[1] * dims[2]
    # int32 indices: half the memory (a million-atom model needs a few million cells)
    start = np.zeros(ncell + 1, dtype=np.int32)
    for a in range(n):
        start[_cell_of(coords, a, lo, dims, cell_size) + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    order = np.empty(n, dtype=np.int32)
    for a in range(n):  # fill each cell from its end, counting down its fill pointer start[c + 1]
        c = _cell_of(coords, a, lo, dims, cell_size)
        start[c + 1] -= 1
        order[start[c + 1]] = a
    for c in range(ncell):  # start[c + 1] now holds where cell c begins: shift into place
        start[c] = start[c + 1]
    start[ncell] = n
    return lo, dims, start, order


@njit(cache=_CACHE, nogil=True)
def _gather_candidates(coords, cx, cy, cz, span, dims, start, order, cand_idx, cand_xyz):
    """The points of the cells within ``span`` cells of cell (cx, cy, cz), copied (index and
    coordinates) to the first entries of cand_idx / cand_xyz; returns their count, or minus the
    count when the buffers are too small."""
    cap = cand_idx.shape[0]
    m = 0
    for iz in range(max(cz - span, 0), min(cz + span + 1, dims[2])):
        for iy in range(max(cy - span, 0), min(cy + span + 1, dims[1])):
            for ix in range(max(cx - span, 0), min(cx + span + 1, dims[0])):
                c = ix + dims[0] * (iy + dims[1] * iz)
                for t in range(start[c], start[c + 1]):
                    if m < cap:
                        b = order[t]
                        cand_idx[m] = b
                        cand_xyz[m, 0] = coords[b, 0]
                        cand_xyz[m, 1] = coords[b, 1]
                        cand_xyz[m, 2] = coords[b, 2]
                    m += 1
    if m > cap:
        return -m
    return m


@njit(cache=_CACHE, nogil=True)
def _select_neighbours(a, px, py, pz, cut2, cand_idx, cand_xyz, n_cand, out_idx, out_d2):
    """Indices of the candidates within sqrt(cut2) of (px, py, pz) (point a itself excluded),
    sorted by distance, written to the first entries of out_idx / out_d2; returns their count, or
    minus the count when the buffers are too small."""
    cap = out_idx.shape[0]
    m = 0
    for t in range(n_cand):
        dx = cand_xyz[t, 0] - px
        dy = cand_xyz[t, 1] - py
        dz = cand_xyz[t, 2] - pz
        d2 = dx * dx + dy * dy + dz * dz
        if d2 < cut2:
            b = cand_idx[t]
            if b == a:
                continue
            if m < cap:
                s = m  # insertion sort by distance
                while s > 0 and out_d2[s - 1] > d2:
                    out_d2[s] = out_d2[s - 1]
                    out_idx[s] = out_idx[s - 1]
                    s -= 1
                out_d2[s] = d2
                out_idx[s] = b
            m += 1
    if m > cap:
        return -m
    return m


#: Neighbours per pass of the screen (the rows of w32 it reads at a time; its body is written for 4).
SCREEN_GROUP = 4

#: Minus the screen's starting value, and the cutoff a of its padding rows: d·w - SCREEN_FLOOR rounds
#: to -SCREEN_FLOOR in float32 for any |d·w| < 1e30.
SCREEN_FLOOR = 3.0e38


@njit(cache=_CACHE, nogil=True, fastmath={"nnan", "nsz"})
def _screen(dx, dy, dz, k0, n, w32, nsel, buf):
    """max over neighbours b < nsel of d_(k0+k)·w_b - a_b, in float32, for k < n; returns the row of
    ``buf`` that holds it.

    dx, dy, dz : float32 direction components (contiguous, at least k0 + n of them); w32 : (≥nsel, 4)
    float32 rows (wx, wy, wz, a), where the rows from nsel up to the next multiple of
    SCREEN_GROUP have a = SCREEN_FLOOR (they then give exactly -SCREEN_FLOOR, the starting value);
    buf : (2, ≥n) float32.  The kernel screens several consecutive tries in one call so that the
    vectorised loop over k is long; callers round n up to a multiple of SCREEN_PAD (whole vectors,
    no scalar remainder) and the unsigned offset keeps LLVM free of wraparound checks.

    Each pass over k takes SCREEN_GROUP neighbours and reads the running maximum from one row of
    buf while it writes the other.  Updated in place, LLVM turns the maximum into a masked store,
    which AVX2 has only as the slow ``vmaskmovps`` (2-3× slower than this on AMD Zen); with two
    rows every store is a plain one.  Maxima are exact, so the values are those of one neighbour
    at a time.
    """
    o = np.uint64(k0)
    first = buf[0]
    for k in range(n):
        first[k] = np.float32(-SCREEN_FLOOR)
    r = 0
    for b in range(0, nsel, SCREEN_GROUP):
        src = buf[r]
        dst = buf[1 - r]
        ax, ay, az, aa = w32[b, 0], w32[b, 1], w32[b, 2], w32[b, 3]
        bx, by, bz, ba = w32[b + 1, 0], w32[b + 1, 1], w32[b + 1, 2], w32[b + 1, 3]
        cx, cy, cz, ca = w32[b + 2, 0], w32[b + 2, 1], w32[b + 2, 2], w32[b + 2, 3]
        ex, ey, ez, ea = w32[b + 3, 0], w32[b + 3, 1], w32[b + 3, 2], w32[b + 3, 3]
        for k in range(n):
            kk = o + np.uint64(k)
            x = dx[kk]
            y = dy[kk]
            z = dz[kk]
            v0 = x * ax + y * ay + z * az - aa
            v1 = x * bx + y * by + z * bz - ba
            v2 = x * cx + y * cy + z * cz - ca
            v3 = x * ex + y * ey + z * ez - ea
            m01 = v0 if v0 > v1 else v1
            m23 = v2 if v2 > v3 else v3
            m = m01 if m01 > m23 else m23
            cur = src[k]
            dst[k] = m if m > cur else cur
        r = 1 - r
    return r


#: The screen works on whole groups of this many directions (padding past the last try is zeros).
SCREEN_PAD = 16


#: Half-width (in Å, on the scale of d·w) of the band around the exclusion cutoff within which the
#: float32 screen defers to the exact float64 test; float32 rounding stays below 2e-6 here.
SCREEN_BAND = 1e-4


@njit(cache=_CACHE, nogil=True)
def qscore_atoms(targets, coords, values, origin, voxel, radii, dirs, dir_start, num_points,
                 sigma, amp, base, lo, dims, start, order, cell_size, want_profile):
    """Q-score of the atoms ``coords[targets]`` against every atom of ``coords`` as neighbours.

    Parameters
    ----------
    targets : (m,) int32 or int64 — indices into coords of the atoms to score (in cell order, consecutive
        atoms of one cell share the gathering of their neighbour candidates)
    coords : (n, 3) float64 — every non-H atom (neighbours for the exclusion test), Å
    values : (nz, ny, nx) float32 — the map; origin, voxel : (3,) float64 Å
    radii : (s,) float64 — shell radii, Å
    dirs, dir_start : spiral directions of each try (see ``spiral_table``)
    num_points : int — points required per shell (and weight of the centre value)
    sigma, amp, base : reference Gaussian amp·exp(-R²/2σ²) + base
    lo, dims, start, order, cell_size : the cell grid of coords (``build_cells``), with
        any cell size (neighbours within 1.9 radii[-1] are gathered from the cells in reach)
    want_profile : bool — fill the radial profile arrays

    Returns
    -------
    q : (m,) float64
    profile : (m, s + 1) float64 — mean map value at the centre and on each shell (NaN where a
        shell kept no points); shape (0, s + 1) unless want_profile
    kept : (m, s + 1) int32 — number of values behind each profile entry

    Notes
    -----
    A point x = p + R d is excluded when |x - c|² < (0.9 R)² for a neighbour c.  With w = c - p
    that is d·w > a = (R² + |w|² - (0.9 R)²) / 2R.  Each try is first screened in float32 and
    vectorised: m(d) = max over neighbours of d·w - a.  Points with m > SCREEN_BAND are excluded,
    points with m < -SCREEN_BAND are kept, and the few in between get the exact test in float64
    on absolute coordinates, as MapQ computes it — so the result is that of the exact test.
    """
    m = targets.shape[0]
    n_shell = radii.shape[0]
    tries = dir_start.shape[0] - 1
    max_try = num_points + 2 * (tries - 1)
    max_pts = num_points * (n_shell + 1) + max_try * n_shell
    q = np.zeros(m, dtype=np.float64)
    prof_rows = m if want_profile else 0
    profile = np.full((prof_rows, n_shell + 1), np.nan)
    kept_out = np.zeros((prof_rows, n_shell + 1), dtype=np.int32)
    g = np.empty(n_shell + 1)
    g[0] = amp + base
    for s in range(n_shell):
        g[s + 1] = amp * math.exp(-0.5 * (radii[s] / sigma) ** 2) + base
    reach_factor = 1.9
    cutoff = radii[-1] * reach_factor + 1e-6
    band = np.float32(SCREEN_BAND)
    r_out = radii[-1] * (1.0 + 1e-9) + 1e-9  # bounds every sample point's distance from its atom
    ox, oy, oz = origin[0], origin[1], origin[2]
    sx, sy, sz = 1.0 / voxel[0], 1.0 / voxel[1], 1.0 / voxel[2]
    nzm, nym, nxm = values.shape
    flat = values.reshape(-1)
    cap = 64
    nb_idx = np.empty(cap, dtype=np.int64)
    nb_d2 = np.empty(cap)
    sel = np.empty((cap, 3))
    w32 = np.zeros((cap + SCREEN_GROUP, 4), dtype=np.float32)  # room for the padding rows
    buf = np.empty(max_pts)
    pts = np.empty((max_try, 3))
    n_dirs = dirs.shape[0]
    dirs32 = np.zeros((3, n_dirs + SCREEN_PAD), dtype=np.float32)  # zero padding: see _screen
    for k in range(n_dirs):
        for c in range(3):
            dirs32[c, k] = dirs[k, c]
    dx32 = dirs32[0]
    dy32 = dirs32[1]
    dz32 = dirs32[2]
    screen_buf = np.empty((2, n_dirs + SCREEN_PAD), dtype=np.float32)
    worst = screen_buf[0]
    counts = np.zeros(n_shell + 1, dtype=np.int64)
    span = int(math.ceil(cutoff / cell_size - 1e-9))
    cut2 = cutoff * cutoff
    cand_idx = np.empty(512, dtype=np.int64)
    cand_xyz = np.empty((512, 3))
    n_cand = 0
    cand_cell = -1
    for t in range(m):
        a = targets[t]
        px = coords[a, 0]
        py = coords[a, 1]
        pz = coords[a, 2]
        # candidates: the atoms of the cells in reach, shared by consecutive targets of one cell
        cx = min(int((px - lo[0]) / cell_size), dims[0] - 1)
        cy = min(int((py - lo[1]) / cell_size), dims[1] - 1)
        cz = min(int((pz - lo[2]) / cell_size), dims[2] - 1)
        cell = cx + dims[0] * (cy + dims[1] * cz)
        if cell != cand_cell:
            n_cand = _gather_candidates(coords, cx, cy, cz, span, dims, start, order, cand_idx, cand_xyz)
            if n_cand < 0:
                cand_idx = np.empty(-n_cand + 64, dtype=np.int64)
                cand_xyz = np.empty((-n_cand + 64, 3))
                n_cand = _gather_candidates(coords, cx, cy, cz, span, dims, start, order, cand_idx,
                                            cand_xyz)
            cand_cell = cell
        nnb = _select_neighbours(a, px, py, pz, cut2, cand_idx, cand_xyz, n_cand, nb_idx, nb_d2)
        if nnb < 0:
            cap = -nnb + 16
            nb_idx = np.empty(cap, dtype=np.int64)
            nb_d2 = np.empty(cap)
            sel = np.empty((cap, 3))
            w32 = np.zeros((cap + SCREEN_GROUP, 4), dtype=np.float32)  # room for the padding rows
            nnb = _select_neighbours(a, px, py, pz, cut2, cand_idx, cand_xyz, n_cand, nb_idx, nb_d2)
        # neighbour rows, nearest first: the shells use prefixes of them and set only the cutoff a
        for b in range(nnb):
            j = nb_idx[b]
            sel[b, 0] = coords[j, 0]
            sel[b, 1] = coords[j, 1]
            sel[b, 2] = coords[j, 2]
            w32[b, 0] = coords[j, 0] - px
            w32[b, 1] = coords[j, 1] - py
            w32[b, 2] = coords[j, 2] - pz
        v0 = interpolate(flat, nxm, nym, nzm, ox, oy, oz, sx, sy, sz, px, py, pz)
        # every sample point within r_out of the atom in the grid's interior cells: no bounds checks
        inside = ((px - r_out - ox) * sx > 0.0 and (px + r_out - ox) * sx < nxm - 1
                  and (py - r_out - oy) * sy > 0.0 and (py + r_out - oy) * sy < nym - 1
                  and (pz - r_out - oz) * sz > 0.0 and (pz + r_out - oz) * sz < nzm - 1)
        cnt = 0
        for _ in range(num_points):
            buf[cnt] = v0
            cnt += 1
        counts[0] = num_points
        prev_try = 0
        for s in range(n_shell):
            R = radii[s]
            out_rad = R * 0.9
            out2 = out_rad * out_rad
            reach = R * reach_factor + 1e-9
            reach2 = reach * reach
            inv2r = 0.5 / R
            nsel = 0
            while nsel < nnb and nb_d2[nsel] < reach2:
                w32[nsel, 3] = (R * R + nb_d2[nsel] - out2) * inv2r
                nsel += 1
            for b in range(nsel, -(-nsel // SCREEN_GROUP) * SCREEN_GROUP):
                w32[b, 3] = SCREEN_FLOOR  # padding rows: see _screen
            counts[s + 1] = 0
            # Screen consecutive tries in groups: the first group reaches the try that succeeded on the
            # previous shell (the try needed grows with R, and every earlier try must be screened
            # anyway); later groups grow by about 1.5x.
            found = False
            t_lo = 0
            t_hi = min(prev_try + 1, tries)
            step = max(2, (prev_try + 1) // 2)
            while t_lo < tries and not found:
                k_lo = dir_start[t_lo]
                k_hi = dir_start[t_hi]
                if nsel > 0:
                    n_pad = (k_hi - k_lo + SCREEN_PAD - 1) // SCREEN_PAD * SCREEN_PAD
                    worst = screen_buf[_screen(dx32, dy32, dz32, k_lo, n_pad, w32, nsel, screen_buf)]
                for tr in range(t_lo, t_hi):
                    d0 = dir_start[tr]
                    npts = dir_start[tr + 1] - d0
                    off = d0 - k_lo
                    if nsel == 0:
                        nk = npts
                        for k in range(npts):
                            pts[k, 0] = px + dirs[d0 + k, 0] * R
                            pts[k, 1] = py + dirs[d0 + k, 1] * R
                            pts[k, 2] = pz + dirs[d0 + k, 2] * R
                    else:
                        # count first (vectorised): most tries fail and need no points
                        free = 0
                        undecided = 0
                        uo = np.uint64(off)
                        for k in range(npts):
                            wk = worst[uo + np.uint64(k)]
                            free += wk < -band
                            undecided += wk <= band
                        undecided -= free
                        nk = 0
                        if free + undecided >= num_points:
                            for k in range(npts):
                                wk = worst[off + k]
                                if wk > band:
                                    continue
                                x = px + dirs[d0 + k, 0] * R
                                y = py + dirs[d0 + k, 1] * R
                                z = pz + dirs[d0 + k, 2] * R
                                if wk >= -band:  # within float32 reach of the cutoff: exact test
                                    blocked = False
                                    for b in range(nsel):
                                        vx = x - sel[b, 0]
                                        vy = y - sel[b, 1]
                                        vz = z - sel[b, 2]
                                        if vx * vx + vy * vy + vz * vz < out2:
                                            blocked = True
                                            break
                                    if blocked:
                                        continue
                                pts[nk, 0] = x
                                pts[nk, 1] = y
                                pts[nk, 2] = z
                                nk += 1
                    if nk >= num_points:
                        if inside:
                            for k in range(nk):
                                buf[cnt] = interpolate_inside(flat, nxm, nym, ox, oy, oz, sx, sy, sz,
                                                              pts[k, 0], pts[k, 1], pts[k, 2])
                                cnt += 1
                        else:
                            for k in range(nk):
                                buf[cnt] = interpolate(flat, nxm, nym, nzm, ox, oy, oz, sx, sy, sz,
                                                       pts[k, 0], pts[k, 1], pts[k, 2])
                                cnt += 1
                        counts[s + 1] = nk
                        found = True
                        prev_try = tr
                        break
                t_lo = t_hi
                t_hi = min(t_hi + step, tries)
                step = (3 * step + 1) // 2
            if not found:
                prev_try = tries - 1
        # Pearson correlation of buf against the per-shell reference values (two passes)
        su = 0.0
        umin = buf[0]
        umax = buf[0]
        for k in range(cnt):
            u = buf[k]
            su += u
            if u < umin:
                umin = u
            if u > umax:
                umax = u
        mu = su / cnt
        sg = 0.0
        for s in range(n_shell + 1):
            sg += counts[s] * g[s]
        mg = sg / cnt
        suv = 0.0
        suu = 0.0
        svv = 0.0
        k = 0
        for s in range(n_shell + 1):
            dv = g[s] - mg
            ssum = 0.0
            for _ in range(counts[s]):
                du = buf[k] - mu
                ssum += buf[k]
                suv += du * dv
                suu += du * du
                svv += dv * dv
                k += 1
            if want_profile:
                kept_out[t, s] = counts[s]
                if counts[s] > 0:
                    profile[t, s] = ssum / counts[s]
        if umax > umin and suu > 0.0 and svv > 0.0:
            q[t] = suv / math.sqrt(suu * svv)
        else:
            q[t] = 0.0
    return q, profile, kept_out


@njit(cache=_CACHE, nogil=True)
def nearest_heavy(h_coords, h_residue, heavy_coords, heavy_sorted_by_residue, residue_start,
                  max_dist):
    """For each hydrogen, the nearest heavy atom of the same residue within ``max_dist``.

    Parameters
    ----------
    h_coords : (h, 3) float64 — the hydrogens, Å
    h_residue : (h,) int64 — their residue indices
    heavy_coords : (k, 3) float64 — the heavy atoms, Å
    heavy_sorted_by_residue : (k,) int64 — heavy-atom indices grouped by residue
    residue_start : (r + 1,) int64 — ``heavy_sorted_by_residue[residue_start[r]:residue_start[r + 1]]``
        are the heavy atoms of residue r
    max_dist : float — Å

    Returns
    -------
    (h,) int64 — index into heavy_coords, or -1
    """
    n = h_coords.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    lim = max_dist * max_dist
    for i in range(n):
        r = h_residue[i]
        best = lim
        for t in range(residue_start[r], residue_start[r + 1]):
            j = heavy_sorted_by_residue[t]
            dx = heavy_coords[j, 0] - h_coords[i, 0]
            dy = heavy_coords[j, 1] - h_coords[i, 1]
            dz = heavy_coords[j, 2] - h_coords[i, 2]
            d2 = dx * dx + dy * dy + dz * dz
            if d2 <= best:
                best = d2
                out[i] = j
    return out


__all__ = ["build_cells", "qscore_atoms", "nearest_heavy"]
