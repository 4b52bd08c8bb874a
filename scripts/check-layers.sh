#!/usr/bin/env bash
# The layer check (see scripts/check-layers.py): every module imports only
# downwards, and no files import each other in a cycle. Needs python3
# (installed from Debian's packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v python3 >/dev/null 2>&1; then
  echo "check-layers: installing python3" >&2
  apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi
exec python3 scripts/check-layers.py
