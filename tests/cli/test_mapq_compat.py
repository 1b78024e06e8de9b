"""MapQ drop-in (issue 8): ``qscore-mapq`` takes mapq_cmd.py's arguments and writes MapQ's files and numbers.

Checked against MapQ's own outputs in ../shared/data/emd30342_7cec/mapq_reference: per-atom Q of the
``__Q__`` mmCIF within 0.0015 (MapQ writes 3 decimals), the ``_All.txt`` table line by line: the same
lines, the same tab-separated fields, identical text and headers, numbers within 0.002 (MapQ's own
per-residue values from its per-atom Q; ours match those to ≤ 0.0015) and the 2-decimal chain values
within 0.01 (one rounding step).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import gemmi
import numpy as np
import pytest
from click.testing import CliRunner

from qscore.analysis.groups import residue_table
from qscore.analysis.mapq import mapq_297_expected, mapq_table
from qscore.cli import main as qscore_main
from qscore.cli.mapq import main, parse_mapq_args
from qscore.io.mapq_files import format_mapq_all, py2_dict_order, read_mapq_all
from qscore.io.models import atoms_from_arrays
from qscore.io.q_files import read_q_file
from qscore.pipeline.mapq import mapq_paths

MAP = "390_emd_30342_A_z4"
Q_TOL = 0.0015  # per atom: MapQ's 3 decimals
TABLE_TOL = 0.002  # per-residue numbers of the _All.txt (6 decimals of values from per-atom Q)
CHAIN_TOL = 0.01  # the chain line's 2-decimal Q_chain and Est.Res.


def copy_inputs(cec, tmp_path, model_name="390_7cec_A", source="model"):
    """The 7CEC map and a model in tmp_path (MapQ writes next to the model; never into ../shared)."""
    model = tmp_path / f"{model_name}.cif"
    shutil.copyfile(cec[source], model)
    mp = tmp_path / f"{MAP}.mrc"
    shutil.copyfile(cec["map"], mp)
    return model, mp


def atom_q(path) -> dict:
    """{(chain, residue number, atom name, altloc): Q} from the Q column of an mmCIF file (either layout)."""
    t = read_q_file(path)
    return {(r.chain, str(int(r.res_num)), r.atom_name, r.altloc): r.Q for r in t.itertuples()}


def outputs(model, mp, layout="2.9.7") -> dict:
    """The files qscore-mapq writes for ``model`` in ``mp`` (as :func:`mapq_paths` names them)."""
    return mapq_paths(model, mp, mapq_layout=layout)


def compare_tables(ours: Path, ref: Path) -> float:
    """Line-by-line comparison of two _All.txt files; returns the largest per-residue number difference."""
    a, b = ours.read_text().split("\n"), ref.read_text().split("\n")
    assert len(a) == len(b), (len(a), len(b))
    worst = 0.0
    for i, (la, lb) in enumerate(zip(a, b, strict=True)):
        fa, fb = la.split("\t"), lb.split("\t")
        assert len(fa) == len(fb), f"line {i + 1}: {len(fa)} fields, MapQ {len(fb)}"
        for x, y in zip(fa, fb, strict=True):
            if x == y:
                continue
            try:
                d = abs(float(x) - float(y))
            except ValueError:
                raise AssertionError(f"line {i + 1}: {x!r} where MapQ has {y!r}") from None
            if i == 1:  # the chain line: %.2f
                assert d <= CHAIN_TOL + 1e-9, (i, x, y)
            else:
                worst = max(worst, d)
    return worst


def check_against_reference(tmp_path, model_name, ref_name, ref_dir, layout="2.9.7"):
    paths = outputs(tmp_path / f"{model_name}.cif", tmp_path / f"{MAP}.mrc", layout)
    ours_cif, ours_txt = paths["model"], paths["all_txt"]
    ref_cif, ref_txt = ref_dir / f"{ref_name}__Q__{MAP}.cif", ref_dir / f"{ref_name}__Q__{MAP}_All.txt"
    ours, ref = atom_q(ours_cif), atom_q(ref_cif)
    assert ours.keys() == ref.keys() and len(ours) == 4308
    dq = np.array([abs(ours[k] - ref[k]) for k in ref])
    assert dq.max() <= Q_TOL + 1e-9, dq.max()
    assert gemmi.read_structure(str(ours_cif))[0].count_atom_sites() == 4308  # other tools read it
    mine, theirs = read_mapq_all(ours_txt), read_mapq_all(ref_txt)
    t, r = mine.section("A").table, theirs.section("A").table
    assert len(t) == len(r) == 599 and list(t["Res #"]) == list(r["Res #"]) and list(t["Res"]) == list(r["Res"])
    if layout == "2021":
        assert compare_tables(ours_txt, ref_txt) <= TABLE_TOL
        assert [s.columns for s in mine.sections] == [s.columns for s in theirs.sections]  # identical headers
        assert list(t.columns) == list(r.columns)
    else:  # MapQ 2.9.7's table around the same numbers
        assert mine.layout == "2.9.7" and mine.sigma == 0.6 and mine.resolution == 3.9
        assert mine.header == {"map": f"{MAP}.mrc", "model": f"{model_name}.cif"}
        peak = mapq_297_expected(3.9, 0.6)
        assert np.allclose(t["Q_Peak"], peak["expected"]) and np.allclose(t["Q_Low95"], peak["low"])
        assert mine.chains.to_dict("records")[0]["type"] == "Protein" and mine.chains["n_residues"].item() == 553
    numeric = [c for c in t.columns if c in r.columns and c not in ("Chain", "Res", "Res #")
               and not c.startswith("ExpectedQ")]
    assert len(numeric) >= 15
    assert np.allclose(t[numeric].to_numpy(float), r[numeric].to_numpy(float), atol=TABLE_TOL, equal_nan=True)


def test_emdb_validation_style_run_reproduces_multiprocess_mapq(cec, tmp_path):
    """`<chimera path> map=… cif=… np=4 res=3.9 sigma=0.6`, run as a separate process, as the EMDB does."""
    model, mp = copy_inputs(cec, tmp_path)
    cmd = [sys.executable, "-m", "qscore.cli.mapq", "/opt/UCSF/Chimera64-1.16", f"map={mp}", f"cif={model}",
           "np=4", "res=3.9", "sigma=0.6"]
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "mean Q 0.4506" in run.stdout
    assert "error" not in (run.stdout + run.stderr).lower()  # the EMDB's package scans the output for it
    check_against_reference(tmp_path, "390_7cec_A", "390_7cec_A", cec["ref"])
    # MapQ 2.9.7's names (the EMDB's package opens <model file>__Q__<map file>.cif) and nothing else
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [model.name, mp.name, f"390_7cec_A.cif__Q__{MAP}.mrc.cif", "390_7cec_A.cif_All.txt"])
    q_text = list(gemmi.cif.read(str(tmp_path / f"390_7cec_A.cif__Q__{MAP}.mrc.cif"))[0].find_values(
        "_atom_site.Q-score"))
    assert len(q_text) == 4308 and all(len(v.split(".")[1]) == 6 for v in q_text)  # '%f', as MapQ 2.9.7


def test_2021_layout_has_the_reference_files_columns_and_names(cec, tmp_path):
    model, mp = copy_inputs(cec, tmp_path)
    res = CliRunner().invoke(main, [f"map={mp}", f"cif={model}", "np=4", "res=3.9", "--mapq-layout", "2021"])
    assert res.exit_code == 0, res.output
    check_against_reference(tmp_path, "390_7cec_A", "390_7cec_A", cec["ref"], layout="2021")
    ours = gemmi.cif.read(str(tmp_path / f"390_7cec_A__Q__{MAP}.cif"))[0]
    ref = gemmi.cif.read(str(cec["ref"] / f"390_7cec_A__Q__{MAP}.cif"))[0]
    assert list(ours.find_mmcif_category("_atom_site.").tags) == list(ref.find_mmcif_category("_atom_site.").tags)
    assert all(len(v.split(".")[1]) == 3 for v in ours.find_values("_atom_site.Q_score"))
    assert parse_mapq_args([f"map={mp}", f"cif={model}", "--mapq-layout=2021"]).layout == "2021"


def test_console_script_is_installed():
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("qscore-mapq") == "qscore.cli.mapq:main"


def test_single_process_run_reproduces_mapq(cec, tmp_path):
    """np=1 (positional map and model, MapQ's autodetection) matches the single-process reference,
    made by MapQ from a copy of the chain named 390_7cec_A1.cif."""
    model, mp = copy_inputs(cec, tmp_path, "390_7cec_A1")
    res = CliRunner().invoke(main, [str(tmp_path), str(mp), str(model), "np=1", "res=3.9", "sigma=0.6"])
    assert res.exit_code == 0, res.output
    assert "mean Q 0.4570" in res.output
    check_against_reference(tmp_path, "390_7cec_A1", "390_7cec_A1", cec["ref"])


def test_first_100_atoms_table_is_mapqs(cec, tmp_path):
    model, mp = copy_inputs(cec, tmp_path, "390_7cec_A100", source="model100")
    res = CliRunner().invoke(main, ["map=" + str(mp), "cif=" + str(model), "res=3.9"])  # np=1, sigma 0.6: defaults
    assert res.exit_code == 0, res.output
    ref = cec["ref"] / f"390_7cec_A100__Q__{MAP}_All.txt"
    res = CliRunner().invoke(main, ["map=" + str(mp), "cif=" + str(model), "res=3.9", "--mapq-layout", "2021"])
    assert res.exit_code == 0, res.output
    assert compare_tables(outputs(model, mp, "2021")["all_txt"], ref) <= TABLE_TOL


def test_reader_reads_mapqs_own_table(cec):
    t = read_mapq_all(cec["ref"] / f"390_7cec_A__Q__{MAP}_All.txt")
    assert t.resolution == 3.9 and t.sigma == 0.6
    assert t.chains.to_dict("records") == [{"chain": "A", "Q_chain": 0.45, "est_res": 3.77,
                                            "formula": "=-0.1775 * 3.90 + 1.1192", "types": ["Protein"]}]
    assert t.formulas["Protein"] == "-0.1775 * RES + 1.1192" and len(t.formulas) == 4
    s = t.section("A")
    assert s.kind == "protein" and len(s.columns) == 28 and s.columns[7] == "" and s.columns[-1] == ""
    assert list(s.table.columns[:8]) == ["Chain", "Res", "Res #", "Q_backBone", "Q_sideChain", "Q_residue",
                                         "ExpectedQ@3.90", "Q_backBone(avg-3)"]
    assert "ExpectedQ@3.90(avg-11)" in s.table.columns
    gaps = s.table[s.table["Res"] == ""]
    assert len(gaps) == 46 and gaps["Q_residue"].isna().all()
    assert np.allclose(s.table["ExpectedQ@3.90"], -0.1794 * 3.9 + 1.1244)  # MapQ's older residue-row relation
    gly = s.table[s.table["Res"] == "GLY"]
    assert gly["Q_sideChain"].isna().all() and gly["Q_sideChain(avg-3)"].isna().all()


def test_bfactor_file_as_mapq_names_it(cec, tmp_path):
    model, mp = copy_inputs(cec, tmp_path, "390_7cec_A100", source="model100")
    res = CliRunner().invoke(main, [f"map={mp}", f"cif={model}", "bfactor=100"])
    assert res.exit_code == 0, res.output
    q = atom_q(outputs(model, mp)["model"])
    st = gemmi.read_structure(str(tmp_path / "390_7cec_A100_B100.pdb"))
    b = {(ch.name, str(r.seqid.num), a.name, a.altloc.strip("\0")): a.b_iso for ch in st[0] for r in ch for a in r}
    assert len(b) == 100
    # B = f (1 - Q); PDB B has 2 decimals
    assert max(abs(b[(c, n, a, alt.strip(".?"))] - 100 * (1 - v)) for (c, n, a, alt), v in q.items()) <= 0.006
    assert mapq_paths("/x/m.cif", "/x/e.map", 50)["bfactor"] == Path("/x/m_B50.pdb")
    assert "bfactor" not in mapq_paths("/x/m.cif", "/x/e.map", 0)  # MapQ ignores f <= 0


def test_pdb_model_gets_pdb_output_and_table(tmp_path):
    from conftest import build_demo

    inputs = build_demo(tmp_path)
    chimera = tmp_path / "Chimera.app"
    chimera.mkdir()
    res = CliRunner().invoke(main, [str(chimera), inputs["model"], inputs["map"], "sigma=0.4", "res=2.5"])
    assert res.exit_code == 0, res.output
    paths = outputs(inputs["model"], inputs["map"])
    assert paths["model"].name == "demo_helix.pdb__Q__demo_map.mrc.pdb" and paths["model"].exists()
    assert not paths["model"].with_suffix(".cif").exists()
    text = paths["model"].read_text()
    assert text.startswith("REMARK   0 \nREMARK   0 Q-scores calculated with MapQ")  # MapQ 2.9.7's header
    assert "REMARK   0   - sigma 0.4\n" in text and "REMARK   0   - Map: demo_map.mrc\n" in text
    st = gemmi.read_structure(str(paths["model"]))
    b = np.array([a.b_iso for r in st[0]["A"] for a in r])
    table = read_mapq_all(paths["all_txt"])
    assert table.sigma == 0.4 and table.resolution == 2.5
    assert abs(table.chains["Q"].item() - b.mean()) <= 0.01  # Q as B-factor (2 decimals)
    assert table.layout == "2.9.7" and table.header["model"] == "demo_helix.pdb"
    assert len(table.section("A").table) == 24


def test_score_mapq_files_matches_qscore_mapq(cec, tmp_path):
    model, mp = copy_inputs(cec, tmp_path, "390_7cec_A100", source="model100")
    res = CliRunner().invoke(main, [f"map={mp}", f"cif={model}", "np=2", "res=3.9"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    res = CliRunner().invoke(qscore_main, ["score", str(model), str(mp), "--sigma", "0.6", "-r", "3.9",
                                           "--emdb-compat", "--mapq-files", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert (out / f"390_7cec_A100__Q__{MAP}_All.txt").read_text() == outputs(model, mp)["all_txt"].read_text()
    assert "--mapq-files" in CliRunner().invoke(qscore_main, ["score", "--help"]).output


def mixed_model():
    """Chain A: Ala 1, Gly 2, Ser 4 (gap at 3), water 10, Mg 11; chain B: nucleotides 1, 2 (no phosphate),
    4; chain C: one ligand atom."""
    spec = [  # chain, number, residue, atom, mol_type, q
        *[("A", 1, "ALA", n, "protein", v) for n, v in (("N", .6), ("CA", .6), ("C", .6), ("O", .6), ("CB", .2))],
        *[("A", 2, "GLY", n, "protein", .4) for n in ("N", "CA", "C", "O")],
        *[("A", 4, "SER", n, "protein", v) for n, v in (("N", .6), ("CA", .6), ("C", .6), ("O", .6), ("CB", .8),
                                                         ("OG", .9))],
        ("A", 10, "HOH", "O", "water", .3), ("A", 11, "MG", "MG", "ion", .9),
        *[("B", 1, "A", n, "nucleic", v) for n, v in (("P", .2), ("OP1", .2), ("C4'", .5), ("C1'", .5), ("N9", .7))],
        *[("B", 2, "G", n, "nucleic", v) for n, v in (("C4'", .4), ("C1'", .4), ("N9", .8))],
        *[("B", 4, "U", n, "nucleic", v) for n, v in (("P", .3), ("C1'", .6), ("N1", .9))],
        ("C", 1, "ATP", "C1", "ligand", .05),
    ]
    cols = list(zip(*spec, strict=True))
    atoms = atoms_from_arrays(np.zeros((len(spec), 3)), element=[a[:1] if a != "MG" else "MG" for a in cols[3]],
                              name=cols[3], res_name=cols[2], chain=cols[0], res_num=cols[1], mol_type=cols[4])
    return atoms, np.array(cols[5])


def test_table_layout_for_several_chains_and_molecule_types(tmp_path):
    atoms, q = mixed_model()
    text = format_mapq_all(mapq_table(atoms, q, residue_table(atoms, q), resolution=3.2), sigma=0.4)
    lines = text.split("\n")
    e, en = -0.1794 * 3.2 + 1.1244, -0.1574 * 3.2 + 1.0673
    ew, ei = -0.0895 * 3.2 + 1.0001, -0.1103 * 3.2 + 1.0795
    assert lines[0] == "Chain\tQ_chain\tEst.Res.\tExpectedQ@3.20"
    qa, qb = q[:17].mean(), q[17:28].mean()
    a_line = lines[1].split("\t")
    assert a_line[:4] == ["A", f"{qa:.2f}", f"{(qa - 1.1192) / -0.1775:.2f}", "=-0.1775 * 3.20 + 1.1192"]
    assert sorted(a_line[4].strip("()").split(",")) == ["Ion", "Protein", "Water"]
    assert lines[2] == f"B\t{qb:.2f}\t{(qb - 0.9973) / -0.1377:.2f}\t= -0.1377 * 3.20 + 0.9973\t(Nucleic)"
    assert lines[3] == "C\t0.05\t0.00\t?\t(Other)"  # MapQ has no relation for ligands
    assert lines[4:12] == ["", "Sigma: 0.4", "", "Protein: expectedQ = -0.1775 * RES + 1.1192",
                           "Nucleic: expectedQ = -0.1377 * RES + 0.9973", "Ion: expectedQ = -0.1103 * RES + 1.0795",
                           "Water: expectedQ = -0.0895 * RES + 1.0001", ""]
    # sections in Python 2 dict order of the chains, as MapQ walks them: A, C, B
    titles = [ln.split("\t")[0] for ln in lines if " - Chain " in ln]
    assert titles == ["Protein - Chain A", "Molecule - Chain C", "Nucleic Acid - Chain B"]
    f = f"{e:f}"
    # smoothing runs over every residue of the chain (the water and Mg too), a missing part counting 0
    ser_q = (2.4 + 1.7) / 6
    assert f"A\tALA\t1\t0.600000\t0.200000\t0.520000\t{f}\t\t0.500000\t0.100000\t0.460000\t{f}\t\t" in text
    assert "A\tGLY\t2\t0.400000\t\t0.400000\t" + f + "\t\t0.533333\t\t" in text
    assert f"A\t\t3\t\t\t\t{f}\t\t\t\t\t{f}\t\t\t\t\t{f}\t\t\t\t\t{f}\t\t\t\t\t{f}\n" in text  # gap row
    assert (f"A\tSER\t4\t0.600000\t0.850000\t{ser_q:f}\t{f}\t\t{1.0 / 3:f}\t{0.85 / 3:f}\t"
            f"{(0.4 + ser_q + 0.3) / 3:f}\t{f}\t\t") in text
    assert f"A\tHOH\t10\t\t\t0.300000\t{ew:f}\n" in text and f"A\tMG\t11\t\t\t0.900000\t{ei:f}\n" in text
    assert "Molecule - Chain C\n\nChain\tMolecule\tMol #\t\t\tQ_molecule\tExpectedQ@3.20\nC\tATP\t1\t\t\t0.050000\t?\n"\
        in text
    g = f"{en:f}"
    assert f"B\tG\t2\t0.000000\t0.400000\t0.800000\t{1.6 / 3:f}\t{g}\t\t" in text  # no phosphate: 0, as MapQ
    assert f"B\t\t3\t\t\t\t\t{g}\t\t" in text
    assert text.endswith("\n\n\n")
    path = tmp_path / "mixed_All.txt"
    path.write_text(text)
    back = read_mapq_all(path)
    assert [s.kind for s in back.sections] == ["protein", "molecule", "nucleic"]
    prot = back.section("A").table
    assert list(prot["Res #"]) == [1, 2, 3, 4, 10, 11] and prot["Q_residue"].iloc[4] == 0.3
    nuc = back.section("B").table
    assert list(nuc.columns[3:8]) == ["Q_backBone", "Q_sugar", "Q_base", "Q_nucleotide", "ExpectedQ@3.20"]
    assert "Q_nucleotide(avg-11)" in nuc.columns and nuc["Q_sugar"].iloc[0] == 0.5


def test_python2_dict_order_matches_known_python2_output():
    assert py2_dict_order(["a", "b", "c"]) == ["a", "c", "b"]
    # Python 2.7: dict.fromkeys('abcdefghij').keys() (the table grows from 8 to 32 slots on the way)
    assert py2_dict_order(list("abcdefghij")) == list("acbedgfihj")
    assert py2_dict_order(["i", "a"]) == ["i", "a"] and py2_dict_order(["a", "i", "a"]) == ["a", "i"]  # collision
    assert py2_dict_order([]) == []


def test_parse_defaults_and_forms(tmp_path):
    mp, cif, pdb = tmp_path / "e.map", tmp_path / "m.cif", tmp_path / "m.pdb"
    for p in (mp, cif, pdb):
        p.write_text("x")
    a = parse_mapq_args(["mapq_cmd.py", str(tmp_path), str(cif), f"map={mp}", f"pdb={pdb}"])
    assert (a.np, a.res, a.sigma, a.bfactor, a.emdb_compat) == (1, 3.0, 0.6, -1.0, False)  # MapQ's defaults
    assert a.models == [pdb, cif] and a.maps == [mp] and a.chimera == str(tmp_path)  # PDB models first, as MapQ
    assert parse_mapq_args([str(mp), str(cif), "np=4"]).emdb_compat


BAD = [
    (["{model}", "res=3.9"], "No map given"),
    (["{map}", "np=2"], "No model given"),
    (["map={map}"], "No model given"),
    (["{map}", "{model}", "foo=1"], "Unknown parameter 'foo=1'"),
    (["{map}", "{model}", "np=four"], "np must be a whole number"),
    (["{map}", "{model}", "np=2.5"], "np must be a whole number"),
    (["{map}", "{model}", "np=0"], "at least 1"),
    (["{map}", "{model}", "res=high"], "res must be a number"),
    (["{map}", "{model}", "res=-3"], "res=-3.0 Å is outside"),
    (["{map}", "{model}", "sigma=wide"], "sigma must be a number"),
    (["{map}", "{model}", "sigma=nan"], "sigma must be a finite number"),
    (["{map}", "{model}", "bfactor=inf"], "bfactor must be a finite number"),
    (["{map}", "{model}", "sigma=0"], "(0, 5]"),
    (["{map}", "{model}", "bfactor=lots"], "bfactor must be a number"),
    (["map={dir}/missing.mrc", "{model}"], "file not found"),
    (["{map}", "cif={dir}/missing.cif"], "file not found"),
    (["{map}", "{dir}/missing.pdb"], "file not found"),
    (["{map}", "{map}", "{model}"], "2 maps given"),
    (["{map}", "{model}", "{dir}/notes.txt"], "extension not recognised"),
    (["{map}", "{model}", "stray-word"], "not a file, a folder or a key=value"),
    (["{map}", "{model}", "{dir}/broken.cif"], "broken.cif"),  # unreadable second model: nothing written
    (["{dir}/broken.mrc", "{model}"], "broken.mrc"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_inputs_one_line_exit_2_no_files(cec, tmp_path, argv, message):
    model, mp = copy_inputs(cec, tmp_path, "390_7cec_A100", source="model100")
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "broken.cif").write_text("data_x\nloop_\n_atom_site.id\n")
    (tmp_path / "broken.mrc").write_bytes(b"\0" * 100)
    before = sorted(tmp_path.iterdir())
    args = [a.format(model=model, map=mp, dir=tmp_path) for a in argv]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], res.output
    assert "Traceback" not in res.output
    assert sorted(tmp_path.iterdir()) == before  # no partial or temporary files


def test_help_and_version():
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0 and "map=<path to map file>" in res.output and "np=#" in res.output
    res = CliRunner().invoke(main, ["-v"])
    assert res.exit_code == 0 and "MapQ" in res.output


def test_failure_on_a_later_model_leaves_no_files_of_earlier_ones(cec, tmp_path):
    model, mp = copy_inputs(cec, tmp_path, "390_7cec_A100", source="model100")
    other = tmp_path / "other.cif"
    shutil.copyfile(model, other)
    blocked = outputs(other, mp)["model"]
    blocked.mkdir()  # the second model's output cannot be written
    before = sorted(tmp_path.iterdir())
    res = CliRunner().invoke(main, [str(mp), str(model), str(other)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and blocked.name in res.output
    assert sorted(tmp_path.iterdir()) == before


def test_called_as_the_emdb_validation_package_calls_it(cec, tmp_path, monkeypatch):
    """All models of an entry as cif= in one call, np= above the atoms of the smaller model, the Chimera
    path first, res below the package's 1.25 Å: it computes everything and says nothing with 'error'."""
    a100, mp = copy_inputs(cec, tmp_path, "390_7cec_A100", source="model100")
    full = tmp_path / "390_7cec_A.cif"
    shutil.copyfile(cec["model"], full)
    monkeypatch.chdir(tmp_path)  # the package runs MapQ in its working folder, the map named relative to it
    res = CliRunner().invoke(main, ["/usr/local/UCSF/Chimera64-1.16/", f"map={mp.name}", f"cif={a100}", f"cif={full}",
                                    "np=150", "res=1.1", "sigma=0.4"])
    assert res.exit_code == 0, res.output
    assert "error" not in res.output.lower(), res.output
    assert "below 1.25 Å" in res.output and "computed anyway" in res.output
    for model, n in ((a100, 100), (full, 4308)):
        q = read_q_file(outputs(model, mp)["model"])
        assert len(q) == n and q["Q"].notna().all()


def test_mapq_297_table_for_several_chains_and_molecule_types(tmp_path):
    """MapQ 2.9.7's SaveQStats, line by line, with its own format strings (mapq/qscores.py of MapQ 2.9.7)."""
    from qscore.io.mapq_all_297 import format_mapq_all_297

    atoms, q = mixed_model()
    table = mapq_table(atoms, q, residue_table(atoms, q), resolution=3.2, sigma=0.4)
    text = format_mapq_all_297(table, sigma=0.4, map_name="emd.map", model_name="mixed.cif")
    x = 3.2
    exp = -0.0016 * x ** 3 + 0.0434 * x ** 2 - 0.3956 * x + 1.3366 + 0.024
    low, high = exp - 0.024 - 0.126, exp - 0.024 + 0.109
    eqn = "-0.0016*POWER(RES,3) + 0.0434*POWER(RES,2) - 0.3956*RES + 1.3366 + 0.024"
    formula = "=" + eqn.replace("RES", "3.20")
    lines = text.split("\n")
    assert lines[:8] == ["", "Map: emd.map", "Resolution entered (RES): 3.2", "Model: mixed.cif", "Sigma: 0.4", "",
                         f"Q_peak = {eqn}", "Chain\tType\t#Res/NA/Mol\tAvg. Q\tExpectedQ@3.20"]
    chain_lines = lines[8:lines.index("", 8)]
    types_a = {ln.split("\t")[1]: ln for ln in chain_lines if ln.startswith("A\t")}
    assert set(types_a) == {"Protein", "Water", "MG"}  # ions by name: 2.9.7 has 'Ion' commented out
    assert types_a["Protein"] == "%s\t%s\t%d\t%.2f\t%s" % ("A", "Protein", 3, q[:15].mean(), formula)  # noqa: UP031
    assert "%s\t%s\t%d\t%.2f\t%s" % ("C", "ATP", 1, 0.05, formula) in chain_lines  # noqa: UP031
    band = "%f\t%f\t%f" % (exp, low, high)  # noqa: UP031
    assert ("%s\t%s\t%d\t%f\t\t%f\t%f\t%f\t%f\t\t" % ("A", "GLY", 2, 0.4, 0.4, exp, low, high)) in text  # noqa: UP031
    gap = ("%s\t%s\t%d\t\t\t\t%f\t%f\t%f\t\t" % ("A", "", 3, exp, low, high)  # noqa: UP031 - the gap row
           + "\t\t\t%f\t\t" % exp * 3 + "\t\t\t%f\n" % exp)  # noqa: UP031
    assert gap in text
    assert "%s\t%s\t%d\t\t\t%f\t%f\t%f\t%f\n" % ("A", "HOH", 10, 0.3, exp, low, high) in text  # noqa: UP031
    assert "%s\t%s\t%d\t\t\t%f\t%f\t%f\t%f\n" % ("C", "ATP", 1, 0.05, exp, low, high) in text  # noqa: UP031
    assert f"B\tG\t2\t0.000000\t0.400000\t0.800000\t{1.6 / 3:f}\t{band}\t\t" in text
    assert ("%s\t%s\t%d\t" % ("B", "", 3) + "\t\t\t\t%f\t%f\t%f\t\t" % (exp, low, high)) in text  # noqa: UP031
    assert "Q_Peak @3.20A\tQ_Low 95% @3.20A\tQ_High 95% @3.20A" in text
    path = tmp_path / "mixed.cif_All.txt"
    path.write_text(text)
    back = read_mapq_all(path)
    assert back.layout == "2.9.7" and [s.kind for s in back.sections] == ["protein", "molecule", "nucleic"]
    prot = back.section("A").table
    assert list(prot["Res #"]) == [1, 2, 3, 4, 10, 11] and np.isnan(prot["Q_sideChain"].iloc[1])
    assert np.allclose(prot["Q_Peak"], exp) and prot["Q_residue"].iloc[4] == 0.3
