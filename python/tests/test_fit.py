"""jeffreys.fit: the library's trainer from Python, the configuration checks of the command line."""
import math

import pytest
import torch

import jeffreys


def test_fit_on_two_moons_reaches_a_stated_nll():
    x = jeffreys.datasets.sample("two-moons", 2000, seed=0)
    test = jeffreys.datasets.sample("two-moons", 2000, seed=1)
    r = jeffreys.fit(x, method="jeffreys", steps=1500, flow_family="nsf", flow_layers=6, flow_hidden=64,
                     energy_hidden=64, train_log_every=100, progress=False)
    with torch.no_grad():
        nll = -r.flow.log_prob(test).mean().item()
    true_nll = -jeffreys.datasets.log_prob("two-moons", test).mean().item()
    # The data set's own NLL is 1.00 nats; 1500 steps of the joint method reach 1.53 (12 s here),
    # a standard Gaussian fit of the same points would be near 2.4.
    assert abs(true_nll - 1.0) < 0.05
    assert nll < 1.75, (nll, true_nll)
    metrics = r.metrics
    steps = list(metrics["step"])
    assert steps[0] == 100 and steps[-1] == 1500 and len(steps) == 15
    for column in ("F", "P", "R", "validation_nll"):
        assert all(math.isfinite(v) for v in metrics[column]), column
    # The energy model was trained too: its energies rank data above far-away points.
    with torch.no_grad():
        assert r.energy(test).mean() < r.energy(test + 6).mean()


def test_keys_and_values_are_checked_as_the_command_line_checks_them():
    x = torch.randn(100, 2)
    with pytest.raises(ValueError, match=r"--set flow\.layerz=4: key 'flow\.layerz': unknown key"):
        jeffreys.fit(x, flow_layerz=4, steps=1)
    with pytest.raises(ValueError, match=r"key 'train\.batch_size'"):
        jeffreys.fit(x, train_batch_size=0, steps=1)
    with pytest.raises(ValueError, match="method"):
        jeffreys.fit(x, method="no-such-method", steps=1)


def test_divergence_raises_training_diverged_naming_the_step():
    x = torch.randn(200, 2) * 1e3
    with pytest.raises(jeffreys.TrainingDiverged, match="step"):
        jeffreys.fit(x, method="mle-flow", steps=200, optim_lr=10.0, train_divergence_threshold=10.0, progress=False)
