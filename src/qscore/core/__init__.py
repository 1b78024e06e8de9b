"""Pure computation: sphere points, numba kernels and the engine that drives them."""
