"""The data types every layer shares: maps, models, Q-score parameters, expected-Q curves, archives.

Plain containers of numpy arrays with a few methods that need nothing but numpy: :mod:`qscore.io`
fills them from files, :mod:`qscore.core` and :mod:`qscore.analysis` compute on them, and no module
here reads or writes a file.  Conventions: lengths in Å, coordinates ``(n, 3)`` float64 in x, y, z
order, map values ``(nz, ny, nx)`` float32 with an explicit origin and voxel size (x, y, z).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .errors import MapError, ParameterError

#: molecule types of a residue, in the order tables list them
MOLECULE_TYPES = ("protein", "nucleic", "water", "ion", "ligand")
#: the coarsest resolution (Å) any map is taken to have
RESOLUTION_MAX = 50.0


@dataclass(frozen=True)
class MapStats:
    """Whole-map statistics and the reference-Gaussian bounds of docs/science.md §2.7.

    ``max_d = min(mean + 10 sd, max)``, ``min_d = max(mean - sd, min)``; the reference Gaussian is
    ``(max_d - min_d) exp(-R²/2σ²) + min_d``.  Q does not depend on them (Pearson correlation).
    """

    mean: float
    sd: float
    min: float
    max: float

    @property
    def max_d(self) -> float:
        return float(min(self.mean + 10.0 * self.sd, self.max))

    @property
    def min_d(self) -> float:
        return float(max(self.mean - self.sd, self.min))

    def as_dict(self) -> dict:
        return {"mean": self.mean, "sd": self.sd, "min": self.min, "max": self.max,
                "min_d": self.min_d, "max_d": self.max_d}


@dataclass
class DensityMap:
    """A density map on an orthogonal grid.

    Attributes
    ----------
    values : ndarray, shape (nz, ny, nx), float32
        Map values, C-ordered, z slowest.
    origin : ndarray, shape (3,), float64
        Position in Å (x, y, z) of the grid point ``values[0, 0, 0]``.
    voxel_size : ndarray, shape (3,), float64
        Grid spacing in Å along x, y, z.
    path : str
        Where the map was read from ('' for maps built in memory).
    axis_order : tuple of int
        MAPC, MAPR, MAPS as found in the file (1 = x, 2 = y, 3 = z).
    """

    values: np.ndarray
    origin: np.ndarray
    voxel_size: np.ndarray
    path: str = ""
    axis_order: tuple = (1, 2, 3)
    notes: list = field(default_factory=list)
    _stats: MapStats | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        self.origin = np.asarray(self.origin, dtype=np.float64).reshape(3)
        self.voxel_size = np.asarray(self.voxel_size, dtype=np.float64).reshape(3)
        if self.values.ndim != 3:
            raise MapError(f"Map {self.path or '(in memory)'}: values must be 3-D (nz, ny, nx), "
                           f"got shape {self.values.shape}.")
        if not np.all(self.voxel_size > 0):
            raise MapError(f"Map {self.path or '(in memory)'}: voxel size must be positive, "
                           f"got {self.voxel_size.tolist()}.")

    @property
    def shape_xyz(self) -> tuple:
        """Grid size as (nx, ny, nz)."""
        nz, ny, nx = self.values.shape
        return (nx, ny, nz)

    @property
    def extent(self) -> np.ndarray:
        """(2, 3) array: lowest and highest grid-point positions in Å (x, y, z)."""
        top = self.origin + (np.array(self.shape_xyz) - 1) * self.voxel_size
        return np.vstack([self.origin, top])

    def stats(self) -> MapStats:
        """Mean, standard deviation (population), minimum and maximum over the whole map.

        Computed once, in float64, slab by slab (no full-size temporary), in a fixed order (the same
        bits whatever the thread count), then cached.
        """
        if self._stats is None:
            v = self.values
            mean = float(np.sum(v, dtype=np.float64)) / v.size
            step = max(1, (1 << 20) // max(1, v.shape[1] * v.shape[2]))
            ss = 0.0
            for k in range(0, v.shape[0], step):
                d = v[k:k + step].astype(np.float64) - mean
                np.square(d, out=d)
                ss += float(d.sum())  # numpy's pairwise sum: the same bits on every machine (BLAS's dot is not)
            self._stats = MapStats(mean=mean, sd=float(np.sqrt(ss / v.size)), min=float(v.min()),
                                   max=float(v.max()))
        return self._stats

    def contains(self, coords: np.ndarray) -> np.ndarray:
        """Whether each point of ``coords`` (n, 3) lies inside the grid box (bool array, shape (n,))."""
        lo, hi = self.extent
        c = np.asarray(coords, dtype=np.float64)
        return np.all((c >= lo) & (c <= hi), axis=1)

    def describe(self) -> dict:
        nx, ny, nz = self.shape_xyz
        return {"path": self.path, "grid": [nx, ny, nz], "voxel_size": self.voxel_size.tolist(),
                "origin": self.origin.tolist(), "axis_order": list(self.axis_order)}



@dataclass
class Atoms:
    """The atoms of one model as parallel arrays (length n).

    Attributes
    ----------
    coords : (n, 3) float64, Å
    element : (n,) str — upper-case element symbol ('C', 'FE', …)
    name : (n,) str — atom name ('CA', "O5'", …)
    altloc : (n,) str — alternate location ('' when none)
    res_name, chain : (n,) str — residue name and author chain id
    res_num : (n,) int64 — author residue number
    ins_code : (n,) str — insertion code ('' when none)
    residue : (n,) int64 — index of the atom's residue (0 .. n_residues-1, order of appearance)
    mol_type : (n,) str — 'protein', 'nucleic', 'water', 'ion' or 'ligand'
    is_hydrogen : (n,) bool
    row : (n,) int64 — the atom's row in the file's ``_atom_site`` table
    b_iso : (n,) float64 — B-factors as read
    occupancy : (n,) float64 or None — occupancies as read (1 where the file gives none); None when not read
    """

    coords: np.ndarray
    element: np.ndarray
    name: np.ndarray
    altloc: np.ndarray
    res_name: np.ndarray
    chain: np.ndarray
    res_num: np.ndarray
    ins_code: np.ndarray
    residue: np.ndarray
    mol_type: np.ndarray
    is_hydrogen: np.ndarray
    row: np.ndarray
    b_iso: np.ndarray
    occupancy: np.ndarray | None = None
    _codes: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.coords)

    def codes(self, name: str) -> tuple:
        """The string column ``name`` as codes into its distinct values: ((n,) int32 codes, (k,) str distinct
        values, sorted).  Worked out once per column (the reader hands them over, :meth:`set_codes`); the arrays
        are taken as fixed once made (replacing a column is noticed, changing one in place is not)."""
        values = getattr(self, name)
        known = self._codes.get(name)
        if known is None or known[0] is not values:
            codes, distinct = pd.factorize(np.asarray(values, dtype=str))
            self.set_codes(name, codes, np.asarray(distinct, dtype=str))
        return self._codes[name][1:]

    def set_codes(self, name: str, codes: np.ndarray, distinct: np.ndarray) -> None:
        """Record the codes of the string column ``name``: ``distinct[codes]`` equals the column.

        Parameters
        ----------
        name : str — a string column ('chain', 'res_name', …)
        codes : (n,) int — into ``distinct``
        distinct : (k,) str
        """
        distinct = np.asarray(distinct, dtype=str)
        order = np.argsort(distinct, kind="stable")
        rank = np.empty(len(order), dtype=np.int32 if len(order) < 2**31 else np.int64)  # 4 bytes an atom
        rank[order] = np.arange(len(order))
        self._codes[name] = (getattr(self, name), rank[np.asarray(codes, dtype=np.int64)], distinct[order])

    def table(self, rows=None) -> pd.DataFrame:
        """The atoms as a DataFrame (one row per atom, file order); only the atoms ``rows`` (indices or a mask) when
        given, indexed from 0."""
        def pick(values):
            return values if rows is None else values[rows]

        def text(name):  # a categorical column, made from the column's codes
            codes, distinct = self.codes(name)
            column = pd.Categorical.from_codes(pick(codes), distinct)
            return column if rows is None else column.remove_unused_categories()

        coords = pick(self.coords)
        return pd.DataFrame({
            "chain": text("chain"), "res_num": pick(self.res_num), "ins_code": text("ins_code"),
            "res_name": text("res_name"), "atom_name": text("name"), "altloc": text("altloc"),
            "element": text("element"), "mol_type": text("mol_type"),
            "x": coords[:, 0], "y": coords[:, 1], "z": coords[:, 2],
            "b_iso": pick(self.b_iso), "is_hydrogen": pick(self.is_hydrogen),
        })


@dataclass
class Model:
    """A model file as read: its atoms (first model) and what is needed to write it back.

    The gemmi handles (``doc``, ``gemmi_structure``, ``loop``) are opaque here; only
    :mod:`qscore.io.models` and :mod:`qscore.io.writers` use them
    (:func:`qscore.io.models.model_document`, :func:`qscore.io.models.model_structure`).
    """

    path: str
    format: str  # 'mmcif' or 'pdb'
    atoms: Atoms
    doc: object = None  # gemmi.cif.Document for mmCIF input read by gemmi
    gemmi_structure: object = None  # gemmi.Structure for PDB input
    loop: object = None  # for mmCIF read by the fast reader: where its _atom_site loop lies


#: the most shells a Q-score may sample (max_radius / shell_step): work grows with them
MAX_SHELLS = 200


@dataclass(frozen=True)
class QParams:
    """Parameters of the Q-score (docs/science.md §2); the defaults are MapQ's, with the EMDB's sigma 0.4 Å.

    sigma : width of the reference Gaussian, Å (0.4 as the EMDB reports; 0.6 in the 2020 paper)
    num_points : points required on each shell (MapQ: 8)
    shell_step : distance between shells, Å (MapQ: 0.1)
    max_radius : radius of the outermost shell, Å (MapQ: 2.0)
    tries : spirals tried per shell, of num_points + 2 i points (MapQ: 50)
    """

    sigma: float = 0.4
    num_points: int = 8
    shell_step: float = 0.1
    max_radius: float = 2.0
    tries: int = 50

    def __post_init__(self):
        checks = (
            ("sigma", 0 < self.sigma <= 5, f"sigma={self.sigma} Å is outside (0, 5] Å; use 0.4 (EMDB) or 0.6 (MapQ)."),
            ("num_points", 2 <= self.num_points <= 1000,
             f"num_points={self.num_points} must be between 2 and 1000 (MapQ: 8)."),
            ("max_radius", 0 < self.max_radius <= 10,  # before shell_step, which is judged against it
             f"max_radius={self.max_radius} Å is outside (0, 10] Å; MapQ uses 2.0."),
            ("shell_step", 0 < self.shell_step <= self.max_radius
             and self.max_radius / self.shell_step <= MAX_SHELLS,
             f"shell_step={self.shell_step} Å must be > 0, ≤ max_radius ({self.max_radius} Å) and give at most "
             f"{MAX_SHELLS} shells (≥ {self.max_radius / MAX_SHELLS:g} Å); MapQ uses 0.1."),
            ("tries", 1 <= self.tries <= 500, f"tries={self.tries} must be between 1 and 500 (MapQ: 50)."),
        )
        for name, ok, message in checks:
            if not ok:
                raise ParameterError(message, parameter=name)

    def radii(self) -> np.ndarray:
        """Shell radii as MapQ makes them: ``numpy.arange(step, max + 0.01, step)``."""
        return np.arange(self.shell_step, self.max_radius + 0.01, self.shell_step, dtype=np.float64)

    def as_dict(self) -> dict:
        """The parameters as a plain dict (for JSON)."""
        return asdict(self)


def check_resolution(d, parameter: str = "resolution") -> None:
    """Raise ParameterError unless every resolution is in (0, 50] Å.

    Parameters
    ----------
    d : float or array of float — resolution(s), Å
    parameter : str — the name the caller gave the value under (named in the message)
    """
    arr = np.asarray(d, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > RESOLUTION_MAX):
        raise ParameterError(f"{parameter}={d} Å is outside (0, {RESOLUTION_MAX:g}] Å; give the "
                             "map's reported resolution in Å (e.g. 3.2).", parameter=parameter)


@dataclass(frozen=True)
class ExpectedModel:
    """Expected-Q curve: ``coefficients`` highest power first (numpy.polyval order), in Å⁻ᵏ.

    peak, low, high : offsets of Q_peak, Q_low95, Q_high95 from the curve (low is negative)
    sigma : the reference-Gaussian width the curve was fitted for, Å
    source : where the curve comes from (shown in reports)
    d_range : (d_min, d_max) — the resolutions, Å, of the entries the curve was fitted on; expected
        values, bands, flags and Q-resolutions are given only inside it (None: not recorded, unrestricted)
    """

    coefficients: tuple
    peak: float
    low: float
    high: float
    sigma: float
    source: str = ""
    d_range: tuple | None = None

    def covers(self, d) -> bool:
        """Whether resolution ``d`` (Å) lies inside the range the curve was fitted on."""
        if self.d_range is None:
            return True
        return bool(self.d_range[0] - 1e-9 <= float(d) <= self.d_range[1] + 1e-9)

    def range_note(self, d) -> str | None:
        """Why there is no expected Q at ``d`` (outside the fitted range), or None."""
        if self.covers(d):
            return None
        lo, hi = self.d_range
        return (f"{d:g} Å is outside the resolutions the expected-Q curve was fitted on ({lo:g}–{hi:g} Å, "
                f"{self.source}): no expected Q, band or flags at this resolution")

    def q_mean(self, d):
        """Q_mean of the curve at resolution(s) d, Å (no range check)."""
        return np.polyval(np.asarray(self.coefficients, dtype=float), np.asarray(d, dtype=float))

    def evaluate(self, d) -> dict:
        """{'Q_mean', 'Q_peak', 'Q_low95', 'Q_high95'} at resolution(s) d Å."""
        check_resolution(d)
        m = self.q_mean(d)
        return {"Q_mean": m, "Q_peak": m + self.peak, "Q_low95": m + self.low, "Q_high95": m + self.high}


@dataclass(frozen=True)
class ArchiveData:
    """Validated (resolution, Q) pairs of an archive.

    Attributes
    ----------
    resolution : (n,) float64 — resolution of each entry, Å, in (0, 50]
    q : (n,) float64 — Q-score of each entry, in [−1, 1]
    source : str — file (or description) the pairs come from
    resolution_column, q_column : str — the columns used
    rows : int — data rows read (before anything was dropped)
    dropped_missing : int — rows dropped because the resolution or Q was empty or NaN
    missing_rows : tuple of int — the first of those, as data-row numbers counted from 1
    dropped_out_of_range : int — rows dropped for a resolution outside (0, 50] Å (only when asked)
    out_of_range_rows : tuple of int — the first of those, data-row numbers from 1
    dropped_invalid : int — rows dropped for a value that is not a number or a Q outside [−1, 1]
        (only when asked)
    invalid_rows : tuple of int — the first of those, data-row numbers from 1
    """

    resolution: np.ndarray
    q: np.ndarray
    source: str
    resolution_column: str
    q_column: str
    rows: int
    dropped_missing: int = 0
    missing_rows: tuple = ()
    dropped_out_of_range: int = 0
    out_of_range_rows: tuple = ()
    dropped_invalid: int = 0
    invalid_rows: tuple = ()

    def __len__(self) -> int:
        return len(self.q)

    @property
    def dropped(self) -> int:
        """Rows left out for any reason."""
        return self.dropped_missing + self.dropped_out_of_range + self.dropped_invalid

    def summary(self) -> dict:
        """Where the pairs come from and what was left out, as plain values."""
        return {"source": self.source, "resolution_column": self.resolution_column,
                "q_column": self.q_column, "rows": self.rows, "entries": len(self),
                "dropped_missing": self.dropped_missing, "missing_rows": list(self.missing_rows),
                "dropped_out_of_range": self.dropped_out_of_range,
                "out_of_range_rows": list(self.out_of_range_rows),
                "dropped_invalid": self.dropped_invalid, "invalid_rows": list(self.invalid_rows)}


@dataclass(frozen=True)
class PublishedQ:
    """Per-residue Q-scores as a validation report published them (read by :func:`qscore.io.published.read_published`).

    Attributes
    ----------
    residues : DataFrame — chain, res_num, ins_code, res_name, Q_published, decimals (how many decimals the
        file gave the value with)
    source : str — the file
    kind : str — 'wwPDB validation XML' or 'EMDB validation JSON'
    model_name : str or None — the model the values belong to, where the file names one
    entry : str or None — the entry the file is for, where it says (PDB or EMDB id)
    """

    residues: pd.DataFrame
    source: str
    kind: str
    model_name: str | None = None
    entry: str | None = None


def sorted_codes(keys) -> tuple:
    """``np.unique(keys, return_inverse=True)`` by hashing (``pd.factorize``), then one sort of the distinct keys:
    for many values with few distinct ones (a million atoms' packed names or elements) far quicker than sorting
    them all.

    Parameters
    ----------
    keys : (n,) array — integers, say

    Returns
    -------
    ((n,) int64, (k,) array) — each key's index into the distinct keys, and those, sorted
    """
    codes, distinct = pd.factorize(np.asarray(keys))
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], distinct[order]


def combined_codes(*codes) -> np.ndarray:
    """One code per distinct combination of several columns' codes, numbered by first appearance (renumbered after
    each column, so that the combined integers never overflow).

    Parameters
    ----------
    *codes : (n,) int arrays — e.g. the chain, residue number and insertion code of each atom

    Returns
    -------
    (n,) int64
    """
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        c = np.asarray(c, dtype=np.int64)
        key = pd.factorize(key * (int(c.max(initial=0)) + 1) + c)[0].astype(np.int64)
    return key


__all__ = ["MOLECULE_TYPES", "RESOLUTION_MAX", "MapStats", "DensityMap", "Atoms", "Model", "QParams",
           "check_resolution", "ExpectedModel", "ArchiveData", "PublishedQ", "sorted_codes", "combined_codes"]
