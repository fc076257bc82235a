#!/usr/bin/env bash
# Create or refresh the virtual environment that `make demo` / `make test` use.
#
# Usage: tools/install_env.sh VENV_DIR [PYTHON]
# Re-installs only when the venv is missing or a requirements file changed
# (a hash of them is kept in VENV_DIR/.mmwsss-install-stamp).
set -euo pipefail

VENV=${1:-.venv}
PYTHON=${2:-python3.11}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STAMP="$VENV/.mmwsss-install-stamp"

hash_inputs() {
    cat "$ROOT/setup.py" "$ROOT"/requirements/*.txt "$ROOT/tools/install_env.sh" \
        | sha256sum | cut -d' ' -f1
}
WANT=$(hash_inputs)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "[install] $VENV is up to date"
    exit 0
fi

STEP="?"
trap 'echo "[install] FAILED at step: $STEP" >&2' ERR

step() { STEP="$1"; echo "[install] $1"; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "[install] $PYTHON not found; falling back to python3" >&2
    PYTHON=python3
fi
step "1/6 virtual environment $VENV ($($PYTHON --version 2>&1))"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

step "2/6 build tools (setuptools>=77,<81: mmcv 2.1.0 needs pkg_resources)"
"${PIP[@]}" install -q --upgrade pip "setuptools>=77,<81" wheel ninja

step "3/6 torch + torchvision"
"${PIP[@]}" install -q $(grep -E '^torch' "$ROOT/requirements/build.txt")

step "4/6 mmcv 2.1.0 from source (--no-build-isolation; ~6 min on 2 cores, cached afterwards)"
MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 \
    "${PIP[@]}" install --no-build-isolation $(grep -E '^mmcv' "$ROOT/requirements/mminstall.txt")

step "5/6 OpenMMLab codebases and runtime/test requirements"
"${PIP[@]}" install -q -r "$ROOT/requirements/mminstall.txt" \
    -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

step "6/6 mmwsss (editable)"
"${PIP[@]}" install -q --no-build-isolation --no-deps -e "$ROOT"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, mmseg, mmpretrain, mmwsss; print('[install] mmwsss', mmwsss.__version__, 'ready')"

echo "$WANT" > "$STAMP"
