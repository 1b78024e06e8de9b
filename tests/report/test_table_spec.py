"""The report's table data are the cells' values as _json_value gives them, one by one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qscore.report.html_parts import _json_value, table_spec


def test_table_rows_hold_each_cells_json_value():
    t = pd.DataFrame({
        "f": [1.23456789, np.nan, np.inf, -0.0],
        "i": np.arange(4),
        "n": pd.array([1, None, 3, 4], dtype="Int64"),
        "b": [True, False, True, False],
        "s": ["a", None, "c", "d"],
        "o": pd.Series(["x", 2, 3.5, None], dtype=object),
        "c": pd.Categorical(["p", "q", None, "p"]),
    })
    columns = [(c, c, "str", None, False) for c in t.columns]
    by_hand = [[_json_value(v) for v in row] for row in t.itertuples(index=False, name=None)]
    rows = table_spec(t, columns)["rows"]
    assert rows == by_hand
    assert [type(v) for v in rows[0]] == [type(v) for v in by_hand[0]]
    assert table_spec(t.iloc[:0], columns)["rows"] == [] and table_spec(t, [])["rows"] == [[]] * 4
