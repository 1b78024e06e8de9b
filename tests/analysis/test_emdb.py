"""Q_emdb and the EMDB validation package's JSON, re-derived from the Q file qscore writes by a slow,
independent reading of that package's rules: Biopython's mmCIF parser (as the package reads the file),
its coordinate-floor matching of Q to atoms, plain Python loops and rounding."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import APO, need
from qscore.cli import main
from qscore.cli.mapq import main as mapq_main
from qscore.pipeline.mapq import mapq_paths

pytest.importorskip("Bio")


def package_reading(q_cif):
    """(structure's first model, per-atom Q) as the package sets them: atom.qscore from the Q column
    ('?' → 0) of the row with the same floor of x, y, z (float32, as Biopython stores them), last row wins."""
    from Bio.PDB.MMCIF2Dict import MMCIF2Dict
    from Bio.PDB.MMCIFParser import MMCIFParser

    d = MMCIF2Dict(str(q_cif))
    by_cube = {}
    for x, y, z, q in zip(d["_atom_site.Cartn_x"], d["_atom_site.Cartn_y"], d["_atom_site.Cartn_z"],
                          d["_atom_site.Q-score"], strict=True):
        by_cube[tuple(math.floor(float(v)) for v in (x, y, z))] = float(q) if q != "?" else 0.0
    structure = MMCIFParser(QUIET=True).get_structure("q", str(q_cif))
    for atom in structure.get_atoms():
        atom.qscore = by_cube[tuple(math.floor(float(str(c))) for c in atom.coord)]
    return structure[0]


def counted(atom) -> bool:
    return not atom.name.startswith("H") and atom.get_parent().resname != "HOH"


def colour(v):
    if v < 0:
        return "#FF00FF"
    return "#%02X%02X%02X" % (122, int(v * 255), int(v * 255))  # noqa: UP031 - as the package writes it


def slow_model_entry(model, name):
    """One model's entry, by the package's rules, in loops."""
    atom_qs = [a.qscore for a in model.get_atoms() if counted(a)]
    residues, qs, chains = [], [], {}
    for chain in model:
        chain_qs = [a.qscore for a in chain.get_atoms() if counted(a)]
        if not chain_qs:
            continue
        chains[chain.id] = round(sum(chain_qs) / len(chain_qs), 3)
        for residue in chain:
            if residue.resname == "HOH":
                continue
            rq = [a.qscore for a in residue if counted(a)]
            qs.append(round(sum(rq) / len(rq), 3) if rq else 0.0)
            het, num, icode = residue.id
            residues.append(f"{chain.id}:{num}{icode.strip()} {residue.resname}")
    levels = np.linspace(-1, 1, 100)
    lo, hi = min(qs), max(qs)
    scaled = [(v - lo) / (hi - lo) for v in qs]
    return {"name": name, "average": round(sum(atom_qs) / len(atom_qs), 3), "n": len(atom_qs), "residues": residues,
            "qs": qs, "chains": chains, "colours": [colour(v) for v in qs],
            "atom_fractions": list(np.around(np.histogram(atom_qs, bins=levels)[0] / len(atom_qs), 3)),
            "residue_fractions": list(np.around(np.histogram(qs, bins=levels)[0] / len(qs), 3)),
            "model_colour_first": scaled[0]}


def check_entry(ours, slow):
    data = ours["data"]
    assert ours["name"] == slow["name"]
    assert data["averageqscore"] == slow["average"] and data["numberofatoms"] == slow["n"]
    assert data["residue"] == slow["residues"] and data["qscore"] == slow["qs"] == data["inclusion"]
    assert {c: v["value"] for c, v in data["chainqscore"].items()} == slow["chains"]
    assert data["color"] == slow["colours"] and data["averageqscore_color"] == colour(slow["average"])
    dist = data["qFractionDistribution"]
    assert dist["qAtomFractions"] == slow["atom_fractions"] and dist["qResidueFractions"] == slow["residue_fractions"]
    assert len(dist["qLevels"]) == 99 and dist["qLevels"][-1] == 1.0
    assert len(data["model_color"]) == len(slow["qs"]) and data["model_color"][0].startswith("#")


@pytest.fixture(scope="module")
def apo_run(tmp_path_factory):
    need(APO)
    folder = tmp_path_factory.mktemp("emdb")
    model = folder / "3ajo.cif"
    import gemmi

    st = gemmi.read_structure(str(APO / "3ajo_fitted_refined.pdb"))
    st.setup_entities()
    st.make_mmcif_document().write_file(str(model))  # the package passes mmCIF models
    mp = folder / "emd_20026.map"
    shutil.copyfile(APO / "emd20026_prot.mrc", mp)
    return folder, model, mp


def test_emdb_json_of_score_is_the_packages_reading_of_our_q_file(apo_run):
    folder, model, mp = apo_run
    out = folder / "score"
    res = CliRunner().invoke(main, ["score", str(model), str(mp), "-r", "1.75", "--emdb-json", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    ours = json.loads((out / "emd_20026.map_qscore.json").read_text())["qscore"]
    slow = slow_model_entry(package_reading(out / "3ajo__Q__emd_20026.cif"), "3ajo.cif")
    check_entry(ours["0"], slow)
    assert ours["allmodels_average_qscore"] == slow["average"]
    # apoferritin: 1,654 atoms, 229 waters; Q_emdb is the mean over its non-water atoms as the package rounds it
    summary = json.loads((out / "3ajo__Q__emd_20026_summary.json").read_text())
    q = np.array([float(v) for v in _q_column(out / "3ajo__Q__emd_20026.cif")])
    waters = np.array(_column(out / "3ajo__Q__emd_20026.cif", "label_comp_id")) == "HOH"
    assert len(q) == 1654 and waters.sum() == 229
    assert summary["analysis"]["emdb"]["Q_emdb"] == slow["average"] == round(float(q[~waters].mean()), 3) == 0.792
    assert summary["analysis"]["emdb"]["atoms"] == 1425


def _column(path, tag):
    import gemmi

    return [gemmi.cif.as_string(v) for v in gemmi.cif.read(str(path))[0].find_values(f"_atom_site.{tag}")]


def _q_column(path):
    return _column(path, "Q-score")


def test_two_models_in_one_qscore_mapq_call_give_the_atom_weighted_mean(apo_run):
    folder, model, mp = apo_run
    second = folder / "3ajo_half.cif"
    import gemmi

    st = gemmi.read_structure(str(model))
    chain = st[0][0]
    for i in range(85, -1, -1):  # the first 86 residues (half of the protein) removed
        del chain[i]
    st.make_mmcif_document().write_file(str(second))
    res = CliRunner().invoke(mapq_main, [f"map={mp}", f"cif={model}", f"cif={second}", "np=2", "res=1.75",
                                         "sigma=0.4", "--emdb-json"])
    assert res.exit_code == 0, res.output
    assert "error" not in res.output.lower()
    ours = json.loads((folder / "emd_20026.map_qscore.json").read_text())["qscore"]
    slows = [slow_model_entry(package_reading(mapq_paths(m, mp)["model"]), m.name) for m in (model, second)]
    for i, slow in enumerate(slows):
        check_entry(ours[str(i)], slow)
    weighted = sum(s["n"] * s["average"] for s in slows) / sum(s["n"] for s in slows)
    assert ours["allmodels_average_qscore"] == round(weighted, 3)
    assert slows[0]["n"] != slows[1]["n"]


def test_q_is_matched_by_coordinate_floor_as_the_package_does():
    """Two atoms in one 1 Å cube: both get the Q of the later row."""
    from qscore.analysis.emdb import emdb_q, va_atom_q
    from qscore.io.models import atoms_from_arrays

    coords = [[1.2, 1.1, 1.3], [1.9, 1.8, 1.05], [3.5, 3.5, 3.5]]
    atoms = atoms_from_arrays(coords, element=["C", "O", "N"], name=["C", "O", "N"], res_name=["ALA"] * 3,
                              chain=["A"] * 3, res_num=[1, 1, 2])
    q = np.array([0.2, 0.8, np.nan])
    assert va_atom_q(atoms, q).tolist() == [0.8, 0.8, 0.0]  # NaN ('?') reads as 0
    e = emdb_q(atoms, q)
    assert e.value == round((0.8 + 0.8 + 0.0) / 3, 3) and e.chains == {"A": e.value}
    assert e.residues["label"].tolist() == ["A:1 ALA", "A:2 ALA"] and e.residues["Q_emdb"].tolist() == [0.8, 0.0]


def test_q_emdb_is_in_the_tables_the_summary_and_the_report(demo_inputs, tmp_path):
    import pandas as pd

    res = CliRunner().invoke(main, ["report", str(demo_inputs["model"]), str(demo_inputs["map"]), "-r",
                                    str(demo_inputs["resolution"]), "-o", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    stem = "demo_helix__Q__demo_map"
    summary = json.loads((tmp_path / f"{stem}_summary.json").read_text())["analysis"]
    value = summary["emdb"]["Q_emdb"]
    assert summary["model"][0]["Q_emdb"] == value and "HOH" in summary["emdb"]["definition"]
    residues = pd.read_csv(tmp_path / f"{stem}_residues.csv")
    chains = pd.read_csv(tmp_path / f"{stem}_chains.csv")
    assert residues["Q_emdb"].notna().all() and chains["Q_emdb"].tolist() == [summary["emdb"]["chains"]["A"]]
    html = (tmp_path / f"{stem}_report.html").read_text()
    assert f'id="q-emdb">{value:.3f}<' in html


def test_the_archive_places_q_emdb_by_default_and_says_so(demo_inputs, tmp_path):
    import pandas as pd

    import qscore

    rng = np.random.default_rng(0)
    archive = tmp_path / "archive.csv"
    pd.DataFrame({"resolution": rng.uniform(1.5, 4, 200).round(2), "qscore": rng.uniform(0.2, 0.9, 200).round(3)}
                 ).to_csv(archive, index=False)
    result = qscore.score(demo_inputs["model"], demo_inputs["map"], resolution=demo_inputs["resolution"])
    for archive_q, expected in (("emdb", None), ("mapq", result.mean_q())):
        rel = result.analyse(qscore.analysis_settings(0.4, demo_inputs["resolution"], archive=archive,
                                                      archive_q=archive_q)).relative
        value = result.analysis.emdb.value if expected is None else expected
        assert rel.q_placed == value and rel.to_dict()["q_definition"].startswith(
            "Q_emdb" if archive_q == "emdb" else "mean Q over every non-H atom")
    with pytest.raises(qscore.errors.ParameterError, match="archive_q=median"):
        qscore.analysis_settings(0.4, 2.5, archive_q="median")


def test_va_atom_q_equals_a_slow_reading_of_the_written_file():
    """'%f' text, '?' as 0, the last row of each 1 Å cube: as the package reads the file, for values that
    round halfway at the sixth decimal too."""
    from qscore.analysis.emdb import va_atom_q
    from qscore.io.models import atoms_from_arrays

    rng = np.random.default_rng(4)
    coords = rng.uniform(-20, 20, (3000, 3)).round(3)
    q = rng.uniform(-1, 1, 3000)
    q[:200] = np.round(q[:200], 6) + 5e-7  # halfway cases
    q[200:220] = np.nan
    atoms = atoms_from_arrays(coords, element=["C"] * 3000)
    by_cube = {}
    for (x, y, z), v in zip(coords.tolist(), q.tolist(), strict=True):
        by_cube[(math.floor(x), math.floor(y), math.floor(z))] = float("%f" % v) if v == v else 0.0  # noqa: UP031
    slow = [by_cube[(math.floor(x), math.floor(y), math.floor(z))] for x, y, z in coords.tolist()]
    assert va_atom_q(atoms, q).tolist() == slow


def test_a_model_of_waters_only_has_no_q_emdb_and_is_placed_by_mapqs_mean(good, tmp_path):
    import qscore
    from conftest import write_pdb

    waters = write_pdb(good["dir"] / "waters.pdb", [[5.0, 5.0, 5.0], [6.4, 5.2, 5.1]], element="O", name="O",
                       res_name="HOH")
    archive = tmp_path / "archive.csv"
    archive.write_text("resolution,qscore\n" + "".join(f"{2 + i / 10},{0.3 + i / 100}\n" for i in range(20)))
    res = CliRunner().invoke(main, ["score", str(waters), str(good["map"]), "-r", "3", "--archive", str(archive),
                                    "--emdb-json", "-o", str(good["out"])])
    assert res.exit_code == 0, res.output
    assert "Q_emdb   –" in res.output
    va = json.loads((good["out"] / "map.mrc_qscore.json").read_text())["qscore"]
    assert va["0"]["data"]["averageqscore"] is None and "allmodels_average_qscore" not in va
    summary = json.loads((good["out"] / "waters__Q__map_summary.json").read_text())["analysis"]
    assert summary["emdb"]["Q_emdb"] is None
    rel = summary["relative"]
    assert "no atom Q_emdb counts" in rel["q_definition"] and rel["q_placed"] == pytest.approx(
        qscore.score(waters, good["map"]).mean_q())
