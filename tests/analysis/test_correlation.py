"""Map–model correlation (SPEC §8): molmap kernel against a slow reference, the electron-scattering model map
against gemmi's own FFT path, bad inputs and the CLI ``cc`` command."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import gaussian_map
from qscore.analysis.cc_core import (
    atomic_numbers,
    check_model_resolution,
    correlations,
    occupancy_weights,
    pair_sums,
    pool,
)
from qscore.analysis.correlation import map_model_correlation, molmap, molmap_correlation
from qscore.analysis.emodel import EModel, emodel_correlation
from qscore.cli import main
from qscore.errors import ModelError, ParameterError
from qscore.io.models import atoms_from_arrays
from qscore.types import DensityMap

ELEMENTS = np.array(["C", "N", "O", "S", "FE"])


def slow_molmap_grid(coords, z, resolution, weights=None):
    """ChimeraX's molmap, summed the obvious way over the whole grid: (values zyx, origin, step)."""
    step, pad, sigma = resolution / 3, 3 * resolution, resolution / (math.pi * math.sqrt(2))
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    shape = [int(math.ceil((hi[a] - lo[a] + 2 * pad) / step)) for a in (2, 1, 0)]
    origin = lo - pad
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    values = np.zeros(shape)
    sd = sigma / step
    weights = np.ones(len(z)) if weights is None else weights
    for c, zz, w in zip((coords - origin) / step, z, weights, strict=True):
        inside = (np.abs(i - c[0]) <= 5 * sd) & (np.abs(j - c[1]) <= 5 * sd) & (np.abs(k - c[2]) <= 5 * sd)
        r2 = (i - c[0]) ** 2 + (j - c[1]) ** 2 + (k - c[2]) ** 2
        values += np.where(inside, zz * w * (2 * math.pi) ** -1.5 * sigma ** -3 * np.exp(-0.5 * r2 / sd ** 2), 0)
    return values, origin, step


def slow_interpolate(dmap, points):
    """Trilinear interpolation, written out; 0 outside the grid (as Chimera)."""
    nz, ny, nx = dmap.values.shape
    g = (points - dmap.origin) / dmap.voxel_size
    out = np.zeros(len(points))
    for p, (x, y, z) in enumerate(g):
        if not (0 <= x <= nx - 1 and 0 <= y <= ny - 1 and 0 <= z <= nz - 1):
            continue
        i, j, k = min(int(x), nx - 2), min(int(y), ny - 2), min(int(z), nz - 2)
        fx, fy, fz = x - i, y - j, z - k
        v = dmap.values.astype(np.float64)
        out[p] = sum(v[k + c, j + b, i + a] * (fx if a else 1 - fx) * (fy if b else 1 - fy) * (fz if c else 1 - fz)
                     for a in (0, 1) for b in (0, 1) for c in (0, 1))
    return out


def slow_molmap_cc(coords, elements, dmap, resolution, threshold=0.01, weights=None):
    values, origin, step = slow_molmap_grid(coords, atomic_numbers(elements), resolution, weights)
    k, j, i = np.nonzero(values >= threshold)
    m = values[k, j, i]
    c = slow_interpolate(dmap, origin + step * np.column_stack([i, j, k]))
    return {"cc": float(m @ c / np.sqrt((m @ m) * (c @ c))), "cc_mean": float(np.corrcoef(m, c)[0, 1]),
            "n_points": len(m)}


@pytest.fixture
def cluster():
    rng = np.random.default_rng(11)
    coords = rng.uniform(3.0, 14.0, size=(25, 3))
    elements = ELEMENTS[rng.integers(0, len(ELEMENTS), 25)]
    # the map: Gaussians at most atoms, displaced a little, plus noise; partly outside the model grid
    dmap = gaussian_map(coords[:20] + rng.normal(0, 0.3, (20, 3)), noise=0.05, width=0.9)
    return coords, elements, dmap


@pytest.mark.parametrize("block_points, threads", [(1 << 21, 1), (700, 2)])
def test_molmap_cc_matches_the_slow_reference(cluster, block_points, threads):
    coords, elements, dmap = cluster
    want = slow_molmap_cc(coords, elements, dmap, 2.5)
    got = molmap_correlation(coords, elements, dmap, 2.5, block_points=block_points, threads=threads)
    assert got["n_points"] == want["n_points"] > 1000
    assert got["cc"] == pytest.approx(want["cc"], abs=1e-9)
    assert got["cc_mean"] == pytest.approx(want["cc_mean"], abs=1e-9)


def test_molmap_values_match_the_slow_reference(cluster):
    coords, elements, _ = cluster
    w = np.linspace(0.5, 1.0, len(coords))
    values, origin, step = slow_molmap_grid(coords, atomic_numbers(elements), 3.0, w)
    m = molmap(coords, elements, 3.0, weights=w)
    assert m.values.shape == values.shape and np.allclose(m.origin, origin) and np.allclose(m.voxel_size, step)
    assert np.allclose(m.values, values, rtol=1e-6, atol=1e-7)  # float32 storage


def test_a_map_computed_from_the_model_gives_cc_mean_near_1(cluster):
    coords, elements, _ = cluster
    d = 3.0
    mm = molmap(coords, elements, d, step=0.31, pad=10.0)  # the model map on a finer grid of its own
    got = molmap_correlation(coords, elements, mm, d)
    assert got["cc_mean"] > 0.998 and got["cc"] > 0.998  # not 1: trilinear interpolation of the finer grid


def test_pair_sums_and_pooling_give_numpy_correlations():
    rng = np.random.default_rng(5)
    m = rng.gamma(2.0, 0.1, 5000)
    c = 0.7 * m + rng.normal(0, 0.05, 5000) + 3.0  # an offset that one-pass formulas would suffer from
    keep = m >= 0.1
    want_ccm = np.corrcoef(m[keep], c[keep])[0, 1]
    want_cc = m[keep] @ c[keep] / np.sqrt((m[keep] @ m[keep]) * (c[keep] @ c[keep]))
    whole = correlations(pair_sums(m, c, 0.1))
    parts = correlations(pool([pair_sums(m[a:a + 777], c[a:a + 777], 0.1) for a in range(0, 5000, 777)]))
    for got in (whole, parts):
        assert got["n_points"] == keep.sum()
        assert got["cc_mean"] == pytest.approx(want_ccm, abs=1e-12)
        assert got["cc"] == pytest.approx(want_cc, abs=1e-12)


def reference_emodel_map(coords, elements, b_iso, resolution, *, voxel=0.7, margin=8.0):
    """An electron-scattering map limited to ``resolution`` by gemmi's own reciprocal-space path
    (transform_map_to_f_phi → prepare_asu_data(dmin, unblur) → transform_f_phi_to_map) in a P1 cell around
    the atoms: independent of qscore's cell, grid and FFT.  Returns (DensityMap, coords in its frame)."""
    import gemmi

    coords = np.asarray(coords, dtype=np.float64)
    shifted = coords - coords.min(axis=0) + margin
    size = coords.max(axis=0) - coords.min(axis=0) + 2 * margin
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(*size, 90, 90, 90)
    st.spacegroup_hm = "P 1"
    model, chain, res = gemmi.Model(1), gemmi.Chain("A"), gemmi.Residue()
    res.name, res.seqid = "UNK", gemmi.SeqId(1, " ")
    for p, e, b in zip(shifted, elements, b_iso, strict=True):
        atom = gemmi.Atom()
        atom.name, atom.element, atom.pos = str(e), gemmi.Element(str(e)), gemmi.Position(*p)
        atom.b_iso, atom.occ = b, 1.0
        res.add_atom(atom)
    chain.add_residue(res)
    model.add_chain(chain)
    st.add_model(model)
    dc = gemmi.DensityCalculatorE()
    dc.d_min, dc.rate = resolution, resolution / (2 * voxel)
    dc.set_grid_cell_and_spacegroup(st)
    dc.set_refmac_compatible_blur(st[0])
    dc.put_model_density_on_grid(st[0])
    asu = gemmi.transform_map_to_f_phi(dc.grid, half_l=True).prepare_asu_data(dmin=resolution, unblur=dc.blur,
                                                                              with_000=True)
    grid = asu.transform_f_phi_to_map(exact_size=[dc.grid.nu, dc.grid.nv, dc.grid.nw])
    values = np.array(grid, copy=True).transpose(2, 1, 0)
    voxel_size = size / np.array([grid.nu, grid.nv, grid.nw])
    return DensityMap(values=values, origin=np.zeros(3), voxel_size=voxel_size), shifted


@pytest.fixture(scope="module")
def helix():
    from conftest import helix_coordinates

    atoms = helix_coordinates(10)
    return np.array([a[3] for a in atoms]), np.array([a[2] for a in atoms])


@pytest.mark.parametrize("resolution", [2.0, 3.5])
def test_emodel_of_a_map_computed_from_the_model_at_d_gives_cc_mean_near_1(helix, resolution):
    coords, elements = helix
    b = np.linspace(5.0, 90.0, len(coords))
    dmap, xyz = reference_emodel_map(coords, elements, b, resolution)
    got = emodel_correlation(xyz, elements, b, dmap, resolution)
    assert got["cc_mean"] > 0.999 and got["cc"] > 0.998 and got["n_points"] > 2000
    # and it tells B-factors apart: uniform B = 40 fits worse than the true ones
    uniform = emodel_correlation(xyz, elements, np.full(len(b), 40.0), dmap, resolution)
    assert uniform["cc_mean"] < got["cc_mean"] - 0.005


def test_absurd_b_factors_are_clamped_and_counted_not_hung_on(helix):
    from qscore.analysis.emodel import MAX_B_FACTOR, clamped_b

    b, bad, b_max = clamped_b([1e300, -1.0, np.nan, np.inf, 50.0])
    assert b.tolist() == [MAX_B_FACTOR, 0.0, 0.0, MAX_B_FACTOR, 50.0] and bad.sum() == 4 and b_max == MAX_B_FACTOR
    coords, elements = helix
    b = np.full(len(coords), 30.0)
    dmap, xyz = reference_emodel_map(coords, elements, b, 3.0)
    b[3] = 1e300  # gemmi's radius estimate never returns for this
    got = emodel_correlation(xyz, elements, b, dmap, 3.0)
    assert got["b_clamped"] == 1 and np.isfinite(got["cc"])


@pytest.mark.parametrize("shape", [(12, 10, 9), (15, 8, 16)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_inverse_fft_in_place_gives_irfftns_values_exactly(shape, dtype):
    from scipy import fft

    from qscore.analysis.emodel import irfftn_in_place

    grid = np.random.default_rng(sum(shape)).normal(size=shape).astype(dtype)
    spectrum = fft.rfftn(grid)
    want = fft.irfftn(spectrum, s=shape)
    got = irfftn_in_place(spectrum.copy(), shape)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_emodel_values_lie_on_the_map_grid(helix):
    coords, elements = helix
    b = np.full(len(coords), 30.0)
    dmap, xyz = reference_emodel_map(coords, elements, b, 3.0, margin=14.0)
    em = EModel(xyz, elements, dmap, 3.0, b_max=30.0)
    values = em.values(b)
    ref = dmap.values[em.box]
    assert values.shape == ref.shape
    # point by point, in the same (electron-scattering) units; the two periodic cells differ, so the ripples of
    # the resolution cut differ a little: within 1.5% of the peak (observed 1.0%)
    assert np.abs(values - ref).max() < 0.015 * ref.max()


def test_occupancy_is_shared_among_alternate_locations():
    atoms = atoms_from_arrays(np.zeros((5, 3)), name=["N", "CA", "CA", "CA", "C"], res_num=[1, 1, 1, 1, 1])
    atoms.altloc = np.array(["", "A", "B", "C", ""])
    assert np.allclose(occupancy_weights(atoms), [1, 1 / 3, 1 / 3, 1 / 3, 1])


@pytest.mark.parametrize("resolution, word", [(1.0, "finer than twice the voxel size"), (0.0, "outside (0, 50]"),
                                              (60.0, "outside (0, 50]"), (45.0, "coarser than the smallest side")])
def test_resolution_must_suit_the_map(resolution, word):
    dmap = gaussian_map([[10.0, 10.0, 10.0]])  # voxels 0.7-0.9 Å, box 33-43 Å
    with pytest.raises(ParameterError, match=word.replace("(", r"\(").replace("]", r"\]")):
        check_model_resolution(resolution, dmap)


def test_too_large_for_the_memory_allowed_fails_early_with_the_need(helix):
    coords, elements = helix
    dmap = gaussian_map(coords)
    with pytest.raises(ParameterError, match=r"needs about .* GiB .* more than the 0\.00 GiB allowed"):
        EModel(coords, elements, dmap, 3.0, max_memory=1000)
    atoms = atoms_from_arrays(coords, elements)
    out = map_model_correlation(atoms, dmap, 3.0, max_memory=1000, lenient=True).to_dict()
    assert "skipped" in out["emodel"] and np.isfinite(out["molmap"]["cc"])
    out = map_model_correlation(atoms, dmap, 1.0, lenient=True).to_dict()  # finer than twice the voxel size
    assert "finer than twice" in out["molmap"]["skipped"] and "finer than twice" in out["emodel"]["skipped"]


def test_model_outside_the_map_is_refused(helix):
    coords, elements = helix
    dmap = gaussian_map(coords)
    atoms = atoms_from_arrays(coords + 500.0, elements)
    with pytest.raises(ModelError, match="outside the box"):
        map_model_correlation(atoms, dmap, 3.0)
    with pytest.raises(ModelError, match="outside the box"):
        EModel(coords + 500.0, elements, dmap, 3.0)


def test_7cec_chain_a_matches_mapq_archive_values_and_is_fast(cec):
    """MapQ's archive has CC 0.8368 / CC-mean 0.6084 for EMD-30342 with the whole 7CEC model in the whole map;
    chain A in the map zoned around it should come close (different inputs: tolerance 0.03)."""
    import qscore

    model, dmap = qscore.read_model(cec["model"]), qscore.read_map(cec["map"])
    map_model_correlation(model.atoms, dmap, 3.9)  # compile
    t0 = time.perf_counter()
    out = map_model_correlation(model.atoms, dmap, 3.9).to_dict()
    elapsed = time.perf_counter() - t0
    print(f"7CEC chain A CC at 3.9 Å: {elapsed:.2f} s; molmap {out['molmap']}; emodel {out['emodel']}")
    assert out["molmap"]["cc"] == pytest.approx(0.8368, abs=0.03)
    assert out["molmap"]["cc_mean"] == pytest.approx(0.6084, abs=0.03)
    assert out["emodel"]["cc_mean"] > out["molmap"]["cc_mean"]  # the model's B-factors help


def test_emodel_in_slabs_matches_the_whole_cell(cec, monkeypatch):
    """The sub-box cut into slabs along z, each in its own periodic cell, gives the whole cell's CC."""
    import qscore
    import qscore.analysis.emodel as emodel

    model, dmap = qscore.read_model(cec["model"]), qscore.read_map(cec["map"])
    a = model.atoms
    whole = emodel_correlation(a.coords, a.element, a.b_iso, dmap, 3.9)
    assert whole["slabs"] == 1
    monkeypatch.setattr(emodel, "SLAB_BYTES", whole["memory_bytes"] // 2)
    sliced = emodel_correlation(a.coords, a.element, a.b_iso, dmap, 3.9)
    assert sliced["slabs"] >= 3 and sliced["memory_bytes"] <= whole["memory_bytes"] // 2
    assert sliced["atoms"] == whole["atoms"]
    assert sliced["cc"] == pytest.approx(whole["cc"], abs=1e-4)  # slabs only a few margins thick here
    assert sliced["cc_mean"] == pytest.approx(whole["cc_mean"], abs=5e-4)
    assert abs(sliced["n_points"] - whole["n_points"]) <= 1e-3 * whole["n_points"]


def test_cli_cc(cec, tmp_path):
    out = tmp_path / "cc.json"
    res = CliRunner().invoke(main, ["cc", str(cec["model"]), str(cec["map"]), "-r", "3.9", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "molmap (Gaussians ∝ Z): CC 0.8" in res.output and "electron scattering" in res.output
    data = json.loads(out.read_text())
    assert data["resolution"] == 3.9 and data["molmap"]["n_points"] > 10000 and data["emodel"]["cc_mean"] > 0.5
    res = CliRunner().invoke(main, ["cc", str(cec["model"]), str(cec["map"]), "-r", "3.9", "--no-emodel"])
    assert res.exit_code == 0 and "electron" not in res.output


def test_score_summary_holds_the_correlation_unless_no_cc(cec, tmp_path):
    stem = tmp_path / "390_7cec_A__Q__390_emd_30342_A_z4_summary.json"
    res = CliRunner().invoke(main, ["score", str(cec["model"]), str(cec["map"]), "-r", "3.9", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    corr = json.loads(stem.read_text())["correlation"]
    assert corr["molmap"]["cc_mean"] == pytest.approx(0.6226, abs=1e-3) and corr["emodel"]["cc_mean"] > 0.7
    assert "Map–model correlation at 3.9 Å" in res.output
    res = CliRunner().invoke(main, ["score", str(cec["model"]), str(cec["map"]), "-r", "3.9", "--no-cc", "-q",
                                    "-o", str(tmp_path)])
    assert res.exit_code == 0 and "correlation" not in json.loads(stem.read_text())


def test_score_with_a_resolution_the_map_cannot_hold_still_scores(tmp_path):
    from conftest import build_demo

    inputs = build_demo(tmp_path, n_residues=4)  # 0.8 Å voxels: 1.2 Å is finer than twice that
    res = CliRunner().invoke(main, ["score", inputs["model"], inputs["map"], "-r", "1.2", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    corr = json.loads((tmp_path / "demo_helix__Q__demo_map_summary.json").read_text())["correlation"]
    assert "finer than twice the voxel size" in corr["molmap"]["skipped"] and "skipped" in corr["emodel"]
    assert "molmap (Gaussians ∝ Z): skipped" in res.output


@pytest.mark.parametrize("args, word", [(["-r", "1.5"], "finer than twice the voxel size"),
                                        (["-r", "3", "--no-molmap", "--no-emodel"], "nothing to compute"),
                                        (["-r", "3", "--max-memory", "0.000001"], "needs about")])
def test_cli_cc_bad_input(cec, tmp_path, args, word):
    out = tmp_path / "cc.json"
    res = CliRunner().invoke(main, ["cc", str(cec["model"]), str(cec["map"]), *args, "--json", str(out)])
    assert res.exit_code == 2 and word in res.output and res.output.count("Error:") == 1
    assert not out.exists()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo helix and its simulated map (no real data needed), and the helix with its second half moved
    150 Å away, out of the map box."""
    import gemmi

    from conftest import build_demo

    folder = tmp_path_factory.mktemp("demo")
    inputs = build_demo(folder, n_residues=8)
    st = gemmi.read_structure(str(inputs["model"]))
    residues = list(st[0][0])
    for res in residues[len(residues) // 2:]:
        for atom in res:
            atom.pos = gemmi.Position(atom.pos.x + 150.0, atom.pos.y, atom.pos.z)
    partial = folder / "partial.pdb"
    st.write_pdb(str(partial))
    n_out = sum(len(res) for res in residues[len(residues) // 2:])
    n_all = sum(len(res) for res in residues)
    return {"model": Path(inputs["model"]), "map": Path(inputs["map"]), "partial": partial, "n_out": n_out,
            "n_all": n_all}


def test_cli_cc_refuses_a_threshold_no_model_map_point_reaches(demo, tmp_path):
    """As 'qscore bfactors' does: not 'CC nan … over 0 points' and exit 0."""
    out = tmp_path / "cc.json"
    args = ["cc", str(demo["model"]), str(demo["map"]), "-r", "3"]
    res = CliRunner().invoke(main, [*args, "--threshold", "1e9", "--json", str(out)])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("Error: The molmap and electron-scattering model maps have no points at or above "
                                 "--threshold 1e+09") and res.output.count("\n") == 1
    assert "--threshold" in res.output and "CC nan" not in res.output
    assert not out.exists()
    res = CliRunner().invoke(main, [*args, "--threshold", "1e9", "--no-emodel"])
    assert res.exit_code == 2 and "The molmap model map has no points" in res.output and "0 points" in res.output
    res = CliRunner().invoke(main, [*args, "--json", str(out)])  # the default threshold works
    assert res.exit_code == 0, res.output
    assert "CC nan" not in res.output and json.loads(out.read_text())["molmap"]["n_points"] > 0


def test_cli_cc_and_bfactors_warn_of_atoms_outside_the_map_as_score_does(demo, tmp_path):
    n_out, n_all = demo["n_out"], demo["n_all"]
    warning = f"Warning: {n_out} of {n_all} atoms lie outside the map box;"
    score = CliRunner().invoke(main, ["score", str(demo["partial"]), str(demo["map"]), "-r", "3", "--no-cc",
                                      "-o", str(tmp_path / "score")])
    assert score.exit_code == 0 and warning in score.output, score.output  # the wording copied
    res = CliRunner().invoke(main, ["cc", str(demo["partial"]), str(demo["map"]), "-r", "3"])
    assert res.exit_code == 0, res.output
    assert warning in res.output and "skews the correlations" in res.output and "aligned" in res.output
    res = CliRunner().invoke(main, ["bfactors", str(demo["partial"]), str(demo["map"]), "-r", "3", "--f-step", "100",
                                    "-o", str(tmp_path / "bf")])
    assert res.exit_code == 0, res.output
    assert warning in res.output and "their Q is near 0" in res.output and "aligned" in res.output
    for command in (["cc"], ["bfactors", "--f-step", "100", "-o", str(tmp_path / "bf2")]):  # none when inside
        res = CliRunner().invoke(main, [command[0], str(demo["model"]), str(demo["map"]), "-r", "3", *command[1:]])
        assert res.exit_code == 0 and "Warning" not in res.output, res.output


@pytest.mark.parametrize("command", [["score", "-o", "OUT"], ["cc", "-r", "3"], ["bfactors", "-r", "3", "-o", "OUT"],
                                     ["profile", "-a", "A", "-o", "OUT"]])
def test_negative_threads_are_refused(demo, tmp_path, command):
    """commands/options.THREADS: 0 means all cores, a negative count is an error (it was accepted silently)."""
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command[1:]]
    res = CliRunner().invoke(main, [command[0], str(demo["model"]), str(demo["map"]), *args, "--threads", "-3"])
    assert res.exit_code == 2 and "Error: Invalid value for '--threads'" in res.output and "x>=0" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()


def _groups_by_hand(coords, cell):
    """Groups of atoms whose cubes touch, by union-find over every pair of atoms (the slow obvious way)."""
    keys = np.floor(coords / cell).astype(int)
    parent = list(range(len(coords)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(coords)):
        for j in range(i):
            if np.all(np.abs(keys[i] - keys[j]) <= 1):
                parent[find(i)] = find(j)
    roots = np.array([find(i) for i in range(len(coords))])
    return sorted((tuple(coords[roots == r].min(axis=0)), tuple(coords[roots == r].max(axis=0)))
                  for r in np.unique(roots))


def test_molmap_groups_of_atoms_and_their_merged_boxes():
    from qscore.analysis.correlation import _group_boxes, _merged

    rng = np.random.default_rng(3)
    centres = rng.uniform(-400, 400, (40, 3))
    coords = np.vstack([c + rng.normal(scale=2.0, size=(8, 3)) for c in centres] + [rng.uniform(-400, 400, (60, 3))])
    lo, hi = _group_boxes(coords, 8.0)
    assert sorted(zip(map(tuple, lo), map(tuple, hi), strict=True)) == _groups_by_hand(coords, 8.0)
    mlo, mhi = _merged(lo - 30.0, hi + 30.0, 1.0)
    for i in range(len(mlo)):  # none overlap, and together they hold every box given
        others = np.arange(len(mlo)) != i
        assert not np.any(np.all(mlo[i] <= mhi[others] + 1.0, axis=1) & np.all(mlo[others] <= mhi[i] + 1.0, axis=1))
    inside = np.all((lo[:, None] - 30.0 >= mlo[None]) & (hi[:, None] + 30.0 <= mhi[None]), axis=2)
    assert inside.any(axis=1).all() and len(mlo) < len(lo)


@pytest.mark.parametrize("alphabet", [["C", "N", "FE", "ZN", "", "Cl"], ["C", "Å", "ÅB", "x"], ["ABC", "A", "AB"], []])
def test_distinct_strings_are_those_of_np_unique(alphabet):
    from qscore.analysis.cc_core import distinct_strings

    values = np.random.default_rng(1).choice(np.array(alphabet or [""]), 5000) if alphabet else np.array([], str)
    expected, inverse = np.unique(values.astype(str), return_inverse=True)
    got, codes = distinct_strings(values)
    assert got.tolist() == expected.tolist() and codes.tolist() == inverse.reshape(-1).tolist()
