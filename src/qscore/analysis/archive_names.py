"""Names and choices of the archive statistics (:mod:`qscore.analysis.archive`), kept apart from it
so that the CLI can list them in its help without loading numpy and pandas."""

#: column names recognised (case-insensitively) when no column is named
RESOLUTION_NAMES = ("resolution", "resolution_a", "res", "d")
Q_NAMES = ("qscore", "q_score", "q", "q-score", "model_q")
#: polynomial degrees always fitted
DEGREES = (1, 2, 3, 4)
