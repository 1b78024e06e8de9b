"""Numbers as text, many at a time: compiled formatters that give Python's own ``'%.6g'`` and ``'%.Nf'``
strings byte for byte.

Python's formatting rounds the exact binary value of each float to the nearest decimal.  The kernels here
scale by a power of ten in floating point, which is within a few units in the last place of the exact
product; a value whose scaled fraction lies within :data:`NEAR_TIE` of one half (where that error could
change the rounding), or whose size is outside the range the scaling handles, is left to Python's
formatting.  Either way each string is the one Python writes (tested on millions of values, ties and
powers of ten among them).

Fewer than :data:`COMPILED_MIN` values (rows for :func:`join_rows`) are formatted by Python itself: it takes a
few milliseconds for them, about what loading a kernel from numba's cache takes, while compiling the kernels
the first time takes seconds (a first ``qscore score`` of a small model would compile five of them).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..errors import ParameterError

__all__ = ["NEAR_TIE", "COMPILED_MIN", "Cells", "text_cells", "repeated", "g6_cells", "fixed_cells", "int_cells",
           "join_rows"]

#: scaled fractions this close to one half are left to Python's formatting (the scaling's error is below 1e-9)
NEAR_TIE = 1e-7
#: from this many values (rows, for :func:`join_rows`) on the compiled kernels format them; below, Python does
COMPILED_MIN = 20_000
_NEWLINE = 10


@njit(cache=True, nogil=True)
def _put_digits(out, p, d, n):
    """Write the n decimal digits of d (zero-padded) at out[p:]; return the new end."""
    for k in range(n - 1, -1, -1):
        out[p + k] = 48 + d % 10
        d //= 10
    return p + n


#: 10^k for k = 0 … 308 (exact up to 10^22)
_POW10 = np.array([10.0 ** k for k in range(309)])


@njit(cache=True, nogil=True)
def _scaled(a, k):
    """a · 10^k, with one rounding where 10^|k| is exact (|k| ≤ 22); |k| ≤ 308."""
    if k >= 0:
        return a * _POW10[k]
    return a / _POW10[-k]


@njit(cache=True, nogil=True)
def _g6_cells(values, out, start, slow):
    """Each value as '%.6g' (NaN as nothing) one after another into ``out``, cell i from ``start[i]`` to
    ``start[i + 1]``.  Values marked in ``slow`` are written as nothing, for Python to format."""
    p = 0
    for i in range(values.shape[0]):
        start[i] = p
        v = values[i]
        if v != v:
            continue
        neg = v < 0.0 or (v == 0.0 and math.copysign(1.0, v) < 0.0)
        a = abs(v)
        if neg:
            out[p] = 45  # '-'
            p += 1
        if a == math.inf:
            out[p], out[p + 1], out[p + 2] = 105, 110, 102  # inf
            p += 3
        elif a == 0.0:
            out[p] = 48
            p += 1
        elif a < 1e-290 or a > 1e290:
            slow[i] = True
            p = start[i]
        else:
            e = int(math.floor(math.log10(a)))
            m = _scaled(a, 5 - e)
            # at the edges of six digits the rounding also decides the exponent: near them, Python decides
            near = abs(m - 99999.5) < NEAR_TIE or abs(m - 999999.5) < NEAR_TIE
            if m < 99999.5:
                e -= 1
                m = _scaled(a, 5 - e)
            elif m >= 999999.5:
                e += 1
                m = _scaled(a, 5 - e)
            fl = math.floor(m)
            frac = m - fl
            if near or abs(frac - 0.5) < NEAR_TIE or m < 99999.5 or m >= 999999.5:
                slow[i] = True
                p = start[i]
            else:
                d = int(fl) + (1 if frac > 0.5 else 0)
                if d == 1000000:
                    d = 100000
                    e += 1
                nd = 6
                while d % 10 == 0:
                    d //= 10
                    nd -= 1
                p = _put_g(out, p, d, nd, e)
    start[values.shape[0]] = p


@njit(cache=True, nogil=True)
def _put_g(out, p, d, nd, e):
    """Write the nd significant digits d (no trailing zeros) of a value d.ddd × 10^e as '%g' does; new end."""
    if -4 <= e < 6:
        if e < 0:
            out[p], out[p + 1] = 48, 46  # '0.'
            p += 2
            for _ in range(-e - 1):
                out[p] = 48
                p += 1
            return _put_digits(out, p, d, nd)
        if nd <= e + 1:  # an integer: the digits, then zeros
            p = _put_digits(out, p, d, nd)
            for _ in range(e + 1 - nd):
                out[p] = 48
                p += 1
            return p
        tail = nd - e - 1
        scale = 10 ** tail
        p = _put_digits(out, p, d // scale, e + 1)
        out[p] = 46
        return _put_digits(out, p + 1, d % scale, tail)
    scale = 10 ** (nd - 1)
    out[p] = 48 + d // scale
    p += 1
    if nd > 1:
        out[p] = 46
        p = _put_digits(out, p + 1, d % scale, nd - 1)
    out[p] = 101  # 'e'
    out[p + 1] = 45 if e < 0 else 43
    x = abs(e)
    return _put_digits(out, p + 2, x, 3 if x >= 100 else 2)


@njit(cache=True, nogil=True)
def _fixed_cells(values, decimals, missing, out, start, slow):
    """Each value with ``decimals`` decimals (non-finite ones as ``missing``), as :func:`_g6_cells` writes them."""
    p = 0
    unit = 10 ** decimals
    for i in range(values.shape[0]):
        start[i] = p
        v = values[i]
        if not math.isfinite(v):
            for c in range(missing.shape[0]):
                out[p + c] = missing[c]
            p += missing.shape[0]
        else:
            m = _scaled(abs(v), decimals)
            fl = math.floor(m)
            frac = m - fl
            if m >= 1e15 or abs(frac - 0.5) < NEAR_TIE:
                slow[i] = True
            else:
                d = int(fl) + (1 if frac > 0.5 else 0)
                if math.copysign(1.0, v) < 0.0:
                    out[p] = 45
                    p += 1
                whole = d // unit
                digits = 1
                while whole >= 10 ** digits:
                    digits += 1
                p = _put_digits(out, p, whole, digits)
                if decimals > 0:
                    out[p] = 46
                    p = _put_digits(out, p + 1, d % unit, decimals)
    start[values.shape[0]] = p


@njit(cache=True, nogil=True)
def _int_cells(values, out, start):
    """Each integer in decimal, as :func:`_g6_cells` writes its cells."""
    p = 0
    for i in range(values.shape[0]):
        start[i] = p
        v = values[i]
        if v < 0:
            out[p] = 45
            p += 1
        # the digits from the last, on the magnitude as an unsigned number (the most negative int64 too)
        u = np.uint64(0) - np.uint64(v) if v < 0 else np.uint64(v)
        digits = 1
        while digits < 20 and u >= np.uint64(10) ** np.uint64(digits):
            digits += 1
        for k in range(digits - 1, -1, -1):
            out[p + k] = 48 + np.uint8(u % np.uint64(10))
            u //= np.uint64(10)
        p += digits
    start[values.shape[0]] = p


@njit(cache=True, nogil=True)
def _join_rows(data, start, end, seps, out):
    """Row r of the text: cell r of each column (column c's in ``data[start[c, r]:end[c, r]]``), each followed by
    the byte ``seps[c]`` (none where it is negative; the last is the newline), into ``out``; the end is returned."""
    p = 0
    n_cols, n = start.shape
    for r in range(n):
        for c in range(n_cols):
            for b in range(start[c, r], end[c, r]):
                out[p] = data[b]
                p += 1
            if seps[c] >= 0:
                out[p] = seps[c]
                p += 1
    return p


class Cells:
    """Text cells: cell i is ``data[start[i]:end[i]]`` (UTF-8); cells may share bytes (:meth:`take`)."""

    __slots__ = ("data", "start", "end")

    def __init__(self, data: np.ndarray, start: np.ndarray, end: np.ndarray):
        self.data, self.start, self.end = data, start, end

    @classmethod
    def consecutive(cls, data: np.ndarray, bounds: np.ndarray) -> Cells:
        """Cells one after another: cell i from ``bounds[i]`` to ``bounds[i + 1]``."""
        return cls(data, bounds[:-1], bounds[1:])

    def __len__(self) -> int:
        return len(self.start)

    def take(self, codes) -> Cells:
        """Cell ``codes[i]`` as cell i."""
        return Cells(self.data, self.start[codes], self.end[codes])

    def strings(self) -> list:
        """The cells as str."""
        text = self.data.tobytes()
        return [text[a:b].decode() for a, b in zip(self.start.tolist(), self.end.tolist(), strict=True)]


def text_cells(strings) -> Cells:
    """Cells of the given strings.

    Parameters
    ----------
    strings : list of str

    Returns
    -------
    Cells
    """
    joined = "".join(strings)
    data = joined.encode()
    lengths = np.fromiter(map(len, strings) if len(data) == len(joined) else (len(s.encode()) for s in strings),
                          dtype=np.int64, count=len(strings))
    bounds = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    return Cells.consecutive(np.frombuffer(data, dtype=np.uint8), bounds)


def repeated(text: str, n: int) -> Cells:
    """``n`` cells, each ``text`` (their bytes held once).

    Parameters
    ----------
    text : str
    n : int

    Returns
    -------
    Cells
    """
    return text_cells([text]).take(np.zeros(int(n), dtype=np.intp))


def _patched(out, bounds, slow, values, python_format) -> Cells:
    """The cells a kernel wrote one after another, those marked ``slow`` (written empty) formatted by Python and
    put after them."""
    end = int(bounds[-1])
    cells = Cells.consecutive(out[:end], bounds)
    which = np.flatnonzero(slow)
    if not len(which):
        return cells
    extra = text_cells([python_format(float(values[i])) for i in which.tolist()])
    start, stop = cells.start.copy(), cells.end.copy()
    start[which], stop[which] = extra.start + end, extra.end + end
    return Cells(np.concatenate([out[:end], extra.data]), start, stop)


def _compiled(n: int, compiled) -> bool:
    """Whether ``n`` values go to a kernel: ``compiled`` when given, else from :data:`COMPILED_MIN` on."""
    return n >= COMPILED_MIN if compiled is None else bool(compiled)


def g6_cells(values, *, compiled: bool | None = None) -> Cells:
    """Each value as Python writes ``f'{v:.6g}'`` (pandas' ``float_format='%.6g'``), NaN as an empty cell.

    Parameters
    ----------
    values : (n,) float
    compiled : bool, optional — format with the kernel (True) or Python (False); default: by size
        (:data:`COMPILED_MIN`)

    Returns
    -------
    Cells
    """
    values = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if not _compiled(len(values), compiled):
        return text_cells(["" if v != v else f"{v:.6g}" for v in values.tolist()])
    out, start = np.empty(16 * len(values), dtype=np.uint8), np.empty(len(values) + 1, dtype=np.int64)
    slow = np.zeros(len(values), dtype=np.bool_)
    _g6_cells(values, out, start, slow)
    return _patched(out, start, slow, values, "{:.6g}".format)


def fixed_cells(values, decimals: int, missing: str = "?", *, compiled: bool | None = None) -> Cells:
    """Each value as Python writes ``f'{v:.{decimals}f}'``, non-finite ones as ``missing``.

    Parameters
    ----------
    values : (n,) float
    decimals : int — 0 to 9
    missing : str — ASCII
    compiled : bool, optional — as for :func:`g6_cells`

    Returns
    -------
    Cells
    """
    if not 0 <= int(decimals) <= 9:
        raise ParameterError(f"decimals={decimals} must be 0 to 9.", parameter="decimals")
    values = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if not _compiled(len(values), compiled):
        return text_cells([f"{v:.{int(decimals)}f}" if math.isfinite(v) else missing for v in values.tolist()])
    token = np.frombuffer(missing.encode("ascii"), dtype=np.uint8)
    width = max(18 + int(decimals), len(token))
    out, start = np.empty(width * len(values), dtype=np.uint8), np.empty(len(values) + 1, dtype=np.int64)
    slow = np.zeros(len(values), dtype=np.bool_)
    _fixed_cells(values, int(decimals), token, out, start, slow)
    return _patched(out, start, slow, values, f"{{:.{int(decimals)}f}}".format)


def int_cells(values, *, compiled: bool | None = None) -> Cells:
    """Each integer as ``str`` writes it.

    Parameters
    ----------
    values : (n,) int
    compiled : bool, optional — as for :func:`g6_cells`

    Returns
    -------
    Cells
    """
    values = np.ascontiguousarray(values, dtype=np.int64).reshape(-1)
    if not _compiled(len(values), compiled):
        return text_cells([str(v) for v in values.tolist()])
    out, start = np.empty(20 * len(values), dtype=np.uint8), np.empty(len(values) + 1, dtype=np.int64)
    _int_cells(values, out, start)
    return Cells.consecutive(out[:start[-1]], start)


def join_rows(columns, sep, *, compiled: bool | None = None) -> bytes:
    """The rows of a table as text: each row's cells of ``columns`` separated by ``sep``, each row ended by a newline.

    Parameters
    ----------
    columns : list of Cells — all of the same length
    sep : str or sequence of str — one ASCII character, or what follows each column but the last ('' for nothing)
    compiled : bool, optional — join with the kernel (True) or Python (False); default: by the number of rows
        (:data:`COMPILED_MIN`)

    Returns
    -------
    bytes — UTF-8
    """
    between = [sep] * (len(columns) - 1) if isinstance(sep, str) else list(sep)
    if len(between) != len(columns) - 1 or any(len(s) > 1 or not s.isascii() for s in between):
        raise ParameterError(f"sep={sep!r} must be one ASCII character or {len(columns) - 1} of them (or '').",
                             parameter="sep")
    if not _compiled(len(columns[0]) if columns else 0, compiled):
        ends = [*between, "\n"]
        rows = zip(*(c.strings() for c in columns), strict=True)
        return "".join(cell + end for row in rows for cell, end in zip(row, ends, strict=True)).encode()
    seps = np.array([ord(s) if s else -1 for s in between] + [_NEWLINE], dtype=np.int64)
    base = np.cumsum([0] + [len(c.data) for c in columns[:-1]])
    start = np.stack([c.start + b for c, b in zip(columns, base, strict=True)])
    end = np.stack([c.end + b for c, b in zip(columns, base, strict=True)])
    data = np.concatenate([c.data for c in columns])
    out = np.empty(int((end - start).sum()) + start.size, dtype=np.uint8)
    return out[:_join_rows(data, start, end, seps, out)].tobytes()
