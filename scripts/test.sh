#!/usr/bin/env bash
# Run pytest; an empty run (exit 5) is a failure, not a success.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "test: pytest collected no tests; treating the empty run as a failure" >&2
  exit 1
fi
exit $rc
