"""The ``qscore`` command line: thin commands over the library; the only place that prints or exits.

Errors of the package (:class:`qscore.errors.QScoreError`) become one line on stderr and exit
code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import logging
import sys
import warnings

import click

from . import __version__
from .commands.archive import archive
from .commands.archive_download import download
from .commands.batch import batch_command
from .commands.options import THREADS, score_options
from .commands.profile import bfactors, cc, profile
from .commands.report import report_command
from .errors import QScoreError, QScoreWarning

log = logging.getLogger("qscore")

EXIT_BAD_INPUT = 2


class QScoreCommandError(click.ClickException):
    """A QScoreError reported by the CLI: one line, exit code 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


def handle_errors(func):
    """Turn the package's errors into one clear line and exit code 2 (traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = (ctx.find_root().obj or {}).get("debug", False)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", QScoreWarning)  # reported through the logger
                return func(*args, **kwargs)
        except QScoreError as exc:
            if debug:
                raise
            raise QScoreCommandError(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted; no partial output was left.", err=True)
            ctx.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="qscore")
@click.option("-v", "--verbose", count=True, help="More messages (-vv for debugging output).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx, verbose, debug):
    """Q-scores: how well each atom of a model is resolved in a cryo-EM map.

    Lengths are in Å. Q is the correlation of the map values around each atom with a Gaussian
    of width sigma (Pintilie et al., Nature Methods 2020; Acta Cryst. D 2025), computed exactly as
    MapQ does.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)


def _progress_bar(total_hint: int, enabled: bool):
    """A tqdm progress callback for long runs (None when not wanted)."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = None

    def update(done, total):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="atom", unit_scale=True, desc="Q-scores", file=sys.stderr,
                       mininterval=0.5)
        bar.update(done - bar.n)

    def close():
        if bar is not None:
            bar.close()

    return update, close


def analysis_options(func):
    """Options of the analysis after the Q-scores: archive percentiles and the expected-Q curve."""
    opts = [
        click.option("--archive", "archive_path", default=None, metavar="FILE",
                     help="CSV of archive entries (resolution, Q-score) for percentiles; 'emdb' for the table "
                          "'qscore archive download' saved. Needs the map's resolution."),
        click.option("--archive-resolution-column", default=None, metavar="NAME",
                     help="Column of the archive holding the resolution, Å (default: recognised by name)."),
        click.option("--archive-q-column", default=None, metavar="NAME",
                     help="Column of the archive holding the Q-score (default: recognised by name)."),
        click.option("--window", type=float, default=0.5,
                     help="Percentile window w, Å: entries with |d_i - d| <= w (paper 0.5; EMDB validation 1.0)."),
        click.option("--min-entries", type=int, default=10,
                     help="Fewest archive entries within the window for Q_relative_resolution to be given."),
        click.option("--expected-model", type=click.Path(dir_okay=False), default=None, metavar="FILE",
                     help="Expected-Q curve (JSON from 'qscore archive stats --save-model') instead of the "
                          "built-in one."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func



def scoring_command(func):
    """MODEL and MAP arguments, the scoring options, --out, --quiet and the analysis options: what
    'qscore score' and 'qscore report' share."""
    for deco in reversed([
        click.argument("model", type=click.Path(dir_okay=False)),
        click.argument("map_path", metavar="MAP", type=click.Path(dir_okay=False)),
        score_options,
        click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False), default=None,
                     help="Output folder (default: the model's folder)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary."),
        analysis_options,
    ]):
        func = deco(func)
    return func

def run_score(model, map_path, *, sigma, resolution, emdb_compat, threads, permissive, num_points,
              shell_step, max_radius, quiet=False, profiles=False, subset=None):
    """Score with the CLI's progress bar and warnings; returns the result.

    ``model`` is a path or a Model already read; ``profiles`` keeps the atoms' radial profiles;
    ``subset`` (a mask of the atoms) scores only those (see :func:`qscore.score`)."""
    from .api import score

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QScoreWarning)
        from .io.models import Model, read_model

        mdl = model if isinstance(model, Model) else read_model(model)
        progress, close = _progress_bar(len(mdl.atoms), enabled=not quiet and len(mdl.atoms) > 20000)
        try:
            result = score(mdl, map_path, sigma=sigma, resolution=resolution, emdb_compat=emdb_compat,
                           threads=threads or None, permissive=permissive, num_points=num_points,
                           shell_step=shell_step, max_radius=max_radius, profiles=profiles, subset=subset,
                           progress=progress)
        finally:
            close()
    for w in caught:
        click.echo(f"Warning: {w.message}", err=True)
    return result


def _fmt(v, spec=".4f", none="–") -> str:
    return none if v is None or (isinstance(v, float) and v != v) else format(v, spec)


def _residue_id(r: dict) -> str:
    return f"{r['chain']} {r['res_name']} {r['res_num']}{r.get('ins_code') or ''}"


def print_analysis(a: dict, max_rows: int = 20) -> None:
    """The expected-Q, Q-resolution, chain, worst-residue, ligand and percentile lines of a summary."""
    e = a.get("expected")
    overall = a["model"][0]
    if e is not None:
        click.echo(f"Expected Q at {a['resolution']:g} Å ({e['source']}): Q_mean {e['Q_mean']:.4f}, peak "
                   f"{e['Q_peak']:.4f}, 95% band {e['Q_low95']:.4f} to {e['Q_high95']:.4f}; model "
                   f"{overall['Q']:.4f}: {overall['Q_flag']}")
    qr = a["q_resolution"]
    lin = ", ".join(f"{t} {_fmt(v, '.2f')} Å" for t, v in qr.get("by_type_2020", {}).items() if v is not None)
    if qr["value"] is not None:
        click.echo(f"Q-resolution {qr['value']:.2f} Å (the curve inverted)" + (f"; 2020 relations: {lin}" if lin
                                                                                else ""))
    else:
        click.echo(f"Q-resolution: none ({qr['note']})" + (f"; 2020 relations: {lin}" if lin else ""))
    click.echo("Chains (mean over atoms):")
    for c in a["chains"][:max_rows]:
        line = (f"  {c['chain']:>4s} {c['type']:8s} {c['n_residues']:6d} res {c['n_atoms']:7d} atoms  "
                f"Q {_fmt(c['Q'])}")
        if e is not None:
            line += f"  {c['Q_flag'] or '–'}"
        if c.get("Q_resolution") is not None:
            line += f"  Q-res {c['Q_resolution']:.2f} Å"
        click.echo(line)
    if len(a["chains"]) > max_rows:
        click.echo(f"  … {len(a['chains']) - max_rows} more in the chains table")
    fc = a.get("flag_counts")
    if fc:
        click.echo(f"Flags: {fc['residues_below']} of {fc['residues']} residues below Q_low95, "
                   f"{fc['residues_above']} above Q_high95" + (
                       f"; {fc['ligands_below']} of {fc['ligands']} ligands below, {fc['ligands_above']} above"
                       if fc["ligands"] else ""))
    if a["worst_residues"]:
        click.echo("Worst residues: " + "; ".join(
            f"{_residue_id(r)} {_fmt(r['Q_residue'], '.3f')}" for r in a["worst_residues"]))
    if a["ligands"]:
        shown = a["ligands"][:10]
        click.echo("Ligands (worst first): " + "; ".join(
            f"{_residue_id(r)} {_fmt(r['Q_residue'], '.3f')}" + (f" ({r['Q_flag']})" if r.get("Q_flag") else "")
            for r in shown) + (f"; … {len(a['ligands']) - 10} more" if len(a["ligands"]) > 10 else ""))
    rel = a.get("relative")
    if rel is not None:
        src = rel["archive"]
        click.echo(f"Relative Q against {rel['n_archive']} archive entries: Q_relative_all "
                   f"{_fmt(rel['Q_relative_all'], '.1f')}% ({rel['reading_all']})")
        if rel["Q_relative_resolution"] is not None:
            click.echo(f"  Q_relative_resolution {rel['Q_relative_resolution']:.1f}% of {rel['n_window']} entries "
                       f"within ±{rel['window']:g} Å of {rel['resolution']:g} Å ({rel['reading_resolution']})")
        else:
            click.echo(f"  {rel['note']}")
        if rel.get("sigma_note"):
            click.echo(f"  Note: {rel['sigma_note']}")
        if src.get("dropped"):
            click.echo(f"  ({src['dropped']} archive rows without a resolution or Q were left out)")


def print_summary(result, paths: dict, analysis: dict | None = None) -> None:
    s = result.summary()
    c = s["counts"]
    click.echo(f"Model  {s['inputs']['model']}  ({c['atoms']} atoms, {c['scored']} scored, "
               f"{c['residues']} residues, {c['chains']} chains)")
    mp = s["map"]
    click.echo(f"Map    {s['inputs']['map']}  grid {mp['grid']}, voxel "
               f"{', '.join(f'{v:.4g}' for v in mp['voxel_size'])} Å, origin "
               f"{', '.join(f'{v:.4g}' for v in mp['origin'])} Å")
    p = s["parameters"]
    click.echo(f"Q-score (sigma {p['sigma']} Å{', EMDB-compatible' if p['emdb_compat'] else ''}): "
               f"mean {s['mean_q']:.4f} over {c['scored']} atoms")
    for t, v in s["mean_q_by_type"].items():
        click.echo(f"  {t:8s} {v['mean_q']:.4f}  ({v['atoms']} atoms)")
    if c["outside_map"]:
        click.echo(f"Warning: {c['outside_map']} of {c['scored']} atoms lie outside the map box; "
                   "their Q is near 0. Check that model and map are aligned.", err=True)
    if analysis is not None:
        print_analysis(analysis)
    if result.resolution is None:
        click.echo("No resolution given: add --resolution D (Å) for expected Q, flags, residue and chain "
                   "tables and percentiles.")
    click.echo(f"Time   {s['elapsed_s']:.2f} s with {p['threads']} threads")
    click.echo("Wrote:")
    for path in paths.values():
        click.echo(f"  {path}")


@main.command()
@scoring_command
@click.option("--report", "report", is_flag=True,
              help="Also write the HTML report, its figures and the ChimeraX files, as 'qscore report' does.")
@click.option("--mapq-files", is_flag=True,
              help="Also write MapQ's per-residue table <model>__Q__<map>_All.txt (expected Q at --resolution, "
                   "else MapQ's 3.0 Å), as mapq_cmd.py and qscore-mapq do.")
@click.option("--no-cc", is_flag=True,
              help="Leave the map-model correlation (CC and CC-mean with model maps at --resolution, as 'qscore cc') "
                   "out of the summary; it is slow for huge maps.")
@handle_errors
def score(model, map_path, out_dir, quiet, archive_path, archive_resolution_column, archive_q_column, window,
          min_entries, expected_model, report, mapq_files, no_cc, **kw):
    """Q-score every atom of MODEL (PDB/mmCIF, .gz ok) in MAP (MRC/CCP4, .gz ok).

    Writes <model>__Q__<map>.cif (a Q_score column after B_iso_or_equiv), for PDB input also
    <model>__Q__<map>.pdb (Q in the B-factor column), <model>__Q__<map>_atoms.csv (per atom) and
    <model>__Q__<map>_summary.json.  With --resolution also <model>__Q__<map>_residues.csv and
    _chains.csv, and expected Q, flags (below/within/above the 95% band), Q-resolution and, with
    --archive, percentiles in the summary, and (unless --no-cc) the map-model CC and CC-mean.  With
    --mapq-files also MapQ's <model>__Q__<map>_All.txt.
    With --report also the HTML report, its figures and the ChimeraX files (see 'qscore report --help').
    """
    score_and_write(model, map_path, out_dir=out_dir, quiet=quiet, archive_path=archive_path,
                    archive_resolution_column=archive_resolution_column, archive_q_column=archive_q_column,
                    window=window, min_entries=min_entries, expected_model=expected_model, report=report,
                    mapq_files=mapq_files, correlation=not no_cc, **kw)


def score_and_write(model, map_path, *, out_dir, quiet, archive_path, archive_resolution_column, archive_q_column,
                    window, min_entries, expected_model, report=False, mapq_files=False, correlation=True,
                    profile_atoms=(), max_chain_plots=12, **kw) -> dict:
    """What 'qscore score' and 'qscore report' run: check the analysis inputs, score, analyse, write
    the files (with ``report`` the HTML report, figures and ChimeraX files; with ``mapq_files`` MapQ's
    table), list them in the summary and print it.  Returns {kind: path} of the files written."""
    from .api import analysis_inputs
    from .outputs import analyse_and_write, prepare_out_dir, record_outputs

    archive, curve = analysis_inputs(kw["sigma"], kw["resolution"], archive_path, archive_resolution_column,
                                     archive_q_column, window, min_entries, expected_model)
    if profile_atoms:  # a bad selection is refused before anything is written or computed
        from .commands.report import check_profile_atoms
        from .io.models import read_model

        model_path, model = model, read_model(model)
        check_profile_atoms(model, profile_atoms)
    else:
        model_path = model
    folder = prepare_out_dir(out_dir, model_path)
    result = run_score(model, map_path, quiet=quiet, profiles=report, **kw)
    analysis, paths = analyse_and_write(result, folder, archive=archive, window=window, min_entries=min_entries,
                                        expected_model=curve, correlation=correlation)
    if mapq_files:
        from .outputs import write_mapq_files

        paths.update(write_mapq_files(result, folder, residues=analysis["residues"]))
    if report:
        from .commands.report import write_report_files

        paths.update(write_report_files(result, folder, analysis, outputs=dict(paths), archive=archive, window=window,
                                        expected_model=curve, profile_atoms=profile_atoms,
                                        max_chain_plots=max_chain_plots, map_path=map_path))
    if mapq_files or report:
        record_outputs(paths)
    if not quiet:
        print_summary(result, paths, analysis["summary"])
        if "correlation" in analysis:
            from .commands.profile import correlation_lines

            click.echo("\n".join(correlation_lines(analysis["correlation"])))
    return paths


@main.command()
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False), default=None,
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

    from .demo import build_demo
    from .outputs import prepare_out_dir

    folder = prepare_out_dir(out_dir or tempfile.mkdtemp(prefix="qscore-demo-"), ".")
    inputs = build_demo(folder)
    click.echo(f"Built a 24-residue poly-Ala helix and a map simulated at {inputs['resolution']} Å in {folder}")
    ctx.invoke(score, model=inputs["model"], map_path=inputs["map"], out_dir=str(folder),
               resolution=inputs["resolution"], threads=threads, report=not no_report)


main.add_command(archive)
archive.add_command(download)
main.add_command(profile)
main.add_command(cc)
main.add_command(bfactors)
main.add_command(batch_command())
main.add_command(report_command())


if __name__ == "__main__":  # pragma: no cover
    main()
