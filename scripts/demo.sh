#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/driftloop db upgrade
.venv/bin/driftloop config show
