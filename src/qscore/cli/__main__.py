"""``python -m qscore.cli``: the ``qscore`` command."""

from .main import main

main(prog_name="qscore")
