"""Build the benchmark's deterministic inputs: the real 7CEC model tiled to ~20k, 100k and 1M atoms,
each with a simulated 3 Å map on 1 Å voxels.

Run ``python benchmarks/make_inputs.py [--sizes 20k,100k,1M]``; files go to ``benchmarks/out/``
(git-ignored) as ``7cec_<size>.cif`` and ``7cec_<size>_3A.mrc``, described in ``inputs.json``.
Files whose recorded recipe is unchanged are kept, so a second run costs nothing.

Tiling
    The whole deposited 7CEC model (17,561 atoms, chains A-J) is copied by pure translation onto a
    rectangular lattice.  The lattice spacing is the smallest, found greedily axis by axis in 1 Å
    steps, for which no atom of any copy comes within ``GAP`` (3.5 Å) of an atom of a
    neighbouring copy, plus ``PHASE`` (a fraction of a voxel, so that the copies do not all sit at
    the same phase of the voxel grid); this packs the copies at about 0.4 of their bounding-box
    volume, so the 1M map stays near 490³ voxels instead of ~600³.  The lattice is the most cubic
    with room for the copies (1M: 4×4×4, 57 filled).  Copy 0 is the model as deposited; copy k ≥ 1
    has every chain and subchain name suffixed with k ("A" → "A12"), so every atom id stays
    unique.  The number of copies is ``round(size / 17,561)`` (1, 6 and 57: 17,561, 105,366 and
    1,000,977 atoms).  The model is written as mmCIF by gemmi (PDB cannot hold 1M atoms).

Map
    A sum of one isotropic Gaussian per atom, weighted by the atomic number, of width
    ``σ = 0.225 × resolution`` (Chimera's ``molmap`` convention, σ = 0.675 Å at 3 Å), truncated
    at 4σ and splatted separably by a numba kernel: ~1 s for 1M atoms.  gemmi's
    ``DensityCalculator`` would need structure factors and a unit cell the size of the whole
    tiling, much slower and several copies of the grid in memory for the same purpose.  Seeded
    Gaussian noise of standard deviation ``NOISE`` × the map's maximum is added.  The box covers
    every atom with a 5 Å margin, its origin on the 1 Å lattice.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

import gemmi
import numpy as np
from numba import njit
from scipy.spatial import cKDTree

from qscore.io.maps import write_map
from qscore.types import DensityMap

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
SOURCE = BENCH_DIR.parent.parent / "shared" / "data" / "emd30342_7cec" / "390_7cec_full.cif"

SIZES = {"20k": 20_000, "100k": 100_000, "1M": 1_000_000}
RESOLUTION = 3.0  # Å
VOXEL = 1.0  # Å
SIGMA_FACTOR = 0.225  # Gaussian σ per Å of resolution (Chimera molmap: 1 / (π √2))
TRUNCATE = 4.0  # Gaussians cut at this many σ
PAD = 5.0  # map margin around the atoms, Å
NOISE = 0.02  # noise standard deviation, as a fraction of the noiseless map's maximum
SEED = 20342
GAP = 3.5  # minimum distance between atoms of neighbouring copies, Å
PHASE = np.array([0.382, 0.618, 0.236])  # Å added to the whole-Å lattice spacing (see lattice_spacing)

#: Bump when the recipe changes: inputs made with another version are rebuilt.
RECIPE_VERSION = 3


def parse_size(label: str) -> int:
    """Number of atoms asked for by a size label such as ``20k``, ``1M`` or ``50000``.

    Parameters
    ----------
    label : str
        A whole number, optionally followed by ``k`` (×1,000) or ``M`` (×1,000,000).

    Returns
    -------
    int
        The number of atoms.
    """
    text = label.strip()
    scale = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    number = float(text[:-1] if scale > 1 else text)
    if number <= 0:
        raise ValueError(f"size {label!r} must be positive")
    return int(round(number * scale))


def model_coords(st: gemmi.Structure) -> tuple[np.ndarray, np.ndarray]:
    """Positions and atomic numbers of every atom of the first model.

    Parameters
    ----------
    st : gemmi.Structure

    Returns
    -------
    coords : ndarray, shape (n, 3), float64
        Positions in Å, in file order.
    z : ndarray, shape (n,), float64
        Atomic number of each atom.
    """
    atoms = [a for ch in st[0] for res in ch for a in res]
    coords = np.array([(a.pos.x, a.pos.y, a.pos.z) for a in atoms], dtype=np.float64)
    z = np.array([a.element.atomic_number for a in atoms], dtype=np.float64)
    return coords, z


def _copies_clash(tree: cKDTree, coords: np.ndarray, spacing: np.ndarray, gap: float) -> bool:
    """Whether a copy translated by any of the 13 half-lattice vectors comes within ``gap`` Å."""
    for shift in itertools.product((-1, 0, 1), repeat=3):
        if shift <= (0, 0, 0):  # the other 13 are their opposites
            continue
        dist, _ = tree.query(coords + np.array(shift) * spacing, k=1, distance_upper_bound=gap)
        if np.isfinite(dist).any():
            return True
    return False


def lattice_spacing(coords: np.ndarray, gap: float = GAP, step: float = 1.0) -> np.ndarray:
    """Smallest translation lattice (greedily, axis by axis) whose copies keep ``gap`` Å apart.

    Parameters
    ----------
    coords : ndarray, shape (n, 3)
        The model's atom positions, Å.
    gap : float
        Minimum distance between atoms of different copies, Å.
    step : float
        Amount by which a spacing is shrunk per trial, Å.

    Returns
    -------
    ndarray, shape (3,)
        Lattice spacing along x, y, z, Å: whole multiples of ``step`` plus ``PHASE``, so that
        the copies do not all sit at the same phase of the 1 Å voxel grid (with whole-Å shifts
        every copy would sample the map at the same fractional voxel positions).
    """
    tree = cKDTree(coords)
    spacing = np.ceil((np.ptp(coords, axis=0) + gap) / step) * step
    shrunk = True
    while shrunk:
        shrunk = False
        for axis in np.argsort(-spacing, kind="stable"):  # the longest axis first
            trial = spacing.copy()
            trial[axis] -= step
            if trial[axis] > 0 and not _copies_clash(tree, coords, trial, gap):
                spacing = trial
                shrunk = True
    return spacing + PHASE


def lattice_shape(copies: int, spacing: np.ndarray, extent: np.ndarray) -> tuple[int, int, int]:
    """The (nx, ny, nz) lattice with room for ``copies`` whose bounding box has the shortest
    longest side (then the smallest volume): a near-cubic block, as maps usually are.

    Parameters
    ----------
    copies : int
    spacing : ndarray, shape (3,)
        Lattice spacing, Å.
    extent : ndarray, shape (3,)
        Size of one copy's bounding box, Å.

    Returns
    -------
    tuple of int
    """
    best = None
    for shape in itertools.product(range(1, copies + 1), repeat=3):
        if not copies <= math.prod(shape) < 2 * copies:
            continue
        box = (np.array(shape) - 1) * spacing + extent
        key = (float(box.max()), float(np.prod(box)), shape)
        if best is None or key < best:
            best = key
    return best[2]


def tile_structure(st: gemmi.Structure, copies: int, spacing: np.ndarray) -> gemmi.Structure:
    """``copies`` translated copies of the first model of ``st``, as one new structure.

    Copies fill the lattice x fastest, then y, then z.  Copy 0 keeps the names of ``st``; copy
    k ≥ 1 has its chain and subchain names suffixed with ``k``.  Secondary structure and
    connections, which would describe copy 0 only, are dropped.

    Parameters
    ----------
    st : gemmi.Structure
    copies : int
    spacing : ndarray, shape (3,)
        Lattice spacing, Å.

    Returns
    -------
    gemmi.Structure
    """
    source = st[0].clone()
    shape = lattice_shape(copies, spacing, np.ptp(model_coords(st)[0], axis=0))
    out = st.clone()
    out.connections.clear()
    out.helices.clear()
    out.sheets.clear()
    while len(out):
        del out[len(out) - 1]
    model = out.add_model(gemmi.Model(source.num))
    for entity in out.entities:
        entity.subchains = [f"{name}{k or ''}" for k in range(copies) for name in entity.subchains]
    for k in range(copies):
        ix, iy, iz = k % shape[0], (k // shape[0]) % shape[1], k // (shape[0] * shape[1])
        copy = source.clone()
        shift = gemmi.Vec3(*(np.array([ix, iy, iz]) * spacing).tolist())
        copy.transform_pos_and_adp(gemmi.Transform(gemmi.Mat33(), shift))
        suffix = str(k) if k else ""
        for chain in copy:
            chain.name += suffix
            for res in chain:
                res.subchain += suffix
            model.add_chain(chain)
    out.assign_serial_numbers()
    return out


@njit(cache=True)
def _splat_gaussians(values, origin, voxel, coords, weights, sigma, radius):
    """Add ``w exp(-r²/2σ²) / (2πσ²)^{3/2}`` for each atom, within ``radius`` Å per axis, to values."""
    nz, ny, nx = values.shape
    norm = 1.0 / (2.0 * math.pi * sigma * sigma) ** 1.5
    half = int(math.ceil(radius / min(voxel[0], voxel[1], voxel[2]))) + 1
    wx = np.empty(2 * half + 1)
    wy = np.empty(2 * half + 1)
    wz = np.empty(2 * half + 1)
    inv = -0.5 / (sigma * sigma)
    lo = np.empty(3, dtype=np.int64)
    hi = np.empty(3, dtype=np.int64)
    dims = (nx, ny, nz)
    for a in range(coords.shape[0]):
        for d in range(3):
            g = (coords[a, d] - origin[d]) / voxel[d]
            lo[d] = max(int(math.ceil(g - radius / voxel[d])), 0)
            hi[d] = min(int(math.floor(g + radius / voxel[d])), dims[d] - 1)
        for i in range(lo[0], hi[0] + 1):
            dx = origin[0] + i * voxel[0] - coords[a, 0]
            wx[i - lo[0]] = math.exp(inv * dx * dx)
        for j in range(lo[1], hi[1] + 1):
            dy = origin[1] + j * voxel[1] - coords[a, 1]
            wy[j - lo[1]] = math.exp(inv * dy * dy)
        for k in range(lo[2], hi[2] + 1):
            dz = origin[2] + k * voxel[2] - coords[a, 2]
            wz[k - lo[2]] = math.exp(inv * dz * dz)
        w = weights[a] * norm
        for k in range(lo[2], hi[2] + 1):
            for j in range(lo[1], hi[1] + 1):
                wkj = w * wz[k - lo[2]] * wy[j - lo[1]]
                for i in range(lo[0], hi[0] + 1):
                    values[k, j, i] += wkj * wx[i - lo[0]]


def simulate_map(coords: np.ndarray, weights: np.ndarray, *, resolution: float = RESOLUTION,
                 voxel: float = VOXEL, pad: float = PAD, noise: float = NOISE,
                 seed: int = SEED) -> DensityMap:
    """A map of Gaussian atoms with seeded noise, on a box that covers every atom.

    Parameters
    ----------
    coords : ndarray, shape (n, 3)
        Atom positions, Å.
    weights : ndarray, shape (n,)
        Weight (integral) of each atom's Gaussian: its atomic number.
    resolution : float
        Resolution in Å; the Gaussians have σ = ``SIGMA_FACTOR`` × resolution.
    voxel : float
        Voxel size, Å (cubic voxels).
    pad : float
        Margin between the atoms and the box faces, Å.
    noise : float
        Standard deviation of the added Gaussian noise, as a fraction of the noiseless maximum.
    seed : int
        Seed of the noise generator.

    Returns
    -------
    qscore.io.maps.DensityMap
    """
    sigma = SIGMA_FACTOR * resolution
    origin = np.floor((coords.min(axis=0) - pad) / voxel) * voxel
    nx, ny, nz = (np.ceil((coords.max(axis=0) + pad - origin) / voxel).astype(int) + 1).tolist()
    values = np.zeros((nz, ny, nx), dtype=np.float32)
    _splat_gaussians(values, origin, np.full(3, voxel), np.ascontiguousarray(coords),
                     np.ascontiguousarray(weights, dtype=np.float64), sigma, TRUNCATE * sigma)
    scale = np.float32(noise * float(values.max()))
    rng = np.random.default_rng(seed)
    for k in range(nz):  # slab by slab: no second full-size array
        values[k] += scale * rng.standard_normal((ny, nx), dtype=np.float32)
    return DensityMap(values=values, origin=origin, voxel_size=np.full(3, voxel))


def recipe(label: str, copies: int) -> dict:
    """Everything that decides the files of one size (stored in ``inputs.json``)."""
    return {"version": RECIPE_VERSION, "label": label, "copies": copies, "source": SOURCE.name,
            "resolution": RESOLUTION, "voxel": VOXEL, "sigma_factor": SIGMA_FACTOR,
            "truncate": TRUNCATE, "pad": PAD, "noise": NOISE, "seed": SEED, "gap": GAP,
            "phase": PHASE.tolist()}


def make_inputs(labels, out_dir: Path = OUT_DIR, *, force: bool = False, log=print) -> dict:
    """Make (or reuse) the model and map of each size.

    Parameters
    ----------
    labels : iterable of str
        Size labels (see :func:`parse_size`).
    out_dir : Path
        Where the files and ``inputs.json`` go.
    force : bool
        Rebuild even when files with the same recipe exist.
    log : callable
        Receives progress messages.

    Returns
    -------
    dict
        For each label: ``model`` and ``map`` paths, ``atoms``, ``copies``, ``lattice``,
        ``spacing``, ``map_grid`` (nx, ny, nz), ``map_mb`` and the recipe.
    """
    if not SOURCE.exists():
        raise SystemExit(f"{SOURCE} is missing: the benchmark needs the shared 7CEC data "
                         "(see ../shared/data/README.md).")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "inputs.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    st = gemmi.read_structure(str(SOURCE))
    st.setup_entities()
    coords, z = model_coords(st)
    spacing = None
    result = {}
    for label in labels:
        copies = max(1, round(parse_size(label) / len(coords)))
        entry = manifest.get(label, {})
        paths = (out_dir / f"7cec_{label}.cif", out_dir / f"7cec_{label}_3A.mrc")
        if not force and entry.get("recipe") == recipe(label, copies) and all(p.exists() for p in paths):
            result[label] = entry
            continue
        t0 = time.perf_counter()
        if spacing is None:
            spacing = lattice_spacing(coords)
        tiled = tile_structure(st, copies, spacing)
        tiled.make_mmcif_document().write_file(str(paths[0]))
        t_coords, t_z = model_coords(tiled)
        dmap = simulate_map(t_coords, t_z)
        write_map(paths[1], dmap)
        entry = {"model": str(paths[0]), "map": str(paths[1]), "atoms": len(t_coords), "copies": copies,
                 "lattice": list(lattice_shape(copies, spacing, np.ptp(coords, axis=0))), "spacing": spacing.tolist(),
                 "map_grid": list(dmap.shape_xyz), "map_mb": round(dmap.values.nbytes / 2**20, 1),
                 "recipe": recipe(label, copies)}
        log(f"{label}: {entry['atoms']:,} atoms ({copies} copies on a {entry['lattice']} lattice), "
            f"map {entry['map_grid']} = {entry['map_mb']} MB, made in {time.perf_counter() - t0:.1f} s")
        manifest[label] = result[label] = entry
        manifest_path.write_text(json.dumps(manifest, indent=1))
    return result


def main(argv=None) -> int:
    """Command line: ``make_inputs.py [--sizes 20k,100k,1M] [--out DIR] [--force]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated size labels")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    parser.add_argument("--force", action="store_true", help="rebuild existing inputs")
    args = parser.parse_args(argv)
    made = make_inputs(args.sizes.split(","), args.out, force=args.force)
    for label, entry in made.items():
        print(f"{label}: {entry['model']}  {entry['map']}  ({entry['atoms']:,} atoms, "
              f"map {entry['map_grid']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
