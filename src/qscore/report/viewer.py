"""The report's 3D view: Mol* with the model coloured by Q, and optionally the map (:func:`viewer_section`).

The viewer is the npm package ``molstar`` (MIT), vendored in ``assets/`` as ``molstar.js.gz`` and
``molstar.css.gz`` with its licence and ``molstar.json`` (version and sha256; rebuilt by
``scripts/vendor_molstar.py``).  The page embeds them, the model file and the per-residue values,
each gzipped and base64-encoded; ``assets/viewer.js`` decompresses them in the browser
(``DecompressionStream``), so the report stays one file that opens offline from ``file://``.

Colour modes: residue Q and atom Q on the report's palette (vermillion at or below the expected
Q_low95, white at Q_peak, blue at 1, as the ``.cxc`` does; 0, 0.5, 1 without a resolution), the
flag (below / within / above the band / outside the map / no density), the chain, and the reading
against local resolution when there is one.  Limits, each said in the page where it applies:

* a model over :data:`MAX_VIEWER_ATOMS` atoms, or whose file would take over :data:`MAX_MODEL_BYTES`
  gzipped, is shown as a coarse trace (CA and P atoms, ligands whole); a trace over :data:`MAX_TRACE_ATOMS`
  atoms holds the chains with the lowest Q up to that many; atom Q is offered up to
  :data:`MAX_ATOM_MODE_ATOMS` atoms;
* ``report_map=True`` embeds the map cropped to the model's box plus :data:`MAP_MARGIN` Å, averaged
  over blocks of k³ voxels until it holds at most :data:`MAX_MAP_VOXELS` voxels.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from ..types import DensityMap
from .common import BLUE, GREY, READING_COLOURS, SKY_BLUE, VERMILLION
from .html_parts import escape

__all__ = ["viewer_section", "viewer_record", "crop_map", "palette_colour", "viewer_palette", "diverging_palette",
           "FLAG_COLOURS", "MAX_VIEWER_ATOMS", "MAX_MODEL_BYTES", "MAX_ATOM_MODE_ATOMS", "MAX_TRACE_ATOMS",
           "MAX_MAP_VOXELS", "MAP_MARGIN"]

MAX_VIEWER_ATOMS = 1_000_000
#: the most the embedded model may take (gzipped); a larger one is shown as a coarse trace
MAX_MODEL_BYTES = 6_000_000
MAX_ATOM_MODE_ATOMS = 200_000
#: the most atoms a coarse trace embeds (about 33 bytes each, gzipped and base64); beyond, the chains with the lowest Q
MAX_TRACE_ATOMS = 100_000
MAX_MAP_VOXELS = 2_000_000
MAP_MARGIN = 5.0
NONE_COLOUR = "#BBBBBB"
FLAG_COLOURS = {"below": VERMILLION, "within": "#E8E8E8", "above": SKY_BLUE, "outside map": GREY,
                "no density": "#666666", "none": NONE_COLOUR}


def viewer_record() -> dict:
    """The vendored viewer's ``molstar.json``: package, version, licence and sha256 of each file."""
    return json.loads(_asset_bytes("molstar.json"))


def _asset_bytes(name: str) -> bytes:
    return resources.files("qscore.report").joinpath("assets", name).read_bytes()


def _packed(data: bytes, limit: int | None = None) -> str | None:
    """``data`` gzipped and in base64; None as soon as it is clear that it would take over ``limit`` characters
    (a model file far too large for the page is not compressed to the end)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as gz:
        for start in range(0, len(data), 1 << 20):
            gz.write(data[start:start + (1 << 20)])
            if limit is not None and 4 * -(-buf.tell() // 3) > limit:  # the base64 of what is compressed so far
                return None
    packed = base64.b64encode(buf.getvalue()).decode("ascii")
    return packed if limit is None or len(packed) <= limit else None


def _block(element_id: str, b64: str) -> str:
    return f'<script type="application/octet-stream" id="{element_id}">{b64}</script>'


def _rounded(values) -> list:
    """Each value rounded to 3 decimals, None where it is not finite."""
    return [round(v, 3) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def _texts(values) -> list:
    return ["" if v is None or v != v else str(v) for v in values.tolist()]  # NaN, None: ''


def _residue_rows(residues) -> list:
    n = len(residues)
    columns = [residues["chain"].astype(str).tolist(), residues["res_num"].astype(np.int64).tolist(),
               _texts(residues["ins_code"]), residues["res_name"].astype(str).tolist(),
               *(_rounded(residues[c]) for c in ("Q_residue", "Q_backbone", "Q_sidechain")),
               _texts(residues["Q_flag"]) if "Q_flag" in residues else [""] * n,
               _texts(residues["reading"]) if "reading" in residues else [""] * n]
    return [list(row) for row in zip(*columns, strict=True)]


def _atom_values(result) -> dict:
    a = result.atoms
    q = np.asarray(result.q, dtype=np.float64)
    keep = np.flatnonzero(~np.asarray(a.is_hydrogen, dtype=bool) & np.isfinite(q))
    keys = zip(*(np.asarray(v)[keep].tolist() for v in (a.chain, a.res_num, a.ins_code, a.name, a.altloc)),
               strict=True)
    return {f"{c}|{int(n)}|{i}|{name}|{alt}": round(v, 3) for (c, n, i, name, alt), v in zip(keys, q[keep].tolist(),
                                                                                            strict=True)}


def viewer_palette(expected) -> dict:
    """The residue- and atom-Q palette of the 3D view: vermillion at or below Q_low95, white at Q_peak, blue at 1
    (0, 0.5, 1 without an expected Q).

    Parameters
    ----------
    expected : ExpectedQ or None
    """
    if expected is None:
        low, peak = 0.0, 0.5
    else:
        low, peak = float(expected.Q_low95), float(expected.Q_peak)
    return {"low": low, "peak": peak, "high": 1.0, "colours": [VERMILLION, "#FFFFFF", BLUE], "none": NONE_COLOUR}


def palette_colour(q, palette: dict) -> str:
    """The colour ``viewer.js`` gives a Q on ``palette`` (its ``paletteColour``), as '#rrggbb'.

    Parameters
    ----------
    q : float or None
    palette : dict — low, peak, high, colours (three '#rrggbb'), none
    """
    if q is None or not np.isfinite(q):
        return palette["none"]
    lo, mid, hi = (np.array([int(c[k:k + 2], 16) for k in (1, 3, 5)], dtype=float) for c in palette["colours"])
    if q <= palette["low"]:
        rgb = lo
    elif q <= palette["peak"]:
        rgb = lo + (mid - lo) * (q - palette["low"]) / (palette["peak"] - palette["low"])
    elif q >= palette["high"]:
        rgb = hi
    else:
        rgb = mid + (hi - mid) * (q - palette["peak"]) / (palette["high"] - palette["peak"])
    return "#" + "".join(f"{int(np.floor(v + 0.5)):02x}" for v in rgb)


def crop_map(dmap: DensityMap, coords, *, margin: float = MAP_MARGIN, max_voxels: int = MAX_MAP_VOXELS) -> tuple:
    """The map cropped to the box of ``coords`` plus ``margin`` Å and block-averaged to at most ``max_voxels``.

    Parameters
    ----------
    dmap : DensityMap
    coords : (n, 3) float — the model's atoms
    margin : float — Å around the model
    max_voxels : int

    Returns
    -------
    (DensityMap, str) — the map to embed and a sentence saying what was cropped and reduced
    """
    c = np.asarray(coords, dtype=np.float64)
    lo = np.floor((c.min(axis=0) - margin - dmap.origin) / dmap.voxel_size).astype(int)
    hi = np.ceil((c.max(axis=0) + margin - dmap.origin) / dmap.voxel_size).astype(int) + 1
    shape = np.array(dmap.shape_xyz)
    lo, hi = np.clip(lo, 0, shape), np.clip(hi, 0, shape)
    sub = dmap.values[lo[2]:hi[2], lo[1]:hi[1], lo[0]:hi[0]]
    k = max(1, math.ceil((sub.size / max_voxels) ** (1 / 3))) if sub.size else 1
    while k > 1 and math.prod(-(-n // k) for n in sub.shape) > max_voxels:
        k += 1
    note = (f"Map cropped to the model's box plus {margin:g} Å: {sub.shape[2]} × {sub.shape[1]} × {sub.shape[0]} "
            f"of {shape[0]} × {shape[1]} × {shape[2]} voxels")
    if k > 1:
        nz, ny, nx = (n // k for n in sub.shape)
        sub = sub[:nz * k, :ny * k, :nx * k].reshape(nz, k, ny, k, nx, k).mean(axis=(1, 3, 5))
        note += (f", then averaged over {k}×{k}×{k} blocks to {nx} × {ny} × {nz} voxels of "
                 f"{', '.join(f'{v:.3g}' for v in dmap.voxel_size * k)} Å (the limit is {max_voxels:,} voxels)")
    out = DensityMap(values=np.ascontiguousarray(sub, dtype=np.float32), origin=dmap.origin + lo * dmap.voxel_size,
                     voxel_size=dmap.voxel_size * k)
    return out, note + "."


def _map_bytes(dmap: DensityMap) -> bytes:
    from ..io.maps import write_map

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.mrc"
        write_map(path, dmap)
        return path.read_bytes()


def _trace_keep(atoms) -> np.ndarray:
    """The atoms of a coarse trace: CA and P atoms of polymers, ligands and ions whole, no water."""
    return np.isin(atoms.name, ("CA", "P")) | ~np.isin(atoms.mol_type, ("protein", "nucleic", "water"))


def _trace_chains(atoms, chains, keep, limit: int):
    """The chains a trace of at most ``limit`` atoms holds, the lowest Q first (None when every chain fits)."""
    if int(keep.sum()) <= limit:
        return None
    ids, counts = np.unique(atoms.chain[keep].astype(str), return_counts=True)
    worst = chains.assign(chain=chains["chain"].astype(str)).groupby("chain")["Q"].min()  # a chain's worst part
    order = sorted(range(len(ids)), key=lambda k: (np.nan_to_num(worst.get(ids[k], np.nan), nan=np.inf), k))
    chosen, total = [], 0
    for k in order:
        if chosen and total + counts[k] > limit:
            break
        chosen.append(str(ids[k]))
        total += int(counts[k])
    return chosen


def _model_text(result, keep=None) -> tuple:
    """(text, Mol* format) of the model to show: the file itself, or the atoms ``keep`` selects (a trace)."""
    from ..io.model_text import read_bytes
    from ..io.writers import atoms_mmcif_text

    a = result.atoms
    if keep is not None:
        return atoms_mmcif_text(a, keep).encode(), "mmcif"
    if result.model.path and Path(result.model.path).is_file():
        return read_bytes(Path(result.model.path)), "mmcif" if result.model.format == "mmcif" else "pdb"
    return atoms_mmcif_text(a, np.ones(len(a), bool)).encode(), "mmcif"


def diverging_palette(span: float) -> dict:
    """A palette for differences: vermillion at −span and below, white at 0, blue at +span and above.

    Parameters
    ----------
    span : float — > 0
    """
    return {"low": -span, "peak": 0.0, "high": span, "colours": [VERMILLION, "#FFFFFF", BLUE], "none": NONE_COLOUR}


def viewer_section(result, analysis, *, report_map: bool = False, extra: list | None = None) -> str:
    """The 3D view's HTML: its container and controls, the colour keys, and the embedded viewer and data.

    Parameters
    ----------
    result : qscore.pipeline.QScoreResult
    analysis : qscore.analysis.results.Analysis
    report_map : bool — also the map as an isosurface (cropped and reduced, see the module docstring)
    extra : list of dict, optional — further colour modes of per-residue values, each {key, label, values:
        [[chain, number, ins, value], …], palette (:func:`diverging_palette`)}; the first is shown first
    """
    a = result.atoms
    n = len(a)
    coarse = n > MAX_VIEWER_ATOMS
    notes = []
    trace = "shown as a coarse trace (CA and P atoms; ligands and ions whole)"
    if coarse:
        notes.append(f"The model has {n:,} atoms, more than the {MAX_VIEWER_ATOMS:,} a responsive view holds: it is "
                     f"{trace}.")
    else:
        model, fmt = _model_text(result)
        packed_model = _packed(model, MAX_MODEL_BYTES)
        if packed_model is None:
            coarse = True
            notes.append(f"The model file would add more than the {MAX_MODEL_BYTES / 1e6:.2g} MB allowed to the "
                         f"report: it is {trace}.")
    residues = analysis.residues
    if coarse:
        keep = _trace_keep(a)
        chains = _trace_chains(a, analysis.chains, keep, MAX_TRACE_ATOMS)
        if chains is not None:
            n_trace, n_chains = int(keep.sum()), len(np.unique(a.chain[keep]))
            keep &= np.isin(a.chain.astype(str), chains)
            residues = residues[residues["chain"].astype(str).isin(chains)]
            notes.append(f"That trace would hold {n_trace:,} atoms, more than the {MAX_TRACE_ATOMS:,} the report "
                         f"embeds: it shows the {len(chains):,} of {n_chains:,} chains with the lowest Q "
                         f"({int(keep.sum()):,} atoms); the chain table covers every chain.")
        model, fmt = _model_text(result, keep)
        packed_model = _packed(model)
    data = {"format": fmt, "coarse": coarse, "residues": _residue_rows(residues),
            "palette": viewer_palette(analysis.expected), "flag_colours": FLAG_COLOURS,
            "reading_colours": READING_COLOURS if analysis.local is not None else None}
    if n <= MAX_ATOM_MODE_ATOMS:
        data["atoms"] = _atom_values(result)
    map_html = map_block = ""
    if report_map:
        cropped, map_note = crop_map(result.dmap, result.atoms.coords)
        notes.append(map_note)
        data["map"] = True
        map_block = _block("qs-viewer-map", _packed(_map_bytes(cropped)))
        map_html = ('<label>Contour <input type="range" class="qs-contour" min="0.5" max="6" step="0.1" value="1.5">'
                    ' <span class="qs-contour-value">1.5 σ</span></label>')
    data["note"] = " ".join(notes)
    if extra:
        data["extra"], data["start_mode"] = extra, f"qscore-{extra[0]['key']}"
    p = data["palette"]
    modes = [("qscore-residue", "Residue Q"), ("qscore-flag", "Flag"), ("chain-id", "Chain")]
    if "atoms" in data:
        modes.insert(1, ("qscore-atom", "Atom Q"))
    if analysis.local is not None:
        modes.append(("qscore-reading", "Reading (local resolution)"))
    modes = [(f"qscore-{x['key']}", x["label"]) for x in extra or []] + modes
    options = "".join(f'<option value="{k}">{escape(v)}</option>' for k, v in modes)
    gradient = (f"linear-gradient(to right, {p['colours'][0]} 0%, {p['colours'][0]} {100 * p['low']:.1f}%, "
                f"{p['colours'][1]} {100 * p['peak']:.1f}%, {p['colours'][2]} 100%)")
    keys = [f'<div class="qs-key" data-mode="qscore-residue"><span class="qs-gradient" style="background:{gradient}">'
            f'</span><span>0</span><span>Q_low95 {p["low"]:.3f} · Q_peak {p["peak"]:.3f} · 1</span></div>',
            f'<div class="qs-key" data-mode="qscore-atom" hidden><span class="qs-gradient" '
            f'style="background:{gradient}"></span><span>atom Q, same palette</span></div>',
            '<div class="qs-key" data-mode="qscore-flag" hidden>' + "".join(
                f'<span class="qs-swatch" style="background:{c}"></span>{escape(k)} ' for k, c in FLAG_COLOURS.items())
            + "</div>", '<div class="qs-key" data-mode="chain-id" hidden>coloured by chain</div>']
    for x in extra or []:
        xp = x["palette"]
        keys.insert(0, f'<div class="qs-key" data-mode="qscore-{escape(x["key"])}"><span class="qs-gradient" style='
                       f'"background:linear-gradient(to right, {xp["colours"][0]}, {xp["colours"][1]}, '
                       f'{xp["colours"][2]})"></span><span>{xp["low"]:+.2f} · 0 · {xp["high"]:+.2f}</span></div>')
    if extra:
        keys = [k.replace('data-mode="qscore-residue">', 'data-mode="qscore-residue" hidden>') for k in keys]
    if analysis.local is not None:
        keys.append('<div class="qs-key" data-mode="qscore-reading" hidden>' + "".join(
            f'<span class="qs-swatch" style="background:{c}"></span>{escape(k)} ' for k, c in READING_COLOURS.items())
                    + "</div>")
    record = viewer_record()
    return (f'<section id="viewer"><h2>3D view</h2><div id="qs-viewer">'
            f'<div class="qs-viewer-bar"><label>Colour by <select class="qs-viewer-mode">{options}</select></label>'
            f'{map_html}{"".join(keys)}</div><div class="qs-viewer-canvas"></div>'
            f'<p class="note qs-viewer-status">The 3D view needs JavaScript.</p></div>'
            f'<p class="note">Hover over a residue for its Q; click a row of the residue or ligand table to focus it. '
            f'Viewer: Mol* {escape(record["version"])} (MIT licence, embedded).</p>'
            + _block("qs-molstar-js", base64.b64encode(_asset_bytes("molstar.js.gz")).decode("ascii"))
            + _block("qs-molstar-css", base64.b64encode(_asset_bytes("molstar.css.gz")).decode("ascii"))
            + _block("qs-viewer-data", _packed(json.dumps(data, separators=(",", ":")).encode()))
            + _block("qs-viewer-model", packed_model) + map_block
            + f'<script>{_asset_bytes("viewer.js").decode("utf-8")}</script></section>')

