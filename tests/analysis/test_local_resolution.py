"""Local resolution (qscore.analysis.local_resolution): interpolation, masks, the check of the values, readings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import gaussian_map
from qscore.analysis.expected import curve_for
from qscore.analysis.local_resolution import (
    READINGS,
    _consistency,
    add_local_readings,
    check_local_resolution,
    check_side_chain_resolution,
    local_resolution_at,
    residue_local_resolution,
)
from qscore.errors import InputFileError, ParameterError
from qscore.types import Atoms, DensityMap

ORIGIN, VOXEL = np.array([-3.0, 2.0, 5.0]), np.array([0.9, 1.1, 1.3])


def _grid(values) -> DensityMap:
    return DensityMap(values=np.asarray(values, dtype=np.float32), origin=ORIGIN, voxel_size=VOXEL)


def _linear(shape=(6, 7, 8)):
    nz, ny, nx = shape
    z, y, x = np.meshgrid(*(ORIGIN[i] + VOXEL[i] * np.arange(n) for i, n in ((2, nz), (1, ny), (0, nx))),
                          indexing="ij")
    return 2.0 + 0.1 * x + 0.2 * y + 0.05 * z


def test_trilinear_interpolation_reproduces_a_linear_field_exactly():
    values = _linear()
    dmap = _grid(values)
    rng = np.random.default_rng(0)
    lo, hi = dmap.extent
    pts = rng.uniform(lo, hi, size=(200, 3))
    got, outside = local_resolution_at(dmap, pts)
    want = 2.0 + 0.1 * pts[:, 0] + 0.2 * pts[:, 1] + 0.05 * pts[:, 2]
    assert not outside.any()
    np.testing.assert_allclose(got, want, atol=2e-6)  # float32 grid values
    corner, _ = local_resolution_at(dmap, [hi])  # the last grid point itself
    assert corner[0] == pytest.approx(float(values[-1, -1, -1]), abs=1e-6)


def test_points_outside_the_box_have_no_value_and_are_flagged():
    dmap = _grid(np.full((4, 4, 4), 3.0))
    lo, hi = dmap.extent
    got, outside = local_resolution_at(dmap, [lo - 0.5, (lo + hi) / 2, hi + [0, 0, 0.01]])
    assert outside.tolist() == [True, False, True] and np.isnan(got[[0, 2]]).all() and got[1] == pytest.approx(3.0)


@pytest.mark.parametrize("masked", [0.0, np.nan, 100.0, -1.0, 0.3, 250.0])
def test_masked_corners_are_left_out_not_blended(masked):
    values = np.full((4, 4, 4), 3.0)
    values[1, 1, 1] = masked
    dmap = _grid(values)
    point = ORIGIN + VOXEL * np.array([1.4, 1.3, 1.2])  # x, y, z: a cell with corner (1, 1, 1) (z, y, x)
    got, _ = local_resolution_at(dmap, [point])
    assert got[0] == pytest.approx(3.0)  # renormalised over the 7 corners with a value
    values[:] = masked
    got, outside = local_resolution_at(_grid(values), [point])
    assert np.isnan(got[0]) and not outside[0]


def test_the_check_counts_missing_values_and_refuses_densities():
    values = np.zeros((10, 10, 10))
    values[2:8, 2:8, 2:8] = 3.5
    values[2, 2, 2] = np.nan
    summary = check_local_resolution(_grid(values))
    assert summary["valid"] == 215 and summary["missing"] == 785 and summary["median"] == pytest.approx(3.5)
    coords = np.array([[5.0, 5.0, 5.0], [8.0, 6.0, 7.0]])
    density = gaussian_map(coords, noise=0.05)  # values around 0 and below 1, half of them negative
    with pytest.raises(InputFileError, match="looks like a density map, not local resolutions"):
        check_local_resolution(density)
    with pytest.raises(InputFileError, match="no value in 0.5–100 Å"):
        check_local_resolution(_grid(np.zeros((3, 3, 3))))


def _atoms(res_of_atom, heavy=None):
    n = len(res_of_atom)
    return Atoms(coords=np.zeros((n, 3)), element=np.array(["C"] * n), name=np.array(["CA"] * n),
                 altloc=np.array([""] * n), res_name=np.array(["ALA"] * n), chain=np.array(["A"] * n),
                 res_num=np.asarray(res_of_atom) + 1, ins_code=np.array([""] * n), residue=np.asarray(res_of_atom),
                 mol_type=np.array(["protein"] * n),
                 is_hydrogen=np.zeros(n, bool) if heavy is None else ~np.asarray(heavy), row=np.arange(n),
                 b_iso=np.zeros(n))


def test_residue_medians_skip_atoms_without_a_value_and_hydrogens():
    atoms = _atoms([0, 0, 0, 1, 1, 2], heavy=[True, True, False, True, True, True])
    med, missing = residue_local_resolution(atoms, np.array([2.0, 4.0, 99.0, np.nan, 5.0, np.nan]))
    assert med[0] == 3.0 and med[1] == 5.0 and np.isnan(med[2])
    assert missing.tolist() == [0, 1, 1]


def test_each_reading_follows_its_rule():
    curve = curve_for(0.4)
    band = {d: curve.evaluate(d) for d in (2.0, 6.0)}
    rows = [  # (local res, Q, mol_type, status, expected reading)
        (2.0, band[2.0]["Q_peak"], "protein", "scored", "as expected"),
        (2.0, band[2.0]["Q_low95"] - 0.1, "protein", "scored", "possible misfit"),
        (6.0, band[6.0]["Q_low95"] - 0.1, "protein", "scored", "not resolved"),
        (6.0, band[6.0]["Q_peak"], "protein", "scored", "not resolved"),
        (6.0, band[6.0]["Q_high95"] + 0.1, "protein", "scored", "possible over-fitting or noise"),
        (2.0, band[2.0]["Q_high95"] + 0.05, "ligand", "scored", "possible over-fitting or noise"),
        (2.0, 0.5, "water", "scored", ""),
        (2.0, 0.1, "protein", "outside map", "outside map"),
        (np.nan, 0.5, "protein", "scored", "no local resolution"),
        (30.0, 0.1, "protein", "scored", "outside the curve's range"),
    ]
    t = pd.DataFrame({"local_res": [r[0] for r in rows], "Q_residue": [r[1] for r in rows],
                      "mol_type": [r[2] for r in rows], "status": [r[3] for r in rows]})
    out = add_local_readings(t, curve, 4.0)
    assert out["reading"].tolist() == [r[4] for r in rows]
    assert out.loc[0, "Q_peak_local"] == pytest.approx(band[2.0]["Q_peak"])
    assert out.loc[1, "Q_flag_local"] == "below" and out.loc[4, "Q_flag_local"] == "above"
    assert np.isnan(out.loc[9, "Q_low95_local"])  # no band outside the fitted range
    assert set(READINGS) <= set(out["reading"])
    at_5 = add_local_readings(t, curve, 7.0)  # a looser threshold: 6 Å counts as resolved
    assert at_5.loc[2, "reading"] == "possible misfit" and at_5.loc[3, "reading"] == "as expected"


def test_disagreements_beyond_the_margin_are_noted():
    values, notes = _consistency(3.0, 3.4, 4.6)
    assert values == {"reported": 3.0, "q_resolution": 3.4, "median_local": 4.6, "margin": 1.0}
    assert len(notes) == 2 and "may not represent the map" in notes[0] and "1.60 Å" in notes[0]
    assert _consistency(3.0, None, 3.5)[1] == []


@pytest.mark.parametrize("bad", [0.5, 12.0, float("nan"), None])
def test_a_side_chain_threshold_outside_1_to_10_A_is_refused(bad):
    with pytest.raises(ParameterError, match="side_chain_resolution="):
        check_side_chain_resolution(bad)
