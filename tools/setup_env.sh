#!/bin/sh
# Create or reuse the virtual environment and install the book into it (idempotent).
# Usage: sh tools/setup_env.sh [VENV]   (default .venv; `make setup` calls this)
# TORCH_INDEX_URL=<PyTorch CPU wheel index> installs the small CPU-only torch/torchvision first.
set -eu
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/.."

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed; set PYTHON=python3.11 (or newer) and retry.")'

# What the environment must match: the dependency files, this checkout's path (editable install)
# and the optional torch index.
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$(pwd | sha256sum | cut -c1-8)-${TORCH_INDEX_URL:-pypi}
stamp="$VENV/.book-setup"
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "environment is up to date: $VENV"
    exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    echo "installing torch and torchvision from $TORCH_INDEX_URL"
    $PIP install --quiet -c constraints.txt --index-url "$TORCH_INDEX_URL" torch torchvision
fi
echo "installing the book's packages into $VENV (the first time this downloads torch: several GB)"
$PIP install --quiet -c constraints.txt -e ".[dev]"
"$VENV/bin/python" -c "import book_utils, torch, torchvision, sklearn, skimage, cv2, nbval; print('environment ready:', '$VENV')"
echo "$want" > "$stamp"
