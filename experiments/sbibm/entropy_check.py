"""How far the -H, -Hc and -Hn levels are from H(θ | x) on gaussian_linear (known) and sir (bounded).

For each training size of the SBI budgets (90% of 100 ... 2500 simulations), in the flow's
coordinates (θ and x z-scored with the training split's statistics, as jeffreys sbi does):
- gaussian_linear: the truth, 5 log(2πe·0.05) - Σ log sd(θ);
- sir: no closed form; the recorded NPE runs' best validation NLL (experiments/sbibm/paper_tasks)
  is an upper bound on H(θ | x) up to its noise (a cross-entropy of held-out pairs);
- the k-NN estimate (-H), the Gaussian bound and their minimum (-Hc), the neural Gaussian bound
  (seed 0, as a run of seed 0 computes it) and the minimum of all three (-Hn), by the library's functions.
Run: PYTHONPATH=build/python /usr/bin/python3 experiments/sbibm/entropy_check.py  (about a minute)
"""
import csv
import math
import os

import torch

import jeffreys
import jeffreys.sbibm as sbibm

HERE = os.path.dirname(os.path.abspath(__file__))


def zscore(t):
    sd = t.std(0, unbiased=True)
    sd = torch.where(sd > 1e-12, sd, torch.ones_like(sd))
    return (t - t.mean(0)) / sd, sd


def npe_bound(task, budget):
    """Mean over seeds of the recorded NPE runs' best validation NLL (None when not run)."""
    values = []
    for seed in range(3):
        f = os.path.join(HERE, "paper_tasks", "runs", f"{task}__{budget}__npe__s{seed}", "training.csv")
        if os.path.exists(f):
            with open(f) as fh:
                values.append(min(float(r["validation_nll"]) for r in csv.DictReader(fh)))
    return sum(values) / len(values) if values else None


def main():
    jeffreys.set_num_threads(1)
    print("task | simulations | training pairs | reference | k-NN (-H) | Gaussian bound | capped (-Hc) | neural bound | -Hn")
    print("---|---|---|---|---|---|---|---|---")
    for name in ("gaussian_linear", "sir"):
        task = sbibm.Task(name)
        for budget in (100, 300, 500, 1000, 2500):
            n = budget - max(1, int(0.1 * budget))
            theta = torch.as_tensor(task.sample_prior(n, seed=budget), dtype=torch.float64)
            x = torch.as_tensor(task.simulate(theta, seed=budget + 1), dtype=torch.float64)
            zt, sd = zscore(theta)
            zx, _ = zscore(x)
            if name == "gaussian_linear":
                ref = 5 * math.log(2 * math.pi * math.e * 0.05) - float(sd.log().sum())
                ref_text = f"{ref:.2f} (truth)"
            else:
                b = npe_bound(name, budget)
                ref_text = "-" if b is None else f"≤ {b:.2f} (NPE validation NLL)"
            knn = jeffreys.entropy(zt, zx)
            gauss = jeffreys.entropy(zt, zx, estimator="gaussian")
            neural = jeffreys.entropy(zt, zx, estimator="neural")
            print(f"{name} | {budget} | {n} | {ref_text} | {knn:.2f} | {gauss:.2f} | {min(knn, gauss):.2f} | "
                  f"{neural:.2f} | {min(knn, gauss, neural):.2f}", flush=True)


if __name__ == "__main__":
    main()
