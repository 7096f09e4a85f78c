#!/usr/bin/env bash
# Runs bench/mnist-dec.ts for seeds 1..3 one after another (about an hour on 2 cores), then the
# summary. Usage: nohup bench/mnist-dec-all.sh [epochs] > bench/results/mnist-dec.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-100}"
for seed in 1 2 3; do
  node --import tsx bench/mnist-dec.ts --seed "$seed" --epochs "$epochs" "${@:2}"
done
node --import tsx bench/mnist-dec-summary.ts
