"""The Q-score itself: numba kernels (:mod:`~qscore.core.kernels`, arrays in, arrays out), the spiral
points (:mod:`~qscore.core.spiral`) and the engine that drives them on a thread pool (:mod:`~qscore.core.engine`).
Nothing here reads files."""

__all__: list = []
