"""Simulation-based inference: the library's posterior estimator trained with any method
(`train`), and a conditional density estimator with the shape conventions of the `sbi` package's
``ConditionalDensityEstimator`` (`build_jeffreys_nsf`), so that sbi users can plug it in."""
import math

import torch

from . import _jeffreys
from .models import Flow


class Posterior:
    """A trained posterior q(θ | x): flow draws (rejected outside the prior's support when a task
    is given), proxy draws by importance resampling for the joint methods, and log q(θ | x)."""

    def __init__(self, impl, report, support=None):
        self._impl, self._support = impl, support
        self.epochs, self.best_epoch, self.best_validation_nll, self.seconds, self.metrics = report

    @property
    def has_proxy(self):
        return self._impl.has_proxy

    def sample(self, n, x_o, seed=0):
        """n draws [n, dim θ] (float64) of q(θ | x_o) for one observation x_o [dim x] or [1, dim x]."""
        return self._impl.sample(torch.as_tensor(x_o, dtype=torch.float32).reshape(1, -1), int(n), int(seed))

    def sample_proxy(self, n, x_o, proposals=100000, mala_steps=0, seed=0, diagnostics=False):
        """n draws of the energy model's posterior: sampling-importance-resampling from `proposals`
        flow draws, then `mala_steps` Metropolis-adjusted Langevin steps per draw on the energy
        (resample-move; 0: SIR alone). With diagnostics=True, (draws, SIR's effective sample size,
        MALA's acceptance or nan)."""
        if not self.has_proxy:
            raise ValueError("this method trains no energy model (proxy); use sample")
        if int(mala_steps) < 0:
            raise ValueError(f"mala_steps must be >= 0, got {mala_steps}")
        draws, ess, acceptance = self._impl.sample_proxy(torch.as_tensor(x_o, dtype=torch.float32).reshape(1, -1),
                                                         int(n), int(proposals), int(mala_steps), int(seed))
        return (draws, ess, acceptance) if diagnostics else draws

    def log_prob(self, theta, x_o):
        """log q(θ | x_o) [n] (float64) in the original coordinates; x_o one row, or one per θ row."""
        theta = torch.as_tensor(theta, dtype=torch.float32)
        x_o = torch.as_tensor(x_o, dtype=torch.float32)
        return self._impl.log_prob(theta, x_o.reshape(-1, x_o.shape[-1]))


def train(theta, x, method="npe", layers=5, hidden=50, bins=10, bound=3.0, batch_size=10000, lr=5e-4,
          validation_fraction=0.1, patience=20, max_epochs=5000, flow_samples=16, embedding_features=0, seed=0,
          device="cpu"):
    """Trains a posterior estimator on simulated pairs θ [n, dim θ], x [n, dim x] as sbibm ran NPE
    (neural spline flow, z-scoring, early stopping on the validation NLL), with `method`: "npe"
    (maximum likelihood), "jeffreys", "jeffreys-F10", ... (the grammar of `jeffreys sbi --method`).
    `device` ("cpu", "cuda", "cuda:N"): where the models train and sample; tensors given and
    returned stay on the CPU."""
    theta = torch.as_tensor(theta, dtype=torch.float32)
    x = torch.as_tensor(x, dtype=torch.float32)
    if theta.dim() != 2 or x.dim() != 2 or theta.shape[0] != x.shape[0]:
        raise ValueError(f"theta [n, dim θ] and x [n, dim x] must have the same rows, got {tuple(theta.shape)} "
                         f"and {tuple(x.shape)}")
    impl = _jeffreys._Posterior(theta.shape[1], x.shape[1], method, int(layers), int(hidden), int(bins), float(bound),
                                int(batch_size), float(lr), float(validation_fraction), int(patience),
                                int(max_epochs), int(flow_samples), int(embedding_features), int(seed),
                                str(torch.device(device)))
    report = impl.train(theta, x)
    return Posterior(impl, report)


class JeffreysDensityEstimator:
    """A conditional flow with the conventions of sbi's ConditionalDensityEstimator:

    - ``log_prob(input, condition)``: input [sample_dim, batch_dim, *input_shape], condition
      [batch_dim, *condition_shape] -> [sample_dim, batch_dim];
    - ``sample(sample_shape, condition)`` -> [*sample_shape, batch_dim, *input_shape];
    - ``loss(input, condition)``: input [batch_dim, *input_shape] -> negative log-density [batch_dim];
    - ``parameters()``, ``train()``, ``eval()``, ``to()``, ``input_shape``, ``condition_shape``.

    Inputs and conditions are z-scored with statistics of the batches given to the builder; the
    log-density is in the original coordinates.
    """

    def __init__(self, flow, input_shape, condition_shape, input_mean, input_std, condition_mean, condition_std):
        self.net = flow
        self.input_shape = torch.Size(input_shape)
        self.condition_shape = torch.Size(condition_shape)
        self._in_mean, self._in_std = input_mean, input_std
        self._c_mean, self._c_std = condition_mean, condition_std
        self._log_jacobian = -input_std.log().sum()

    def _condition(self, condition):
        condition = torch.as_tensor(condition, dtype=torch.float32)
        if condition.shape[1:] != self.condition_shape:
            raise ValueError(f"condition must be [batch_dim, {', '.join(map(str, self.condition_shape))}], "
                             f"got {tuple(condition.shape)}")
        return ((condition.reshape(condition.shape[0], -1) - self._c_mean) / self._c_std)

    def log_prob(self, input, condition):
        input = torch.as_tensor(input, dtype=torch.float32)
        c = self._condition(condition)
        batch = c.shape[0]
        if input.dim() != 2 + len(self.input_shape) or input.shape[1] != batch or input.shape[2:] != self.input_shape:
            raise ValueError(f"input must be [sample_dim, {batch}, {', '.join(map(str, self.input_shape))}], "
                             f"got {tuple(input.shape)}")
        samples = input.shape[0]
        z = (input.reshape(samples * batch, -1) - self._in_mean) / self._in_std
        lp = self.net.log_prob(z, c.repeat(samples, 1))
        return lp.reshape(samples, batch) + self._log_jacobian

    def loss(self, input, condition):
        return -self.log_prob(torch.as_tensor(input, dtype=torch.float32).unsqueeze(0), condition)[0]

    def sample(self, sample_shape, condition):
        c = self._condition(condition)
        sample_shape = torch.Size(sample_shape)
        k = max(1, math.prod(sample_shape))
        z, _ = self.net.sample_per_context(k, c)
        theta = z * self._in_std + self._in_mean
        return theta.reshape(*sample_shape, c.shape[0], *self.input_shape)

    def sample_and_log_prob(self, sample_shape, condition):
        sample_shape = torch.Size(sample_shape)
        theta = self.sample(sample_shape, condition)
        batch = theta.shape[len(sample_shape)]
        lp = self.log_prob(theta.reshape(-1, batch, *self.input_shape), condition)
        return theta, lp.reshape(*sample_shape, batch)

    def parameters(self):
        return self.net.parameters()

    def train(self, mode=True):
        self.net.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        self.net.to(device)
        for name in ("_in_mean", "_in_std", "_c_mean", "_c_std", "_log_jacobian"):
            setattr(self, name, getattr(self, name).to(device))
        return self


def _stats(batch, how):
    flat = batch.reshape(batch.shape[0], -1)
    if how in (None, "none"):
        return torch.zeros(flat.shape[1]), torch.ones(flat.shape[1])
    if how == "structured":
        return flat.mean().expand(flat.shape[1]).clone(), flat.std().clamp_min(1e-14).expand(flat.shape[1]).clone()
    if how == "independent":
        return flat.mean(0), flat.std(0).clamp_min(1e-14)
    raise ValueError(f"z-scoring must be 'independent', 'structured' or 'none', got {how!r}")


def build_jeffreys_nsf(batch_theta, batch_x, z_score_theta="independent", z_score_x="independent",
                       hidden_features=50, num_transforms=5, num_bins=10, tail_bound=3.0,
                       embedding_features=0, seed=0):
    """A neural spline flow q(θ | x) in the style of sbi's ``build_zuko_nsf(batch_x, batch_y, ...)``:
    the batches fix the shapes and the z-scoring statistics; defaults are sbibm's NPE settings."""
    batch_theta = torch.as_tensor(batch_theta, dtype=torch.float32)
    batch_x = torch.as_tensor(batch_x, dtype=torch.float32)
    theta_dim = math.prod(batch_theta.shape[1:])
    x_dim = math.prod(batch_x.shape[1:])
    flow = Flow(theta_dim, family="nsf" if theta_dim > 1 else "maf-spline", layers=num_transforms,
                hidden=hidden_features, bins=num_bins, bound=tail_bound, context_features=x_dim,
                embedding_features=embedding_features, seed=seed)
    in_mean, in_std = _stats(batch_theta, z_score_theta)
    c_mean, c_std = _stats(batch_x, z_score_x)
    return JeffreysDensityEstimator(flow, batch_theta.shape[1:], batch_x.shape[1:], in_mean, in_std, c_mean, c_std)
