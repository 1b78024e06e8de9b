"""csv_text writes what pandas' to_csv(index=False, float_format='%.6g') writes, byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qscore.io.files import csv_text


@pytest.mark.parametrize("sep", [",", "\t"])
def test_csv_text_is_pandas_to_csv_byte_for_byte(sep):
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
