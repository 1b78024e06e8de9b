"""``qscore compare`` on synthetic data made from the shared 7CEC model: poses, maps, published values.

Residues 1–60 of 7CEC chain A; maps simulated from them with molmap at 2 Å and 4 Å (3% noise).  The
"rotated" model turns the side chain of every third long residue 180° about its CA–CB bond: in a
map simulated from the original pose, the original must score higher there and the comparison
must say so.
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

LONG = {"ARG", "LYS", "GLU", "GLN", "TYR", "PHE", "TRP", "LEU", "MET", "ILE", "HIS", "ASP", "ASN"}
FIXED = {"N", "CA", "C", "O", "CB", "OXT"}


def _rotate_side_chain(res) -> None:
    import gemmi

    ca, cb = np.array(res["CA"][0].pos.tolist()), np.array(res["CB"][0].pos.tolist())
    axis = (cb - ca) / np.linalg.norm(cb - ca)
    for a in res:
        if a.name not in FIXED:
            v = np.array(a.pos.tolist()) - cb
            a.pos = gemmi.Position(*(cb + 2 * np.dot(v, axis) * axis - v))  # 180° about CA–CB


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    gemmi = pytest.importorskip("gemmi")
    from qscore.analysis.correlation import molmap
    from qscore.io.maps import write_map
    from qscore.types import DensityMap

    need(CEC)
    folder = tmp_path_factory.mktemp("compare")
    st = gemmi.read_structure(str(CEC / "390_7cec_A.cif"))
    chain = st[0][0]
    for i in range(len(chain) - 1, -1, -1):
        if chain[i].seqid.num > 60:
            del chain[i]
    st.make_mmcif_document().write_file(str(folder / "orig.cif"))
    xyz = np.array([a.pos.tolist() for r in chain for a in r])
    elements = np.array([a.element.name for r in chain for a in r])
    moved = []
    for res in chain:
        if res.name in LONG and res.seqid.num % 3 == 0:
            _rotate_side_chain(res)
            moved.append(res.seqid.num)
    st.make_mmcif_document().write_file(str(folder / "rot.cif"))
    for ch in st[0]:
        ch.name = "Z"
    st.make_mmcif_document().write_file(str(folder / "chainz.cif"))
    rng = np.random.default_rng(1)
    for d in (2.0, 4.0):
        m = molmap(xyz, elements, d)
        v = m.values + rng.normal(0, 0.03 * m.values.max(), m.values.shape)
        write_map(folder / f"sim{d:g}.mrc", DensityMap(values=v.astype(np.float32), origin=m.origin,
                                                       voxel_size=m.voxel_size))
    return {"dir": folder, "moved": moved, "orig": folder / "orig.cif", "rot": folder / "rot.cif",
            "chainz": folder / "chainz.cif", "map2": folder / "sim2.mrc", "map4": folder / "sim4.mrc"}


def _run(*args):
    return CliRunner().invoke(main, ["compare", *map(str, args)])


@pytest.fixture(scope="module")
def poses(data):
    out = data["dir"] / "poses"
    r = _run("--map", data["map2"], data["orig"], data["rot"], "-r", 2, "-o", out)
    assert r.exit_code == 0, r.output
    return {"out": out, "output": r.output, "stem": "orig_vs_rot__Q__sim2"}


def test_the_original_side_chains_score_higher_and_the_comparison_says_so(data, poses):
    res = pd.read_csv(poses["out"] / f"{poses['stem']}_compare_residues.csv")
    moved = res[res["res_num"].isin(data["moved"])]
    assert len(moved) == len(data["moved"]) >= 10
    assert (moved["best"] == "orig").all()
    assert (moved["dQ_sidechain_rot"] < -0.2).all()
    rest = res[~res["res_num"].isin(data["moved"])]
    assert (rest["best"] == "similar").mean() > 0.9
    summary = pd.read_csv(poses["out"] / f"{poses['stem']}_compare_summary.csv").set_index("label")
    assert summary.loc["orig", "Q"] > summary.loc["rot", "Q"]
    assert summary.loc["orig", "residues_best"] == len(data["moved"])
    assert f"orig {float(summary.loc['orig', 'Q']):.3f}"[:9] in " ".join(poses["output"].split())
    assert "→ orig" in poses["output"]


def test_the_outputs_are_written_and_the_json_says_what_differs(poses):
    out, stem = poses["out"], poses["stem"]
    names = {p.name for p in out.iterdir()}
    for kind in ("atoms", "residues", "chains", "summary"):
        assert f"{stem}_compare_{kind}.csv" in names
    assert f"{stem}_compare_ligands.csv" not in names  # the model has no ligands
    doc = json.loads((out / f"{stem}_compare.json").read_text())
    assert doc["mode"] == "models" and doc["labels"] == ["orig", "rot"] and doc["min_difference"] == 0.05
    assert doc["largest_differences"][0]["best"] == "orig" and doc["atoms_unmatched"] == {"orig": 0, "rot": 0}
    assert Path(doc["outputs"]["report_html"]).is_file()


def test_a_2A_map_gives_higher_q_than_a_4A_map_and_each_its_own_band(data, tmp_path):
    r = _run("--model", data["orig"], data["map2"], data["map4"], "-r", 2, "-r", 4, "-o", tmp_path, "--no-report")
    assert r.exit_code == 0, r.output
    assert "different resolutions (sim2 2 Å, sim4 4 Å)" in " ".join(r.output.split())
    res = pd.read_csv(tmp_path / "orig__Q__sim2_vs_sim4_compare_residues.csv")
    assert (res["dQ_residue_sim4"] < 0).mean() >= 0.95
    assert (res["Q_peak_sim2"] > res["Q_peak_sim4"]).all()
    assert {"Q_flag_sim2", "Q_flag_sim4", "Q_vs_peak_sim2", "Q_vs_peak_sim4"} <= set(res.columns)


def test_identical_inputs_give_differences_of_exactly_zero(data, tmp_path):
    r = _run("--map", data["map2"], data["orig"], data["orig"], "-r", 2, "-o", tmp_path, "--no-report", "--no-cc")
    assert r.exit_code == 0, r.output
    atoms = pd.read_csv(tmp_path / "orig_vs_orig__Q__sim2_compare_atoms.csv")
    res = pd.read_csv(tmp_path / "orig_vs_orig__Q__sim2_compare_residues.csv")
    assert (atoms["dQ_orig_2"] == 0).all() and (res["dQ_residue_orig_2"] == 0).all()
    assert (res["best"] == "similar").all() and "No residue differs by 0.05 or more" in r.output


def _xml_from(residues: pd.DataFrame, path: Path, decimals: int = 3) -> Path:
    rows = "\n".join(f'  <ModelledSubgroup chain="{r.chain}" resnum="{r.res_num}" icode=" " resname="{r.res_name}" '
                     f'model="1" altcode=" " Q_score="{r.Q_emdb:.{decimals}f}"/>' for r in residues.itertuples())
    path.write_text(f'<?xml version="1.0"?>\n<wwPDB-validation-information>\n<Entry pdbid="7cec"/>\n{rows}\n'
                    "</wwPDB-validation-information>\n")
    return path


def test_published_values_agree_with_an_emdb_json_and_a_wwpdb_xml_of_the_model(data, tmp_path):
    r = CliRunner().invoke(main, ["score", str(data["orig"]), str(data["map2"]), "-r", "2", "--emdb-json", "-q",
                                  "-o", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    published = tmp_path / "s" / "sim2.mrc_qscore.json"
    r = _run("--map", data["map2"], data["orig"], "-r", 2, "--published", published, "-o", tmp_path / "c1",
             "--no-report")
    assert r.exit_code == 0, r.output
    assert "60 of 60 matched residues agree" in r.output and "Scored" in r.output
    r = _run("--map", data["map2"], data["rot"], "-r", 2, "--published", published, "-o", tmp_path / "c2",
             "--no-report")
    pub = pd.read_csv(tmp_path / "c2" / "rot__Q__sim2_compare_published.csv")
    differs = set(pub.loc[pub["status"] == "differs", "res_num"])
    assert set(data["moved"]) <= differs
    residues = pd.read_csv(tmp_path / "s" / "orig__Q__sim2_residues.csv", keep_default_na=False, na_values=[""])
    xml = _xml_from(residues, tmp_path / "7cec_validation.xml")
    r = _run("--map", data["map2"], data["orig"], data["rot"], "-r", 2, "--published", xml, "-o", tmp_path / "c3",
             "--no-report")
    assert r.exit_code == 0, r.output
    assert "60 of 60 matched residues agree" in r.output and "wwPDB validation XML" in r.output


def test_a_published_file_of_another_model_is_refused_before_writing(data, tmp_path):
    doc = {"qscore": {"0": {"name": "x.cif", "data": {"residue": [f"Q:{i} GLY" for i in range(1, 40)],
                                                      "qscore": [0.5] * 39}}}}
    (tmp_path / "other.json").write_text(json.dumps(doc))
    out = tmp_path / "never"
    r = _run("--map", data["map2"], data["orig"], "-r", 2, "--published", tmp_path / "other.json", "-o", out)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert "other.json" in r.output and "of which 0 match" in r.output and not out.exists()


@pytest.mark.parametrize(("args", "match"), [
    (["--map", "{map2}", "{orig}"], "'qscore score' does"),
    (["--map", "{map2}", "--model", "{orig}", "{rot}"], "one of the two"),
    (["{orig}", "{rot}"], "Give --map MAP"),
    (["--map", "{map2}", "{orig}", "{rot}", "-r", "2", "-r", "3"], "Give --resolution once"),
    (["--map", "{map2}", "{orig}", "{chainz}"], "no atom in common"),
    (["--map", "{map2}", "{orig}", "{orig}", "--label", "a", "--label", "a"], "repeat a label"),
])
def test_bad_requests_get_one_line(data, tmp_path, args, match):
    r = _run(*[a.format(**{k: str(v) for k, v in data.items()}) for a in args], "-o", tmp_path / "o")
    assert r.exit_code == 2, r.output
    assert match in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_compare_report_in_headless_chromium(data, poses, browser):
    report = poses["out"] / f"{poses['stem']}_compare_report.html"
    assert report.stat().st_size < 4_000_000  # the 3D view is about 2.2 MB of it
    assert open_page(browser, report) == []
    rows = browser.find_elements("css selector", "#table-summary tbody tr")
    assert [r.find_elements("css selector", "td")[0].text for r in rows] == ["orig", "rot"]
    first = browser.find_elements("css selector", "#table-residues tbody tr")[0]
    assert "orig" in first.text  # the largest difference first, best in the original
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure img')).map(i => [i.complete, i.naturalWidth])")
    assert len(images) == 2 and all(ok and w > 100 for ok, w in images)  # paired plot and scatter
    assert "No published values given" in browser.find_element("id", "published").text
    assert wait_viewer(browser) == "1"  # the 3D view, coloured by ΔQ: a turned side chain is vermillion-ish
    assert browser.execute_script("return window.qsViewer.current()") == "qscore-dq-rot"
    colour = browser.execute_script(f"return window.qsViewer.colourOf('A', {data['moved'][0]}, '')")
    red, blue = int(colour[1:3], 16), int(colour[5:7], 16)
    assert red > blue + 40  # ΔQ well below 0: towards vermillion
    assert all(m["level"] != "SEVERE" for m in page_messages(browser))
