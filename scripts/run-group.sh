#!/usr/bin/env bash
# Runs N workers of one stateful word count as a Kafka consumer group on
# this machine (README, "Scaling out"):
#   ./scripts/run-group.sh 3
# then, in another terminal, write lines to its input:
#   cargo run --features kafka --example kafka_producer -- localhost:9092 lines 1000
#
# It starts a tansu broker on 127.0.0.1:${PORT:-9092} (data in
# target/group/broker) unless one already answers there, creates the input
# topic `lines` (${INPUT_PARTITIONS:-4} partitions) and the re-keying topic
# `words-by-key` (${PARTITIONS:-8} partitions), builds
# examples/kafka_group_word_count and starts N copies of it in group
# `word-count`, with their partitions' state in target/group/state. Each
# worker logs to target/group/wK.log and writes its counts after every
# batch to target/group/reports/wK.tsv.
#
# While it runs: `kill -9` a worker's pid (printed below) and watch its
# partitions move after the session timeout (6 s); Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-3}"
PORT="${PORT:-9092}"
BOOTSTRAP="127.0.0.1:${PORT}"
OUT=target/group
PROFILE_FLAG=()
BIN_DIR=target/debug/examples
if [[ "${RELEASE:-0}" == "1" ]]; then
  PROFILE_FLAG=(--release)
  BIN_DIR=target/release/examples
fi
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  BIN_DIR="${CARGO_TARGET_DIR}/${BIN_DIR#target/}"
fi

if ! command -v tansu >/dev/null 2>&1; then
  echo "run-group: tansu is not installed; run scripts/install-tansu.sh" >&2
  exit 1
fi
mkdir -p "$OUT/reports"
PIDS=()
cleanup() {
  # Workers first (a graceful stop leaves the group and needs the broker),
  # then the broker.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null || true
    wait "${PIDS[i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

broker_up() { (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; }
if broker_up; then
  echo "run-group: using the broker on ${BOOTSTRAP}"
else
  DATA_DIR="$OUT/broker" PORT="$PORT" scripts/kafka-broker.sh >"$OUT/broker.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    broker_up && break
    sleep 0.1
  done
  broker_up || { echo "run-group: the broker did not start; see $OUT/broker.log" >&2; exit 1; }
  echo "run-group: broker on ${BOOTSTRAP} (pid ${PIDS[0]}, log $OUT/broker.log)"
fi
for t in "lines:${INPUT_PARTITIONS:-4}" "words-by-key:${PARTITIONS:-8}"; do
  tansu topic create "${t%%:*}" --partitions "${t##*:}" --broker "tcp://${BOOTSTRAP}" \
    >/dev/null 2>&1 || true
done

cargo build "${PROFILE_FLAG[@]}" --features kafka --example kafka_group_word_count
for k in $(seq 1 "$N"); do
  "$BIN_DIR/kafka_group_word_count" --bootstrap "$BOOTSTRAP" --topic lines \
    --rekey words-by-key --group word-count --state-dir "$OUT/state" \
    --report-dir "$OUT/reports" --worker "w$k" >"$OUT/w$k.log" 2>&1 &
  PIDS+=($!)
  echo "run-group: worker w$k (pid $!, log $OUT/w$k.log)"
done
echo "run-group: $N workers in group word-count; Ctrl-C stops them"
wait
