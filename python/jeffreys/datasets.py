"""The built-in 2-D data sets of `jeffreys train` (two-moons, 8-gaussians, rings, ...)."""
import torch

from . import _jeffreys


def names():
    """The data set names."""
    return list(_jeffreys.toy_names())


def sample(name, n, seed=0):
    """n points [n, 2] (float32) of the named data set; the same seed gives the same points."""
    return _jeffreys.toy_sample(name, int(n), int(seed))


def log_prob(name, x):
    """The data set's own log-density at x [N, 2] (closed form or accurate quadrature)."""
    return _jeffreys.toy_log_prob(name, torch.as_tensor(x, dtype=torch.float32))
