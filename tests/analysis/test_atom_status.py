"""Atoms outside the map or in no density are never read as badly fitted (issue 13, item 3).

A model half inside a map: the residues outside get the flag 'outside map', not 'below'; they are kept
out of the flag counts, the worst residues and the default profile atoms; averages stay MapQ's (every
atom) with the mean over the scored atoms beside them.  A map zeroed over part of the model (as a zoned
map is) gives those atoms MapQ's Q = 0 and the status 'no density'.
"""

from __future__ import annotations

import numpy as np
import pytest

import qscore
from conftest import gaussian_map
from qscore.analysis.groups import ATOM_STATUSES, atom_status
from qscore.io.models import atoms_from_arrays
from qscore.report.plots import select_profile_atoms
from qscore.types import Model


def _chain(n_residues: int, start_x: float) -> tuple:
    """A straight 'protein' of n residues (N, CA, C) along x, 1.5 Å apart."""
    names, nums, coords = [], [], []
    for r in range(n_residues):
        for k, name in enumerate(("N", "CA", "C")):
            names.append(name)
            nums.append(r + 1)
            coords.append([start_x + 1.5 * (3 * r + k), 10.0, 10.0])
    return np.array(coords), names, nums


@pytest.fixture(scope="module")
def half_outside():
    """10 residues, the last 4 beyond the map's box (x > 26 Å)."""
    coords, names, nums = _chain(10, 2.0)
    dmap = gaussian_map(coords[coords[:, 0] < 26], shape=(30, 30, 30), voxel=(0.9, 0.9, 0.9), origin=(0, 0, 0),
                        noise=0.02)
    atoms = atoms_from_arrays(coords, element=[n[0] for n in names], name=names, res_num=nums,
                              res_name=["ALA"] * len(names), mol_type=["protein"] * len(names))
    model = Model(path="half.cif", format="mmcif", atoms=atoms)
    return qscore.score(model, dmap, resolution=2.5)


def test_atom_status_rule():
    q = np.array([0.5, 0.0, 0.0, np.nan])
    outside = np.array([False, False, True, False])
    assert list(atom_status(q, outside, np.zeros(4, bool))) == ["scored", "no density", "outside map", "scored"]
    assert set(ATOM_STATUSES) == {"scored", "outside map", "no density"}


def test_residues_outside_the_map_are_flagged_so_not_below(half_outside):
    r = half_outside
    a = r.analyse()
    res = a.residues
    out = res["n_outside_map"] > 0
    assert out.sum() >= 3 and (res.loc[out, "Q_flag"] == "outside map").all()
    assert not (res.loc[out, "Q_flag"] == "below").any()
    assert a.flag_counts.residues_outside_map == int(out.sum())
    assert a.flag_counts.residues_below == int((res["Q_flag"] == "below").sum())  # only scored ones counted
    assert (a.worst_residues()["status"] == "scored").all()
    assert set(a.worst_residues()["res_num"]).isdisjoint(set(res.loc[out, "res_num"]))


def test_averages_stay_mapq_and_the_inside_mean_is_given(half_outside):
    r = half_outside
    model = r.analyse().model
    heavy = ~r.atoms.is_hydrogen
    assert model["Q"].iloc[0] == pytest.approx(r.q[heavy].mean())  # MapQ's: every atom
    inside = r.status == "scored"
    assert model["Q_inside"].iloc[0] == pytest.approx(r.q[inside].mean()) == pytest.approx(r.mean_q_inside())
    assert model["n_outside_map"].iloc[0] == int(r.outside.sum())
    assert model["Q_flag"].iloc[0] == "outside map"  # 40% of the model is outside: the model is not judged
    s = r.summary()
    assert s["counts"]["outside_map"] == int(r.outside.sum()) and s["mean_q_inside_map"] == pytest.approx(
        r.mean_q_inside())
    assert list(r.atom_table()["status"]) == list(r.status)


def test_default_profile_atoms_are_never_outside_the_map(half_outside):
    r = half_outside
    picks = select_profile_atoms(r.atoms, r.q, status=r.status)
    assert picks and all(r.status[i] == "scored" for i in picks)


def test_a_zoned_map_gives_no_density_not_a_bad_fit():
    coords, names, nums = _chain(5, 3.0)
    dmap = gaussian_map(coords, shape=(30, 30, 30), voxel=(0.9, 0.9, 0.9), origin=(0, 0, 0), noise=0.01)
    x = dmap.origin[0] + dmap.voxel_size[0] * np.arange(dmap.values.shape[2])
    dmap.values[:, :, x > 16.0] = 0.0  # zoned: zeros beyond 16 Å
    atoms = atoms_from_arrays(coords, element=[n[0] for n in names], name=names, res_num=nums,
                              res_name=["GLY"] * len(names), mol_type=["protein"] * len(names))
    r = qscore.score(Model(path="z.cif", format="mmcif", atoms=atoms), dmap, resolution=2.5)
    nod = r.status == "no density"
    assert nod.any() and (r.q[nod] == 0).all() and not r.outside.any()
    res = r.analyse().residues
    assert set(res.loc[res["n_no_density"] > 0, "Q_flag"]) == {"no density"}
