"""Tensors and gradients cross between Python and the library without a copy, and a plain PyTorch
training loop trains a jeffreys flow."""
import math

import pytest
import torch

import jeffreys


def test_flow_log_prob_is_normalised_and_inverts_its_samples():
    flow = jeffreys.Flow(2, family="nsf", layers=3, hidden=16, seed=1)
    # Integrates to 1 on a grid wide enough for a near-standard flow.
    g = torch.linspace(-7, 7, 281)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    with torch.no_grad():
        p = flow.log_prob(torch.stack([xx.flatten(), yy.flatten()], 1)).exp()
    assert abs(p.sum().item() * (g[1] - g[0]).item() ** 2 - 1) < 1e-2
    # sample_and_log_prob gives the density log_prob gives at the same points.
    with torch.no_grad():
        x, lp = flow.sample_and_log_prob(500)
        assert torch.allclose(flow.log_prob(x), lp, atol=1e-4)


def test_parameters_are_the_library_tensors_and_autograd_reaches_them():
    flow = jeffreys.Flow(3, family="realnvp", layers=2, hidden=8)
    params = flow.parameters()
    assert len(params) > 0 and all(p.requires_grad and p.is_leaf for p in params)
    loss = -flow.log_prob(torch.randn(64, 3)).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)
    # A change made from Python is the library's: the density moves with it.
    x = torch.randn(8, 3)
    with torch.no_grad():
        before = flow.log_prob(x).clone()
        params[0].add_(0.5)
        assert not torch.allclose(flow.log_prob(x), before)
        # Same storage: a tensor given back by the library is the one Python holds.
        assert flow.parameters()[0].data_ptr() == params[0].data_ptr()


def test_a_python_training_loop_with_torch_optim_fits_a_gaussian():
    torch.manual_seed(0)
    mean = torch.tensor([2.0, -1.0])
    data = torch.randn(4000, 2) * 0.5 + mean
    flow = jeffreys.Flow(2, family="realnvp", layers=4, hidden=32, seed=0)
    opt = torch.optim.Adam(flow.parameters(), lr=3e-3)
    for step in range(400):
        batch = data[torch.randint(0, len(data), (256,))]
        loss = -flow.log_prob(batch).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        nll = -flow.log_prob(data).mean().item()
    exact = 2 * (0.5 * math.log(2 * math.pi * 0.25) + 0.5)  # entropy of N(mean, 0.25 I)
    assert nll < exact + 0.1, (nll, exact)


def test_conditional_flow_and_energy_shapes_and_gradients():
    flow = jeffreys.Flow(2, family="nsf", layers=2, hidden=8, context_features=3)
    c = torch.randn(5, 3)
    x, lp = flow.sample_per_context(4, c)
    assert x.shape == (4, 5, 2) and lp.shape == (4, 5)
    energy = jeffreys.EnergyModel(2, hidden=8, context_features=3)
    e = energy(torch.randn(5, 2), c)
    assert e.shape == (5,)
    e.sum().backward()
    assert all(p.grad is not None for p in energy.parameters())


def test_save_and_load_round_trip(tmp_path):
    a = jeffreys.Flow(2, layers=2, hidden=8, seed=1)
    b = jeffreys.Flow(2, layers=2, hidden=8, seed=2)
    x = torch.randn(10, 2)
    a.save(tmp_path / "flow.pt")
    b.load(tmp_path / "flow.pt")
    with torch.no_grad():
        assert torch.equal(a.log_prob(x), b.log_prob(x))


def test_bad_options_raise_value_error_with_the_library_message():
    with pytest.raises(ValueError, match="unknown flow family 'glow'"):
        jeffreys.Flow(2, family="glow")
    with pytest.raises(ValueError, match="features must be >= 1"):
        jeffreys.Flow(0)


def test_openblas_thread_count_is_set_inside_python():
    # make test installs libopenblas0-pthread, so OpenBLAS is the BLAS here; inside Python it is
    # hidden from dlsym(RTLD_DEFAULT) and must be found by name.
    assert jeffreys.openblas_threads() >= 1
    jeffreys.set_num_threads(2)
    assert jeffreys.openblas_threads() == 2 and torch.get_num_threads() == 2
    jeffreys.set_num_threads(1)
    assert jeffreys.openblas_threads() == 1
