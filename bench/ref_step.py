"""PyTorch reference of one joint training step: the transcription of bench/joint_step.cpp.

The C++ benchmark times `train::Trainer::step_on` with a RealNVP flow, an MLP energy model and the
formulation "minimise F + R subject to P <= 0 (resilient)". This script does the same work in
plain PyTorch, written the way a researcher would write it, so that the two timings compare the
library with the code it replaces. Each piece mirrors:

  RealNVP flow          src/flows/presets.cpp (make_flow, FlowOptions defaults in
                        include/jeffreys/flows/presets.h), src/flows/flow.cpp
  affine coupling       src/transforms/coupling.cpp, src/functional/affine.cpp
  conditioner / energy  src/nn/mlp.cpp, src/energy/energy.cpp (MLPEnergyImpl)
  F, P, R and log Z     src/divergence/terms.cpp, src/divergence/importance.cpp
  Lagrangian, duals     src/constrained/primal_dual.cpp
  the step              src/train/trainer.cpp (step_on, compute_gradients, apply)
  Adam                  src/train/flat_adam.cpp (torch.optim.Adam's update and defaults)

Usage: python3 bench/ref_step.py [steps] [batch] [hidden] [layers]   (defaults 300 256 128 8)
Needs a Python whose torch is LibTorch's version (Debian's python3-torch). Prints
  python_ref ms_per_step <ms> B=<batch> H=<hidden> L=<layers>
the mean over `steps` steps after 20 warm-up steps, on one thread like the C++ benchmark.
"""
import os

# torch.set_num_threads does not reach OpenBLAS's own thread pool, which reads this at import; one
# thread, like the C++ benchmark, whatever the caller's environment says.
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import math
import sys
import time

import torch
from torch import nn

FEATURES = 2


def mlp(in_features, out_features, hidden, depth=2):
    """in -> [hidden, SiLU] x depth -> out, as nn::MLP (default init, no zero-initialised last layer)."""
    layers, width = [], in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def standard_normal_log_prob(z):
    return -0.5 * z.square().sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


class AffineCoupling(nn.Module):
    """One block of features conditions an affine map of the other (split, not masked).

    swap=False: the first D//2 features condition the rest; swap=True: the last D - D//2
    condition the first D//2. The conditioner outputs [raw log-scale | shift].
    """

    def __init__(self, features, hidden, swap, scale_clamp=1.0):
        super().__init__()
        half = features // 2
        if swap:
            self.id_slice, self.tr_slice = slice(half, features), slice(0, half)
        else:
            self.id_slice, self.tr_slice = slice(0, half), slice(half, features)
        self.swap = swap
        self.scale_clamp = scale_clamp
        tr_size = half if swap else features - half
        id_size = features - tr_size
        self.conditioner = mlp(id_size, 2 * tr_size, hidden)

    def _log_scale_and_shift(self, identity):
        raw, shift = self.conditioner(identity).chunk(2, dim=-1)
        # Soft clamp: each layer's scale stays within exp(±clamp), which keeps early training stable.
        c = self.scale_clamp
        log_scale = torch.tanh(raw) if c == 1.0 else c * torch.tanh(raw / c)
        return log_scale, shift

    def _join(self, identity, transformed):
        return torch.cat([transformed, identity] if self.swap else [identity, transformed], dim=-1)

    def forward(self, x):
        """x -> z; returns (z, log|det dz/dx|)."""
        identity = x[:, self.id_slice]
        s, t = self._log_scale_and_shift(identity)
        z = x[:, self.tr_slice] * torch.exp(s) + t
        return self._join(identity, z), s.sum(-1)

    def inverse(self, z):
        """z -> x; returns (x, log|det dx/dz|)."""
        identity = z[:, self.id_slice]
        s, t = self._log_scale_and_shift(identity)
        x = (z[:, self.tr_slice] - t) * torch.exp(-s)
        return self._join(identity, x), -s.sum(-1)


class RealNVP(nn.Module):
    """Couplings alternating which half conditions; no permutation or ActNorm (the presets'
    defaults). Standard normal base; layers are listed in the x -> z direction."""

    def __init__(self, features, layers, hidden):
        super().__init__()
        self.features = features
        self.layers = nn.ModuleList(AffineCoupling(features, hidden, swap=(l % 2 == 1)) for l in range(layers))

    def log_prob(self, x):
        log_det = 0
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return standard_normal_log_prob(x) + log_det

    def sample_and_log_prob(self, n, generator=None):
        z = torch.randn(n, self.features, generator=generator)
        x, log_det = z, 0
        for layer in reversed(self.layers):
            x, ld = layer.inverse(x)
            log_det = log_det + ld
        return x, standard_normal_log_prob(z) - log_det


class MLPEnergy(nn.Module):
    """E_psi(x) = MLP(x), a scalar per row; q_psi(x) = exp(-E_psi(x)) / Z_psi."""

    def __init__(self, features, hidden):
        super().__init__()
        self.net = mlp(features, 1, hidden)

    def forward(self, x):
        return self.net(x).squeeze(-1)


def jeffreys_terms(flow, energy, x, flow_samples, generator):
    """F, P, R and log Z-hat with the gradient rules of divergence::jeffreys_terms.

    F = -mean log p(x);  P = mean E(x) + log Z;  R = mean [log p(y) + E(y)] + log Z, y ~ p
    reparameterised. log Z is the importance-sampling estimate with the flow as proposal, from
    detached samples and log-densities, so it sends gradient to the energy only.
    """
    F = -flow.log_prob(x).mean()
    y, log_py = flow.sample_and_log_prob(flow_samples, generator)
    # One energy pass serves everything the energy needs without the flow: the detached samples
    # (for log Z) and the data (for P).
    e_fixed, e_data = energy(torch.cat([y.detach(), x])).split([flow_samples, x.shape[0]])
    log_w = -e_fixed - log_py.detach()
    lse = torch.logsumexp(log_w, 0)
    log_z = lse - math.log(flow_samples)
    with torch.no_grad():
        # Effective sample size (sum w)^2 / sum w^2, in log space so large weights do not overflow.
        ess = torch.exp(2 * lse - torch.logsumexp(2 * log_w, 0))
    P = e_data.mean() + log_z
    # The second energy pass: y keeps its graph, so the flow lowers the energy of its samples.
    R = (log_py + energy(y)).mean() + log_z
    return F, P, R, log_z, ess


class PrimalDual:
    """Objective F + R subject to P <= level + u, resilient: u costs (slack_cost / 2) u^2, so after
    each primal step u = max(0, lambda / slack_cost) and lambda <- max(0, lambda + dual_lr (P - level - u))."""

    def __init__(self, level=0.0, slack_cost=1.0, dual_lr=1e-2, dual_init=1.0):
        self.level, self.slack_cost, self.dual_lr = level, slack_cost, dual_lr
        self.lam = dual_init
        self.slack = max(0.0, dual_init / slack_cost)

    def lagrangian(self, F, P, R):
        return F + self.lam * P + R

    def dual_step(self, P):
        self.slack = max(0.0, self.lam / self.slack_cost)
        self.lam = max(0.0, self.lam + self.dual_lr * (P - self.level - self.slack))


class Trainer:
    """train::Trainer with the options of bench/joint_step.cpp."""

    def __init__(self, flow, energy, batch_size, flow_samples, lr=1e-3, seed=0, divergence_threshold=1e8):
        self.flow, self.energy = flow, energy
        self.batch_size, self.flow_samples = batch_size, flow_samples
        self.duals = PrimalDual()
        self.opt_flow = torch.optim.Adam(flow.parameters(), lr=lr)
        self.opt_energy = torch.optim.Adam(energy.parameters(), lr=lr)
        # Batches and flow samples come from the trainer's own generator, as in the library.
        self.generator = torch.Generator().manual_seed(seed)
        self.divergence_threshold = divergence_threshold

    def _check(self, name, value):
        if not math.isfinite(value) or abs(value) > self.divergence_threshold:
            raise RuntimeError(f"training diverged: {name} = {value}")

    def step_on(self, data):
        idx = torch.randint(0, data.shape[0], (self.batch_size,), generator=self.generator)
        return self.step(data[idx])

    def step(self, x):
        self.opt_flow.zero_grad()
        self.opt_energy.zero_grad()
        F, P, R, log_z, ess = jeffreys_terms(self.flow, self.energy, x, self.flow_samples, self.generator)
        terms = {"F": F.item(), "P": P.item(), "R": R.item()}
        for name, value in terms.items():
            self._check(name, value)
        loss = self.duals.lagrangian(F, P, R)
        out = dict(terms, loss=loss.item(), log_z=log_z.item(), ess=ess.item())
        loss.backward()
        # The library reports both gradient norms and stops on a non-finite one.
        for name, model in (("grad_norm_flow", self.flow), ("grad_norm_energy", self.energy)):
            out[name] = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()])).item()
            self._check(name, out[name])
        self.opt_flow.step()
        self.opt_energy.step()
        self.duals.dual_step(terms["P"])
        return out


def main(argv):
    steps, B, H, L = (int(a) for a in (argv + ["300", "256", "128", "8"][len(argv):]))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    flow = RealNVP(FEATURES, layers=L, hidden=H)
    energy = MLPEnergy(FEATURES, hidden=H)
    trainer = Trainer(flow, energy, batch_size=B, flow_samples=B)
    data = torch.randn(4096, FEATURES)
    for _ in range(20):
        trainer.step_on(data)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step_on(data)
    ms = 1000 * (time.perf_counter() - t0) / steps
    print(f"python_ref ms_per_step {ms:.3f} B={B} H={H} L={L}")


if __name__ == "__main__":
    main(sys.argv[1:])
