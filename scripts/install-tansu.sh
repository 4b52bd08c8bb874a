#!/usr/bin/env bash
# Installs the Kafka-protocol broker `tansu` (used by the Kafka tests) once:
#   cargo install --locked tansu --version 0.6.0 --features libsql
# Skipped when the installed `tansu --help` already lists the libsql engine.
# Exits non-zero with a clear message when the installation fails.
set -euo pipefail

TANSU_VERSION="0.6.0"

has_libsql() {
  command -v tansu >/dev/null 2>&1 && tansu --help 2>&1 | grep -qi 'libsql'
}

if has_libsql; then
  echo "tansu: already installed with the libsql engine ($(command -v tansu))"
  exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-tansu: cargo is not installed; install Rust (rustup) first" >&2
  exit 1
fi

echo "tansu: installing ${TANSU_VERSION} with the libsql engine (about 10 minutes)"
if ! cargo install --locked tansu --version "${TANSU_VERSION}" --features libsql; then
  echo "install-tansu: 'cargo install --locked tansu --version ${TANSU_VERSION} --features libsql' failed" >&2
  exit 1
fi

if ! has_libsql; then
  echo "install-tansu: tansu was installed but 'tansu --help' does not list the libsql engine" >&2
  echo "install-tansu: (is ~/.cargo/bin on PATH? found: $(command -v tansu || echo none))" >&2
  exit 1
fi
echo "tansu: installed ($(command -v tansu))"
