"""The report's ligand section: every ligand, ion and saccharide, its atoms, the strip plot, the 3D close-up."""

from __future__ import annotations

import pandas as pd
import pytest

import qscore
from conftest import APO, need, open_page, wait_viewer
from qscore.analysis.ligands import ligand_table
from qscore.pipeline.outputs import write_score_outputs
from qscore.report.html import write_report


def test_ligands_are_listed_by_kind():
    residues = pd.DataFrame({"chain": "A", "res_num": [1, 2, 3, 4, 5], "ins_code": "",
                             "res_name": ["ALA", "NAG", "MG", "ATP", "HOH"],
                             "mol_type": ["protein", "ligand", "ion", "ligand", "water"], "Q_residue": 0.5})
    t = ligand_table(residues)
    assert t["res_name"].tolist() == ["NAG", "MG", "ATP"] and t["kind"].tolist() == ["saccharide", "ion", "ligand"]


@pytest.fixture(scope="module")
def apo_report(tmp_path_factory):
    need(APO)
    folder = tmp_path_factory.mktemp("apo")
    result = qscore.score(APO / "3ajo_fitted_refined.pdb", APO / "emd20026_prot.mrc", resolution=1.75, profiles=True)
    analysis = result.analyse()
    paths = write_report(result, analysis, folder, curve=result.curve(), outputs=write_score_outputs(result, folder))
    return {"paths": paths, "analysis": analysis}


def test_the_section_lists_each_ion_with_its_atoms_and_draws_the_strip(apo_report):
    page = open(apo_report["paths"]["report_html"], encoding="utf-8").read()
    n_ions = int((apo_report["analysis"].residues["res_name"] == "MG").sum())
    assert n_ions == 12
    assert 'id="fig-ligands"' in page and "ligands_png" in apo_report["paths"]
    assert page.count("<details><summary>") == n_ions and page.count('class="qs-show-3d"') == n_ions
    assert "12 ions" in page


def test_show_in_3d_focuses_the_ligand(apo_report, browser):
    assert open_page(browser, apo_report["paths"]["report_html"]) == []
    assert wait_viewer(browser) == "1"
    details = browser.find_elements("css selector", "#ligands details")[2]
    browser.execute_script("arguments[0].open = true; arguments[0].scrollIntoView()", details)
    details.find_element("css selector", "button.qs-show-3d").click()
    focused = browser.execute_script("return window.qsViewer.focused()")
    summary = details.find_element("css selector", "summary").text.split()
    assert focused["chain"] == summary[0] and focused["num"] == int(summary[2]) and summary[1] == "MG"
