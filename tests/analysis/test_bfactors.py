"""B-factors from Q (SPEC §7): the f scan on synthetic maps with known B patterns, real data, files, CLI."""

from __future__ import annotations

import json

import gemmi
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_correlation import reference_emodel_map

from conftest import APO, need
from qscore.analysis.bfactors import bfactors_from_q, scan_bfactors, scan_factors
from qscore.cli import main
from qscore.errors import ParameterError
from qscore.io.models import atoms_from_arrays
from qscore.io.writers import write_mmcif_with_b


def test_b_from_q_is_clamped_at_zero_and_missing_q_counts_as_zero():
    b = bfactors_from_q([1.0, 0.5, -0.2, 1.3, np.nan], 100.0)
    assert np.allclose(b, [0.0, 50.0, 120.0, 0.0, 100.0])


def test_scan_factors():
    assert np.array_equal(scan_factors(), np.arange(0, 301, 20))
    assert np.array_equal(scan_factors(50, 100, 25), [50, 75, 100])
    assert np.array_equal(scan_factors(0, 90, 20), [0, 20, 40, 60, 80])
    for args, word in (((-1, 300, 20), "0 ≤ f_min"), ((100, 50, 20), "0 ≤ f_min"), ((0, 300, 0), "must be > 0"),
                       ((0, 1e6, 1), "at most 1000"), ((0, np.inf, 20), "finite")):
        with pytest.raises(ParameterError, match=word):
            scan_factors(*args)


@pytest.fixture(scope="module")
def helix():
    from conftest import helix_coordinates

    atoms = helix_coordinates(12)
    return np.array([a[3] for a in atoms]), np.array([a[2] for a in atoms])


@pytest.mark.parametrize("f0, resolution", [(60.0, 3.5), (120.0, 2.5), (200.0, 3.0)])
def test_scan_finds_the_f_that_made_the_b_pattern(helix, f0, resolution):
    """A map built (by gemmi's own FFT path, plus 2% noise) from B = f0·(1 − q): the scan finds f0, and
    CC-mean with those B-factors beats B = 0."""
    coords, elements = helix
    rng = np.random.default_rng(int(f0))
    q = np.linspace(0.9, 0.2, len(coords)) + rng.normal(0, 0.05, len(coords))
    dmap, xyz = reference_emodel_map(coords, elements, bfactors_from_q(q, f0), resolution)
    dmap.values += rng.normal(0, 0.02 * float(dmap.values.max()), dmap.values.shape).astype(np.float32)
    scan = scan_bfactors(atoms_from_arrays(xyz, elements), q, dmap, resolution)
    assert abs(scan.best_f - f0) <= 20.0  # observed: exactly f0
    assert scan.cc_mean.max() > scan.cc_mean_b0 + 0.01
    assert np.allclose(scan.b_iso, bfactors_from_q(q, scan.best_f))
    assert scan.cc_mean_b0 == scan.cc_mean[0] and len(scan.table()) == 16 and scan.table()["best"].sum() == 1


def test_scan_on_the_demo_map_with_real_q_improves_over_b0(tmp_path):
    import qscore
    from conftest import build_demo

    inputs = build_demo(tmp_path, n_residues=12)  # B rises 20 -> 120 Å² along the helix
    result = qscore.score(inputs["model"], inputs["map"], resolution=2.5)
    scan = scan_bfactors(result.atoms, result.q, result.dmap, 2.5, f_min=20.0, f_max=320.0, f_step=30.0)
    assert scan.factors[0] == 20.0 and np.isfinite(scan.cc_mean_b0)  # B = 0 computed apart when f-min > 0
    assert scan.cc_mean.max() > scan.cc_mean_b0 + 0.03  # observed 0.959 against 0.896
    assert 110.0 <= scan.best_f <= 290.0  # observed 200: B from 16 to 107 Å² where the map has 20 to 120
    assert np.corrcoef(scan.b_iso, result.atoms.b_iso)[0, 1] > 0.8  # and the B pattern follows the true one


def test_mmcif_with_new_bfactors_round_trips(cec, tmp_path):
    import qscore

    model = qscore.read_model(cec["model100"])
    b = np.linspace(1.0, 99.0, len(model.atoms))
    write_mmcif_with_b(tmp_path / "b.cif", model, b)
    st = gemmi.read_structure(str(tmp_path / "b.cif"))
    got = np.array([cra.atom.b_iso for cra in st[0].all()])
    assert np.allclose(got, np.round(b, 2))
    assert qscore.read_model(cec["model100"]).atoms.b_iso[0] == model.atoms.b_iso[0]  # the input is untouched


def test_apoferritin_scan_end_to_end_improves_cc_mean(tmp_path):
    need(APO)
    model = APO / "3ajo_fitted_refined.pdb"
    res = CliRunner().invoke(main, ["bfactors", str(model), str(APO / "emd20026_prot.mrc"), "-r", "1.75",
                                    "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    stem = tmp_path / "3ajo_fitted_refined__Q__emd20026_prot"
    summary = json.loads(open(f"{stem}_bfactors.json").read())
    assert summary["cc_mean_best"] > summary["cc_mean_b0"] + 0.02  # observed 0.809 against 0.758
    assert 0 < summary["best_f"] < 300
    scan = pd.read_csv(f"{stem}_bfactor_scan.csv")
    assert len(scan) == 16 and scan.loc[scan["best"], "f"].item() == summary["best_f"]
    for suffix in ("_bfactors.cif", "_bfactors.pdb", "_bfactor_scan.png", "_bfactor_scan.svg"):
        assert (tmp_path / f"{stem.name}{suffix}").stat().st_size > 1000
    st = gemmi.read_structure(f"{stem}_bfactors.pdb")
    b = np.array([cra.atom.b_iso for cra in st[0].all()])
    assert b.min() >= 0 and b.max() <= summary["best_f"] * 2 and abs(b.mean() - summary["b_iso"]["mean"]) < 0.01
    assert "<- best" in res.output and "with B = 0" in res.output


@pytest.mark.parametrize("args, word", [(["-r", "1.5"], "finer than twice the voxel size"),
                                        (["-r", "3.9", "--f-step", "0"], "--f-step 0 Å² must be > 0"),
                                        (["-r", "3.9", "--max-memory", "0.000001"], "needs about"),
                                        (["-r", "3.9", "--atoms"], "No such option")])
def test_cli_bfactors_bad_input_writes_nothing(cec, tmp_path, args, word):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["bfactors", str(cec["model100"]), str(cec["map"]), *args, "-o", str(out)])
    assert res.exit_code == 2 and word in res.output
    assert not out.exists() or not any(out.iterdir())
