"""The kernels against the slow, obvious implementation, and their building blocks."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import gaussian_map
from qscore.core import kernels
from qscore.core.engine import assign_hydrogens, compute_qscores, emdb_compatible_map
from qscore.core.spiral import spiral_directions, spiral_table
from qscore.core.trilinear import interpolate_points
from qscore.errors import ParameterError
from qscore.types import QParams
from slow_reference import qscore_slow, spiral, trilinear


def test_spiral_matches_definition():
    for n in (8, 9, 10, 50, 106):
        d = spiral_directions(n)
        assert np.allclose(d, spiral(n), atol=1e-15)
        assert np.allclose(np.linalg.norm(d, axis=1), 1.0)
        assert np.allclose(d[0], [0, 0, -1]) and np.allclose(d[-1], [0, 0, 1])


def test_spiral_table_layout():
    dirs, start = spiral_table(8, 50)
    assert len(start) == 51 and start[-1] == len(dirs)
    assert [start[i + 1] - start[i] for i in (0, 1, 49)] == [8, 10, 106]


def test_interpolation_matches_slow_trilinear():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(5, 6, 7)).astype(np.float32)
    origin, voxel = np.array([1.0, -2.0, 0.5]), np.array([0.75, 1.25, 0.5])
    pts = origin + rng.uniform(-1.5, 8.0, size=(500, 3)) * voxel
    corners = origin + np.array([[6, 5, 4], [0, 0, 0], [6, 0, 4]]) * voxel  # exactly on the last planes
    pts = np.vstack([pts, corners])
    got = interpolate_points(values, origin, voxel, pts)
    want = [trilinear(values, origin, voxel, p) for p in pts]
    assert np.allclose(got, want, rtol=0, atol=1e-12)
    assert got[-3] == pytest.approx(values[4, 5, 6]) and got[-2] == pytest.approx(values[0, 0, 0])


@pytest.mark.parametrize("nsel", [1, 2, 3, 4, 5, 8, 11])
def test_screen_is_the_float32_maximum_over_neighbours(nsel):
    """The screen's passes of SCREEN_GROUP neighbours, padding rows and two buffer rows give exactly the
    maximum of d·w - a over the neighbours, each computed in float32 as one expression."""
    rng = np.random.default_rng(nsel)
    n_dirs, k0, n = 70, 5, 48
    d = rng.normal(size=(3, n_dirs + kernels.SCREEN_PAD)).astype(np.float32)
    rows = -(-nsel // kernels.SCREEN_GROUP) * kernels.SCREEN_GROUP
    w32 = rng.normal(scale=3.0, size=(rows + 3, 4)).astype(np.float32)  # rows past the padding: never read
    w32[nsel:rows, 3] = kernels.SCREEN_FLOOR
    buf = np.full((2, n_dirs + kernels.SCREEN_PAD), np.nan, dtype=np.float32)
    got = buf[kernels._screen(d[0], d[1], d[2], k0, n, w32, nsel, buf)][:n]
    dk = d[:, k0:k0 + n]
    terms = np.stack([dk[0] * w[0] + dk[1] * w[1] + dk[2] * w[2] - w[3] for w in w32[:nsel]])
    assert np.array_equal(got, terms.max(axis=0))
    pad = np.float32(1.0) * 2.5 - np.float32(kernels.SCREEN_FLOOR)  # what a padding row gives
    assert pad == -np.float32(kernels.SCREEN_FLOOR)


_AVX2_SCREEN_ASM = """
import numpy as np, llvmlite.binding as llvm, os, sys
from numba import njit
from qscore.core import kernels
screen = njit(nogil=True, fastmath={"nnan", "nsz"})(kernels._screen.py_func)
d = np.zeros(64, np.float32)
screen(d, d, d, 0, 32, np.zeros((4, 4), np.float32), 4, np.zeros((2, 64), np.float32))
sys.stdout.write("".join(screen.inspect_asm().values()))
"""


def test_screen_has_no_masked_stores_in_avx2_code(tmp_path):
    """AVX2's only masked store (vmaskmovps) made the screen 2-3x slower on AMD Zen (docs/architecture.md):
    the screen's AVX2 build, made in a process whose numba targets this CPU without AVX-512, has none."""
    import os
    import subprocess
    import sys

    llvm = pytest.importorskip("llvmlite.binding")
    features = llvm.get_host_cpu_features()
    if not features.get("avx2"):
        pytest.skip("this CPU has no AVX2")
    wide = ("avx512", "avx10", "amx", "evex512")
    flags = ",".join(("-" if f.startswith(wide) or not on else "+") + f for f, on in sorted(features.items()))
    env = dict(os.environ, NUMBA_CPU_NAME=llvm.get_host_cpu_name(), NUMBA_CPU_FEATURES=flags,
               NUMBA_CACHE_DIR=str(tmp_path))
    asm = subprocess.run([sys.executable, "-c", _AVX2_SCREEN_ASM], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert "ymm" in asm, "expected AVX2 (ymm) vector code"
    assert "zmm" not in asm, "expected no AVX-512 code"
    assert "vmaskmov" not in asm


def test_kernel_agrees_with_slow_reference(small_system):
    coords, dmap = small_system
    got = compute_qscores(coords, np.zeros(len(coords), bool), np.arange(len(coords)), dmap,
                          QParams(sigma=0.6))["q"]
    want = qscore_slow(coords, dmap.values, dmap.origin, dmap.voxel_size, sigma=0.6)
    assert np.max(np.abs(got - want)) < 1e-9


def test_kernel_agrees_with_slow_reference_on_real_atoms(cec):
    from qscore.io.maps import read_map
    from qscore.io.models import read_model

    atoms = read_model(cec["model100"]).atoms
    dmap = read_map(cec["map"])
    got = compute_qscores(atoms.coords, atoms.is_hydrogen, atoms.residue, dmap, QParams(sigma=0.4))["q"]
    want = qscore_slow(atoms.coords, dmap.values, dmap.origin, dmap.voxel_size, sigma=0.4)
    assert np.max(np.abs(got - want)) < 1e-9


def test_dense_cluster_needs_retries_and_sparse_shells():
    """Atoms packed so tightly that outer shells need many tries, or find no 8 points at all."""
    g = np.stack(np.meshgrid(*[np.arange(4) * 1.1] * 3, indexing="ij"), -1).reshape(-1, 3) + 5.0
    dmap = gaussian_map(g, shape=(30, 30, 30), voxel=(0.5, 0.5, 0.5), origin=(0, 0, 0), noise=0.01)
    got = compute_qscores(g, np.zeros(len(g), bool), np.arange(len(g)), dmap, QParams(sigma=0.6),
                          profiles=True)
    want = qscore_slow(g, dmap.values, dmap.origin, dmap.voxel_size, sigma=0.6)
    assert np.max(np.abs(got["q"] - want)) < 1e-9
    assert (got["kept"][:, 1:] == 0).any(), "expected some shells with no 8 free points"
    assert (got["kept"][:, 1:] > 8).any(), "expected some shells decided by a later try"


def test_zero_variance_samples_give_zero():
    dmap = gaussian_map(np.empty((0, 3)), shape=(10, 10, 10), voxel=(1, 1, 1), origin=(0, 0, 0))
    dmap.values[:] = 0
    dmap.values[0, 0, 0] = 1  # the map has variance, the samples around the atom do not
    q = compute_qscores(np.array([[5.0, 5.0, 5.0]]), np.array([False]), np.array([0]), dmap)["q"]
    assert q[0] == 0.0


def test_atom_outside_map_scores_zero():
    dmap = gaussian_map(np.array([[5.0, 5.0, 5.0]]), shape=(10, 10, 10), voxel=(1, 1, 1), origin=(0, 0, 0))
    q = compute_qscores(np.array([[100.0, 5.0, 5.0]]), np.array([False]), np.array([0]), dmap)["q"]
    assert q[0] == 0.0


def test_hydrogens_take_the_q_of_their_heavy_atom():
    coords = np.array([[5.0, 5.0, 5.0], [6.0, 5.0, 5.0], [9.0, 9.0, 9.0], [5.0, 5.0, 7.5]])
    is_h = np.array([False, True, False, True])
    residue = np.array([0, 0, 1, 0])
    src = assign_hydrogens(coords, is_h, residue)
    assert src.tolist() == [0, -1]  # the second H is 2.5 Å away: no heavy atom within 1.3 Å
    dmap = gaussian_map(coords[~is_h], shape=(16, 16, 16), voxel=(1, 1, 1), origin=(0, 0, 0), noise=0.02)
    q = compute_qscores(coords, is_h, residue, dmap)["q"]
    assert q[1] == q[0] and np.isnan(q[3])
    # hydrogens are not neighbours: the heavy atoms' Q is what it is without them
    q2 = compute_qscores(coords[~is_h], np.zeros(2, bool), residue[~is_h], dmap)["q"]
    assert np.array_equal(q[~is_h], q2)


def test_subset_scores_only_its_atoms_with_whole_model_values(small_system):
    coords, dmap = small_system
    coords = coords.copy()
    coords[3] = coords[2] + [1.0, 0.0, 0.0]  # two hydrogens, bonded to atoms 2 and 10
    coords[11] = coords[10] + [0.0, 1.0, 0.0]
    is_h = np.zeros(len(coords), bool)
    is_h[[3, 11]] = True
    residue = np.arange(len(coords))
    residue[3], residue[11] = 2, 10
    whole = compute_qscores(coords, is_h, residue, dmap, profiles=True)
    subset = np.zeros(len(coords), bool)
    subset[[2, 3, 11, 25, 39]] = True
    part = compute_qscores(coords, is_h, residue, dmap, profiles=True, subset=subset, chunk_size=2)
    heavy_in = subset & ~is_h
    assert np.array_equal(part["q"][heavy_in], whole["q"][heavy_in])
    assert np.array_equal(part["profile"][heavy_in], whole["profile"][heavy_in], equal_nan=True)
    assert np.isnan(part["q"][~subset & ~is_h]).all()
    assert part["q"][3] == whole["q"][2] and np.isnan(part["q"][11])  # hydrogens follow their heavy atom
    with pytest.raises(ParameterError, match="mask of the model's"):
        compute_qscores(coords, is_h, residue, dmap, subset=subset[:-1])


def test_parameters_are_validated():
    with pytest.raises(ParameterError, match="sigma"):
        QParams(sigma=-1)
    with pytest.raises(ParameterError, match="num_points"):
        QParams(num_points=1)
    assert len(QParams().radii()) == 20 and QParams().radii()[-1] == pytest.approx(2.0)


def test_threads_give_identical_results(small_system):
    from qscore.core.engine import set_threads

    coords, dmap = small_system
    args = (coords, np.zeros(len(coords), bool), np.arange(len(coords)), dmap)
    set_threads(1)
    one = compute_qscores(*args, chunk_size=7)["q"]
    set_threads(2)
    two = compute_qscores(*args, chunk_size=7)["q"]
    set_threads(None)
    assert np.array_equal(one, two)


def test_emdb_compatible_map_shifts_by_the_origin_fraction():
    dmap = gaussian_map(np.array([[5.0, 5.0, 5.0]]), shape=(12, 12, 12), voxel=(1.0, 1.0, 1.0),
                        origin=(0.25, 0.0, -0.4))
    out = emdb_compatible_map(dmap)
    assert np.allclose(out.origin, [0.0, 0.0, 0.0])
    # the resampled grid point i lies at the new origin + i: its value is the old map's value there
    pts = out.origin + np.array([[3, 4, 5], [6, 6, 6], [2, 7, 3]], dtype=float)
    want = interpolate_points(dmap.values, dmap.origin, dmap.voxel_size, pts)
    got = out.values[pts[:, 2].astype(int), pts[:, 1].astype(int), pts[:, 0].astype(int)]
    assert np.allclose(got, want, atol=1e-6)
    on_grid = gaussian_map(np.array([[5.0, 5.0, 5.0]]), shape=(8, 8, 8), voxel=(1, 1, 1), origin=(2, 3, 4))
    assert emdb_compatible_map(on_grid) is on_grid
