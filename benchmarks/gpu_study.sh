#!/usr/bin/env bash
# The GPU study (benchmarks/gpu_study/) on a GPU machine whose python3 has torch but not this project's venv, such
# as the lent H200: install the wheels carried in benchmarks/carry/wheels, run every part within the call's limit
# (benchmarks/gpu_study/limits.py), and, where $OUT is set (the device tool), leave gpu_study.tar.gz and log.txt
# there. benchmarks/carry/ is made here by `python benchmarks/gpu_study prepare`; send it along (the device tool's
# carry: ["benchmarks/carry"]).
#   bash benchmarks/gpu_study.sh [options of benchmarks/gpu_study]      PYTHON=... to use another interpreter
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ls benchmarks/carry/wheels/*.whl >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/gpu-study-site benchmarks/carry/wheels/*.whl || exit
  export PYTHONPATH=/tmp/gpu-study-site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
STOP_S=$(PYTHONPATH=benchmarks "$PYTHON" -c 'from gpu_study.limits import STOP_S; print(STOP_S)') || exit
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
timeout -s TERM "${GPU_STUDY_TIMEOUT:-$STOP_S}" "$PYTHON" benchmarks/gpu_study ${OUT:+--archive "$OUT"} "$@"
