#!/usr/bin/env bash
# Runs a Kafka-protocol broker (tansu, with SQLite storage) in the
# foreground for the Kafka examples: listens on 127.0.0.1:${PORT:-9092},
# stores its data in ${DATA_DIR:-target/kafka-broker}/tansu.db.
# Install tansu first with scripts/install-tansu.sh. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-9092}"
DATA_DIR="${DATA_DIR:-target/kafka-broker}"

if ! command -v tansu >/dev/null 2>&1; then
  echo "kafka-broker: tansu is not installed; run scripts/install-tansu.sh" >&2
  exit 1
fi
mkdir -p "$DATA_DIR"
cd "$DATA_DIR"
echo "kafka-broker: tansu on 127.0.0.1:${PORT}, data in $(pwd)/tansu.db" >&2
exec tansu broker \
  --listener-url "tcp://127.0.0.1:${PORT}" \
  --advertised-listener-url "tcp://127.0.0.1:${PORT}" \
  --storage-engine "sqlite://tansu.db"
