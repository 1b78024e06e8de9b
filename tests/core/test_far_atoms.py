"""Work and memory bounded by the map, not by coordinates (issue 15, item 1): a stray atom thousands of Å
away costs nothing and changes nothing; coordinates no map can reach are refused with their row."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import gaussian_map
from qscore.analysis import correlation
from qscore.core.engine import compute_qscores, kernel_inputs
from qscore.errors import QScoreError
from qscore.io.models import read_model


def _helix(n=60):
    t = np.arange(n) * 1.7
    return np.column_stack([10 + 2.3 * np.cos(t), 12 + 2.3 * np.sin(t), 4 + 0.9 * np.arange(n) * 0.4])


@pytest.mark.parametrize("far", [60.0, 2_000.0, 10_000.0, 99_999.0])
def test_a_far_atom_changes_no_other_q_and_costs_no_grid(far):
    coords = _helix()
    dmap = gaussian_map(coords, noise=0.01)
    n = len(coords)
    alone = compute_qscores(coords, np.zeros(n, bool), np.arange(n), dmap, profiles=True)
    more = np.vstack([coords, [[far, -far, far]], [[far + 1.0, -far, far]]])  # two far atoms, neighbours
    with_far = compute_qscores(more, np.zeros(n + 2, bool), np.arange(n + 2), dmap, profiles=True)
    assert np.array_equal(with_far["q"][:n], alone["q"])
    assert np.array_equal(with_far["profile"][:n], alone["profile"], equal_nan=True)
    assert np.all(with_far["q"][n:] == 0.0)  # every point it would sample lies outside the grid, where the map is 0
    assert np.all(np.isnan(with_far["profile"][n:])) and np.all(with_far["kept"][n:] == 0)
    inputs = kernel_inputs(more, np.zeros(n + 2, bool), dmap)
    dims = inputs.args[12]
    assert int(np.prod(dims)) <= 8 * n + 1000  # the grid spans the atoms near the map only
    assert sorted(inputs.unsampled.tolist()) == [n, n + 1]


def test_atoms_just_outside_the_box_are_still_sampled():
    coords = _helix()
    dmap = gaussian_map(coords, noise=0.01)
    lo, hi = dmap.extent
    edge = np.array([[hi[0] + 0.5, 12.0, 4.0]])  # within max_radius of the grid: some points inside it
    more = np.vstack([coords, edge])
    inputs = kernel_inputs(more, np.zeros(len(more), bool), dmap)
    assert len(inputs.unsampled) == 0 and len(inputs.targets) == len(more)


def test_every_atom_far_away_gives_q_zero():
    coords = _helix()
    dmap = gaussian_map(coords)
    out = compute_qscores(coords + 5_000.0, np.zeros(len(coords), bool), np.arange(len(coords)), dmap)
    assert np.all(out["q"] == 0.0)


def test_molmap_in_boxes_equals_the_whole_grid(monkeypatch):
    coords = _helix()
    dmap = gaussian_map(coords, noise=0.01)
    more = np.vstack([coords, [[300.0, 250.0, -200.0]]])  # a grid the whole way there is still affordable
    elements = np.array(["C"] * len(more))
    whole = correlation.molmap_correlation(more, elements, dmap, 3.0)
    monkeypatch.setattr(correlation, "WHOLE_GRID_POINTS", 0)
    boxes = correlation.molmap_correlation(more, elements, dmap, 3.0)
    assert boxes["n_points"] == whole["n_points"]
    assert boxes["cc"] == pytest.approx(whole["cc"], abs=1e-12)
    assert boxes["cc_mean"] == pytest.approx(whole["cc_mean"], abs=1e-12)
    far = np.vstack([coords, [[50_000.0, 0.0, 0.0]]])  # whole grid: 10^13 points; in boxes: instant
    monkeypatch.setattr(correlation, "WHOLE_GRID_POINTS", 50_000_000)
    assert np.isfinite(correlation.molmap_correlation(far, elements, dmap, 3.0)["cc"])


@pytest.mark.parametrize("value, words", [("1e30", "beyond ±100,000 Å"), ("nan", "non-finite")])
def test_coordinates_no_map_reaches_are_refused_with_their_row(tmp_path, value, words):
    lines = ["data_x", "loop_", "_atom_site.group_PDB", "_atom_site.id", "_atom_site.type_symbol",
             "_atom_site.label_atom_id", "_atom_site.label_comp_id", "_atom_site.label_asym_id",
             "_atom_site.label_seq_id", "_atom_site.Cartn_x", "_atom_site.Cartn_y", "_atom_site.Cartn_z",
             "ATOM 1 C CA ALA A 1 1.0 2.0 3.0", "ATOM 2 C CA ALA A 2 2.0 3.0 4.0",
             f"ATOM 3 C CA ALA A 3 {value} 3.0 4.0"]
    path = tmp_path / "m.cif"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(QScoreError, match=rf"m\.cif' has coordinates {words}.* at atom row 3 of _atom_site"):
        read_model(path)


def test_the_whole_molmap_grid_is_refused_when_atoms_lie_far_apart():
    from qscore.errors import ParameterError

    with pytest.raises(ParameterError, match="would have 1.26e[+]11 points"):
        correlation.molmap(np.array([[0.0, 0.0, 0.0], [5e3, 5e3, 5e3]]), np.array(["C", "C"]), 3.0)
