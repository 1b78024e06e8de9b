"""Map headers that lie about the grid size, and output paths that cannot be written: one clear
message naming the file (exit code 2 from the CLI, the package's own exception from the API), no
traceback, no huge allocation and no partial set of output files."""

from __future__ import annotations

import gzip
import struct

import gemmi
import pytest
from click.testing import CliRunner

import qscore
from conftest import assert_cli_refused, run_score
from qscore.cli import main
from qscore.errors import InputFileError, OutputError
from qscore.io.maps import read_map
from qscore.io.paths import output_stem
from qscore.io.writers import atomic_path
from qscore.pipeline.outputs import write_score_outputs


def _patched(src, dst, *, dims=None, nsymbt=None, extra=b"", gz=False):
    """Copy the map ``src`` to ``dst`` with NX, NY, NZ (words 1-3) and/or NSYMBT (word 24) replaced,
    ``extra`` bytes inserted after the 1024-byte header, optionally gzipped."""
    data = bytearray(src.read_bytes())
    if dims is not None:
        data[0:12] = struct.pack("<3i", *dims)
    if nsymbt is not None:
        data[92:96] = struct.pack("<i", nsymbt)
    data = bytes(data[:1024]) + extra + bytes(data[1024:])
    if gz:
        with gzip.open(dst, "wb") as f:
            f.write(data)
    else:
        dst.write_bytes(data)
    return dst


@pytest.fixture
def no_gemmi_read(monkeypatch):
    """Fail the test if gemmi is asked to read (and so allocate) the map."""
    def refuse(*args, **kwargs):
        raise AssertionError("gemmi.read_ccp4_map called on a map whose header should have been refused")

    monkeypatch.setattr(gemmi, "read_ccp4_map", refuse)


@pytest.mark.parametrize(("name", "dims", "phrases"), [
    ("huge.mrc", (100000, 100000, 100000), ("truncated", "100000×100000×100000", "header")),
    ("negative.mrc", (-5, 14, 14), ("-5×14×14", "positive")),
    ("zero.mrc", (14, 0, 14), ("14×0×14", "positive")),
    ("thousand.mrc", (1000, 1000, 1000), ("truncated", "1000×1000×1000", "4000001024 bytes")),
])
def test_absurd_map_dimensions_refused_before_reading(good, no_gemmi_read, name, dims, phrases):
    bad = _patched(good["map"], good["dir"] / name, dims=dims)
    res = CliRunner().invoke(main, ["score", str(good["model"]), str(bad), "-o", str(good["out"])])
    assert_cli_refused(res, good, name, *phrases)
    assert "bad_alloc" not in res.output and "vector::" not in res.output
    with pytest.raises(InputFileError, match=name):
        read_map(bad)
    with pytest.raises(InputFileError):
        qscore.score(good["model"], bad)


def test_file_size_message_names_both_sizes(good, no_gemmi_read):
    size = good["map"].stat().st_size
    bad = _patched(good["map"], good["dir"] / "big.mrc", dims=(100, 100, 100))
    with pytest.raises(InputFileError) as err:
        read_map(bad)
    msg = str(err.value)
    assert "big.mrc" in msg and f"{100 ** 3 * 4 + 1024} bytes" in msg and f"holds {size} bytes" in msg
    assert "re-download or re-export" in msg.lower()


def test_extended_header_counts_towards_the_size(good, no_gemmi_read):
    bad = _patched(good["map"], good["dir"] / "ext.mrc", nsymbt=4096)  # says 4096 bytes, has none
    with pytest.raises(InputFileError, match="truncated"):
        read_map(bad)
    neg = _patched(good["map"], good["dir"] / "negext.mrc", nsymbt=-80)
    with pytest.raises(InputFileError, match="NSYMBT"):
        read_map(neg)


def test_real_extended_header_still_reads(good):
    plain = read_map(good["map"])
    ext = _patched(good["map"], good["dir"] / "ext.mrc", nsymbt=160, extra=b"\0" * 160)
    dmap = read_map(ext)
    assert dmap.shape_xyz == plain.shape_xyz
    assert (dmap.values == plain.values).all()


def test_gzipped_map_with_absurd_dimensions(good, no_gemmi_read):
    for name, dims, phrase in (("huge.mrc.gz", (100000, 100000, 100000), "header is wrong"),
                               ("neg.mrc.gz", (-5, 14, 14), "positive")):
        bad = _patched(good["map"], good["dir"] / name, dims=dims, gz=True)
        res = CliRunner().invoke(main, ["score", str(good["model"]), str(bad), "-o", str(good["out"])])
        assert_cli_refused(res, good, name, phrase)


def _stem(good):
    return output_stem(str(good["model"]), str(good["map"]))


def _leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


@pytest.mark.parametrize("kind", ["residues.csv", "summary.json", "atoms.csv", "cif"])
def test_output_path_that_is_a_folder(good, kind):
    good["out"].mkdir()
    name = f"{_stem(good)}.{kind}" if kind == "cif" else f"{_stem(good)}_{kind}"
    (good["out"] / name).mkdir()
    res = run_score(good, "-r", 3.0, "--no-cc")
    assert res.exit_code == 2, res.output
    assert res.output.startswith("Error: ") and "Traceback" not in res.output
    assert name in res.output and "folder" in res.output.lower() and "--out" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert _leftovers(good["out"], name) == []  # no partial set, no temporary files
    assert not any((good["out"] / name).iterdir())  # the folder in the way is left as it was


def test_output_folder_in_the_way_from_the_api(good, tmp_path):
    result = qscore.score(good["model"], good["map"], resolution=3.0)
    out = tmp_path / "api_out"
    out.mkdir()
    name = f"{_stem(good)}_summary.json"
    (out / name).mkdir()
    with pytest.raises(OutputError, match=name):
        write_score_outputs(result, out)
    assert _leftovers(out, name) == []
    # once the folder is gone the same call writes the whole set
    (out / name).rmdir()
    paths = write_score_outputs(result, out)
    assert all((out / p).exists() for p in paths.values())


def test_atomic_path_turns_a_failed_rename_into_output_error(tmp_path):
    target = tmp_path / "x.txt"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(OutputError, match="x.txt"), atomic_path(target) as tmp:
        tmp.write_text("data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]
    assert (target / "inside").read_text() == "keep"
