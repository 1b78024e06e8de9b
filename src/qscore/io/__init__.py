"""Files ↔ arrays: maps and models in (:mod:`~qscore.io.maps`, :mod:`~qscore.io.models`), archives
(:mod:`~qscore.io.archive`, :mod:`~qscore.io.emdb`), and every file a run writes out (:mod:`~qscore.io.files`,
:mod:`~qscore.io.writers`, :mod:`~qscore.io.chimerax`, :mod:`~qscore.io.mapq_files`, :mod:`~qscore.io.curves`).
io computes no analysis and imports nothing of :mod:`qscore.core`."""

__all__: list = []
