"""Figures and the HTML report: files, contents, a headless-Chromium check of the page, bad inputs, the CLI.

The browser tests drive Debian's chromium with chromedriver through selenium; they skip, saying why, where
any of the three is missing.  Set QSCORE_REPORT_SCREENSHOT=FILE.png to keep the 7CEC screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import qscore
from conftest import CEC, DATA, gaussian_map, need, open_page, page_messages, write_pdb
from qscore.analysis.results import ExpectedQ
from qscore.cli import main
from qscore.errors import ParameterError, QScoreError
from qscore.pipeline.outputs import write_score_outputs
from qscore.report.html import write_report
from qscore.report.html_parts import table_spec
from qscore.report.plots import RESIDUE_POINT_GIDS, plot_residue_q, report_figures, select_profile_atoms

ARCHIVE = DATA / "archive" / "mapq_emdb_qscores.csv"
SVG = "{http://www.w3.org/2000/svg}"


def svg_points(svg_path) -> int:
    """Markers drawn in the residue-point groups of an SVG written by matplotlib."""
    root = ET.parse(svg_path).getroot()
    n = 0
    for g in root.iter(f"{SVG}g"):
        if g.get("id") in RESIDUE_POINT_GIDS.values():
            n += sum(1 for _ in g.iter(f"{SVG}use"))
    return n


@pytest.fixture(scope="module")
def cec_report(tmp_path_factory):
    """7CEC chain A at 3.9 Å, with the EMDB archive when present: the report and what it was made from."""
    need(CEC)
    folder = tmp_path_factory.mktemp("cec_report")
    result = qscore.score(CEC / "390_7cec_A.cif", CEC / "390_emd_30342_A_z4.mrc", sigma=0.4, resolution=3.9,
                          profiles=True)
    archive = qscore.read_archive(ARCHIVE) if ARCHIVE.is_file() else None
    analysis = result.analyse(qscore.AnalysisSettings(archive=archive, window=0.5))
    outputs = write_score_outputs(result, folder)
    paths = write_report(result, analysis, folder, archive=archive, curve=result.curve(), outputs=outputs)
    return {"result": result, "analysis": analysis, "paths": paths, "folder": folder, "archive": archive}


def test_figures_exist_are_non_empty_and_the_residue_plot_has_a_point_per_residue(cec_report):
    paths = cec_report["paths"]
    figures = {k[:-4] for k in paths if k.endswith("_png")}
    assert {"residue_q_1_A_protein", "atom_q", "profiles"} <= figures
    if cec_report["archive"] is not None:
        assert "archive" in figures
    for key in figures:
        png, svg = Path(paths[f"{key}_png"]), Path(paths[f"{key}_svg"])
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert svg.stat().st_size > 5000 and ET.parse(svg).getroot().tag == f"{SVG}svg"
    residues = cec_report["analysis"].residues
    assert svg_points(paths["residue_q_1_A_protein_svg"]) == len(residues) == 553


def test_residue_plot_marks_outliers_and_draws_the_band():
    table = pd.DataFrame({"chain": "B", "res_num": [1, 2, 3, 7, 8], "ins_code": ["", "", "A", "", ""],
                          "res_name": ["G", "C", "A", "U", "G"], "mol_type": "nucleic",
                          "Q_residue": [0.6, 0.1, 0.5, 0.9, np.nan], "Q_phosphate": [0.5, 0.2, 0.4, 0.8, np.nan],
                          "Q_sugar": [0.6, 0.1, 0.5, 0.9, np.nan], "Q_base": [0.7, 0.0, 0.6, 1.0, np.nan],
                          "Q_flag": ["within", "below", "within", "above", ""]})
    expected = ExpectedQ(source="test", sigma=0.4, Q_mean=0.48, Q_peak=0.5, Q_low95=0.3, Q_high95=0.7)
    fig = plot_residue_q(table, chain="B", mol_type="nucleic", expected=expected, resolution=3.0)
    ax = fig.axes[0]
    by_gid = {c.get_gid(): len(c.get_offsets()) for c in ax.collections if c.get_gid()}
    assert by_gid == {"residue-q-within": 2, "residue-q-below": 1, "residue-q-above": 1}  # the NaN residue: none
    assert {t.get_text() for t in ax.texts} == {"C2", "U7"}
    assert {ln.get_label() for ln in ax.lines} >= {"phosphate", "sugar", "base"}
    with pytest.raises(ParameterError, match="protein and nucleic"):
        plot_residue_q(table, chain="B", mol_type="water")


def test_report_is_self_contained_with_summary_tables_and_links(cec_report):
    page = Path(cec_report["paths"]["report_html"]).read_text(encoding="utf-8")
    assert not re.search(r"""<(script|img|link)[^>]*\s(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert "<script src" not in page and 'rel="stylesheet"' not in page
    result = cec_report["result"]
    assert f'id="mean-q">{result.mean_q():.3f}<' in page
    assert page.count('<img src="data:image/svg+xml;base64,') == sum(k.endswith("_svg") for k in cec_report["paths"])
    specs = {m.group(1): json.loads(m.group(2)) for m in
             re.finditer(r'<script type="application/json" class="qs-table-data" data-target="([^"]+)">(.*?)</script>',
                         page)}
    assert len(specs["table-residues"]["rows"]) == 553 and specs["table-residues"]["flag"] is not None
    assert len(specs["table-chains"]["rows"]) == 1
    for name in ("_atoms.csv", "_summary.json", ".defattr", ".cxc", "_residues.csv"):
        assert re.search(rf'href="[^"]*{re.escape(name)}"', page), name
    assert "version: numba" in page and "parameter: sigma" in page


def _column(browser, table_id, label):
    heads = browser.find_elements("css selector", f"#{table_id} thead th")
    return [h.text.split(" ")[0] for h in heads].index(label.split(" ")[0])


def _cells(browser, table_id, i):
    return [r.find_elements("css selector", "td")[i].text
            for r in browser.find_elements("css selector", f"#{table_id} tbody tr")]


def test_report_in_headless_chromium(cec_report, browser, tmp_path):
    errors = open_page(browser, cec_report["paths"]["report_html"])
    assert errors == []
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height + 50, 12000))
    shot = Path(os.environ.get("QSCORE_REPORT_SCREENSHOT") or tmp_path / "report.png")
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 50_000
    result = cec_report["result"]
    summary = browser.find_element("id", "summary").text
    assert f"{result.mean_q():.3f}" in summary and "4,308" in summary and "expected at 3.9 å" in summary.lower()
    assert browser.find_element("id", "outside-map").text == "0"
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure img')).map(i => [i.complete, i.naturalWidth])")
    drawn = sum(k.endswith("_svg") for k in cec_report["paths"])
    assert len(images) == drawn and all(ok and w > 100 for ok, w in images)
    # sorting: click the Q header once (ascending), again (descending)
    q_col = _column(browser, "table-residues", "Q")
    header = browser.find_elements("css selector", "#table-residues thead th button")[q_col]
    all_q = np.sort(cec_report["analysis"].residues["Q_residue"].to_numpy())
    header.click()
    shown = [float(v) for v in _cells(browser, "table-residues", q_col)]
    assert len(shown) == 50 and shown == sorted(shown) and shown[0] == pytest.approx(all_q[0], abs=6e-4)
    header.click()
    shown = [float(v) for v in _cells(browser, "table-residues", q_col)]
    assert shown == sorted(shown, reverse=True) and shown[0] == pytest.approx(all_q[-1], abs=6e-4)
    # filtering by flag: only highlighted rows below the band
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("css selector", "#table-residues .qs-flag-filter")).select_by_value("below")
    rows = browser.find_elements("css selector", "#table-residues tbody tr")
    n_below = int((cec_report["analysis"].residues["Q_flag"] == "below").sum())
    assert len(rows) == min(n_below, 50) and all("flag-below" in r.get_attribute("class").split() for r in rows)
    assert f"of {n_below} (filtered from 553)" in browser.find_element("css selector", "#table-residues .qs-count").text
    assert page_messages(browser) == []


def test_report_without_resolution_says_so_in_place(tmp_path, browser):
    from conftest import build_demo

    inputs = build_demo(tmp_path)
    result = qscore.score(inputs["model"], inputs["map"], profiles=True)
    paths = write_report(result, result.analyse(), tmp_path)
    page = Path(paths["report_html"]).read_text(encoding="utf-8")
    assert 'id="no-resolution"' in page and "Needs the map&#x27;s resolution" in page
    assert 'id="fig-archive"' in page and "residue_q_1_A_protein_svg" in paths and "atom_q_svg" in paths
    assert "palette 0,#D55E00:0.5,white:1,#0072B2" in Path(paths["cxc"]).read_text()
    assert open_page(browser, paths["report_html"]) == []
    assert "Needs the map's resolution" in browser.find_element("id", "fig-archive").text
    assert len(browser.find_elements("css selector", "#table-residues tbody tr")) == 24


def _many_chains_cif(path, n_chains):
    """``n_chains`` one-residue protein chains (N, CA, C) on a lattice, with two-letter chain IDs."""
    lines = ["data_many", "loop_"] + [f"_atom_site.{t}" for t in (
        "group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id", "label_asym_id", "label_seq_id",
        "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv", "auth_seq_id", "auth_asym_id",
        "pdbx_PDB_model_num")]
    coords = []
    k = 0
    for c in range(n_chains):
        base = np.array([2.0 + 3.0 * (c % 12), 2.0 + 3.0 * ((c // 12) % 12), 2.0 + 3.0 * (c // 144)])
        chain = chr(65 + c // 26 % 26) + chr(65 + c % 26) + (str(c // 676) if c >= 676 else "")
        for name, el, off in (("N", "N", (0, 0, 0)), ("CA", "C", (1.46, 0, 0)), ("C", "C", (2.0, 1.4, 0))):
            k += 1
            xyz = base + off
            coords.append(xyz)
            lines.append(f"ATOM {k} {el} {name} ALA {chain} 1 {xyz[0]:.3f} {xyz[1]:.3f} {xyz[2]:.3f} 1.0 20.0 1 "
                         f"{chain} 1")
    Path(path).write_text("\n".join(lines) + "\n")
    return np.array(coords)


def test_thousands_of_chains_are_summarised_and_paginated(tmp_path, browser):
    coords = _many_chains_cif(tmp_path / "many.cif", 1500)
    dmap = gaussian_map(coords[::25], shape=(45, 50, 50), voxel=(0.8, 0.8, 0.8), origin=(-2.0, -2.0, -2.0))
    result = qscore.score(tmp_path / "many.cif", dmap, resolution=3.0, profiles=True)
    paths = write_report(result, result.analyse(), tmp_path, max_chain_plots=2)
    assert sum(k.startswith("residue_q_") and k.endswith("_svg") for k in paths) == 2
    assert "chains_svg" in paths
    page = Path(paths["report_html"]).read_text(encoding="utf-8")
    assert "2 of 1500 polymer chains with the lowest mean Q" in page
    worst = result.analyse().chains.nsmallest(2, "Q")["chain"].tolist()
    drawn = [k for k in paths if k.startswith("residue_q_") and k.endswith("_svg")]
    assert sorted(k.split("_")[3] for k in drawn) == sorted(worst)  # the worst chains in detail
    assert open_page(browser, paths["report_html"]) == []
    assert len(browser.find_elements("css selector", "#table-chains tbody tr")) == 50
    assert "of 1500" in browser.find_element("css selector", "#table-chains .qs-count").text
    browser.find_element("css selector", "#table-chains .qs-next").click()
    assert "rows 51–100 of 1500" in browser.find_element("css selector", "#table-chains .qs-count").text


def test_single_atom_model(tmp_path):
    model = write_pdb(tmp_path / "one.pdb", [[10.0, 10.0, 10.0]], name="MG", res_name="MG", element="MG")
    result = qscore.score(model, gaussian_map([[10.0, 10.0, 10.0]], noise=0.01), resolution=2.5, profiles=True)
    paths = write_report(result, result.analyse(), tmp_path)
    page = Path(paths["report_html"]).read_text(encoding="utf-8")
    assert "no protein or nucleic-acid residues" in page and "atom_q_svg" in paths and "profiles_svg" in paths
    spec = re.search(r'data-target="table-ligands">(.*?)</script>', page).group(1)
    assert len(json.loads(spec)["rows"]) == 1


def test_non_ascii_file_names_and_html_escaping(tmp_path):
    from conftest import build_demo

    folder = tmp_path / "résultats <α>"
    inputs = build_demo(folder)
    model = folder / "modèle & co.pdb"
    Path(inputs["model"]).rename(model)
    result = qscore.score(model, inputs["map"], resolution=2.5)
    result.analyse()
    outputs = write_score_outputs(result, folder)
    paths = write_report(result, result.analysis, folder, outputs=outputs)
    page = Path(paths["report_html"]).read_text(encoding="utf-8")
    assert "modèle &amp; co.pdb" in page and "<α>" not in page
    assert 'href="mod%C3%A8le%20%26%20co__Q__demo_map.cif"' in page
    assert Path(paths["report_html"]).name == "modèle & co__Q__demo_map_report.html"


def test_table_json_is_safe_inside_a_script():
    table = pd.DataFrame({"res_name": ["</script><b>x</b>", "ALA"], "Q": [np.nan, 0.5]})
    spec = table_spec(table, [("res_name", "Name", "str", None, True), ("Q", "Q", "num", 3, False),
                              ("absent", "Absent", "num", 3, False)])
    assert spec["rows"] == [["</script><b>x</b>", None], ["ALA", 0.5]] and len(spec["columns"]) == 2
    from qscore.report.html_parts import _json_script

    text = _json_script("t", spec)
    assert text.count("</script>") == 1 and json.loads(text[text.index(">") + 1:-len("</script>")]) == spec


def test_profile_atoms_are_chosen_or_refused(cec_report):
    result = cec_report["result"]
    picks = select_profile_atoms(result.atoms, result.q)
    assert len(picks) == 3 and result.q[picks[0]] > result.q[picks[1]] > result.q[picks[2]]
    (i,) = select_profile_atoms(result.atoms, result.q, ["A:26:CA"])
    assert result.atoms.name[i] == "CA" and result.atoms.res_num[i] == 26
    assert len(select_profile_atoms(result.atoms, result.q, ["A:20-22:CA+CB", "A:30:N"])) == 6  # 22 is a Gly
    with pytest.raises(ParameterError, match="not CHAIN"):
        select_profile_atoms(result.atoms, result.q, ["A:26:CA:B:C"])
    with pytest.raises(QScoreError, match="matches no atom"):
        select_profile_atoms(result.atoms, result.q, ["A:26:XX"])


def test_profile_figure_draws_the_reference_and_fitted_gaussians(cec_report):
    from qscore.analysis.profiles import fit_gaussian, profile_radii

    result = cec_report["result"]
    fig = next(f for f in report_figures(result, cec_report["analysis"], profile_atoms=["A:26:CA"])
               if f.key == "profiles").figure
    ax = fig.axes[0]
    (i,) = select_profile_atoms(result.atoms, result.q, ["A:26:CA"])
    radii, y = profile_radii(result), result.profile[i]
    fit = fit_gaussian(radii, y)
    assert fit["converged"]
    curve = [ln for ln in ax.lines if ln.get_color().upper() == "#D55E00"]
    assert len(curve) == 1
    x, fitted = curve[0].get_data()
    assert fitted == pytest.approx(fit["A"] * np.exp(-0.5 * ((x - fit["mu"]) / fit["sigma"]) ** 2) + fit["B"])
    assert f"fit σ {fit['sigma']:.2f} Å" in " ".join(tx.get_text() for tx in ax.texts)
    assert "A ALA 26 CA" in ax.get_title()
    ref = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    x, g = ref[0].get_data()  # the reference's shape (sigma) over the points' range
    assert g[0] == pytest.approx(np.nanmax(y)) and g[-1] == pytest.approx(np.nanmin(y), abs=1e-5 * np.ptp(y))
    points = [ln for ln in ax.lines if ln.get_marker() == "o"][0].get_data()
    assert np.allclose(points[1], y[np.isfinite(y)])


def _profile_style(fig) -> dict:
    """How the first panel of a profile figure draws its series, and where the legend is."""
    ax = fig.axes[0]
    return {"reference": sorted({ln.get_linestyle() for ln in ax.lines if ln.get_color() == "#999999"}),
            "fit": sorted({ln.get_linestyle() for ln in ax.lines if ln.get_color().upper() == "#D55E00"}),
            "legend": [tx.get_text() for lg in fig.legends for tx in lg.get_texts()],
            "legend_loc": [lg._loc for lg in fig.legends]}


def test_qscore_profile_figure_is_drawn_in_the_report_style(cec_report):
    from qscore.analysis.profiles import profile_table, select_atoms, selection_profile
    from qscore.report.profile_plots import plot_profiles

    result = cec_report["result"]
    report_fig = next(f for f in report_figures(result, cec_report["analysis"], profile_atoms=["A:26:CA"])
                      if f.key == "profiles").figure
    mask = select_atoms(result.atoms, "A:26:CA")
    tool_fig = plot_profiles(profile_table(result, mask), sigma=result.params.sigma,
                             selection=selection_profile(result, mask))
    assert _profile_style(tool_fig) | {"legend": None} == _profile_style(report_fig) | {"legend": None}
    style = _profile_style(report_fig)
    assert style["reference"] == ["--"] and style["fit"] == ["-"] and style["legend_loc"] == [8]  # lower center
    assert "reference Gaussian, σ 0.4 Å (over the points' range)" in _profile_style(tool_fig)["legend"]
    # many atoms: one panel of thin lines, the reference over the mean profile's range, a legend naming both
    table = profile_table(result, select_atoms(result.atoms, "A:20-40"))
    many = plot_profiles(table, sigma=0.4, max_panels=12)
    labels = _profile_style(many)["legend"]
    assert f"one atom's profile ({len(table)} atoms)" in labels and "reference over the mean's range" in labels
    assert sum(ax.get_visible() for ax in many.axes) == 1


def test_cli_report_and_score_report(tmp_path):
    from conftest import build_demo

    inputs = build_demo(tmp_path / "in")
    res = CliRunner().invoke(main, ["report", inputs["model"], inputs["map"], "-r", "2.5", "--out", str(tmp_path / "a"),
                                    "--profile-atom", "A:5:CA", "--max-chain-plots", "1"])
    assert res.exit_code == 0, res.output
    stem = "demo_helix__Q__demo_map"
    for name in (f"{stem}_report.html", f"{stem}.defattr", f"{stem}.cxc", f"{stem}_atoms.csv",
                 f"{stem}_figures/profiles.svg"):
        assert (tmp_path / "a" / name).is_file(), name
    assert "Report:" in res.output and "_figures" in res.output and ".png" not in res.output
    res = CliRunner().invoke(main, ["score", inputs["model"], inputs["map"], "--out", str(tmp_path / "b"), "--report",
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b" / f"{stem}_report.html").is_file() and (tmp_path / "b" / f"{stem}.cxc").is_file()


def test_cli_report_bad_inputs(tmp_path):
    from conftest import build_demo

    inputs = build_demo(tmp_path / "in")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["report", inputs["model"], inputs["map"], "--out", str(out),
                                    "--profile-atom", "A:99:CA"])
    assert res.exit_code == 2 and "'A:99:CA' matches no atom" in res.output
    assert not out.exists()  # refused before anything was computed or written
    res = CliRunner().invoke(main, ["report", inputs["model"], inputs["map"], "--max-chain-plots", "-1"])
    assert res.exit_code == 2 and "--max-chain-plots" in res.output
    res = CliRunner().invoke(main, ["report", inputs["model"], inputs["map"], "--archive", "x.csv"])
    assert res.exit_code == 2 and "--resolution" in res.output


def test_report_help_is_true():
    res = CliRunner().invoke(main, ["report", "--help"])
    assert res.exit_code == 0
    for word in ("_report.html", ".defattr", ".cxc", "--profile-atom", "--max-chain-plots", "--archive", "offline"):
        assert word in res.output
    assert "--report" in CliRunner().invoke(main, ["score", "--help"]).output


def test_figures_embed_as_svg_data_uris(cec_report):
    page = Path(cec_report["paths"]["report_html"]).read_text(encoding="utf-8")
    uri = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(uri).lstrip().startswith(b"<?xml")


def test_the_page_residue_table_holds_the_lowest_q_residues_beyond_its_limit(cec_report, tmp_path):
    from qscore.report.html import page_residues

    poly = cec_report["analysis"].residues.query("mol_type == 'protein'")
    same, note = page_residues(poly, None, tmp_path)
    assert same is poly and note == ""
    rows, note = page_residues(poly, str(tmp_path / "x_residues.csv"), tmp_path, limit=50)
    assert len(rows) == 50 and list(rows.index) == sorted(rows.index)  # model order
    q = poly["Q_residue"].to_numpy(float)
    assert rows["Q_residue"].max() <= np.sort(q)[49] + 1e-12  # the 50 lowest
    assert f"has {len(poly):,} protein and nucleic residues" in note and 'href="x_residues.csv"' in note


def test_the_report_run_rescores_only_the_profile_atoms_and_draws_the_same_profiles(cec_report):
    from qscore.pipeline.outputs import _report_profiles
    from qscore.report.plots import profile_selection

    result = cec_report["result"]  # scored with every atom's profile
    chosen = select_profile_atoms(result.atoms, result.q, ["A:26:CA", "A:30:CB"], status=result.status)
    want, _ = profile_selection(result, chosen)
    got, idx = _report_profiles(result, ["A:26:CA", "A:30:CB"], {"sigma": 0.4})
    assert idx == chosen and len(got) == 2
    assert got.equals(want)  # the same Q, profiles and fits
