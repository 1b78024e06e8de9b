"""The compiled _atom_site reader against gemmi's document and the pandas tokenizer it stands in front of."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest

from conftest import atom_site_head
from qscore.io import model_text, row_scan
from qscore.io.models import _atoms_from_block, read_model

TAGS = ("group_PDB", "id", "type_symbol", "label_atom_id", "label_alt_id", "label_comp_id", "label_asym_id",
        "label_entity_id", "label_seq_id", "pdbx_PDB_ins_code", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy",
        "B_iso_or_equiv", "pdbx_formal_charge", "auth_seq_id", "auth_asym_id", "auth_atom_id",
        "pdbx_PDB_model_num")
FIELDS = ("coords", "element", "name", "altloc", "res_name", "chain", "res_num", "ins_code", "residue",
          "mol_type", "is_hydrogen", "row", "b_iso", "occupancy")
RESIDUES = {"ALA": ["N", "CA", "C", "O", "CB", "H"], "HOH": ["O"], "ZN": ["ZN"], "DA": ["P", "O5'", "C5'", "N9"],
            "ATP": ["PG", "O1G", "C1'"], "LONGNAME": ["C1"]}


def _number(rng, digits: int) -> str:
    v = rng.normal(0, 80)
    text = f"{v:.{digits}f}"
    return text if rng.random() > 0.05 else text.rstrip("0")  # now and then '12.' or '12.5'


def _random_loop(rng, n_res: int, chains) -> str:
    lines, serial = [], 0
    for model in (1, 2) if rng.random() < 0.3 else (1,):
        for _ in range(n_res):
            name = list(RESIDUES)[int(rng.integers(0, len(RESIDUES) - (rng.random() > 0.02)))]
            chain = chains[int(rng.integers(0, len(chains)))]
            seq = str(int(rng.integers(-5, 2000)))
            ins = "?" if rng.random() < 0.9 else "ABC"[int(rng.integers(0, 3))]
            for atom in RESIDUES[name]:
                serial += 1
                alt = "." if rng.random() < 0.9 else "AB"[int(rng.integers(0, 2))]
                element = "H" if atom == "H" else atom[:2] if name == "ZN" else atom[0]
                label_seq = "." if name in ("HOH", "ZN", "ATP") else seq
                occ = ["1", "1.00", "0.5", "0.33"][int(rng.integers(0, 4))]
                b = [f"{rng.uniform(5, 300):.2f}", str(int(rng.integers(1, 200))), "?"][int(rng.integers(0, 3))]
                xyz = [_number(rng, int(rng.integers(0, 7))) for _ in range(3)]
                charge = "?" if rng.random() < 0.95 else "-1"
                sep = " " if rng.random() < 0.9 else "\t "
                lines.append(sep.join(["HETATM" if name in ("ZN", "ATP") else "ATOM", str(serial), element, atom,
                                       alt, name, chain, "1", label_seq, ins, *xyz, occ, b, charge, seq, chain,
                                       atom, str(model)]))
    return "\n".join(lines) + "\n"


def _read_each_way(path, monkeypatch):
    """(compiled, pandas, gemmi) atoms of one file; asserts that the compiled reader took it."""
    taken = []
    compiled = model_text._compiled_columns
    monkeypatch.setattr(model_text, "_compiled_columns", lambda *a: taken.append(compiled(*a)) or taken[-1])
    fast = read_model(path).atoms
    assert taken and taken[-1] is not None
    monkeypatch.setattr(model_text, "_compiled_columns", lambda *a: None)
    by_pandas = read_model(path)
    assert by_pandas.loop is not None  # the pandas tokenizer, not gemmi
    return fast, by_pandas.atoms, _atoms_from_block(gemmi.cif.read(str(path))[0], str(path))


@pytest.mark.parametrize("seed", range(6))
def test_atoms_equal_those_of_gemmi_and_of_the_pandas_tokenizer(tmp_path, monkeypatch, seed):
    rng = np.random.default_rng(seed)
    chains = [["A", "B", "AA", "A-2"], ["1", "2", "10"], ["x"]][seed % 3]
    path = tmp_path / "m.cif"
    path.write_text(atom_site_head(*TAGS) + _random_loop(rng, 60, chains) + "#\n_other.item 1\n")
    fast, by_pandas, by_gemmi = _read_each_way(path, monkeypatch)
    for field in FIELDS:
        mine = np.asarray(getattr(fast, field))
        assert np.array_equal(mine, np.asarray(getattr(by_gemmi, field))), field
        assert np.array_equal(mine, np.asarray(getattr(by_pandas, field))), field
    for column in ("name", "res_name", "chain", "ins_code", "altloc", "element"):
        codes, distinct = fast.codes(column)
        assert np.array_equal(distinct[codes], getattr(fast, column)), column


def test_names_are_read_as_written_where_every_one_looks_like_a_number(tmp_path):
    """Chains '01' and '1' stay two chains (pandas' tokenizer makes categories of numbers here: both 1)."""
    rows = "".join(f"ATOM {i + 1} C CA ALA {c} 1 {i}.5 0 0 1 {c}\n" for i, c in enumerate(["01", "1", "1.0"]))
    path = tmp_path / "n.cif"
    path.write_text(atom_site_head("group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id",
                                   "label_asym_id", "label_seq_id", "Cartn_x", "Cartn_y", "Cartn_z",
                                   "occupancy", "auth_asym_id") + rows)
    assert read_model(path).atoms.chain.tolist() == ["01", "1", "1.0"]


@pytest.mark.parametrize("row", [
    'ATOM 1 C "C A" ALA A 1 1.0 2.0 3.0',  # a quoted value
    "ATOM 1 C CA ALA A 1 1.0e1 2.0 3.0",  # a number with an exponent
    "ATOM 1 C CA ALA A 1 1.0000000000000001 2.0 3.0",  # more digits than are exact
    "ATOM 1 C CA ALA ABCDEFGHI 1 1.0 2.0 3.0",  # a name longer than 8 bytes
    "ATOM 1 C CA\x01 ALA A 1 1.0 2.0 3.0",  # a control byte
    "ATOM 1 C CA ALA Å 1 1.0 2.0 3.0",  # a non-ASCII name
    "ATOM 1 C CA ALA A 1 1.0 2.0 3.0\rATOM 2 C CB ALA A 1 1.0 2.0 3.0",  # a CR alone
    "ATOM 1 C CA ALA A 1 1.0 2.0",  # a value short
    "ATOM 1 C CA ALA A 1 1.0 2.0 3.0 4.0",  # a value too many
    "ATOM 1 C CA ALA A 1 1.0 2.0 3.0\n# a comment\nATOM 2 C CB ALA A 1 1.0 2.0 3.0",
])
def test_what_the_compiled_reader_leaves_to_the_others(row):
    text = (atom_site_head("group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id", "label_asym_id",
                           "label_seq_id", "Cartn_x", "Cartn_y", "Cartn_z") + row + "\n").encode()
    loop = model_text.find_atom_site(text)
    assert model_text._compiled_columns(text, loop) is None


def test_numbers_are_correctly_rounded():
    rng = np.random.default_rng(0)
    words = []
    for _ in range(3000):  # up to 15 significant digits, the point anywhere in them
        digits = str(int(rng.integers(1, 10 ** int(rng.integers(1, 16)))))
        point = int(rng.integers(0, len(digits) + 1))
        words.append("-" * int(rng.integers(0, 2)) + (digits[:point] or "0") + "." + digits[point:])
    words += ["-0.000", "+5", ".5", "7.", "0", "999999999999999", "0.0000000000000000000001"]
    text = (" ".join(words) + "\n").encode()
    kind, slot = np.full(len(words), 2), np.arange(len(words))
    numbers = np.empty((len(words), 1))
    assert row_scan.row_columns(np.frombuffer(text, np.uint8), len(text), kind, slot,
                                np.empty((0, 1), np.uint64), numbers) == 1
    expected = np.array([float(w) for w in words])
    assert np.array_equal(numbers[:, 0], expected) and np.signbit(numbers[words.index("-0.000"), 0])


def test_sorted_codes_are_np_uniques():
    from qscore.types import sorted_codes

    rng = np.random.default_rng(2)
    keys = rng.integers(0, 2**63, 50, dtype=np.uint64)[rng.integers(0, 50, 4000)]  # 50 distinct keys, repeated
    distinct, inverse = np.unique(keys, return_inverse=True)
    codes, got = sorted_codes(keys)
    assert np.array_equal(got, distinct) and np.array_equal(codes, inverse.reshape(-1))
