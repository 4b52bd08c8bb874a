#!/usr/bin/env bash
# Nexmark side by side with Spark (#15), not part of the normal test
# command: writes the generated events to batch files by event time
# (nexmark_export), runs q0, q1, q2, q5 and q7 on those files with this
# project (nexmark_files, plain API) and with Spark's DStream API (PySpark,
# scripts/spark_nexmark.py), both local[2] with 1 s batches, one after the
# other in this run, and prints each query's events/s per core on both and
# the ratio.
#
# Installs what it needs: Java 17 from Debian's packages (when `java` is
# missing) and the pyspark wheel (3.5) from PyPI.
#
# Environment: NEXMARK_SPARK_EVENTS (default 2000000),
# NEXMARK_SPARK_RATE (events/s of event time, default 200000: 1 s batches
# of 200,000 events), NEXMARK_SPARK_QUERIES (default "q0 q1 q2 q5 q7").
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${NEXMARK_SPARK_EVENTS:-2000000}
RATE=${NEXMARK_SPARK_RATE:-200000}
QUERIES=${NEXMARK_SPARK_QUERIES:-"q0 q1 q2 q5 q7"}
CORES=2

if ! command -v java >/dev/null 2>&1; then
  echo "spark-nexmark: installing Java 17 (Debian)" >&2
  apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if ! python3 -c 'import pyspark' >/dev/null 2>&1; then
  echo "spark-nexmark: installing pyspark 3.5 (PyPI)" >&2
  python3 -m pip install -q 'pyspark>=3.5,<3.6'
fi

cargo build --release --example nexmark_export --example nexmark_files >&2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
target/release/examples/nexmark_export "$WORK/events" "$EVENTS" "$RATE" >&2

echo "Nexmark on $EVENTS events ($RATE events/s of event time, 1 s batches), local[$CORES], one run:"
echo
echo "| query | this project, events/s per core | Spark $(python3 -c 'import pyspark; print(pyspark.__version__)') DStreams (PySpark), events/s per core | ratio | results (ours / Spark) |"
echo "|---|---|---|---|---|"
for q in $QUERIES; do
  ours=$(target/release/examples/nexmark_files "$WORK/events" "$q" | grep '^RESULT')
  spark=$(python3 scripts/spark_nexmark.py "$WORK/events" "$q" 2>"$WORK/spark-$q.log" | grep '^RESULT' || true)
  if [ -z "$spark" ]; then
    echo "| $q | - | failed: see below | - | - |"
    tail -5 "$WORK/spark-$q.log" >&2
    continue
  fi
  read -r _ _ ev_o s_o n_o <<<"$ours"
  read -r _ _ ev_s s_s n_s <<<"$spark"
  awk -v q="$q" -v e="$ev_o" -v so="$s_o" -v ss="$s_s" -v no="$n_o" -v ns="$n_s" -v c="$CORES" 'BEGIN {
    printf "| %s | %.2f M | %.3f M | %.1fx | %d / %d |\n", q, e/so/c/1e6, e/ss/c/1e6, ss/so, no, ns }'
done
