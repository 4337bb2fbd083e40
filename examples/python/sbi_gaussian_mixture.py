"""Posterior estimation on sbibm's gaussian_mixture with NPE and the joint method, scored by C2ST
against sbibm's reference samples. Usage: python3 examples/python/sbi_gaussian_mixture.py [--quick]"""
import sys

import jeffreys

quick = "--quick" in sys.argv
task = jeffreys.sbibm.Task("gaussian_mixture")
theta = task.sample_prior(500 if quick else 1000, seed=0)
x = task.simulate(theta, seed=1)
x_o = task.observation(1)
reference = task.reference_posterior_samples(1)[: 500 if quick else 10000]
for method in ("npe", "jeffreys-F10"):
    posterior = jeffreys.sbi.train(theta, x, method=method, max_epochs=5 if quick else 5000, seed=0)
    draws = posterior.sample(len(reference), x_o)
    line = f"{method}: {posterior.epochs} epochs, C2ST flow {jeffreys.c2st(draws, reference, folds=2 if quick else 5):.3f}"
    if posterior.has_proxy:
        proxy = posterior.sample_proxy(len(reference), x_o, proposals=10 * len(reference))
        line += f", proxy {jeffreys.c2st(proxy, reference, folds=2 if quick else 5):.3f}"
    print(line)
