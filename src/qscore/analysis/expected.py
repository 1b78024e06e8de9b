"""Expected Q at a map resolution (docs/science.md §5): the archive curves, their 95% bounds, Q-resolution.

An :class:`ExpectedModel` is a polynomial Q(d) with offsets: Q_peak = Q_mean + peak,
Q_low95 = Q_mean + low, Q_high95 = Q_mean + high.  The built-in ones are the published curves
for sigma 0.4 Å (2025 paper) and 0.6 Å (MapQ); ``qscore archive stats --save-model`` writes one
refitted on a user's archive, which :func:`qscore.io.curves.read_expected_model` reads back.
:func:`curve_for` is the one place that decides which curve a sigma gets, with one message for each
way that can fail.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..types import ExpectedModel, check_resolution

__all__ = ["EMDB_SIGMA_04", "MAPQ_SIGMA_06", "BUILT_IN", "LINEAR_2020", "Q_RESOLUTION_RANGE", "linear_expected_q",
           "linear_q_resolution", "q_resolution", "flag_q", "model_for_sigma", "curve_for", "check_resolution"]


#: 2025 paper (sigma 0.4 Å): cubic fit to ~10,000 EMDB entries, Q_peak +0.024, 95% −0.126/+0.109
EMDB_SIGMA_04 = ExpectedModel(coefficients=(-0.0016, 0.0434, -0.3956, 1.3366), peak=0.024,
                              low=-0.126, high=0.109, sigma=0.4,
                              source="Pintilie et al. 2025, cubic fit, sigma 0.4", d_range=(1.15, 10.0))
#: MapQ (sigma 0.6 Å): cubic with ±0.1 bounds.  MapQ records no fitted range; it was fitted on EMDB entries
#: like the 2025 curve, so the archive's range (1.15–10 Å, ../shared/data/archive) is taken for both
MAPQ_SIGMA_06 = ExpectedModel(coefficients=(-0.0019064058, 0.0499875375, -0.4513945578, 1.5361860733),
                              peak=0.0, low=-0.1, high=0.1, sigma=0.6,
                              source="MapQ v2.9.7 cubic, sigma 0.6", d_range=(1.15, 10.0))

BUILT_IN = {0.4: EMDB_SIGMA_04, 0.6: MAPQ_SIGMA_06}


#: 2020 paper (Nature Methods) and MapQ: linear expected Q per molecule type, (slope Å⁻¹, intercept),
#: by sigma (Å).  MapQ uses the ion and water relations for both sigmas; ligands have none.
LINEAR_2020 = {
    0.6: {"protein": (-0.1775, 1.1192), "nucleic": (-0.1377, 0.9973), "ion": (-0.1103, 1.0795),
          "water": (-0.0895, 1.0001)},
    0.4: {"protein": (-0.1866, 1.1242), "nucleic": (-0.1465, 0.9436), "ion": (-0.1103, 1.0795),
          "water": (-0.0895, 1.0001)},
}

#: resolutions (Å) over which an expected-Q curve is inverted to a Q-resolution
Q_RESOLUTION_RANGE = (0.5, 20.0)


def _for_sigma(table: dict, sigma: float):
    """The value of ``table`` ({sigma Å: value}, as BUILT_IN and LINEAR_2020) for ``sigma``, or None."""
    return next((v for s, v in table.items() if abs(sigma - s) < 1e-9), None)


def linear_expected_q(d, mol_type: str, sigma: float) -> float:
    """Expected Q of one molecule type at resolution d by the 2020 linear relations (docs/science.md §5).

    Parameters
    ----------
    d : float — resolution, Å
    mol_type : str — 'protein', 'nucleic', 'ion' or 'water'
    sigma : float — reference-Gaussian width, Å (relations exist for 0.4 and 0.6)

    Returns
    -------
    float — NaN where no relation exists (ligands, or another sigma)
    """
    check_resolution(d)
    rel = (_for_sigma(LINEAR_2020, sigma) or {}).get(mol_type)
    return float("nan") if rel is None else float(rel[0] * float(d) + rel[1])


def linear_q_resolution(q: float, mol_type: str, sigma: float) -> float:
    """Invert the 2020 linear relation of ``mol_type``: the resolution at which Q is expected.

    This is MapQ's "Est.Res." column.

    Parameters
    ----------
    q : float — a mean Q
    mol_type : str — 'protein', 'nucleic', 'ion' or 'water'
    sigma : float — reference-Gaussian width, Å

    Returns
    -------
    float — Å; NaN where no relation exists or Q is not finite
    """
    rel = (_for_sigma(LINEAR_2020, sigma) or {}).get(mol_type)
    if rel is None or not np.isfinite(q):
        return float("nan")
    return float((q - rel[1]) / rel[0])


def q_resolution(q: float, model: ExpectedModel, d_range=Q_RESOLUTION_RANGE) -> tuple:
    """Invert the expected-Q curve: the resolution whose Q_mean equals ``q``.

    Solved on ``d_range`` (default 0.5–20 Å) within the curve's own fitted range (``model.d_range``).
    Nothing is extrapolated: when ``q`` lies beyond the curve's values on that range, or the curve is
    not single-valued there, no number is given.

    Parameters
    ----------
    q : float — a mean Q
    model : ExpectedModel — the curve
    d_range : (float, float) — resolutions to solve on, Å

    Returns
    -------
    (float or None, str or None) — the Q-resolution in Å and, when there is none, why
    """
    lo, hi = float(d_range[0]), float(d_range[1])
    if model.d_range is not None:  # never beyond the resolutions the curve was fitted on
        lo, hi = max(lo, float(model.d_range[0])), min(hi, float(model.d_range[1]))
    if not np.isfinite(q):
        return None, "Q is not a number"
    coeffs = np.array(model.coefficients, dtype=float)
    q_lo, q_hi = float(np.polyval(coeffs, lo)), float(np.polyval(coeffs, hi))
    shifted = coeffs.copy()
    shifted[-1] -= q
    roots = np.roots(shifted) if len(shifted) > 1 else np.array([])
    real = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    inside = real[(real >= lo - 1e-9) & (real <= hi + 1e-9)]
    if len(inside) == 1:
        return float(np.clip(inside[0], lo, hi)), None
    if len(inside) > 1:
        return None, (f"Q {q:.3f} is reached at several resolutions between {lo:g} and {hi:g} Å "
                      f"({', '.join(f'{d:.2f}' for d in inside)}); the curve is not invertible there")
    top, bottom = max(q_lo, q_hi), min(q_lo, q_hi)
    if q > top:
        return None, (f"Q {q:.3f} is above the curve's highest value {top:.3f} on {lo:g}–{hi:g} Å: "
                      "better than any resolution the curve covers")
    return None, (f"Q {q:.3f} is below the curve's lowest value {bottom:.3f} on {lo:g}–{hi:g} Å: "
                  "worse than any resolution the curve covers")


def flag_q(q, low, high):
    """'below' (Q < Q_low95), 'within' or 'above' (Q > Q_high95) for each Q.

    Parameters
    ----------
    q : (n,) float
    low, high : float — Q_low95 and Q_high95

    Returns
    -------
    (n,) object — the flags; '' where Q is NaN
    """
    q = np.asarray(q, dtype=float)
    out = np.where(q < low, "below", np.where(q > high, "above", "within")).astype(object)
    out[~np.isfinite(q)] = ""
    return out


def model_for_sigma(sigma: float) -> ExpectedModel:
    """The built-in expected-Q curve for sigma (0.4 or 0.6 Å); no curve is invented for others.

    Raises
    ------
    ParameterError — no built-in curve for ``sigma``
    """
    model = _for_sigma(BUILT_IN, sigma)
    if model is not None:
        return model
    raise ParameterError(f"No expected-Q curve exists for sigma={sigma} Å; built-in curves are for "
                         "0.4 and 0.6 Å. Use one of those, or fit one with 'qscore archive stats "
                         "--save-model' and pass it with expected_model=.", parameter=("sigma", "expected_model"))


def curve_for(sigma: float, curve: ExpectedModel | None = None, *, required: bool = True) -> ExpectedModel | None:
    """The expected-Q curve a run with ``sigma`` uses: ``curve`` if given, else the built-in one.

    Parameters
    ----------
    sigma : float — the reference-Gaussian width Q is computed with, Å
    curve : ExpectedModel, optional — a curve of the user's (``expected_model=``)
    required : bool — raise when there is no built-in curve for ``sigma`` (when a resolution is given);
        else return None

    Raises
    ------
    ParameterError — ``curve`` was fitted for another sigma, or (``required``) no curve exists for ``sigma``
    """
    if curve is not None:
        if abs(curve.sigma - sigma) > 1e-9:
            raise ParameterError(f"The expected-Q model '{curve.source}' was fitted for sigma {curve.sigma} Å but "
                                 f"Q is computed with sigma={sigma} Å; use sigma={curve.sigma} or a model fitted "
                                 "for this sigma.", parameter=("sigma", "expected_model"))
        return curve
    if not required and _for_sigma(BUILT_IN, sigma) is None:
        return None
    return model_for_sigma(sigma)
