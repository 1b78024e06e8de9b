"""Invariances of Q (hypothesis): map scale/offset, joint translation, axis order, origin convention."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import gaussian_map
from qscore.core.engine import compute_qscores
from qscore.io.maps import read_map, write_map
from qscore.types import DensityMap, QParams

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def q_of(coords, dmap, sigma=0.4):
    n = len(coords)
    return compute_qscores(coords, np.zeros(n, bool), np.arange(n), dmap, QParams(sigma=sigma))["q"]


def system(seed, n=25):
    rng = np.random.default_rng(seed)
    coords = rng.uniform(5.0, 18.0, size=(n, 3))
    # voxel sizes and origin exactly representable in float32, as an MRC header stores them
    return coords, gaussian_map(coords, shape=(30, 40, 34), voxel=(0.75, 0.625, 0.75), origin=(0.5, 0.25, -0.25),
                                noise=0.05, seed=seed)


@SETTINGS
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0), offset=st.floats(-10.0, 10.0))
def test_q_is_invariant_to_map_scale_and_offset(seed, scale, offset):
    coords, dmap = system(seed)
    scaled = DensityMap(values=dmap.values.astype(np.float64) * scale + offset, origin=dmap.origin,
                        voxel_size=dmap.voxel_size)
    assert np.max(np.abs(q_of(coords, dmap) - q_of(coords, scaled))) < 1e-4


@SETTINGS
@given(seed=st.integers(0, 10_000), shift=st.tuples(*[st.floats(-200.0, 200.0)] * 3))
def test_q_is_invariant_to_translating_model_and_map_together(seed, shift):
    coords, dmap = system(seed)
    t = np.array(shift)
    moved = DensityMap(values=dmap.values, origin=dmap.origin + t, voxel_size=dmap.voxel_size)
    assert np.max(np.abs(q_of(coords, dmap) - q_of(coords + t, moved))) < 1e-7


@SETTINGS
@given(seed=st.integers(0, 10_000), order=st.permutations([1, 2, 3]), nstart=st.booleans())
def test_q_is_the_same_whatever_the_file_layout(tmp_path_factory, seed, order, nstart):
    coords, dmap = system(seed)
    on_lattice = DensityMap(values=dmap.values, origin=np.array([1.0, 0.0, -1.0]) * dmap.voxel_size,
                            voxel_size=dmap.voxel_size)
    path = tmp_path_factory.mktemp("maps") / "m.mrc"
    write_map(path, on_lattice, axis_order=tuple(order), use_nstart=nstart)
    back = read_map(path)
    assert np.array_equal(q_of(coords, on_lattice), q_of(coords, back))
