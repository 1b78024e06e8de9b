"""MapQ 2.9.7's per-residue table ``_All.txt``, laid out as that version's ``SaveQStats`` writes it.

The numbers are the same as in the 2021 table (:mod:`qscore.io.mapq_files`, from
:func:`qscore.analysis.mapq.mapq_table`); MapQ 2.9.7 changed what is around them:

1. A header: a blank line, ``Map: <map file>``, ``Resolution entered (RES): <res>``,
   ``Model: <model file>``, ``Sigma: <sigma>``, a blank line, and ``Q_peak = <equation>``, the 2025 cubic
   for sigma 0.6 or 0.4 Å (``1.0`` for any other sigma; :func:`qscore.analysis.mapq.mapq_297_expected`).
2. ``Chain  Type  #Res/NA/Mol  Avg. Q  ExpectedQ@<res>``, then per chain (sorted) one line per residue
   type (Protein, Nucleic, Water or the residue name; Python 2 dict order): its residue count, the
   mean Q of its non-H atoms (``%.2f``) and the equation at the resolution.
3. The sections as in 2021 (Python 2 dict order of the chains), with ``Q_Peak``, ``Q_Low 95%`` and
   ``Q_High 95%`` columns after each residue's own values. Every row uses the one expected Q of the
   cubic, ions, waters and other molecules included. A residue without a non-H atom with a Q has no
   row.

MapQ 2.9.7's quirks are kept: the smoothed blocks' headers name ``LowQ``/``HighQ`` columns that
only the nucleotide rows' first block has, and glycine rows leave the side-chain cells empty.
"""

from __future__ import annotations

from .mapq_files import WINDOWS, py2_dict_order

__all__ = ["format_mapq_all_297"]


def _f(v: float) -> str:
    return "%f" % v  # noqa: UP031 — MapQ's format


def _header(kind: str, chain: str, res: float) -> str:
    r = "%.2f" % res  # noqa: UP031
    if kind == "protein":
        return (f"Protein - Chain {chain}" + "\t" * 10
                + ("\t" * 5).join(f"Average over {2 * k + 1} residues" for k in WINDOWS) + "\n\n"
                + f"Chain\tRes\tRes #\tQ_BackBone\tQ_SideChain\tQ_Residue\tQ_Peak @{r}A\tQ_Low 95% @{r}A\t"
                  f"Q_High 95% @{r}A\t\t"
                + f"Q_backBone\tQ_sideChain\tQ_residue\tExpectedQ@{r}\tLowQ\tHighQ\t\t"
                + f"Q_backBone\tQ_sideChain\tQ_residue\tExpectedQ@{r}\t\t" * 2
                + f"Q_backBone\tQ_sideChain\tQ_residue\tExpectedQ@{r}\t\n")
    if kind == "nucleic":
        block = f"Q_Phosphate\tQ_Sugar\tQ_Base\tQ_Nucleotide\tExpectedQ@{r}\tLowQ\tHighQ\t"
        return (f"Nucleic Acid - Chain {chain}" + "\t" * 11
                + ("\t" * 6).join(f"Average over {2 * k + 1} nucleotides" for k in WINDOWS) + "\n\n"
                + f"Chain\tRes\tRes #\tQ_Phosphate\tQ_sugar\tQ_base\tQ_nucleotide\tQ_Peak @{r}A\tQ_Low 95% @{r}A\t"
                  f"Q_High 95% @{r}A\t\t"
                + (block + "\t") * 3 + block + "\n")
    return f"Molecule - Chain {chain}\n\nChain\tMolecule\tMol #\t\t\tQ_molecule\tExpectedQ@{r}\n"


def _gap(kind: str, chain: str, number: int, e: str, band: str) -> str:
    if kind == "nucleic":
        return f"{chain}\t\t{number}\t" + f"\t\t\t\t{band}\t\t" + f"\t\t\t\t{e}\t\t" * 3 + f"\t\t\t\t{e}\n"
    return f"{chain}\t\t{number}\t\t\t\t{band}\t\t" + f"\t\t\t{e}\t\t" * 3 + f"\t\t\t{e}\n"


def _row(r, e: str, band: str) -> str:
    avg = r._asdict()

    def block(k, cols):
        return "\t".join("" if j is None else _f(avg[f"avg{2 * k + 1}_{j}"]) for j in cols) + f"\t{e}"

    head = f"{r.chain}\t{r.res_name}\t{int(r.res_num)}\t"
    if r.kind == "nucleic":
        own = "\t".join(map(_f, (r.bb, r.sugar, r.sc, r.Q_residue)))
        return head + f"{own}\t{band}\t\t" + "\t\t".join(block(k, (0, 3, 1, 2)) for k in WINDOWS) + "\n"
    if r.kind == "protein":
        own = f"{_f(r.bb)}\t{_f(r.sc)}\t{_f(r.Q_residue)}" if r.has_sc else f"{_f(r.bb)}\t\t{_f(r.Q_residue)}"
        cols = (0, 1, 2) if r.has_sc else (0, None, 2)
        return head + f"{own}\t{band}\t\t" + "\t\t".join(block(k, cols) for k in WINDOWS) + "\n"
    return head + f"\t\t{_f(r.Q_residue)}\t{band}\n"  # ions, waters, other molecules


def format_mapq_all_297(table, *, sigma: float, map_name: str, model_name: str) -> str:
    """The text of MapQ 2.9.7's ``_All.txt`` (layout: module docstring).

    Parameters
    ----------
    table : qscore.analysis.mapq.MapQTable — the numbers
    sigma : float — Å
    map_name, model_name : str — the map's and the model's file names (MapQ prints them)

    Returns
    -------
    str
    """
    res, peak = table.resolution, table.q_peak
    e = _f(peak["expected"])
    band = "\t".join(_f(peak[k]) for k in ("expected", "low", "high"))
    formula = "=" + peak["equation"].replace("RES", "%.2f" % res)  # noqa: UP031
    out = [f"\nMap: {map_name}\n", "Resolution entered (RES): %g\n" % res,  # noqa: UP031
           f"Model: {model_name}\n", "Sigma: %g\n\n" % sigma,  # noqa: UP031
           f"Q_peak = {peak['equation']}\n", "Chain\tType\t#Res/NA/Mol\tAvg. Q\tExpectedQ@%.2f\n" % res]  # noqa: UP031
    types = table.chain_types
    for chain in sorted(types["chain"].unique()):
        rows = types[types["chain"] == chain].set_index("type")
        for kind in py2_dict_order(rows.index.tolist()):
            out.append("%s\t%s\t%d\t%.2f\t%s\n" % (chain, kind, rows.at[kind, "n_residues"],  # noqa: UP031
                                                   rows.at[kind, "Q"], formula))
    out.append("\n")
    residues = table.residues
    for chain in py2_dict_order(table.chains["chain"].tolist()):
        rows = residues[residues["chain"] == chain]
        first = rows["kind"].iloc[0]
        out.append(_header(first if first in ("protein", "nucleic") else "molecule", chain, res))
        last = None
        for r in rows.itertuples(index=False):
            if r.Q_residue != r.Q_residue:  # no non-H atom with a Q: MapQ writes no row
                continue
            if r.kind in ("protein", "nucleic") and last is not None:
                out.extend(_gap(r.kind, chain, gap, e, band) for gap in range(last + 1, int(r.res_num)))
            out.append(_row(r, e, band))
            last = int(r.res_num)
        out.append("\n\n")
    return "".join(out)
