"""The package's exceptions and warnings.

Every error the library raises on bad input is a :class:`QScoreError`; its message names the
file or value, says what was wrong and what to do.  Messages speak the caller's language: a value
given through a Python parameter is written ``name=value`` (``window=-1``) and the exception lists
those names in :attr:`QScoreError.parameters`, so that the command line can say ``--window -1``
instead (:func:`qscore.cli.funnel.cli_message`).  The CLI turns any of them into one line and exit
code 2.
"""

from __future__ import annotations

__all__ = ["QScoreError", "InputFileError", "MapError", "ModelError", "OutputError", "ParameterError",
           "QScoreWarning"]


class QScoreError(Exception):
    """Base class of every error qscore raises on bad input or an impossible request.

    Parameters
    ----------
    message : str
        What was wrong and what to do; Python parameters appear as ``name=value`` or ``name=``.
    parameter : str or sequence of str, optional
        The Python parameter(s) the message names that way.
    """

    def __init__(self, message: str = "", *, parameter=None):
        super().__init__(message)
        if parameter is None:
            self.parameters: tuple = ()
        elif isinstance(parameter, str):
            self.parameters = (parameter,)
        else:
            self.parameters = tuple(parameter)


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
