"""jeffreys.fit on two moons with the joint method, then samples of both models drawn with matplotlib.
Usage: python3 examples/python/fit_two_moons.py [--quick] [--out two_moons.png]"""
import sys

import torch

import jeffreys

quick = "--quick" in sys.argv
out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
x = jeffreys.datasets.sample("two-moons", 2000, seed=0)
result = jeffreys.fit(x, method="jeffreys", steps=100 if quick else 3000, flow_family="nsf", flow_layers=6,
                      flow_hidden=64, energy_hidden=64)
print(result)
last = {k: float(v[-1]) if not hasattr(v, "iloc") else float(v.iloc[-1]) for k, v in dict(result.metrics).items()}
print("last logged step:", {k: round(v, 3) for k, v in last.items() if k in ("step", "F", "P", "R", "validation_nll")})
with torch.no_grad():
    samples = result.flow.sample(2000)
if out:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
    axes[0].scatter(*x.T, s=2, alpha=0.5)
    axes[0].set_title("data")
    axes[1].scatter(*samples.T, s=2, alpha=0.5, color="C1")
    axes[1].set_title("flow samples")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print("wrote", out)
