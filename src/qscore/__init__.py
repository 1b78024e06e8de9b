"""qscore: per-atom Q-scores of atomic models in cryo-EM maps, exactly as MapQ computes them.

>>> import qscore
>>> result = qscore.score("model.cif", "map.mrc", sigma=0.4)      # doctest: +SKIP
>>> result.mean_q(), result.atom_table().head()                   # doctest: +SKIP
"""

__version__ = "0.1.0"

# The public names are imported on first use (PEP 562), so that 'qscore --help' and refusals of bad
# input do not wait for numba and pandas to load.
_PUBLIC = {"score": "api", "QScoreResult": "api", "QParams": "core.engine", "QScoreError": "errors",
           "read_map": "io.maps", "DensityMap": "io.maps", "read_model": "io.models", "Model": "io.models",
           "Atoms": "io.models"}

__all__ = [*_PUBLIC, "__version__"]


#: subpackages and modules reachable as attributes (``qscore.api.read_archive``) without an import
_MODULES = ("api", "analysis", "core", "io", "report", "commands", "errors", "outputs", "batch", "demo",
            "mapq_compat", "cli")


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
