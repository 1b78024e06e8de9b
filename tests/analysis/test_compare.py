"""Lining up several inputs (qscore.analysis.compare) and published values (io.published, analysis.published).

Small synthetic models in Gaussian maps: the matching, the differences and the refusals.  The
published formats are written here in the shapes the public files have:

* wwPDB validation XML — ``ModelledSubgroup`` elements with ``chain``, ``resnum``, ``icode``,
  ``resname``, ``model``, ``altcode`` and ``Q_score`` attributes, under ``wwPDB-validation-information``
  with an ``Entry`` element (schema https://www.wwpdb.org/validation/schema/wwpdb_validation_v006.xsd;
  e.g. https://files.rcsb.org/pub/pdb/validation_reports/ce/7cec/7cec_validation.xml.gz).
* EMDB validation JSON — the ``qscore`` section the EMDB's validation package (va, ``newcif_toqdict``)
  writes to ``<map>_qscore.json``: ``{"qscore": {"0": {"name": ..., "data": {"residue": ["A:1 ALA"],
  "qscore": [0.5], ...}}}}`` (e.g. https://www.ebi.ac.uk/emdb/api/analysis/30342).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qscore
from conftest import gaussian_map
from qscore.analysis.compare import CompareInput, check_labels, compare
from qscore.analysis.published import compare_published, tolerance
from qscore.errors import InputFileError, ModelError, ParameterError, QScoreWarning
from qscore.io.published import read_published
from qscore.types import Atoms, Model


def _model(coords, *, chain="A", names=None, path="model.pdb") -> Model:
    n = len(coords)
    names = np.array(names if names is not None else ["CA", "CB"] * (n // 2) + ["CA"] * (n % 2))
    res = np.arange(n) // 2
    atoms = Atoms(coords=np.asarray(coords, dtype=np.float64), element=np.array(["C"] * n), name=names,
                  altloc=np.array([""] * n), res_name=np.array(["ALA"] * n), chain=np.array([chain] * n),
                  res_num=res + 1, ins_code=np.array([""] * n), residue=res, mol_type=np.array(["protein"] * n),
                  is_hydrogen=np.zeros(n, bool), row=np.arange(n), b_iso=np.full(n, 20.0))
    return Model(path=path, format="pdb", atoms=atoms)


@pytest.fixture(scope="module")
def system():
    rng = np.random.default_rng(3)
    coords = np.cumsum(rng.normal(0, 1.0, (30, 3)), axis=0) * 0.8 + 16.0
    dmap = gaussian_map(coords, shape=(48, 48, 48), voxel=(0.7, 0.7, 0.7), origin=(0.0, 0.0, 0.0), noise=0.02)
    return coords, dmap


def _input(label, model, dmap, resolution=3.0):
    r = qscore.score(model, dmap, resolution=resolution)
    return CompareInput(label=label, model=model.path, map="map.mrc", atoms=r.atom_table(), analysis=r.analyse(),
                        resolution=resolution)


def test_identical_inputs_differ_by_exactly_zero(system):
    coords, dmap = system
    a, b = _input("a", _model(coords), dmap), _input("b", _model(coords), dmap)
    c = compare([a, b], mode="models")
    assert len(c.atoms) == 30 and c.unmatched.empty and c.notes == []
    assert (c.atoms["dQ_b"] == 0).all()
    assert (c.residues["dQ_residue_b"] == 0).all() and (c.residues["Q_spread"] == 0).all()
    assert (c.residues["best"] == "similar").all()
    assert (c.chains["dQ_b"] == 0).all() and c.summary["mean_dQ_matched"].tolist() == [0.0, 0.0]


def test_a_displaced_atom_scores_lower_and_is_named_best_in_the_original(system):
    coords, dmap = system
    moved = coords.copy()
    moved[4] += [1.5, 0.0, 0.0]  # residue 3, atom CA
    c = compare([_input("orig", _model(coords), dmap), _input("moved", _model(moved), dmap)], mode="models",
                min_difference=0.05)
    row = c.residues.set_index("res_num").loc[3]
    assert row["dQ_residue_moved"] < -0.05 and row["best"] == "orig"
    assert c.largest_differences(1)["res_num"].tolist() == [3]
    assert int(c.summary.set_index("label").loc["orig", "residues_best"]) >= 1


def test_atoms_match_by_key_and_the_unmatched_are_listed(system):
    coords, dmap = system
    a = _input("a", _model(coords), dmap)
    names = ["CA", "CB"] * 15
    names[-1] = "CG"  # one atom of the last residue renamed
    b = _input("b", _model(coords, names=names), dmap)
    c = compare([a, b], mode="models")
    assert len(c.atoms) == 29
    assert sorted(c.unmatched["input"]) == ["a", "b"]
    assert set(c.unmatched["atom_name"]) == {"CB", "CG"}
    assert c.to_dict()["atoms_unmatched"] == {"a": 1, "b": 1}


def test_no_atom_in_common_is_refused_saying_how_matching_works(system):
    coords, dmap = system
    with pytest.raises(ModelError, match="matched by chain, residue number, insertion code, atom name and altloc"):
        compare([_input("a", _model(coords), dmap), _input("b", _model(coords, chain="B"), dmap)], mode="models")


def test_mostly_unmatched_inputs_warn_with_the_counts(system):
    coords, dmap = system
    a = _input("a", _model(coords), dmap)
    names = ["CA", "CB"] * 15
    names = [n if i < 8 else "X" + n for i, n in enumerate(names)]
    b = _input("b", _model(coords, names=names), dmap)
    with pytest.warns(QScoreWarning, match=r"Only 8 of 30 atoms .*\(a: 30, b: 30 atoms\)"):
        c = compare([a, b], mode="models")
    assert any("different molecules" in n for n in c.notes)


def test_residues_missing_from_one_input_are_only_in_the_other(system):
    coords, dmap = system
    c = compare([_input("a", _model(coords), dmap), _input("b", _model(coords[:26]), dmap)], mode="models")
    last = c.residues.set_index("res_num")
    assert last.loc[15, "best"] == "only in a" and not last.loc[15, "in_all"]
    assert np.isnan(last.loc[15, "Q_spread"]) and any("not in every input" in n for n in c.notes)


def test_different_resolutions_are_said_and_each_input_has_its_own_band(system):
    coords, dmap = system
    c = compare([_input("d2", _model(coords), dmap, 2.0), _input("d4", _model(coords), dmap, 4.0)], mode="maps")
    assert any("different resolutions (d2 2 Å, d4 4 Å)" in n for n in c.notes)
    r = c.residues
    assert {"Q_flag_d2", "Q_flag_d4", "Q_vs_peak_d2", "Q_vs_peak_d4"} <= set(r.columns)
    assert (r["Q_low95_d2"] > r["Q_low95_d4"]).all()
    s = c.summary.set_index("label")
    assert s.loc["d2", "Q_peak"] > s.loc["d4", "Q_peak"]


@pytest.mark.parametrize(("kwargs", "match"), [({"mode": "both"}, "mode="), ({"mode": "models", "min_difference": -1},
                                                                              "min_difference=")])
def test_bad_parameters_are_refused(system, kwargs, match):
    coords, dmap = system
    a = _input("a", _model(coords), dmap)
    with pytest.raises(ParameterError, match=match):
        compare([a, a], **kwargs)


def test_labels_must_be_unique_column_names():
    assert check_labels(["a", "b.2"]) == ["a", "b.2"]
    with pytest.raises(ParameterError, match="repeat"):
        check_labels(["a", "a"])
    with pytest.raises(ParameterError, match="cannot name a column"):
        check_labels(["a b"])


# --- published values -------------------------------------------------------------------------------------------


def _xml(path, rows, entry='pdbid="9xyz" EMDB-ID="EMD-99999"', extra=""):
    subgroups = "\n".join(
        f'  <ModelledSubgroup altcode="{alt}" chain="{ch}" ent="1" icode="{ins}" model="{model}" resname="{name}" '
        f'resnum="{num}" said="{ch}" seq="." Q_score="{q}"/>' for ch, num, ins, name, q, model, alt in rows)
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<wwPDB-validation-information>\n'
                    f"  <Entry {entry} />\n{subgroups}\n{extra}</wwPDB-validation-information>\n")
    return path


def _va_json(path, residues, values, name="model.cif", gz=False):
    doc = {"qscore": {"0": {"name": name, "data": {"averageqscore": 0.5, "residue": residues, "qscore": values,
                                                   "color": ["#7A0000"] * len(values)}},
                      "allmodels_average_qscore": 0.5}}
    text = json.dumps(doc)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _residues(values, names=None):
    n = len(values)
    return pd.DataFrame({"chain": "A", "res_num": np.arange(1, n + 1), "ins_code": "",
                         "res_name": names or ["ALA"] * n, "Q_emdb": values})


def test_wwpdb_xml_is_read_first_model_once_per_residue(tmp_path):
    rows = [("A", 1, " ", "ALA", "0.512", "1", " "), ("A", 2, " ", "GLY", "0.400", "1", "A"),
            ("A", 2, " ", "GLY", "0.401", "1", "B"), ("A", 3, "B", "SER", "0.250", "1", " "),
            ("A", 1, " ", "ALA", "0.900", "2", " ")]
    p = read_published(_xml(tmp_path / "x_validation.xml", rows))
    t = p.residues
    assert p.kind == "wwPDB validation XML" and p.entry == "9xyz EMD-99999"
    assert t[["res_num", "ins_code", "res_name"]].values.tolist() == [[1, "", "ALA"], [2, "", "GLY"], [3, "B", "SER"]]
    assert t["Q_published"].tolist() == [0.512, 0.4, 0.25] and set(t["decimals"]) == {3}


def test_va_json_is_read_with_insertion_codes_and_negative_numbers(tmp_path):
    p = read_published(_va_json(tmp_path / "m_qscore.json.gz", ["A:1 ALA", "A:-2 GLY", "B:12B SER"],
                                [0.5, 0.25, 0.125], gz=True))
    t = p.residues
    assert p.kind == "EMDB validation JSON" and p.model_name == "model.cif"
    expected = [["A", 1, "", "ALA"], ["A", -2, "", "GLY"], ["B", 12, "B", "SER"]]
    assert t[["chain", "res_num", "ins_code", "res_name"]].values.tolist() == expected
    assert set(t["decimals"]) == {3}  # the file's rounding: the most decimals any value has


@pytest.mark.parametrize(("text", "match"), [
    ("<wwPDB-validation-information><ModelledSubgroup chain='A' resnum='1'/></wwPDB-validation-information>",
     "no per-residue Q-scores"),
    ("<wwPDB-validation-information><ModelledSubgroup", "not well-formed XML"),
    ("<a><ModelledSubgroup chain='A' resnum='1' Q_score='high'/></a>", "not a number in"),
    ('{"qscore": {}}', "no 'qscore' section"),
    ('{"qscore": {"0": {"data": {"residue": ["A1"], "qscore": [0.1]}}}}', "is not 'CHAIN:NUMBER NAME'"),
    ('{"qscore": {"0": {"data": {"residue": ["A:1 ALA"], "qscore": []}}}}', "same length"),
    ("{not json", "not valid JSON"),
    ("plain text", "neither XML nor JSON"),
])
def test_bad_published_files_are_refused_naming_the_file(tmp_path, text, match):
    path = tmp_path / ("bad.json" if text.startswith(("{", "p")) else "bad.xml")
    path.write_text(text)
    with pytest.raises(InputFileError, match=match) as err:
        read_published(path)
    assert "bad." in str(err.value)


def test_a_json_of_several_models_is_chosen_by_the_model_name(tmp_path):
    doc = {"qscore": {"0": {"name": "a.cif", "data": {"residue": ["A:1 ALA"], "qscore": [0.1]}},
                      "1": {"name": "b.cif", "data": {"residue": ["A:1 ALA"], "qscore": [0.9]}}}}
    (tmp_path / "m.json").write_text(json.dumps(doc))
    assert read_published(tmp_path / "m.json", model_name="/x/b.cif").residues["Q_published"].tolist() == [0.9]
    with pytest.raises(InputFileError, match="none is named like"):
        read_published(tmp_path / "m.json", model_name="c.cif")


def test_agreement_is_within_the_published_rounding(tmp_path):
    assert tolerance(3) == pytest.approx(0.0005, abs=1e-8) and tolerance(2) == pytest.approx(0.0055, abs=1e-8)
    p = read_published(_va_json(tmp_path / "m.json", ["A:1 ALA", "A:2 ALA", "A:3 ALA", "A:4 GLY"],
                                [0.512, 0.4, 0.3, 0.2]))
    c = compare_published(_residues([0.512, 0.401, 0.3, 0.2], ["ALA", "ALA", "ALA", "ALA"]), p)
    assert c.table["status"].tolist() == ["agrees", "differs", "agrees", "other residue"]
    k = c.counts()
    assert (k["published"], k["matched"], k["agree"], k["differ"], k["other_residue"]) == (4, 3, 2, 1, 1)
    assert k["max_abs_dQ"] == pytest.approx(0.001)


def test_a_published_file_for_another_model_is_refused_with_the_counts(tmp_path):
    p = read_published(_va_json(tmp_path / "m.json", [f"B:{i} ALA" for i in range(1, 9)] + ["A:1 ALA"], [0.5] * 9))
    with pytest.raises(InputFileError, match=r"lists 9 residues, of which 1 match .* 8 are not in the model"):
        compare_published(_residues([0.5, 0.5]), p, model="model 'x.cif'")


def test_a_ligand_pose_is_compared_against_each_band_and_drawn(system, tmp_path):
    from qscore.report.compare_html import write_compare_report

    coords, dmap = system

    def with_ligand(xyz, path):
        m = _model(xyz, path=path)
        a = m.atoms
        lig = np.arange(len(a)) >= 24  # the last 6 atoms: one ligand residue
        a.mol_type[lig], a.res_name[lig], a.res_num[lig], a.residue[lig] = "ligand", "LIG", 99, 12
        a.name[lig] = [f"C{i}" for i in range(1, 7)]
        return m

    turned = coords.copy()
    away = coords[24:].mean(axis=0) - coords[:24].mean(axis=0)
    turned[24:] += 2.0 * away / np.linalg.norm(away)  # the ligand 2 Å off its density: a wrong pose
    orig, pose = _input("orig", with_ligand(coords, "orig.pdb"), dmap), _input("pose", with_ligand(turned, "p.pdb"),
                                                                             dmap)
    c = compare([orig, pose], mode="models")
    lig = c.ligands()
    assert lig["res_name"].tolist() == ["LIG"] and lig["best"].tolist() == ["orig"]
    assert {"Q_residue_orig", "Q_residue_pose", "Q_low95_orig", "Q_flag_pose"} <= set(lig.columns)
    assert c.to_dict()["ligands"][0]["best"] == "orig"
    paths = write_compare_report(c, tmp_path, "t")
    assert {"ligands_png", "scatter_png", "paired_1_png"} <= set(paths)
    page = Path(paths["report_html"]).read_text()
    assert 'id="fig-ligands"' in page and "LIG" in page
