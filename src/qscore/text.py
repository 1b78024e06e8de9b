"""Words for counts, shared by every layer that writes text for people (messages, the CLI, the report)."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, word: str) -> str:
    """'1 chain', '2 chains', '2 entries' — with thousands separators.

    Parameters
    ----------
    n : int
    word : str — singular

    Returns
    -------
    str
    """
    if n == 1:
        return f"1 {word}"
    return f"{n:,} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"
