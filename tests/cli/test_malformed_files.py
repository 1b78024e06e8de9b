"""Malformed files a broken pipeline writes: read as meant where the meaning is clear (a byte-order
mark, old-Mac line ends, an empty first MODEL), refused with the file, the row and the fix otherwise —
never read into a silently different model."""

from __future__ import annotations

import gzip
import struct
import warnings

import gemmi
import numpy as np
import pytest

import qscore
from conftest import assert_cli_refused, run_score
from qscore.errors import InputFileError, MapError, ModelError, QScoreWarning


def _cif(good):
    """The good model as mmCIF lines, the index of its first _atom_site row, and the loop's tags."""
    lines = gemmi.read_structure(str(good["model"])).make_mmcif_document().as_string().splitlines()
    tags = [line for line in lines if line.startswith("_atom_site.")]
    first = max(i for i, line in enumerate(lines) if line.startswith("_atom_site.")) + 1
    return lines, first, tags


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _coords(path):
    return qscore.read_model(path).atoms.coords


# ------------------------------------------------------------------ gzip and header words of maps

def test_a_gzipped_map_without_its_trailer_or_with_a_bad_crc_is_refused(good):
    packed = gzip.compress(good["map"].read_bytes())
    cut = good["dir"] / "trailer.mrc.gz"
    cut.write_bytes(packed[:-8])  # every voxel there: only the CRC and size trailer missing
    assert_cli_refused(run_score({**good, "map": cut}), good, "trailer.mrc.gz", "truncated or not a valid gzip")
    crc = bytearray(packed)
    crc[-8] ^= 0xFF
    bad = good["dir"] / "crc.mrc.gz"
    bad.write_bytes(bytes(crc))
    assert_cli_refused(run_score({**good, "map": bad}), good, "crc.mrc.gz", "CRC check failed")
    whole = good["dir"] / "whole.mrc.gz"
    whole.write_bytes(packed)
    assert np.array_equal(qscore.read_map(whole).values, qscore.read_map(good["map"]).values)


def test_a_tiny_cell_is_reported_as_it_is_not_as_zero(good):
    data = bytearray(good["map"].read_bytes())
    data[40:52] = struct.pack("<3f", 1e-30, 1e-30, 1e-30)  # CELLA
    tiny = good["dir"] / "tiny.mrc"
    tiny.write_bytes(bytes(data))
    with pytest.raises(MapError, match=r"voxel size of 7\.143e-32") as info:
        qscore.read_map(tiny)
    assert "0.0, 0.0" not in str(info.value)


# ------------------------------------------------------------------ _atom_site rows, per row

def test_rows_short_and_long_by_two_are_refused_not_read_as_another_model(good):
    lines, first, tags = _cif(good)
    row1, row2 = lines[first].split(), lines[first + 1].split()
    lines[first], lines[first + 1] = " ".join(row1[:-2]), " ".join([*row2, "X", "Y"])  # the total count is right
    path = _write(good["dir"] / "opposite.cif", lines)
    assert_cli_refused(run_score({**good, "model": path}), good, "opposite.cif", "row 1 of _atom_site",
                       f"line {first + 1}", f"{len(tags) - 2} values for {len(tags)} columns")


def test_quoted_values_are_counted_once_and_a_bad_row_is_still_found(good):
    lines, first, tags = _cif(good)
    k = tags.index("_atom_site.label_comp_id")
    rows = [lines[first + i].split() for i in range(3)]
    for r in rows:
        r[k] = "'A LA'"  # a quoted value with a space: the fast reader leaves such a loop to gemmi
    lines[first:first + 3] = [" ".join(r) for r in rows]
    quoted = _write(good["dir"] / "quoted.cif", lines)
    assert qscore.read_model(quoted).atoms.res_name.tolist() == ["A LA"] * 3
    lines[first + 2] = " ".join(rows[2][:-1])
    path = _write(good["dir"] / "quoted_short.cif", lines)
    with pytest.raises(InputFileError, match=rf"row 3 of _atom_site \(line {first + 3}\) has {len(tags) - 1} values"):
        qscore.read_model(path)


def test_a_question_mark_coordinate_names_its_row(good):
    lines, first, tags = _cif(good)
    row = lines[first + 1].split()
    row[tags.index("_atom_site.Cartn_y")] = "?"
    lines[first + 1] = " ".join(row)
    path = _write(good["dir"] / "qmark.cif", lines)
    res = run_score({**good, "model": path})
    assert_cli_refused(res, good, "qmark.cif", "row 2 of _atom_site", "Cartn_y is '?'", "not a number")
    assert "np.str_" not in res.output


# ------------------------------------------------------------------ encodings and line ends

def test_a_byte_order_mark_is_read_past(good):
    lines, _, _ = _cif(good)
    bom_cif = good["dir"] / "bom.cif"
    bom_cif.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    bom_pdb = good["dir"] / "bom.pdb"
    bom_pdb.write_bytes(b"\xef\xbb\xbf" + good["model"].read_bytes())  # gemmi alone loses the first atom
    for path in (bom_cif, bom_pdb):
        assert np.array_equal(_coords(path), _coords(good["model"])), path
    assert run_score({**good, "model": bom_cif}).exit_code == 0
    assert (good["out"] / "bom__Q__map.cif").read_bytes().startswith(b"data_")


def test_utf16_text_is_refused_by_name(good):
    path = good["dir"] / "wide.pdb"
    path.write_bytes(good["model"].read_text().encode("utf-16"))
    assert_cli_refused(run_score({**good, "model": path}), good, "wide.pdb", "UTF-16", "save it as UTF-8")


@pytest.mark.parametrize("ending", [b"\r", b"\r\n"], ids=["cr", "crlf"])
@pytest.mark.parametrize("fmt", ["pdb", "cif"])
def test_old_mac_and_windows_line_ends_read_as_unix_ones(good, ending, fmt):
    text = good["model"].read_bytes() if fmt == "pdb" else ("\n".join(_cif(good)[0]) + "\n").encode()
    path = good["dir"] / f"ends.{fmt}"
    path.write_bytes(text.replace(b"\n", ending))  # gemmi reads a CR-only PDB file as one record
    assert np.array_equal(_coords(path), _coords(good["model"]))


def test_an_empty_first_model_is_skipped_with_a_warning(good):
    atoms = [line for line in good["model"].read_text().splitlines() if line.startswith("ATOM")]
    path = good["dir"] / "empty_first.pdb"
    path.write_text("\n".join(["MODEL        1", "ENDMDL", "MODEL        2", *atoms, "ENDMDL", "END"]) + "\n")
    with pytest.warns(QScoreWarning, match="MODEL 1 holds no atoms; read MODEL 2"):
        assert np.array_equal(_coords(path), _coords(good["model"]))


# ------------------------------------------------------------------ an optional step that cannot run

def test_unknown_elements_skip_the_correlation_of_score_and_name_the_file_in_cc(good):
    lines = [line[:76] + " Q" + line[78:] if line.startswith("ATOM") else line
             for line in good["model"].read_text().splitlines()]
    path = _write(good["dir"] / "no_element.pdb", lines)
    res = run_score({**good, "model": path}, "--resolution", 3)
    assert res.exit_code == 0, res.output
    assert "skipped: no atom of model" in res.output and "has a known element" in res.output
    assert "type_symbol" in res.output
    from click.testing import CliRunner

    from qscore.cli import main

    cc = CliRunner().invoke(main, ["cc", str(path), str(good["map"]), "-r", "3"])
    assert cc.exit_code == 2 and cc.output.count("\n") == 1, cc.output
    assert cc.output.startswith("Error: No atom of model") and "no_element.pdb" in cc.output
    assert "PDB columns 77-78" in cc.output


def test_cc_json_into_a_missing_folder_is_refused_before_any_work(good, monkeypatch):
    from click.testing import CliRunner

    import qscore.pipeline.tools as tools
    from qscore.cli import main

    def fail(*args, **kwargs):
        raise AssertionError("the map was read before the output was checked")

    monkeypatch.setattr(tools, "read_map", fail)
    res = CliRunner().invoke(main, ["cc", str(good["model"]), str(good["map"]), "-r", "3",
                                    "--json", str(good["dir"] / "missing" / "cc.json")])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert res.output.startswith("Error: --json ") and "does not exist" in res.output and "--out" not in res.output


def test_a_model_read_cleanly_gives_no_warning(good):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qscore.read_model(good["model"])


def test_coordinates_in_gemmi_and_fast_readers_agree_on_a_refusal(good):
    """The '?' check holds where gemmi reads the loop (quoted values) as where the fast reader does."""
    lines, first, tags = _cif(good)
    row = lines[first].split()
    row[tags.index("_atom_site.Cartn_z")] = "."
    row[tags.index("_atom_site.label_comp_id")] = "'A LA'"
    lines[first] = " ".join(row)
    with pytest.raises(ModelError, match=r"row 1 of _atom_site: Cartn_z is '\.'"):
        qscore.read_model(_write(good["dir"] / "dot.cif", lines))
