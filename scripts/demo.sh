#!/usr/bin/env bash
# `make demo`: driftloop end to end on the demo data set, through Airflow, with
# the embedded defaults (SQLite, local folders, kfp.local; no Docker).
#
#   1. demo data: synthetic brain MRI, 14 production days with known drift (once)
#   2. the first champion: the retraining pipeline under kfp.local trains it,
#      gates it and promotes it, which also builds the first baseline (once)
#   3. (the baseline from the reference images, if the pipeline made none)
#   4. Airflow runs the image_drift_monitor DAG for every production day
#      (`airflow dags test`): ingest -> extract -> compare -> report -> alert ->
#      branch; a high-severity day launches the Kubeflow retraining pipeline
#      under kfp.local, whose gate decides whether the candidate is promoted
#   5. closes the loop through the serving API: it predicts a day of scans
#      (each logged to the predictions log), takes feedback labels for some,
#      and the monitoring DAG then checks today's window of the predictions log
#   6. prints where the reports, alerts and models are
#
# Knobs (not DRIFTLOOP_*, which are settings): DEMO_SIZE=tiny|small (default
# small), DEMO_DAYS=N (first N production days; default all), DEMO_SERVE=0 to
# skip the serving part.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/.venv/bin"
export PATH="$BIN:$PATH"
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore

export DRIFTLOOP_HOME="${DRIFTLOOP_HOME:-$ROOT/var}"
DEMO="$DRIFTLOOP_HOME/demo"
SIZE="${DEMO_SIZE:-small}"
export DRIFTLOOP_MONITOR__SOURCE="$DEMO/production/{date}"
export DRIFTLOOP_MONITOR__REFERENCE_IMAGES="$DEMO/reference"
export DRIFTLOOP_KFP__DATA_URI="$DEMO/train"
export DRIFTLOOP_MODEL__EPOCHS="${DRIFTLOOP_MODEL__EPOCHS:-8}"
export DRIFTLOOP_PERFORMANCE__LABELS_CSV="$DEMO/labels.csv"
# One retraining per incident, not one per drifted day.
export DRIFTLOOP_MONITOR__RETRAIN_COOLDOWN_DAYS="${DRIFTLOOP_MONITOR__RETRAIN_COOLDOWN_DAYS:-3}"

export AIRFLOW_HOME="$DRIFTLOOP_HOME/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING
mkdir -p "$AIRFLOW_HOME"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A local receiver for the webhook alert channel, so alerts really go somewhere.
ALERTS="$DRIFTLOOP_HOME/demo-alerts.jsonl"
PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/python" scripts/alert_sink.py "$PORT" "$ALERTS" &
SINK=$!
trap 'kill $SINK 2>/dev/null || true' EXIT
export DRIFTLOOP_ALERTS__WEBHOOK__URL="http://127.0.0.1:$PORT/driftloop"
export DRIFTLOOP_ALERTS__WEBHOOK__MIN_SEVERITY=medium

say "database"
driftloop db upgrade

if [ ! -d "$DEMO/production" ]; then
  say "demo data ($SIZE) -> $DEMO"
  driftloop demo-data --out "$DEMO" --size "$SIZE" --seed 0
fi
# Labelled feedback arrives in the feedback folder (the serving API writes there too).
if [ ! -d "$DRIFTLOOP_HOME/feedback" ]; then
  cp -r "$DEMO/feedback" "$DRIFTLOOP_HOME/feedback"
fi

if [ ! -f "$DRIFTLOOP_HOME/models/CURRENT" ]; then
  say "first champion: the retraining pipeline (kfp.local) trains, gates and promotes it"
  # With no champion yet the gate applies only the minimum AUC; the promotion
  # also builds the first baseline from the training images. Feedback (labelled
  # production scans) joins the training data only from the first retraining on.
  driftloop pipeline run --local --wait --trigger bootstrap --param feedback_uri=
fi

if [ ! -f "$DRIFTLOOP_HOME/baselines/CURRENT" ]; then
  say "baseline from the reference images, with the champion's features"
  VERSION=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$DRIFTLOOP_HOME/models/CURRENT")
  driftloop baseline build --images "$DEMO/reference" --model "$DRIFTLOOP_HOME/models/$VERSION"
fi

say "Airflow metadata database ($AIRFLOW_HOME)"
airflow db migrate >/dev/null

summarise() {
  python - "$1" <<'PY'
import json, sys
from sqlalchemy import select
from driftloop.config import load_settings
from driftloop.storage.db import Database
from driftloop.storage.models import MonitoringRun

day = sys.argv[1]
settings = load_settings()
db = Database(settings.db_url)
with db.session() as session:
    run = session.scalar(select(MonitoringRun).where(MonitoringRun.run_key == day))
result = json.loads(open(run.result_uri).read())
drifted = [f["name"] for f in result["features"] if f["drifted"]]
print(f"   severity {result['severity']:<17} images {result['n_current']:>4}  "
      f"quarantined {result['n_quarantined']:>2}  drifted: {', '.join(drifted[:6]) or '-'}")
decision = run.details.get("decision", "?")
retraining = run.details.get("retraining") or {}
gate = retraining.get("gate") or {}
verdict = f", gate {'BLESSED: promoted' if gate.get('promote') else 'NOT_BLESSED'}" if gate else ""
status = f" ({retraining['status']}{verdict})" if retraining.get("status") else ""
print(f"   -> {decision}{status}")
PY
}

DAYS=$(ls "$DEMO/production" | sort | head -n "${DEMO_DAYS:-100}")
for day in $DAYS; do
  scenario=$(python -c 'import json,sys; d=json.load(open(sys.argv[1]))[sys.argv[2]]; print(d.get("scenario", d.get("name", "?")))' \
    "$DEMO/scenarios.json" "$day")
  say "airflow dags test image_drift_monitor $day   (demo scenario: $scenario)"
  airflow dags test image_drift_monitor "$day" > "$AIRFLOW_HOME/demo-$day.log" 2>&1 || {
    echo "the DAG run for $day failed; its log: $AIRFLOW_HOME/demo-$day.log" >&2
    tail -40 "$AIRFLOW_HOME/demo-$day.log" >&2
    exit 1
  }
  summarise "$day"
done

if [ "${DEMO_SERVE:-1}" != 0 ]; then
  say "serving API: predict a day of scans, send feedback, monitor today's predictions log"
  API_PORT=$("$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  API="http://127.0.0.1:$API_PORT"
  driftloop serve --port "$API_PORT" > "$DRIFTLOOP_HOME/demo-serve.log" 2>&1 &
  SERVER=$!
  trap 'kill $SINK $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 120); do curl -sf "$API/health" >/dev/null && break; sleep 1; done
  curl -s "$API/health"; echo
  DAY_DIR="$DEMO/production/$(ls "$DEMO/production" | head -1)"
  n=0
  for scan in "$DAY_DIR"/*.jpg; do
    answer=$(curl -s -F "file=@$scan" "$API/predict")
    n=$((n + 1))
    # Every fourth scan gets a radiologist's label (from the demo's labels.csv).
    if [ $((n % 4)) = 0 ]; then
      label=$(grep "$(basename "$scan")" "$DEMO/labels.csv" | grep "$(basename "$DAY_DIR")" | cut -d, -f2 | head -1)
      rid=$(echo "$answer" | python -c 'import json,sys; print(json.load(sys.stdin)["request_id"])')
      curl -s -H 'Content-Type: application/json' \
        -d "{\"request_id\": \"$rid\", \"label\": \"$label\"}" "$API/feedback" >/dev/null
    fi
  done
  echo "   sent $n scans to /predict and $((n / 4)) feedback labels to /feedback"
  kill -TERM $SERVER && wait $SERVER 2>/dev/null || true   # a clean stop flushes the log
  TODAY=$(date -u +%F)
  say "airflow dags test image_drift_monitor $TODAY   (source: the predictions log)"
  airflow dags test image_drift_monitor "$TODAY" -c '{"source": "predictions-log://"}' \
    > "$AIRFLOW_HOME/demo-$TODAY.log" 2>&1 || {
    echo "the DAG run for $TODAY failed; its log: $AIRFLOW_HOME/demo-$TODAY.log" >&2
    tail -40 "$AIRFLOW_HOME/demo-$TODAY.log" >&2
    exit 1
  }
  summarise "$TODAY"
fi

say "models (the retraining gate's decisions are in the reports)"
driftloop model list
say "done"
echo "reports:   $DRIFTLOOP_HOME/reports/index.html   (or: driftloop reports serve)"
echo "alerts:    $(wc -l < "$ALERTS" 2>/dev/null || echo 0) webhook messages in $ALERTS"
echo "airflow:   make airflow   (the same DAGs in the web UI)"
