"""Click options shared by the commands: one definition each, so help texts and defaults agree.

The Q-score options (``score``, ``report``, ``batch``, ``profile``, ``cc``, ``bfactors``), the analysis
options (archive percentiles, expected-Q curve: ``score``, ``report``, ``batch``), the report options
and the arguments and options ``score`` and ``report`` share.
"""

from __future__ import annotations

import functools

import click

SIGMA = click.option("--sigma", type=float, default=0.4,
                     help="Width of the reference Gaussian, Å (0.4: EMDB; 0.6: 2020 paper and MapQ).")
RESOLUTION = click.option("--resolution", "-r", type=float, default=None,
                          help="The map's reported resolution, Å (recorded; used for expected Q).")
EMDB_COMPAT = click.option("--emdb-compat", is_flag=True,
                           help="Reproduce multi-process MapQ (the EMDB's numbers) for maps whose origin is off the "
                                "voxel lattice.")
THREADS = click.option("--threads", "-j", type=click.IntRange(min=0), default=0,
                       help="Threads for scoring, the model maps and writing the CSV tables, and worker processes "
                            "for the report's figures (0: all cores).")
PERMISSIVE = click.option("--permissive", is_flag=True,
                          help="Accept integer-mode maps (read as real values) and voxel sizes outside "
                               "0.05–20 Å, with a warning.")
NUM_POINTS = click.option("--num-points", type=int, default=8, help="Advanced: points needed per shell (MapQ: 8).")
SHELL_STEP = click.option("--shell-step", type=float, default=0.1, help="Advanced: distance between shells, Å.")
MAX_RADIUS = click.option("--max-radius", type=float, default=2.0, help="Advanced: outermost shell radius, Å.")

#: parameter name -> option, in the order they appear in --help
SCORE_OPTIONS = {"sigma": SIGMA, "resolution": RESOLUTION, "emdb_compat": EMDB_COMPAT, "threads": THREADS,
                 "permissive": PERMISSIVE, "num_points": NUM_POINTS, "shell_step": SHELL_STEP,
                 "max_radius": MAX_RADIUS}


def score_options(func=None, *, exclude=()):
    """Add the Q-score options (:data:`SCORE_OPTIONS`) to a command.

    Parameters
    ----------
    func : callable, optional — the command's function (omit to get a decorator)
    exclude : sequence of str — the options to leave out

    Returns
    -------
    callable
    """
    if func is None:
        return functools.partial(score_options, exclude=exclude)
    for name, opt in reversed(SCORE_OPTIONS.items()):
        if name not in exclude:
            func = opt(func)
    return func


def _apply(func, decorators):
    for deco in reversed(decorators):
        func = deco(func)
    return func


#: the analysis options, and the Python parameters of the library they give (for the error funnel)
ANALYSIS_ALIASES = {"archive": "archive_path", "resolution_column": "archive_resolution_column",
                    "q_column": "archive_q_column", "drop_invalid": "archive_drop_invalid"}


def analysis_options(func):
    """Options of the analysis after the Q-scores: archive percentiles and the expected-Q curve."""
    return _apply(func, [
        click.option("--archive", "archive_path", default=None, metavar="FILE",
                     help="CSV of archive entries (resolution, Q-score) for percentiles; 'emdb' for the table "
                          "'qscore archive download' saved. Needs the map's resolution."),
        click.option("--archive-resolution-column", default=None, metavar="NAME",
                     help="Column of the archive holding the resolution, Å (default: recognised by name)."),
        click.option("--archive-q-column", default=None, metavar="NAME",
                     help="Column of the archive holding the Q-score (default: recognised by name)."),
        click.option("--archive-q", type=click.Choice(["emdb", "mapq"]), default="emdb",
                     help="The model Q placed among the archive's entries: 'emdb' (Q_emdb: atoms not in HOH and "
                          "not named H*, rounded to 3 decimals, as the EMDB's validation package defines its "
                          "archive values) or 'mapq' (MapQ's mean over every non-H atom)."),
        click.option("--archive-drop-invalid", is_flag=True,
                     help="Leave out archive rows with a value that is not a number, a resolution outside (0, 50] Å "
                          "or a Q outside [-1, 1] (counted) instead of refusing the archive."),
        click.option("--window", type=float, default=0.5,
                     help="Percentile window w, Å: entries with |d_i - d| <= w (paper 0.5; EMDB validation 1.0)."),
        click.option("--min-entries", type=int, default=10,
                     help="Fewest archive entries within the window for Q_relative_resolution to be given."),
        click.option("--expected-model", type=click.Path(dir_okay=False), default=None, metavar="FILE",
                     help="Expected-Q curve (JSON from 'qscore archive stats --save-model') instead of the "
                          "built-in one."),
    ])


#: the report options (``qscore report``; ``qscore score --report`` uses their defaults)
REPORT_OPTIONS = (
    click.option("--profile-atom", "profile_atoms", multiple=True, metavar="SELECTION",
                 help="Atoms whose radial profiles to draw, as 'qscore profile' selects them: CHAIN:RESIDUES:ATOMS, "
                      "e.g. A:26:CA, A:26B:CA (insertion code), A:20-22:CA+CB; repeatable; the first 9 atoms are "
                      "drawn. Default: the atoms at the 95th, 50th and 5th percentiles of Q."),
    click.option("--max-chain-plots", type=click.IntRange(0), default=12,
                 help="Residue plots for at most this many chains: those with the lowest mean Q when there are "
                      "more (the chain overview and the tables keep every chain)."),
    click.option("--no-viewer", "no_viewer", is_flag=True,
                 help="Leave the 3D view (Mol*, about 2 MB of the report) out."),
    click.option("--report-map", is_flag=True,
                 help="Show the map in the 3D view too, as an isosurface with a contour slider: cropped to the model "
                      "plus 5 Å and averaged down to at most 2 million voxels (the report says what was reduced)."),
)


def report_options(func):
    """Add the report options (:data:`REPORT_OPTIONS`) to a command."""
    return _apply(func, list(REPORT_OPTIONS))


OUT = click.option("--out", "-o", "out_dir", type=click.Path(), default=None,
                   help="Output folder (default: the model's folder).")
MODEL = click.argument("model", type=click.Path(dir_okay=False))
MAP = click.argument("map_path", metavar="MAP", type=click.Path(dir_okay=False))


#: how the annotated model holds Q (``qscore score``, ``report`` and ``qscore-mapq``)
MAPQ_LAYOUT = click.option(
    "--mapq-layout", type=click.Choice(["2.9.7", "2021"]), default="2.9.7",
    help="How <model>__Q__<map>.cif/.pdb hold Q: '2.9.7' as MapQ 2.9.7 and the EMDB's validation package "
         "(_atom_site.Q-score, 6 decimals; PDB with MapQ's REMARK 0 lines), '2021' as MapQ's 2021 files "
         "(_atom_site.Q_score, 3 decimals).")


SIDE_CHAIN_RESOLUTION = click.option(
    "--side-chain-resolution", type=float, default=4.0,
    help="With a local-resolution map: the local resolution, Å, at or below which the map is taken to resolve side "
         "chains (a low Q there reads 'possible misfit', poorer than it 'not resolved').")
LOCAL_RESOLUTION = click.option(
    "--local-resolution", "local_resolution", type=click.Path(dir_okay=False), default=None, metavar="LOCRES",
    help="A local-resolution map (MRC/CCP4, Å; ResMap, MonoRes, blocres, cryoSPARC, RELION, Phenix): each residue's "
         "local resolution, its expected band there and its reading (as expected, possible misfit, not resolved, "
         "possible over-fitting or noise).")


def scoring_command(func):
    """MODEL and MAP arguments, the scoring options, --out, --quiet, --mapq-layout, the analysis options and the
    local-resolution options: what 'qscore score' and 'qscore report' share."""
    return _apply(func, [MODEL, MAP, score_options, OUT,
                         click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary."),
                         MAPQ_LAYOUT, analysis_options, LOCAL_RESOLUTION, SIDE_CHAIN_RESOLUTION])


__all__ = ["SIGMA", "RESOLUTION", "EMDB_COMPAT", "THREADS", "PERMISSIVE", "NUM_POINTS", "SHELL_STEP", "MAX_RADIUS",
           "SCORE_OPTIONS", "score_options", "ANALYSIS_ALIASES", "analysis_options", "REPORT_OPTIONS",
           "report_options", "OUT", "MODEL", "MAP", "MAPQ_LAYOUT", "scoring_command", "LOCAL_RESOLUTION",
           "SIDE_CHAIN_RESOLUTION"]
