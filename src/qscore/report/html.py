"""One self-contained HTML report of a scored model: summary, figures, tables, parameters, files.

:func:`write_report` draws the figures of :mod:`qscore.report.plots` (saved as PNG and SVG into
``<stem>_figures/``), writes the ChimeraX files (:mod:`qscore.io.chimerax`) and the report
``<stem>_report.html``.  The page opens offline: figures are embedded as SVG data URIs, the style
sheet and the small vanilla-JavaScript table code (``assets/``) are inlined, and nothing is fetched.

Tables (chains, polymer residues, ligands and ions) are embedded as JSON and drawn by the script:
sortable by any column, filterable by text and by flag, paginated — so a model with thousands of
chains or residues stays usable.  Residues and ligands outside the expected 95% band are
highlighted (and marked ▼/▲, not by colour alone).  Reads results only.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..text import plural
from .html_parts import (
    PAGE_SIZE,
    asset,
    drop_empty,
    escape,
    figure_blocks,
    number,
    relative_href,
    table_block,
    table_spec,
)

__all__ = ["write_report", "render_report", "table_spec", "page_residues", "MAX_TABLE_RESIDUES"]

#: the most residues the page's residue table holds (the residues CSV has them all): the lowest Q first
MAX_TABLE_RESIDUES = 20_000

#: descriptions of the output files a report links to, by kind
FILE_KINDS = {
    "model_cif": "the model with a Q_score column (mmCIF)",
    "model_pdb": "the model with Q in the B-factor column (PDB)",
    "atoms_csv": "per-atom table: identity, coordinates, Q, outside_map",
    "residues_csv": "per-residue table: Q, its parts, smoothed values, expected Q and flags",
    "chains_csv": "per-chain table",
    "summary_json": "summary: inputs, parameters, versions, counts, analysis",
    "mapq_all_txt": "MapQ's per-residue table",
    "defattr": "ChimeraX attribute file (atom attribute qscore)",
    "cxc": "ChimeraX script: opens model and map, colours by Q",
    "reading_defattr": "ChimeraX attribute file (residue attribute qreading: the reading against local resolution)",
    "reading_cxc": "ChimeraX script: colours residues by their reading against local resolution",
}


_RESIDUE_COLUMNS = [("chain", "Chain", "str", None, True), ("res_num", "Number", "num", None, True),
                    ("ins_code", "Ins.", "str", None, False), ("res_name", "Residue", "str", None, True),
                    ("mol_type", "Type", "str", None, True), ("n_atoms", "Atoms", "num", None, False),
                    ("Q_residue", "Q", "num", 3, False), ("Q_backbone", "Q backbone", "num", 3, False),
                    ("Q_sidechain", "Q side chain", "num", 3, False), ("Q_phosphate", "Q phosphate", "num", 3, False),
                    ("Q_sugar", "Q sugar", "num", 3, False), ("Q_base", "Q base", "num", 3, False),
                    ("Q_residue_avg5", "Q ±2 residues", "num", 3, False),
                    ("Q_low95", "95% band from (entry curve)", "num", 3, False), ("Q_high95", "to", "num", 3, False),
                    ("Q_flag", "Flag", "str", None, True)]
_CHAIN_COLUMNS = [("chain", "Chain", "str", None, True), ("type", "Type", "str", None, True),
                  ("n_residues", "Residues", "num", None, False), ("n_atoms", "Atoms", "num", None, False),
                  ("Q", "Q", "num", 3, False), ("Q_inside", "Q inside the map", "num", 3, False),
                  ("Q_low95", "95% band from (entry curve)", "num", 3, False), ("Q_high95", "to", "num", 3, False),
                  ("Q_flag", "Flag", "str", None, True), ("Q_flag_reference", "Judged against", "str", None, False),
                  ("Q_resolution_2020", "Q-resolution 2020 (Å)", "num", 2, False)]


def _summary_cards(result, s: dict, analysis) -> str:
    c = s["counts"]
    heavy = result.scored & np.isfinite(result.q)
    q = result.q[heavy]
    cards = []
    by_type = ", ".join(f"{t} {number(v['mean_q'])}" for t, v in s["mean_q_by_type"].items())
    cards.append(("Mean Q", f'<div class="big" id="mean-q">{number(s["mean_q"])}</div>'
                            f'<p>over {c["scored"]:,} scored atoms (σ {result.params.sigma:g} Å'
                            f'{", EMDB-compatible" if result.emdb_compat else ""})</p><p>{escape(by_type)}</p>'
                            + (f'<p>{number(s["mean_q_inside_map"])} over the atoms inside the map with density '
                               f'({c["outside_map"]:,} outside, {c["no_density"]:,} in no density)</p>'
                               if c["outside_map"] or c["no_density"] else "")))
    if analysis.emdb is not None:
        cards.append(("Q_emdb", f'<div class="big" id="q-emdb">{number(analysis.emdb.value)}</div>'
                                f'<p>the EMDB\'s average, over {analysis.emdb.n_atoms:,} atoms not in HOH and not '
                                'named H*, as its validation package computes it from the Q file</p>'))
    e = analysis.expected
    overall = analysis.overall
    if e is not None:
        flag = str(overall.get("Q_flag") or "")
        words = {"below": "below the 95% band", "above": "above the 95% band", "within": "within the 95% band"}
        cards.append((f"Expected at {result.resolution:g} Å",
                      f'<div class="big">{number(e.Q_peak)}</div><p>Q_peak (Q_mean {number(e.Q_mean)}); '
                      f'95% of entries {number(e.Q_low95)}–{number(e.Q_high95)}</p>'
                      f'<p class="source">from {escape(e.source)}</p>'
                      f'<p class="verdict-{escape(flag)}">Model: {escape(words.get(flag, flag))}</p>'))
    elif analysis.expected_note:
        cards.append(("Expected Q", f'<p class="verdict-none">None: {escape(analysis.expected_note)}.</p>'))
    else:
        cards.append(("Expected Q", '<p class="verdict-none">Needs the map\'s resolution: give '
                                    '<code>--resolution D</code> (Å).</p>'))
    qr = analysis.q_resolution
    lin = ", ".join(f"{t} {number(v, 2)} Å" for t, v in qr.by_type_2020.items() if v is not None)
    if qr.value is not None:
        body = (f'<div class="big">{number(qr.value, 2)} Å</div><p>the whole model\'s Q on the expected-Q curve '
                f'inverted ({escape(qr.curve)})</p>')
    else:
        body = f'<p>none: {escape(qr.note)}</p>'
    if lin:
        body += f"<p>2020 linear relations (Pintilie et al. 2020) per molecule type, inverted: {escape(lin)}</p>"
    cards.append(("Q-resolution", body))
    rel = analysis.relative
    if rel is not None:
        body = (f'<div class="big">{number(rel.Q_relative_all, 1)}%</div><p>of {rel.n_archive:,} archive '
                f'entries have a lower Q ({escape(rel.reading_all)})</p>')
        if rel.Q_relative_resolution is not None:
            body += (f'<p><strong>{number(rel.Q_relative_resolution, 1)}%</strong> of the {rel.n_window:,} within '
                     f'±{rel.window:g} Å ({escape(rel.reading_resolution)})</p>')
        elif rel.note:
            body += f"<p>{escape(rel.note)}</p>"
        cards.append(("Percentile in the archive", body))
    else:
        cards.append(("Percentile in the archive", "<p>No archive given: add <code>--archive FILE</code> (with "
                                                   "<code>--resolution</code>) for Q_relative.</p>"))
    corr = analysis.correlation
    if corr is not None:
        names = {"molmap": "molmap", "emodel": "electron scattering"}
        lines = []
        for key, cc in corr.sections().items():
            if cc.skipped is None:
                lines.append(f"<p>{names[key]}: CC {number(cc.cc)}, CC-mean <strong>{number(cc.cc_mean)}</strong></p>")
            else:
                lines.append(f"<p>{names[key]}: skipped ({escape(cc.skipped)})</p>")
        cards.append((f"Map–model correlation at {corr.resolution:g} Å", "".join(lines)))
    if len(q):
        p = np.percentile(q, [5, 25, 50, 75, 95])
        cards.append(("Atom Q percentiles", "<p>5% {} · 25% {} · <strong>50% {}</strong> · 75% {} · 95% {}</p>"
                      .format(*(number(v) for v in p)) + f"<p>range {number(q.min())} to {number(q.max())}</p>"))
    out = c["outside_map"]
    cards.append(("Atoms outside the map", f'<div class="big{" verdict-below" if out else ""}" id="outside-map">'
                                           f'{out:,}</div><p>of {c["scored"]:,} scored atoms'
                                           + (" — their Q is near 0: check that model and map are aligned"
                                              if out else "") + "</p>"))
    fc = analysis.flag_counts
    if fc is not None:
        body = (f'<p><span class="verdict-below">▼ {fc.residues_below:,}</span> below and '
                f'<span class="verdict-above">▲ {fc.residues_above:,}</span> above, of {fc.residues:,} '
                "residues</p>")
        if fc.residues_outside_map or fc.residues_no_density:
            body += (f"<p>not judged: {fc.residues_outside_map:,} outside the map, {fc.residues_no_density:,} "
                     "in no density</p>")
        if fc.ligands:
            body += (f'<p>ligands: {fc.ligands_below:,} below, {fc.ligands_above:,} above, of '
                     f'{fc.ligands:,}</p>')
        cards.append(("Outside the 95% band", body))
    cards.append(("Model", f'<p>{plural(c["atoms"], "atom")} ({c["hydrogens"]:,} H), '
                           f'{plural(c["residues"], "residue")}, {plural(c["chains"], "chain")}</p>'))
    body = "".join(f'<div class="card"><h3>{escape(t)}</h3>{b}</div>' for t, b in cards)
    return f'<div class="cards">{body}</div>'


def _model_table(analysis) -> str:
    m = analysis.model
    cols = [("group", "Group", None), ("n_residues", "Residues", 0), ("n_atoms", "Atoms", 0), ("Q", "Q", 3),
            ("Q_flag", "Flag", None), ("Q_expected_2020", "Expected (2020 relation)", 3),
            ("Q_resolution_2020", "Q-resolution 2020 (Å)", 2)]
    cols = [c for c in cols if c[0] in m.columns and not (c[2] is not None and m[c[0]].isna().all())]
    head = "".join(f'<th{" class=num" if d is not None else ""}>{escape(lab)}</th>' for _, lab, d in cols)
    body = []
    for _, row in m.iterrows():
        cells = []
        for key, _, d in cols:
            v = row[key]
            cells.append(f"<td class=num>{number(v, d) if d else f'{int(v):,}'}</td>" if d is not None
                         else f"<td>{escape(v if v == v else '')}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="plain"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _params_block(s: dict, analysis, archive_info: dict | None) -> str:
    rows = [("Model", s["inputs"]["model"]), ("Map", s["inputs"]["map"]), ("Command", s["command"])]
    rows += [(f"parameter: {k}", v) for k, v in s["parameters"].items()]
    mp = s["map"]
    rows += [("map grid (x, y, z)", ", ".join(str(v) for v in mp.get("grid", []))),
             ("voxel size (Å)", ", ".join(f"{v:.4g}" for v in mp.get("voxel_size", []))),
             ("origin (Å)", ", ".join(f"{v:.4g}" for v in mp.get("origin", [])))]
    stats = mp.get("stats", {})
    rows += [(f"map {k}", number(v, 5)) for k, v in stats.items()]
    for note in mp.get("notes") or []:
        rows.append(("map note", note))
    if analysis.expected is not None:
        rows.append(("expected-Q curve", analysis.expected.source))
    if archive_info:
        rows += [(f"archive: {k}", v) for k, v in archive_info.items()]
    rows += [(f"version: {k}", v) for k, v in s["versions"].items()]
    rows.append(("run time (s)", s["elapsed_s"]))
    return '<dl class="params">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def page_residues(poly, csv_path, folder, limit: int = MAX_TABLE_RESIDUES) -> tuple:
    """The residues the page's table holds, and a note when that is not all of them.

    Up to ``limit`` residues the table holds every one; beyond, the ``limit`` with the lowest Q (those
    without a Q first), in model order, so that the page stays small while the residues worth a look are in it.

    Parameters
    ----------
    poly : DataFrame — protein and nucleic residues (``Analysis.residues`` rows)
    csv_path : str or None — the residues CSV, linked from the note
    folder : Path — where the page is
    limit : int

    Returns
    -------
    (DataFrame, str) — the rows, and an HTML note ('' when every residue is shown)
    """
    if len(poly) <= limit:
        return poly, ""
    q = poly["Q_residue"].to_numpy(dtype=float)
    keep = np.sort(np.argsort(np.where(np.isfinite(q), q, -np.inf), kind="stable")[:limit])
    where = (f'<a href="{relative_href(csv_path, Path(folder))}">{escape(Path(csv_path).name)}</a>' if csv_path
             else "the residues CSV (<code>qscore score</code> writes it)")
    note = (f'<p class="note" id="residues-limited">The model has {len(poly):,} protein and nucleic residues; this '
            f"table holds the {limit:,} with the lowest Q (those without one first) to keep the page small. Every "
            f"residue is in {where}.</p>")
    return poly.iloc[keep], note


def render_report(result, analysis, *, figures: list, outputs: dict, folder, archive_info: dict | None = None,
                  page_size: int = PAGE_SIZE, viewer_html: str = "") -> str:
    """The report's HTML text.

    Parameters
    ----------
    result : qscore.pipeline.QScoreResult
    analysis : qscore.analysis.results.Analysis
    figures : list of dict — each with key, title, caption and either ``data_uri``, ``png`` and ``svg``
        (a drawn figure) or ``note`` (why it is not drawn)
    outputs : dict {kind: path} — files to link to (paths relative to ``folder`` become relative links)
    folder : str or Path — where the report is written
    archive_info : dict, optional — where the archive came from (shown with the parameters)
    page_size : int — table rows per page at first
    viewer_html : str — the 3D view's section (:func:`qscore.report.viewer.viewer_section`), or '' for none
    """
    folder = Path(folder)
    s = result.summary()
    model_name, map_name = Path(s["inputs"]["model"]).name, Path(s["inputs"]["map"] or "(in memory)").name
    res_text = f" at {result.resolution:g} Å" if result.resolution is not None else ""
    title = f"Q-score report: {model_name} in {map_name}"
    notes = []
    if result.resolution is None:
        notes.append('<p class="warn" id="no-resolution">No resolution given: the expected Q, the 95% band, the flags '
                     'and the archive percentiles need the map\'s resolution. Run again with '
                     '<code>--resolution D</code> (Å).</p>')
    if s["counts"]["outside_map"]:
        notes.append(f'<p class="warn">{s["counts"]["outside_map"]:,} of {s["counts"]["scored"]:,} scored atoms lie '
                     "outside the map box; their Q is near 0. Check that model and map are aligned.</p>")
    for note in s["map"].get("notes") or []:
        notes.append(f'<p class="note">Map: {escape(note)}</p>')

    residues = analysis.residues
    poly = residues[residues["mol_type"].isin(["protein", "nucleic"])]
    flag = "Q_flag" if "Q_flag" in residues.columns else None
    poly, res_note = page_residues(poly, outputs.get("residues_csv"), folder)
    res_spec = table_spec(poly, drop_empty(poly, _RESIDUE_COLUMNS), flag=flag, page_size=page_size)
    chains = analysis.chains
    chain_spec = table_spec(chains, drop_empty(chains, _CHAIN_COLUMNS),
                            flag="Q_flag" if "Q_flag" in chains.columns else None, page_size=page_size)
    flag_legend = ""
    if flag:
        flag_legend = ('<p>Rows outside the expected 95% band are highlighted: <span class="legend-swatch" '
                       'style="background:var(--below-bg)"></span>▼ below Q_low95 <span class="legend-swatch" '
                       'style="background:var(--above-bg)"></span>▲ above Q_high95. Click a column header to sort; '
                       "type in the box to filter.</p>")
    else:
        flag_legend = "<p>Click a column header to sort; type in the box to filter.</p>"

    files = []
    for kind, path in outputs.items():
        files.append(f'<li><a href="{relative_href(path, folder)}">{escape(Path(path).name)}</a> — '
                     f"{escape(FILE_KINDS.get(kind, kind.replace('_', ' ')))}</li>")
    for f in figures:
        if f.get("png"):
            files.append(f'<li><a href="{relative_href(f["png"], folder)}">{escape(Path(f["png"]).name)}</a>, '
                         f'<a href="{relative_href(f["svg"], folder)}">{escape(Path(f["svg"]).name)}</a> — figure: '
                         f'{escape(f["title"])}</li>')
    from .._version import __version__
    from .ligand_html import ligand_section

    viewer_nav = '<a href="#viewer">3D view</a>' if viewer_html else ""
    local_html = local_nav = ""
    if analysis.local is not None:
        from .local_html import local_section

        local_html, local_nav = local_section(analysis), '<a href="#local-resolution">Local resolution</a>'
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""<header>
<h1>Q-score report</h1>
<p class="sub"><strong>{escape(model_name)}</strong> in <strong>{escape(map_name)}</strong>{escape(res_text)} ·
σ {result.params.sigma:g} Å · qscore {escape(__version__)} · {escape(stamp)}</p>
<nav><a href="#summary">Summary</a>{viewer_nav}<a href="#figures">Figures</a><a href="#chains">Chains</a>
<a href="#residues">Residues</a><a href="#ligands">Ligands</a>{local_nav}<a href="#parameters">Parameters</a>
<a href="#files">Files</a></nav>
</header>
<main>
<section id="summary"><h2>Summary</h2>{"".join(notes)}{_summary_cards(result, s, analysis)}
<h3>By molecule type</h3>{_model_table(analysis)}</section>
{viewer_html}<section id="figures"><h2>Figures</h2>{figure_blocks(figures, folder)}</section>
<section id="chains"><h2>Chains</h2>{flag_legend}
{table_block("table-chains", chain_spec, "No chains.")}</section>
<section id="residues"><h2>Residues (protein and nucleic acid)</h2>
{res_note}{table_block("table-residues", res_spec, "The model has no protein or nucleic-acid residues.")}</section>
{ligand_section(result, analysis, page_size=page_size, viewer=bool(viewer_html))}
{local_html}
<section id="parameters"><h2>Parameters and versions</h2>{_params_block(s, analysis, archive_info)}</section>
<section id="files"><h2>Files</h2><p>Links are relative to this report's folder.</p>
<ul class="files">{"".join(files)}</ul></section>
</main>
<footer>Q-score: Pintilie et al., Nature Methods 17, 328–334 (2020); Acta Cryst. D (2025). Computed as MapQ does.
</footer>"""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="data:,">
<style>{asset("report.css")}</style>
</head>
<body>
{body}
<script>{asset("report.js")}</script>
</body>
</html>
"""


def _write_chimerax_files(result, analysis, folder, stem: str, links: dict, map_path) -> dict:
    """The ChimeraX files of a report (and, read against local resolution, the reading files): {kind: path}."""
    from ..io.chimerax import write_chimerax

    written = write_chimerax(result, folder, stem, model_path=links.get("model_cif"), map_path=map_path,
                             expected=analysis.expected)
    if analysis.local is not None:
        from ..io.chimerax import write_reading_files
        from .common import READING_COLOURS

        written.update(write_reading_files(analysis.residues, folder, stem, colours=READING_COLOURS,
                                           model_path=links.get("model_cif") or result.model.path,
                                           map_path=map_path or result.dmap.path or None,
                                           source=analysis.local.source))
    return written


def write_report(result, analysis, folder, *, archive=None, curve=None, outputs: dict | None = None,
                 profile_atoms=None, max_chain_plots: int = 12, chimerax: bool = True, map_path=None,
                 viewer: bool = True, report_map: bool = False, profiles: tuple | None = None) -> dict:
    """Write the figures, the ChimeraX files and the HTML report of ``result`` into ``folder``.

    Parameters
    ----------
    result : qscore.pipeline.QScoreResult — radial-profile figure only when scored with ``profiles=True``
    analysis : qscore.analysis.results.Analysis — the analysis of ``result`` (``result.analyse(...)``)
    folder : str or Path — existing, writable folder
    archive : qscore.types.ArchiveData, optional — the archive of the percentiles (for their figure)
    curve : qscore.types.ExpectedModel, optional — the expected-Q curve (for the archive figure)
    outputs : dict, optional — {kind: path} of files already written (linked from the report)
    profile_atoms : list of str, optional — atoms for the profile figure, ``CHAIN:NUMBER:ATOM``
    max_chain_plots : int — residue plots for at most this many chains
    chimerax : bool — also write ``<stem>.defattr`` and ``<stem>.cxc``
    map_path : the map file the ChimeraX script opens (default: the scored map's file)
    viewer : bool — the 3D view (Mol*, embedded; about 2 MB)
    report_map : bool — the map in the 3D view too (cropped to the model and reduced; see :mod:`qscore.report.viewer`)
    profiles : tuple, optional — the profile figure's atoms and table (:func:`qscore.report.plots.profile_selection`),
        for a result that keeps no profiles of its own

    Returns
    -------
    dict {kind: path} of the files written: ``report_html``, ``defattr``, ``cxc``, ``figures``
    (the folder) and ``<figure key>_png`` / ``_svg``
    """
    from ..io.files import write_text
    from ..io.paths import output_stem
    from .plots import report_figures
    from .render import render_figures

    folder = Path(folder)
    stem = output_stem(result.model.path, result.dmap.path or "map")
    fig_dir = folder / f"{stem}_figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    written: dict = {}
    figures = []
    rel = analysis.relative
    specs = list(report_figures(result, analysis, archive=archive, curve=curve, profile_atoms=profile_atoms,
                                max_chain_plots=max_chain_plots, window=rel.window if rel else None,
                                profiles=profiles))
    links = dict(outputs or {})
    side = {"viewer": ""}

    def meanwhile():  # the work of the page besides its figures, done while worker processes draw those
        if chimerax:
            side["chimerax"] = _write_chimerax_files(result, analysis, folder, stem, links, map_path)
        if viewer:
            from .viewer import viewer_section

            side["viewer"] = viewer_section(result, analysis, report_map=report_map)

    drawn = render_figures(specs, fig_dir, meanwhile=meanwhile)
    for f in specs:
        entry = {"key": f.key, "title": f.title, "caption": f.caption, "note": f.note, "meta": f.meta}
        if f.key in drawn:
            entry.update(drawn[f.key])
            written[f"{f.key}_png"], written[f"{f.key}_svg"] = entry["png"], entry["svg"]
        figures.append(entry)
    written.update(side.get("chimerax", {}))
    links.update(side.get("chimerax", {}))
    report = folder / f"{stem}_report.html"
    archive_info = None
    if rel is not None:
        archive_info = dict(rel.archive or {})
        archive_info.update(window=rel.window, min_entries=rel.min_entries)
    viewer_html = side["viewer"]
    write_text(report, render_report(result, analysis, figures=figures, outputs=links, folder=folder,
                                     archive_info=archive_info, viewer_html=viewer_html))
    return {"report_html": str(report), **written, "figures": str(fig_dir)}
