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


def __getattr__(name):
    if name in _PUBLIC:
        from importlib import import_module

        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qscore' has no attribute '{name}'")


def __dir__():
    return sorted([*globals(), *_PUBLIC])
