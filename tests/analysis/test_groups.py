"""Residue, chain and model tables (SPEC §4): MapQ's per-residue output, parts, smoothing, molecule types."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import qscore
from conftest import DATA
from qscore.analysis.groups import (
    analyse,
    atom_parts,
    chain_table,
    model_table,
    residue_table,
    smooth_mapq,
)
from qscore.cli import main
from qscore.io.maps import write_map
from qscore.io.models import atoms_from_arrays, read_model

CEC = DATA / "emd30342_7cec"
#: MapQ writes 6 decimals of values computed from its own per-atom Q, which ours match to ≤ 0.0015
TOL = 0.002
PARTS = {"Q_backBone": "Q_backbone", "Q_sideChain": "Q_sidechain", "Q_residue": "Q_residue"}
BLOCKS = ("", "avg3", "avg5", "avg7", "avg11")


def read_mapq_all(path) -> pd.DataFrame:
    """MapQ's ``*_All.txt`` protein block as a table (residue rows only; its gap-filler rows are dropped)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        f = line.split("\t")
        if len(f) > 20 and f[2].strip().isdigit() and f[1].strip():
            rows.append(f)

    def num(x):
        return float(x) if x.strip() else np.nan

    out = {"chain": [r[0] for r in rows], "res_name": [r[1] for r in rows], "res_num": [int(r[2]) for r in rows]}
    for b, block in enumerate(BLOCKS):  # each block: bb, sc, res, expected, blank
        for j, ours in enumerate(PARTS.values()):
            out[ours + (f"_{block}" if block else "")] = [num(r[3 + 5 * b + j]) for r in rows]
        out["expected" + (f"_{block}" if block else "")] = [num(r[6 + 5 * b]) for r in rows]
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def cec_results():
    """7CEC chain A and its first 100 atoms scored with sigma 0.6 at 3.9 Å (skips without the data)."""
    if not CEC.exists():
        pytest.skip(f"real data not available: {CEC}")
    mp = CEC / "390_emd_30342_A_z4.mrc"
    return {name: qscore.score(CEC / f"{name}.cif", mp, sigma=0.6, resolution=3.9)
            for name in ("390_7cec_A", "390_7cec_A100")}


@pytest.mark.parametrize("name,ref", [("390_7cec_A", "390_7cec_A1"), ("390_7cec_A100", "390_7cec_A100")])
def test_residue_table_reproduces_mapq(cec_results, name, ref):
    result = cec_results[name]
    ours = result.residue_table()
    mapq = read_mapq_all(CEC / "mapq_reference" / f"{ref}__Q__390_emd_30342_A_z4_All.txt")
    assert len(ours) == len(mapq)  # every residue, none invented
    assert (ours["res_num"].to_numpy() == mapq["res_num"].to_numpy()).all()
    assert (ours["res_name"].to_numpy() == mapq["res_name"].to_numpy()).all()
    worst = {}
    for block in BLOCKS:
        for col in PARTS.values():
            c = col + (f"_{block}" if block else "")
            a, b = ours[c].to_numpy(), mapq[c].to_numpy()
            assert (np.isnan(a) == np.isnan(b)).all(), c  # glycine side chains left empty, as MapQ
            worst[c] = float(np.nanmax(np.abs(a - b)))
    assert max(worst.values()) <= TOL, worst
    # MapQ's header gives the 2020 protein relation (−0.1775 d + 1.1192, as ours); its residue rows use an
    # older constant pair (0.424740 = −0.1794 · 3.9 + 1.1244), which we do not copy
    assert np.allclose(ours["Q_expected_2020"], -0.1775 * 3.9 + 1.1192)
    assert np.allclose(mapq["expected"], -0.1794 * 3.9 + 1.1244, atol=1e-6)


def test_chain_and_model_tables_of_7cec(cec_results):
    r = cec_results["390_7cec_A"]
    chains = r.chain_table()
    assert list(chains[["chain", "type", "n_residues", "n_atoms"]].iloc[0]) == ["A", "Protein", 553, 4308]
    assert abs(chains["Q"].iloc[0] - 0.4570) < 1e-3
    # MapQ's header line: "A  0.46  3.73  =-0.1775 * 3.90 + 1.1192  (Protein)"
    assert abs(chains["Q_resolution_2020"].iloc[0] - 3.73) < 0.01
    assert chains["Q_flag"].iloc[0] == "within"
    model = r.model_table()
    assert list(model["group"]) == ["all", "protein"]
    # the expected-Q curve is inverted for the whole model only, never per chain (one Q-resolution a row)
    assert "Q_resolution" not in chains.columns and 3.0 < model["Q_resolution"].iloc[0] < 4.5
    assert np.isnan(model["Q_resolution"].iloc[1])
    assert model["Q_resolution"].iloc[0] == r.analyse().q_resolution.value
    assert model["Q"].iloc[0] == pytest.approx(r.mean_q())


def test_smoothing_matches_an_obvious_loop():
    def slow(values, k):
        out = []
        for i in range(len(values)):
            window = [0.0 if np.isnan(values[j]) else values[j] for j in range(i - k, i + k + 1)
                      if 0 <= j < len(values)]
            out.append(np.nan if np.isnan(values[i]) else sum(window) / len(window))
        return np.array(out)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.one_of(st.floats(-1, 1), st.just(np.nan)), min_size=1, max_size=30),
           st.integers(0, 6))
    def check(values, k):
        v = np.array(values, dtype=float)
        assert np.allclose(smooth_mapq(v, k), slow(v, k), equal_nan=True)

    check()


def test_glycine_and_windows_by_position_not_number():
    # three residues numbered with a gap: windows count positions (as MapQ), gly enters as 0
    names = ["N", "CA", "C", "O", "CB"] + ["N", "CA", "C", "O"] + ["N", "CA", "C", "O", "CB", "OG"]
    res_num = [1] * 5 + [2] * 4 + [10] * 6
    res_name = ["ALA"] * 5 + ["GLY"] * 4 + ["SER"] * 6
    q = np.array([0.5, 0.5, 0.5, 0.5, 0.2] + [0.4] * 4 + [0.6, 0.6, 0.6, 0.6, 0.8, 0.9])
    atoms = atoms_from_arrays(np.zeros((15, 3)), element=[n[0] for n in names], name=names, res_name=res_name,
                              res_num=res_num, mol_type=["protein"] * 15)
    t = residue_table(atoms, q)
    assert np.isnan(t.loc[1, "Q_sidechain"]) and np.isnan(t.loc[1, "Q_sidechain_avg3"])
    assert t.loc[0, "Q_sidechain_avg3"] == pytest.approx((0.2 + 0.0) / 2)
    assert t.loc[2, "Q_sidechain_avg3"] == pytest.approx((0.0 + 0.85) / 2)
    assert t.loc[2, "Q_backbone_avg3"] == pytest.approx((0.4 + 0.6) / 2)  # residue 2 neighbours residue 10
    assert t.loc[1, "Q_residue_avg5"] == pytest.approx((0.44 + 0.4 + 4.1 / 6) / 3)
    assert analyse(atoms, q, sigma=0.4, n_worst=1).worst_residues()["res_name"].item() == "GLY"


def test_nucleotide_parts_with_star_names():
    names = ["P", "OP1", "OP2", "O5'", "C5'", "C4'", "O4'", "C3'", "O3'", "C2'", "O2'", "C1'", "N9", "C8", "N7"]
    star = [n.replace("'", "*") for n in names]
    parts = atom_parts(names, ["nucleic"] * len(names))
    assert list(parts[:5]) == ["phosphate"] * 5 and parts[8] == "phosphate"
    assert list(parts[[5, 6, 7, 9, 10, 11]]) == ["sugar"] * 6 and list(parts[12:]) == ["base"] * 3
    assert list(atom_parts(star, ["nucleic"] * len(star))) == list(parts)
    n = len(names)
    q = np.r_[np.full(5, 0.2), [0.4, 0.4, 0.4], 0.2, [0.4, 0.4, 0.4], [0.8, 0.8, 0.8]]
    atoms = atoms_from_arrays(np.zeros((2 * n, 3)), element=[x[0] for x in names * 2], name=names + star,
                              res_name=["A"] * n + ["G"] * n, res_num=[1] * n + [2] * n, mol_type=["nucleic"] * 2 * n)
    t = residue_table(atoms, np.r_[q, q + 0.1])
    assert list(t["Q_phosphate"].round(6)) == [0.2, 0.3] and list(t["Q_sugar"].round(6)) == [0.4, 0.5]
    assert list(t["Q_base"].round(6)) == [0.8, 0.9] and t["Q_backbone"].isna().all()
    assert t.loc[0, "Q_base_avg3"] == pytest.approx(0.85)
    assert t.loc[0, "Q_residue"] == pytest.approx(q.mean())


def small_mixed_atoms():
    """Chain A: two Ala, one ATP, one Mg, two waters (with a hydrogen); chain B: one Ala, an unknown XYZ."""
    spec = [  # (chain, res_num, res_name, atom, element, mol_type, q)
        ("A", 1, "ALA", "N", "N", "protein", 0.6), ("A", 1, "ALA", "CA", "C", "protein", 0.6),
        ("A", 1, "ALA", "H", "H", "protein", 0.6), ("A", 2, "ALA", "CA", "C", "protein", 0.3),
        ("A", 2, "ALA", "CB", "C", "protein", 0.1),
        ("A", 301, "ATP", "PG", "P", "ligand", 0.2), ("A", 301, "ATP", "N9", "N", "ligand", 0.4),
        ("A", 401, "MG", "MG", "MG", "ion", 0.9),
        ("A", 501, "HOH", "O", "O", "water", 0.5), ("A", 502, "HOH", "O", "O", "water", 0.3),
        ("A", 502, "HOH", "H1", "H", "water", -5.0),
        ("B", 1, "ALA", "CA", "C", "protein", 0.7), ("B", 601, "XYZ", "C1", "C", "ligand", 0.05),
    ]
    cols = list(zip(*spec, strict=True))
    atoms = atoms_from_arrays(np.zeros((len(spec), 3)), element=cols[4], name=cols[3], res_name=cols[2],
                              chain=cols[0], res_num=cols[1], mol_type=cols[5])
    return atoms, np.array(cols[6], dtype=float)


def test_ligand_water_ion_grouping():
    atoms, q = small_mixed_atoms()
    chains = chain_table(atoms, q)
    assert list(zip(chains["chain"], chains["type"], strict=True)) == [
        ("A", "Protein"), ("A", "ATP"), ("A", "MG"), ("A", "Water"), ("B", "Protein"), ("B", "XYZ")]
    c = chains.set_index(["chain", "type"])
    assert c.loc[("A", "Protein"), "Q"] == pytest.approx((0.6 + 0.6 + 0.3 + 0.1) / 4)  # atoms, not residues
    assert c.loc[("A", "Protein"), "n_residues"] == 2 and c.loc[("A", "Protein"), "n_atoms"] == 4
    assert c.loc[("A", "Water"), "Q"] == pytest.approx(0.4) and c.loc[("A", "Water"), "n_residues"] == 2
    assert c.loc[("B", "XYZ"), "Q"] == pytest.approx(0.05)  # unknown names are ligands, never dropped
    model = model_table(atoms, q).set_index("group")
    assert list(model.index) == ["all", "protein", "water", "ion", "ligand ATP", "ligand XYZ"]
    heavy = q[~atoms.is_hydrogen]
    assert model.loc["all", "Q"] == pytest.approx(heavy.mean()) and model.loc["all", "n_atoms"] == 11
    assert model.loc["protein", "Q"] == pytest.approx((0.6 + 0.6 + 0.3 + 0.1 + 0.7) / 5)
    assert model.loc["ion", "n_residues"] == 1 and model.loc["ligand ATP", "Q"] == pytest.approx(0.3)
    residues = residue_table(atoms, q)
    assert len(residues) == 8 and residues["n_atoms"].sum() == 11
    ligand_rows = residues[residues["mol_type"] == "ligand"]
    assert ligand_rows["Q_residue_avg3"].isna().all()  # only polymer residues are smoothed


def pdb_line(serial, name, res_name, chain, res_num, xyz, element, het=False):
    atom_field = f" {name:<3s}" if len(name) < 4 and len(element) == 1 else f"{name:<4s}"
    return (f"{'HETATM' if het else 'ATOM  '}{serial:5d} {atom_field} {res_name:>3s} {chain}{res_num:4d}    "
            f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}  1.00 20.00          {element:>2s}")


def test_classification_of_modified_and_unknown_residues(tmp_path):
    """MSE/SEP and a bonded unknown residue are protein, PSU nucleic, HOH/WAT/DOD water, MG ion, others ligands."""
    backbone = [("N", (0.0, 0.0, 0.0)), ("CA", (1.458, 0.0, 0.0)), ("C", (2.009, 1.42, 0.0)), ("O", (1.25, 2.39, 0))]
    lines, serial = [], 1
    for i, (rn, het) in enumerate([("ALA", False), ("MSE", True), ("SEP", True), ("ZZM", True), ("GLY", False)]):
        shift = np.array([3.339, 1.42, 0.0]) * i  # C(i) – N(i+1) = 1.33 Å
        for name, xyz in backbone:
            lines.append(pdb_line(serial, name, rn, "A", i + 1, np.add(xyz, shift), name[0], het))
            serial += 1
    others = [("QQQ", "C1", "C"), ("PSU", "N1", "N"), ("HOH", "O", "O"), ("WAT", "O", "O"), ("DOD", "O", "O"),
              ("MG", "MG", "MG")]
    for j, (rn, name, el) in enumerate(others):
        lines.append(pdb_line(serial, name, rn, "B", 101 + j, (40.0 + 4 * j, 0, 0), el, True))
        serial += 1
    path = tmp_path / "mixed.pdb"
    path.write_text("\n".join(lines) + "\nEND\n")
    atoms = read_model(path).atoms
    types = dict(zip(atoms.res_name, atoms.mol_type, strict=True))
    assert types == {"ALA": "protein", "MSE": "protein", "SEP": "protein", "ZZM": "protein", "GLY": "protein",
                     "QQQ": "ligand", "PSU": "nucleic", "HOH": "water", "WAT": "water", "DOD": "water",
                     "MG": "ion"}


@pytest.fixture
def small_run(tmp_path):
    """A tiny PDB (protein, ligand with an unknown name, water) and a map simulated around it."""
    from conftest import gaussian_map

    coords = np.array([[5.0, 5.0, 5.0], [6.4, 5.2, 5.1], [7.0, 6.5, 5.0], [9.0, 8.0, 7.0], [4.0, 8.5, 6.0]])
    spec = [("N", "ALA", 1, "N", False), ("CA", "ALA", 1, "C", False), ("C", "ALA", 1, "C", False),
            ("C1", "UNL", 201, "C", True), ("O", "HOH", 301, "O", True)]
    lines = [pdb_line(i + 1, n, rn, "A", num, coords[i], el, het) for i, (n, rn, num, el, het) in enumerate(spec)]
    (tmp_path / "in").mkdir()
    model = tmp_path / "in" / "model.pdb"
    model.write_text("\n".join(lines) + "\nEND\n")
    mp = tmp_path / "in" / "map.mrc"
    write_map(mp, gaussian_map(coords, shape=(16, 16, 16), voxel=(1.0, 1.0, 1.0), origin=(0, 0, 0), noise=0.01))
    return {"model": model, "map": mp, "out": tmp_path / "out"}


def test_cli_writes_residue_and_chain_tables_with_a_resolution(small_run):
    r = CliRunner().invoke(main, ["score", str(small_run["model"]), str(small_run["map"]), "-r", "3.2",
                                  "-o", str(small_run["out"])])
    assert r.exit_code == 0, r.output
    residues = pd.read_csv(small_run["out"] / "model__Q__map_residues.csv", keep_default_na=False,
                           na_values=[""])
    assert list(residues["res_name"]) == ["ALA", "UNL", "HOH"]
    assert list(residues["mol_type"]) == ["protein", "ligand", "water"]
    assert set(residues["Q_flag"][:2]) <= {"below", "within", "above"}
    assert pd.isna(residues["Q_flag"].iloc[2]) and residues["Q_flag_reference"].iloc[2].startswith("none: waters")
    chains = pd.read_csv(small_run["out"] / "model__Q__map_chains.csv")
    assert list(chains["type"]) == ["Protein", "UNL", "Water"]
    summary = json.loads((small_run["out"] / "model__Q__map_summary.json").read_text())
    a = summary["analysis"]
    assert a["expected"]["Q_mean"] == pytest.approx(-0.0016 * 3.2 ** 3 + 0.0434 * 3.2 ** 2 - 0.3956 * 3.2 + 1.3366)
    assert [x["res_name"] for x in a["ligands"]] == ["UNL"]
    assert "Expected Q at 3.2 Å" in r.output and "Worst residues" in r.output and "Ligands" in r.output


def test_cli_without_resolution_says_how_to_get_expected_values(small_run):
    r = CliRunner().invoke(main, ["score", str(small_run["model"]), str(small_run["map"]), "-o", str(small_run["out"])])
    assert r.exit_code == 0, r.output
    assert "add --resolution D" in r.output and "Expected Q" not in r.output
    assert not (small_run["out"] / "model__Q__map_residues.csv").exists()
    summary = json.loads((small_run["out"] / "model__Q__map_summary.json").read_text())
    assert summary["analysis"]["expected"] is None and "--resolution" in summary["analysis"]["note"]
