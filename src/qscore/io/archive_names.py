"""The column names an archive table's resolution and Q-score are recognised by (after
:func:`qscore.io.archive.normalise_name`: lower case, no punctuation), in a module of their own so
that the command line's help can list them without loading numpy and pandas."""

__all__ = ["RESOLUTION_NAMES", "Q_NAMES"]

#: column names recognised as the resolution
RESOLUTION_NAMES = ("resolution", "resolutiona", "resolutionangstrom", "res", "d", "dmin")
#: column names recognised as the Q-score
Q_NAMES = ("qscore", "q", "modelq", "allmodelsaverageqscore", "averageqscore", "meanq", "qmean", "qscoremean")
