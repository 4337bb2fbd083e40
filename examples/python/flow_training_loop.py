"""A jeffreys flow trained by a plain PyTorch loop: the library's parameters in torch.optim.Adam.
Usage: python3 examples/python/flow_training_loop.py [--quick]"""
import sys

import torch

import jeffreys

steps = 100 if "--quick" in sys.argv else 2000
data = jeffreys.datasets.sample("8-gaussians", 5000, seed=0)
flow = jeffreys.Flow(2, family="nsf", layers=6, hidden=64, seed=0)
opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
for step in range(1, steps + 1):
    batch = data[torch.randint(0, len(data), (256,))]
    loss = -flow.log_prob(batch).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % (steps // 5) == 0:
        print(f"step {step}: NLL {loss.item():.3f}")
with torch.no_grad():
    test = jeffreys.datasets.sample("8-gaussians", 5000, seed=1)
    print(f"test NLL {-flow.log_prob(test).mean().item():.3f} "
          f"(the data set's own: {-jeffreys.datasets.log_prob('8-gaussians', test).mean().item():.3f})")
