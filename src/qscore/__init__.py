"""qscore: per-atom Q-scores of atomic models in cryo-EM maps, exactly as MapQ computes them.

>>> import qscore
>>> result = qscore.score("model.cif", "map.mrc", sigma=0.4)      # doctest: +SKIP
>>> result.mean_q(), result.atom_table().head()                   # doctest: +SKIP
"""

__version__ = "0.1.0"

from .api import QScoreResult, score  # noqa: E402
from .core.engine import QParams  # noqa: E402
from .errors import QScoreError  # noqa: E402
from .io.maps import DensityMap, read_map  # noqa: E402
from .io.models import Atoms, Model, read_model  # noqa: E402

__all__ = ["score", "QScoreResult", "QParams", "QScoreError", "read_map", "read_model",
           "DensityMap", "Model", "Atoms", "__version__"]
