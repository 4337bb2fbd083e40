"""The sbibm benchmark tasks as the library implements them (prior, simulator), with sbibm's
observations and reference posterior samples (shipped in the repository's data/sbibm)."""
import os

import torch

from . import _jeffreys


def task_names():
    return list(_jeffreys.task_names())


class Task:
    """One sbibm task: ``sample_prior(n, seed)``, ``simulate(theta, seed)``, ``prior_log_prob(theta)``,
    ``in_support(theta)``, and observation k's ``observation(k)``, ``true_parameters(k)``,
    ``reference_posterior_samples(k)`` (k = 1..5)."""

    def __init__(self, name, root=None):
        self._impl = _jeffreys.make_task(name)
        self.root = root or _jeffreys.sbibm_root()

    name = property(lambda self: self._impl.name)
    parameter_dim = property(lambda self: self._impl.parameter_dim)
    data_dim = property(lambda self: self._impl.data_dim)

    def sample_prior(self, n, seed=0):
        return self._impl.sample_prior(int(n), int(seed))

    def simulate(self, theta, seed=0):
        return self._impl.simulate(torch.as_tensor(theta, dtype=torch.float32), int(seed))

    def prior_log_prob(self, theta):
        return self._impl.prior_log_prob(torch.as_tensor(theta))

    def in_support(self, theta):
        return self._impl.in_support(torch.as_tensor(theta))

    def _read(self, k):
        return _jeffreys.read_observation(os.path.join(self.root, self.name, f"obs_{int(k)}"))

    def observation(self, k):
        """x_o of observation k: [1, data_dim] (float64)."""
        return self._read(k)[0]

    def true_parameters(self, k):
        return self._read(k)[1]

    def reference_posterior_samples(self, k):
        """sbibm's 10,000 reference samples of p(θ | x_o) for observation k: [10000, parameter_dim]."""
        return self._read(k)[2]
