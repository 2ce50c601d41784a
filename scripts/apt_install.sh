#!/usr/bin/env bash
# Installs Debian packages where this machine allows it (root and apt-get), quietly.
# Best effort: prints one line for what it could not install and exits 1; never asks.
# Usage: bash scripts/apt_install.sh PACKAGE...
set -u
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "apt_install: $* needs 'apt-get install $*' as root"
  exit 1
fi
# Without `apt-get update` first where the package lists are current; with it where they are stale or absent.
apt-get install -y -q "$@" >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$@" >/dev/null 2>&1; } \
  || { echo "apt_install: apt could not install $*"; exit 1; }
