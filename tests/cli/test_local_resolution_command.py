"""``--local-resolution`` on ``score``, ``report`` and ``batch``: synthetic cases made from the shared 7CEC model.

The map is simulated from 7CEC chain A with molmap: residues 1–200 (domain A) and 401–553 (domain C) at
2.5 Å, residues 201–400 (domain B) blurred (10 Å), with noise.  The local-resolution map on the same
grid says what each domain resolves: A 1.6 Å, B 5 Å, and C 8 Å although its density is sharp — a
model fitted into detail the local resolution does not support.  Fifteen residues of A are displaced
by 1.5 Å in the scored model.  Expected: the displaced residues read *possible misfit*; B reads *not
resolved* (never misfit); C reads *possible over-fitting or noise*; the rest of A *as expected*.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import CEC, need, open_page, page_messages, wait_viewer
from qscore.cli import main

MOVED = list(range(20, 200, 12))
CLAIMED = (1.6, 5.0, 8.0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    gemmi = pytest.importorskip("gemmi")
    from qscore.analysis.correlation import molmap
    from qscore.io.maps import write_map
    from qscore.io.models import read_model
    from qscore.types import DensityMap

    need(CEC)
    folder = tmp_path_factory.mktemp("locres")
    atoms = read_model(CEC / "390_7cec_A.cif").atoms
    xyz, el = atoms.coords, atoms.element
    domain = np.where(atoms.res_num <= 200, 0, np.where(atoms.res_num <= 400, 1, 2))
    sharp = molmap(xyz, el, 2.5, weights=(domain != 1).astype(float), step=0.8, pad=8.0)
    blurred = molmap(xyz, el, 10.0, weights=(domain == 1).astype(float), step=0.8, pad=8.0)
    values = sharp.values + blurred.values
    values = values + np.random.default_rng(0).normal(0, 0.6 * sharp.values.std(), values.shape)
    grid = {"origin": sharp.origin, "voxel_size": sharp.voxel_size}
    write_map(folder / "sim.mrc", DensityMap(values=values.astype(np.float32), **grid))
    which = np.stack([molmap(xyz, el, 8.0, weights=(domain == k).astype(float), step=0.8, pad=8.0).values
                      for k in range(3)])
    total = which.sum(axis=0)
    local = np.where(total > 0.02 * total.max(), np.array(CLAIMED)[which.argmax(axis=0)], 0.0)  # 0 outside: masked
    write_map(folder / "locres.mrc", DensityMap(values=local.astype(np.float32), **grid))
    half = local[:, :, : local.shape[2] // 2]  # covers part of the model only, on a grid of its own
    write_map(folder / "locres_half.mrc", DensityMap(values=half.astype(np.float32), **grid))
    st = gemmi.read_structure(str(CEC / "390_7cec_A.cif"))
    for res in st[0][0]:
        if res.seqid.num in MOVED:
            for a in res:
                a.pos = gemmi.Position(a.pos.x + 1.5, a.pos.y, a.pos.z)
    st.make_mmcif_document().write_file(str(folder / "model.cif"))
    return {"dir": folder, "model": folder / "model.cif", "map": folder / "sim.mrc", "locres": folder / "locres.mrc",
            "half": folder / "locres_half.mrc"}


@pytest.fixture(scope="module")
def report(data):
    out = data["dir"] / "report"
    r = CliRunner().invoke(main, ["report", str(data["model"]), str(data["map"]), "-r", "2.0", "--local-resolution",
                                  str(data["locres"]), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return {"out": out, "output": r.output, "stem": "model__Q__sim"}


def test_the_four_readings_come_out_where_the_case_was_built_for_them(report):
    res = pd.read_csv(report["out"] / f"{report['stem']}_residues.csv", keep_default_na=False, na_values=[""])
    domain = np.where(res["res_num"] <= 200, "A", np.where(res["res_num"] <= 400, "B", "C"))
    moved = res["res_num"].isin(MOVED).to_numpy()
    assert (res.loc[moved, "reading"] == "possible misfit").all()
    rest_a = res[(domain == "A") & ~moved]
    assert (rest_a["reading"] == "as expected").mean() >= 0.95
    b = res[domain == "B"]
    assert (b["reading"] == "possible misfit").sum() == 0 and (b["reading"] == "not resolved").mean() >= 0.9
    assert (res.loc[domain == "C", "reading"] == "possible over-fitting or noise").mean() >= 0.95
    assert set(res.loc[domain == "B", "local_res"].round(2)) == {5.0}
    assert {"Q_peak_local", "Q_low95_local", "Q_high95_local", "Q_flag_local", "n_local_missing"} <= set(res.columns)


def test_summary_printout_atoms_and_chimerax_carry_the_readings(report):
    out, stem = report["out"], report["stem"]
    s = json.loads((out / f"{stem}_summary.json").read_text())["analysis"]["local_resolution"]
    assert s["readings"]["possible misfit"] == len(MOVED) and s["side_chain_resolution"] == 4.0
    assert s["chains"][0]["possible misfit"] == len(MOVED) and s["consistency"]["reported"] == 2.0
    assert any("may not represent the map" in n for n in s["notes"])  # median 5 Å against a reported 2 Å
    assert f"{len(MOVED)} possible misfit" in report["output"]
    atoms = pd.read_csv(out / f"{stem}_atoms.csv")
    assert atoms["local_res"].notna().all()
    by_domain = atoms.groupby(pd.cut(atoms["res_num"], [0, 200, 400, 10_000]), observed=True)["local_res"].median()
    assert by_domain.round(3).tolist() == list(CLAIMED)
    defattr = (out / f"{stem}_reading.defattr").read_text().splitlines()
    assert "recipient: residues" in defattr and f"\t/A:{MOVED[0]}\t2" in defattr  # 2: possible misfit
    cxc = (out / f"{stem}_reading.cxc").read_text()
    assert "color byattribute r:qreading" in cxc and "_reading.defattr" in cxc


def test_the_report_section_in_headless_chromium(report, browser):
    page = report["out"] / f"{report['stem']}_report.html"
    assert open_page(browser, page) == []
    section = browser.find_element("id", "local-resolution")
    assert "possible misfit" in section.text and "Median local resolution under the model" in section.text
    assert browser.find_element("id", "fig-local_resolution").is_displayed()
    count = browser.find_element("css selector", "#table-local-residues .qs-count").text
    n_odd = int(pd.read_csv(report["out"] / f"{report['stem']}_residues.csv")["reading"].isin(
        ["possible misfit", "possible over-fitting or noise", "not resolved"]).sum())
    assert f"of {n_odd}" in count
    import time

    from qscore.report.common import READING_COLOURS

    assert wait_viewer(browser) == "1"  # the 3D view's colour mode 'reading'
    assert browser.find_elements("css selector", ".qs-viewer-mode option[value='qscore-reading']")
    browser.execute_script("return window.qsViewer.mode('qscore-reading')")
    time.sleep(0.5)
    got = browser.execute_script(f"return window.qsViewer.colourOf('A', {MOVED[0]}, '')")
    assert got.lower() == READING_COLOURS["possible misfit"].lower()
    assert all(m["level"] != "SEVERE" for m in page_messages(browser))


def test_a_map_that_covers_part_of_the_model_counts_the_rest(data, tmp_path):
    r = CliRunner().invoke(main, ["score", str(data["model"]), str(data["map"]), "-r", "2.0", "--no-cc",
                                  "--local-resolution", str(data["half"]), "-o", str(tmp_path)])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "model__Q__sim_summary.json").read_text())["analysis"]["local_resolution"]
    assert 0 < s["atoms_outside_map"] < s["atoms"]
    assert any("outside the local-resolution map's box" in n for n in s["notes"])
    assert any("grid is not the density map's" in n for n in s["notes"])
    res = pd.read_csv(tmp_path / "model__Q__sim_residues.csv", keep_default_na=False, na_values=[""])
    assert (res["reading"] == "no local resolution").sum() > 0


def test_a_density_map_given_as_local_resolution_is_refused_in_one_line(data, tmp_path):
    r = CliRunner().invoke(main, ["score", str(data["model"]), str(data["map"]), "-r", "2.0",
                                  "--local-resolution", str(data["map"]), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert "looks like a density map" in r.output and "sim.mrc" in r.output and not (tmp_path / "o").exists()
    r = CliRunner().invoke(main, ["score", str(data["model"]), str(data["map"]), "--side-chain-resolution", "0.2",
                                  "--local-resolution", str(data["locres"]), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2 and "--side-chain-resolution 0.2" in r.output


def test_batch_takes_a_local_resolution_column(data, tmp_path):
    manifest = tmp_path / "entries.csv"
    manifest.write_text(f"id,map,model,resolution,local_resolution\nwith,{data['map']},{data['model']},2.0,"
                        f"{data['locres']}\nwithout,{data['map']},{data['model']},2.0,\n")
    r = CliRunner().invoke(main, ["batch", str(manifest), "--out", str(tmp_path / "b"), "--workers", "1", "--no-cc",
                                  "--quiet"])
    assert r.exit_code == 0, r.output
    t = pd.read_csv(tmp_path / "b" / "results.csv").set_index("id")
    assert t.loc["with", "residues_possible_misfit"] == len(MOVED) and t.loc["with", "local_resolution_median"] == 5.0
    assert np.isnan(t.loc["without", "local_resolution_median"])
    assert Path(t.loc["with", "local_resolution"]).name == "locres.mrc"
