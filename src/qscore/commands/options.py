"""Click options shared by the commands that compute Q-scores (``score``, ``report``, ``batch``,
``profile``, ``cc``, ``bfactors``): one definition each, so help texts and defaults agree."""

from __future__ import annotations

import functools

import click

SIGMA = click.option("--sigma", type=float, default=0.4,
                     help="Width of the reference Gaussian, Å (0.4: EMDB; 0.6: 2020 paper and MapQ).")
RESOLUTION = click.option("--resolution", "-r", type=float, default=None,
                          help="The map's reported resolution, Å (recorded; used for expected Q).")
EMDB_COMPAT = click.option("--emdb-compat", is_flag=True,
                           help="Reproduce multi-process MapQ (the EMDB's numbers) for maps whose origin is off the "
                                "voxel lattice.")
THREADS = click.option("--threads", "-j", type=click.IntRange(min=0), default=0, help="Threads (0: all cores).")
PERMISSIVE = click.option("--permissive", is_flag=True, help="Accept integer-mode maps (read as real values).")
NUM_POINTS = click.option("--num-points", type=int, default=8, help="Advanced: points needed per shell (MapQ: 8).")
SHELL_STEP = click.option("--shell-step", type=float, default=0.1, help="Advanced: distance between shells, Å.")
MAX_RADIUS = click.option("--max-radius", type=float, default=2.0, help="Advanced: outermost shell radius, Å.")

#: parameter name -> option, in the order they appear in --help
SCORE_OPTIONS = {"sigma": SIGMA, "resolution": RESOLUTION, "emdb_compat": EMDB_COMPAT, "threads": THREADS,
                 "permissive": PERMISSIVE, "num_points": NUM_POINTS, "shell_step": SHELL_STEP,
                 "max_radius": MAX_RADIUS}


def score_options(func=None, *, exclude=()):
    """Add the Q-score options (:data:`SCORE_OPTIONS`) to a command; ``exclude`` names those it leaves out."""
    if func is None:
        return functools.partial(score_options, exclude=exclude)
    for name, opt in reversed(SCORE_OPTIONS.items()):
        if name not in exclude:
            func = opt(func)
    return func
