#!/bin/sh
# Runs the C++ joint step (bench/joint_step.cpp) and its PyTorch transcription bench/ref_step.py
# (with Debian's python3-torch, the same torch as LibTorch) alternately, one thread each, and prints
# the medians, then data-parallel scaling (bench/data_parallel.sh). JEFFREYS_REF_STEP names another
# reference script with the same interface. Last lines:
#   joint-step: cpp_ms=<x> python_ms=<y> speedup=<y/x>
#   data-parallel: procs=2 speedup=<steps/s with 2 processes over steps/s with 1>
# Usage: bench/run_bench.sh [build-dir] [repetitions] [steps]
set -eu
BUILD=${1:-build}
REPS=${2:-7}
STEPS=${3:-300}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${JEFFREYS_REF_STEP:-$ROOT/bench/ref_step.py}
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ -x "$BUILD/bench/flow_micro" ]; then
  "$BUILD/bench/flow_micro" --benchmark_min_time=0.2
fi
if [ ! -f "$REF" ]; then echo "reference script not found: $REF" >&2; exit 1; fi
CPP=""
PYT=""
i=0
while [ $i -lt "$REPS" ]; do
  c=$("$BUILD/bench/joint_step" "$STEPS" | awk '/ms_per_step/ {print $3}')
  p=$($PY "$REF" "$STEPS" | awk '/ms_per_step/ {print $3}')
  echo "repetition $((i + 1)): cpp_ms=$c python_ms=$p"
  CPP="$CPP $c"
  PYT="$PYT $p"
  i=$((i + 1))
done
median() { echo "$@" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
MC=$(median $CPP)
MP=$(median $PYT)
JOINT="joint-step: cpp_ms=$MC python_ms=$MP speedup=$(awk -v c="$MC" -v p="$MP" 'BEGIN {printf "%.2f", p / c}')"
PARALLEL=$("$ROOT/bench/data_parallel.sh" "$BUILD" 2 3)
echo "$PARALLEL" | grep -v '^data-parallel: '
echo "$JOINT"
echo "$PARALLEL" | grep '^data-parallel: '

