"""A built-in example: an ideal poly-alanine helix and a map simulated from it with gemmi.

Used by ``qscore demo`` (the README's first command) and by the tests' fixtures that need inputs without data.
The model is built from internal coordinates (φ −57°, ψ −47°, ideal bond lengths and angles); the
map is gemmi's electron-scattering density at the given resolution, with per-residue B-factors that
rise along the helix so that Q falls from one end to the other.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..io.maps import write_map
from ..types import DensityMap

__all__ = ["helix_coordinates", "build_demo"]


def _place(a, b, c, bond, angle, torsion):
    """Position of atom d with |cd| = bond, angle bcd and torsion abcd (degrees) — the NeRF step."""
    angle, torsion = math.radians(angle), math.radians(torsion)
    bc = (c - b) / np.linalg.norm(c - b)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d2 = np.array([-bond * math.cos(angle), bond * math.sin(angle) * math.cos(torsion),
                   bond * math.sin(angle) * math.sin(torsion)])
    return c + d2[0] * bc + d2[1] * m + d2[2] * n


def helix_coordinates(n_residues: int) -> list:
    """[(residue number, atom name, element, xyz)] of an ideal poly-Ala α-helix."""
    phi, psi, omega = -57.0, -47.0, 180.0
    n = np.array([0.0, 0.0, 0.0])
    ca = np.array([1.458, 0.0, 0.0])
    c = _place(np.array([0.0, 1.0, 0.0]), n, ca, 1.525, 111.2, -60.0)
    atoms = []
    for i in range(n_residues):
        nxt = _place(n, ca, c, 1.329, 116.2, psi)
        o = _place(nxt, ca, c, 1.231, 120.5, 180.0)
        cb = _place(c, n, ca, 1.530, 110.5, -122.6)
        for name, el, xyz in (("N", "N", n), ("CA", "C", ca), ("C", "C", c), ("O", "O", o), ("CB", "C", cb)):
            atoms.append((i + 1, name, el, xyz.copy()))
        n2 = nxt
        ca2 = _place(ca, c, n2, 1.458, 121.7, omega)
        c2 = _place(c, n2, ca2, 1.525, 111.2, phi)
        n, ca, c = n2, ca2, c2
    return atoms


def build_demo(folder, *, n_residues: int = 24, resolution: float = 2.5, seed: int = 0) -> dict:
    """Write ``demo_helix.pdb`` and ``demo_map.mrc`` into ``folder``.

    The map is simulated at ``resolution`` with 0.8 Å voxels (gemmi DensityCalculatorE), B rising
    from 20 to 120 Å² along the helix, plus 2% Gaussian noise (seeded).

    Parameters
    ----------
    folder : str or Path — made if missing
    n_residues : int — helix length
    resolution : float — Å
    seed : int — of the noise

    Returns
    -------
    dict — 'model' and 'map' (paths) and 'resolution'
    """
    import gemmi

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atoms = helix_coordinates(n_residues)
    xyz = np.array([a[3] for a in atoms])
    margin = 8.0
    shift = margin - xyz.min(axis=0)
    size = xyz.max(axis=0) - xyz.min(axis=0) + 2 * margin
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(*size, 90, 90, 90)
    st.spacegroup_hm = "P 1"
    model = gemmi.Model(1)
    chain = gemmi.Chain("A")
    for resnum in range(1, n_residues + 1):
        res = gemmi.Residue()
        res.name = "ALA"
        res.seqid = gemmi.SeqId(resnum, " ")
        res.entity_type = gemmi.EntityType.Polymer
        b = 20.0 + 100.0 * (resnum - 1) / max(n_residues - 1, 1)
        for rn, name, el, p in atoms:
            if rn != resnum:
                continue
            at = gemmi.Atom()
            at.name = name
            at.element = gemmi.Element(el)
            at.pos = gemmi.Position(*(p + shift))
            at.b_iso = b
            at.occ = 1.0
            res.add_atom(at)
        chain.add_residue(res)
    model.add_chain(chain)
    st.add_model(model)
    st.setup_entities()
    dc = gemmi.DensityCalculatorE()
    dc.d_min = resolution
    dc.rate = resolution / (2 * 0.8)  # 0.8 Å voxels
    dc.set_grid_cell_and_spacegroup(st)
    dc.put_model_density_on_grid(st[0])
    values_xyz = np.array(dc.grid, copy=True)
    values = np.ascontiguousarray(values_xyz.transpose(2, 1, 0), dtype=np.float32)
    rng = np.random.default_rng(seed)
    values += rng.normal(0.0, 0.02 * float(values.max()), values.shape).astype(np.float32)
    voxel = np.array([size[0] / values.shape[2], size[1] / values.shape[1], size[2] / values.shape[0]])
    model_path = folder / "demo_helix.pdb"
    map_path = folder / "demo_map.mrc"
    st.write_pdb(str(model_path))
    write_map(map_path, DensityMap(values=values, origin=np.zeros(3), voxel_size=voxel))
    return {"model": str(model_path), "map": str(map_path), "resolution": resolution}
