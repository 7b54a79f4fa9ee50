#!/usr/bin/env bash
# Create or refresh the project's virtual environment and the Debian packages
# the tests need. Idempotent: on a ready machine it returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."


PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
STAMP=$VENV/.driftloop-stamp
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)

# Debian packages: Chromium for the browser tests (Playwright drives it; it never
# downloads a browser of its own).
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v fc-list >/dev/null 2>&1 || need_apt+=(fontconfig)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" fonts-dejavu-core >/dev/null
  else
    echo "setup: please install with sudo: apt-get install ${need_apt[*]}" >&2
  fi
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x $VENV/bin/driftloop ]; then
  echo "setup: $VENV is up to date"
else
  echo "setup: building $VENV from requirements.lock (first run takes a few minutes)"
  [ -x $VENV/bin/python ] || "$PYTHON" -m venv $VENV
  $VENV/bin/python -m pip install -q --upgrade "pip>=24" setuptools wheel
  $VENV/bin/python -m pip install -q -r requirements.lock
  $VENV/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  echo "$want" > "$STAMP"
  echo "setup: done ($($VENV/bin/python --version), $(du -sh $VENV | cut -f1))"
fi

# Offline validators for the deploy files (hadolint, kubectl/kustomize, the
# compose plugin, checkov in its own venv): idempotent, seconds when present.
bash scripts/install-validators.sh
