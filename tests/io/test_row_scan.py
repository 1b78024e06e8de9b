"""The compiled row scan (eight bytes at a time) against a slow, obvious one: ``bytes.split`` line by line."""

from __future__ import annotations

import re

import numpy as np
import pytest

from qscore.io import row_scan
from qscore.io.numtext import text_cells

# bytes a token may hold: letters, digits, inner quotes, control and non-ASCII bytes (not whitespace)
_TOKEN_BYTES = np.frombuffer(b"ACNOxyz019.-?'\";#_" + bytes([0, 1, 8, 14, 31, 127, 128, 160, 200, 255]), np.uint8)
_SPACE_BYTES = np.frombuffer(b" \t\x0b\x0c\r", np.uint8)


def _pick(rng, alphabet, n: int) -> bytes:
    return rng.choice(alphabet, n).tobytes()


def _slow_cuts(text: bytes, n_tags: int, after: int):
    """The rows' cuts as the line-by-line path finds them, or -1."""
    cuts, pos = [], 0
    for line in re.findall(rb"[^\n]*\n|[^\n]+$", text):  # the lines, each with its newline (CR is whitespace)
        tokens = list(re.finditer(rb"[^ \t\n\x0b\x0c\r]+", line))
        if tokens:
            if any(t.group()[:1] in (b'"', b"'", b";") for t in tokens) or len(tokens) != n_tags:
                return -1
            cuts.append(pos + tokens[after].end())
        pos += len(line)
    return cuts


def _random_text(rng, n_lines: int, n_tags: int) -> bytes:
    lines = []
    for _ in range(n_lines):
        kind = rng.random()
        if kind < 0.05:
            lines.append(_pick(rng, _SPACE_BYTES, rng.integers(0, 12)))  # blank
            continue
        tokens = []
        for _ in range(n_tags + (kind > 0.995) - (0.99 < kind <= 0.995)):  # now and then a token too many or few
            tok = _pick(rng, _TOKEN_BYTES, rng.integers(1, 12))
            if tok[:1] in (b'"', b"'", b";") and rng.random() < 0.995:
                tok = b"X" + tok  # a quote at a token's start only now and then: the scan then gives up
            tokens.append(tok)
        seps = [_pick(rng, _SPACE_BYTES, rng.integers(1, 4)) for _ in tokens]
        lead = _pick(rng, _SPACE_BYTES, rng.integers(0, 3))
        lines.append(lead + b"".join(t + s for t, s in zip(tokens, seps, strict=True)))
    text = b"\n".join(lines)
    return text if rng.random() < 0.5 else text + b"\n"


def _fast_cuts(text: bytes, n_tags: int, after: int, room: int | None = None):
    a = row_scan.padded_rows(b"##" + text, 2, 2 + len(text))
    cuts = np.empty(len(text) + 1 if room is None else room, dtype=np.int64)
    rows = row_scan.row_cuts(a, len(text), n_tags, after, cuts)
    return -1 if rows < 0 else cuts[:rows].tolist()


@pytest.mark.parametrize("seed", range(40))
def test_cuts_equal_those_of_splitting_each_line(seed):
    rng = np.random.default_rng(seed)
    n_tags = int(rng.integers(1, 9))
    after = int(rng.integers(0, n_tags))
    for _ in range(25):
        text = _random_text(rng, int(rng.integers(1, 30)), n_tags)
        assert _fast_cuts(text, n_tags, after) == _slow_cuts(text, n_tags, after), text


@pytest.mark.parametrize(("text", "expected"), [
    (b"", []), (b"   \n\t\n", []), (b"a b c", [3]), (b"a b c\n", [3]), (b"  a\tb  c  \r\n", [5]),
    (b"a b\n", -1), (b"a b c d\n", -1), (b"a \"b\" c\n", -1), (b"a b 'c'\n", -1), (b";a b c\n", -1),
    (b"O5' b\"c d\n", [7]), (b"a b c\na b c\n\na b c", [3, 9, 16]),
])
def test_cuts_of_small_cases(text, expected):
    assert _fast_cuts(text, 3, 1) == expected == _slow_cuts(text, 3, 1)


def test_a_value_after_the_last_token_goes_before_the_line_end():
    assert _fast_cuts(b"a b c  \r\nd e f", 3, 2) == [5, 14]


def test_more_rows_than_room_for_them_is_refused():
    assert _fast_cuts(b"a b c\na b c\n", 3, 1, room=1) == -1


def test_values_are_put_at_the_cuts():
    text = b"a bb c\n\n  d e f\ng h i"
    a = row_scan.padded_rows(text, 0, len(text))
    cuts = np.array(_fast_cuts(text, 3, 1), dtype=np.int64)
    values = text_cells(["0.5", "?", "-0.25", "x"])
    out = np.zeros(len(text) + 64, dtype=np.uint8)
    end = row_scan.insert_values(a, len(text), cuts, values.data, values.start, values.end, 1, out)
    assert out[:end].tobytes() == b"a bb ? c\n\n  d e -0.25 f\ng h x i"


@pytest.mark.parametrize("seed", range(5))
def test_where_rows_end_is_where_the_regex_finds_it(seed, monkeypatch):
    """The compiled search (large files) against the regex (small ones), from every kind of position."""
    from qscore.io import model_text

    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"\n\n#_ldatsvepo A", np.uint8)
    for _ in range(1000):
        text = _pick(rng, alphabet, rng.integers(0, 60))
        pos = int(rng.integers(0, len(text) + 1))
        monkeypatch.setattr(model_text, "COMPILED_BYTES", 10 ** 9)
        slow = model_text._rows_end(text, pos)
        monkeypatch.setattr(model_text, "COMPILED_BYTES", 0)
        assert model_text._rows_end(text, pos) == slow, (text, pos)
