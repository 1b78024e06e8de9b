"""``qscore report``: score a model, then write a self-contained HTML report, its figures and ChimeraX files.

The command is built by :func:`report_command` (registered in ``qscore.cli``, whose option helpers it
uses; building it lazily avoids a circular import).  ``qscore score … --report`` writes the same
files through :func:`write_report_files`.
"""

from __future__ import annotations

import click

#: the report options (``qscore report``; ``qscore score --report`` uses their defaults)
REPORT_OPTIONS = (
    click.option("--profile-atom", "profile_atoms", multiple=True, metavar="SELECTION",
                 help="Atoms whose radial profiles to draw, as 'qscore profile' selects them: CHAIN:RESIDUES:ATOMS, "
                      "e.g. A:26:CA, A:26B:CA (insertion code), A:20-22:CA+CB; repeatable; the first 9 atoms are "
                      "drawn. Default: the atoms at the 95th, 50th and 5th percentiles of Q."),
    click.option("--max-chain-plots", type=click.IntRange(0), default=12,
                 help="Residue plots for at most this many chains (in model order); every chain stays in the "
                      "report's tables."),
)


def report_options(func):
    """Add the report options (:data:`REPORT_OPTIONS`) to a command."""
    for opt in reversed(REPORT_OPTIONS):
        func = opt(func)
    return func


def check_profile_atoms(model, profile_atoms) -> None:
    """Refuse, before any Q is computed, a profile selection that is malformed or matches no heavy atom."""
    if not profile_atoms:
        return
    import numpy as np

    from ..report.plots import select_profile_atoms

    select_profile_atoms(model.atoms, np.zeros(len(model.atoms)), list(profile_atoms))


def write_report_files(result, folder, analysis: dict, *, outputs: dict, archive=None, window=None,
                       expected_model=None, profile_atoms=None, max_chain_plots: int = 12, map_path=None) -> dict:
    """Write the report, figures and ChimeraX files; return the paths worth printing.

    Returns
    -------
    dict {kind: path}: report_html, defattr, cxc and the figures folder (each figure's PNG and SVG
    are in that folder and linked from the report)
    """
    from ..report.html import write_report

    paths = write_report(result, folder, analysis=analysis, archive=archive, window=window,
                         expected_model=expected_model, outputs=outputs, profile_atoms=list(profile_atoms or ()),
                         max_chain_plots=max_chain_plots, map_path=map_path)
    return {k: v for k, v in paths.items() if not k.endswith(("_png", "_svg"))}


def report_command() -> click.Command:
    """The ``qscore report`` click command."""
    from ..cli import handle_errors, score_and_write, scoring_command

    @click.command("report")
    @scoring_command
    @report_options
    @handle_errors
    def report(model, map_path, out_dir, quiet, archive_path, archive_resolution_column, archive_q_column, window,
               min_entries, expected_model, profile_atoms, max_chain_plots, **kw):
        """Score MODEL (PDB/mmCIF) in MAP (MRC/CCP4) and write an HTML report, figures and ChimeraX files.

        Writes what 'qscore score' writes, and <model>__Q__<map>_report.html: one file that opens
        offline (figures, style and scripts embedded) with the summary (mean Q, expected range at
        --resolution, Q-resolution, map-model CC, percentiles with --archive, atoms outside the map), the figures,
        sortable and filterable chain, residue and ligand tables with outliers highlighted, the
        parameters and versions, and links to the other files.  The figures are also saved as PNG
        and SVG in <model>__Q__<map>_figures/.  For ChimeraX: <model>__Q__<map>.defattr (atom
        attribute 'qscore') and <model>__Q__<map>.cxc (opens model and map, colours by Q; run it
        with 'open FILE.cxc' in ChimeraX).  Without --resolution the report says in place what
        needs it.
        """
        paths = score_and_write(model, map_path, out_dir=out_dir, quiet=quiet, archive_path=archive_path,
                                archive_resolution_column=archive_resolution_column,
                                archive_q_column=archive_q_column, window=window, min_entries=min_entries,
                                expected_model=expected_model, report=True, profile_atoms=profile_atoms,
                                max_chain_plots=max_chain_plots, **kw)
        if not quiet:
            click.echo(f"Report: {paths['report_html']}")

    return report
