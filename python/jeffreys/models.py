"""The models as Python objects: a flow and an energy model whose parameters are torch tensors
that autograd reaches, so a plain PyTorch training loop works on them."""
import torch

from . import _jeffreys


def _tensor(x, like=torch.float32):
    return torch.as_tensor(x, dtype=like) if not isinstance(x, torch.Tensor) else x


class _Model:
    """What both models share: the library module behind them and the torch-module verbs."""

    @classmethod
    def _wrap(cls, impl):
        model = cls.__new__(cls)
        model._impl = impl
        return model

    def parameters(self):
        """The parameters as torch tensors (the library's own: an optimiser updates the model in place)."""
        return self._impl.parameters()

    def train(self, mode=True):
        self._impl.train(bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        self._impl.to(str(device))
        return self


class Flow(_Model):
    """A normalizing flow p(x | context) built by the library.

    family: "realnvp" (affine coupling), "nsf" (rational-quadratic spline coupling), "maf" (masked
    autoregressive, affine) or "maf-spline"; layers transforms, each conditioned by an MLP of `depth`
    hidden layers of `hidden` units. context_features > 0 makes it conditional; embedding_features > 0
    adds a learned context embedding. Bad options raise ValueError with the library's message.

    Use it like a torch module: ``log_prob(x)``, ``sample(n)``, ``parameters()`` (for torch.optim),
    ``train()`` / ``eval()``, ``save(path)`` / ``load(path)``.
    """

    def __init__(self, features, family="realnvp", layers=8, hidden=128, depth=2, context_features=0,
                 activation="silu", bins=8, bound=5.0, scale_clamp=1.0, actnorm=False, lu_linear=False,
                 permutation="none", embedding_features=0, embedding_hidden=64, seed=0):
        self._impl = _jeffreys.make_flow(int(features), family, int(layers), int(hidden), int(depth),
                                         int(context_features), activation, int(bins), float(bound),
                                         float(scale_clamp), bool(actnorm), bool(lu_linear), permutation,
                                         int(embedding_features), int(embedding_hidden), int(seed))

    @property
    def features(self):
        return self._impl.features

    @property
    def context_features(self):
        return self._impl.context_features

    def log_prob(self, x, context=None):
        """log p(x | context) for x [N, features] (context [N, context_features]): a tensor [N] with its graph."""
        return self._impl.log_prob(_tensor(x), None if context is None else _tensor(context))

    __call__ = log_prob

    def sample(self, n, context=None):
        """n draws [n, features]; with a context [n, context_features], one draw per context row."""
        return self._impl.sample(int(n), None if context is None else _tensor(context))

    def sample_and_log_prob(self, n, context=None):
        """(draws [n, features], their log-density [n]) in one pass, differentiable (reparameterised)."""
        return self._impl.sample_and_log_prob(int(n), None if context is None else _tensor(context))

    def sample_per_context(self, k, context):
        """k draws for each of the B context rows: (draws [k, B, features], log-density [k, B])."""
        context = _tensor(context)
        x, lp = self._impl.sample_and_log_prob_per_context(int(k), context)
        return x.reshape(int(k), context.shape[0], -1), lp.reshape(int(k), context.shape[0])

    def save(self, path):
        self._impl.save(str(path))

    def load(self, path):
        self._impl.load(str(path))
        return self


class EnergyModel(_Model):
    """An energy model E(x | context) (an MLP): the unnormalised density exp(-E); the proxy of the joint method."""

    def __init__(self, features, hidden=128, depth=2, activation="silu", context_features=0, seed=0):
        self._impl = _jeffreys.make_energy(int(features), int(hidden), int(depth), activation,
                                           int(context_features), int(seed))

    def energy(self, x, context=None):
        """E(x | context) [N] with its graph."""
        return self._impl.energy(_tensor(x), None if context is None else _tensor(context))

    __call__ = energy
