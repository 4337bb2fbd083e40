"""jeffreys.fit: the library's trainer on a tensor or an array, in memory, with the configuration
keys and checks of `jeffreys train` (every key: `jeffreys keys`)."""
import math
import sys
import time

import torch

from . import _jeffreys
from .models import EnergyModel, Flow

# Configuration sections; keyword arguments name keys as <section>_<key> (flow_layers=4 is flow.layers).
_SECTIONS = ("data", "flow", "energy", "method", "wgan", "optim", "train", "eval")


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise ValueError(f"cannot write {value!r} as a configuration value")


def _key(name):
    """flow_layers -> flow.layers; seed, threads, device stay; 'flow.layers' passes as it is."""
    if "." in name:
        return name
    section, _, rest = name.partition("_")
    return f"{section}.{rest}" if section in _SECTIONS and rest else name


class FitResult:
    """What fit returns: the trained flow, the energy model (None for methods without a proxy's
    training, e.g. mle-flow, where it stays at its initial state), and the logged numbers."""

    def __init__(self, flow, energy, metrics):
        self.flow, self.energy, self.metrics = flow, energy, metrics

    def __repr__(self):
        steps = self.metrics["step"][-1] if len(self.metrics.get("step", [])) else 0
        return f"FitResult(steps={steps}, columns={list(self.metrics)})"


class _Progress:
    """One live line on a terminal (step, losses, rate, time left); silent elsewhere unless asked."""

    def __init__(self, enabled):
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.start = time.monotonic()

    def __call__(self, step, total, row):
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        rate = step / elapsed if elapsed > 0 else float("nan")
        left = (total - step) / rate if rate > 0 else float("nan")
        shown = " ".join(f"{k}={row[k]:.3f}" for k in ("F", "P", "R", "validation_nll")
                         if k in row and math.isfinite(row[k]))
        end = "\n" if step == total else ""
        print(f"\rstep {step}/{total} {shown} {rate:.0f} steps/s, {left:.0f} s left ", end=end,
              file=sys.stderr, flush=True)


def fit(x, method="jeffreys", validation=0.1, steps=None, progress=None, seed=0, config=None, **keys):
    """Trains a flow (and, for the joint methods, an energy model) on x [N, D] (tensor or array).

    method: a method name of `jeffreys train` (jeffreys, mle-flow, fixed-penalty, three-dual, ...,
    with -F<w>); validation: a fraction of x held out (0 for none) or a tensor [M, D]; steps: training
    steps (train.steps); seed; config: a dict of further keys ({"flow.layers": 4}); keys: the same as
    keyword arguments, section and key joined by "_" (flow_layers=4, train_batch_size=512).
    Bad keys or values raise ValueError with the message `jeffreys train` gives; NaN or divergence
    raises jeffreys.TrainingDiverged naming the step and the term.

    Returns a FitResult; its metrics are a dict of lists (a pandas DataFrame when pandas is there):
    step, the trainer's numbers (F, P, R, loss, the duals, ...) and validation_nll of the flow.
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() != 2:
        raise ValueError(f"x must be a [N, D] table, got shape {tuple(x.shape)}")
    overrides = {"method.name": method, "seed": seed}
    if steps is not None:
        overrides["train.steps"] = steps
    for name, value in dict(config or {}, **keys).items():
        overrides[_key(name)] = value
    held_out = None
    if isinstance(validation, (int, float)):
        if not 0 <= validation < 1:
            raise ValueError(f"validation must be a fraction in [0, 1) or a tensor, got {validation}")
        n_val = int(round(validation * x.shape[0]))
        if n_val > 0:
            order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(int(seed)))
            held_out, x = x[order[:n_val]], x[order[n_val:]]
    elif validation is not None:
        held_out = torch.as_tensor(validation, dtype=torch.float32)
    lines = [f"{k}={_toml(v)}" for k, v in overrides.items()]
    out = _jeffreys.fit(x, held_out, lines, _Progress(progress))
    metrics = dict(out.metrics)
    try:
        import pandas
        metrics = pandas.DataFrame(metrics)
    except ImportError:
        pass
    return FitResult(Flow._wrap(out.flow), EnergyModel._wrap(out.energy), metrics)
