"""The pipeline layer: score → analyse → write, as every command and batch entry runs it; it never prints.

Modules: :mod:`~qscore.pipeline.scoring` (:func:`score`, :class:`QScoreResult`, :func:`analysis_settings`),
:mod:`~qscore.pipeline.outputs` (:func:`score_and_write`: ``qscore score`` and ``qscore report``),
:mod:`~qscore.pipeline.tools` (``qscore profile``, ``cc``, ``bfactors``), :mod:`~qscore.pipeline.mapq`
(``qscore-mapq``) and :mod:`~qscore.pipeline.archive` (``qscore archive stats``).
"""

from .outputs import ScoreRun, score_and_write, write_mapq_files, write_score_outputs
from .scoring import AnalysisSettings, QScoreResult, analysis_settings, score

__all__ = ["score", "QScoreResult", "AnalysisSettings", "analysis_settings", "score_and_write", "ScoreRun",
           "write_score_outputs", "write_mapq_files"]
