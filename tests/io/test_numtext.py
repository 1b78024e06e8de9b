"""The compiled formatters write what Python's own formatting writes, byte for byte (and so do their Python
paths, which take fewer than COMPILED_MIN values)."""

from __future__ import annotations

import numpy as np
import pytest

from qscore.io import numtext
from qscore.io.numtext import fixed_cells, g6_cells, int_cells, join_rows, text_cells


def _values():
    rng = np.random.default_rng(7)
    sign = rng.choice([-1.0, 1.0], 50_000)
    with np.errstate(over="ignore"):
        spread = sign * 10.0 ** rng.uniform(-320, 309, 50_000)  # every size, subnormals and huge ones included
    # values at the edges of the rounding: ties in binary, 6/7-digit boundaries, powers of ten and their neighbours
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 0.0625, 0.5, 1.5, 2.5, 123456.5, 99999.95, 999999.5,
                      9.999995, 99999.4999999999, 99999.5, 999999.4999999999, 0.000999995, 9.99995e-5, 1e-5, 1e-4,
                      1e5, 1e6, 1e16, 1e22, 1e23, 5e-324, 1.7976931348623157e308])
    powers = np.concatenate([10.0 ** np.arange(-30, 30), 9.999995 * 10.0 ** np.arange(-30, 30)])
    near = np.concatenate([edges, powers])
    with np.errstate(over="ignore"):
        neighbours = [np.nextafter(near, -np.inf), np.nextafter(near, np.inf)]
    return np.concatenate([rng.normal(size=20_000), rng.uniform(-1, 1, 20_000), np.round(rng.uniform(-1, 1, 20_000), 7),
                           np.round(rng.uniform(0, 1000, 20_000), 3), spread, near, *neighbours,
                           np.arange(-4000, 4000) / 16, np.arange(-4000, 4000) / 2000])


@pytest.mark.parametrize("compiled", [True, False])
def test_g6_is_python_format_for_every_kind_of_value(compiled):
    values = _values()
    want = ["" if v != v else f"{v:.6g}" for v in values.tolist()]
    assert g6_cells(values, compiled=compiled).strings() == want


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("decimals", [0, 1, 3, 6, 9])
def test_fixed_is_python_format_and_non_finite_values_are_the_missing_token(decimals, compiled):
    values = _values()
    values = values[~(np.abs(values) >= 1e12)]  # NaN kept
    want = [f"{v:.{decimals}f}" if np.isfinite(v) else "?" for v in values.tolist()]
    assert fixed_cells(values, decimals, "?", compiled=compiled).strings() == want
    big = np.array([1e15, -3e17, 2.0**60])  # left to Python's formatting
    assert fixed_cells(big, decimals, compiled=compiled).strings() == [f"{v:.{decimals}f}" for v in big.tolist()]


@pytest.mark.parametrize("compiled", [True, False])
def test_integers_and_strings_and_rows(monkeypatch, compiled):
    monkeypatch.setattr(numtext, "COMPILED_MIN", 0 if compiled else 10**9)  # every call one way
    ints = np.concatenate([np.random.default_rng(1).integers(-10**18, 10**18, 5000),
                           [0, -1, 9, 10, -10, 99, 100, np.iinfo(np.int64).min, np.iinfo(np.int64).max]])
    assert int_cells(ints).strings() == [str(v) for v in ints.tolist()]
    words = ["a", "é", "", "x,y", "日本"]
    assert text_cells(words).strings() == words
    assert text_cells(["no", "yes"]).take(np.array([1, 1, 0])).strings() == ["yes", "yes", "no"]
    rows = join_rows([int_cells(np.arange(5)), text_cells(words), g6_cells([0.1, np.nan, np.inf, 2.5, -0.0])], "\t")
    assert rows.decode() == "0\ta\t0.1\n1\té\t\n2\t\tinf\n3\tx,y\t2.5\n4\t日本\t-0\n"
    glued = join_rows([text_cells(["/A:1", "/B:2"]), text_cells(["@CA", "@N"]), fixed_cells([0.5, -0.25], 2)],
                      ["", "\t"])
    assert glued == b"/A:1@CA\t0.50\n/B:2@N\t-0.25\n"
    with pytest.raises(ValueError, match="decimals"):
        fixed_cells([1.0], 12)
    with pytest.raises(ValueError, match="sep"):
        join_rows([text_cells(["a"]), text_cells(["b"])], ["::"])


def test_the_size_decides_the_path_unless_told():
    small, large = np.arange(numtext.COMPILED_MIN - 1) / 7, np.arange(numtext.COMPILED_MIN) / 7
    assert numtext._compiled(len(large), None) and not numtext._compiled(len(small), None)
    assert numtext._compiled(3, True) and not numtext._compiled(10**9, False)
    assert g6_cells(large).strings()[-5:] == g6_cells(large, compiled=False).strings()[-5:]
