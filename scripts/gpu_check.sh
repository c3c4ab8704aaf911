#!/usr/bin/env bash
# The GPU check, in one command, for a maintainer on a machine with a CUDA GPU:
#
#     scripts/gpu_check.sh                 # writes runs/gpu_check.md (and prints it)
#
# 1. the tests marked `gpu` (tests/test_devices.py and the others: forward and backward on CUDA, a bf16
#    training run finite and starting where fp32 does, resume on the GPU equal to an uninterrupted run, a
#    checkpoint written on the GPU rendering the same on the CPU);
# 2. generation at 256 and 1024 px (fp32 and bf16) and the hd_car_256 recipe's G+D step at 256 px
#    (fp32 and bf16), with scripts/bench.py.
# Set-up (the virtual environment) is done first if missing. Every setting below can be overridden from
# the environment; tests/test_gpu_check.py runs the whole script on the CPU with tiny sizes
# (GPU_CHECK_DEVICE=cpu), so that it is known to work before a GPU is lent.
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE="${GPU_CHECK_DEVICE:-cuda}"
OUTPUT="${GPU_CHECK_OUTPUT:-runs/gpu_check.md}"
GENERATION_MODELS="${GPU_CHECK_MODELS:-giraffehd_256 giraffehd_1024}"
GENERATION_BATCH="${GPU_CHECK_BATCH:-64}"
STEP_EXPERIMENT="${GPU_CHECK_EXPERIMENT:-hd_car_256}"
STEP_BATCH="${GPU_CHECK_STEP_BATCH:-16}"
REPEATS="${GPU_CHECK_REPEATS:-10}"
PYTEST_SELECTION="${GPU_CHECK_TESTS:-gpu}"
PYTHON="${GPU_CHECK_PYTHON:-.venv/bin/python}"

if [ "$PYTHON" = ".venv/bin/python" ] && [ ! -f .venv/.installed ]; then
    make .venv/.installed
fi
if [ "$DEVICE" = "cuda" ]; then
    "$PYTHON" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" \
        || { echo "gpu_check: torch sees no CUDA device (torch.cuda.is_available() is False)" >&2; exit 1; }
fi

mkdir -p "$(dirname "$OUTPUT")"
partial="$(mktemp "${OUTPUT}.XXXXXX.tmp")"
trap 'rm -f "$partial"' EXIT
start=$(date +%s)
{
    echo "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ), $(hostname)"
    echo
    "$PYTHON" -c "import torch; d = '$DEVICE'; print('device:', torch.cuda.get_device_name(0) if d == 'cuda' else 'cpu', '| torch', torch.__version__, '| CUDA', torch.version.cuda)"
    echo
    echo "## Tests marked \`$PYTEST_SELECTION\`"
    echo
    echo '```'
} >"$partial"
set +e
"$PYTHON" -m pytest -q -p no:cacheprovider -m "$PYTEST_SELECTION" 2>&1 | tail -n 25 >>"$partial"
tests_status=${PIPESTATUS[0]}
set -e
echo '```' >>"$partial"
models=()
for model in $GENERATION_MODELS; do models+=(--model "$model"); done
for precision in fp32 bf16; do
    echo -e "\n## Generation, $precision, batch $GENERATION_BATCH\n" >>"$partial"
    "$PYTHON" scripts/bench.py "${models[@]}" --device "$DEVICE" --batch "$GENERATION_BATCH" \
        --repeats "$REPEATS" --precision "$precision" >>"$partial"
done
for precision in fp32 bf16; do
    echo -e "\n## G+D step of $STEP_EXPERIMENT, $precision, batch $STEP_BATCH\n" >>"$partial"
    "$PYTHON" scripts/bench.py --experiment "$STEP_EXPERIMENT" --device "$DEVICE" --batch "$STEP_BATCH" \
        --repeats "$REPEATS" --precision "$precision" --train-step >>"$partial"
done
echo -e "\nTests exit status: $tests_status. Whole check: $(( $(date +%s) - start )) s." >>"$partial"
mv "$partial" "$OUTPUT"
trap - EXIT
cat "$OUTPUT"
echo "gpu_check: wrote $OUTPUT"
exit "$tests_status"
