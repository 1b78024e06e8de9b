"""The command line: ``qscore`` (:mod:`qscore.cli.main`) and ``qscore-mapq`` (:mod:`qscore.cli.mapq`).

The only layer that prints or exits: it parses, calls :mod:`qscore.pipeline` and prints; library
errors come through one funnel (:mod:`qscore.cli.funnel`).
"""

from .main import main

__all__ = ["main"]
