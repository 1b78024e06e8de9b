"""Every bad input gets one clear message naming the file and the fix, exit code 2 from the CLI,
an exception of the package's own type from the API, and no output file."""

from __future__ import annotations

import gzip

import gemmi
import numpy as np
import pytest
from click.testing import CliRunner

import qscore
from conftest import write_pdb
from qscore.cli import main
from qscore.errors import InputFileError, MapError, ModelError, OutputError, ParameterError, QScoreError
from qscore.io.maps import write_map


def run_cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_refused(good, model, mp, error_type, *phrases):
    """CLI: exit 2, one 'Error:' line naming the problem, no traceback, no output files; API: error_type."""
    res = run_cli("score", model, mp, "--out", good["out"])
    assert res.exit_code == 2, res.output
    out = res.output
    assert out.startswith("Error: ") and "Traceback" not in out
    for p in phrases:
        assert p.lower() in out.lower(), (p, out)
    assert not good["out"].exists() or not any(good["out"].iterdir())
    with pytest.raises(error_type):
        qscore.score(model, mp)


def test_good_inputs_work(good):
    res = run_cli("score", good["model"], good["map"], "--out", good["out"])
    assert res.exit_code == 0, res.output
    assert len(list(good["out"].iterdir())) == 4


def test_missing_files(good):
    assert_refused(good, good["dir"] / "nope.pdb", good["map"], InputFileError, "nope.pdb", "does not exist")
    assert_refused(good, good["model"], good["dir"] / "nope.mrc", InputFileError, "nope.mrc", "does not exist")


def test_unknown_extensions(good):
    odd = good["dir"] / "model.xyz"
    odd.write_text("1\n\nC 0 0 0\n")
    assert_refused(good, odd, good["map"], InputFileError, "model.xyz", "unknown extension")
    oddmap = good["dir"] / "map.tiff"
    oddmap.write_bytes(b"\0" * 2000)
    assert_refused(good, good["model"], oddmap, InputFileError, "map.tiff", "unknown extension")


def test_truncated_and_corrupt_maps(good):
    data = good["map"].read_bytes()
    cut = good["dir"] / "cut.mrc"
    cut.write_bytes(data[: len(data) // 2])
    assert_refused(good, good["model"], cut, InputFileError, "cut.mrc", "truncated")
    junk = good["dir"] / "junk.map"
    junk.write_bytes(b"this is not a map" * 10)
    assert_refused(good, good["model"], junk, InputFileError, "junk.map", "corrupt")
    gz = good["dir"] / "bad.mrc.gz"
    with gzip.open(gz, "wb") as f:
        f.write(data[:1500])
    assert_refused(good, good["model"], gz, InputFileError, "bad.mrc.gz")


def _rewrite_header(src, dst, **words):
    m = gemmi.read_ccp4_map(str(src))
    for w, v in words.items():
        idx = int(w[1:])
        if isinstance(v, float):
            m.set_header_float(idx, v)
        else:
            m.set_header_i32(idx, v)
    m.write_ccp4_map(str(dst))


def test_complex_and_integer_modes(good):
    cplx = good["dir"] / "complex.mrc"
    _rewrite_header(good["map"], cplx, w4=4)
    assert_refused(good, good["model"], cplx, MapError, "complex.mrc", "complex")
    m = gemmi.read_ccp4_map(str(good["map"]))
    m.update_ccp4_header(0)  # int8
    m.write_ccp4_map(str(good["dir"] / "int8.mrc"))
    assert_refused(good, good["model"], good["dir"] / "int8.mrc", MapError, "int8.mrc", "int8", "--permissive")
    res = run_cli("score", good["model"], good["dir"] / "int8.mrc", "--out", good["out"], "--permissive")
    assert res.exit_code == 0 and "Warning" in res.output


def test_skewed_cell(good):
    skew = good["dir"] / "skew.mrc"
    _rewrite_header(good["map"], skew, w14=90.0, w15=100.0, w16=90.0)
    assert_refused(good, good["model"], skew, MapError, "skew.mrc", "angles", "orthogonal")


def test_nan_and_constant_maps(good):
    from qscore.io.maps import read_map

    base = read_map(good["map"])
    nan = base.values.copy()
    nan[3, 3, 3] = np.nan
    write_map(good["dir"] / "nan.mrc", type(base)(values=nan, origin=base.origin, voxel_size=base.voxel_size))
    assert_refused(good, good["model"], good["dir"] / "nan.mrc", MapError, "nan.mrc", "NaN")
    flat = np.full_like(base.values, 0.5)
    write_map(good["dir"] / "flat.mrc", type(base)(values=flat, origin=base.origin, voxel_size=base.voxel_size))
    assert_refused(good, good["model"], good["dir"] / "flat.mrc", MapError, "flat.mrc", "zero variance")


def test_models_without_usable_atoms(good):
    empty = good["dir"] / "empty.pdb"
    empty.write_text("REMARK nothing here\nEND\n")
    assert_refused(good, empty, good["map"], ModelError, "empty.pdb", "no atoms")
    cif = good["dir"] / "empty.cif"
    cif.write_text("data_x\n_cell.length_a 10\n")
    assert_refused(good, cif, good["map"], ModelError, "empty.cif", "no atoms")
    honly = write_pdb(good["dir"] / "h.pdb", [[5, 5, 5], [6, 6, 6]], element="H", name="H")
    assert_refused(good, honly, good["map"], ModelError, "h.pdb", "only hydrogen")
    broken = good["dir"] / "broken.cif"
    broken.write_text("data_x\nloop_\n_atom_site.id\n_atom_site.Cartn_x\n_atom_site.Cartn_y\n"
                      "_atom_site.Cartn_z\n1 1.0 abc 3.0\n")
    assert_refused(good, broken, good["map"], ModelError, "broken.cif", "not numbers")
    garbage = good["dir"] / "garbage.cif"
    garbage.write_text("loop_ this is ' not cif\n")
    assert_refused(good, garbage, good["map"], InputFileError, "garbage.cif")


def test_model_outside_the_map(good):
    far = write_pdb(good["dir"] / "far.pdb", [[100, 100, 100], [101, 100, 100]])
    assert_refused(good, far, good["map"], ModelError, "far.pdb", "outside", "2 atoms")
    partly = write_pdb(good["dir"] / "partly.pdb", [[5, 5, 5], [6.4, 5.2, 5.1], [100, 100, 100]])
    res = run_cli("score", partly, good["map"], "--out", good["out"])
    assert res.exit_code == 0
    assert "1 of 3 atoms lie outside the map" in res.output
    r = qscore.score(partly, good["map"])
    assert r.summary()["counts"]["outside_map"] == 1 and r.q[2] == 0.0


def test_unwritable_output_folder(good):
    blocker = good["dir"] / "a_file"
    blocker.write_text("x")
    res = run_cli("score", good["model"], good["map"], "--out", blocker / "sub")
    assert res.exit_code == 2 and "cannot be written" in res.output and "--out" in res.output
    assert not (blocker / "sub").exists()


def test_bad_parameters(good):
    res = run_cli("score", good["model"], good["map"], "--out", good["out"], "--sigma", "-0.4")
    assert res.exit_code == 2 and "sigma" in res.output
    res = run_cli("score", good["model"], good["map"], "--out", good["out"], "--resolution", "0")
    assert res.exit_code == 2 and "--resolution" in res.output
    with pytest.raises(ParameterError):
        qscore.score(good["model"], good["map"], resolution=80)
    assert issubclass(OutputError, QScoreError)


def test_hydrogen_only_model_in_memory(good):
    from qscore.io.models import Model, atoms_from_arrays

    atoms = atoms_from_arrays([[5.0, 5.0, 5.0], [6.0, 5.0, 5.0]], element=["H", "H"])
    with pytest.raises(ModelError, match="only hydrogen atoms"):
        qscore.score(Model(path="in-memory", format="pdb", atoms=atoms), good["map"])


def _cif_lines(good):
    """The good model as mmCIF text lines, and the index of the first _atom_site row."""
    doc = gemmi.read_structure(str(good["model"])).make_mmcif_document()
    lines = doc.as_string().splitlines()
    first = max(i for i, line in enumerate(lines) if line.startswith("_atom_site.")) + 1
    assert lines[first].startswith("ATOM") and lines[first + 1].startswith("ATOM")
    return lines, first


def test_mmcif_row_with_a_value_too_few_or_too_many(good):
    lines, first = _cif_lines(good)
    n_tags = sum(line.startswith("_atom_site.") for line in lines)
    row = lines[first + 1].split()
    short, long = list(lines), list(lines)
    short[first + 1] = " ".join(row[:3] + row[4:])
    long[first + 1] = " ".join([*row, "EXTRA"])
    for name, text, k in (("short.cif", short, n_tags - 1), ("long.cif", long, n_tags + 1)):
        path = good["dir"] / name
        path.write_text("\n".join(text) + "\n")
        assert_refused(good, path, good["map"], InputFileError, name, "corrupt", "row 2 of _atom_site",
                       f"line {first + 2}", f"{k} values for {n_tags} columns")


def test_mmcif_row_split_across_lines_is_read(good):
    """A row split over two lines is valid mmCIF: it reads as the unsplit file does."""
    lines, first = _cif_lines(good)
    row = lines[first + 1].split()
    lines[first + 1:first + 2] = [" ".join(row[:5]), " ".join(row[5:])]
    path = good["dir"] / "split.cif"
    path.write_text("\n".join(lines) + "\n")
    assert np.allclose(qscore.read_model(path).atoms.coords, qscore.read_model(good["model"]).atoms.coords)


def test_truncated_gzip_models(good):
    lines, _ = _cif_lines(good)
    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = good["dir"] / "cut.cif.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    assert_refused(good, cut, good["map"], InputFileError, "cut.cif.gz", "truncated or not a valid gzip")
    # every line there, only the gzip trailer missing: gemmi would read it without a word
    packed = gzip.compress(good["model"].read_bytes())
    trailer = good["dir"] / "trailer.pdb.gz"
    trailer.write_bytes(packed[:-8])
    assert_refused(good, trailer, good["map"], InputFileError, "trailer.pdb.gz", "truncated")
    whole = good["dir"] / "whole.pdb.gz"
    whole.write_bytes(packed)
    assert len(qscore.read_model(whole).atoms) == 3


def test_pdb_coordinate_that_is_not_a_number(good):
    lines = good["model"].read_text().splitlines()
    lines[1] = lines[1][:30] + "  abcdef" + lines[1][38:]
    alpha = good["dir"] / "alpha.pdb"
    alpha.write_text("\n".join(lines) + "\n")
    assert_refused(good, alpha, good["map"], ModelError, "alpha.pdb", "line 2", "abcdef", "not a number")


def test_pdb_without_atom_records_says_so(good):
    empty = good["dir"] / "remarks.pdb"
    empty.write_text("REMARK\nEND\n")
    assert_refused(good, empty, good["map"], ModelError, "remarks.pdb", "no atoms", "no ATOM/HETATM records")


def test_a_named_pipe_is_refused_not_waited_on(good, tmp_path):
    import os

    pipe = tmp_path / "pipe.mrc"
    os.mkfifo(pipe)
    assert_refused(good, good["model"], pipe, InputFileError, "not a regular file", "pipe.mrc")


@pytest.mark.parametrize("option, value, blamed, phrase", [
    ("--shell-step", "1e-7", "--shell-step", "at most 200 shells"),
    ("--shell-step", "nan", "--shell-step", "must be > 0"),
    ("--max-radius", "0", "--max-radius", "outside (0, 10]"),
])
def test_parameters_that_would_take_forever_are_refused_by_name(good, option, value, blamed, phrase):
    res = run_cli("score", good["model"], good["map"], option, value, "--out", good["out"])
    assert res.exit_code == 2 and res.output.startswith(f"Error: {blamed} ") and phrase in res.output, res.output
    assert not good["out"].exists() or not any(good["out"].iterdir())


def _patched_map(good, tmp_path, word: int, values) -> object:
    """The good map with float header words ``word``, ``word + 1``, … replaced by ``values``."""
    import struct

    data = bytearray(good["map"].read_bytes())
    for k, v in enumerate(values):
        data[4 * (word - 1 + k):4 * (word + k)] = struct.pack("<f", v)
    path = tmp_path / f"patched_{word}.mrc"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("word, values, phrase", [
    (14, [float("nan"), 90.0, 90.0], "cell angles"),               # a NaN angle is not 90°
    (11, [float("inf"), 14.0, 14.0], "finite and positive"),         # CELLA +Inf
    (11, [14.0 * 3.6e28, 14.0, 14.0], "voxel size"),                 # 3.6e28 Å voxels
    (11, [14.0 * 48.8, 14.0 * 48.8, 14.0 * 48.8], "voxel size"),     # 48.8 Å voxels
    (50, [float("nan"), 0.0, 0.0], "non-finite ORIGIN"),
])
def test_map_headers_are_checked_as_a_whole(good, tmp_path, word, values, phrase):
    bad = _patched_map(good, tmp_path, word, values)
    assert_refused(good, good["model"], bad, MapError, phrase, bad.name)


def test_a_voxel_outside_the_range_is_read_when_permissive(good, tmp_path):
    from qscore.errors import QScoreWarning

    bad = _patched_map(good, tmp_path, 11, [14.0 * 30, 14.0 * 30, 14.0 * 30])
    with pytest.warns(QScoreWarning, match="voxel size of 30, 30, 30 Å"):
        dmap = qscore.read_map(bad, permissive=True)
    assert np.allclose(dmap.voxel_size, 30.0)


def test_out_naming_a_file_is_one_line(good):
    res = run_cli("score", good["model"], good["map"], "--out", good["model"])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert res.output.startswith("Error: Output folder") and "is a file; choose a folder with --out" in res.output


@pytest.mark.parametrize("command", [["score"], ["profile", "--atoms", "A"], ["bfactors", "-r", "3"]])
def test_a_failed_run_leaves_no_output_folder_it_created(good, command):
    res = run_cli(command[0], good["model"], good["map"], *command[1:], "--sigma", "9", "--out", good["out"])
    assert res.exit_code == 2 and res.output.startswith("Error: --sigma 9.0"), res.output
    assert not good["out"].exists()
