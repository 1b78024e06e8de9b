"""One line, always: click's usage errors, multi-line messages of other libraries, unexpected exceptions
and matplotlib's warnings reach the user as one ``Error:`` or ``Warning:`` line each."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from qscore.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], prog_name="qscore")


@pytest.mark.parametrize("args, phrase, command", [
    (["score", "{model}", "{map}", "--bogus"], "No such option '--bogus'", "qscore score"),
    (["score", "{model}"], "Missing argument 'MAP'", "qscore score"),
    (["score", "{dir}", "{map}"], "is a directory", "qscore score"),
    (["score", "{model}", "{map}", "--sigma", "abc"], "'abc' is not a valid float", "qscore score"),
    (["--bogus"], "No such option '--bogus'", "qscore"),
    (["nosuch"], "No such command 'nosuch'", "qscore"),
    (["archive", "stats", "--zz"], "No such option '--zz'", "qscore archive stats"),
])
def test_usage_errors_are_one_line(good, args, phrase, command):
    names = {"model": good["model"], "map": good["map"], "dir": good["dir"]}
    res = run(*[a.format(**names) for a in args])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and res.output.startswith("Error: "), res.output
    assert phrase in res.output and f"See '{command} --help'." in res.output, res.output
    assert "Usage:" not in res.output


def test_a_multi_line_message_of_another_library_is_one_line(good, monkeypatch):
    def broken(path):
        raise RuntimeError("first line of gemmi\nsecond line")

    monkeypatch.setattr("gemmi.read_ccp4_map", broken)
    res = run("score", good["model"], good["map"], "--out", good["out"])
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "first line of gemmi second line" in res.output


def test_an_unexpected_exception_is_one_line_that_says_it_is_a_bug(good, monkeypatch):
    import qscore.pipeline.outputs as outputs

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(outputs, "write_score_outputs", bug)
    res = run("score", good["model"], good["map"], "--out", good["out"])
    assert res.exit_code == 1, res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output, res.output
    assert "internal error (ZeroDivisionError: division by zero)" in res.output and "--debug" in res.output
    assert not good["out"].exists()  # the folder this run made is gone again
    debug = CliRunner().invoke(main, ["--debug", "score", str(good["model"]), str(good["map"]),
                                      "--out", str(good["out"])])
    assert isinstance(debug.exception, ZeroDivisionError)


def test_missing_glyphs_are_one_package_warning_per_figure(demo_inputs, tmp_path):
    """A chain named in a script the font lacks: one 'Warning:' line naming the characters, no source lines."""
    import gemmi

    st = gemmi.read_structure(str(demo_inputs["model"]))
    st[0][0].name = "中"
    st.setup_entities()
    model = tmp_path / "cjk.cif"
    st.make_mmcif_document().write_file(str(model))
    res = run("report", model, demo_inputs["map"], "-r", demo_inputs["resolution"], "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    warned = [line for line in res.output.splitlines() if "no glyph" in line]
    assert warned and all(line.startswith("Warning: Figure '") and "中" in line for line in warned), res.output
    assert "UserWarning" not in res.output and "common.py" not in res.output


def test_another_librarys_warning_is_one_line(good, monkeypatch):
    import warnings

    import qscore.pipeline.outputs as outputs

    original = outputs.write_score_outputs

    def noisy(*args, **kwargs):
        warnings.warn("Mean of empty slice\nsecond line", RuntimeWarning, stacklevel=1)
        return original(*args, **kwargs)

    monkeypatch.setattr(outputs, "write_score_outputs", noisy)
    res = run("score", good["model"], good["map"], "--out", good["out"])
    assert res.exit_code == 0, res.output
    warned = [line for line in res.output.splitlines() if "Mean of empty slice" in line]
    assert warned == ["Warning: Mean of empty slice second line (RuntimeWarning)"], res.output
