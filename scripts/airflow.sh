#!/usr/bin/env bash
# `make airflow`: the Airflow 3 UI on the demo data set, http://127.0.0.1:8080.
#
# AIRFLOW_HOME=var/airflow (SQLite, LocalExecutor, simple auth manager), the
# DAGs from dags/, driftloop's state in var/ (DRIFTLOOP_HOME). Demo images and
# the baseline are made once, when missing. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/.venv/bin"
export PATH="$BIN:$PATH"  # airflow standalone starts its parts as `airflow ...`
PORT="${AIRFLOW_PORT:-8080}"

export DRIFTLOOP_HOME="${DRIFTLOOP_HOME:-$ROOT/var}"
DEMO="${DEMO_DATA:-$DRIFTLOOP_HOME/demo}"  # not DRIFTLOOP_*: those are settings
export DRIFTLOOP_MONITOR__SOURCE="${DRIFTLOOP_MONITOR__SOURCE:-$DEMO/production/{date}}"
export DRIFTLOOP_MONITOR__REFERENCE_IMAGES="${DRIFTLOOP_MONITOR__REFERENCE_IMAGES:-$DEMO/reference}"
export DRIFTLOOP_KFP__DATA_URI="${DRIFTLOOP_KFP__DATA_URI:-$DEMO/train}"
export DRIFTLOOP_REPORTS__AIRFLOW_BASE_URL="http://127.0.0.1:$PORT"

export AIRFLOW_HOME="${AIRFLOW_HOME:-$DRIFTLOOP_HOME/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__PARALLELISM=4
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
mkdir -p "$AIRFLOW_HOME"

"$BIN/driftloop" db upgrade
if [ ! -d "$DEMO/production" ]; then
  echo "airflow: generating the demo data set in $DEMO (once)"
  "$BIN/driftloop" demo-data --out "$DEMO" --size small
fi
if [ ! -f "$DRIFTLOOP_HOME/baselines/CURRENT" ]; then
  echo "airflow: building the baseline from $DEMO/reference (once)"
  "$BIN/driftloop" baseline build --images "$DEMO/reference"
fi

PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
echo "airflow: starting on http://127.0.0.1:$PORT (AIRFLOW_HOME=$AIRFLOW_HOME)"
echo "airflow: log in as 'admin'; the password is written to $PASSWORDS"
echo "airflow: then open image_drift_monitor and press Trigger (see docs/airflow.md)"
( sleep 20 && [ -f "$PASSWORDS" ] && echo "airflow: login admin / $(sed -E 's/.*"admin": *"([^"]+)".*/\1/' "$PASSWORDS")" ) &
exec "$BIN/airflow" standalone
