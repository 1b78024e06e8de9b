"""Command groups of the ``qscore`` command line, one module per group (registered in ``qscore.cli``)."""
