"""Electron-scattering atom densities (qscore.analysis.edensity) against gemmi's DensityCalculatorE itself."""

from __future__ import annotations

import numpy as np
import pytest

from qscore.analysis.edensity import atom_gaussians, density_radius, form_factor_coefficients, splat_density


def _gemmi_grid(pos, el, occ, b, blur, cell, shape):
    gemmi = pytest.importorskip("gemmi")
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(*cell, 90, 90, 90)
    st.spacegroup_hm = "P 1"
    model, chain, res = gemmi.Model(1), gemmi.Chain("A"), gemmi.Residue()
    res.name, res.seqid = "UNK", gemmi.SeqId(1, " ")
    for i in range(len(pos)):
        at = gemmi.Atom()
        at.element, at.pos, at.occ, at.b_iso = gemmi.Element(el[i]), gemmi.Position(*pos[i]), float(occ[i]), float(b[i])
        res.add_atom(at)
    chain.add_residue(res)
    model.add_chain(chain)
    st.add_model(model)
    dc = gemmi.DensityCalculatorE()
    dc.blur = blur
    dc.grid.set_unit_cell(st.cell)
    dc.grid.spacegroup = gemmi.SpaceGroup("P 1")
    dc.grid.set_size(*shape)
    dc.put_model_density_on_grid(st[0])
    return np.asarray(dc.grid).astype(np.float64)


@pytest.mark.parametrize("threads", [1, 3])
def test_densities_match_gemmi_including_atoms_that_wrap_around_the_cell(threads):
    rng = np.random.default_rng(0)
    cell, shape = np.array([30.0, 33.0, 27.0]), (60, 66, 54)
    pos = rng.uniform(0, cell, (800, 3))
    pos[:20] = rng.uniform(0, 1.0, (20, 3))  # next to the cell's corner: their densities wrap to every face
    el = rng.choice(["C", "N", "O", "S", "FE", "P"], len(pos))
    occ, b = rng.uniform(0.3, 1.0, len(pos)), rng.uniform(0.0, 90.0, len(pos))
    want = _gemmi_grid(pos, el, occ, b, 4.0, cell, shape)
    a, bb = form_factor_coefficients(el)
    amp, expo = atom_gaussians(a, bb, b, 4.0)
    got = splat_density(pos, occ, amp, expo, density_radius(amp, expo), cell / np.array(shape), shape,
                        threads=threads)
    assert np.abs(got - want).max() < 2e-5 * want.max()  # gemmi sums in float32 and cuts a little further out
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 1 - 1e-8


def test_the_radius_is_where_the_density_falls_to_the_cutoff():
    a, b = form_factor_coefficients(["C", "FE"])
    amp, expo = atom_gaussians(a, b, np.array([20.0, 60.0]), 0.0)
    r = density_radius(amp, expo, 1e-5)
    rho = (amp * np.exp(-expo * r[:, None] ** 2)).sum(axis=1)
    assert np.allclose(rho, 1e-5, rtol=1e-6) and r[1] > r[0] > 2.0


def test_radii_on_threads_are_those_of_one_thread():
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0.1, 2.0, (1001, 5)), rng.uniform(0.5, 40.0, (1001, 5))
    amp, expo = atom_gaussians(a, b, rng.uniform(0.0, 200.0, 1001), 70.0)
    one = density_radius(amp, expo)
    assert np.array_equal(density_radius(amp, expo, threads=3), one) and one.min() > 0
