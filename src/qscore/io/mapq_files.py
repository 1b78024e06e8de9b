"""MapQ's per-residue table, ``<model>__Q__<map>_All.txt``: written exactly as MapQ writes it, and read back.

The numbers come from :func:`qscore.analysis.mapq.mapq_table`; this module only lays them out.

The layout is the one of the MapQ (``mapq_cmd.py``) outputs in ``../shared/data/emd30342_7cec/
mapq_reference``, reproduced byte for byte from per-atom Q (tab-separated, the same headers, number
formats, blank cells, gap rows and trailing blank lines):

1. ``Chain  Q_chain  Est.Res.  ExpectedQ@<res>``, then one line per chain (sorted): the mean Q over
   its non-H atoms (``%.2f``), the resolution at which the 2020 linear relation expects that Q
   (``%.2f``), the relation as a formula, and the types of its residues, e.g. ``(Protein)``.
2. ``Sigma: <sigma>`` and the four 2020 relations (protein, nucleic, ion, water).
3. One section per chain: ``Protein - Chain X``, ``Nucleic Acid - Chain X`` or ``Molecule - Chain X``
   (by the chain's first residue), a column header, one row per residue in order of residue number
   with the Q of its parts, the residue Q, an expected Q, and the same averaged over ±1, ±2, ±3 and
   ±5 residues ("Average over 3/5/7/11 residues").  Numbers missing in a protein chain's numbering
   get gap rows holding only the expected Q.  Each section ends with two blank lines.

MapQ's own quirks, kept on purpose so that scripts written against its files keep working:

* **Two expected-Q relations.**  The header prints the 2020 relations for sigma 0.6 Å (protein
  −0.1775·d + 1.1192, nucleic −0.1377·d + 0.9973, ion −0.1103·d + 1.0795, water −0.0895·d + 1.0001;
  :data:`qscore.analysis.expected.LINEAR_2020`), and the chain line's formula and Est.Res. use them;
  but the ExpectedQ columns of the residue rows use an older pair, protein −0.1794·d + 1.1244 and
  nucleic −0.1574·d + 1.0673 (0.424740 at 3.9 Å, as in MapQ's file; ion and water rows use the 2020
  relations).  Both are written whatever the sigma, as MapQ does; for sigma 0.4 Å use qscore's own
  residue table (``qscore score --resolution``) for expected values that fit the sigma.
* **Smoothing along the whole chain.**  The ±k averages run over every residue of the chain in
  order of residue number (ligands and waters of that chain included), a missing part counting as 0
  (e.g. glycine's side chain), truncated at the chain ends (:func:`qscore.analysis.groups.smooth_mapq`).
* **Order of the sections.**  MapQ (Python 2) walks its chains in the order of a Python 2 ``dict``;
  the sections follow that order (:func:`py2_dict_order`: for chains A, B, C it is A, C, B), while
  the chain lines at the top are sorted.  The residue types of a chain line, e.g.
  ``(Protein,Water)``, are in that order too.  This is the order of 64-bit Linux and macOS Chimera.

This is the 2021 table (``--mapq-layout 2021``).  MapQ 2.9.7 changed what is around the numbers: a
``Map:``/``Resolution entered``/``Model:``/``Sigma:`` header, one ``Q_peak = …`` equation, a chain table
per residue type, and Q_Peak/Q_Low 95%/Q_High 95% columns; :mod:`qscore.io.mapq_all_297` writes that
layout (the default) and :func:`read_mapq_all` reads both.

What the reference files cannot show (they hold one protein chain) follows MapQ's source of the
same generation: nucleotide rows give phosphate ("Q_backBone"), sugar, base and nucleotide Q (a part
a nucleotide lacks is written 0.000000, as MapQ does); ions (MG, NA, CL, CA, ZN, MN, FE, CO, NI) and
waters (HOH) give their Q and the 2020 ion/water expected Q, other residues their Q and ``?``.  A
chain of only ligands, on which that MapQ stopped with an error, gets the formula ``?`` and Est.Res.
0.00 (as later MapQ versions write).  Residue classes are qscore's molecule types (modified amino
acids and nucleotides count as protein or nucleic acid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputFileError
from .files import write_text

#: MapQ's default resolution (Å) when none is given (``res=3.0``)
DEFAULT_RESOLUTION = 3.0
#: the ±k windows and MapQ's labels 2k+1 (as :data:`qscore.analysis.mapq.WINDOWS`)
WINDOWS = (1, 2, 3, 5)
#: MapQ's chain-line formula strings (``%.2f`` takes the resolution); the nucleic ones carry a space
_CHAIN_FORMULAS = {"protein": "=-0.1775 * %.2f + 1.1192", "nucleic": "= -0.1377 * %.2f + 0.9973",
                   "ion": "= -0.1103 * %.2f + 1.0795", "water": "= -0.0895 * %.2f + 1.0001"}
#: the header's relations, as MapQ prints them (the 2020 ones for sigma 0.6 Å)
_HEADER_RELATIONS = (("Protein", "-0.1775 * RES + 1.1192"), ("Nucleic", "-0.1377 * RES + 0.9973"),
                     ("Ion", "-0.1103 * RES + 1.0795"), ("Water", "-0.0895 * RES + 1.0001"))
_MASK64 = (1 << 64) - 1


def _py2_str_hash(key: str) -> int:
    """Python 2's ``hash(str)`` on a 64-bit build without hash randomisation, as an unsigned 64-bit value."""
    data = key.encode("utf-8")
    if not data:
        return 0
    x = (data[0] << 7) & _MASK64
    for c in data:
        x = ((1000003 * x) & _MASK64) ^ c
    x ^= len(data)
    return x - 1 if x == _MASK64 else x  # a hash of -1 becomes -2


def py2_dict_order(keys) -> list:
    """The order in which a Python 2.7 ``dict`` built by inserting ``keys`` (strings) lists them.

    MapQ ran on Chimera's Python 2.7; where it loops over a ``dict`` its output follows this order.
    Simulates CPython 2.7's open addressing (8-slot start, probing ``i = 5i + perturb + 1``,
    ``perturb >>= 5``, growth to the smallest power of two above 4 × used when two thirds full).

    Parameters
    ----------
    keys : iterable of str — in order of insertion (repeats are ignored, as in a dict)

    Returns
    -------
    list of str

    Examples
    --------
    >>> py2_dict_order(["a", "b", "c"])
    ['a', 'c', 'b']
    """
    def place(table, key, h):
        mask = len(table) - 1
        i, perturb = h & mask, h
        while table[i & mask] is not None:
            i = (5 * i + perturb + 1) & _MASK64
            perturb >>= 5
        table[i & mask] = (key, h)

    table: list = [None] * 8
    seen: set = set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        place(table, key, _py2_str_hash(key))
        used = len(seen)
        if used * 3 >= len(table) * 2:
            size = 8
            while size <= 4 * used:
                size <<= 1
            old, table = table, [None] * size
            for entry in old:
                if entry is not None:
                    place(table, *entry)
    return [entry[0] for entry in table if entry is not None]


def _f(v: float) -> str:
    return "%f" % v  # noqa: UP031 — MapQ's format, 'nan' included


def _chain_line(row) -> str:
    types = ",".join(py2_dict_order(row["labels"]))
    if row["kind"]:
        return "%s\t%.2f\t%.2f\t%s\t(%s)\n" % (row["chain"], row["Q_chain"], row["est_res"],  # noqa: UP031
                                               _CHAIN_FORMULAS[row["kind"]] % row["resolution"], types)
    return "%s\t%.2f\t%.2f\t?\t(%s)\n" % (row["chain"], row["Q_chain"], 0.0, types)  # noqa: UP031


def _section_header(kind: str, chain: str, resolution: float) -> str:
    exp = "ExpectedQ@%.2f" % resolution  # noqa: UP031
    if kind == "protein":
        parts, unit, lead = ("Q_backBone", "Q_sideChain", "Q_residue"), "residues", "Protein - Chain %s" + "\t" * 8
    elif kind == "nucleic":
        parts, unit, lead = (("Q_backBone", "Q_sugar", "Q_base", "Q_nucleotide"), "nucleotides",
                             "Nucleic Acid - Chain %s" + "\t" * 9)
    else:
        return "Molecule - Chain %s\n\nChain\tMolecule\tMol #\t\t\tQ_molecule\t%s\n" % (chain, exp)  # noqa: UP031
    gap = "\t" * (len(parts) + 2)
    title = (lead % chain) + gap.join(f"Average over {2 * k + 1} {unit}" for k in WINDOWS) + "\n\n"
    blocks = ["\t".join(("Chain", "Res", "Res #") + parts + (exp,))]
    blocks += ["\t".join(tuple(f"{p}(avg-{2 * k + 1})" for p in parts) + (exp,)) for k in WINDOWS]
    return title + "\t\t".join(blocks) + "\t\n"


def _gap_row(kind: str, chain: str, number: int, expected: float) -> str:
    e = _f(expected)
    if kind == "nucleic":
        return f"{chain}\t\t{number}\t" + f"\t\t\t\t{e}\t\t" * 4 + f"\t\t\t\t{e}\n"
    return f"{chain}\t\t{number}\t\t\t\t{e}\t\t" + f"\t\t\t{e}\t\t" * 3 + f"\t\t\t{e}\n"


def _residue_line(r) -> str:
    chain, name, number, kind = r.chain, r.res_name, int(r.res_num), r.kind
    qres = _f(r.Q_residue)  # its own Q as MapQ prints it (nan without heavy atoms)
    if kind in ("protein", "nucleic"):
        e = _f(r.expected)
        if kind == "nucleic":
            line = f"{chain}\t{name}\t{number}\t" + "\t".join(map(_f, (r.bb, r.sugar, r.sc))) + f"\t{qres}\t{e}\t\t"
            cols = (0, 3, 1, 2)
        else:
            line = f"{chain}\t{name}\t{number}\t{_f(r.bb)}\t{_f(r.sc) if r.has_sc else ''}\t{qres}\t{e}\t\t"
            cols = (0, 1, 2) if r.has_sc else (0, None, 2)  # glycine: blank side-chain cells
        avg = r._asdict()
        return line + "\t\t".join("\t".join("" if j is None else _f(avg[f"avg{2 * k + 1}_{j}"]) for j in cols)
                                   + f"\t{e}" for k in WINDOWS) + "\n"
    if kind in ("ion", "water"):
        return f"{chain}\t{name}\t{number}\t\t\t{qres}\t{_f(r.expected)}\n"
    return f"{chain}\t{name}\t{number}\t\t\t{qres}\t?\n"


def format_mapq_all(table, *, sigma: float = 0.6) -> str:
    """The text of MapQ's ``<model>__Q__<map>_All.txt`` (layout: module docstring).

    Parameters
    ----------
    table : qscore.analysis.mapq.MapQTable — the numbers (:func:`qscore.analysis.mapq.mapq_table`)
    sigma : float — the sigma Q was computed with, Å (printed on the ``Sigma:`` line only)

    Returns
    -------
    str
    """
    resolution = table.resolution
    chains = table.chains.assign(resolution=resolution)
    out = ["Chain\tQ_chain\tEst.Res.\tExpectedQ@%.2f\n" % resolution]  # noqa: UP031
    for _, row in chains.sort_values("chain", kind="stable").iterrows():
        out.append(_chain_line(row))
    out.append("\nSigma: %g\n\n" % sigma)  # noqa: UP031
    for title, formula in _HEADER_RELATIONS:
        out.append(f"{title}: expectedQ = {formula}\n")
    out.append("\n")
    residues = table.residues
    for chain in py2_dict_order(chains["chain"].tolist()):
        rows = residues[residues["chain"] == chain]
        first = rows["kind"].iloc[0]
        kind = first if first in ("protein", "nucleic") else "molecule"
        out.append(_section_header(kind, chain, resolution))
        last = None
        for r in rows.itertuples(index=False):
            if r.kind in ("protein", "nucleic") and last is not None:
                for gap in range(last + 1, int(r.res_num)):
                    out.append(_gap_row(r.kind, chain, gap, r.expected))
            out.append(_residue_line(r))
            last = int(r.res_num)
        out.append("\n\n")
    return "".join(out)


def write_mapq_all(path, table, *, sigma: float = 0.6) -> None:
    """Write MapQ's ``_All.txt`` table (see :func:`format_mapq_all`), atomically.

    Parameters
    ----------
    path : str or Path
    table : qscore.analysis.mapq.MapQTable
    sigma : float — the sigma Q was computed with, Å
    """
    write_text(path, format_mapq_all(table, sigma=sigma))


@dataclass
class MapQSection:
    """One per-chain section of an ``_All.txt`` file.

    kind : 'protein', 'nucleic' or 'molecule'; chain : the chain id;
    columns : the column header as written (blank and repeated names included);
    table : one row per line (gap rows too, with an empty Res), blank header columns dropped, repeated
        ExpectedQ columns named after their block (``ExpectedQ@3.90(avg-3)``), numbers as floats
        (NaN for blank cells and ``?``), Chain/Res/Molecule as text, Res #/Mol # as integers
    """

    kind: str
    chain: str
    columns: list
    table: pd.DataFrame


@dataclass
class MapQAll:
    """An ``_All.txt`` file read back: the resolution and sigma it was written for, the chain lines,
    the expected-Q formulas of the header and the per-chain sections in file order.

    layout : '2021' or '2.9.7'
    chains : DataFrame — 2021: chain, Q_chain, est_res, formula, types; 2.9.7: chain, type, n_residues, Q, formula
    formulas : dict — 2021: {'Protein': '-0.1775 * RES + 1.1192', …}; 2.9.7: {'Q_peak': the cubic}
    header : dict — 2.9.7's Map:, Model: lines ({'map': …, 'model': …}); empty for 2021
    """

    resolution: float
    sigma: float | None
    chains: pd.DataFrame
    formulas: dict = field(default_factory=dict)
    sections: list = field(default_factory=list)
    layout: str = "2021"
    header: dict = field(default_factory=dict)

    def section(self, chain: str) -> MapQSection:
        """The section of ``chain`` (KeyError if the file has none)."""
        for s in self.sections:
            if s.chain == chain:
                return s
        raise KeyError(chain)


_SECTION_TITLES = (("Protein - Chain ", "protein"), ("Nucleic Acid - Chain ", "nucleic"),
                   ("Molecule - Chain ", "molecule"))
_TEXT_COLUMNS = ("Chain", "Res", "Molecule")
_INT_COLUMNS = ("Res #", "Mol #")


def _cell(text: str) -> float:
    text = text.strip()
    return float("nan") if text in ("", "?") else float(text)


def _section_table(columns: list, rows: list) -> pd.DataFrame:
    names, block = [], ""
    for j, name in enumerate(columns):
        if not name:
            continue
        if "(avg-" in name:
            block = name[name.index("(avg-"):]
        names.append((j, name + block if name.startswith("ExpectedQ") else name))
    data = {}
    for j, name in names:
        cells = [r[j] if j < len(r) else "" for r in rows]
        if name in _TEXT_COLUMNS:
            data[name] = cells
        elif name in _INT_COLUMNS:
            data[name] = [int(c) for c in cells]
        else:
            data[name] = [_cell(c) for c in cells]
    return pd.DataFrame(data)


def _section_title(line: str):
    """(title, kind) of a section's first line, or None."""
    return next(((t, k) for t, k in _SECTION_TITLES if line.startswith(t)), None)


def _read_section(lines: list, i: int, title: tuple, names: list | None = None) -> tuple:
    """The section starting at line ``i`` and the index of the blank line after its rows; cells named by
    its column header, or by ``names`` where the header does not line up with the rows (MapQ 2.9.7)."""
    chain = lines[i][len(title[0]):].split("\t", 1)[0]
    columns = lines[i + 2].split("\t")
    i += 3
    rows = []
    while i < len(lines) and lines[i]:
        rows.append(lines[i].split("\t"))
        i += 1
    return MapQSection(title[1], chain, columns, _section_table(names or columns, rows)), i


def _row_names_297(kind: str, res_label: str) -> list:
    """The cells of MapQ 2.9.7's data rows by position (its column headers do not line up with them)."""
    band = ["Q_Peak", "Q_Low95", "Q_High95"]
    if kind == "molecule":
        return ["Chain", "Molecule", "Mol #", "", "", "Q_molecule", *band]
    parts = (["Q_backBone", "Q_sideChain", "Q_residue"] if kind == "protein"
             else ["Q_Phosphate", "Q_Sugar", "Q_Base", "Q_Nucleotide"])
    own = parts if kind == "protein" else ["Q_Phosphate", "Q_sugar", "Q_base", "Q_nucleotide"]
    names = ["Chain", "Res", "Res #", *own, *band]
    for k in WINDOWS:
        names += [""] + [f"{p}(avg-{2 * k + 1})" for p in parts] + [f"ExpectedQ@{res_label}"]  # named by its block
    return names


def _read_297(p: Path, lines: list) -> MapQAll:
    """The body of :func:`read_mapq_all` for MapQ 2.9.7's layout (:mod:`qscore.io.mapq_all_297`)."""
    header = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:5])}
    resolution, sigma = float(header["resolution entered (res)"]), float(header["sigma"])
    i = next(j for j, line in enumerate(lines) if line.startswith("Q_peak = "))
    formulas = {"Q_peak": lines[i][len("Q_peak = "):]}
    i += 2  # the chain table's header
    chains = []
    while i < len(lines) and lines[i]:
        f = lines[i].split("\t")
        chains.append({"chain": f[0], "type": f[1], "n_residues": int(f[2]), "Q": _cell(f[3]), "formula": f[4]})
        i += 1
    label = "%.2f" % resolution  # noqa: UP031
    sections = []
    while i < len(lines):
        title = _section_title(lines[i])
        if title is None:
            i += 1
            continue
        section, i = _read_section(lines, i, title, _row_names_297(title[1], label))
        sections.append(section)
    return MapQAll(resolution=resolution, sigma=sigma, chains=pd.DataFrame(chains), formulas=formulas,
                   sections=sections, layout="2.9.7", header={"map": header["map"], "model": header["model"]})


def read_mapq_all(path) -> MapQAll:
    """Read a MapQ ``_All.txt`` table (MapQ's own or one qscore wrote) into tables, in either layout.

    A plain reader of the layouts described in this module's docstring (2021) and in
    :mod:`qscore.io.mapq_all_297` (MapQ 2.9.7): tab-separated fields, the chain lines, the header's
    formulas, then sections.  MapQ 2.9.7's rows are read by position, as it writes them.

    Raises
    ------
    InputFileError — missing file, or text that is not in MapQ's layout (the message says where)
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"MapQ table '{p}' cannot be read ({exc}).") from None
    if len(lines) > 5 and lines[0] == "" and lines[1].startswith("Map: "):
        try:
            return _read_297(p, lines)
        except (IndexError, ValueError, KeyError, StopIteration) as exc:
            raise InputFileError(f"'{p}' is not in MapQ 2.9.7's _All.txt layout ({type(exc).__name__}: {exc}).") \
                from None
    head = lines[0].split("\t") if lines else []
    if len(head) != 4 or head[:3] != ["Chain", "Q_chain", "Est.Res."] or not head[3].startswith("ExpectedQ@"):
        raise InputFileError(f"'{p}' is not a MapQ _All.txt table: line 1 should be 'Chain, Q_chain, Est.Res., "
                             "ExpectedQ@<res>' (tab-separated).")
    resolution = float(head[3][len("ExpectedQ@"):])
    i, chains = 1, []
    try:
        while i < len(lines) and lines[i]:
            f = lines[i].split("\t")
            chains.append({"chain": f[0], "Q_chain": _cell(f[1]), "est_res": _cell(f[2]), "formula": f[3],
                           "types": f[4].strip("()").split(",")})
            i += 1
        sigma, formulas, sections = None, {}, []
        while i < len(lines):
            line = lines[i]
            if line.startswith("Sigma:"):
                sigma = float(line.split(":", 1)[1])
            elif ": expectedQ = " in line:
                name, formula = line.split(": expectedQ = ", 1)
                formulas[name] = formula
            elif (title := _section_title(line)) is not None:
                section, i = _read_section(lines, i, title)
                sections.append(section)
            i += 1
    except (IndexError, ValueError) as exc:
        raise InputFileError(f"'{p}' is not in MapQ's _All.txt layout near line {i + 1} ({exc}).") from None
    return MapQAll(resolution=resolution, sigma=sigma, chains=pd.DataFrame(chains), formulas=formulas,
                   sections=sections)


__all__ = ["DEFAULT_RESOLUTION", "py2_dict_order", "format_mapq_all",
           "write_mapq_all", "read_mapq_all", "MapQAll", "MapQSection"]
