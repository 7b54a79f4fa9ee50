#!/usr/bin/env bash
# Run every benchmark (bench/<name>/run.py); each prints a ratio against a
# baseline measured in the same run and rewrites bench/<name>/results.md.
# `make bench BENCH=extract` runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=3
for script in bench/*/run.py; do
  name=$(basename "$(dirname "$script")")
  if [ -n "${BENCH:-}" ] && [ "$BENCH" != "$name" ]; then continue; fi
  echo "== bench/$name"
  .venv/bin/python "$script"
done
