"""The report's ligand section (:func:`ligand_section`): every ligand, ion and saccharide up close."""

from __future__ import annotations

import json

import numpy as np

from ..analysis.ligands import LIGAND_TYPES, atoms_of_ligands, ligand_table
from .html_parts import drop_empty, escape, number, table_block, table_spec

__all__ = ["ligand_section", "LIGAND_COLUMNS", "MAX_LIGAND_DETAILS"]

#: ligands whose atoms are listed one by one (the CSV has every atom)
MAX_LIGAND_DETAILS = 200
LIGAND_COLUMNS = [("chain", "Chain", "str", None, True), ("res_num", "Number", "num", None, True),
                  ("ins_code", "Ins.", "str", None, False), ("res_name", "Name", "str", None, True),
                  ("kind", "Kind", "str", None, True), ("n_atoms", "Atoms", "num", None, False),
                  ("n_outside_map", "Outside the map", "num", None, False), ("Q_residue", "Q", "num", 3, False),
                  ("Q_expected_2020", "Expected (2020 relation of its type)", "num", 3, False),
                  ("Q_low95", "95% band from (entry curve)", "num", 3, False), ("Q_high95", "to", "num", 3, False),
                  ("Q_flag", "Flag", "str", None, True), ("Q_flag_reference", "Judged against", "str", None, False),
                  ("reading", "Reading (local resolution)", "str", None, True)]


def _details(result, ligands, viewer: bool) -> str:
    atoms = result.atom_table(np.isin(result.atoms.mol_type, LIGAND_TYPES))  # each ligand is found among these
    out = []
    shown = ligands.head(MAX_LIGAND_DETAILS)
    tables = atoms_of_ligands(atoms, zip(shown["chain"], shown["res_num"], shown["ins_code"], strict=True))
    for r, t in zip(shown.itertuples(), tables, strict=True):
        rows = "".join(f"<tr><td>{escape(a.atom_name)}{escape(a.altloc and ' ' + a.altloc)}</td><td>"
                       f"{escape(a.element)}</td><td class=\"num\">{number(a.Q)}</td><td>{escape(a.status)}</td></tr>"
                       for a in t.itertuples())
        key = escape(json.dumps([r.chain, int(r.res_num), r.ins_code]))
        button = (f' <button type="button" class="qs-show-3d" data-residue="{key}">Show in 3D</button>'
                  if viewer else "")
        flag = getattr(r, "Q_flag", "")
        out.append(f"<details><summary>{escape(r.chain)} {escape(r.res_name)} {r.res_num}{escape(r.ins_code)} — "
                   f"{escape(r.kind)}, Q {number(r.Q_residue)}{', ' + escape(flag) if flag else ''}"
                   f"</summary>{button}<table class=\"plain\"><thead><tr><th>Atom</th><th>Element</th><th>Q</th>"
                   f"<th>Status</th></tr></thead><tbody>{rows}</tbody></table></details>")
    more = (f'<p class="note">Atoms are listed for the first {MAX_LIGAND_DETAILS} of {len(ligands):,} ligands; the '
            "atoms CSV has every one.</p>" if len(ligands) > MAX_LIGAND_DETAILS else "")
    return "".join(out) + more


def ligand_section(result, analysis, *, page_size: int, viewer: bool = False) -> str:
    """The section's HTML: the table of ligands (lowest Q first), and each ligand's atoms with a 3D close-up.

    Parameters
    ----------
    result : qscore.pipeline.QScoreResult
    analysis : qscore.analysis.results.Analysis
    page_size : int — table rows per page at first
    viewer : bool — the report has a 3D view (each ligand gets a 'Show in 3D' button)
    """
    residues = analysis.residues
    ligands = ligand_table(residues).sort_values("Q_residue", kind="stable")
    waters = residues[residues["mol_type"] == "water"]
    water_note = ""
    if len(waters):
        water_note = (f'<p class="note">{len(waters):,} waters (mean Q {number(result.mean_q("water"))}) are left '
                      "out of these tables; the per-atom CSV has them.</p>")
    flag = "Q_flag" if "Q_flag" in residues.columns else None
    spec = table_spec(ligands, drop_empty(ligands, LIGAND_COLUMNS), flag=flag, page_size=page_size)
    counts = ligands["kind"].value_counts()
    summary = ", ".join(f"{n:,} {k}{'s' if n > 1 else ''}" for k, n in counts.items())
    intro = (f"<p>{escape(summary)}. Each is judged against the entry curve's 95% band (ions against none: the 2020 "
             "relation gives only an expected value); the figure above plots each copy against the band. "
             + ("Click a row, or <em>Show in 3D</em>, to see it up close in the 3D view.</p>" if viewer else "</p>")
             if len(ligands) else "")
    return (f'<section id="ligands"><h2>Ligands, ions and saccharides</h2>{water_note}{intro}'
            + table_block("table-ligands", spec, "The model has no ligands or ions.")
            + (f"<h3>Atoms of each ligand</h3>{_details(result, ligands, viewer)}" if len(ligands) else "")
            + "</section>")
