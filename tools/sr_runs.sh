#!/usr/bin/env bash
# Super-resolution runs of issue #15 on the 2-core CPU, through the project's own CLI: a recipe
# trained on sr291 (T91 + BSD200) inside a 60-minute budget, then Set5 and Set14 scored by
# `translate evaluate` (Y-PSNR/SSIM, border shaved, next to bicubic). Results: BENCHMARKS.md.
#
#   bash tools/sr_runs.sh SCALE NAME [fit options...]
#   bash tools/sr_runs.sh 4 x4-edsr --set train.lr=0.0004       # the measured row
#
# Both cores, nothing else running: the timing is the budget. Nothing here runs in CI.
set -euo pipefail

DATA=${DATA:-../shared/data}              # sr291/, Set5/, Set14/ (never copied into the repo)
WORK=${WORK:-/tmp/sr}                     # run directories, logs and JSON reports go here
TRANSLATE=${TRANSLATE:-translate}
export TRANSLATE_HOME=${TRANSLATE_HOME:-$WORK/home}
scale=${1:?usage: $0 SCALE NAME [fit options...]}; name=${2:?usage: $0 SCALE NAME [fit options...]}
shift 2
mkdir -p "$WORK/logs" "$WORK/eval"

/usr/bin/time -f "wall %e s" "$TRANSLATE" fit --recipe "superres-x$scale" --data "$DATA/sr291" \
    --project "$WORK/runs" --name "$name" --json "$@" 2>&1 | tee "$WORK/logs/$name.log"
for set in Set5 Set14; do
    "$TRANSLATE" evaluate "$WORK/runs/$name-1" "$DATA/$set" --out "$WORK/eval/$name-$set.json"
done
