"""csv_text writes what pandas' to_csv(index=False, float_format='%.6g') writes, byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qscore.io.files import csv_text


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("sep", [",", "\t"])
def test_csv_text_is_pandas_to_csv_byte_for_byte(sep, compiled, monkeypatch):
    from qscore.io import numtext

    monkeypatch.setattr(numtext, "COMPILED_MIN", 0 if compiled else 10**9)  # the kernels, or Python's formatting
    rng = np.random.default_rng(0)
    t = pd.DataFrame({
        "f": [1.5, np.nan, None, -0.0, np.inf, 1e-12, 123456789.0, rng.normal()],
        "s": ["x,y", 'q"t', None, "", " lead", "tab\there", "line\nbreak", "é"],
        "i": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
        "n": np.arange(8),
        "b": [True, False] * 4,
        "e": pd.array(["s", pd.NA, "t", "u", "v", "w", "x", "y"], dtype="string"),
        "plain": list("abcdefgh"),
        "with, comma": 1.25,
    })
    assert csv_text(t, sep) == t.to_csv(index=False, sep=sep, float_format="%.6g")


def test_an_empty_table_keeps_its_header():
    t = pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)})
    assert csv_text(t) == t.to_csv(index=False, float_format="%.6g")


def test_a_table_written_in_blocks_of_rows_is_the_same_text(tmp_path):
    from qscore.io.files import csv_chunks, write_table

    rng = np.random.default_rng(1)
    t = pd.DataFrame({"f": rng.normal(size=1000), "s": rng.choice(["a", "b,c", None], 1000),
                      "i": pd.array(rng.integers(0, 9, 1000), dtype="Int64")})
    t.loc[::7, "i"] = pd.NA  # NA in some blocks only
    pieces = list(csv_chunks(t, rows=64))
    assert len(pieces) == 1 + 16 and "".join(pieces) == t.to_csv(index=False, float_format="%.6g")
    threaded = list(csv_chunks(t, rows=64, threads=3))  # pieces of 21 rows formatted on threads, in order
    assert len(threaded) == 1 + 48 and "".join(threaded) == "".join(pieces)
    write_table(tmp_path / "t.csv", t)
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == csv_text(t)
    write_table(tmp_path / "t2.csv", t, threads=2)
    assert (tmp_path / "t2.csv").read_text(encoding="utf-8") == csv_text(t)


def test_a_large_tables_short_last_piece_is_formatted_by_the_kernels_too(monkeypatch):
    """The choice of compiled or Python formatting is made for the table, not for each piece of it."""
    from qscore.io import files, numtext

    monkeypatch.setattr(numtext, "COMPILED_MIN", 100)
    seen = []
    join = numtext.join_rows
    monkeypatch.setattr(files, "join_rows", lambda *a, **k: seen.append(k.get("compiled")) or join(*a, **k))
    t = pd.DataFrame({"f": np.linspace(0, 1, 250), "n": np.arange(250)})
    text = "".join(files.csv_chunks(t, rows=120))  # pieces of 120, 120 and 10 rows
    assert seen == [True, True, True] and text == t.to_csv(index=False, float_format="%.6g")
