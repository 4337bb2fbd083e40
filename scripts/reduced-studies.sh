#!/bin/sh
# The reduced studies of the test suite (2D study, image study, SBI benchmark) and one single run,
# through the command line of EXE into OUT: run it with two builds, then compare the folders with
# scripts/compare-runs.py (files equal but for paths and timings). Usage: reduced-studies.sh EXE OUT
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
EXE=$1; OUT=$2
rm -rf "$OUT"; mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1
# 1. the reduced small-data study of tests/app/test_study.cpp
sed "s#base = \"base.toml\"#base = \"$SRC/experiments/small_data_2d/base.toml\"#" $SRC/experiments/small_data_2d/study.toml | sed '/^\[\[grid\]\]/,$d' > "$OUT/study.toml"
cat >> "$OUT/study.toml" <<'T'
[[grid]]
arms = ["mle-flow", "jeffreys", "fixed-penalty", "wgan-gp"]
datasets = ["two-moons"]
n_train = [200]
seeds = [0, 1]
[[grid]]
arms = ["jeffreys", "wgan-gp"]
datasets = ["two-moons"]
n_train = [500]
lr = [1e-3, 1e-5]
seeds = [0]
T
$EXE study --config "$OUT/study.toml" --out "$OUT/study" --jobs 2 --set train.steps=60 --set train.eval_every=30 --set train.log_every=10 --set train.checkpoint_every=30 --set eval.n_test=2000 --set eval.log_z_samples=2000 --set eval.grid=40 --set eval.mmd_samples=200 > "$OUT/study.out" 2> "$OUT/study.err"
echo "study exit $?"
# 2. the tiny image study of tests/app/test_image_study.cpp
mkdir -p "$OUT/img"
printf 'threads = 1\n[flow]\nfamily = "realnvp"\nlayers = 4\nhidden = 32\n[energy]\nhidden = 32\n[train]\nsteps = 150\nbatch_size = 128\nflow_samples = 64\nlog_every = 50\neval_every = 150\ncheckpoint_every = 150\n[eval]\nlog_z_samples = 4000\nmmd_samples = 200\n' > "$OUT/img/base.toml"
printf 'seed = 0\n[data]\nsource = "fashion-mnist"\npath = "/usr/share/datasets/fashion-mnist"\nmax_train = 2000\nmax_test = 400\n[autoencoder]\nlatent_dims = [4]\nwidth = 8\nepochs = 2\n[classifier]\nepochs = 1\nfeatures = 32\n[evaluation]\nsamples = 300\nk = 3\nlangevin_steps = 3\nlangevin_step_size = 1e-3\ngrid = 4\n[latent]\nbase = "base.toml"\nseeds = [0]\n[[latent.arm]]\nname = "mle"\nset = [%s]\n[[latent.arm]]\nname = "joint"\nset = [%s]\n' "'method.name=\"mle-flow\"'" "'method.name=\"jeffreys\"'" > "$OUT/img/study.toml"
$EXE image-study --config "$OUT/img/study.toml" --out "$OUT/image" --jobs 2 > "$OUT/image.out" 2> "$OUT/image.err"
echo "image exit $?"
# 3. a tiny SBI benchmark
printf 'observations_root = "%s"\ntasks = ["two_moons"]\nbudgets = [200]\nmethods = ["npe", "jeffreys-F10"]\nseeds = [0]\nobservations = [1]\nargs = ["--max-epochs", "3", "--posterior-samples", "1000"]\n' "$(cd "$SRC/data/sbibm" && pwd)" > "$OUT/bench.toml"
$EXE sbi-benchmark --config "$OUT/bench.toml" --out "$OUT/sbi" --jobs 2 > "$OUT/sbi.out" 2> "$OUT/sbi.err"
echo "sbi exit $?"
# 4. single runs: csv data with test_csv absent, maf, cosine; eval and sample
$EXE train --out "$OUT/train1" --set train.steps=40 --set train.eval_every=20 --set eval.n_test=500 --set eval.log_z_samples=500 --set eval.grid=30 --set optim.schedule=cosine --set flow.family=maf > "$OUT/train1.out" 2>&1
$EXE eval --run "$OUT/train1" > "$OUT/eval1.out" 2>&1
$EXE sample --run "$OUT/train1" --n 50 --model proxy --out "$OUT/train1_samples.csv" > /dev/null 2>&1
echo done
