"""The rows of an mmCIF loop scanned by compiled code: their columns read, and where a value goes in each.

:func:`row_columns` is the fast reader's tokenizer (:mod:`qscore.io.model_text`): one pass over the rows keeps
the columns the reader needs, the coordinates parsed and the strings packed into integers.

:mod:`qscore.io.writers` adds the Q column to a model's ``_atom_site`` rows without parsing them: each row is
copied as it is, with `` <value>`` put after its token ``after``.  To know where, and that a line is one row,
every byte must be looked at; a byte at a time, with a branch per token boundary, the whole write took twice
gemmi's (``benchmarks/bench_io.py``).

:func:`row_cuts` reads the bytes as 64-bit words and classifies all eight bytes of a word at once with integer
arithmetic (SWAR, "SIMD within a register"): a byte's high bit is set where the byte is what is looked for, and
no carry crosses from one byte into the next.  Its first pass, over every word, has no branches, so LLVM
vectorises it too; it counts each word's token starts.  The second pass walks the words of each line and looks
inside a word only where the line ends or where its token ``after + 1`` starts.  Whitespace is what
``bytes.split`` splits on (space, tab, LF, VT, FF, CR), as in the line-by-line path it must agree with.

:func:`next_item_line` finds where a loop's rows end the same way, looking only into the words that hold a
newline, for the reader and the writer (``benchmarks/bench_scan.py`` times it against the regex it replaces).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["padded_rows", "row_cuts", "insert_values", "next_item_line", "newlines", "row_columns"]

_U = np.uint64
_LOW7 = _U(0x7F7F7F7F7F7F7F7F)
_HIGH = _U(0x8080808080808080)
_ONES = _U(0x0101010101010101)
_SPACES = _U(0x2020202020202020)


def padded_rows(data: bytes, start: int, stop: int) -> np.ndarray:
    """``data[start:stop]`` as uint8, padded with spaces to a whole number of 8-byte words (what
    :func:`row_cuts` reads; the padding is whitespace, so it changes no line's tokens).

    Parameters
    ----------
    data : bytes
    start, stop : int — the slice
    """
    n = stop - start
    a = np.full(-(-n // 8) * 8, 32, dtype=np.uint8)
    a[:n] = np.frombuffer(data, dtype=np.uint8, count=n, offset=start)
    return a


@njit(cache=True, nogil=True, inline="always")
def _equal(w, byte):
    """0x80 in each byte of the word w equal to ``byte``, 0 in the others."""
    t = w ^ (_ONES * _U(byte))
    return ~(((t & _LOW7) + _LOW7) | t) & _HIGH


@njit(cache=True, nogil=True, inline="always")
def _at_least(w, byte):
    """0x80 in each byte of w that is ≥ ``byte`` (1 ≤ byte ≤ 128), 0 in the others."""
    return (((w & _LOW7) + _ONES * _U(128 - byte)) | w) & _HIGH


@njit(cache=True, nogil=True, inline="always")
def _not_space(w):
    """0x80 in each byte of w that is not whitespace (32, or 9 to 13)."""
    return ~(_equal(w, 32) | (_at_least(w, 9) & ~_at_least(w, 14))) & _HIGH


@njit(cache=True, nogil=True, inline="always")
def _starts(w, before):
    """0x80 in each byte of w that starts a token: not whitespace, after whitespace (the byte before w's first
    is the last of the word ``before``)."""
    ns = _not_space(w)
    return ns & ~((ns << _U(8)) | (_not_space(before) >> _U(56)))


@njit(cache=True, nogil=True, inline="always")
def _flagged(flags):
    """How many bytes of ``flags`` (0x80 or 0 each) are flagged."""
    return np.int64(((flags >> _U(7)) * _ONES) >> _U(56))


@njit(cache=True, nogil=True, inline="always")
def _below_lowest(flags):
    """The bits below the lowest set bit of ``flags`` (all bits where there is none)."""
    return (flags & (~flags + _U(1))) - _U(1)


@njit(cache=True, nogil=True, inline="always")
def _flag_index(flags, k):
    """The byte index (0-7) of the k-th (0-based) flagged byte of ``flags``."""
    for _ in range(k):
        flags &= flags - _U(1)
    return _flagged(_below_lowest(flags) & _HIGH)


@njit(cache=True, nogil=True, inline="always")
def _space(c):
    return c == 32 or (c >= 9 and c <= 13)


@njit(cache=True, nogil=True)
def row_cuts(a, n, n_tags, after, cuts):
    """Where a value goes in each row of the loop's lines ``a[:n]``: after the row's token ``after`` (0-based).

    Parameters
    ----------
    a : (8 k,) uint8 — the lines, padded with whitespace (:func:`padded_rows`)
    n : int — their length before the padding (a last line may end there without a newline)
    n_tags : int — the tokens of a row
    after : int — the token the value follows
    cuts : (m,) int64 — filled with each row's cut: the end of its token ``after``

    Returns
    -------
    int — the rows (lines with a token), or -1 when a token starts with a quote or ';' (a quoted value may hold
    spaces), a line with a token holds other than ``n_tags`` of them, or there are more than m rows
    """
    words = a.view(np.uint64)
    n_words = words.shape[0]
    starts_in = np.empty(n_words, dtype=np.uint8)  # token starts per word, + 16 where the word holds a newline
    quoted = _U(0)
    before = _SPACES
    for wi in range(n_words):  # no branches: vectorised
        w = words[wi]
        s = _starts(w, before)
        quoted |= s & (_equal(w, 34) | _equal(w, 39) | _equal(w, 59))
        starts_in[wi] = _flagged(s) | (16 if _equal(w, 10) else 0)
        before = w
    if quoted:
        return -1
    rows, count, nxt = 0, 0, -1  # rows done; the current line's tokens so far and where its token after + 1 starts
    for wi in range(n_words):
        c = np.int64(starts_in[wi])
        if c < 16:  # no line ends in this word
            if nxt < 0 and count <= after + 1 < count + c:
                nxt = 8 * wi + _flag_index(_starts(words[wi], words[wi - 1] if wi else _SPACES), after + 1 - count)
            count += c
            continue
        w = words[wi]
        starts = _starts(w, words[wi - 1] if wi else _SPACES)
        newlines = _equal(w, 10)
        while True:  # each line ending in this word, then the start of the next
            low = _below_lowest(newlines)  # the bytes before the first newline left (all where none is)
            s = starts & low
            c = _flagged(s)
            if nxt < 0 and count <= after + 1 < count + c:
                nxt = 8 * wi + _flag_index(s, after + 1 - count)
            count += c
            if not newlines:
                break
            if count:
                cut = _line_cut(a, 8 * wi + _flagged(low & _HIGH) + 1, count, n_tags, nxt, rows, cuts)
                if cut < 0:
                    return -1
                cuts[rows] = cut
                rows += 1
            count, nxt = 0, -1
            starts &= ~low
            newlines &= newlines - _U(1)
    if count:  # a last line without a newline
        cut = _line_cut(a, n, count, n_tags, nxt, rows, cuts)
        if cut < 0:
            return -1
        cuts[rows] = cut
        rows += 1
    return rows


@njit(cache=True, nogil=True, inline="always")
def _line_cut(a, stop, count, n_tags, nxt, rows, cuts):
    """The cut of a line ending at ``stop`` with ``count`` tokens, its token after + 1 starting at ``nxt`` (-1: it
    has none, the value goes after its last token); -1 when it is not a row or there is no room for it."""
    if count != n_tags or rows >= cuts.shape[0]:
        return -1
    j = nxt if nxt >= 0 else stop
    while _space(a[j - 1]):
        j -= 1
    return j


@njit(cache=True, nogil=True)
def insert_values(a, n, cuts, data, start, end, row, out):
    """``a[:n]`` with " " and value ``row + r`` put at ``cuts[r]`` for each r, written to ``out``.

    Parameters
    ----------
    a : (≥n,) uint8 — the lines
    n : int — their length
    cuts : (m,) int64 — increasing positions in ``a`` (:func:`row_cuts`)
    data, start, end : the values' bytes, value i being ``data[start[i]:end[i]]`` (a ``numtext.Cells``)
    row : int — the value of the first cut
    out : (≥ n + m + the values' lengths,) uint8

    Returns
    -------
    int — the bytes written
    """
    p, copied = 0, 0
    for r in range(cuts.shape[0]):
        j = cuts[r]
        p = _copy(a, copied, j, out, p)
        copied = j
        out[p] = 32
        p = _copy(data, start[row + r], end[row + r], out, p + 1)
    return _copy(a, copied, n, out, p)


@njit(cache=True, nogil=True, inline="always")
def _copy(src, lo, hi, out, p):
    """``src[lo:hi]`` to ``out[p:]``; returns the end.  A loop on unsigned offsets: numba's slice assignment makes
    a view of each array per call, several times this loop's cost for a row (``benchmarks/bench_scan.py``), and
    signed offsets get wraparound checks."""
    o, s = np.uint64(p), np.uint64(lo)
    for k in range(hi - lo):
        out[o + np.uint64(k)] = src[s + np.uint64(k)]
    return p + hi - lo


@njit(cache=True, nogil=True)
def next_item_line(a, pos):
    """The first newline at or after ``pos`` in ``a`` that a comment, item, loop, block or save frame follows
    (``#``, ``_``, ``loop_``, ``data_``, ``save_``): where a loop's rows end; -1 where none does.

    Eight bytes at a time: only the words that hold a newline are looked into.

    Parameters
    ----------
    a : (n,) uint8 — the text
    pos : int — where to start
    """
    n = a.shape[0]
    n_words = n // 8
    words = a[:8 * n_words].view(np.uint64)
    for wi in range(pos // 8, n_words):
        newlines = _equal(words[wi], 10)
        while newlines:
            i = 8 * wi + _flagged(_below_lowest(newlines) & _HIGH)
            if i >= pos and i < n - 1 and _item_follows(a, i + 1):
                return i
            newlines &= newlines - _U(1)
    for i in range(max(8 * n_words, pos), n - 1):  # the last bytes, short of a word
        if a[i] == 10 and _item_follows(a, i + 1):
            return i
    return -1


@njit(cache=True, nogil=True, inline="always")
def _item_follows(a, i):
    c = a[i]
    if c == 35 or c == 95:  # '#', '_'
        return True
    if i + 5 > a.shape[0] or a[i + 4] != 95:
        return False
    w = (a[i], a[i + 1], a[i + 2], a[i + 3])
    return w == (108, 111, 111, 112) or w == (100, 97, 116, 97) or w == (115, 97, 118, 101)  # loop data save


@njit(cache=True, nogil=True)
def newlines(a):
    """How many bytes of ``a`` (uint8) are newlines, eight at a time.

    Parameters
    ----------
    a : (n,) uint8
    """
    n_words = a.shape[0] // 8
    words = a[:8 * n_words].view(np.uint64)
    count = 0
    for wi in range(n_words):
        count += _flagged(_equal(words[wi], 10))
    for i in range(8 * n_words, a.shape[0]):
        count += a[i] == 10
    return count


#: powers of ten that are exact in float64 (10^22 is the last)
_POW10 = np.array([10.0 ** k for k in range(23)])


@njit(cache=True, nogil=True)
def row_columns(a, n, kind, slot, keys, numbers):
    """The tokens of some columns of a loop's lines ``a[:n]``, one row a line: short strings packed into integers,
    decimal numbers parsed.

    Parameters
    ----------
    a : (≥n,) uint8 — the lines
    n : int — their length
    kind : (n_tags,) int64 — per column: 0 skipped, 1 a string (``keys[slot[t]]``), 2 a number (``numbers[slot[t]]``)
    slot : (n_tags,) int64 — the row of ``keys`` or ``numbers`` it goes to
    keys : (k, m) uint64 — filled with each string's bytes, big-endian and zero-padded: their order as integers is
        the strings' order
    numbers : (f, m) float64 — filled with each number, parsed as pandas and strtod parse it (correctly rounded)

    Returns
    -------
    int — the rows, or -1 where the general reader must decide: a token with a byte that is not printable ASCII,
    a double quote, or a first byte ' ; #; a string of more than 8 bytes; a number that is not a plain decimal of
    at most 15 digits and 22 decimals; a line with a token holding other than ``n_tags`` of them; more than m rows;
    a CR not before a LF
    """
    n_tags = kind.shape[0]
    cap = max(keys.shape[1], numbers.shape[1])
    row, tok, k = 0, 0, 0
    while k < n:
        c = a[k]
        if c == 10 or c == 32 or c == 9 or c == 13:
            if c == 13 and not (k + 1 < n and a[k + 1] == 10):
                return -1
            if c == 10 and tok:
                if tok != n_tags:
                    return -1
                row += 1
                tok = 0
            k += 1
            continue
        s = k
        while k < n and a[k] != 32 and a[k] != 9 and a[k] != 10 and a[k] != 13:
            if a[k] < 33 or a[k] > 126 or a[k] == 34:
                return -1
            k += 1
        if a[s] == 39 or a[s] == 59 or a[s] == 35 or tok >= n_tags or row >= cap:
            return -1
        if kind[tok] == 1:
            if k - s > 8:
                return -1
            key = _U(0)
            for b in range(s, s + 8):
                key = (key << _U(8)) | (_U(a[b]) if b < k else _U(0))
            keys[slot[tok], row] = key
        elif kind[tok] == 2:
            v = _decimal(a, s, k)
            if v != v:
                return -1
            numbers[slot[tok], row] = v
        tok += 1
    if tok:  # a last line without a newline
        if tok != n_tags:
            return -1
        row += 1
    return row


@njit(cache=True, nogil=True)
def _decimal(a, s, e):
    """The number ``a[s:e]`` spells ([+-] digits [. digits]), or NaN when it is not one of at most 15 significant
    digits and 22 decimals.  Then the digits are an exact integer and 10^decimals an exact power, so one division
    gives the correctly rounded value (Clinger's fast path), what pandas' and gemmi's parsers give."""
    neg = a[s] == 45
    i = s + 1 if a[s] == 45 or a[s] == 43 else s
    mant, digits, decimals, dot, seen = 0, 0, 0, False, False
    while i < e:
        c = a[i]
        if 48 <= c <= 57:
            seen = True
            if mant or c != 48:
                digits += 1
            mant = mant * 10 + (c - 48)
            decimals += dot
        elif c == 46 and not dot:
            dot = True
        else:
            return np.nan
        i += 1
    if not seen or digits > 15 or decimals > 22:
        return np.nan
    v = mant / _POW10[decimals]
    return -v if neg else v
