"""Atomic map profiles (docs/science.md §3): radial profiles of selected atoms and Gaussian fits to them.

An atom's radial profile is the mean map value over the points the Q-score kept at its centre and on
each shell (``score(..., profiles=True)`` gives them exactly).  A profile is fitted with
y = A·exp(−½((x − μ)/σ)²) + B over 0–2 Å by bounded least squares, every profile at once
(:func:`fit_gaussians`), each fit saying whether it determined the Gaussian or why not.

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


#: the fit's bounds on σ, Å: below, a profile narrower than the shells' spacing; above, wider than it can tell
SIGMA_BOUNDS = (0.05, 1.5 * FIT_MAX_RADIUS)
#: a fit's outcome (``fit_status``): only 'determined' fits have parameters
FIT_STATUSES = ("determined", "wider than range", "no peak at the atom", "flat", "too few points")


def _model(p: np.ndarray, x: np.ndarray) -> tuple:
    """(values (n, m), Jacobian (n, m, 4)) of A·exp(−½((x − μ)/σ)²) + B for parameter rows p (n, 4)."""
    a, mu, sd = p[:, 0:1], p[:, 1:2], p[:, 2:3]
    u = (x[None, :] - mu) / sd
    e = np.exp(-0.5 * u * u)
    jac = np.stack([e, a * e * u / sd, a * e * u * u / sd, np.ones_like(e)], axis=-1)
    return a * e + p[:, 3:4], jac


def _bounded_lm(x, y, w, p, lo, hi, free, iterations: int = 200) -> np.ndarray:
    """Levenberg–Marquardt for many profiles at once, each step projected onto the bounds ``lo``…``hi``.

    x (m,), y and w (n, m) (w 0 where a value is missing), p (n, 4) starting values, free (4,) bool:
    the parameters fitted (the others stay at their starting value).  Returns the parameters (n, 4).
    """
    lam = np.full(len(p), 1e-3)
    eye = np.eye(4)

    def cost(q):
        f, _ = _model(q, x)
        return np.sum(w * (f - y) ** 2, axis=1)

    current = cost(p)
    for _ in range(iterations):
        f, jac = _model(p, x)
        r = w * (f - y)
        jac = jac * w[..., None] * free
        jtj = np.einsum("nmi,nmj->nij", jac, jac)
        g = np.einsum("nmi,nm->ni", jac, r)
        damped = jtj + lam[:, None, None] * (jtj * eye + 1e-9 * eye) + (1.0 - free)[None, :, None] * eye
        step = -np.linalg.solve(damped, g[..., None])[..., 0]
        trial = np.clip(p + step * free, lo, hi)
        new = cost(trial)
        better = new < current
        p = np.where(better[:, None], trial, p)
        shrink = (current - np.where(better, new, current)) < 1e-13 * (1.0 + current)
        current = np.where(better, new, current)
        lam = np.where(better, lam * 0.3, lam * 10.0)
        if np.all(shrink & (lam > 1e8) | (better & shrink)):
            break
    return p


def fit_gaussians(radii, values, *, max_radius: float = FIT_MAX_RADIUS, fix_mu: bool = False) -> dict:
    """Bounded least-squares fits of y = A·exp(−½((x − μ)/σ)²) + B to many radial profiles at once.

    Each profile is scaled to [0, 1] (its minimum and range), then fitted with A > 0, μ within
    [0, max_radius] (or fixed at 0 with ``fix_mu``), σ within :data:`SIGMA_BOUNDS` and B free, starting
    from the profile's own peak and spread.  The outcome of each fit (``fit_status``) is one of
    :data:`FIT_STATUSES`:

    * 'determined' — A, μ, σ and B are given;
    * 'wider than range' — σ reached its upper bound: 0–max_radius cannot determine σ because the
      profile is wider than the sampled range; ``sigma_min`` is a lower bound (the fit with B at the
      profile's minimum, which a Gaussian plus baseline cannot exceed) and the message says
      "σ > … Å: profile wider than 0–2 Å";
    * 'no peak at the atom' — the best Gaussian peaks at max_radius (the profile rises away from the atom);
    * 'flat' — the profile does not vary, or the fit's amplitude vanishes;
    * 'too few points' — fewer than 5 radii with values.

    Parameters
    ----------
    radii : (m,) float — distances from the atom, Å (the centre is 0)
    values : (n, m) float — mean map values there, one row per profile; NaN where a shell kept no point
    max_radius : float — only radii ≤ this (Å) are fitted (docs/science.md §3: 0–2 Å)
    fix_mu : bool — fit μ = 0 (the Gaussian centred on the atom)

    Returns
    -------
    dict of (n,) arrays: ``A``, ``mu`` (Å), ``sigma`` (Å), ``B`` (map units), ``rel_error`` (root-mean-square
    residual over the profile's range, a fraction: 0.024 is 2.4%) — all NaN unless determined —,
    ``converged`` (bool: determined), ``fit_status``, ``sigma_min`` (Å, for 'wider than range'),
    ``n_points`` and ``message``
    """
    x_all = np.asarray(radii, dtype=np.float64).reshape(-1)
    y_all = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if y_all.shape[1] != x_all.shape[0]:
        raise ParameterError(f"radii {x_all.shape} and values {y_all.shape} of profiles do not match: values need "
                             "one column per radius.", parameter="values")
    keep_x = np.isfinite(x_all) & (x_all <= max_radius + 1e-9)
    x, y = x_all[keep_x], y_all[:, keep_x]
    n = len(y)
    w = np.isfinite(y).astype(np.float64)
    n_points = w.sum(axis=1).astype(int)
    lo = np.nanmin(np.where(w > 0, y, np.inf), axis=1, initial=np.inf)
    hi = np.nanmax(np.where(w > 0, y, -np.inf), axis=1, initial=-np.inf)
    span = hi - lo
    ok = (n_points >= 5) & np.isfinite(span) & (span > 0)
    yn = np.where(w > 0, (y - lo[:, None]) / np.where(ok, span, 1.0)[:, None], 0.0)
    peak_at = x[np.argmax(np.where(w > 0, yn, -1.0), axis=1)] if len(x) else np.zeros(n)
    mass = np.maximum((w * yn).sum(axis=1), 1e-12)
    mu0 = np.zeros(n) if fix_mu else np.clip(peak_at, 0.0, max_radius)
    sd0 = np.sqrt((w * yn * (x[None, :] - mu0[:, None]) ** 2).sum(axis=1) / mass)
    p0 = np.column_stack([np.ones(n), mu0, np.clip(sd0, 0.2, SIGMA_BOUNDS[1] * 0.9), np.zeros(n)])
    lower = np.array([1e-6, 0.0, SIGMA_BOUNDS[0], -50.0])
    upper = np.array([50.0, 0.0 if fix_mu else max_radius, SIGMA_BOUNDS[1], 1.0])
    free = np.array([1.0, 0.0 if fix_mu else 1.0, 1.0, 1.0])
    p = _bounded_lm(x, yn, w, p0, lower, upper, free) if n else p0
    f, _ = _model(p, x)
    rel = np.sqrt((w * (f - yn) ** 2).sum(axis=1) / np.maximum(w.sum(axis=1), 1))
    wide = p[:, 2] >= SIGMA_BOUNDS[1] * (1 - 1e-6)
    no_peak = ~fix_mu & (p[:, 1] >= max_radius * (1 - 1e-6))
    flat = p[:, 0] <= 1e-4
    status = np.where(~ok, np.where(n_points < 5, "too few points", "flat"),
                      np.where(flat, "flat", np.where(no_peak, "no peak at the atom",
                                                      np.where(wide, "wider than range", "determined"))))
    sigma_min = np.full(n, np.nan)
    if wide.any():  # a lower bound: the fit with the baseline at the profile's minimum
        rows = np.flatnonzero(status == "wider than range")
        q0 = p0[rows].copy()
        q = _bounded_lm(x, yn[rows], w[rows], q0, lower, upper, free * np.array([1.0, 1.0, 1.0, 0.0]))
        sigma_min[rows] = q[:, 2]
    determined = status == "determined"
    out = {"A": np.where(determined, p[:, 0] * span, np.nan), "mu": np.where(determined, p[:, 1], np.nan),
           "sigma": np.where(determined, p[:, 2], np.nan),
           "B": np.where(determined, p[:, 3] * span + lo, np.nan),
           "rel_error": np.where(determined, rel, np.nan), "converged": determined, "fit_status": status,
           "sigma_min": sigma_min, "n_points": n_points}
    out["message"] = np.array([_fit_message(st, n_points[i], peak_at[i] if len(x) else 0.0, sigma_min[i], max_radius)
                               for i, st in enumerate(status)], dtype=object)
    return out


def _fit_message(status: str, n_points: int, peak_at: float, sigma_min: float, max_radius: float) -> str:
    if status == "determined":
        return "determined"
    if status == "wider than range":
        return (f"σ > {sigma_min:.1f} Å: profile wider than 0–{max_radius:g} Å (σ cannot be determined "
                "from this range)")
    if status == "no peak at the atom":
        return f"no peak at the atom: the profile rises away from it (its maximum is at {peak_at:.1f} Å)"
    if status == "too few points":
        return f"only {n_points} radii with values (a fit of 4 parameters needs at least 5)"
    return "the profile is flat"


def fit_gaussian(radii, values, *, max_radius: float = FIT_MAX_RADIUS, fix_mu: bool = False) -> dict:
    """The bounded Gaussian fit of one radial profile (see :func:`fit_gaussians`).

    Parameters
    ----------
    radii : (m,) float — distances from the atom, Å
    values : (m,) float — mean map values there (NaN where a shell kept no point)
    max_radius : float — the fit's range, Å
    fix_mu : bool — fit μ = 0

    Returns
    -------
    dict with ``A``, ``mu``, ``sigma``, ``B``, ``rel_error``, ``converged``, ``fit_status``, ``sigma_min``,
    ``n_points`` and ``message`` (floats, a bool and strings)
    """
    x = np.asarray(radii, dtype=np.float64).reshape(-1)
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ParameterError(f"radii {x.shape} and values {y.shape} of a profile must have the same shape.",
                             parameter="values")
    fits = fit_gaussians(x, y[None, :], max_radius=max_radius, fix_mu=fix_mu)
    out = {k: v[0].item() if hasattr(v[0], "item") else v[0] for k, v in fits.items()}
    out["converged"] = bool(out["converged"])
    out["fit_status"], out["message"] = str(out["fit_status"]), str(out["message"])
    return out


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


def profile_table(result, mask=None, *, max_radius: float = FIT_MAX_RADIUS, fix_mu: bool = False) -> pd.DataFrame:
    """One row per selected non-hydrogen atom: identity, Q, its radial profile and the Gaussian fit.

    Parameters
    ----------
    result : QScoreResult — scored with ``profiles=True``
    mask : (n,) bool, optional — the atoms (e.g. from :func:`select_atoms`); default every atom.
        Hydrogens are left out (they have no profile of their own).
    max_radius : float — the fit's range, Å
    fix_mu : bool — fit Gaussians centred on the atoms (μ = 0)

    Returns
    -------
    DataFrame with columns ``chain, res_num, ins_code, res_name, atom_name, altloc, element, mol_type,
    atom_index`` (row in ``result.atoms``), ``Q``, ``outside_map``, one column per radius
    (:func:`profile_columns`: mean map value at the centre and on each shell, NaN where no point was
    kept) and ``A, mu, sigma, B, rel_error, converged, fit_status, sigma_min, fit_message`` (see
    :func:`fit_gaussians`).
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
    fits = fit_gaussians(radii, profiles, max_radius=max_radius, fix_mu=fix_mu)  # all atoms at once
    for key in FIT_KEYS:
        table[key] = fits[key]
    table["converged"] = table["converged"].astype(bool)
    table["fit_status"] = fits["fit_status"]
    table["sigma_min"] = fits["sigma_min"]
    table["fit_message"] = fits["message"]
    table.attrs["radii"] = radii.tolist()
    table.attrs["profile_columns"] = cols
    return table


def selection_profile(result, mask, *, max_radius: float = FIT_MAX_RADIUS, fix_mu: bool = False) -> dict:
    """The radial profile of a selection as a whole, and its Gaussian fit.

    At each radius the mean over every kept point of every selected non-hydrogen atom (as MapQ
    profiles a group of atoms).

    Parameters
    ----------
    result : QScoreResult — scored with ``profiles=True``
    mask : (n,) bool — the selected atoms
    max_radius : float — the fit's range, Å
    fix_mu : bool — fit a Gaussian centred on the atoms (μ = 0)

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
            "fit": fit_gaussian(radii, values, max_radius=max_radius, fix_mu=fix_mu)}


def atom_label(row) -> str:
    """'A LEU 26 CD2' (with insertion code and altloc when present) for a row of :func:`profile_table`."""
    alt = f" ({row['altloc']})" if row.get("altloc") else ""
    return f"{row['chain']} {row['res_name']} {row['res_num']}{row.get('ins_code') or ''} {row['atom_name']}{alt}"


def fit_summary(fit: dict) -> str:
    """'A 0.0512, μ 0.012 Å, σ 0.612 Å, B −0.0081, error 2.1%', or the reason there is no fit.

    Parameters
    ----------
    fit : dict — a fit (:func:`fit_gaussian`, or a row of :func:`profile_table`)

    Returns
    -------
    str
    """
    if not fit["converged"]:
        return f"no fit: {fit['message']}"
    return (f"A {fit['A']:.4g}, μ {fit['mu']:.3f} Å, σ {fit['sigma']:.3f} Å, B {fit['B']:.4g}, "
            f"error {100 * fit['rel_error']:.1f}%")


__all__ = ["select_atoms", "fit_gaussian", "fit_gaussians", "FIT_STATUSES", "SIGMA_BOUNDS", "profile_table",
           "selection_profile", "profile_radii", "profile_columns", "gaussian", "atom_label", "fit_summary",
           "FIT_MAX_RADIUS"]
