"""The ``qscore`` root command group: ``--version``, ``-v/--verbose``, ``--debug``, and every command.

Commands live one module per group (:mod:`~qscore.cli.score`, :mod:`~qscore.cli.tools`,
:mod:`~qscore.cli.archive`, :mod:`~qscore.cli.batch`, :mod:`~qscore.cli.compare`) and run through the error funnel
(:mod:`qscore.cli.funnel`).  A new command is a click command in one of those modules (or a new one),
added here with ``main.add_command``.
"""

from __future__ import annotations

import logging
import sys

import click

from .._version import __version__
from .archive import archive
from .batch import batch
from .compare import compare_command
from .funnel import OneLineGroup
from .score import demo, report, score
from .tools import bfactors, cc, profile

__all__ = ["main"]


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
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


for _command in (score, report, compare_command, demo, profile, cc, bfactors, archive, batch):
    main.add_command(_command)
