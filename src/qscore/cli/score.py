"""``qscore score``, ``qscore report`` and ``qscore demo``: score a model in a map, analyse, write, print.

All three run :func:`qscore.pipeline.score_and_write`; ``report`` (and ``score --report``) adds the
HTML report, its figures and the ChimeraX files.
"""

from __future__ import annotations

import sys

import click

from .funnel import handle_errors
from .options import ANALYSIS_ALIASES, THREADS, report_options, scoring_command
from .printing import print_summary, progress_bar

__all__ = ["score", "report", "demo", "run_score_command"]


def run_score_command(model, map_path, *, out_dir, quiet, archive_path, archive_resolution_column, archive_q_column,
                      archive_drop_invalid, window, min_entries, expected_model, archive_q="emdb", no_cc=False,
                      report=False,
                      mapq_files=False, mapq_layout="2.9.7", emdb_json=False, profile_atoms=(), max_chain_plots=12,
                      local_resolution=None, side_chain_resolution=4.0, no_viewer=False, report_map=False,
                      **score_kwargs):
    """Check the analysis inputs, run the pipeline and print the summary: 'qscore score' and 'qscore report'.

    Parameters
    ----------
    model, map_path : str — the files
    out_dir : str or None; quiet : bool
    archive_path, archive_resolution_column, archive_q_column, archive_drop_invalid, window, min_entries,
    expected_model, archive_q, no_cc, local_resolution, side_chain_resolution : the analysis options (see
        :func:`qscore.pipeline.analysis_settings`)
    report, mapq_files, profile_atoms, max_chain_plots, no_viewer, report_map : what else to write
    mapq_layout : str — '2.9.7' or '2021', how the annotated model holds Q
    emdb_json : bool — also the EMDB validation package's ``<map file>_qscore.json``
    **score_kwargs : the Q-score options (sigma, resolution, emdb_compat, threads, permissive, …)

    Returns
    -------
    qscore.pipeline.ScoreRun
    """
    from ..pipeline import analysis_settings, score_and_write

    settings = analysis_settings(score_kwargs["sigma"], score_kwargs["resolution"], archive=archive_path,
                                 resolution_column=archive_resolution_column, q_column=archive_q_column,
                                 drop_invalid=archive_drop_invalid, window=window, min_entries=min_entries,
                                 expected_model=expected_model, correlation=not no_cc, archive_q=archive_q,
                                 local_resolution=local_resolution, side_chain_resolution=side_chain_resolution)
    score_kwargs["threads"] = score_kwargs.get("threads") or None
    run = score_and_write(model, map_path, settings, out_dir=out_dir, report=report, mapq_files=mapq_files,
                          mapq_layout=mapq_layout, emdb_json=emdb_json, profile_atoms=profile_atoms,
                          max_chain_plots=max_chain_plots, viewer=not no_viewer, report_map=report_map,
                          command=" ".join(sys.argv),
                          progress_factory=lambda n: progress_bar(n, enabled=not quiet), **score_kwargs)
    if not quiet:
        print_summary(run.result, run.paths)
    return run


@click.command()
@scoring_command
@click.option("--report", "report", is_flag=True,
              help="Also write the HTML report, its figures and the ChimeraX files, as 'qscore report' does.")
@click.option("--mapq-files", is_flag=True,
              help="Also write MapQ's per-residue table <model>__Q__<map>_All.txt (expected Q at --resolution, "
                   "else MapQ's 3.0 Å), as mapq_cmd.py and qscore-mapq do.")
@click.option("--emdb-json", is_flag=True,
              help="Also write <map file>_qscore.json as the EMDB's validation package writes it from the Q file "
                   "(Q_emdb of the model, each chain and residue, colours, Q histograms).")
@click.option("--no-cc", is_flag=True,
              help="Leave the map-model correlation (CC and CC-mean with model maps at --resolution, as 'qscore cc') "
                   "out of the summary; it is slow for huge maps.")
@handle_errors(aliases=ANALYSIS_ALIASES)
def score(model, map_path, **kw):
    """Q-score every atom of MODEL (PDB/mmCIF, .gz ok) in MAP (MRC/CCP4, .gz ok).

    Writes <model>__Q__<map>.cif (a _atom_site.Q-score column after B_iso_or_equiv, 6 decimals, as
    MapQ 2.9.7 writes it; --mapq-layout 2021 for MapQ's older Q_score column), for PDB input also
    <model>__Q__<map>.pdb (Q in the B-factor column), <model>__Q__<map>_atoms.csv (per atom) and
    <model>__Q__<map>_summary.json.  With --resolution also <model>__Q__<map>_residues.csv and
    _chains.csv, and expected Q, flags (below/within/above the 95% band), Q-resolution and, with
    --archive, percentiles in the summary, and (unless --no-cc) the map-model CC and CC-mean.  With
    --mapq-files also MapQ's <model>__Q__<map>_All.txt; with --emdb-json the EMDB validation package's
    <map file>_qscore.json.  With --local-resolution LOCRES each atom and residue also gets its local
    resolution, each residue the expected band there and a reading (as expected, possible misfit, not
    resolved, possible over-fitting or noise), counted per chain in the summary.
    With --report also the HTML report, its figures and the ChimeraX files (see 'qscore report --help').
    """
    run_score_command(model, map_path, **kw)


@click.command("report")
@scoring_command
@report_options
@handle_errors(aliases=ANALYSIS_ALIASES)
def report(model, map_path, quiet, **kw):
    """Score MODEL (PDB/mmCIF) in MAP (MRC/CCP4) and write an HTML report, figures and ChimeraX files.

    Writes what 'qscore score' writes, and <model>__Q__<map>_report.html: one file that opens
    offline (figures, style and scripts embedded) with the summary (mean Q, expected range at
    --resolution, Q-resolution, map-model CC, percentiles with --archive, atoms outside the map), the figures,
    sortable and filterable chain, residue and ligand tables with outliers highlighted, the
    parameters and versions, and links to the other files.  The figures are also saved as PNG
    and SVG in <model>__Q__<map>_figures/.  For ChimeraX: <model>__Q__<map>.defattr (atom
    attribute 'qscore') and <model>__Q__<map>.cxc (opens model and map, colours by Q; run it
    with 'open FILE.cxc' in ChimeraX).  The report has a 3D view (Mol*, embedded, offline) of the
    model coloured by residue Q, atom Q, flag or chain (--no-viewer leaves it out; --report-map adds
    the map, cropped and reduced).  Without --resolution the report says in place what needs it.
    """
    run = run_score_command(model, map_path, quiet=quiet, report=True, **kw)
    if not quiet:
        click.echo(f"Report: {run.paths['report_html']}")


@click.command()
@click.option("--out", "-o", "out_dir", type=click.Path(), default=None,
              help="Folder for the example (default: a new temporary folder).")
@THREADS
@click.option("--no-report", is_flag=True, help="Skip the HTML report, figures and ChimeraX files.")
@handle_errors
@click.pass_context
def demo(ctx, out_dir, threads, no_report):
    """Build a small helix model and a simulated 2.5 Å map and run 'qscore score --resolution 2.5
    --report' on them (no downloads): Q-scores, residue and chain tables, expected Q, map-model CC,
    the HTML report and the ChimeraX files; prints where the outputs are."""
    import tempfile

    from ..io.paths import prepare_out_dir
    from ..pipeline.demo import build_demo

    folder = prepare_out_dir(out_dir or tempfile.mkdtemp(prefix="qscore-demo-"), ".")
    inputs = build_demo(folder)
    click.echo(f"Built a 24-residue poly-Ala helix and a map simulated at {inputs['resolution']} Å in {folder}")
    ctx.invoke(score, model=inputs["model"], map_path=inputs["map"], out_dir=str(folder),
               resolution=inputs["resolution"], threads=threads, report=not no_report)
