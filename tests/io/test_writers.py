"""The mmCIF with a Q column: written in blocks with array operations, as line by line would, and read back by gemmi."""

from __future__ import annotations

import gemmi
import numpy as np
import pytest

from conftest import atom_site_head
from qscore.io import numtext, writers
from qscore.io.models import read_model
from qscore.io.writers import write_mmcif_with_q

HEAD = atom_site_head("group_PDB", "id", "type_symbol", "label_atom_id", "label_comp_id", "label_asym_id",
                      "label_seq_id", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv", "auth_seq_id",
                      "auth_asym_id", "pdbx_PDB_model_num")


def _model_file(tmp_path, n: int, quoted_every: int = 0, line_end: str = "\n"):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        name = '"O5\'"' if quoted_every and i % quoted_every == 0 else "CA"
        x, y, z = rng.uniform(-50, 50, 3)
        lines.append(f"ATOM {i + 1} {'O' if 'O5' in name else 'C'} {name} ALA A {i // 4 + 1} {x:.3f} {y:.3f} {z:.3f} "
                     f"1.00 {rng.uniform(5, 90):.2f} {i // 4 + 1} A 1")
        if i % 997 == 5:
            lines.append("")  # a blank line inside the loop is kept
    path = tmp_path / "m.cif"
    path.write_bytes((HEAD + "\n".join(lines) + "\n#\n_other.item 1\n").replace("\n", line_end).encode())
    return path


def test_a_small_model_is_written_line_by_line_without_the_kernel(tmp_path, monkeypatch):
    """Fewer rows than numtext.COMPILED_MIN: nothing to compile on a first run, the same bytes."""
    path = _model_file(tmp_path, 300, 0, "\n")
    model = read_model(path)
    q = np.linspace(0.0, 0.9, 300)
    calls = []
    monkeypatch.setattr(writers, "_row_cuts", lambda *args: calls.append(args))
    write_mmcif_with_q(tmp_path / "small.cif", model, q)
    assert not calls
    monkeypatch.undo()
    monkeypatch.setattr(numtext, "COMPILED_MIN", 0)
    write_mmcif_with_q(tmp_path / "kernel.cif", model, q)
    assert (tmp_path / "small.cif").read_bytes() == (tmp_path / "kernel.cif").read_bytes()


@pytest.mark.parametrize(("quoted_every", "line_end"), [(0, "\n"), (50, "\n"), (0, "\r\n")])
def test_blocks_written_by_the_compiled_kernel_give_the_bytes_of_the_line_by_line_path(tmp_path, monkeypatch,
                                                                                      quoted_every, line_end):
    path = _model_file(tmp_path, 5000, quoted_every, line_end)
    model = read_model(path)
    q = np.linspace(-0.3, 0.95, len(model.atoms))
    q[7] = np.nan
    monkeypatch.setattr(writers, "_CHUNK_BYTES", 4096)  # many blocks, each ending on a whole line
    monkeypatch.setattr(numtext, "COMPILED_MIN", 0)  # the kernel, however few the rows
    compiled, found = writers._row_cuts, []
    monkeypatch.setattr(writers, "_row_cuts", lambda *args: found.append(compiled(*args)) or found[-1])
    write_mmcif_with_q(tmp_path / "fast.cif", model, q)
    assert len(found) > 50 and any(c is None for c in found) == bool(quoted_every)  # quotes: line by line
    write_mmcif_with_q(tmp_path / "threads.cif", model, q, threads=3)  # three blocks at a time, in order
    monkeypatch.setattr(writers, "_row_cuts", lambda *args: None)  # every block line by line
    write_mmcif_with_q(tmp_path / "lines.cif", model, q)
    fast = (tmp_path / "fast.cif").read_bytes()
    assert fast == (tmp_path / "lines.cif").read_bytes() == (tmp_path / "threads.cif").read_bytes()
    block = gemmi.cif.read(str(tmp_path / "fast.cif"))[0]
    got = list(block.find_values("_atom_site.Q-score"))
    assert len(got) == 5000 and got[7] == "?" and abs(float(got[100]) - q[100]) < 1e-6
    assert list(block.find_values("_atom_site.auth_seq_id"))[-1] == "1250" and block.find_value("_other.item") == "1"
