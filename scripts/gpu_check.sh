#!/usr/bin/env bash
# The GPU check in one command (issue 22): per-net split, NASWOT over all of NB201, the six
# zero-cost proxies over 1,000 nets, GPU-vs-CPU tolerance on 200 nets, the test suite on the CUDA
# machine, then worker scaling on one GPU and NB101 and NDS rates; ends with one table (also written to
# $OUT_DIR/table.md). About 8 minutes on one H200 with 16 cores.
#
#   scripts/gpu_check.sh [DATA_DIR]        # or: make bench-gpu
#   env: PYTHON (python3), DEVICE (cuda), OUT_DIR (results/gpu-check), SMALL=1 (tiny sizes, for CPU tests),
#        SKIP_TESTS=1, CPU_REFERENCE=CSV (CPU scores of the tolerance nets computed elsewhere: saves
#        ~90 s of 16 cores; `nasbench score --archs` of the same nets, proxies naswot + the six)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DATA=${1:-${NASBENCH_DATA:-../shared/data}}
DEVICE=${DEVICE:-cuda}
OUTDIR=${OUT_DIR:-results/gpu-check}
ZC=grad_norm,snip,grasp,fisher,synflow,jacob_cov
if [ -n "${SMALL:-}" ]; then
  SPLIT_N=8; ALL="--n 24"; SCALE_N=16; WORKERS="1 2"; ZC_N=6; TOL_N=4; NB101_N=4; NDS_N=1
else
  SPLIT_N=200; ALL="--all"; SCALE_N=400; WORKERS="1 4 8"; ZC_N=1000; TOL_N=200; NB101_N=300; NDS_N=24
fi
mkdir -p "$OUTDIR"
R="$OUTDIR/results.jsonl"
: > "$R"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
B="$PY scripts/bench_gpu.py"
RUN="$B run --results $R"
COMMON="--data-dir $DATA --device $DEVICE --seed 0 --quiet --no-timing"
END=$(( $(date +%s) + ${BUDGET_S:-100000} ))  # BUDGET_S: the whole check's seconds (steps are cut to fit)
step() {  # step NAME SECONDS COMMAND...: a failed or overlong step is reported, the rest still run
  local name=$1 limit=$2; shift 2
  local left=$(( END - $(date +%s) ))
  if [ "$left" -lt 15 ]; then echo "!! $name: skipped (BUDGET_S spent)"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name ($(date +%T))"
  timeout "$limit" "$@" || echo "!! $name: exit $? (failed, or stopped after $limit s)"
}

{ nvidia-smi -L 2>/dev/null; $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
  'gpus', torch.cuda.device_count())"; echo "cores $(nproc)"; command -v nvidia-cuda-mps-control || echo "no MPS"; } \
  | tee "$OUTDIR/machine.txt"
$PY -c "from nasbench_cli.engine.gpu_share import start_mps; s = start_mps(); print('private MPS daemon:', \
  'starts and serves a context' if s else 'could not start'); s and s.close()" | tee -a "$OUTDIR/machine.txt"

step driver 60 $B driver --results "$R"
step split 120 $B split --n $SPLIT_N --device "$DEVICE" --data-dir "$DATA" --results "$R"
step naswot-all 240 $RUN "naswot nb201 ${ALL#--} (defaults)" -- \
  score --space nb201 $ALL $COMMON --store "$TMP/gpu.sqlite" --out "$TMP/naswot.csv"
step zero-cost 240 $RUN "zero-cost six nb201 n$ZC_N" -- \
  score --space nb201 --proxy $ZC --n $ZC_N $COMMON --store "$TMP/gpu.sqlite" --out "$TMP/zc.csv"

# tolerance: the first TOL_N nets of the zero-cost run; GPU scores from the run's store, CPU ones now
tail -n +2 "$TMP/zc.csv" | head -n $TOL_N | cut -d, -f1 > "$TMP/tol.txt"
step tolerance-gpu 120 $PY -m nasbench_cli score --space nb201 --archs "$TMP/tol.txt" --proxy naswot,$ZC \
  $COMMON --store "$TMP/gpu.sqlite" --out "$TMP/tol-gpu.csv"
if [ -n "${CPU_REFERENCE:-}" ]; then
  cp "$CPU_REFERENCE" "$TMP/tol-cpu.csv"; echo "== tolerance-cpu: from $CPU_REFERENCE"
else
  step tolerance-cpu 300 $PY -m nasbench_cli score --space nb201 --archs "$TMP/tol.txt" --proxy naswot,$ZC \
    --data-dir "$DATA" --device cpu --seed 0 --quiet --no-timing --store "$TMP/cpu.sqlite" --out "$TMP/tol-cpu.csv"
fi
step tolerance 60 $B tolerance "$TMP/tol-gpu.csv" "$TMP/tol-cpu.csv" --proxies naswot,$ZC --results "$R"
cp "$TMP/tol-gpu.csv" "$TMP/tol-cpu.csv" "$OUTDIR/" 2>/dev/null

[ "$DEVICE" = cuda ] && step coexist 120 $B coexist --results "$R"
if [ -z "${SKIP_TESTS:-}" ]; then
  # serially, as `make test`: tests in parallel processes would start MPS servers beside each other's
  # in-process CUDA work (the coexist step says what that does)
  step tests 300 env NASBENCH_TEST_DATA="$DATA" $PY -m pytest -q -p no:cacheprovider -p no:xdist -rfE 2>&1 \
    | tail -n 40 | tee "$OUTDIR/tests.txt"
fi
for w in $WORKERS; do
  step "workers $w" 120 $RUN "naswot nb201 n$SCALE_N workers=$w" -- \
    score --space nb201 --n $SCALE_N --executor local --workers "$w" $COMMON --store "$TMP/w$w.sqlite" --out "$TMP/w$w.csv"
done
step nb101 120 $RUN "naswot nb101 n$NB101_N" -- \
  score --space nb101 --n $NB101_N $COMMON --no-store --out "$TMP/nb101.csv"
step nds-files 60 $B nds-data "$TMP/nds" --n $NDS_N --data-dir "$DATA"
for space in nds-darts nds-resnext-a; do
  step "$space" 120 $RUN "naswot $space n$NDS_N" -- \
    score --space $space --all --data-dir "$TMP/nds" --device "$DEVICE" --seed 0 --quiet --no-timing --no-store \
    --out "$TMP/$space.csv"
done

$B table "$R" | tee "$OUTDIR/table.md"
