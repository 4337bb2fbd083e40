#!/bin/sh
# Data-parallel scaling on this machine: steps per second of the same training with 1 and with N
# processes (jeffreys ... --nproc N, Gloo), alternately, REPS times each, medians:
#   2D step: jeffreys train, 8 Gaussians, batch 1024, 1024 flow samples, the default method;
#   SBI: jeffreys sbi, gaussian_linear, 10^4 simulations, jeffreys-F10 (one step per epoch of 9,000
#   pairs, 16 flow samples each), a fixed number of epochs; training time from summary.json.
# Prints a line per setting, the SBI one last:
#   data-parallel: procs=N speedup=<steps/s with N over steps/s with 1>
# Usage: bench/data_parallel.sh [build-dir] [procs] [repetitions]
set -eu
BUILD=${1:-build}
PROCS=${2:-2}
REPS=${3:-3}
EXE=$BUILD/jeffreys
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
median() { echo "$@" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# Steps per second of a train run: steps over the training loop's wall time (evaluation kept tiny).
train_rate() {
  out=$TMP/train_$1_$2
  "$EXE" train --out "$out" --nproc "$1" --set data.name=8-gaussians --set data.n_train=5000 \
    --set train.batch_size=1024 --set train.flow_samples=1024 --set train.steps=60 --set train.log_every=60 \
    --set train.eval_every=60 --set train.checkpoint_every=60 --set eval.n_test=1000 --set eval.log_z_samples=1000 \
    --set eval.grid=20 --set eval.mmd_samples=100 >/dev/null 2>&1
  $PY -c "import csv,sys; r=list(csv.DictReader(open(sys.argv[1])))[-1]; print(float(r['step'])/float(r['wall_seconds']))" \
    "$out/metrics.csv"
}

# Steps per second of an SBI run's training.
sbi_rate() {
  out=$TMP/sbi_$1_$2
  "$EXE" sbi --task gaussian_linear --budget 10000 --method jeffreys-F10 --max-epochs 4 --posterior-samples 100 \
    --c2st-folds 2 --observation 1 --out "$out" --nproc "$1" >/dev/null 2>&1
  $PY -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['steps']/s['train_seconds'])" "$out/summary.json"
}

for what in train sbi; do
  ONE=""
  MANY=""
  i=0
  while [ $i -lt "$REPS" ]; do
    ONE="$ONE $(${what}_rate 1 $i)"
    MANY="$MANY $(${what}_rate "$PROCS" $i)"
    i=$((i + 1))
  done
  M1=$(median $ONE)
  MN=$(median $MANY)
  S=$(awk -v a="$M1" -v b="$MN" 'BEGIN {printf "%.2f", b / a}')
  if [ "$what" = train ]; then
    echo "data-parallel 2D step (batch 1024): steps_per_s procs=1: $M1 procs=$PROCS: $MN speedup=$S"
  else
    echo "data-parallel SBI joint (gaussian_linear, 10^4 simulations): steps_per_s procs=1: $M1 procs=$PROCS: $MN speedup=$S"
    SBI=$S
  fi
done
echo "data-parallel: procs=$PROCS speedup=$SBI"
