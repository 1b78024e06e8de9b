"""Atomic map profiles (SPEC §3): radial profiles of selected atoms and Gaussian fits to them.

An atom's radial profile is the mean map value over the points the Q-score kept at its centre and on
each shell (``score(..., profiles=True)`` gives them exactly).  A profile is fitted with
y = A·exp(−½((x − μ)/σ)²) + B over 0–2 Å by least squares (:func:`fit_gaussian`).

Atoms are chosen with a small selection language (:func:`select_atoms`)::

    SELECTION = ITEM[,ITEM...]          items are joined (union)
    ITEM      = CHAIN[:RESIDUES[:ATOMS]]
    CHAIN     = an author chain id, or * for every chain
    RESIDUES  = N | N-M | *             author residue numbers; N may carry an insertion code (26A);
                                        negative numbers are written as such (-5--1)
    ATOMS     = NAME[+NAME...] | *      atom names (CA+CB); an element is not a name

Examples: ``A:26:CD2`` (one atom), ``A:20-40`` (residues 20 to 40 of chain A), ``B`` (chain B),
``A:26,B:26`` (residue 26 of both chains), ``*:*:CA`` (every Cα).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import ParameterError

#: profiles are fitted over radii 0 … FIT_MAX_RADIUS Å
FIT_MAX_RADIUS = 2.0
#: least-squares evaluations before a fit is declared not converged
MAX_EVALUATIONS = 2000

_RESIDUE = re.compile(r"^(-?\d+)([A-Za-z]?)$")
_RANGE = re.compile(r"^(-?\d+)-(-?\d+)$")
_SYNTAX = ("CHAIN[:RESIDUES[:ATOMS]] items joined by commas, e.g. 'A:26:CD2', 'A:20-40', 'B', "
           "'A:26,B:26', '*:*:CA'")

IDENTITY_COLUMNS = ("chain", "res_num", "ins_code", "res_name", "atom_name", "altloc", "element", "mol_type")
FIT_KEYS = ("A", "mu", "sigma", "B", "rel_error", "converged")


def _chains_summary(atoms, limit: int = 20) -> str:
    """'A (residues 1–180, 1654 atoms), B (…)' — what a selection can pick from."""
    t = pd.DataFrame({"chain": atoms.chain, "res_num": atoms.res_num})
    parts = []
    for chain, g in t.groupby("chain", sort=False):
        parts.append(f"{chain or '(blank)'} (residues {g.res_num.min()}–{g.res_num.max()}, {len(g)} atoms)")
    more = f", … {len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def _item_mask(atoms, item: str) -> np.ndarray:
    parts = item.split(":")
    if len(parts) > 3 or any(p.strip() == "" for p in parts):
        raise ParameterError(f"Selection item '{item}' is not CHAIN[:RESIDUES[:ATOMS]]; write {_SYNTAX}.")
    chain, residues, names = (p.strip() for p in parts + ["*"] * (3 - len(parts)))
    mask = np.ones(len(atoms), dtype=bool) if chain == "*" else atoms.chain == chain
    if residues != "*":
        one, span = _RESIDUE.match(residues), _RANGE.match(residues)
        if one:
            mask &= atoms.res_num == int(one.group(1))
            mask &= atoms.ins_code == one.group(2)
        elif span:
            lo, hi = int(span.group(1)), int(span.group(2))
            if hi < lo:
                raise ParameterError(f"Residue range '{residues}' in selection item '{item}' runs backwards; "
                                     f"write {hi}-{lo}.")
            mask &= (atoms.res_num >= lo) & (atoms.res_num <= hi)
        else:
            raise ParameterError(f"Residues '{residues}' in selection item '{item}' are not N, N-M or *; "
                                 f"write {_SYNTAX}.")
    if names != "*":
        wanted = [n.strip() for n in names.split("+")]
        if any(not n for n in wanted):
            raise ParameterError(f"Atom names '{names}' in selection item '{item}' have an empty name; join names "
                                 "with '+', e.g. CA+CB.")
        mask &= np.isin(atoms.name, wanted)
    return mask


def select_atoms(atoms, selection: str) -> np.ndarray:
    """The atoms a selection picks, as a (n,) bool mask over ``atoms`` (hydrogens included).

    Parameters
    ----------
    atoms : Atoms
    selection : str — see the module docstring: ``CHAIN[:RESIDUES[:ATOMS]]`` items joined by commas

    Raises
    ------
    ParameterError (a QScoreError) — a malformed selection (the message shows the syntax), or an item
        that matches no atom (the message lists the chains with their residue ranges,
        or the atom names of the residue when only the names are wrong)
    """
    if not isinstance(selection, str) or not selection.strip():
        raise ParameterError(f"Empty atom selection; write {_SYNTAX}.")
    mask = np.zeros(len(atoms), dtype=bool)
    for item in (s.strip() for s in selection.split(",")):
        if not item:
            raise ParameterError(f"Selection '{selection}' has an empty item (two commas in a row?); write {_SYNTAX}.")
        hit = _item_mask(atoms, item)
        if not hit.any():
            parts = [p.strip() for p in item.split(":")]
            if len(parts) == 3 and parts[2] != "*":
                residue = _item_mask(atoms, ":".join(parts[:2]))
                if residue.any():
                    names = ", ".join(dict.fromkeys(atoms.name[residue].tolist()))
                    raise ParameterError(f"Selection item '{item}' matches no atom: residue {':'.join(parts[:2])} has "
                                      f"atoms {names}.")
            raise ParameterError(f"Selection item '{item}' matches no atom. Chains of the model: "
                              f"{_chains_summary(atoms)}.")
        mask |= hit
    return mask


def gaussian(x, A, mu, sigma, B):
    """A·exp(−½((x − μ)/σ)²) + B.

    Parameters
    ----------
    x : float or (n,) float — radius, Å
    A, mu, sigma, B : float — amplitude, centre (Å), width (Å), baseline

    Returns
    -------
    float or (n,) float
    """
    return A * np.exp(-0.5 * ((np.asarray(x, dtype=np.float64) - mu) / sigma) ** 2) + B


def _not_converged(message: str, n: int) -> dict:
    nan = float("nan")
    return {"A": nan, "mu": nan, "sigma": nan, "B": nan, "rel_error": nan, "converged": False, "n_points": n,
            "message": message}


def fit_gaussian(radii, values, *, max_radius: float = FIT_MAX_RADIUS) -> dict:
    """Least-squares fit of y = A·exp(−½((x − μ)/σ)²) + B to a radial profile.

    Parameters
    ----------
    radii : (m,) float — distances from the atom, Å (the centre is 0)
    values : (m,) float — mean map values there; NaN entries (shells without points) are left out
    max_radius : float — only radii ≤ this (Å) are fitted (SPEC §3: 0–2 Å)

    Returns
    -------
    dict with ``A``, ``mu`` (Å), ``sigma`` (Å, > 0), ``B`` (map units), ``rel_error`` — the root-mean-square
    residual divided by the range (max − min) of the fitted values, a fraction (so 0.024 is 2.4%) that
    does not depend on the map's scale or zero level —, ``converged`` (bool), ``n_points`` and a
    ``message``.  When the fit does not converge, or its peak is no peak within the fitted range
    (|μ| > max_radius or σ > 2·max_radius), ``converged`` is False and the parameters are NaN.
    """
    from scipy.optimize import least_squares

    x = np.asarray(radii, dtype=np.float64).reshape(-1)
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ParameterError(f"radii {x.shape} and values {y.shape} of a profile must have the same shape.")
    use = np.isfinite(x) & np.isfinite(y) & (x <= max_radius + 1e-9)
    x, y = x[use], y[use]
    n = int(len(x))
    if n < 5:
        return _not_converged(f"only {n} radii with values (a fit of 4 parameters needs at least 5)", n)
    lo, span = float(y.min()), float(y.max() - y.min())
    if not span > 0:
        return _not_converged("the profile is flat", n)
    yn = (y - lo) / span  # fit on a unit scale; A and B are scaled back
    mu0 = float(x[np.argmax(yn)])
    sigma0 = max(float(np.sqrt(np.sum(yn * (x - mu0) ** 2) / max(np.sum(yn), 1e-12))), 0.1)

    def residual(p):
        return p[0] * np.exp(-0.5 * ((x - p[1]) / p[2]) ** 2) + p[3] - yn

    def jacobian(p):
        u = (x - p[1]) / p[2]
        e = np.exp(-0.5 * u * u)
        return np.column_stack([e, p[0] * e * u / p[2], p[0] * e * u * u / p[2], np.ones_like(x)])

    try:
        res = least_squares(residual, [1.0, mu0, sigma0, 0.0], jac=jacobian, method="lm", max_nfev=MAX_EVALUATIONS)
    except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - scipy refuses the problem
        return _not_converged(f"the least-squares fit failed ({exc})", n)
    a, mu, sigma, b = (float(v) for v in res.x)
    sigma = abs(sigma)
    if not res.success or not np.all(np.isfinite(res.x)) or sigma == 0:
        return _not_converged(f"the fit did not converge ({res.message})", n)
    if abs(mu) > max_radius or sigma > 2 * max_radius:
        return _not_converged(f"no Gaussian peak within 0–{max_radius:g} Å (fit gave μ {mu:.3g} Å, σ {sigma:.3g} Å)",
                              n)
    rel = float(np.sqrt(np.mean(res.fun ** 2)))
    return {"A": a * span, "mu": mu, "sigma": sigma, "B": b * span + lo, "rel_error": rel, "converged": True,
            "n_points": n, "message": "converged"}


def _check_result(result, mask) -> np.ndarray:
    if result.profile is None or result.kept is None:
        raise ParameterError("The result holds no radial profiles; score with profiles=True "
                             "(qscore.score(model, map, profiles=True)).", parameter="profiles")
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (len(result.atoms),):
        raise ParameterError(f"mask= has shape {mask.shape}; expected ({len(result.atoms)},), one per atom.",
                             parameter="mask")
    return mask & ~result.atoms.is_hydrogen


def profile_radii(result) -> np.ndarray:
    """(s + 1,) float64: the centre (0 Å) and the shell radii of a result's profiles, Å."""
    return np.concatenate([[0.0], np.asarray(result.radii, dtype=np.float64)])


def profile_columns(radii) -> list:
    """Column names of the profile values in :func:`profile_table`: ``r_0.00``, ``r_0.10``, …"""
    return [f"r_{r:.2f}" for r in radii]


def reference_gaussian(result, x) -> np.ndarray:
    """The Q-score's reference Gaussian g(x) = (maxD − minD)·exp(−½(x/σ)²) + minD of SPEC §2.7.

    Parameters
    ----------
    result : QScoreResult — its map statistics and sigma
    x : (n,) float — radii, Å

    Returns
    -------
    (n,) float64
    """
    stats = result.map_stats
    return gaussian(x, stats.max_d - stats.min_d, 0.0, result.params.sigma, stats.min_d)


def profile_table(result, mask=None, *, max_radius: float = FIT_MAX_RADIUS) -> pd.DataFrame:
    """One row per selected non-hydrogen atom: identity, Q, its radial profile and the Gaussian fit.

    Parameters
    ----------
    result : QScoreResult — scored with ``profiles=True``
    mask : (n,) bool, optional — the atoms (e.g. from :func:`select_atoms`); default every atom.
        Hydrogens are left out (they have no profile of their own).
    max_radius : float — the fit's range, Å

    Returns
    -------
    DataFrame with columns ``chain, res_num, ins_code, res_name, atom_name, altloc, element, mol_type,
    atom_index`` (row in ``result.atoms``), ``Q``, ``outside_map``, one column per radius
    (:func:`profile_columns`: mean map value at the centre and on each shell, NaN where no point was
    kept) and ``A, mu, sigma, B, rel_error, converged, fit_message`` (see :func:`fit_gaussian`).
    ``table.attrs`` holds ``radii`` (Å) and ``profile_columns``.
    """
    mask = _check_result(result, np.ones(len(result.atoms), dtype=bool) if mask is None else mask)
    idx = np.flatnonzero(mask)
    atoms = result.atoms
    radii = profile_radii(result)
    cols = profile_columns(radii)
    table = pd.DataFrame({c: getattr(atoms, "name" if c == "atom_name" else c)[idx] for c in IDENTITY_COLUMNS})
    table["atom_index"] = idx
    table["Q"] = result.q[idx]
    table["outside_map"] = result.outside[idx]
    profiles = result.profile[idx]
    table = pd.concat([table, pd.DataFrame(profiles, columns=cols)], axis=1)
    fits = [fit_gaussian(radii, p, max_radius=max_radius) for p in profiles]
    for key in FIT_KEYS:
        table[key] = [f[key] for f in fits]
    table["converged"] = table["converged"].astype(bool)
    table["fit_message"] = [f["message"] for f in fits]
    table.attrs["radii"] = radii.tolist()
    table.attrs["profile_columns"] = cols
    return table


def selection_profile(result, mask, *, max_radius: float = FIT_MAX_RADIUS) -> dict:
    """The radial profile of a selection as a whole, and its Gaussian fit.

    At each radius the mean over every kept point of every selected non-hydrogen atom (as MapQ
    profiles a group of atoms).

    Parameters
    ----------
    result : QScoreResult — scored with ``profiles=True``
    mask : (n,) bool — the selected atoms
    max_radius : float — the fit's range, Å

    Returns
    -------
    dict with ``radii`` (s + 1,) Å, ``values`` (s + 1,) (NaN where no point was kept), ``points``
    (s + 1,) int, ``atoms`` (count) and ``fit`` (:func:`fit_gaussian`)
    """
    mask = _check_result(result, mask)
    if not mask.any():
        raise ParameterError("The selection holds no non-hydrogen atom, so it has no profile.")
    kept = result.kept[mask].astype(np.float64)
    prof = np.nan_to_num(result.profile[mask], nan=0.0)
    points = kept.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(points > 0, (prof * kept).sum(axis=0) / points, np.nan)
    radii = profile_radii(result)
    return {"radii": radii, "values": values, "points": points.astype(np.int64), "atoms": int(mask.sum()),
            "fit": fit_gaussian(radii, values, max_radius=max_radius)}


def atom_label(row) -> str:
    """'A LEU 26 CD2' (with insertion code and altloc when present) for a row of :func:`profile_table`."""
    alt = f" ({row['altloc']})" if row.get("altloc") else ""
    return f"{row['chain']} {row['res_name']} {row['res_num']}{row.get('ins_code') or ''} {row['atom_name']}{alt}"


def fit_summary(fit: dict) -> str:
    """'A 0.0512, μ 0.012 Å, σ 0.612 Å, B −0.0081, error 2.1%' or 'not converged: …'."""
    if not fit["converged"]:
        return f"not converged: {fit['message']}"
    return (f"A {fit['A']:.4g}, μ {fit['mu']:.3f} Å, σ {fit['sigma']:.3f} Å, B {fit['B']:.4g}, "
            f"error {100 * fit['rel_error']:.1f}%")


__all__ = ["select_atoms", "fit_gaussian", "profile_table", "selection_profile", "reference_gaussian",
           "profile_radii", "profile_columns", "gaussian", "atom_label", "fit_summary", "FIT_MAX_RADIUS"]
