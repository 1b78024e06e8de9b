"""ChimeraX files that colour a model by Q-score: an attribute-assignment file and a command script.

``<stem>.defattr`` follows ChimeraX's attribute-assignment format (documented at
https://www.cgl.ucsf.edu/chimerax/docs/user/formats/defattr.html and read by ChimeraX's ``open``)::

    attribute: qscore
    match mode: 1-to-1
    recipient: atoms
    <tab>/A:26@CD2<tab>0.5120

one line per atom, UTF-8.  ``match mode: 1-to-1`` makes ChimeraX check that every line names exactly
one atom.  Atom specifications are written in ChimeraX's own grammar:

- ``/chain:number[insertion code]@name``; residue numbers may be negative (``/A:-3@CA``).
- Wildcard characters of atom names and chain IDs are escaped as one-character classes (an old
  ``O5*`` is written ``O5[*]``), since ChimeraX matches names with ``fnmatch``.
- Names the grammar cannot spell (non-ASCII chain IDs, atom names with ``+`` …) are matched by
  attribute tests instead: ``:26::chain_id="é"@@name="N+"``.  A blank chain ID is left out.

Alternate locations.  ChimeraX holds the alternate locations of an atom as *one* atom with several
positions, of which one is used at a time, so an attribute is per atom, not per location; writing a
line per location would assign twice (and the second value would win).  Each atom therefore gets
the Q of the location ChimeraX uses when it opens the file: ChimeraX picks, for each set of atoms
with alternate locations, the location with the highest mean occupancy, then the lowest mean B,
then the first ID alphabetically; here the same rule is applied per residue.  The Q of every
location stays in the per-atom CSV.

Hydrogens are not scored; those that took the Q of their heavy atom carry it here too, so that the
whole model is coloured; a hydrogen without a heavy atom within 1.3 Å has no value and is left out.

``<stem>.cxc`` is a ChimeraX command script: it starts a new session, opens the model (first model
only) and the map if there is one, reads the attribute file and colours atoms and cartoon with
``color byattribute a:qscore`` on a palette anchored at the expected Q_low95, Q_peak and 1 for the
map's resolution (vermillion, white, blue: the Okabe–Ito colours, safe for colour-blind readers).
Paths in the script are relative to its folder, ``../`` included (ChimeraX runs a script from its own
folder), so the folder can be moved together with the model and map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OutputError
from ..types import combined_codes
from . import numtext
from .files import atomic_path, write_text
from .models import model_structure
from .numtext import fixed_cells, join_rows, repeated, text_cells

ATTRIBUTE = "qscore"
#: palette colours below, at and above the expected Q: Okabe–Ito vermillion, white, blue
PALETTE_COLOURS = ("#D55E00", "white", "#0072B2")
NO_VALUE_COLOUR = "#999999"
#: residues without a reading against local resolution (lighter than any reading's colour)
NO_READING_COLOUR = "#E5E5E5"


def _spell(text: str) -> str | None:
    """``text`` (chain ID or atom name) as literal ChimeraX spec characters; None when it cannot be spelt."""
    out = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "_'"):
            out.append(ch)
        elif ch in "*?[":
            out.append(f"[{ch}]")  # fnmatch one-character class: the character itself
        else:
            return None
    return "".join(out)


def _quoted(value: str) -> str:
    """A spec attribute value in quotes ChimeraX's grammar accepts (no tab or newline inside)."""
    if any(c in value for c in "\t\r\n") or ('"' in value and "'" in value):
        raise OutputError(f"The name {value!r} cannot be written in a ChimeraX atom specification.")
    return f"'{value}'" if '"' in value else f'"{value}"'


def residue_spec(chain: str, res_num: int, ins_code: str) -> str:
    """ChimeraX specification of one residue, e.g. ``/A:26`` (as :func:`atom_spec`, without the atom).

    Parameters
    ----------
    chain : author chain ID ('' when blank)
    res_num : author residue number
    ins_code : insertion code ('' when none)

    Returns
    -------
    str
    """
    head, tail = _around_number(chain, ins_code)
    return f"{head}{int(res_num)}{tail}"


def _around_number(chain, ins_code) -> tuple:
    """What a residue's specification puts before and after its number, which depend on its chain and insertion
    code only: ('/A:', 'B') for ``/A:26B``; attribute tests where the grammar cannot spell them."""
    chain, ins_code = str(chain), str(ins_code).strip()
    res_attrs = []
    chain_part = ""
    if chain.strip():
        spelt = _spell(chain)
        if spelt is None:
            res_attrs.append(f"chain_id={_quoted(chain)}")
        else:
            chain_part = f"/{spelt}"
    if ins_code and not (len(ins_code) == 1 and ins_code.isascii() and ins_code.isalpha()):
        return chain_part + "::number=", "," + ",".join([f"insertion_code={_quoted(ins_code)}", *res_attrs])
    return chain_part + ":", ins_code + ("::" + ",".join(res_attrs) if res_attrs else "")


def atom_spec(chain: str, res_num: int, ins_code: str, name: str) -> str:
    """ChimeraX atom specification of one atom, e.g. ``/A:26@CD2`` (see the module docstring).

    Parameters
    ----------
    chain : author chain ID ('' when blank)
    res_num : author residue number
    ins_code : insertion code ('' when none)
    name : atom name

    Returns
    -------
    str — a specification with no tab or newline
    """
    return residue_spec(chain, res_num, ins_code) + _atom_part(name)


def _atom_part(name) -> str:
    """The atom part of an atom specification: ``@CD2``, or an attribute test for a name the grammar cannot spell."""
    name = str(name)
    spelt_name = _spell(name)
    return f"@{spelt_name}" if spelt_name else f"@@name={_quoted(name)}"


def _occupancies(model, index: np.ndarray) -> np.ndarray:
    """Occupancy of the atoms ``index`` of ``model``, which have alternate locations (1 where the
    file gives none)."""
    atoms = model.atoms
    if atoms.occupancy is not None:  # read with the atoms
        return np.asarray(atoms.occupancy, dtype=float)[index]
    occ = {}
    st = model_structure(model)
    for ch in st[0]:
        for res in ch:
            for at in res:
                if at.has_altloc():  # only these are looked up
                    occ[(ch.name, res.seqid.num, res.seqid.icode.strip(), res.name, at.name,
                         at.altloc.strip("\x00 "))] = at.occ
    return np.array([occ.get((atoms.chain[i], int(atoms.res_num[i]), atoms.ins_code[i].strip(), atoms.res_name[i],
                              atoms.name[i], atoms.altloc[i].strip()), 1.0) for i in index.tolist()], dtype=float)


def chimerax_atoms(result) -> pd.DataFrame:
    """The atoms the ``.defattr`` file names: one row per ChimeraX atom, file order.

    Parameters
    ----------
    result : qscore.pipeline.QScoreResult

    Returns
    -------
    DataFrame with columns ``index`` (the atom's row in ``result.atoms``), ``spec`` and ``Q``;
    atoms without a Q (hydrogens with no heavy atom near) are left out and each atom with
    alternate locations appears once, with the Q of the location ChimeraX shows (module docstring).
    """
    keep, residue, name = _atom_specs(result)
    specs = [r + m for r, m in zip(residue.strings(), name.strings(), strict=True)]
    return pd.DataFrame({"index": keep, "spec": specs, "Q": np.asarray(result.q, dtype=float)[keep]})


def _atom_specs(result) -> tuple:
    """The atoms the ``.defattr`` names (indices, file order) and the two parts of their specs, as
    :class:`~qscore.io.numtext.Cells` (residue, atom name): each residue's and atom name's part is spelt once
    (:func:`residue_spec`, :func:`_atom_part`), a spec is the two joined."""
    a = result.atoms
    q = np.asarray(result.q, dtype=float)
    keep = np.flatnonzero(np.isfinite(q))
    alt_codes, alt_ids = a.codes("altloc")
    if np.any((alt_ids != "")[alt_codes[keep]]):
        keep = _choose_altlocs(result.model, keep)
    _, first, res_of = np.unique(a.residue[keep], return_index=True, return_inverse=True)
    top = keep[first]
    name_codes, names = a.codes("name")
    name_parts = [_atom_part(m) for m in names.tolist()]
    return keep, text_cells(_residue_specs(a, top)).take(res_of.reshape(-1)), text_cells(name_parts).take(
        name_codes[keep])


def _residue_specs(atoms, rows: np.ndarray) -> list:
    """:func:`residue_spec` of the residues of the atoms ``rows``, what goes around the number worked out once per
    (chain, insertion code)."""
    chain_codes, _ = atoms.codes("chain")
    ins_codes, inss = atoms.codes("ins_code")
    pair_codes, _ = pd.factorize(chain_codes[rows].astype(np.int64) * len(inss) + ins_codes[rows])
    first = np.asarray(rows)[np.unique(pair_codes, return_index=True)[1]]  # an atom of each pair, in pair order
    around = [_around_number(atoms.chain[i], atoms.ins_code[i]) for i in first.tolist()]
    return [f"{around[k][0]}{n}{around[k][1]}" for k, n in
            zip(pair_codes.tolist(), np.asarray(atoms.res_num)[rows].astype(np.int64).tolist(), strict=True)]


#: atoms written at a time to the ``.defattr`` file
_DEFATTR_BLOCK = 65_536


def _choose_altlocs(model, index: np.ndarray) -> np.ndarray:
    """Of ``index``, keep one entry per (chain, residue, atom name): the location ChimeraX shows.

    Only the residues that hold an atom whose (chain, number, insertion code, name) another atom shares are
    ranked (:func:`_ranked_altlocs`); every other atom is kept, as the ranking would keep it."""
    a = model.atoms
    codes = {c: a.codes(c)[0][index] for c in ("name", "chain", "ins_code")}
    num = pd.factorize(np.asarray(a.res_num)[index])[0]
    key = combined_codes(codes["chain"], num, codes["ins_code"], codes["name"])
    shared = pd.Series(key).duplicated(keep=False).to_numpy()
    residue = np.asarray(a.residue)[index]
    involved = np.isin(residue, residue[shared])
    if not involved.any():
        return index
    return np.sort(np.concatenate([index[~involved], _ranked_altlocs(model, index[involved])]))


def _ranked_altlocs(model, index: np.ndarray) -> np.ndarray:
    """:func:`_choose_altlocs` of the atoms ``index`` (whole residues): each location ranked per residue."""
    a = model.atoms
    # string columns as their codes (into sorted distinct values: the alphabetical order of location IDs holds)
    codes = {c: a.codes(c) for c in ("altloc", "name", "chain", "ins_code")}
    t = pd.DataFrame({"index": index, "residue": a.residue[index], "altloc": codes["altloc"][0][index],
                      "name": codes["name"][0][index], "b": a.b_iso[index], "chain": codes["chain"][0][index],
                      "num": a.res_num[index], "ins": codes["ins_code"][0][index]})
    alt = (codes["altloc"][1] != "")[t["altloc"].to_numpy()]
    t["occ"] = 1.0
    t.loc[alt, "occ"] = _occupancies(model, t.loc[alt, "index"].to_numpy())
    # per residue and location: mean occupancy (higher first), mean B (lower first), ID (alphabetical)
    locs = t[alt].groupby(["residue", "altloc"], sort=False).agg(occ=("occ", "mean"), b=("b", "mean")).reset_index()
    locs = locs.sort_values(["residue", "occ", "b", "altloc"], ascending=[True, False, True, True], kind="stable")
    locs["rank"] = locs.groupby("residue").cumcount()
    rank = t.merge(locs[["residue", "altloc", "rank"]], on=["residue", "altloc"], how="left")["rank"]
    t["rank"] = rank.fillna(-1).to_numpy()  # atoms without a location come first
    t["order"] = np.arange(len(t))
    best = t.sort_values(["rank", "order"], kind="stable").drop_duplicates(["chain", "num", "ins", "name"])
    return np.sort(best["index"].to_numpy())


def write_defattr(path, result, *, decimals: int = 4) -> int:
    """Write the ChimeraX attribute-assignment file of ``result``'s per-atom Q (module docstring).

    Parameters
    ----------
    path : str or Path — the ``.defattr`` file (written atomically, UTF-8)
    result : qscore.pipeline.QScoreResult
    decimals : int — decimals of each value

    Returns
    -------
    int — the number of atoms assigned
    """
    from .._version import __version__

    keep, residue, name = _atom_specs(result)
    q = np.asarray(result.q, dtype=float)[keep]
    n_alt = int((np.asarray(result.atoms.altloc, dtype=str) != "").sum())
    lines = [f"# Per-atom Q-scores (sigma {result.params.sigma:g} Å) written by qscore {__version__}",
             f"# model: {result.model.path}", f"# map: {result.dmap.path or '(in memory)'}",
             "# Open in ChimeraX after the model:  open THIS_FILE  (or run the .cxc script beside it)"]
    if n_alt:
        lines.append("# Atoms with alternate locations carry the Q of the location ChimeraX shows on opening "
                     "(highest mean occupancy, then lowest mean B, then first ID, per residue).")
    lines += [f"attribute: {ATTRIBUTE}", "match mode: 1-to-1", "recipient: atoms"]
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(("\n".join(lines) + "\n").encode())
        compiled = len(keep) >= numtext.COMPILED_MIN  # for the file: its last block may be short
        for start in range(0, len(keep), _DEFATTR_BLOCK):  # each line: tab, residue and atom, tab, Q
            part = slice(start, start + _DEFATTR_BLOCK)
            f.write(join_rows([repeated("", len(q[part])), residue.take(part), name.take(part),
                               fixed_cells(q[part], decimals, compiled=compiled)], ["\t", "", "\t"],
                              compiled=compiled))
    return len(keep)


def palette(expected=None) -> tuple:
    """The ``color byattribute`` palette and a sentence describing it.

    Parameters
    ----------
    expected : object with Q_low95 and Q_peak at the map's resolution (an ExpectedQ), or None (no resolution)

    Returns
    -------
    (str, str) — e.g. ``'0.233,#D55E00:0.383,white:1,#0072B2'`` and its description
    """
    low, mid, high = PALETTE_COLOURS
    if expected is None:
        return (f"0,{low}:0.5,{mid}:1,{high}",
                "no resolution given: the palette runs 0 (vermillion), 0.5 (white), 1 (blue); give the map's "
                "resolution to anchor it at the expected Q")
    q_low, q_peak = float(expected.Q_low95), float(expected.Q_peak)
    if not q_low < q_peak < 1:
        raise OutputError(f"Cannot anchor a palette at Q_low95 {q_low:.3f}, Q_peak {q_peak:.3f} and 1; the "
                          "expected values must increase.")
    return (f"{q_low:.3f},{low}:{q_peak:.3f},{mid}:1,{high}",
            f"vermillion at or below the expected Q_low95 {q_low:.3f}, white at Q_peak {q_peak:.3f}, blue at 1")


def _script_path(target, folder: Path) -> str:
    """``target`` relative to ``folder`` (``../`` where needed), quoted for a ChimeraX command; absolute only
    where no relative path exists (another drive)."""
    import os

    target = Path(target).resolve()
    try:
        text = Path(os.path.relpath(target, folder.resolve())).as_posix()
    except ValueError:  # another drive (Windows): an absolute path
        text = target.as_posix()
    return _quoted(text)


def write_cxc(path, *, model_path, defattr_path, map_path=None, expected=None,
              resolution: float | None = None, sigma: float = 0.4) -> None:
    """Write a ChimeraX script that opens the model (and map) and colours it by Q (module docstring).

    Parameters
    ----------
    path : str or Path — the ``.cxc`` file (written atomically)
    model_path, defattr_path : the model to open and the attribute file written by :func:`write_defattr`
    map_path : the map to open, optional
    expected : object with Q_low95 and Q_peak at the map's resolution (None: a 0–1 palette)
    resolution : float, optional — the map's resolution, Å (for the script's comment)
    sigma : float — the sigma Q was computed with, Å (for the comment)
    """
    from .._version import __version__

    folder = Path(path).resolve().parent
    spec, description = palette(expected)
    at = f" at {resolution:g} Å" if resolution is not None else ""
    lines = [f"# Colour a model by per-atom Q-score (sigma {sigma:g} Å); written by qscore {__version__}.",
             f"# Palette{at}: {description}; atoms without a value grey.",
             "# Run in ChimeraX with:  open THIS_FILE   (it starts a new session; paths are relative to this file)",
             "close session",
             f"open {_script_path(model_path, folder)} maxModels 1"]
    if map_path:
        lines += [f"open {_script_path(map_path, folder)}", "volume #2 style mesh"]
    lines += [f"open {_script_path(defattr_path, folder)} format defattr models #1",
              f"color byattribute a:{ATTRIBUTE} #1 target ac palette {spec} noValueColor {NO_VALUE_COLOUR} key true"]
    write_text(path, "\n".join(lines) + "\n")


def write_reading_files(residues: pd.DataFrame, folder, stem: str, *, colours: dict, model_path, map_path=None,
                        source: str = "") -> dict:
    """``<stem>_reading.defattr`` (residue attribute ``qreading``: 1, 2, … in the order of ``colours``) and
    ``<stem>_reading.cxc`` (opens model and map, colours residues by reading, with a key).

    Parameters
    ----------
    residues : DataFrame — chain, res_num, ins_code and reading of each residue
    folder : str or Path — existing folder
    stem : str — the files' stem
    colours : dict {reading: colour} — the readings, in code order
    model_path, map_path : what the script opens
    source : str — the local-resolution map (for the comments)

    Returns
    -------
    dict {'reading_defattr': path, 'reading_cxc': path}
    """
    from .._version import __version__

    folder = Path(folder)
    paths = {"reading_defattr": folder / f"{stem}_reading.defattr", "reading_cxc": folder / f"{stem}_reading.cxc"}
    codes = {r: k for k, r in enumerate(colours, start=1)}
    legend = ", ".join(f"{k} {r}" for r, k in codes.items())
    rows = residues[residues["reading"].isin(list(codes))]
    lines = [f"# Reading of each residue's Q against local resolution ({source}), written by qscore {__version__}",
             f"# qreading: {legend}; residues without a reading are not listed",
             "attribute: qreading", "match mode: 1-to-1", "recipient: residues"]
    lines += [f"\t{residue_spec(r.chain, r.res_num, r.ins_code)}\t{codes[r.reading]}" for r in rows.itertuples()]
    write_text(paths["reading_defattr"], "\n".join(lines) + "\n")
    spec = ":".join(f"{k},{colours[r]}" for r, k in codes.items())
    script = [f"# Colour residues by their reading against local resolution; written by qscore {__version__}.",
              f"# {', '.join(f'{r}: {c}' for r, c in colours.items())}; no reading: {NO_READING_COLOUR}.",
              "close session", f"open {_script_path(model_path, folder)} maxModels 1"]
    if map_path:
        script += [f"open {_script_path(map_path, folder)}", "volume #2 style mesh"]
    script += [f"open {_script_path(paths['reading_defattr'], folder)} format defattr models #1",
               f"color byattribute r:qreading #1 target acs palette {spec} noValueColor {NO_READING_COLOUR} key true"]
    write_text(paths["reading_cxc"], "\n".join(script) + "\n")
    return {k: str(v) for k, v in paths.items()}


def write_chimerax(result, folder, stem: str, *, model_path=None, map_path=None, expected=None) -> dict:
    """Write ``<stem>.defattr`` and ``<stem>.cxc`` into ``folder``.

    Parameters
    ----------
    result : QScoreResult — the atoms and their Q
    folder : str or Path — existing folder
    stem : str — the files' name without extension
    model_path : path, optional — the model the script opens (default: the scored model's file)
    map_path : path, optional — the map it opens (default: the map's file; none for a map built in memory)
    expected : ExpectedQ, optional — Q_low95 and Q_peak at the resolution anchor the palette

    Returns
    -------
    dict {'defattr': path, 'cxc': path}
    """
    folder = Path(folder)
    paths = {"defattr": folder / f"{stem}.defattr", "cxc": folder / f"{stem}.cxc"}
    write_defattr(paths["defattr"], result)
    if map_path is None:
        map_path = result.dmap.path or None
    write_cxc(paths["cxc"], model_path=model_path or result.model.path, defattr_path=paths["defattr"],
              map_path=map_path, expected=expected, resolution=result.resolution, sigma=result.params.sigma)
    return {k: str(v) for k, v in paths.items()}


__all__ = ["atom_spec", "residue_spec", "chimerax_atoms", "write_defattr", "write_cxc", "write_chimerax",
           "write_reading_files", "palette", "ATTRIBUTE"]
