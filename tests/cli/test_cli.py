"""The command line and the files it writes."""

from __future__ import annotations

import json
from pathlib import Path

import gemmi
import numpy as np
import pandas as pd
from click.testing import CliRunner

from qscore.cli import main


def test_score_writes_annotated_model_table_and_summary(cec, tmp_path):
    res = CliRunner().invoke(main, ["score", str(cec["model"]), str(cec["map"]), "--sigma", "0.6",
                                    "--resolution", "3.9", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    stem = "390_7cec_A__Q__390_emd_30342_A_z4"
    assert "mean 0.4570" in res.output
    block = gemmi.cif.read(str(tmp_path / f"{stem}.cif"))[0]
    tags = list(block.find_values("_atom_site.Cartn_x").get_loop().tags)
    assert tags[tags.index("_atom_site.B_iso_or_equiv") + 1] == "_atom_site.Q-score"  # MapQ 2.9.7's layout
    q_text = list(block.find_values("_atom_site.Q-score"))
    assert all(len(v.split(".")[1]) == 6 for v in q_text)  # six decimals, as MapQ 2.9.7 writes ('%f')
    q_cif = np.array([float(v) for v in q_text])
    b_cif = np.array([float(v) for v in block.find_values("_atom_site.B_iso_or_equiv")])
    assert b_cif[0] == 103.36825  # B-factors kept
    table = pd.read_csv(tmp_path / f"{stem}_atoms.csv")
    assert len(table) == 4308 and {"chain", "res_num", "atom_name", "x", "Q", "outside_map"} <= set(table)
    assert np.allclose(table["Q"], q_cif, atol=6e-7)
    assert gemmi.read_structure(str(tmp_path / f"{stem}.cif"))  # other tools read it
    summary = json.loads((tmp_path / f"{stem}_summary.json").read_text())
    assert summary["parameters"]["sigma"] == 0.6 and summary["parameters"]["resolution"] == 3.9
    assert summary["counts"]["scored"] == 4308 and summary["counts"]["outside_map"] == 0
    assert abs(summary["mean_q"] - 0.4570) < 1e-3
    assert summary["map"]["stats"]["max_d"] > summary["map"]["stats"]["min_d"]
    assert "gemmi" in summary["versions"] and summary["elapsed_s"] > 0


def test_pdb_input_gets_pdb_output_with_q_as_bfactor(tmp_path):
    from conftest import build_demo

    inputs = build_demo(tmp_path / "in")
    res = CliRunner().invoke(main, ["score", inputs["model"], inputs["map"], "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    st = gemmi.read_structure(str(tmp_path / "out" / "demo_helix__Q__demo_map.pdb"))
    b = np.array([a.b_iso for r in st[0]["A"] for a in r])
    table = pd.read_csv(tmp_path / "out" / "demo_helix__Q__demo_map_atoms.csv")
    assert np.allclose(b, table["Q"], atol=0.006)


def test_demo_runs_and_scores_a_resolved_helix(tmp_path):
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "demo_helix__Q__demo_map_summary.json").read_text())
    # B rises along the helix: the first residues are better resolved than the last
    table = pd.read_csv(tmp_path / "demo_helix__Q__demo_map_atoms.csv")
    first, last = table[table.res_num <= 4].Q.mean(), table[table.res_num >= 21].Q.mean()
    assert first > last + 0.1
    assert 0.4 < summary["mean_q"] < 0.95
    # the main job whole: expected Q at the map's resolution, tables, correlation, report, ChimeraX files
    assert summary["analysis"]["resolution"] == 2.5 and summary["analysis"]["expected"]["Q_peak"] > 0
    assert summary["correlation"]["molmap"]["cc"] > 0.5
    residues = pd.read_csv(tmp_path / "demo_helix__Q__demo_map_residues.csv")
    assert len(residues) == 24
    for suffix in ("_report.html", ".defattr", ".cxc", "_figures/residue_q_1_A_protein.png"):
        assert (tmp_path / f"demo_helix__Q__demo_map{suffix}").stat().st_size > 0
    assert "Expected Q at 2.5 Å" in res.output
    listed = json.loads((tmp_path / "demo_helix__Q__demo_map_summary.json").read_text())["outputs"]
    assert {"report_html", "defattr", "residues_csv"} <= set(listed) and all(Path(p).exists() for p in listed.values())


def test_help_explains_units():
    res = CliRunner().invoke(main, ["score", "--help"])
    assert res.exit_code == 0 and "Å" in res.output and "--emdb-compat" in res.output


def test_small_things_a_user_notices(tmp_path):
    """'1 chain' (not '1 chains'), no '-0.0000', the correlation before the file list, relative .cxc paths."""
    from conftest import build_demo

    inputs = build_demo(tmp_path / "in", n_residues=6)
    res = CliRunner().invoke(main, ["score", inputs["model"], inputs["map"], "-r", "2.5", "-o", str(tmp_path / "out"),
                                    "-j", "1", "--report"])
    assert res.exit_code == 0, res.output
    assert "1 chain)" in res.output and "1 chains" not in res.output and "1 thread\n" in res.output
    assert "-0.0000" not in res.output and "(e.g. 3.2).." not in res.output
    assert res.output.index("Map–model correlation") < res.output.index("Wrote:")
    cxc = next((tmp_path / "out").glob("*.cxc")).read_text()
    assert '"../in/demo_map.mrc"' in cxc and str(tmp_path) not in cxc  # relative, '../' included


def test_fmt_never_prints_negative_zero():
    from qscore.cli.printing import fmt

    assert fmt(-1e-7) == "0.0000" and fmt(-0.2) == "-0.2000" and fmt(float("nan")) == "–"


def test_counts_are_written_in_the_singular_for_one():
    from qscore.text import plural

    assert [plural(1, "atom"), plural(2, "atom"), plural(1, "entry"), plural(4308, "entry")] == \
        ["1 atom", "2 atoms", "1 entry", "4,308 entries"]


def test_profile_of_one_atom_says_atom(tmp_path):
    from conftest import build_demo

    inputs = build_demo(tmp_path / "in")
    res = CliRunner().invoke(main, ["profile", inputs["model"], inputs["map"], "--atoms", "A:5:CA",
                                    "--out", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    assert "Profiles of 1 atom (A:5:CA)" in res.output
