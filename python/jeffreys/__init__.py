"""jeffreys: probability distributions learned from samples by minimising the Jeffreys divergence.

A normalizing flow (the main model) is trained jointly with an energy-based model (the proxy that
stands in for the data in the reverse KL), as a constrained problem solved by primal-dual updates.
This package is the C++ library on the same LibTorch as ``import torch``: tensors and autograd
graphs cross between the two without a copy.

    import jeffreys, torch
    x = jeffreys.datasets.sample("two-moons", 2000)
    result = jeffreys.fit(x, method="jeffreys", train_steps=2000)
    samples = result.flow.sample(1000)

Submodules: ``jeffreys.sbi`` (posterior estimation, sbi-style estimators), ``jeffreys.sbibm``
(the benchmark tasks and their reference posteriors), ``jeffreys.datasets`` (the 2-D data sets).
"""
import torch  # noqa: F401  (loads the LibTorch that _jeffreys links, before the module)

from . import _jeffreys
from ._jeffreys import (CheckpointError, ConfigError, DataError, TrainingDiverged,  # noqa: F401
                        openblas_threads, set_num_threads)
from .models import EnergyModel, Flow  # noqa: F401
from .fitting import FitResult, fit  # noqa: F401
from . import datasets, sbi, sbibm  # noqa: F401


def c2st(x, y, folds=5, seed=1):
    """sbibm's classifier two-sample test: 0.5 when x and y are indistinguishable, 1.0 when separated."""
    return _jeffreys.c2st(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32),
                          int(folds), int(seed))


def entropy(x, condition=None, estimator="knn", k=3, seed=0):
    """The differential entropy of the rows of ``x`` in nats, or with ``condition`` the conditional
    entropy H(x | condition), as the -H, -Hc and -Hn levels estimate it: ``estimator="knn"`` the
    Kozachenko-Leonenko estimate (k neighbours), ``"gaussian"`` the Gaussian maximum-entropy bound
    (Wishart-corrected; of the regression residual when conditional), ``"capped"`` the smaller of the
    two; with a condition also ``"neural"``, the cross-fitted held-out NLL of a Gaussian whose mean and
    Cholesky factor are an MLP of the condition (an upper bound; ``seed`` seeds its folds and fits),
    and ``"capped-neural"`` (-Hn), the k-NN estimate capped by the smaller of the two bounds."""
    c = None if condition is None else torch.as_tensor(condition, dtype=torch.float64)
    return _jeffreys.entropy(torch.as_tensor(x, dtype=torch.float64), c, str(estimator), int(k), int(seed))


__all__ = ["Flow", "EnergyModel", "fit", "FitResult", "c2st", "entropy", "set_num_threads", "openblas_threads",
           "TrainingDiverged", "ConfigError", "DataError", "CheckpointError", "datasets", "sbi", "sbibm"]
