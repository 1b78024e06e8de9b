"""Shared fixtures: where the real data lives, small synthetic maps and models."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CEC = DATA / "emd30342_7cec"
APO = DATA / "emd20026_apoferritin"
ACTIN = DATA / "emd5168_actin"


def need(path: Path) -> Path:
    """Skip the test unless ``path`` (in ../shared/data) exists."""
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture
def cec():
    """Paths of the 7CEC chain A data (skips when ../shared/data is absent)."""
    need(CEC)
    return {"map": CEC / "390_emd_30342_A_z4.mrc", "model": CEC / "390_7cec_A.cif",
            "model100": CEC / "390_7cec_A100.cif", "ref": CEC / "mapq_reference"}


def atom_site_head(*tags: str, block: str = "test") -> str:
    """The start of a minimal mmCIF: a data block and the ``_atom_site`` loop's tags (rows to follow)."""
    return "\n".join([f"data_{block}", "loop_", *(f"_atom_site.{t}" for t in tags)]) + "\n"


def gaussian_map(coords, *, shape=(40, 44, 48), voxel=(0.7, 0.8, 0.9), origin=(-2.0, -3.0, -1.0),
                 width=1.0, noise=0.0, seed=0):
    """A DensityMap (values zyx) that is a sum of Gaussians at ``coords`` plus optional noise."""
    from qscore.types import DensityMap

    nz, ny, nx = shape
    z, y, x = np.meshgrid(*(origin[i] + voxel[i] * np.arange(n) for i, n in ((2, nz), (1, ny), (0, nx))),
                          indexing="ij")
    values = np.zeros(shape)
    for c in np.asarray(coords):
        values += np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2) / (2 * width ** 2))
    values += np.random.default_rng(seed).normal(0, noise, shape)
    return DensityMap(values=values.astype(np.float32), origin=origin, voxel_size=voxel)


@pytest.fixture
def small_system():
    """A compact cluster of 40 atoms inside a Gaussian map (with noise), deterministic."""
    rng = np.random.default_rng(7)
    coords = rng.uniform(4.0, 20.0, size=(40, 3))
    dmap = gaussian_map(coords, noise=0.05)
    return coords, dmap


def write_pdb(path, coords, *, element="C", name="CA", res_name="ALA", chain="A"):
    """Write a minimal PDB file with one atom per residue."""
    lines = []
    for i, (x, y, z) in enumerate(np.asarray(coords), start=1):
        lines.append(f"ATOM  {i:5d} {name:<4s} {res_name:3s} {chain}{i:4d}    "
                     f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00 20.00          {element:>2s}")
    lines.append("END")
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


@pytest.fixture
def good(tmp_path):
    """A small valid model and map in tmp_path/in; outputs are expected in tmp_path/out."""
    from qscore.io.maps import write_map

    (tmp_path / "in").mkdir()
    coords = np.array([[5.0, 5.0, 5.0], [6.4, 5.2, 5.1], [7.0, 6.5, 5.0]])
    model = write_pdb(tmp_path / "in" / "model.pdb", coords)
    mp = tmp_path / "in" / "map.mrc"
    write_map(mp, gaussian_map(coords, shape=(14, 14, 14), voxel=(1.0, 1.0, 1.0), origin=(0, 0, 0), noise=0.01))
    return {"model": model, "map": mp, "out": tmp_path / "out", "dir": tmp_path / "in"}


def run_score(good, *args):
    """``qscore score`` on the ``good`` inputs into good["out"], with extra arguments."""
    from click.testing import CliRunner

    from qscore.cli import main

    return CliRunner().invoke(main, ["score", str(good["model"]), str(good["map"]), "-o", str(good["out"]),
                                     *map(str, args)])


def assert_cli_refused(res, good, *phrases):
    """Exit code 2, one ``Error:`` message containing every phrase, no traceback, nothing written."""
    assert res.exit_code == 2, res.output
    assert res.output.startswith("Error: ") and "Traceback" not in res.output
    for p in phrases:
        assert p.lower() in res.output.lower(), (p, res.output)
    assert not good["out"].exists() or not any(good["out"].iterdir())


# The synthetic example of 'qscore demo' (a poly-Ala helix and a map simulated from it) is the tests'
# data where no real data are needed; every test takes it from here.
from qscore.pipeline.demo import build_demo, helix_coordinates  # noqa: E402, F401 - the tests' synthetic data


@pytest.fixture(scope="session")
def demo_inputs(tmp_path_factory):
    """The demo helix (24 residues) and its 2.5 Å map, built once per session: {'model', 'map', 'resolution'}."""
    return build_demo(tmp_path_factory.mktemp("demo"))


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by chromedriver (Debian packages chromium, chromium-driver) through selenium."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    chrome, driver = _chromium(), shutil.which("chromedriver")
    if chrome is None or driver is None:
        pytest.skip("headless-browser tests need Chromium and ChromeDriver: apt-get install chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                "--window-size=1280,1000", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        d = webdriver.Chrome(service=Service(driver), options=opts)
    except WebDriverException as exc:
        pytest.skip(f"Chromium did not start: {exc.msg}")
    yield d
    d.quit()


def page_messages(browser) -> list:
    """The page's console messages since the last call, without the software renderer's own performance notes
    (SwiftShader's 'GPU stall due to ReadPixels' and the like, logged by Chromium as source 'rendering')."""
    return [e for e in browser.get_log("browser") if not (e.get("source") == "rendering" and e["level"] == "WARNING")]


def open_page(browser, path):
    """Open a local HTML file; the SEVERE console messages it logged."""
    browser.get(Path(path).resolve().as_uri())
    browser.get_log("browser")  # drop anything from before this page
    browser.refresh()
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def wait_viewer(browser, timeout: float = 90.0) -> str:
    """Wait for the report's 3D view to finish loading; its state: '1' (ready), 'failed', 'absent' or 'timeout'."""
    import time

    t0 = time.time()
    while time.time() - t0 < timeout:
        state = browser.execute_script("var r = document.getElementById('qs-viewer'); "
                                       "return r ? r.getAttribute('data-ready') : 'absent'")
        if state:
            return state
        time.sleep(0.3)
    return "timeout"
