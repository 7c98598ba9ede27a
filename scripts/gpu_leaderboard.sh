#!/usr/bin/env bash
# The proxy leaderboard on a GPU in one command (issue 35): seconds a network of every proxy on the
# device, the whole table's projected scoring time against the 2-hour goal, then the costly proxies
# (ntk by default) scored there with seeds 0,1,2 on the leaderboard's 200-net subset, within a budget.
# Everything lands in OUT_DIR; a scoring run cut by the budget keeps its scores in OUT_DIR/store.sqlite
# (exported beside as <proxy>-store.csv; run the script again on the same OUT_DIR to resume).
#
#   scripts/gpu_leaderboard.sh [DATA_DIR]
#   env: PYTHON (python3), DEVICE (cuda), OUT_DIR (results/local/gpu-leaderboard), N (3 timed nets),
#        PROXIES (all), COSTLY (ntk), SEEDS (0,1,2), SUBSET_N (200), BUDGET_S (420: the scoring's seconds)
# Afterwards, on the machine with the repository:
#   python scripts/proxy_leaderboard.py extract OUT_DIR/costly-seeds.csv results/proxies/seeds/ntk.csv --seeds
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DATA=${1:-${NASBENCH_DATA:-../shared/data}}
DEVICE=${DEVICE:-cuda}
OUTDIR=${OUT_DIR:-results/local/gpu-leaderboard}
N=${N:-3}; PROXIES=${PROXIES:-}; COSTLY=${COSTLY:-ntk}; SEEDS=${SEEDS:-0,1,2}; SUBSET_N=${SUBSET_N:-200}
BUDGET_S=${BUDGET_S:-420}
NB="$PY -m nasbench_cli"
DATA_OPT=(); [ -d "$DATA" ] && DATA_OPT=(--data-dir "$DATA")
mkdir -p "$OUTDIR"
echo "== timing every proxy on $DEVICE ($(date +%T))"
$PY scripts/bench_proxies.py --n "$N" --device "$DEVICE" ${PROXIES:+--proxies "$PROXIES"} "${DATA_OPT[@]}" \
  --csv "$OUTDIR/timing-$DEVICE.csv" | tee "$OUTDIR/bench.txt" || exit 1
$PY scripts/leaderboard_cost.py "$OUTDIR/timing-$DEVICE.csv" --subset "$COSTLY" --processes 1 \
  --label "$DEVICE, one process" | tee "$OUTDIR/cost.md" || exit 1
echo "== $COSTLY, seeds $SEEDS, on the first $SUBSET_N networks of the sample ($(date +%T), at most $BUDGET_S s)"
$PY scripts/proxy_leaderboard.py sample "$OUTDIR/subset.txt" --n "$SUBSET_N" || exit 1
timeout "$BUDGET_S" $NB score --space nb201 --dataset cifar10 --proxy "$COSTLY" --archs "$OUTDIR/subset.txt" \
  --seeds "$SEEDS" --seed 0 --device "$DEVICE" "${DATA_OPT[@]}" --store "$OUTDIR/store.sqlite" --quiet \
  --out "$OUTDIR/costly-seeds.csv"
status=$?
[ $status -eq 124 ] && echo "!! stopped after $BUDGET_S s: the scores so far are in $OUTDIR/store.sqlite"
for p in ${COSTLY//,/ }; do
  $NB store export "$p" --store "$OUTDIR/store.sqlite" --out "$OUTDIR/$p-store.csv" --quiet
done
echo "== done ($(date +%T)): $OUTDIR"
exit $status
