"""Hypothesis strategies for map headers and model rows: whatever a header or an ``_atom_site`` table
holds, the readers either return something sane or raise the package's own error — never another
exception, never a model with other atoms than the rows given, never a map that is not finite."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qscore
from conftest import gaussian_map
from qscore.errors import QScoreError
from qscore.io.maps import VOXEL_RANGE, write_map
from qscore.io.models import MAX_COORDINATE

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

#: the valid atoms the strategies damage: a short chain inside the map below
COORDS = np.array([[5.0, 5.0, 5.0], [6.4, 5.2, 5.1], [7.0, 6.5, 5.0], [8.2, 6.9, 6.0]])


@pytest.fixture(scope="module")
def valid_map_bytes():
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "map.mrc"
        write_map(path, gaussian_map(COORDS, shape=(14, 14, 14), voxel=(1.0, 1.0, 1.0), origin=(0, 0, 0),
                                     noise=0.01))
        return path.read_bytes()


int32 = st.one_of(st.sampled_from([0, -1, 1, 2, 3, 14, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1))
float32 = st.one_of(st.sampled_from([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e-30, 3e38, 90.0]),
                    st.floats(width=32, allow_nan=True, allow_infinity=True))
header_edit = st.one_of(st.tuples(st.integers(1, 56), int32.map(lambda v: struct.pack("<i", v))),
                        st.tuples(st.integers(1, 56), float32.map(lambda v: struct.pack("<f", v))))


@SETTINGS
@given(edits=st.lists(header_edit, min_size=1, max_size=4))
def test_any_header_gives_a_sane_map_or_a_package_error(valid_map_bytes, edits):
    data = bytearray(valid_map_bytes)
    for word, packed in edits:
        data[4 * (word - 1):4 * word] = packed
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "edited.mrc"
        path.write_bytes(bytes(data))
        try:
            dmap = qscore.read_map(path)
        except QScoreError:
            return
    assert np.all(np.isfinite(dmap.values)) and dmap.values.size > 0
    assert np.all((dmap.voxel_size >= VOXEL_RANGE[0]) & (dmap.voxel_size <= VOXEL_RANGE[1]))
    assert np.all(np.isfinite(dmap.origin))
    try:
        result = qscore.score(_model(COORDS), dmap)
    except QScoreError:
        return
    assert np.all((result.q >= -1) & (result.q <= 1))


def _model(coords):
    from qscore.io.models import Model, atoms_from_arrays

    return Model(path="in-memory", format="pdb", atoms=atoms_from_arrays(coords, element=["C"] * len(coords)))


coordinate = st.one_of(st.floats(-50, 50), st.sampled_from(["?", ".", "nan", "inf", "-1e30", "1e5", "abc", "1,5"]))
word = st.text(alphabet="ABCXYZabc019'\"_-+*#.?", min_size=1, max_size=6)
atom_row = st.fixed_dictionaries({
    "element": st.one_of(st.sampled_from(["C", "N", "O", "S", "H", "FE", "X", "?", "."]), word),
    "name": st.one_of(st.sampled_from(["CA", "N", "O5'", "?"]), word),
    "res_name": st.one_of(st.sampled_from(["ALA", "HOH", "ZN", "NAG"]), word),
    "chain": st.one_of(st.sampled_from(["A", "B", "?"]), word),
    "seq": st.one_of(st.integers(-5, 10000), st.sampled_from(["?", ".", "1A", "x"])),
    "x": coordinate, "y": coordinate, "z": coordinate,
})


def _cif_value(v) -> str:
    """A value as an mmCIF token: quoted where a bare word would not be one value."""
    text = str(v)
    if text and " " not in text and not text.startswith(("'", '"', "_", "#", "$", ";", "[")) and \
            text.lower() not in ("loop_", "stop_", "global_") and not text.lower().startswith(("data_", "save_")):
        return text
    quote = '"' if "'" in text else "'"
    return f"{quote}{text}{quote}" if quote not in text and text else "?"


@SETTINGS
@given(rows=st.lists(atom_row, min_size=1, max_size=12))
def test_any_atom_site_table_gives_its_own_atoms_or_a_package_error(rows):
    tags = ["group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id", "auth_asym_id", "auth_seq_id",
            "Cartn_x", "Cartn_y", "Cartn_z", "B_iso_or_equiv", "pdbx_PDB_model_num"]
    lines = ["data_fuzz", "loop_", *[f"_atom_site.{t}" for t in tags]]
    for i, r in enumerate(rows, start=1):
        values = ["ATOM", i, r["element"], r["name"], r["res_name"], r["chain"], r["seq"], r["x"], r["y"], r["z"],
                  20.0, 1]
        lines.append(" ".join(_cif_value(v) for v in values))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "rows.cif"
        path.write_text("\n".join(lines) + "\n#\n")
        try:
            model = qscore.read_model(path)
        except QScoreError:
            return
    atoms = model.atoms
    assert len(atoms) == len(rows)  # never another model than the rows given
    assert np.all(np.isfinite(atoms.coords)) and np.all(np.abs(atoms.coords) <= MAX_COORDINATE)
    expected = np.array([[float(r[c]) for c in "xyz"] for r in rows])
    assert np.allclose(atoms.coords, expected)
    for field, column in (("name", atoms.name), ("res_name", atoms.res_name), ("chain", atoms.chain)):
        assert column.tolist() == [_as_read(r[field]) for r in rows], field


def _as_read(v) -> str:
    """What a reader gives for a value written by :func:`_cif_value`: '?' and '.' (unknown) are blank."""
    token = _cif_value(v)
    return "" if token in ("?", ".") else str(v)
