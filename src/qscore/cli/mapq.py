"""Drop-in replacement for MapQ's command line, ``mapq_cmd.py`` (console script ``qscore-mapq``).

This module parses MapQ's arguments and prints; :func:`qscore.pipeline.mapq.run_mapq` does the work.

Pipelines such as the EMDB validation package run MapQ as ::

    python mapq_cmd.py /path/to/Chimera map=emd.map pdb=model.pdb np=4 res=3.2 sigma=0.4

and parse the files it leaves next to the model.  ``qscore-mapq`` takes the same arguments and
writes the same files with the same numbers::

    qscore-mapq /path/to/Chimera map=emd.map pdb=model.pdb np=4 res=3.2 sigma=0.4

Arguments, as MapQ 1.9 reads them (``mapq_cmd.py`` in github.com/gregdp/mapq):

* a path to UCSF Chimera — accepted and ignored (no Chimera is needed).  MapQ takes any directory;
  here the first argument is also taken as the Chimera path when it does not exist and is not named
  like a map or model (a pipeline's Chimera path on another machine).  An argument ending in
  ``mapq_cmd.py`` is skipped, as MapQ skips its own name.
* the map and the model(s) as paths, recognised by their extension (``.mrc``, ``.map``, ``.ccp4``;
  ``.pdb``, ``.ent``, ``.cif``, ``.mmcif``; optionally ``.gz``), or as ``map=``, ``pdb=``, ``cif=``.
  One map and at least one model; every model is scored against the map (PDB models first, as MapQ).
* ``np=`` number of processes (default 1), ``res=`` the map's resolution in Å (default 3.0; only
  used for the expected Q of the table), ``sigma=`` of the reference Gaussian in Å (default 0.6,
  MapQ's; the EMDB reports 0.4), ``bfactor=f`` (default off) to also write B-factors
  B = f·(1 − Q).
* ``--mapq-layout 2021`` (or ``--mapq-layout=2021``): MapQ's 2021 file layout; ``--emdb-json``: also
  the EMDB validation package's ``<map file>_qscore.json`` (:mod:`qscore.analysis.emdb`);
  ``-v``/``--version``; ``-h``/``--help``.

As the EMDB's validation package calls it — all models of an entry as ``cif=`` in one call, ``np=``
up to the number of atoms, the Chimera path first — it works unchanged.  That package skips entries
finer than 1.25 Å; ``qscore-mapq`` says so and computes them.  Its output has no line with the word
"error" unless something failed (the package scans for that word).

``np`` > 1 selects the EMDB-compatible computation (``emdb_compat=True``), because multi-process
MapQ, whose numbers the EMDB publishes, resamples the map onto a lattice through the origin before
scoring (docs/science.md §2); ``np`` = 1 gives single-process MapQ's values.  ``np`` is also the number of
threads used.  Unlike MapQ, which prints a message and goes on with its default, a value that is
not a number, an unknown ``key=value`` or a file that cannot be found is an error: one line on
stderr, exit code 2, and no file is written.  Integer-mode maps, which Chimera reads, are accepted
(as ``qscore score --permissive``).

Files written next to each model, named as MapQ names them (``<model>``/``<map>``: file names
without extension):

* the model with its Q-scores, as MapQ 2.9.7 writes it (what the EMDB's validation package reads):
  ``<model file>__Q__<map file>.cif`` for an mmCIF model, the model with a ``_atom_site.Q-score``
  column after ``B_iso_or_equiv`` (``%f``: 6 decimals; ``?`` for atoms without a Q), or
  ``<model file>__Q__<map file>.pdb`` for a PDB model, Q in the B-factor column after MapQ's
  ``REMARK   0`` lines.  ``--mapq-layout 2021`` writes MapQ's 2021 files instead:
  ``<model>__Q__<map>.cif`` with ``_atom_site.Q_score`` (3 decimals), names without extensions;
* MapQ's per-chain and per-residue table (:mod:`qscore.io.mapq_files`): ``<model file>_All.txt``
  for an mmCIF model and ``<model file>__Q__<map file>_All.txt`` for a PDB one (2021:
  ``<model>__Q__<map>_All.txt``);
* with ``bfactor=f`` (f > 0; MapQ ignores 0 and negative values): ``<model>_B<f>.pdb`` (f written as
  ``%.0f``), the model in PDB format with B = f·(1 − Q) on every atom (hydrogens take their heavy
  atom's Q; an atom without a Q gets B 0), as MapQ's ``Calc`` writes it.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from .._version import __version__
from ..errors import InputFileError, ParameterError
from ..io.writers import MAPQ_LAYOUTS
from ..pipeline.mapq import DEFAULT_BFACTOR, DEFAULT_NP, DEFAULT_RES, DEFAULT_SIGMA, kind_by_name
from ..text import plural
from ..types import check_resolution
from .funnel import handle_errors

__all__ = ["MapQArgs", "parse_mapq_args", "main", "USAGE"]

KEYS = ("map", "pdb", "cif", "np", "res", "sigma", "bfactor")
#: below this resolution (Å) the EMDB's validation package skips Q-scores; qscore-mapq says so and computes
VA_MIN_RESOLUTION = 1.25

USAGE = """\
qscore-mapq — MapQ's command line (mapq_cmd.py), computed by qscore; no Chimera needed.

Usage: qscore-mapq [CHIMERA_PATH] MAP MODEL... [np=#] [res=#] [sigma=#] [bfactor=f] [--mapq-layout 2021]
                   [--emdb-json]

Parameters:
  [path to model or map file]
      a map (.mrc, .map, .ccp4) or model (.pdb, .ent, .cif, .mmcif), type from the extension
  [path to Chimera]
      accepted for compatibility with MapQ and ignored
  map=<path to map file>, pdb=<path to PDB file>, cif=<path to mmCIF file>
      the map, or a model, named explicitly
  sigma=#   (optional) sigma of the reference Gaussian, Å; default 0.6 (the EMDB reports 0.4)
  res=#     (optional) resolution of the map, Å, e.g. res=3.2; default 3.0;
            only used for the expected Q in <model>__Q__<map>_All.txt
  bfactor=f (optional, f=50,100,200,...) also write <model>_B<f>.pdb with B = f*(1-Q)
  np=#      (optional, default 1) processes; np > 1 computes as multi-process MapQ
            (the EMDB's numbers: map resampled onto a lattice through the origin)
  --mapq-layout 2021
            write MapQ's 2021 files instead of MapQ 2.9.7's (see below)
  --emdb-json
            also write <map file>_qscore.json next to the first model, as the EMDB's validation
            package writes it from the Q files (Q_emdb per model, chain and residue; every model)
  -v, --version; -h, --help

Writes next to each model, as MapQ 2.9.7 does: <model file>__Q__<map file>.cif (mmCIF model: a
_atom_site.Q-score column after B_iso_or_equiv, 6 decimals) or .pdb (PDB model: Q as B-factor,
MapQ's REMARK 0 lines), and the per-chain and per-residue table <model file>_All.txt (mmCIF) or
<model file>__Q__<map file>_All.txt (PDB). With --mapq-layout 2021: <model>__Q__<map>.cif with a
_atom_site.Q_score column (3 decimals) and <model>__Q__<map>_All.txt (names without extensions).
A refusal is one line on stderr with exit code 2, and nothing is written.
"""


@dataclass
class MapQArgs:
    """MapQ's command-line parameters, parsed.

    maps : list of Path (exactly one after :func:`parse_mapq_args`)
    pdbs, cifs : lists of Path — models given as PDB and as mmCIF (by extension or key)
    np : int ≥ 1 — processes; > 1 means EMDB-compatible (multi-process MapQ) values
    res : float — resolution, Å (expected Q in the _All.txt table)
    sigma : float — reference-Gaussian width, Å
    bfactor : float — f of B = f·(1 − Q); ≤ 0: no B-factor file
    chimera : str or None — the Chimera path given (ignored)
    layout : str — the files' layout, '2.9.7' (MapQ today, default) or '2021' (``--mapq-layout 2021``)
    emdb_json : bool — also the EMDB validation package's ``<map file>_qscore.json`` (``--emdb-json``)
    """

    maps: list = field(default_factory=list)
    pdbs: list = field(default_factory=list)
    cifs: list = field(default_factory=list)
    np: int = DEFAULT_NP
    res: float = DEFAULT_RES
    sigma: float = DEFAULT_SIGMA
    bfactor: float = DEFAULT_BFACTOR
    chimera: str | None = None
    layout: str = "2.9.7"
    emdb_json: bool = False

    @property
    def models(self) -> list:
        """The models in MapQ's order: PDB files first, then mmCIF files."""
        return self.pdbs + self.cifs

    @property
    def emdb_compat(self) -> bool:
        return self.np > 1


def _number(key: str, text: str, kind):
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number, e.g. np=4" if kind is int else f"a number, e.g. {key}={_EXAMPLES[key]}"
        raise ParameterError(f"{key}={text}: {key} must be {what}.") from None
    if kind is float and not math.isfinite(value):
        raise ParameterError(f"{key}={text}: {key} must be a finite number, e.g. {key}={_EXAMPLES[key]}.")
    return value


_EXAMPLES = {"np": "4", "res": "3.2", "sigma": "0.6", "bfactor": "100"}


def _existing_file(key: str, text: str) -> Path:
    path = Path(text).expanduser()
    if not text:
        example = "emd_1234.map" if key == "map" else f"model.{key}"
        raise ParameterError(f"{key}= needs a path, e.g. {key}=/data/{example}.")
    if not path.is_file():
        raise InputFileError(f"{key}={text}: file not found" + (" (it is a folder)" if path.is_dir() else "")
                             + "; check the path.")
    return path


def parse_mapq_args(argv) -> MapQArgs:
    """Parse MapQ's command-line arguments (``mapq_cmd.py``'s form; see the module docstring).

    Parameters
    ----------
    argv : sequence of str — the arguments, without the program name

    Returns
    -------
    MapQArgs — with exactly one map and at least one model, every file existing

    Raises
    ------
    ParameterError — unknown ``key=value``, a value that is not a number or out of range, an
        argument that is neither a file, a ``key=value`` nor the Chimera path, no model, not one map
    InputFileError — a file named with ``map=``, ``pdb=`` or ``cif=`` (or by its extension) is missing
    """
    a = MapQArgs()
    argv, rest = list(argv), []
    while argv:  # qscore's own options first; MapQ's arguments are left in order
        arg = argv.pop(0)
        if arg == "--emdb-json":
            a.emdb_json = True
        elif arg == "--mapq-layout" or arg.startswith("--mapq-layout="):
            value = arg.partition("=")[2] if "=" in arg else (argv.pop(0) if argv else "")
            if value not in MAPQ_LAYOUTS:
                raise ParameterError(f"--mapq-layout {value or '(missing)'}: use {' or '.join(MAPQ_LAYOUTS)}.")
            a.layout = value
        else:
            rest.append(arg)
    first = True
    for arg in rest:
        if arg.endswith("mapq_cmd.py"):
            continue  # MapQ skips its own script name
        is_first, first = first, False
        key, eq, value = arg.partition("=")
        if eq and key in KEYS:
            if key in ("map", "pdb", "cif"):
                {"map": a.maps, "pdb": a.pdbs, "cif": a.cifs}[key].append(_existing_file(key, value))
            elif key == "np":
                a.np = _number(key, value, int)
                if a.np < 1:
                    raise ParameterError(f"np={value}: the number of processes must be at least 1.")
            elif key == "res":
                a.res = _number(key, value, float)
                check_resolution(a.res, parameter="res")
            elif key == "sigma":
                a.sigma = _number(key, value, float)
                if not 0 < a.sigma <= 5:
                    raise ParameterError(f"sigma={value}: sigma must be in (0, 5] Å; MapQ uses 0.6, the EMDB 0.4.")
            else:
                a.bfactor = _number(key, value, float)
            continue
        if eq and not Path(arg).exists():
            raise ParameterError(f"Unknown parameter '{arg}': MapQ's parameters are "
                                 f"{', '.join(k + '=' for k in KEYS)} (see qscore-mapq --help).")
        path = Path(arg).expanduser()
        kind = kind_by_name(path.name)
        if path.is_file():
            if kind is None:
                raise ParameterError(f"'{arg}': extension not recognised; name the file with map=, pdb= or "
                                     "cif=, or use .mrc/.map/.ccp4 for maps and .pdb/.ent/.cif for models.")
            {"map": a.maps, "pdb": a.pdbs, "cif": a.cifs}[kind].append(path)
        elif path.is_dir() or (is_first and kind is None):
            a.chimera = arg  # the Chimera path: not needed
        elif kind is not None:
            raise InputFileError(f"'{arg}': file not found; check the path.")
        else:
            raise ParameterError(f"'{arg}': not a file, a folder or a key=value parameter "
                                 f"({', '.join(k + '=' for k in KEYS)}); see qscore-mapq --help.")
    if not a.models:
        raise ParameterError("No model given: add a model file (model.cif, or pdb=model.pdb / cif=model.cif).")
    if len(a.maps) != 1:
        raise ParameterError("No map given: add the map file (emd.map, or map=emd.map)." if not a.maps else
                             f"{len(a.maps)} maps given ({', '.join(map(str, a.maps))}); MapQ takes one map.")
    return a


@click.command(name="qscore-mapq", add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def main(ctx, argv):
    """MapQ's command line (mapq_cmd.py) computed by qscore; ``qscore-mapq --help`` lists the parameters."""
    argv = list(argv)
    if any(a in ("-h", "--help") for a in argv):
        click.echo(USAGE)
        ctx.exit(0)
    if any(a in ("-v", "--version") for a in argv):
        click.echo(f"qscore-mapq {__version__} (MapQ command-line compatible)")
        ctx.exit(0)
    ctx.obj = {"debug": "--debug" in argv}
    argv = [a for a in argv if a != "--debug"]
    handle_errors(_run, translate=False)(argv)


def _run(argv) -> None:
    from ..pipeline.mapq import run_mapq

    args = parse_mapq_args(argv)
    mode = "EMDB-compatible, as multi-process MapQ" if args.emdb_compat else "as single-process MapQ"
    click.echo(f"qscore-mapq {__version__}: sigma {args.sigma:g} Å, res {args.res:g} Å, np={args.np} ({mode})")
    if args.chimera is not None:
        click.echo(f"  Chimera path '{args.chimera}' ignored (not needed)")
    if args.res < VA_MIN_RESOLUTION:
        click.echo(f"  Note: res={args.res:g} Å is below {VA_MIN_RESOLUTION:g} Å, where the EMDB's validation package "
                   "does not compute Q-scores; computed anyway.")
    done = run_mapq(args.maps, args.models, np=args.np, res=args.res, sigma=args.sigma, bfactor=args.bfactor,
                    mapq_layout=args.layout, emdb_json=args.emdb_json, command=" ".join(sys.argv))
    for item in done:
        r = item["result"]
        n_out = int(r.outside[r.scored].sum())
        click.echo(f"Model {item['model']}: mean Q {r.mean_q():.4f} over {plural(int(r.scored.sum()), 'atom')} "
                   f"({r.elapsed:.2f} s)")
        if n_out:
            click.echo(f"Warning: {plural(n_out, 'atom')} lie outside the map box; their Q is near 0.", err=True)
        for p in item["paths"].values():
            click.echo(f"  wrote {p}")


if __name__ == "__main__":  # pragma: no cover
    main(prog_name="qscore-mapq")
