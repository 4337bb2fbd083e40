#!/usr/bin/python3
"""Draws the studies' report figures with matplotlib from the committed result tables alone (no run
folders needed), as PNG and PDF beside each table:

    experiments/small_data_2d/results/nll_vs_n.{png,pdf}     test NLL against training-set size
    experiments/sbibm/results/c2st_vs_budget.{png,pdf}       C2ST against simulations, with sbibm's NPE
    experiments/sbibm/low_data/c2st_vs_budget.{png,pdf}      the same for the low-budget grid
    experiments/fashion_mnist/results/image_metrics.{png,pdf} FID, precision, recall per method and sampler

Every point is a mean over seeds (for SBI: of each seed's mean over observations) with its
standard deviation as an error bar; the number of seeds is in the legend. Run: make figures
(or /usr/bin/python3 experiments/figures.py). Needs python3-matplotlib."""
import csv
import math
import os
import statistics
import sys
import tomllib
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.abspath(__file__))
plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 110,
                     "savefig.bbox": "tight", "pdf.fonttype": 42})


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return math.nan
    return v


def mean_std(values):
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan, math.nan, 0
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)


def save(fig, folder, name):
    for ext in ("png", "pdf"):
        path = os.path.join(folder, f"{name}.{ext}")
        fig.savefig(path + ".tmp", format=ext)
        os.replace(path + ".tmp", path)
        print("wrote", os.path.relpath(path, os.path.dirname(ROOT)))
    plt.close(fig)


def small_data_2d():
    folder = os.path.join(ROOT, "small_data_2d", "results")
    table = rows(os.path.join(folder, "results.csv"))
    study = tomllib.load(open(os.path.join(ROOT, "small_data_2d", "study.toml"), "rb"))
    # Each arm at the learning rate of its main grid (the study's learning-rate panel is drawn elsewhere).
    main_lr = {}
    for r in table:
        key = (r["arm"], r["dataset"], r["n_train"])
        main_lr.setdefault(r["arm"], defaultdict(int))[r["lr"]] += 1
    lr_of = {arm: max(c, key=c.get) for arm, c in main_lr.items()}
    datasets = sorted({r["dataset"] for r in table})
    arms = [a["name"] for a in study.get("arm", [])] or sorted(lr_of)
    fig, axes = plt.subplots(2, len(datasets), figsize=(3.2 * len(datasets), 5.6), sharex=True)
    for col, dataset in enumerate(datasets):
        for row, (column, label) in enumerate((("final_nll", "test NLL, final"), ("best_nll", "test NLL, best step"))):
            ax = axes[row][col]
            plotted = {}
            for i, arm in enumerate(arms):
                cells = defaultdict(list)
                for r in table:
                    if r["arm"] == arm and r["dataset"] == dataset and r["lr"] == lr_of.get(arm):
                        cells[int(r["n_train"])].append(number(r[column]))
                if not cells:
                    continue
                ns = sorted(cells)
                stats = [mean_std(cells[n]) for n in ns]
                seeds = max(s[2] for s in stats)
                plotted[arm] = [s[0] for s in stats]
                ax.errorbar(ns, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", ms=3, capsize=2,
                            color=f"C{i}", label=f"{arm} ({seeds} seeds)")
            ax.set_xscale("log")
            # A diverged arm (WGAN-GP's final NLL reaches thousands of nats) would flatten the others.
            flat = sorted(v for m in plotted.values() for v in m if math.isfinite(v))
            if flat:
                median = flat[len(flat) // 2]
                top = median + 3 * max(0.5, median - flat[0])
                if flat[-1] > top:
                    ax.set_ylim(flat[0] - 0.3, top)
                    off = [arm for arm, m in plotted.items() if max(m) > top]
                    ax.text(0.98, 0.97, "off scale: " + ", ".join(off), transform=ax.transAxes, va="top", ha="right",
                            fontsize=7)
            if row == 0:
                ax.set_title(dataset)
            if col == 0:
                ax.set_ylabel(label + " (nats)")
            if row == 1:
                ax.set_xlabel("training points")
    handles, labels = axes[1][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7, bbox_to_anchor=(0.5, -0.03))
    fig.subplots_adjust(bottom=0.13)
    fig.suptitle("Small-data 2D study: test NLL of the flow against training-set size (mean ± std over seeds)")
    save(fig, folder, "nll_vs_n")


def sbi(results_folder, benchmark_file):
    table = rows(os.path.join(results_folder, "results.csv"))
    with open(benchmark_file, "rb") as f:
        reference = tomllib.load(f).get("reference", {})
    # Each seed's mean over observations, then mean ± std over seeds, per (task, budget, method, sampler).
    per_seed = defaultdict(list)
    for r in table:
        per_seed[(r["task"], int(r["budget"]), r["method"], r["sampler"], r["seed"])].append(number(r["c2st"]))
    cells = defaultdict(list)
    for (task, budget, method, sampler, _), values in per_seed.items():
        cells[(task, budget, method, sampler)].append(statistics.fmean(values))
    tasks = list(dict.fromkeys(r["task"] for r in table))
    series = list(dict.fromkeys((r["method"], r["sampler"]) for r in table))
    cols = min(4, len(tasks))
    nrows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.3 * cols, 2.9 * nrows), squeeze=False, sharey=True)
    for k, task in enumerate(tasks):
        ax = axes[k // cols][k % cols]
        for i, (method, sampler) in enumerate(series):
            budgets = sorted(b for (t, b, m, s) in cells if t == task and m == method and s == sampler)
            if not budgets:
                continue
            stats = [mean_std(cells[(task, b, method, sampler)]) for b in budgets]
            ax.errorbar(budgets, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o", ms=3, capsize=2,
                        color=f"C{i}", ls="-" if sampler == "flow" else "--",
                        label=f"{method} {sampler} ({max(s[2] for s in stats)} seeds)")
        ref = reference.get(task, {})
        if ref:
            b = sorted(int(x) for x in ref)
            ax.plot(b, [ref[str(x)] for x in b], "k:", marker="s", ms=3, label="sbibm NPE (published)")
        ax.set_xscale("log")
        ax.set_ylim(0.45, 1.02)
        ax.axhline(0.5, color="grey", lw=0.6)
        ax.set_title(task)
        ax.set_xlabel("simulations")
        if k % cols == 0:
            ax.set_ylabel("C2ST (0.5 is best)")
    for k in range(len(tasks), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=7, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("C2ST against sbibm's reference posteriors: mean over seeds of each seed's mean over observations "
                 "(± std over seeds)", fontsize=9)
    fig.subplots_adjust(bottom=0.16, hspace=0.5)
    save(fig, results_folder, "c2st_vs_budget")


def images():
    folder = os.path.join(ROOT, "fashion_mnist", "results")
    table = rows(os.path.join(folder, "results.csv"))
    dims = sorted({int(r["latent_dim"]) for r in table})
    series = list(dict.fromkeys((r["method"], r["sampler"]) for r in table))
    fig, axes = plt.subplots(len(dims), 3, figsize=(11, 2.8 * len(dims)), squeeze=False)
    for d_i, dim in enumerate(dims):
        for m_i, (metric, better) in enumerate((("fid", "lower is better"), ("precision", "higher is better"),
                                                ("recall", "higher is better"))):
            ax = axes[d_i][m_i]
            labels, means, stds = [], [], []
            for method, sampler in series:
                values = [number(r[metric]) for r in table
                          if r["method"] == method and r["sampler"] == sampler and int(r["latent_dim"]) == dim]
                if not values:
                    continue
                m, s, n = mean_std(values)
                labels.append(f"{method}\n{sampler}")
                means.append(m)
                stds.append(s)
            ax.bar(range(len(means)), means, yerr=stds, capsize=2,
                   color=[f"C{i % 10}" for i in range(len(means))])
            ax.set_xticks(range(len(labels)), labels, rotation=70, fontsize=6)
            ax.set_title(f"{metric} ({better}), latent {dim}")
    fig.suptitle("Fashion-MNIST in an autoencoder's latent space: mean ± std over seeds")
    fig.tight_layout()
    save(fig, folder, "image_metrics")


def main():
    small_data_2d()
    sbi(os.path.join(ROOT, "sbibm", "results"), os.path.join(ROOT, "sbibm", "benchmark.toml"))
    sbi(os.path.join(ROOT, "sbibm", "low_data"), os.path.join(ROOT, "sbibm", "low_data.toml"))
    images()


if __name__ == "__main__":
    sys.exit(main())
