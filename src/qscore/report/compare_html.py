"""The comparison report: ``<stem>_compare_report.html`` with its figures (``qscore compare``).

One self-contained page, drawn with the single-run report's stylesheet and table script
(:mod:`qscore.report.html`): the inputs side by side, the notes, paired residue plots along each
chain with a ΔQ track, the residue-Q scatter, the ligand plot and tables of chains, the residues that
differ most, ligands, published values and unmatched atoms.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .._version import __version__
from ..text import plural
from .common import embed_figure
from .compare_plots import plot_ligand_poses, plot_paired_residues, plot_q_scatter
from .html_parts import asset, drop_empty, escape, figure_blocks, number, relative_href, table_block, table_spec
from .residue_plots import polymer_groups

__all__ = ["write_compare_report", "render_compare_report"]

_KEY_COLUMNS = [("chain", "Chain", "str", None, True), ("res_num", "Number", "num", None, True),
                ("ins_code", "Ins.", "str", None, False), ("res_name", "Residue", "str", None, True),
                ("mol_type", "Type", "str", None, True)]


def _per_input(labels, columns) -> list:
    """(key, label, type, digits, searchable) for each of ``columns`` (prefix, title, digits) of each input."""
    return [(f"{prefix}_{lab}", f"{title} {lab}", "num" if digits is not None else "str", digits, digits is None)
            for prefix, title, digits in columns for lab in labels]


def _residue_columns(labels) -> list:
    cols = _per_input(labels, [("Q_residue", "Q", 3), ("Q_backbone", "Q backbone", 3),
                               ("Q_sidechain", "Q side chain", 3)])
    cols += _per_input(labels[1:], [("dQ_residue", "ΔQ", 3)])
    cols += [("Q_spread", "Spread", "num", 3, False), ("best", "Best", "str", None, True)]
    return _KEY_COLUMNS + cols + _per_input(labels, [("Q_flag", "Flag", None)])


def _figures(comparison, fig_dir: Path, max_chain_plots: int) -> list:
    """Draw, save and drop each figure; a list of dicts (key, title, caption, png, svg, data_uri or note)."""
    labels, d = comparison.labels, comparison.min_difference
    expected = {i.label: i.analysis.expected for i in comparison.inputs}
    shared = list(expected.values())[0] if len({repr(e) for e in expected.values()}) == 1 else None
    out = []

    def add(key, title, caption, fig):
        out.append({"key": key, "title": title, "caption": caption, **embed_figure(fig, fig_dir / key)})

    groups = polymer_groups(comparison.residues)
    for k, (chain, mol_type) in enumerate(groups[:max(int(max_chain_plots), 0)]):
        t = comparison.residues[(comparison.residues["chain"] == chain) & (comparison.residues["mol_type"] == mol_type)]
        add(f"paired_{k + 1}", f"Chain {chain} ({mol_type})",
            f"Residue Q of each input along chain {chain} (top) and each input's Q minus {labels[0]}'s (bottom; "
            f"dashed: ±{d:g}, the smallest difference reported). The residues that differ most are labelled."
            + (" The grey band holds 95% of archive entries at the shared resolution." if shared is not None else ""),
            plot_paired_residues(t, labels, chain=chain, min_difference=d, expected=shared))
    if len(groups) > max_chain_plots:
        out.append({"key": "paired_more", "title": "Further chains",
                    "note": f"Paired plots are drawn for the first {max_chain_plots} of {len(groups)} polymer chains; "
                            "every residue is in the residues CSV."})
    if len(labels) > 1:
        add("scatter", "Residue Q against the first input",
            f"Each point is a residue: its Q in {labels[0]} (x) and in the other input (y). Points in the grey band "
            f"differ by less than {d:g}.", plot_q_scatter(comparison.residues, labels, min_difference=d))
    ligands = comparison.ligands()
    if len(ligands):
        add("ligands", "Ligands and ions in each input",
            "Each ligand's Q in every input (points) against that input's expected 95% band (bars) at its map's "
            "resolution.", plot_ligand_poses(ligands, labels, expected=expected))
    return out


def _summary_table(comparison) -> str:
    cols = [("label", "Input", "str", None, True), ("model", "Model", "str", None, True),
            ("map", "Map", "str", None, True), ("resolution", "Resolution (Å)", "num", 2, False),
            ("n_atoms", "Atoms", "num", None, False), ("Q", "Q", "num", 3, False),
            ("Q_emdb", "Q_emdb", "num", 3, False),
            ("Q_low95", "95% band from", "num", 3, False), ("Q_high95", "to", "num", 3, False),
            ("Q_flag", "Flag", "str", None, True), ("residues_below", "Residues below", "num", None, False),
            ("CC_molmap", "CC (molmap)", "num", 3, False), ("mean_Q_matched", "Mean Q, matched atoms", "num", 3, False),
            ("mean_dQ_matched", "Mean ΔQ, matched atoms", "num", 3, False),
            ("residues_best", "Residues where best", "num", None, False)]
    s = comparison.summary
    return table_block("table-summary", table_spec(s, drop_empty(s, cols)), "No inputs.")


def _published_block(comparison) -> str:
    p = comparison.published
    if p is None:
        return ('<p class="note">No published values given: add <code>--published FILE</code> (a wwPDB validation XML '
                "or an EMDB validation JSON) to compare the first input with them.</p>")
    c = p.counts()
    cols = _KEY_COLUMNS[:4] + [("res_name_model", "Residue in model", "str", None, False),
                               ("Q_published", "Published", "num", 3, False), ("Q_emdb", "Computed (Q_emdb)", "num", 3,
                                                                               False),
                               ("dQ", "Computed − published", "num", 4, False), ("status", "Status", "str", None, True)]
    note = f'<p class="warn">{escape(p.note)}.</p>' if p.note else ""
    return (f"<p>{escape(p.kind)} <code>{escape(Path(p.source).name)}</code>"
            f"{' (' + escape(p.entry) + ')' if p.entry else ''}: {c['agree']:,} of {c['matched']:,} matched residues "
            f"agree with {escape(comparison.labels[0])} within the published rounding (±{p.tolerance:.4f}, "
            f"{p.decimals} decimals); {c['differ']:,} differ (largest |ΔQ| {number(c['max_abs_dQ'], 4)}), "
            f"{c['not_in_model']:,} are not in the model, {c['other_residue']:,} have another residue name.</p>{note}"
            + table_block("table-published", table_spec(p.worst(200), drop_empty(p.worst(200), cols)),
                          "No matched residues."))


def _viewer(comparison, result) -> str:
    """The 3D view of the first input's model, coloured by each later input's ΔQ (and the first's own modes)."""
    import numpy as np

    from .viewer import diverging_palette, viewer_section

    r = comparison.residues
    extra = []
    for lab in comparison.labels[1:]:
        d = r[f"dQ_residue_{lab}"].to_numpy(float)
        finite = np.abs(d[np.isfinite(d)])
        span = max(0.1, round(float(np.percentile(finite, 98)), 2)) if finite.size else 0.1
        values = [[str(c), int(n), str(i or ""), None if not np.isfinite(v) else round(float(v), 3)]
                  for c, n, i, v in zip(r["chain"], r["res_num"], r["ins_code"], d, strict=True)]
        extra.append({"key": f"dq-{lab}", "label": f"ΔQ {lab} − {comparison.labels[0]}", "values": values,
                      "palette": diverging_palette(span)})
    return viewer_section(result, comparison.inputs[0].analysis, extra=extra)


def render_compare_report(comparison, *, figures: list, outputs: dict, folder, viewer_html: str = "") -> str:
    """The comparison report's HTML text.

    Parameters
    ----------
    comparison : qscore.analysis.compare.Comparison
    figures : list of dict — from the figures drawn (key, title, caption, data_uri, png, svg) or notes
    outputs : dict {kind: path} — files to link to
    folder : str or Path — where the report is written
    viewer_html : str — the 3D view's section, or '' for none
    """
    folder = Path(folder)
    labels = comparison.labels
    what = "models in one map" if comparison.mode == "models" else "maps for one model"
    notes = "".join(f'<p class="warn">{escape(n)}</p>' for n in comparison.notes)
    res_cols = _residue_columns(labels)
    largest = comparison.largest_differences(500)
    ligands = comparison.ligands()
    chain_cols = [("chain", "Chain", "str", None, True), ("type", "Type", "str", None, True)]
    chain_cols += _per_input(labels, [("Q", "Q", 3)]) + _per_input(labels[1:], [("dQ", "ΔQ", 3)])
    chain_cols += _per_input(labels, [("residues_best", "Residues best:", None)])
    chain_cols = [(k, t, "num" if k.startswith("residues_best") else typ, None if k.startswith("residues_best") else dg,
                   s) for k, t, typ, dg, s in chain_cols] + [("residues_similar", "Residues similar", "num", None,
                                                              False)]
    unmatched = comparison.unmatched
    un_cols = [("input", "Only in", "str", None, True), *_KEY_COLUMNS[:4],
               ("atom_name", "Atom", "str", None, True), ("altloc", "Alt", "str", None, False)]
    counts = ", ".join(f"{x}: {int((unmatched['input'] == x).sum()):,}" for x in labels)
    files = "".join(f'<li><a href="{relative_href(p, folder)}">{escape(Path(p).name)}</a></li>'
                    for k, p in outputs.items() if k != "report_html")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Q-score comparison: {', '.join(labels)}"
    body = f"""<header><h1>Q-score comparison</h1>
<p class="sub">{plural(len(labels), 'input')}: {escape(what)} · reference {escape(labels[0])} · differences of at least
{comparison.min_difference:g} reported · qscore {escape(__version__)} · {escape(stamp)}</p>
<nav><a href="#summary">Summary</a><a href="#figures">Figures</a><a href="#chains">Chains</a>
<a href="#residues">Residues</a><a href="#ligands">Ligands</a><a href="#published">Published</a>
<a href="#unmatched">Unmatched</a><a href="#files">Files</a></nav></header>
<main>
<section id="summary"><h2>Summary</h2>{notes}
<p>{len(comparison.atoms):,} atoms are in every input. Residue by residue, <em>best</em> names the input with the
highest Q when the inputs differ by at least {comparison.min_difference:g}, else <em>similar</em>.</p>
{_summary_table(comparison)}</section>
{viewer_html}<section id="figures"><h2>Figures</h2>{figure_blocks(figures, folder)}</section>
<section id="chains"><h2>Chains</h2>{table_block("table-chains", table_spec(comparison.chains,
                                                                             drop_empty(comparison.chains, chain_cols)),
                                                     "No chains.")}</section>
<section id="residues"><h2>Residues that differ most</h2><p>Largest spread first (at most 500; the residues CSV has
every residue).</p>{table_block("table-residues", table_spec(largest, drop_empty(largest, res_cols)),
                                "No residue is in every input.")}</section>
<section id="ligands"><h2>Ligands and ions</h2>{table_block("table-ligands", table_spec(ligands,
                                                                               drop_empty(ligands, res_cols)),
                                                             "No ligands or ions.")}</section>
<section id="published"><h2>Published values</h2>{_published_block(comparison)}</section>
<section id="unmatched"><h2>Unmatched atoms</h2><p>Atoms not in every input ({escape(counts)}), matched by chain,
residue number, insertion code, atom name and altloc.</p>
{table_block("table-unmatched", table_spec(unmatched.head(2000), un_cols), "Every atom is in every input.")}</section>
<section id="files"><h2>Files</h2><ul class="files">{files}</ul></section>
</main>
<footer>Q-score: Pintilie et al., Nature Methods 17, 328–334 (2020); Acta Cryst. D (2025).</footer>"""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n'
            f'<link rel="icon" href="data:,">\n<style>{asset("report.css")}</style>\n</head>\n<body>\n{body}\n'
            f'<script>{asset("report.js")}</script>\n</body>\n</html>\n')


def write_compare_report(comparison, folder, stem: str, *, outputs: dict | None = None,
                         max_chain_plots: int = 12, viewer_result=None) -> dict:
    """Write the comparison report and its figures into ``folder``.

    Parameters
    ----------
    comparison : qscore.analysis.compare.Comparison
    folder : str or Path — existing, writable folder
    stem : str — the files' stem (``<stem>_compare_report.html``, ``<stem>_compare_figures/``)
    outputs : dict, optional — {kind: path} of files already written (linked from the report)
    max_chain_plots : int — paired residue plots for at most this many chains
    viewer_result : qscore.pipeline.QScoreResult, optional — the first input's result: with it, a 3D view of its
        model coloured by ΔQ

    Returns
    -------
    dict {kind: path} — ``report_html``, ``figures`` (the folder) and ``<figure key>_png`` / ``_svg``
    """
    from ..io.files import write_text

    folder = Path(folder)
    fig_dir = folder / f"{stem}_compare_figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    figures = _figures(comparison, fig_dir, max_chain_plots)
    written = {f"{f['key']}_{k}": f[k] for f in figures for k in ("png", "svg") if f.get(k)}
    report = folder / f"{stem}_compare_report.html"
    viewer_html = _viewer(comparison, viewer_result) if viewer_result is not None else ""
    write_text(report, render_compare_report(comparison, figures=figures, outputs=dict(outputs or {}), folder=folder,
                                             viewer_html=viewer_html))
    return {"report_html": str(report), **written, "figures": str(fig_dir)}
