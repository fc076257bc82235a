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
# Absolute from here on: the mmcv build runs in a temp folder, where a relative
# venv path would no longer resolve.
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
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

step "4/6 mmcv 2.1.0 built from source (~6 min on 2 cores; the wheel is cached)"
# mmcv 2.1.0 compiles its ops with -std=c++17, but torch >= 2.10 headers need
# C++20: build from the sdist with the standard flag raised when torch asks for
# it. The built wheel is cached per (python, torch) so fresh clones reuse it.
MMCV_SPEC=$(grep -E '^mmcv' "$ROOT/requirements/mminstall.txt")
TORCH_TAG=$("$VENV/bin/python" -c 'import sys, torch; print(f"py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}")')
WHEEL_CACHE="${MMWSSS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmwsss/wheels}/$TORCH_TAG"
if "$VENV/bin/python" -c 'import mmcv, mmcv.ops' 2>/dev/null \
        && [ "$("$VENV/bin/python" -c 'import mmcv; print(mmcv.__version__)')" = "${MMCV_SPEC#mmcv==}" ]; then
    echo "[install] mmcv already built and installed"
else
    if ! ls "$WHEEL_CACHE"/mmcv-*.whl >/dev/null 2>&1; then
        BUILD_DIR=$(mktemp -d)
        ( cd "$BUILD_DIR"
          "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation "$MMCV_SPEC"
          tar xzf mmcv-*.tar.gz
          TORCH_INCLUDE=$("$VENV/bin/python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include"))')
          if grep -qs "C++20 or later" "$TORCH_INCLUDE/ATen/ATen.h"; then
              echo "[install] torch needs C++20: building mmcv with -std=c++20"
              sed -i 's/-std=c++17/-std=c++20/g' mmcv-*/setup.py
          fi
          cd mmcv-*/
          MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 \
              "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$WHEEL_CACHE" . )
        rm -rf "$BUILD_DIR"
    fi
    "${PIP[@]}" install --no-deps --force-reinstall "$WHEEL_CACHE"/mmcv-*.whl
fi

step "5/6 OpenMMLab codebases and runtime/test requirements"
"${PIP[@]}" install -q -r "$ROOT/requirements/mminstall.txt" \
    -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

step "6/6 mmwsss (editable)"
"${PIP[@]}" install -q --no-build-isolation --no-deps -e "$ROOT"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, mmseg, mmpretrain, mmwsss; print('[install] mmwsss', mmwsss.__version__, 'ready')"

echo "$WANT" > "$STAMP"
