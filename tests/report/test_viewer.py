"""The report's 3D view (Mol*, vendored): offline, drawn, coloured by Q, focused from the tables; its limits.

Driven in headless Chromium with software WebGL (SwiftShader).  Set QSCORE_VIEWER_SCREENSHOT=FILE.png to keep
the screenshot of the 7CEC chain A report's 3D view (docs/images/report_viewer.png was made so).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import qscore
from conftest import CEC, need, open_page, page_messages, wait_viewer
from qscore.pipeline.outputs import write_score_outputs
from qscore.report import viewer as viewer_module
from qscore.report.html import write_report
from qscore.report.viewer import FLAG_COLOURS, crop_map, palette_colour, viewer_palette

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cec_viewer(tmp_path_factory):
    need(CEC)
    folder = tmp_path_factory.mktemp("viewer")
    result = qscore.score(CEC / "390_7cec_A.cif", CEC / "390_emd_30342_A_z4.mrc", resolution=3.9, profiles=True)
    analysis = result.analyse()
    outputs = write_score_outputs(result, folder)
    paths = write_report(result, analysis, folder, curve=result.curve(), outputs=outputs, report_map=True)
    plain = folder / "plain"
    plain.mkdir()
    bare = write_report(result, analysis, plain, curve=result.curve(), outputs=outputs, viewer=False)
    return {"result": result, "analysis": analysis, "html": Path(paths["report_html"]),
            "bare": Path(bare["report_html"])}


def _canvas_variance(browser) -> float:
    import matplotlib.image as mpimg

    canvas = browser.find_element("css selector", "#qs-viewer canvas")
    browser.execute_script("arguments[0].scrollIntoView()", canvas)
    time.sleep(1.0)
    png = canvas.screenshot_as_png
    pixels = mpimg.imread(io.BytesIO(png), format="png")[..., :3]
    return float(pixels.reshape(-1, 3).std(axis=0).mean())


def test_the_view_loads_offline_is_drawn_focuses_a_clicked_row_and_colours_by_q(cec_viewer, browser):
    assert open_page(browser, cec_viewer["html"]) == []
    assert wait_viewer(browser) == "1"
    resources_loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(n.startswith(("data:", "blob:")) for n in resources_loaded), resources_loaded  # nothing fetched
    assert _canvas_variance(browser) > 0.02  # not a blank canvas
    shot = os.environ.get("QSCORE_VIEWER_SCREENSHOT")
    if shot:
        browser.execute_script("document.getElementById('viewer').scrollIntoView({block: 'start'})")
        time.sleep(2.0)
        browser.find_element("id", "viewer").screenshot(shot)
    rows = browser.find_elements("css selector", "#table-residues tbody tr")
    target = rows[3]
    chain, num = target.find_elements("css selector", "td")[0].text, int(target.find_elements("css selector",
                                                                                            "td")[1].text)
    browser.execute_script("arguments[0].scrollIntoView()", target)
    target.click()
    focused = browser.execute_script("return window.qsViewer.focused()")
    assert focused == {"chain": chain, "num": num, "ins": ""}
    assert "Map cropped to the model's box plus 5 Å" in browser.find_element("css selector", ".qs-viewer-status").text
    iso = ("return window.qsViewer.plugin.managers.volume.hierarchy.current.volumes[0].representations[0]"
           ".cell.transform.params.type.params.isoValue")
    assert browser.execute_script(iso) == {"kind": "relative", "relativeValue": 1.5}
    browser.execute_script("var s = document.querySelector('.qs-contour'); s.value = '3.0'; "
                           "s.dispatchEvent(new Event('change'))")
    time.sleep(1.5)
    assert browser.execute_script(iso)["relativeValue"] == 3.0  # the contour slider moves the isosurface
    assert browser.find_element("css selector", ".qs-contour-value").text == "3.0 σ"
    row = cec_viewer["analysis"].residues.iloc[10]
    label = browser.execute_script(f"return window.qsViewer.label('A', {int(row['res_num'])}, '')")
    assert f"Q {row['Q_residue']:.3f}" in label and f"backbone {row['Q_backbone']:.3f}" in label
    assert row["res_name"] in label and (row["Q_flag"] in label)
    # the colour of a few residues, read back through the viewer's theme, is their Q on the palette
    residues = cec_viewer["analysis"].residues.set_index("res_num")
    palette = viewer_palette(cec_viewer["analysis"].expected)
    for num in residues.index[[0, 20, 100, 300, -1]]:
        q = round(float(residues.loc[num, "Q_residue"]), 3)
        got = browser.execute_script(f"return window.qsViewer.colourOf('A', {num}, '')")
        want = palette_colour(q, palette)
        assert max(abs(int(got[k:k + 2], 16) - int(want[k:k + 2], 16)) for k in (1, 3, 5)) <= 1, (num, got, want)
    below = residues.index[residues["Q_flag"] == "below"][0]
    browser.execute_script("return window.qsViewer.mode('qscore-flag')")
    time.sleep(0.5)
    assert browser.execute_script(f"return window.qsViewer.colourOf('A', {below}, '')").lower() == \
        FLAG_COLOURS["below"].lower()
    assert all(m["level"] != "SEVERE" for m in page_messages(browser))


def test_the_viewer_adds_less_than_3_MB_and_no_viewer_leaves_it_out(cec_viewer):
    with_viewer, without = cec_viewer["html"].read_text(), cec_viewer["bare"].read_text()
    assert 'id="qs-viewer"' in with_viewer and 'id="qs-viewer"' not in without and "molstar" not in without
    maps = re.search(r'id="qs-viewer-map">([^<]*)<', with_viewer).group(1)
    assert len(with_viewer) - len(without) - len(maps) < 3_000_000


def test_without_webgl_the_page_says_so_and_the_rest_works(cec_viewer):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chrome is None or shutil.which("chromedriver") is None:
        pytest.skip("needs Chromium and ChromeDriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-webgl", "--disable-3d-apis", "--disable-gpu"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    except WebDriverException as exc:
        pytest.skip(f"Chromium did not start: {exc.msg}")
    try:
        assert open_page(d, cec_viewer["html"]) == []
        assert "cannot draw WebGL" in d.find_element("css selector", ".qs-viewer-status").text
        assert len(d.find_elements("css selector", "#table-residues tbody tr")) == 50
    finally:
        d.quit()


def _data_block(html: str, element_id: str) -> dict:
    b64 = re.search(rf'id="{element_id}">([^<]*)<', html).group(1)
    return json.loads(gzip.decompress(base64.b64decode(b64)))


def test_a_model_too_large_for_the_view_is_shown_as_a_coarse_trace(cec_viewer, monkeypatch):
    monkeypatch.setattr(viewer_module, "MAX_VIEWER_ATOMS", 1000)
    html = viewer_module.viewer_section(cec_viewer["result"], cec_viewer["analysis"])
    data = _data_block(html, "qs-viewer-data")
    assert data["coarse"] and "coarse trace (CA and P atoms" in data["note"]
    model = gzip.decompress(base64.b64decode(re.search(r'id="qs-viewer-model">([^<]*)<', html).group(1))).decode()
    assert model.count("\nATOM ") == 553  # one CA per residue


def test_a_map_over_the_limit_is_reduced_and_says_so(cec_viewer):
    dmap = cec_viewer["result"].dmap
    small, note = crop_map(dmap, cec_viewer["result"].atoms.coords, max_voxels=20_000)
    assert small.values.size <= 20_000 and "averaged over" in note and "the limit is 20,000 voxels" in note
    k = small.voxel_size[0] / dmap.voxel_size[0]
    assert k == int(k) > 1
    assert abs(float(small.values.mean()) - float(dmap.values.mean())) < 0.2 * float(dmap.values.std())


def test_the_vendored_viewer_matches_its_record():
    assets = resources.files("qscore.report").joinpath("assets")
    record = json.loads(assets.joinpath("molstar.json").read_text())
    assert record["package"] == "molstar" and record["license"] == "MIT"
    for name, info in record["files"].items():
        packed = assets.joinpath(name).read_bytes()
        assert hashlib.sha256(packed).hexdigest() == info["gz_sha256"]
        assert hashlib.sha256(gzip.decompress(packed)).hexdigest() == info["sha256"]
    assert "MIT" in assets.joinpath("molstar.LICENSE").read_text() or "Permission" in assets.joinpath(
        "molstar.LICENSE").read_text()
    assert (ROOT / "scripts" / "vendor_molstar.py").is_file()
    assert np.isfinite(record["files"]["molstar.js.gz"]["gz_bytes"])


def test_a_model_file_too_large_to_embed_is_shown_as_a_coarse_trace(cec_viewer, monkeypatch):
    monkeypatch.setattr(viewer_module, "MAX_MODEL_BYTES", 10_000)
    data = _data_block(viewer_module.viewer_section(cec_viewer["result"], cec_viewer["analysis"]), "qs-viewer-data")
    assert data["coarse"] and "more than the 0.01 MB allowed" in data["note"] and "coarse trace" in data["note"]


def test_a_trace_over_its_limit_holds_the_chains_with_the_lowest_q():
    import pandas as pd

    from qscore.io.models import atoms_from_arrays

    chain = np.repeat(["A", "B", "C", "D"], [40, 30, 20, 10])
    atoms = atoms_from_arrays(np.zeros((100, 3)), name=["CA"] * 100, res_name=["ALA"] * 100, chain=chain,
                              res_num=np.arange(100))
    chains = pd.DataFrame({"chain": ["A", "B", "C", "D", "C"], "mol_type": ["protein"] * 4 + ["ligand"],
                           "Q": [0.2, 0.6, 0.5, 0.1, 0.05]})  # C's ligand is its worst part
    keep = np.ones(100, bool)
    assert viewer_module._trace_chains(atoms, chains, keep, 100) is None  # everything fits
    assert viewer_module._trace_chains(atoms, chains, keep, 75) == ["C", "D", "A"]  # 0.05, 0.1, 0.2: 70 atoms
    assert viewer_module._trace_chains(atoms, chains, keep, 25) == ["C"]  # the next (D, 10) would pass 25
    assert viewer_module._trace_chains(atoms, chains, keep, 5) == ["C"]  # the worst chain even when over


def test_a_trace_over_its_limit_says_what_it_shows(cec_viewer, monkeypatch):
    monkeypatch.setattr(viewer_module, "MAX_VIEWER_ATOMS", 1000)
    monkeypatch.setattr(viewer_module, "MAX_TRACE_ATOMS", 100)
    html = viewer_module.viewer_section(cec_viewer["result"], cec_viewer["analysis"])
    data = _data_block(html, "qs-viewer-data")
    assert "more than the 100 the report embeds: it shows the 1 of" in data["note"]
    assert {r[0] for r in data["residues"]} == {"A"}
