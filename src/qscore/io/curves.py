"""Expected-Q curves as JSON files: ``qscore archive stats --save-model`` writes one, ``--expected-model`` reads it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..errors import InputFileError
from ..types import ExpectedModel
from .files import write_json

__all__ = ["read_expected_model", "write_expected_model", "CURVE_KIND"]

#: the ``kind`` field of such a file
CURVE_KIND = "qscore-expected-model"


def write_expected_model(path, model: ExpectedModel) -> None:
    """Write an expected-Q curve as JSON (atomically).

    Parameters
    ----------
    path : str or Path
    model : ExpectedModel
    """
    write_json(path, {"kind": CURVE_KIND, "version": 1, **asdict(model)})


def read_expected_model(path) -> ExpectedModel:
    """Read a curve written by :func:`write_expected_model`.

    Raises
    ------
    InputFileError — a missing file, not JSON, or a field missing or not a number
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"Expected-Q model file '{p}' does not exist; write one with "
                             "'qscore archive stats --save-model FILE'.") from None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"Expected-Q model file '{p}' is not valid JSON ({exc}).") from None
    try:
        d_range = data.get("d_range")  # files written before ranges were recorded have none
        return ExpectedModel(coefficients=tuple(float(c) for c in data["coefficients"]),
                             peak=float(data["peak"]), low=float(data["low"]), high=float(data["high"]),
                             sigma=float(data["sigma"]), source=str(data.get("source", str(p))),
                             d_range=None if d_range is None else (float(d_range[0]), float(d_range[1])))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputFileError(f"Expected-Q model file '{p}' lacks a valid field ({exc}); it "
                             "needs coefficients, peak, low, high and sigma.") from None
