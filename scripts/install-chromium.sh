#!/usr/bin/env bash
# Installs headless Chromium from Debian's packages for the browser test of
# the Streaming page (tests/ui_browser.rs). Skipped when /usr/bin/chromium
# exists. Runs unattended (CI runs as root, with no standard input).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "install-chromium: not root and no sudo: install the Debian package 'chromium' by hand" >&2
    exit 1
  fi
fi

echo "chromium: installing the Debian package"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core </dev/null >/dev/null; then
  echo "install-chromium: 'apt-get install chromium' failed" >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "install-chromium: the package installed but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || true))"
