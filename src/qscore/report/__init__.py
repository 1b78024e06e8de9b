"""Figures (matplotlib, Okabe–Ito colours) and the self-contained HTML report; reads results only."""

__all__: list = []
