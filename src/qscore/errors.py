"""The package's exceptions and warnings.

Every error the library raises on bad input is a :class:`QScoreError`; its message names the
file or value, says what was wrong and what to do.  The CLI turns it into one line and exit code 2.
"""

from __future__ import annotations


class QScoreError(Exception):
    """Base class of every error qscore raises on bad input or an impossible request."""


class InputFileError(QScoreError):
    """A file is missing, unreadable, of an unknown kind, truncated or corrupt."""


class MapError(InputFileError):
    """A density map that cannot be used (wrong mode, skewed cell, NaN values, zero variance)."""


class ModelError(InputFileError):
    """An atomic model that cannot be used (no atoms, only hydrogens, bad coordinates)."""


class OutputError(QScoreError):
    """An output file or folder that cannot be written."""


class ParameterError(QScoreError, ValueError):
    """A parameter outside its meaningful range."""


class QScoreWarning(UserWarning):
    """Something worth knowing that does not stop the run (e.g. conflicting origin words)."""
