#!/usr/bin/python3
"""Draws the studies' report figures with matplotlib from the committed result tables alone (no run
folders needed), as PNG and PDF beside each table:

    experiments/small_data_2d/results/nll_vs_n.{png,pdf}     test NLL against training-set size
    experiments/small_data_2d/results/nll_curves.{png,pdf}   test NLL over training, seed bands (curves.csv)
    experiments/small_data_2d/results/lr_panel.{png,pdf}     the learning-rate panel (curves.csv)
    experiments/small_data_2d/results/densities.{png,pdf}    truth, points, flows, energy (densities.csv)
    experiments/small_data_2d/paper/{nll_curves,densities}.{png,pdf}  the same for the paper's formulation
    experiments/sbibm/pairs/pairs_<task>_<budget>.{png,pdf}  pair plots against the reference (samples_*.csv)
    experiments/sbibm/results/c2st_vs_budget.{png,pdf}       C2ST against simulations, with sbibm's NPE
    experiments/sbibm/low_data/c2st_vs_budget.{png,pdf}      the same for the low-budget grid
    experiments/fashion_mnist/results/image_metrics.{png,pdf} FID, precision, recall per method and sampler
    experiments/fashion_mnist/results/image_grids_d<k>.{png,pdf} every method's and sampler's samples, labelled

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


def rows_or_skip(path, what):
    """The table at path, or None (saying which figure is skipped) when the study has not written it."""
    if os.path.exists(path):
        return rows(path)
    print("no", os.path.relpath(path, os.path.dirname(ROOT)) + ":", what, "skipped")
    return None


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


def curve_stats(table, keep):
    """Per step, mean and std over seeds of the runs that `keep` accepts, at steps every seed reached."""
    by_seed = defaultdict(dict)
    for r in table:
        if keep(r):
            by_seed[r["seed"]][int(r["step"])] = r
    if not by_seed:
        return None
    steps = sorted(set.intersection(*(set(v) for v in by_seed.values())))
    return steps, by_seed


def band(ax, steps, by_seed, column, color, label, ls="-"):
    stats = [mean_std([number(by_seed[s][t][column]) for s in by_seed]) for t in steps]
    keep = [i for i, st in enumerate(stats) if math.isfinite(st[0])]
    if not keep:
        return []
    x = [steps[i] for i in keep]
    m = [stats[i][0] for i in keep]
    sd = [stats[i][1] for i in keep]
    ax.plot(x, m, color=color, ls=ls, lw=1.2, label=f"{label} ({len(by_seed)} seeds)")
    ax.fill_between(x, [a - b for a, b in zip(m, sd)], [a + b for a, b in zip(m, sd)], color=color, alpha=0.18, lw=0)
    return m


def clip_outliers(ax, by_name):
    """An overfitting or diverging arm (maximum likelihood on 200 points, WGAN-GP) would flatten the rest:
    clip the axis and name what runs off it."""
    flat = sorted(v for values in by_name.values() for v in values if math.isfinite(v))
    if not flat:
        return
    median = flat[len(flat) // 2]
    top = median + 3 * max(0.5, median - flat[0])
    if flat[-1] > top:
        ax.set_ylim(flat[0] - 0.3, top)
        off = [name for name, values in by_name.items() if any(math.isfinite(v) and v > top for v in values)]
        ax.text(0.98, 0.97, "off scale: " + ", ".join(off), transform=ax.transAxes, va="top", ha="right", fontsize=6,
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})


def small_data_curves(results="results", study_file="study.toml"):
    """nll_curves: test NLL over training per data set and training-set size, mean ± std band over seeds;
    lr_panel: the learning-rate comparison; both from curves.csv."""
    folder = os.path.join(ROOT, "small_data_2d", results)
    table = rows_or_skip(os.path.join(folder, "curves.csv"), "curves (rerun the study's report)")
    if table is None:
        return
    study = tomllib.load(open(os.path.join(ROOT, "small_data_2d", study_file), "rb"))
    lr_count = defaultdict(lambda: defaultdict(int))
    for r in table:
        lr_count[r["arm"]][r["lr"]] += 1
    lr_of = {arm: max(c, key=c.get) for arm, c in lr_count.items()}
    all_arms = [a["name"] for a in study.get("arm", [])]
    arms = study.get("curve_arms") or all_arms
    datasets = list(dict.fromkeys(r["dataset"] for r in table))
    sizes = sorted({int(r["n_train"]) for r in table})
    fig, axes = plt.subplots(len(sizes), len(datasets), figsize=(3.4 * len(datasets), 2.7 * len(sizes)),
                             squeeze=False, sharex=True)
    for i_n, n in enumerate(sizes):
        for i_d, dataset in enumerate(datasets):
            ax = axes[i_n][i_d]
            values = {}
            for i, arm in enumerate(arms):
                got = curve_stats(table, lambda r: r["arm"] == arm and r["dataset"] == dataset
                                  and int(r["n_train"]) == n and r["lr"] == lr_of.get(arm))
                if not got:
                    continue
                steps, by_seed = got
                colour = f"C{all_arms.index(arm) if arm in all_arms else i}"
                values[arm] = band(ax, steps, by_seed, "nll_flow", colour, f"{arm}, flow")
                values[arm + " (energy)"] = band(ax, steps, by_seed, "nll_proxy", colour, f"{arm}, energy model",
                                                 ls="--")
            clip_outliers(ax, values)
            if i_n == 0:
                ax.set_title(dataset)
            if i_d == 0:
                ax.set_ylabel(f"{n} points\ntest NLL (nats)")
            if i_n == len(sizes) - 1:
                ax.set_xlabel("step")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=7, bbox_to_anchor=(0.5, -0.04))
    fig.suptitle("Small-data 2D study: test NLL over training (mean ± std over seeds, on 10^5 fresh samples)")
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    save(fig, folder, "nll_curves")

    n = study.get("lr_panel_n_train", 500)
    lr_arms = study.get("lr_panel_arms", [])
    if not lr_arms:
        return
    fig, axes = plt.subplots(1, len(datasets), figsize=(3.4 * len(datasets), 3.0), squeeze=False)
    for i_d, dataset in enumerate(datasets):
        ax = axes[0][i_d]
        k = 0
        for arm in lr_arms:
            for lr in sorted({r["lr"] for r in table if r["arm"] == arm and int(r["n_train"]) == n}, key=float,
                             reverse=True):
                got = curve_stats(table, lambda r: r["arm"] == arm and r["dataset"] == dataset
                                  and int(r["n_train"]) == n and r["lr"] == lr)
                if got:
                    band(ax, *got, "nll_flow", f"C{k}", f"{arm}, lr {lr}")
                k += 1
        ax.set_yscale("log")
        ax.set_title(f"{dataset}, {n} points")
        ax.set_xlabel("step")
        if i_d == 0:
            ax.set_ylabel("test NLL of the flow (nats, log axis)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=7, bbox_to_anchor=(0.5, -0.08))
    fig.suptitle("Learning-rate panel: the joint method against WGAN-GP with a flow generator (mean ± std over seeds)")
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    save(fig, folder, "lr_panel")


def small_data_densities(results="results"):
    """densities: per data set, the truth, the training points, each density arm's flow and the last one's
    energy model (first seed), on the truth's colour scale so an overfitted flow's spikes saturate."""
    folder = os.path.join(ROOT, "small_data_2d", results)
    path = os.path.join(folder, "densities.csv")
    if not os.path.exists(path):
        return
    maps = defaultdict(dict)  # dataset -> (arm, panel) -> (extent, rows)
    for r in rows(path):
        key = (r["arm"], r["panel"])
        extent = [number(r[c]) for c in ("x_min", "x_max", "y_min", "y_max")]
        values = [number(r[f"v{i}"]) for i in range(len(r) - 8)]
        maps[r["dataset"]].setdefault(key, (extent, {}))[1][int(r["row"])] = values
    points = defaultdict(list)
    for r in rows(os.path.join(folder, "train_points.csv")):
        points[r["dataset"]].append((number(r["x"]), number(r["y"])))
    datasets = list(maps)
    panels = []
    for d in datasets:
        for key in maps[d]:
            if key not in panels:
                panels.append(key)
    truth = ("", "truth")
    cols = [truth, ("points", "")] + [k for k in panels if k != truth]
    fig, axes = plt.subplots(len(datasets), len(cols), figsize=(2.2 * len(cols), 2.2 * len(datasets)), squeeze=False)
    for i_d, d in enumerate(datasets):
        vmax = None
        if truth in maps[d]:
            vmax = max(max(row) for row in maps[d][truth][1].values())
        for i_c, key in enumerate(cols):
            ax = axes[i_d][i_c]
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            any_map = next(iter(maps[d].values()))
            extent = any_map[0]
            if key == ("points", ""):
                xs, ys = zip(*points[d]) if points[d] else ([], [])
                ax.scatter(xs, ys, s=2, color="k")
                ax.set_xlim(extent[0], extent[1])
                ax.set_ylim(extent[2], extent[3])
                title = f"{len(points[d])} training points"
            elif key in maps[d]:
                ext, grid = maps[d][key]
                image = [grid[i] for i in sorted(grid)]
                ax.imshow(image, origin="lower", extent=ext, aspect="auto", cmap="viridis", vmin=0, vmax=vmax)
                title = "true density" if key == truth else f"{key[0]}: {'flow' if key[1] == 'flow' else 'energy model'}"
            else:
                ax.axis("off")
                continue
            if i_d == 0:
                ax.set_title(title, fontsize=8)
            if i_c == 0:
                ax.set_ylabel(d)
    fig.suptitle("Densities after training on the smallest training set (first seed)", fontsize=9)
    fig.tight_layout()
    save(fig, folder, "densities")


def read_samples(path):
    """(names, rows of floats) of a CSV of samples, gzip'd or plain."""
    import gzip
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [[float(v) for v in row] for row in reader if row]


def sbi_pairs(results_folder):
    """pairs_<task>_<budget>: sbi-style pair plots (marginals on the diagonal, pairwise scatter above it) of the
    reference posterior and each method's posterior samples for one observation, from samples_<task>_<budget>.csv."""
    sbibm = os.path.join(os.path.dirname(ROOT), "data", "sbibm")
    for name in sorted(os.listdir(results_folder)):
        if not (name.startswith("samples_") and name.endswith(".csv")):
            continue
        stem = name[len("samples_"):-len(".csv")]
        task, budget = stem.rsplit("_", 1)
        table = rows(os.path.join(results_folder, name))
        if not table:
            continue
        obs = table[0]["observation"]
        dims = [c for c in table[0] if c.startswith("theta_")]
        sets = {}
        for r in table:
            sets.setdefault(f"{r['method']} ({r['sampler']})", []).append([number(r[c]) for c in dims])
        _, reference = read_samples(os.path.join(sbibm, task, f"obs_{obs}", "reference_posterior_samples.csv.gz"))
        reference = reference[:1000]
        d = min(len(dims), 5)
        lims = []
        for j in range(d):
            col = sorted(row[j] for row in reference)
            lo, hi = col[int(0.005 * len(col))], col[int(0.995 * len(col)) - 1]
            pad = 0.15 * (hi - lo)
            lims.append((lo - pad, hi + pad))
        fig, axes = plt.subplots(d, d, figsize=(1.9 * d + 0.6, 1.9 * d + 0.6), squeeze=False)
        colours = {"reference": "0.45"}
        for i, label in enumerate(sets):
            colours[label] = f"C{i}"
        allsets = [("reference", reference)] + list(sets.items())
        for a in range(d):
            for b in range(d):
                ax = axes[a][b]
                if b < a:
                    ax.axis("off")
                    continue
                if a == b:
                    for label, samples in allsets:
                        ax.hist([row[a] for row in samples], bins=40, range=lims[a], density=True, histtype="step",
                                color=colours[label], lw=1.1 if label != "reference" else 1.6,
                                ls="--" if "(proxy)" in label else "-", label=label)
                    ax.set_yticks([])
                else:
                    for label, samples in allsets:
                        ax.scatter([row[b] for row in samples], [row[a] for row in samples], s=1.2, alpha=0.35,
                                   color=colours[label], rasterized=True)
                    ax.set_ylim(*lims[a])
                ax.set_xlim(*lims[b])
                ax.tick_params(labelsize=6)
                if a == b:
                    ax.set_xlabel(f"θ{b + 1}", fontsize=8)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower left", fontsize=7, bbox_to_anchor=(0.05, 0.05))
        fig.suptitle(f"{task}, {budget} simulations, observation {obs}: posterior samples "
                     f"(1000 each; first seed){' — first 5 of ' + str(len(dims)) + ' parameters' if len(dims) > d else ''}",
                     fontsize=8)
        fig.tight_layout()
        save(fig, results_folder, f"pairs_{task}_{budget}")


def image_grids():
    """image_grids_d<k>: the committed 8x8 sample grids of every method and sampler, labelled."""
    folder = os.path.join(ROOT, "fashion_mnist", "results")
    grids = os.path.join(folder, "grids")
    if not os.path.isdir(grids):
        return
    import matplotlib.image as mpimg
    found = defaultdict(dict)  # dim -> method -> sampler -> file
    for name in sorted(os.listdir(grids)):
        if not name.endswith(".png"):
            continue
        method, dim, sampler = name[:-4].rsplit("_", 2)
        found[dim].setdefault(method, {})[sampler] = os.path.join(grids, name)
    samplers = ["flow", "proxy", "langevin"]
    order = {m: i for i, m in enumerate(r["method"] for r in rows(os.path.join(folder, "results.csv")))}
    for dim, methods in sorted(found.items()):
        names = sorted(methods, key=lambda m: order.get(m, len(order)))
        fig, axes = plt.subplots(len(names), len(samplers), figsize=(2.3 * len(samplers), 2.35 * len(names)),
                                 squeeze=False)
        for i, m in enumerate(names):
            for j, sampler in enumerate(samplers):
                ax = axes[i][j]
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if sampler in methods[m]:
                    image = mpimg.imread(methods[m][sampler])
                    # The raster grid carries its own title band in a bitmap font: cut it, the axes label it.
                    grey = image[..., :3].mean(axis=2) if image.ndim == 3 else image
                    top = 0
                    while top < grey.shape[0] // 4 and grey[top].mean() > 0.5:
                        top += 1
                    ax.imshow(image[top:], cmap="gray", interpolation="antialiased")
                else:
                    ax.axis("off")
                    ax.text(0.5, 0.5, "no energy model" if sampler != "flow" else "", ha="center", va="center",
                            fontsize=7, transform=ax.transAxes)
                if i == 0:
                    ax.set_title({"flow": "flow samples", "proxy": "energy model (SIR)",
                                  "langevin": "energy model (Langevin)"}[sampler], fontsize=8)
                if j == 0:
                    ax.set_ylabel(m, fontsize=8)
        fig.suptitle(f"Fashion-MNIST, latent dimension {dim[1:]}: decoded samples (seed 0)", fontsize=9)
        fig.tight_layout()
        save(fig, folder, f"image_grids_{dim}")


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


def images(results="results"):
    folder = os.path.join(ROOT, "fashion_mnist", results)
    table = rows_or_skip(os.path.join(folder, "results.csv"), "image metrics")
    if table is None:
        return
    # One row of panels per latent size and training-set size (studies before issue 16: every code).
    cells = sorted({(int(r["latent_dim"]), int(r.get("n_train") or 0)) for r in table})
    series = list(dict.fromkeys((r["method"], r["sampler"]) for r in table))
    fig, axes = plt.subplots(len(cells), 3, figsize=(11, 2.8 * len(cells)), squeeze=False)
    for d_i, (dim, n_train) in enumerate(cells):
        for m_i, (metric, better) in enumerate((("fid", "lower is better"), ("precision", "higher is better"),
                                                ("recall", "higher is better"))):
            ax = axes[d_i][m_i]
            labels, means, stds = [], [], []
            for method, sampler in series:
                values = [number(r[metric]) for r in table
                          if r["method"] == method and r["sampler"] == sampler and int(r["latent_dim"]) == dim
                          and int(r.get("n_train") or 0) == n_train]
                if not values:
                    continue
                m, s, n = mean_std(values)
                labels.append(f"{method}\n{sampler}")
                means.append(m)
                stds.append(s)
            ax.bar(range(len(means)), means, yerr=stds, capsize=2,
                   color=[f"C{i % 10}" for i in range(len(means))])
            ax.set_xticks(range(len(labels)), labels, rotation=70, fontsize=6)
            ax.set_title(f"{metric} ({better}), latent {dim}" + (f", {n_train} codes" if n_train else ""))
    fig.suptitle("Fashion-MNIST in an autoencoder's latent space: mean ± std over seeds")
    fig.tight_layout()
    save(fig, folder, "image_metrics")


def main():
    small_data_2d()
    small_data_curves()
    small_data_densities()
    for study in ("paper", "paper_more", "paper_sizes", "ablation", "drift"):  # issue 16: the paper's formulation
        if os.path.isdir(os.path.join(ROOT, "small_data_2d", study)):
            small_data_curves(study, study + ".toml")
            small_data_densities(study)
    sbi(os.path.join(ROOT, "sbibm", "results"), os.path.join(ROOT, "sbibm", "benchmark.toml"))
    sbi(os.path.join(ROOT, "sbibm", "low_data"), os.path.join(ROOT, "sbibm", "low_data.toml"))
    for folder in ("results", "low_data", "pairs"):
        if os.path.isdir(os.path.join(ROOT, "sbibm", folder)):
            sbi_pairs(os.path.join(ROOT, "sbibm", folder))
    images()
    images("small_data")
    image_grids()


if __name__ == "__main__":
    sys.exit(main())
