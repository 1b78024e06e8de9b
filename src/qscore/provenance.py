"""What a run records about itself: the versions that decide its numbers and the time.

The caller (the CLI, a batch driver, a script) sets the command line; nothing here reads ``sys.argv``.
"""

from __future__ import annotations

import datetime
import platform

__all__ = ["versions", "utc_now"]


def versions() -> dict:
    """Versions of qscore, Python and the components that decide its numbers."""
    import gemmi
    import numba
    import numpy as np
    import pandas as pd

    from ._version import __version__

    return {"qscore": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "gemmi": gemmi.__version__, "pandas": pd.__version__}


def utc_now() -> str:
    """The UTC time now, to the second, ISO 8601."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
