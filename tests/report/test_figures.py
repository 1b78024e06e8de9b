"""The figures' rules (issue 13, item 6): bands only where they apply, labelled; long chains in rows
of readable length; labels chosen by severity, at most a set number per row, never on a marker or on
each other; residues not judged drawn as such; a legend on every figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import qscore
from conftest import CEC, need
from qscore.analysis.results import ExpectedQ
from qscore.report.plots import plot_atom_distributions, plot_chain_overview, report_figures
from qscore.report.residue_plots import RESIDUE_MARKERS, RESIDUE_POINT_GIDS, RESIDUES_PER_ROW, plot_residue_q

EXPECTED = ExpectedQ(source="test curve", sigma=0.4, Q_mean=0.48, Q_peak=0.5, Q_low95=0.35, Q_high95=0.65)


def _chain(n: int, seed: int = 0) -> pd.DataFrame:
    """A protein chain of n residues whose Q swings far outside EXPECTED's band, often next to each other."""
    rng = np.random.default_rng(seed)
    q = np.clip(0.5 + 0.3 * rng.standard_normal(n), -0.4, 1.0)
    flag = np.where(q < EXPECTED.Q_low95, "below", np.where(q > EXPECTED.Q_high95, "above", "within"))
    return pd.DataFrame({"chain": "A", "res_num": np.arange(1, n + 1), "ins_code": "",
                         "res_name": rng.choice(["GLY", "TRP", "ASP", "LYS"], n), "mol_type": "protein",
                         "Q_residue": q, "Q_backbone": q + 0.05, "Q_sidechain": q - 0.1, "Q_flag": flag,
                         "status": "scored"})


def _display_markers(fig) -> list:
    """(x, y, radius) in display pixels of every residue point."""
    out = []
    gids = set(RESIDUE_POINT_GIDS.values())
    for ax in fig.axes:
        for coll in ax.collections:
            if coll.get_gid() in gids:
                xy = ax.transData.transform(np.asarray(coll.get_offsets(), dtype=float))
                r = np.sqrt(coll.get_sizes()[0]) / 2 * fig.dpi / 72.0
                out += [(x, y, r) for x, y in xy]
    return out


def _labels(fig, renderer) -> list:
    return [(ax, t, t.get_window_extent(renderer)) for ax in fig.axes for t in ax.texts
            if str(t.get_gid()).startswith("residue-label-")]


@pytest.mark.parametrize("n", [40, 553, 1500])
def test_residue_labels_never_cover_a_marker_or_each_other(n):
    table = _chain(n)
    fig = plot_residue_q(table, chain="A", mol_type="protein", expected=EXPECTED, resolution=3.0, max_labels=12)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = _labels(fig, renderer)
    assert labels, "outliers are labelled"
    markers = _display_markers(fig)
    assert len(markers) == n
    for _, text, box in labels:
        for x, y, r in markers:
            assert not (box.x0 - r < x < box.x1 + r and box.y0 - r < y < box.y1 + r), (text.get_text(), x, y)
    for i, (_, a, box_a) in enumerate(labels):
        for _, b, box_b in labels[i + 1:]:
            assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())
    rows = [ax for ax in fig.axes if ax.collections]
    assert len(rows) == int(np.ceil(n / RESIDUES_PER_ROW))
    for ax in rows:  # at most the set number per row and kind, every label inside its axes
        kinds = [str(t.get_gid()) for a, t, _ in labels if a is ax]
        assert max(kinds.count("residue-label-below"), kinds.count("residue-label-above")) <= 12
        axes_box = ax.get_window_extent(renderer)
        for a, t, box in labels:
            if a is ax:
                assert axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1, t.get_text()


def test_residue_labels_go_to_the_most_severe():
    table = _chain(60, seed=3)
    fig = plot_residue_q(table, chain="A", mol_type="protein", expected=EXPECTED, resolution=3.0, max_labels=1)
    labels = {str(t.get_gid()): t.get_text() for t in fig.axes[0].texts if t.get_gid()}
    worst = table.loc[table["Q_residue"].idxmin()]
    best = table.loc[table["Q_residue"].idxmax()]
    assert labels["residue-label-below"] == f"{worst['res_name']}{worst['res_num']}"
    assert labels["residue-label-above"] == f"{best['res_name']}{best['res_num']}"


def test_residues_not_judged_are_drawn_apart_and_in_the_legend():
    table = _chain(30)
    table.loc[:4, "status"] = "outside map"
    table.loc[5:7, "status"] = "no density"
    table.loc[5:7, "Q_residue"] = 0.0
    table.loc[:7, "Q_flag"] = table.loc[:7, "status"]  # as the analysis writes them
    fig = plot_residue_q(table, chain="A", mol_type="protein", expected=EXPECTED, resolution=3.0)
    by_gid = {c.get_gid(): len(c.get_offsets()) for c in fig.axes[0].collections if c.get_gid()}
    assert by_gid["residue-q-outside-map"] == 5 and by_gid["residue-q-no-density"] == 3
    assert sum(by_gid.values()) == 30
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert RESIDUE_MARKERS["outside map"][-1] in legend and RESIDUE_MARKERS["no density"][-1] in legend
    assert "8 not judged" in fig._suptitle.get_text()
    # without a resolution there are no flags, but the residues outside the map are still marked
    fig = plot_residue_q(table, chain="A", mol_type="protein")
    by_gid = {c.get_gid(): len(c.get_offsets()) for c in fig.axes[0].collections if c.get_gid()}
    assert by_gid == {"residue-q": 22, "residue-q-outside-map": 5, "residue-q-no-density": 3}
    assert not [t for t in fig.axes[0].texts if t.get_gid()]


def test_band_legend_names_the_curve_and_chain_overview_always_has_a_legend():
    chains = pd.DataFrame({"chain": list("ABCD"), "mol_type": "protein", "n_residues": 100,
                           "Q": [0.4, 0.5, 0.6, 0.3]})
    for expected in (EXPECTED, None):
        fig = plot_chain_overview(chains, expected=expected, resolution=3.0)
        legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
        assert "protein chain" in legend
        assert any("test curve" in s for s in legend) == (expected is not None)


def test_atom_histograms_draw_no_entry_band_and_each_type_its_own_expected_value():
    q = np.r_[np.full(50, 0.5), np.full(10, 0.7), np.full(5, 0.3)]
    types = np.r_[np.full(50, "protein"), np.full(10, "water"), np.full(5, "ligand")]
    fig = plot_atom_distributions(q, types, expected_by_type={"protein": 0.55, "water": 0.61, "ion": 0.7},
                                  resolution=3.0)
    panels = {ax.get_title().split(":")[0]: ax for ax in fig.axes}
    assert set(panels) == {"protein", "water", "ligand"}
    for name, ax in panels.items():
        assert all(p.get_width() < 0.05 for p in ax.patches), "histogram bars only, no band"
        dashdot = [ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == "-."]
        assert dashdot == ({"protein": [0.55], "water": [0.61]}.get(name, []))
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "expected mean Q of the type at 3 Å (2020 linear relation)" in legend


def test_every_report_figure_has_a_legend_and_bands_only_where_they_apply(tmp_path):
    need(CEC)
    result = qscore.score(CEC / "390_7cec_A100.cif", CEC / "390_emd_30342_A_z4.mrc", resolution=3.9, profiles=True)
    analysis = result.analyse()
    drawn = [f for f in report_figures(result, analysis) if f.figure is not None]
    assert {f.key for f in drawn} >= {"residue_q_1_A_protein", "atom_q", "profiles"}
    for f in drawn:
        legends = list(f.figure.legends) + [ax.get_legend() for ax in f.figure.axes if ax.get_legend()]
        assert legends and all(lg.get_texts() for lg in legends), f.key
    atom_q = next(f for f in drawn if f.key == "atom_q")
    assert "not drawn here" in atom_q.caption
    assert not any(ln.get_linestyle() == "-." and ln.get_xdata()[0] == analysis.expected.Q_peak
                   for ax in atom_q.figure.axes for ln in ax.lines)


def test_a_model_with_no_atom_in_density_gets_a_report_with_a_note(tmp_path):
    from conftest import gaussian_map
    from qscore.pipeline.scoring import score

    coords = np.array([[5.0, 5.0, 5.0]])
    dmap = gaussian_map(coords + 40.0, shape=(30, 30, 30), voxel=(1.0, 1.0, 1.0), origin=(0, 0, 0))
    path = tmp_path / "w.pdb"
    path.write_text("HETATM    1  O   HOH A   1       5.000   5.000   5.000  1.00 20.00           O\nEND\n")
    result = score(path, dmap, resolution=3.0, profiles=True)
    profiles = next(f for f in report_figures(result, result.analyse()) if f.key == "profiles")
    assert profiles.figure is None and "--profile-atom" in profiles.note
