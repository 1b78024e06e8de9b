"""Reading maps and models: axis order, origin conventions, gzip, models and their atoms."""

from __future__ import annotations

import gzip
import shutil
import warnings

import gemmi
import numpy as np
import pytest

from conftest import atom_site_head, gaussian_map, write_pdb
from qscore.errors import MapError, QScoreWarning
from qscore.io.maps import read_map, write_map
from qscore.io.models import read_model
from qscore.io.q_files import read_q_file
from qscore.types import DensityMap


@pytest.fixture
def dmap():
    rng = np.random.default_rng(3)
    return DensityMap(values=rng.normal(size=(5, 6, 7)).astype(np.float32), origin=(2.0, -4.0, 6.0),
                      voxel_size=(1.0, 2.0, 1.5))


@pytest.mark.parametrize("order", [(1, 2, 3), (3, 2, 1), (2, 3, 1), (3, 1, 2), (2, 1, 3), (1, 3, 2)])
def test_axis_orders_read_back_identically(tmp_path, dmap, order):
    write_map(tmp_path / "m.mrc", dmap, axis_order=order)
    back = read_map(tmp_path / "m.mrc")
    assert back.axis_order == order
    assert np.array_equal(back.values, dmap.values)
    assert np.allclose(back.origin, dmap.origin) and np.allclose(back.voxel_size, dmap.voxel_size)


def test_origin_from_nstart(tmp_path, dmap):
    write_map(tmp_path / "n.mrc", dmap, use_nstart=True, axis_order=(2, 1, 3))
    back = read_map(tmp_path / "n.mrc")
    assert np.allclose(back.origin, dmap.origin)


def test_origin_words_win_over_nstart_with_a_warning(tmp_path, dmap):
    import gemmi

    write_map(tmp_path / "o.mrc", dmap)
    m = gemmi.read_ccp4_map(str(tmp_path / "o.mrc"))
    m.set_header_i32(5, 3)  # NSTART disagreeing with ORIGIN
    m.write_ccp4_map(str(tmp_path / "o.mrc"))
    with pytest.warns(QScoreWarning, match="disagree"):
        back = read_map(tmp_path / "o.mrc")
    assert np.allclose(back.origin, dmap.origin)


def test_gzipped_map_and_model(tmp_path, dmap):
    write_map(tmp_path / "m.mrc", dmap)
    with open(tmp_path / "m.mrc", "rb") as f, gzip.open(tmp_path / "m.map.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    assert np.array_equal(read_map(tmp_path / "m.map.gz").values, dmap.values)
    write_pdb(tmp_path / "a.pdb", [[1, 2, 3], [4, 5, 6]])
    with open(tmp_path / "a.pdb", "rb") as f, gzip.open(tmp_path / "a.pdb.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    assert np.allclose(read_model(tmp_path / "a.pdb.gz").atoms.coords, [[1, 2, 3], [4, 5, 6]])


def test_map_statistics_follow_the_spec(dmap):
    s = dmap.stats()
    v = dmap.values.astype(np.float64)
    assert s.mean == pytest.approx(v.mean()) and s.sd == pytest.approx(v.std())
    assert s.max_d == pytest.approx(min(v.mean() + 10 * v.std(), v.max()))
    assert s.min_d == pytest.approx(max(v.mean() - v.std(), v.min()))


def test_real_map_header(cec):
    m = read_map(cec["map"])
    assert m.shape_xyz == (89, 81, 63)
    assert np.allclose(m.voxel_size, 1.113, atol=1e-5)
    assert np.allclose(m.origin, [145.825, 112.825, 120.517], atol=1e-3)


PDB_TEXT = """\
MODEL        1
ATOM      1  N   ALA A   1       1.000   1.000   1.000  1.00 10.00           N
ATOM      2  CA AALA A   1       2.000   1.000   1.000  0.50 10.00           C
ATOM      3  CA BALA A   1       2.100   1.100   1.000  0.50 10.00           C
ATOM      4  H   ALA A   1       0.500   1.500   1.000  1.00 10.00           H
ATOM      5  D2  ALA A   1       0.600   0.500   1.000  1.00 10.00           D
ATOM      6  N   MSE A   2       4.000   1.000   1.000  1.00 10.00           N
HETATM    7  P     U B   5       8.000   1.000   1.000  1.00 10.00           P
HETATM    8  O   HOH W 101      10.000   1.000   1.000  1.00 10.00           O
HETATM    9 MG    MG C   1      12.000   1.000   1.000  1.00 10.00          MG
HETATM   10  C1  XYZ D   1      14.000   1.000   1.000  1.00 10.00           C
HETATM   11  C2  XYZ D   1      15.000   1.000   1.000  1.00 10.00           C
ENDMDL
MODEL        2
ATOM      1  N   ALA A   1      91.000   1.000   1.000  1.00 10.00           N
ENDMDL
"""


def test_model_atoms_types_altlocs_hydrogens_first_model(tmp_path):
    (tmp_path / "m.pdb").write_text(PDB_TEXT)
    a = read_model(tmp_path / "m.pdb").atoms
    assert len(a) == 11  # first model only
    assert a.altloc.tolist()[1:3] == ["A", "B"]
    assert a.is_hydrogen.tolist() == [False, False, False, True, True] + [False] * 6
    assert a.mol_type.tolist() == ["protein"] * 6 + ["nucleic", "water", "ion", "ligand", "ligand"]
    assert len(np.unique(a.residue)) == 6
    assert a.chain.tolist()[6:9] == ["B", "W", "C"] and a.res_num.tolist()[7] == 101


def test_mmcif_model_reads_like_the_pdb(tmp_path):
    import gemmi

    (tmp_path / "m.pdb").write_text(PDB_TEXT)
    st = gemmi.read_structure(str(tmp_path / "m.pdb"))
    st.setup_entities()
    st.make_mmcif_document().write_file(str(tmp_path / "m.cif"))
    a, b = read_model(tmp_path / "m.pdb").atoms, read_model(tmp_path / "m.cif").atoms
    assert np.allclose(a.coords, b.coords)
    for field in ("name", "altloc", "res_name", "chain", "mol_type", "is_hydrogen"):
        assert getattr(a, field).tolist() == getattr(b, field).tolist(), field


def test_permissive_integer_map_reads_with_warning(tmp_path):
    import gemmi

    g = gaussian_map(np.array([[1.0, 1.0, 1.0]]), shape=(6, 6, 6), voxel=(1, 1, 1), origin=(0, 0, 0))
    write_map(tmp_path / "i.mrc", g)
    m = gemmi.read_ccp4_map(str(tmp_path / "i.mrc"))
    m.update_ccp4_header(1)
    m.write_ccp4_map(str(tmp_path / "i.mrc"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MapError, match="int16"):
            read_map(tmp_path / "i.mrc")
    with pytest.warns(QScoreWarning, match="permissive"):
        read_map(tmp_path / "i.mrc", permissive=True)


def test_fast_mmcif_reader_agrees_with_gemmi(cec):
    import gemmi

    from qscore.io.models import _atoms_from_block

    fast = read_model(cec["model"])
    assert fast.doc is None and fast.loop is not None  # the usual simple loop takes the fast path
    slow = _atoms_from_block(gemmi.cif.read(str(cec["model"]))[0], "x")
    for field in ("coords", "element", "name", "altloc", "res_name", "chain", "res_num", "ins_code",
                  "residue", "mol_type", "is_hydrogen", "row", "b_iso"):
        assert np.array_equal(getattr(fast.atoms, field), getattr(slow, field)), field


def test_mmcif_with_quotes_and_text_fields_falls_back_to_gemmi(tmp_path):
    text = atom_site_head("group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id", "label_asym_id",
                          "label_seq_id", "Cartn_x", "Cartn_y", "Cartn_z", "B_iso_or_equiv", block="t") + """\
ATOM 1 C 'C1 X' LIG A 1 1.0 2.0 3.0 10
ATOM 2 O "O5'" LIG A 1 2.0 2.0 3.0 10
"""
    (tmp_path / "q.cif").write_text(text)
    m = read_model(tmp_path / "q.cif")
    assert m.doc is not None and m.atoms.name.tolist() == ["C1 X", "O5'"]


def test_streaming_writer_keeps_everything_and_inserts_q(cec, tmp_path):
    import gemmi

    from qscore.io.writers import write_mmcif_with_q

    m = read_model(cec["model"])
    q = np.linspace(0, 1, len(m.atoms))
    for layout, column, tol in (("2.9.7", "Q-score", 5e-7), ("2021", "Q_score", 5e-4)):
        out = tmp_path / f"out_{layout}.cif"
        write_mmcif_with_q(out, m, q, layout=layout)
        a = gemmi.cif.read(str(cec["model"]))[0]
        b = gemmi.cif.read(str(out))[0]
        tags_a = list(a.find_values("_atom_site.Cartn_x").get_loop().tags)
        tags_b = list(b.find_values("_atom_site.Cartn_x").get_loop().tags)
        i = tags_a.index("_atom_site.B_iso_or_equiv") + 1
        assert tags_b == tags_a[:i] + [f"_atom_site.{column}"] + tags_a[i:]
        for tag in tags_a:
            assert list(a.find_values(tag)) == list(b.find_values(tag)), tag
        assert np.allclose([float(v) for v in b.find_values(f"_atom_site.{column}")], q, atol=tol)
        assert len(list(b)) == len(list(a))  # the other items and categories are kept
        table = read_q_file(out)  # the package reads either layout back
        assert table.attrs["q_column"] == column and np.allclose(table["Q"], q, atol=tol)


def test_a_q_column_of_the_other_layout_is_replaced_not_doubled(cec, tmp_path):
    from qscore.io.models import read_model as read
    from qscore.io.writers import write_mmcif_with_q

    m = read(cec["model"])
    write_mmcif_with_q(tmp_path / "old.cif", m, np.full(len(m.atoms), 0.5), layout="2021")
    again = read(tmp_path / "old.cif")
    write_mmcif_with_q(tmp_path / "new.cif", again, np.full(len(m.atoms), 0.25))
    tags = gemmi.cif.read(str(tmp_path / "new.cif"))[0].find_mmcif_category("_atom_site.").tags
    assert "_atom_site.Q-score" in tags and "_atom_site.Q_score" not in tags
    assert np.allclose(read_q_file(tmp_path / "new.cif")["Q"], 0.25)


def test_a_missing_coordinate_column_is_named(tmp_path):
    from qscore.errors import ModelError
    from qscore.io.models import read_model

    lines = ["data_x", "loop_", "_atom_site.group_PDB", "_atom_site.id", "_atom_site.type_symbol",
             "_atom_site.label_atom_id", "_atom_site.label_comp_id", "_atom_site.label_asym_id",
             "_atom_site.label_seq_id", "_atom_site.Cartn_x", "_atom_site.Cartn_y",
             "ATOM 1 C CA ALA A 1 1.0 2.0", "ATOM 2 C CA ALA A 2 2.0 3.0"]
    path = tmp_path / "noz.cif"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ModelError, match=r"noz\.cif' has no Cartn_z column in its _atom_site table"):
        read_model(path)


@pytest.mark.parametrize("value, words", [(float("nan"), "non-finite"), (1e9, "beyond ±100,000 Å")])
def test_atoms_built_in_memory_are_held_to_the_readers_coordinate_rules(value, words):
    from qscore.errors import ModelError
    from qscore.io.models import atoms_from_arrays

    with pytest.raises(ModelError, match=rf"coords= has coordinates {words}.*at index 1 \(1 such atom\)"):
        atoms_from_arrays([[1.0, 2.0, 3.0], [value, 2.0, 3.0]])


STRING_COLUMNS = ("chain", "res_name", "name", "altloc", "element", "mol_type", "ins_code")


@pytest.mark.parametrize("fmt", ["cif", "pdb"])
def test_the_codes_of_the_string_columns_give_the_columns_and_follow_a_replaced_one(tmp_path, cec, fmt):
    path = cec["model"]
    model = read_model(path)
    if fmt == "pdb":  # the same atoms through gemmi's PDB reader (codes worked out when asked)
        gemmi.read_structure(str(path)).write_pdb(str(tmp_path / "m.pdb"))
        model = read_model(tmp_path / "m.pdb")
    atoms = model.atoms
    for column in STRING_COLUMNS:
        codes, distinct = atoms.codes(column)
        assert np.array_equal(distinct[codes], getattr(atoms, column)) and list(distinct) == sorted(set(distinct))
    table = atoms.table()
    assert table["chain"].astype(str).tolist() == atoms.chain.tolist()
    atoms.chain = np.where(atoms.chain == "A", "Z", atoms.chain)  # a replaced column gets new codes
    codes, distinct = atoms.codes("chain")
    assert set(distinct) == {"Z"} and (distinct[codes] == "Z").all()
