"""Maths on per-atom Q: residue/chain/model tables, expected Q, percentiles, profiles, CC, B-factors, archives.

Arrays and tables in, tables and dataclasses out (:mod:`~qscore.analysis.results`); nothing here reads
or writes a file or draws a figure (the import contracts in ``pyproject.toml`` say so).
"""

__all__: list = []
