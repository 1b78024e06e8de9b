"""The README's examples run as written (issue 13, item 7): every ``qscore`` and ``qscore-mapq`` command of
its ``bash`` blocks and its Python block, on the demo helix and a small archive under the README's file
names.  Lines that need what a test cannot have are skipped and named: a running Dask scheduler."""

from __future__ import annotations

import gzip
import re
import shlex
import shutil
from pathlib import Path

import gemmi
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import build_demo
from qscore.cli import main
from qscore.cli.mapq import main as mapq_main

README = Path(__file__).resolve().parents[1] / "README.md"
#: what a test cannot run: a cluster at tcp://head:8786
SKIPPED = ("--scheduler",)


def _blocks(kind: str) -> list:
    return re.findall(rf"```{kind}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _commands() -> list:
    lines = [shlex.join(shlex.split(ln, comments=True)) for block in _blocks("bash") for ln in block.splitlines()]
    return [ln for ln in lines if ln.startswith(("qscore ", "qscore-mapq "))]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The README's file names, made from the demo helix: model.cif/.pdb, map.mrc/.map/.mrc.gz, emd.map,
    entries.csv (12 entries), archive.csv, and an EMDB archive in a private cache for '--archive emdb'."""
    work = tmp_path_factory.mktemp("readme")
    demo = build_demo(work / "demo", n_residues=30)  # residue A:26 exists
    shutil.copy(demo["model"], work / "model.pdb")
    st = gemmi.read_structure(demo["model"])
    st.setup_entities()
    st.make_mmcif_document().write_file(str(work / "model.cif"))
    for name in ("map.mrc", "map.map", "emd.map", "sharp.mrc", "unsharp.mrc", "half1.mrc", "half2.mrc"):
        shutil.copy(demo["map"], work / name)
    from qscore.io.maps import read_map, write_map
    from qscore.types import DensityMap

    m = read_map(demo["map"])
    write_map(work / "locres.mrc", DensityMap(values=np.full(m.values.shape, 2.5, np.float32), origin=m.origin,
                                             voxel_size=m.voxel_size))
    for name in ("pose1.cif", "pose2.cif"):
        shutil.copy(work / "model.cif", work / name)
    subgroups = "".join(f'<ModelledSubgroup chain="{ch.name}" resnum="{r.seqid.num}" icode=" " resname="{r.name}" '
                        f'model="1" Q_score="0.5"/>\n' for ch in st[0] for r in ch)
    (work / "model_validation.xml").write_text(f"<wwPDB-validation-information>\n{subgroups}"
                                               "</wwPDB-validation-information>\n")
    with open(demo["map"], "rb") as src, gzip.open(work / "map.mrc.gz", "wb") as dst:
        dst.write(src.read())
    rows = []
    for i, d in enumerate(np.arange(2.0, 5.0, 0.25)):
        entry = build_demo(work / f"e{i}", n_residues=6, resolution=float(d), seed=i)
        rows.append(f"e{i},{entry['map']},{entry['model']},{d:g}")
    (work / "entries.csv").write_text("id,map,model,resolution\n" + "\n".join(rows) + "\n")
    rng = np.random.default_rng(0)
    d = rng.uniform(1.5, 8.0, 500).round(2)
    archive = pd.DataFrame({"emdb_id": [f"EMD-{i}" for i in range(500)], "resolution": d,
                            "qscore": (1.3 - 0.15 * d + rng.normal(0, 0.05, 500)).clip(-1, 1).round(3)})
    archive.to_csv(work / "archive.csv", index=False)
    (work / "cache" / "qscore").mkdir(parents=True)
    archive.to_csv(work / "cache" / "qscore" / "emdb_qscores.csv", index=False)
    return work


@pytest.mark.parametrize("command", _commands())
def test_readme_command_runs(command, workdir, monkeypatch):
    if any(s in command for s in SKIPPED):
        pytest.skip(f"needs a running Dask scheduler: {command}")
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("XDG_CACHE_HOME", str(workdir / "cache"))
    args = shlex.split(command)
    if args[0] == "qscore-mapq":
        res = CliRunner().invoke(mapq_main, args[1:])
    else:
        if args[1] == "archive" and args[2] == "stats" and not (workdir / "batch" / "results.csv").exists():
            assert CliRunner().invoke(main, ["batch", "entries.csv", "--out", "batch", "--quiet"]).exit_code == 0
        res = CliRunner().invoke(main, args[1:])
    assert res.exit_code == 0, (command, res.output)
    assert "Traceback" not in res.output


def test_readme_python_example_runs(workdir, monkeypatch):
    (code,) = _blocks("python")
    monkeypatch.chdir(workdir)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    assert np.isfinite(namespace["result"].mean_q()) and namespace["analysis"].relative is not None
    assert Path(namespace["run"].paths["report_html"]).is_file()


def test_the_readme_has_commands_to_run():
    commands = _commands()
    assert len(commands) >= 10 and any(c.startswith("qscore-mapq") for c in commands)
