"""SBI from Python: sbi's shape conventions, the library's posterior training, the sbibm tasks and C2ST."""
import pytest
import torch

import jeffreys
from jeffreys.sbi import build_jeffreys_nsf


def test_density_estimator_follows_sbis_shape_conventions():
    theta, x = torch.randn(100, 3), torch.randn(100, 5)
    est = build_jeffreys_nsf(theta, x, hidden_features=16, num_transforms=2)
    assert est.input_shape == (3,) and est.condition_shape == (5,)
    condition = torch.randn(4, 5)
    lp = est.log_prob(torch.randn(7, 4, 3), condition)
    assert lp.shape == (7, 4)
    assert est.sample((6,), condition).shape == (6, 4, 3)
    assert est.sample((2, 3), condition).shape == (2, 3, 4, 3)
    samples, lp = est.sample_and_log_prob((5,), condition)
    assert samples.shape == (5, 4, 3) and lp.shape == (5, 4)
    assert est.loss(torch.randn(4, 3), condition).shape == (4,)
    with pytest.raises(ValueError, match="input must be"):
        est.log_prob(torch.randn(4, 3), condition)


def test_density_estimator_trains_in_an_sbi_style_loop_on_a_linear_gaussian():
    torch.manual_seed(0)
    theta = torch.randn(3000, 2)
    x = theta + 0.3 * torch.randn(3000, 2)
    est = build_jeffreys_nsf(theta, x, hidden_features=32, num_transforms=3)
    opt = torch.optim.Adam(est.parameters(), lr=3e-3)
    for _ in range(300):
        i = torch.randint(0, 3000, (256,))
        loss = est.loss(theta[i], x[i]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    # The exact posterior: N(x / 1.09, 0.09 / 1.09 I); its mean is recovered.
    x_o = torch.tensor([[1.0, -0.5]])
    draws = est.sample((4000,), x_o)[:, 0]
    assert torch.allclose(draws.mean(0), x_o[0] / 1.09, atol=0.08), draws.mean(0)


def test_library_posterior_on_gaussian_linear_scores_a_c2st_near_half():
    task = jeffreys.sbibm.Task("gaussian_linear")
    theta = task.sample_prior(2000, seed=0)
    x = task.simulate(theta, seed=1)
    posterior = jeffreys.sbi.train(theta, x, method="npe", max_epochs=200, seed=0)
    x_o = task.observation(1)
    draws = posterior.sample(1000, x_o)
    assert draws.shape == (1000, task.parameter_dim)
    reference = task.reference_posterior_samples(1)[:1000]
    # sbibm's NPE reaches 0.69 at 1000 simulations; 2000 here (early stopping after ~100 epochs): 0.63.
    score = jeffreys.c2st(draws, reference, folds=2)
    assert score < 0.75, score
    assert posterior.log_prob(draws[:5], x_o).shape == (5,)


def test_sbibm_tasks_and_files():
    assert "two_moons" in jeffreys.sbibm.task_names()
    task = jeffreys.sbibm.Task("two_moons")
    assert task.parameter_dim == 2 and task.data_dim == 2
    theta = task.sample_prior(10, seed=3)
    assert torch.equal(theta, task.sample_prior(10, seed=3))
    assert task.simulate(theta, seed=0).shape == (10, 2)
    assert task.reference_posterior_samples(1).shape == (10000, 2)
    assert task.observation(1).shape == (1, 2)


def test_c2st_separates_and_confuses():
    a = torch.randn(500, 2)
    assert jeffreys.c2st(a, torch.randn(500, 2), folds=2) < 0.6
    assert jeffreys.c2st(a, torch.randn(500, 2) + 5, folds=2) > 0.95


def test_proxy_posterior_by_resample_move_has_no_repeated_draws():
    task = jeffreys.sbibm.Task("two_moons")
    theta = task.sample_prior(300, seed=0)
    x = task.simulate(theta, seed=1)
    posterior = jeffreys.sbi.train(theta, x, method="jeffreys", layers=2, hidden=16, max_epochs=10, flow_samples=4)
    x_o = task.observation(1)
    sir, ess, acceptance = posterior.sample_proxy(500, x_o, proposals=2000, diagnostics=True)
    assert sir.shape == (500, 2) and 1.0 <= ess <= 2000.0 and acceptance != acceptance  # nan without MALA
    assert torch.unique(sir, dim=0).shape[0] < 480  # 500 draws with replacement from 2000 proposals
    moved, _, acceptance = posterior.sample_proxy(500, x_o, proposals=2000, mala_steps=30, diagnostics=True)
    assert torch.unique(moved, dim=0).shape[0] > 495
    assert 0.0 < acceptance <= 1.0  # near 1 here: 10 epochs leave the energy almost flat
    with pytest.raises(ValueError, match="mala_steps"):
        posterior.sample_proxy(10, x_o, mala_steps=-1)


def test_device_is_chosen_by_name_and_the_cpu_gives_the_default_run():
    task = jeffreys.sbibm.Task("two_moons")
    theta = task.sample_prior(300, seed=0)
    x = task.simulate(theta, seed=1)
    kw = dict(method="npe", layers=2, hidden=16, max_epochs=5, seed=3)
    x_o = task.observation(1)
    default = jeffreys.sbi.train(theta, x, **kw).sample(200, x_o, seed=4)
    on_cpu = jeffreys.sbi.train(theta, x, device="cpu", **kw).sample(200, x_o, seed=4)
    assert torch.equal(default, on_cpu) and default.device.type == "cpu"
    with pytest.raises(RuntimeError):
        jeffreys.sbi.train(theta, x, device="gpu", **kw)


def test_entropy_estimators_on_gaussian_linear():
    # H(θ | x) = 5 log(2πe·0.05) for sbibm's gaussian_linear; the capped estimate is the (exact) bound.
    import math
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(500, 10, generator=g, dtype=torch.float64) * math.sqrt(0.1)
    x = theta + torch.randn(500, 10, generator=g, dtype=torch.float64) * math.sqrt(0.1)
    truth = 5 * math.log(2 * math.pi * math.e * 0.05)
    knn = jeffreys.entropy(theta, x)
    capped = jeffreys.entropy(theta, x, estimator="capped")
    assert knn - truth > 1.5
    assert abs(capped - truth) < 0.3
    assert capped == jeffreys.entropy(theta, x, estimator="gaussian")
    # Unconditional, 1-D N(0, 1): both close to ½ log(2πe).
    z = torch.randn(4000, 1, generator=g, dtype=torch.float64)
    assert abs(jeffreys.entropy(z) - 0.5 * math.log(2 * math.pi * math.e)) < 0.05
    with pytest.raises(ValueError):
        jeffreys.entropy(z, estimator="kde")
    with pytest.raises(ValueError):  # the neural bound is conditional only
        jeffreys.entropy(z, estimator="neural")
    # -Hn: the k-NN estimate capped by the smaller bound; here the linear one (exact) is the smaller.
    neural = jeffreys.entropy(theta, x, estimator="neural")
    assert neural > truth - 0.1
    assert jeffreys.entropy(theta, x, estimator="capped-neural") == min(knn, capped, neural)
