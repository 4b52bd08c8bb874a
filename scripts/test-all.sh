#!/usr/bin/env bash
# The whole test suite, as CI runs it: the layer check, formatting, lints,
# then every test of the workspace (unit, integration against real sockets,
# directories and a Kafka-protocol broker, ui-tests of the stream! macro,
# doc tests). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

log "toolchain"
if ! command -v cargo >/dev/null; then
  echo "cargo is not installed: install Rust (rustup) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
cargo --version

log "layer check (scripts/check-layers.sh)"
./scripts/check-layers.sh

log "rust-version (scripts/check-msrv.py; clippy's incompatible_msrv checks our code)"
python3 ./scripts/check-msrv.py

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
log "cargo clippy --all-targets --features kafka -- -D warnings"
cargo clippy --workspace --all-targets --features kafka -- -D warnings

# The Kafka tests (feature `kafka`) start their own tansu broker processes.
log "tansu (Kafka-protocol broker of the Kafka tests)"
./scripts/install-tansu.sh

# The browser test of the Streaming page (tests/ui_browser.rs) needs
# headless Chromium, from Debian's packages.
log "chromium (browser test of the Streaming page)"
./scripts/install-chromium.sh

log "cargo test"
# Library, integration and doc tests; examples are built too (a test runs
# them). Benchmarks are compiled by clippy above and run with cargo bench.
cargo test --workspace --features kafka
