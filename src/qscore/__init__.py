"""qscore: per-atom Q-scores of atomic models in cryo-EM maps, exactly as MapQ computes them.

>>> import qscore
>>> result = qscore.score("model.cif", "map.mrc", sigma=0.4, resolution=3.2)   # doctest: +SKIP
>>> result.mean_q(), result.atom_table().head()                                # doctest: +SKIP
>>> analysis = result.analyse(qscore.analysis_settings(0.4, 3.2, archive="archive.csv"))  # doctest: +SKIP

The layers (``docs/architecture.md``): :mod:`qscore.types` and :mod:`qscore.errors` (shared by all),
:mod:`qscore.io` (files ↔ arrays), :mod:`qscore.core` (kernels), :mod:`qscore.analysis` (tables and
statistics), :mod:`qscore.report` (figures, HTML), :mod:`qscore.pipeline` (score → analyse → write),
:mod:`qscore.batch` (many entries on Dask) and :mod:`qscore.cli` (the commands).
"""

from ._version import __version__

# The public names are imported on first use (PEP 562), so that 'qscore --help' and refusals of bad
# input do not wait for numba and pandas to load.
_PUBLIC = {"score": "pipeline.scoring", "QScoreResult": "pipeline.scoring", "analysis_settings": "pipeline.scoring",
           "AnalysisSettings": "pipeline.scoring", "score_and_write": "pipeline.outputs",
           "QParams": "types", "DensityMap": "types", "Model": "types", "Atoms": "types",
           "ExpectedModel": "types", "ArchiveData": "types", "QScoreError": "errors",
           "read_map": "io.maps", "read_model": "io.models", "read_archive": "io.archive",
           "versions": "provenance"}

__all__ = [*_PUBLIC, "__version__"]

#: subpackages and modules reachable as attributes (``qscore.io.archive``) without an import
_MODULES = ("analysis", "batch", "cli", "core", "errors", "io", "pipeline", "provenance", "report", "types")


def __getattr__(name):
    from importlib import import_module

    if name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'qscore' has no attribute '{name}'")


def __dir__():
    return sorted([*globals(), *_PUBLIC])
