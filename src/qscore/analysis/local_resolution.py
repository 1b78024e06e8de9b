"""Q against local resolution: the four readings the 2025 paper proposes (docs/science.md §12).

A local-resolution map (ResMap, MonoRes, blocres, cryoSPARC, RELION, Phenix) gives a resolution in Å
at each voxel.  Here each scored atom gets the map's value at its position (trilinear, over the
corners that hold a value), each residue the median over its non-H atoms, each chain its median and
spread; the expected Q and 95% band at each residue's local resolution (inside the curve's fitted
range only) judge its Q, and the local resolution against :data:`DEFAULT_SIDE_CHAIN_RESOLUTION`
(where maps resolve side chains) says which of the four readings it is:

=============================  ===========================================================
as expected                    local resolution ≤ threshold, Q within the local band
possible misfit                local resolution ≤ threshold (the map resolves it), Q below the band
not resolved                   local resolution > threshold, Q not above the band (low, low)
possible over-fitting or noise Q above the local band (more than the local resolution supports)
=============================  ===========================================================

Missing values
    NaN, 0, negative values and anything outside [0.5, 100) Å — the tools' "no value" conventions
    (0 or NaN outside their mask, 100 Å as a fill value) — are missing: the corners that hold one
    are used, and an atom with none (or outside the map's box) has no local resolution.
A density map instead
    local resolutions are positive and mostly 0.5–100 Å; a map whose non-zero values are mostly
    negative or below 0.5 is a density map, refused with that reason (:func:`check_local_resolution`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputFileError, ParameterError
from ..text import plural
from ..types import DensityMap, ExpectedModel
from .results import records

__all__ = ["LOCAL_RES_RANGE", "DEFAULT_SIDE_CHAIN_RESOLUTION", "CONSISTENCY_MARGIN", "READINGS", "READING_HELP",
           "READING_KEYS",
           "LocalResolution", "check_local_resolution", "local_resolution_at", "residue_local_resolution",
           "add_local_readings", "local_analysis", "check_side_chain_resolution"]

#: values (Å) a local resolution can have; others are "no value"
LOCAL_RES_RANGE = (0.5, 100.0)
#: local resolution (Å) at or below which a map is taken to resolve side chains
DEFAULT_SIDE_CHAIN_RESOLUTION = 4.0
#: reported resolution, Q-resolution and median local resolution further apart than this (Å) get a note
CONSISTENCY_MARGIN = 1.0
READINGS = ("as expected", "possible misfit", "not resolved", "possible over-fitting or noise")
#: short names of the readings, for column names (``residues_<key>`` in batch results)
READING_KEYS = {"as expected": "as_expected", "possible misfit": "possible_misfit", "not resolved": "not_resolved",
                "possible over-fitting or noise": "overfit_or_noise"}
READING_HELP = {
    "as expected": "the map resolves it locally and its Q is within the band at its local resolution",
    "possible misfit": "the map resolves it locally (local resolution at or below the threshold) but its Q is "
                       "below the band at that resolution",
    "not resolved": "the local resolution is poorer than the threshold and its Q is not above the band: the map "
                    "does not resolve it well enough to judge the fit",
    "possible over-fitting or noise": "its Q is above the band at its local resolution: more than that "
                                      "resolution supports",
}
_CHUNK = 1 << 20
_NO_READING_TYPES = ("water", "ion")


def _valid(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values >= LOCAL_RES_RANGE[0]) & (values < LOCAL_RES_RANGE[1])


def check_side_chain_resolution(d) -> float:
    """The side-chain threshold checked: a resolution in Å, 1–10.

    Parameters
    ----------
    d : float

    Returns
    -------
    float
    """
    if d is None or not np.isfinite(d) or not 1.0 <= float(d) <= 10.0:
        raise ParameterError(f"side_chain_resolution={d} Å must lie within 1–10 Å (default "
                             f"{DEFAULT_SIDE_CHAIN_RESOLUTION:g}: side chains are resolved at 4 Å or better).",
                             parameter="side_chain_resolution")
    return float(d)


def check_local_resolution(dmap: DensityMap) -> dict:
    """What the values of a local-resolution map are; refuse a map that holds densities instead.

    Parameters
    ----------
    dmap : DensityMap — as :func:`qscore.io.maps.read_local_resolution` read it

    Returns
    -------
    dict — voxels, valid (in [0.5, 100) Å), missing, and the minimum, median and maximum of the valid values

    Raises
    ------
    InputFileError — no valid value, or values that look like densities
    """
    v = dmap.values
    valid = _valid(v)
    n_valid = int(valid.sum())
    finite = np.isfinite(v)
    nonzero = finite & (v != 0)
    n_nonzero = int(nonzero.sum())
    negative = int((finite & (v < 0)).sum())
    name = dmap.path or "(in memory)"
    if n_nonzero and n_valid < 0.5 * n_nonzero:
        raise InputFileError(
            f"Local-resolution map '{name}' looks like a density map, not local resolutions in Å: of its "
            f"{n_nonzero:,} non-zero values {negative:,} are negative and only {n_valid:,} lie in 0.5–100 Å "
            f"(median {float(np.median(v[nonzero])):.3g}). Give the local-resolution map your processing program "
            "wrote (ResMap, MonoRes, blocres, cryoSPARC, RELION, Phenix).")
    if not n_valid:
        raise InputFileError(f"Local-resolution map '{name}' has no value in 0.5–100 Å (all are 0, NaN or outside "
                             "that range); give the local-resolution map itself.")
    good = v[valid]
    return {"voxels": int(v.size), "valid": n_valid, "missing": int(v.size) - n_valid,
            "min": float(good.min()), "median": float(np.median(good)), "max": float(good.max())}


def local_resolution_at(dmap: DensityMap, coords) -> tuple:
    """Local resolution at each point: trilinear over the corners that hold a value.

    Parameters
    ----------
    dmap : DensityMap — the local-resolution map (Å)
    coords : (n, 3) float — positions, Å (x, y, z)

    Returns
    -------
    (values, outside) — values (n,) float64, NaN where no corner holds a value or the point lies outside
    the box; outside (n,) bool — the point lies outside the map's box
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    shape = np.array(dmap.shape_xyz)
    out = np.full(len(coords), np.nan)
    outside = np.zeros(len(coords), dtype=bool)
    v = dmap.values
    for s in range(0, len(coords), _CHUNK):
        f = (coords[s:s + _CHUNK] - dmap.origin) / dmap.voxel_size
        off = np.any((f < -1e-6) | (f > shape - 1 + 1e-6), axis=1)
        f = np.clip(f, 0, shape - 1)
        i0 = np.minimum(np.floor(f).astype(np.int64), np.maximum(shape - 2, 0))
        t = f - i0
        num = np.zeros(len(f))
        den = np.zeros(len(f))
        for corner in range(8):
            b = np.array([(corner >> k) & 1 for k in range(3)])
            idx = np.minimum(i0 + b, shape - 1)
            w = np.prod(np.where(b == 1, t, 1.0 - t), axis=1)
            val = v[idx[:, 2], idx[:, 1], idx[:, 0]].astype(np.float64)
            ok = _valid(val) & (w > 0)
            num += np.where(ok, w * val, 0.0)
            den += np.where(ok, w, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            res = np.where(den > 1e-12, num / den, np.nan)
        res[off] = np.nan
        out[s:s + _CHUNK], outside[s:s + _CHUNK] = res, off
    return out, outside


def residue_local_resolution(atoms, local_res: np.ndarray) -> tuple:
    """The median local resolution over each residue's non-H atoms that have one, in residue-table order.

    Parameters
    ----------
    atoms : qscore.types.Atoms
    local_res : (n,) float — per atom (NaN: none)

    Returns
    -------
    (median, n_missing) — (n_residues,) float (NaN when no atom has a value) and int (non-H atoms without one)
    """
    residue = np.asarray(atoms.residue, dtype=np.int64)
    heavy = ~np.asarray(atoms.is_hydrogen, dtype=bool)
    n_res = int(residue.max()) + 1 if len(residue) else 0
    present = np.bincount(residue, minlength=n_res) > 0
    have = heavy & np.isfinite(local_res)
    missing = np.bincount(residue[heavy & ~have], minlength=n_res)
    frame = pd.DataFrame({"r": residue[have], "d": local_res[have]})
    med = np.full(n_res, np.nan)
    if len(frame):
        m = frame.groupby("r")["d"].median()
        med[m.index.to_numpy()] = m.to_numpy()
    return med[present], missing[present]


def add_local_readings(residues: pd.DataFrame, curve: ExpectedModel | None, threshold: float) -> pd.DataFrame:
    """Add the band at each residue's local resolution, the flag against it and the reading.

    Parameters
    ----------
    residues : DataFrame — a residue table with ``local_res`` (Å), Q_residue, mol_type and status
    curve : ExpectedModel or None — the expected-Q curve (None: no band, no reading)
    threshold : float — the side-chain resolution, Å

    Returns
    -------
    DataFrame — with Q_peak_local, Q_low95_local, Q_high95_local, Q_flag_local and reading ('' for waters
    and ions; the residue's status where its atoms lie outside the map or in no density; 'no local
    resolution'; 'outside the curve's range' where the local resolution is)
    """
    out = residues.copy()
    d = out["local_res"].to_numpy(np.float64)
    q = out["Q_residue"].to_numpy(np.float64)
    lo_d, hi_d = curve.d_range if curve is not None and curve.d_range else (LOCAL_RES_RANGE[0], LOCAL_RES_RANGE[1])
    in_range = np.isfinite(d) & (d >= lo_d - 1e-9) & (d <= hi_d + 1e-9) & (curve is not None)
    banded = in_range & ~out["mol_type"].isin(_NO_READING_TYPES).to_numpy()
    for col in ("Q_peak_local", "Q_low95_local", "Q_high95_local"):
        out[col] = np.nan
    if banded.any():
        m = curve.q_mean(d[banded])
        out.loc[banded, "Q_peak_local"] = m + curve.peak
        out.loc[banded, "Q_low95_local"] = m + curve.low
        out.loc[banded, "Q_high95_local"] = m + curve.high
    low, high = out["Q_low95_local"].to_numpy(), out["Q_high95_local"].to_numpy()
    flag = np.where(q < low, "below", np.where(q > high, "above", "within")).astype(object)
    judged = banded & np.isfinite(q)
    flag[~judged] = ""
    reading = np.where(flag == "above", READINGS[3], np.where(d > threshold, READINGS[2], np.where(
        flag == "below", READINGS[1], READINGS[0]))).astype(object)
    reading[~judged] = ""
    reading[~in_range & np.isfinite(d)] = "outside the curve's range"
    reading[~np.isfinite(d)] = "no local resolution"
    if "status" in out:
        unscored = (out["status"] != "scored").to_numpy()
        reading[unscored], flag[unscored] = out["status"].to_numpy()[unscored], out["status"].to_numpy()[unscored]
    reading[out["mol_type"].isin(_NO_READING_TYPES).to_numpy()] = ""
    out["Q_flag_local"], out["reading"] = flag, reading
    return out


@dataclass
class LocalResolution:
    """Q read against a local-resolution map (see the module docstring).

    Attributes
    ----------
    source : str — the map's file
    threshold : float — the side-chain resolution, Å
    atom_values : (n,) float — each atom's local resolution (NaN: none)
    values : dict — the map's values (:func:`check_local_resolution`)
    atoms : int — non-H atoms; outside : int — of them outside the map's box; missing : int — in the box
        with no value around them
    median : float or None — the median local resolution over the non-H atoms that have one, Å
    chains : DataFrame — per chain and type: median local resolution, its 25th and 75th percentiles, and
        residues per reading
    counts : dict {reading: residues}
    consistency : dict — reported resolution, Q-resolution, median local resolution (Å or None)
    notes : list of str — disagreements beyond :data:`CONSISTENCY_MARGIN`, a grid unlike the map's, gaps
    """

    source: str
    threshold: float
    atom_values: np.ndarray
    values: dict
    atoms: int
    outside: int
    missing: int
    median: float | None
    chains: pd.DataFrame
    counts: dict
    consistency: dict
    notes: list

    def to_dict(self) -> dict:
        """JSON form (the ``local_resolution`` section of the summary)."""
        return {"source": self.source, "side_chain_resolution": self.threshold, "values": self.values,
                "atoms": self.atoms, "atoms_outside_map": self.outside, "atoms_no_value": self.missing,
                "median": self.median, "consistency": self.consistency, "readings": self.counts,
                "reading_help": READING_HELP, "chains": records(self.chains), "notes": list(self.notes)}


def _chain_summary(atoms, local_res: np.ndarray, residues: pd.DataFrame) -> pd.DataFrame:
    heavy = ~np.asarray(atoms.is_hydrogen, dtype=bool) & np.isfinite(local_res)
    per_atom = pd.DataFrame({"chain": atoms.chain[heavy], "mol_type": atoms.mol_type[heavy], "d": local_res[heavy]})
    rows = []
    for (chain, mol_type), grp in residues.groupby(["chain", "mol_type"], sort=False):
        d = per_atom.loc[(per_atom["chain"] == chain) & (per_atom["mol_type"] == mol_type), "d"].to_numpy()
        row = {"chain": chain, "mol_type": mol_type, "residues": len(grp),
               "local_res_median": float(np.median(d)) if d.size else np.nan,
               "local_res_p25": float(np.percentile(d, 25)) if d.size else np.nan,
               "local_res_p75": float(np.percentile(d, 75)) if d.size else np.nan}
        row.update({r: int((grp["reading"] == r).sum()) for r in READINGS})
        rows.append(row)
    return pd.DataFrame(rows)


def _consistency(resolution, q_resolution, median) -> tuple:
    values = {"reported": resolution, "q_resolution": q_resolution, "median_local": median}
    names = {"reported": "the reported resolution", "q_resolution": "the model's Q-resolution",
             "median_local": "the median local resolution under the model"}
    notes = []
    pairs = (("median_local", "reported"), ("median_local", "q_resolution"), ("q_resolution", "reported"))
    for a, b in pairs:
        va, vb = values[a], values[b]
        if va is not None and vb is not None and abs(va - vb) > CONSISTENCY_MARGIN:
            notes.append(f"{names[a][0].upper()}{names[a][1:]} ({va:.2f} Å) and {names[b]} ({vb:.2f} Å) differ by "
                         f"{abs(va - vb):.2f} Å, more than {CONSISTENCY_MARGIN:g} Å"
                         + (": the reported resolution may not represent the map where the model is." if "reported"
                            in (a, b) else "."))
    return {**values, "margin": CONSISTENCY_MARGIN}, notes


def local_analysis(atoms, residues: pd.DataFrame, local_map: DensityMap, *, curve: ExpectedModel | None,
                   resolution: float | None, q_resolution: float | None, density_map: DensityMap | None = None,
                   threshold: float = DEFAULT_SIDE_CHAIN_RESOLUTION, values: dict | None = None) -> tuple:
    """Each atom's and residue's local resolution, the local bands and readings, chain and model summaries.

    Parameters
    ----------
    atoms : qscore.types.Atoms
    residues : DataFrame — the analysis's residue table (Q_residue, mol_type, status)
    local_map : DensityMap — the local-resolution map (Å)
    curve : ExpectedModel or None — for the bands
    resolution : float or None — the reported resolution, Å
    q_resolution : float or None — the model's Q-resolution, Å
    density_map : DensityMap, optional — the scored map (a different grid is noted)
    threshold : float — the side-chain resolution, Å
    values : dict, optional — :func:`check_local_resolution` of ``local_map`` when it was checked already

    Returns
    -------
    (residues, LocalResolution) — the residue table with ``local_res``, ``n_local_missing``, the local band,
    ``Q_flag_local`` and ``reading``
    """
    threshold = check_side_chain_resolution(threshold)
    values = check_local_resolution(local_map) if values is None else values
    local_res, off = local_resolution_at(local_map, atoms.coords)
    heavy = ~np.asarray(atoms.is_hydrogen, dtype=bool)
    med, n_missing = residue_local_resolution(atoms, local_res)
    out = residues.copy()
    out["local_res"], out["n_local_missing"] = med, n_missing
    out = add_local_readings(out, curve, threshold)
    have = local_res[heavy & np.isfinite(local_res)]
    median = float(np.median(have)) if have.size else None
    consistency, notes = _consistency(resolution, q_resolution, median)
    n_off, n_gap = int((off & heavy).sum()), int((heavy & ~off & ~np.isfinite(local_res)).sum())
    if n_off:
        notes.append(f"{plural(n_off, 'atom')} of {int(heavy.sum()):,} lie outside the local-resolution map's box: "
                     "they have no local resolution and their residues no reading.")
    if n_gap:
        notes.append(f"{plural(n_gap, 'atom')} lie where the local-resolution map has no value (masked): they have "
                     "no local resolution.")
    if density_map is not None and not (local_map.values.shape == density_map.values.shape
                                        and np.allclose(local_map.origin, density_map.origin, atol=1e-3)
                                        and np.allclose(local_map.voxel_size, density_map.voxel_size, rtol=1e-4)):
        notes.append("The local-resolution map's grid is not the density map's; it is read in model coordinates, "
                     f"which is fine where it covers the model ({int(heavy.sum()) - n_off:,} of "
                     f"{int(heavy.sum()):,} atoms inside its box).")
    counts = {r: int((out["reading"] == r).sum()) for r in READINGS}
    local = LocalResolution(source=local_map.path or "(in memory)", threshold=threshold, atom_values=local_res,
                            values=values, atoms=int(heavy.sum()), outside=n_off, missing=n_gap, median=median,
                            chains=_chain_summary(atoms, local_res, out), counts=counts, consistency=consistency,
                            notes=notes)
    return out, local
