"""The report's "Q against local resolution" section (:func:`local_section`), for a run with a local-resolution map."""

from __future__ import annotations

from pathlib import Path

from ..analysis.local_resolution import READING_HELP
from .html_parts import drop_empty, escape, number, table_block, table_spec

__all__ = ["local_section", "LOCAL_RESIDUE_COLUMNS"]

#: the residue columns of the readings table
LOCAL_RESIDUE_COLUMNS = [("chain", "Chain", "str", None, True), ("res_num", "Number", "num", None, True),
                         ("ins_code", "Ins.", "str", None, False), ("res_name", "Residue", "str", None, True),
                         ("mol_type", "Type", "str", None, True), ("Q_residue", "Q", "num", 3, False),
                         ("local_res", "Local resolution (Å)", "num", 2, False),
                         ("Q_low95_local", "Band there from", "num", 3, False),
                         ("Q_high95_local", "to", "num", 3, False), ("reading", "Reading", "str", None, True)]


def local_section(analysis) -> str:
    """The section's HTML: the readings and their meaning, whole-map consistency, chains, and the residues
    not read 'as expected'.

    Parameters
    ----------
    analysis : qscore.analysis.results.Analysis — with ``local`` set
    """
    local = analysis.local
    c = local.consistency
    items = "".join(f"<li><strong>{escape(r)}</strong> ({local.counts[r]:,}): {escape(h)}</li>"
                    for r, h in READING_HELP.items())
    cons = (f'<table class="plain"><tr><th>Reported resolution</th><td>{number(c["reported"], 2)} Å</td></tr>'
            f'<tr><th>Q-resolution of the model</th><td>{number(c["q_resolution"], 2)} Å</td></tr>'
            f'<tr><th>Median local resolution under the model</th><td>{number(c["median_local"], 2)} Å</td></tr>'
            "</table>")
    notes = "".join(f'<p class="warn">{escape(n)}</p>' for n in local.notes)
    chain_cols = [("chain", "Chain", "str", None, True), ("mol_type", "Type", "str", None, True),
                  ("residues", "Residues", "num", None, False), ("local_res_median", "Median local res. (Å)", "num",
                                                                 2, False),
                  ("local_res_p25", "25th pct", "num", 2, False), ("local_res_p75", "75th pct", "num", 2, False)]
    chain_cols += [(r, r, "num", None, False) for r in READING_HELP]
    r = analysis.residues
    odd = r[r["reading"].isin(["possible misfit", "possible over-fitting or noise", "not resolved"])]
    return (f'<section id="local-resolution"><h2>Q against local resolution</h2>'
            f"<p>Local-resolution map <code>{escape(Path(local.source).name)}</code>: each atom takes its value "
            f"(trilinear), each residue the median over its atoms; its Q is judged against the 95% band at that "
            f"resolution, and side chains are taken as resolved at {local.threshold:g} Å or better "
            f"(<code>--side-chain-resolution</code>). {local.atoms:,} atoms: {local.outside:,} outside the map's box, "
            f"{local.missing:,} where it has no value.</p><ul>{items}</ul>{cons}{notes}<h3>Chains</h3>"
            + table_block("table-local-chains", table_spec(local.chains, drop_empty(local.chains, chain_cols)),
                          "No chains.")
            + "<h3>Residues not read 'as expected'</h3>"
            + table_block("table-local-residues", table_spec(odd, drop_empty(odd, LOCAL_RESIDUE_COLUMNS)),
                          "Every residue reads 'as expected'.") + "</section>")
