#!/usr/bin/env bash
# Create or refresh the virtual environment that `make demo` / `make test` use.
#
# Usage: tools/install_env.sh VENV_DIR [PYTHON]
# Re-installs only when the venv is missing, a requirements file changed or the
# host gained/lost a GPU (a hash of them is kept in VENV_DIR/.mmwsss-install-stamp).
# MMWSSS_WHEEL_CACHE: where built mmcv wheels are cached
#   (default ~/.cache/mmwsss/wheels).
# FORCE_CUDA=1: build mmcv's CUDA ops even where no GPU is visible
#   (TORCH_CUDA_ARCH_LIST then names the architectures, e.g. "9.0");
#   FORCE_CUDA=0: CPU ops only, even on a GPU host.
set -euo pipefail

VENV=${1:-.venv}
PYTHON=${2:-python3.11}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Absolute from here on: the mmcv build runs in a temp folder, where a relative
# venv path would no longer resolve.
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
STAMP="$VENV/.mmwsss-install-stamp"

# mmcv's CUDA ops are built where a GPU is visible, unless FORCE_CUDA says.
case "${FORCE_CUDA:-}" in
    1) HOST_FLAVOUR=cuda ;;
    0) HOST_FLAVOUR=cpu ;;
    *) if nvidia-smi -L >/dev/null 2>&1; then HOST_FLAVOUR=cuda; else HOST_FLAVOUR=cpu; fi ;;
esac

hash_inputs() {
    { cat "$ROOT/setup.py" "$ROOT"/requirements/*.txt "$ROOT/tools/install_env.sh"
      echo "$HOST_FLAVOUR"; } | sha256sum | cut -d' ' -f1
}
WANT=$(hash_inputs)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "[install] $VENV is up to date"
    exit 0
fi

# Everything below is also logged, so that a failure can show its last lines.
mkdir -p "$(dirname "$VENV")"
LOG="$VENV.install.log"
: > "$LOG"
exec 3>&2 > >(tee -a "$LOG") 2>&1

STEP="?"
on_error() {
    sleep 0.2  # let tee write the failing command's last lines
    {
        echo "[install] FAILED at step: $STEP"
        echo "[install] last lines of $LOG:"
        tail -n 25 "$LOG" | sed 's/^/    /'
    } >&3
}
trap on_error ERR

step() { STEP="$1"; echo "[install] $1"; }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "[install] $PYTHON not found; falling back to python3" >&2
    PYTHON=python3
fi
step "1/6 virtual environment $VENV ($($PYTHON --version 2>&1))"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

step "2/6 build tools (setuptools>=77,<81: mmcv 2.1.0 needs pkg_resources)"
"${PIP[@]}" install -q --upgrade pip "setuptools>=77,<81" wheel ninja

step "3/6 torch + torchvision"
"${PIP[@]}" install -q $(grep -E '^torch' "$ROOT/requirements/build.txt")

step "4/6 mmcv 2.1.0 built from source ($HOST_FLAVOUR ops; the wheel is cached)"
# mmcv 2.1.0 compiles its ops with -std=c++17, but torch >= 2.10 headers need
# C++20: build from the sdist with the standard flag raised when torch asks for
# it. Wheels are cached per Python, torch and ops flavour (cpu, or the CUDA
# version and GPU architectures): a CPU-only build is never reused on a GPU.
MMCV_SPEC=$(grep -E '^mmcv' "$ROOT/requirements/mminstall.txt")
if [ "$HOST_FLAVOUR" = cuda ]; then
    if ! "$PY" -c 'import sys, torch; sys.exit(torch.version.cuda is None)'; then
        echo "[install] a GPU host needs a CUDA build of torch (the PyPI wheels of requirements/build.txt are)" >&2
        false
    fi
    TORCH_CUDA=$("$PY" -c 'import torch; print(torch.version.cuda)')
    NVCC=$(command -v nvcc || echo "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc")
    if [ ! -x "$NVCC" ]; then
        echo "[install] building mmcv's CUDA ops needs nvcc from a CUDA $TORCH_CUDA toolkit (torch's CUDA): put it on PATH or set CUDA_HOME" >&2
        false
    fi
    export FORCE_CUDA=1 CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$NVCC")")}
    # The architectures of the GPUs present, unless the user chose some.
    if [ -z "${TORCH_CUDA_ARCH_LIST:-}" ]; then
        TORCH_CUDA_ARCH_LIST=$("$PY" -c '
import torch
caps = {torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())}
print(";".join(f"{major}.{minor}" for major, minor in sorted(caps)))')
    fi
    if [ -z "$TORCH_CUDA_ARCH_LIST" ]; then
        echo "[install] FORCE_CUDA=1 but torch sees no GPU: set TORCH_CUDA_ARCH_LIST (e.g. 9.0)" >&2
        false
    fi
    export TORCH_CUDA_ARCH_LIST
    OPS_TAG="cu$TORCH_CUDA-sm$(echo "$TORCH_CUDA_ARCH_LIST" | tr -c '0-9\n' '_')"
else
    OPS_TAG=cpu
fi
WHEEL_TAG=$("$PY" -c 'import sys, torch; print(f"py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__.split(chr(43))[0]}")')-$OPS_TAG
WHEEL_CACHE="${MMWSSS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmwsss/wheels}/$WHEEL_TAG"
# The ops flavour of the mmcv installed now (none if absent or another version).
INSTALLED_OPS=$("$PY" -c "
import mmcv
from mmcv.ops import get_compiling_cuda_version
assert mmcv.__version__ == '${MMCV_SPEC#mmcv==}'
print('cpu' if get_compiling_cuda_version() == 'not available' else 'cuda')" 2>/dev/null || echo none)
if [ "$INSTALLED_OPS" = "$HOST_FLAVOUR" ]; then
    echo "[install] mmcv already built ($INSTALLED_OPS ops) and installed"
else
    if ! ls "$WHEEL_CACHE"/mmcv-*.whl >/dev/null 2>&1; then
        echo "[install] no cached wheel in $WHEEL_CACHE: building (about 10 min on 2 cores for CPU ops, longer with CUDA ops)"
        BUILD_DIR=$(mktemp -d)
        ( cd "$BUILD_DIR"
          "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation "$MMCV_SPEC"
          tar xzf mmcv-*.tar.gz
          TORCH_INCLUDE=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include"))')
          if grep -qs "C++20 or later" "$TORCH_INCLUDE/ATen/ATen.h"; then
              echo "[install] torch needs C++20: building mmcv with -std=c++20"
              sed -i 's/-std=c++17/-std=c++20/g' mmcv-*/setup.py
          fi
          cd mmcv-*/
          MAX_JOBS=${MAX_JOBS:-$(nproc)} MMCV_WITH_OPS=1 \
              "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$BUILD_DIR/wheel" .
          # Into the cache only once complete: a killed build caches nothing.
          mkdir -p "$WHEEL_CACHE"
          mv "$BUILD_DIR"/wheel/mmcv-*.whl "$WHEEL_CACHE"/ )
        rm -rf "$BUILD_DIR"
    fi
    "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL_CACHE"/mmcv-*.whl
fi

step "5/6 OpenMMLab codebases and runtime/test requirements"
"${PIP[@]}" install -q -r "$ROOT/requirements/mminstall.txt" \
    -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

step "6/6 mmwsss (editable)"
"${PIP[@]}" install -q --no-build-isolation --no-deps -e "$ROOT"
"$PY" -c "import mmcv.ops, mmdet, mmseg, mmpretrain, mmwsss; print('[install] mmwsss', mmwsss.__version__, 'ready')"

if [ "$HOST_FLAVOUR" = cuda ]; then
    step "check: mmcv's CUDA kernels run"
    "$PY" -c "
import torch
from mmcv.ops import nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]], device='cuda')
scores = torch.tensor([0.9, 0.8, 0.7], device='cuda')
_, keep = nms(boxes, scores, 0.5)
assert keep.is_cuda and keep.tolist() == [0, 2], keep
print('[install] mmcv CUDA ops run on', torch.cuda.get_device_name(0))"
fi

echo "$WANT" > "$STAMP"
