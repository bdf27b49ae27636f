#!/usr/bin/env bash
# Reproduce the shipped LeTFuser-tiny (perception/weights/letfuser_tiny) from scratch:
#   1. collect   the expert drives the bundled train routes (town_grid, highway) at the tiny rig's
#                resolution, each route in its own weather; then the short ones again with every
#                scenario family placed where it fits, recovery perturbations and two more weathers;
#                plus a held-out set on the test town (town_suburb) for the frame metrics
#   2. train     configs/letfuser_tiny_recipe.yaml from scratch, stopped by its time budget
#   3. metrics   segmentation mIoU, traffic-light accuracy, waypoint ADE/FDE on the held-out frames
#   4. export    the best checkpoint as a model folder (model.safetensors + model.json)
#   5. evaluate  the normal suite with one_of, pid_only and mlp_only, the adversarial suite with one_of
#   6. report    one HTML page comparing one_of and pid_only, one per suite
# 1 h 41 min on 2 CPU cores from a fresh clone (collection 12 min, training 55 min, evaluation 34 min).
# Every step resumes: after an interruption run the same command again.
#
# Usage: scripts/reproduce_letfuser_tiny.sh [OUT] [--smoke] [--workers N]
#   OUT        output folder (default runs/reproduce_letfuser_tiny)
#   --smoke    the same pipeline in minutes: one route per step, 30 training steps (checks the recipe)
#   --workers  parallel route workers (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=runs/reproduce_letfuser_tiny
SMOKE=0
WORKERS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1; shift ;;
    --workers) WORKERS="$2"; shift 2 ;;
    -*) echo "error: unknown option $1 (usage: $0 [OUT] [--smoke] [--workers N])" >&2; exit 2 ;;
    *) OUT="$1"; shift ;;
  esac
done

RIG=configs/letfuser_tiny.yaml
RECIPE=configs/letfuser_tiny_recipe.yaml
SCENARIOS=configs/scenarios/adversarial.yaml
DATA="$OUT/data"
SUBSET=()       # every route
TRAIN_LIMIT=()  # the recipe's own budget
EVAL_SUBSET=()
if [[ $SMOKE == 1 ]]; then
  SUBSET=(--routes-subset 0)
  TRAIN_LIMIT=(--max-steps 30)
  EVAL_SUBSET=(--routes-subset 0)
fi
COLLECT=(driving collect --model-config "$RIG" --workers "$WORKERS" --quiet)

echo "== 1/6 collect -> $DATA"
"${COLLECT[@]}" --routes train_short "${SUBSET[@]}" --out "$DATA/train" --seed 0
"${COLLECT[@]}" --routes train_long "${SUBSET[@]}" --out "$DATA/train" --seed 100
"${COLLECT[@]}" --routes train_short "${SUBSET[@]}" --scenarios "$SCENARIOS" --recovery \
  --weathers ClearSunset,WetCloudyNoon --out "$DATA/train" --seed 200
"${COLLECT[@]}" --routes test_short "${SUBSET[@]}" --out "$DATA/heldout" --seed 0
driving dataset check "$DATA/train"
driving dataset stats "$DATA/train" --json > "$OUT/dataset_stats.json"

echo "== 2/6 train -> $OUT/train"
# a run that ended (its budget spent) is not trained again; an interrupted one resumes
if ! python -c "import json, sys; e = json.load(open(sys.argv[1]))['epochs']; sys.exit(0 if e and e[-1].get('stopped') else 1)" \
    "$OUT/train/metrics.json" 2>/dev/null; then
  RESUME=()
  [[ -f "$OUT/train/checkpoints/last.pt" ]] && RESUME=(--resume)
  driving train --config "$RECIPE" --data "$DATA/train" --out "$OUT/train" "${TRAIN_LIMIT[@]}" "${RESUME[@]}" --no-progress
fi

echo "== 3/6 held-out frame metrics -> $OUT/heldout_metrics.json"
driving model-metrics --checkpoint "$OUT/train/checkpoints/best.pt" --data "$DATA/heldout" --out "$OUT/heldout_metrics.json"

echo "== 4/6 export -> $OUT/model"
[[ -f "$OUT/model/model.json" ]] || driving export-model --checkpoint "$OUT/train/checkpoints/best.pt" --out "$OUT/model"

echo "== 5/6 evaluate -> $OUT/eval"
for mode in one_of pid_only mlp_only; do
  cat > "$OUT/agent_$mode.yaml" <<EOF
# The reproduced model with the $mode control rule (planning.letfuser_agent_config.LeTFuserAgentConfig).
model: model
control:
  mode: $mode
EOF
done
# route workers share the cores: each worker's torch gets cores / workers threads
EVAL=(driving evaluate --agent letfuser --track RESEARCH --workers "$WORKERS" --resume)
"${EVAL[@]}" --agent-config "$OUT/agent_one_of.yaml" --suite normal "${EVAL_SUBSET[@]}" --video --out "$OUT/eval/normal_one_of"
for mode in pid_only mlp_only; do
  "${EVAL[@]}" --agent-config "$OUT/agent_$mode.yaml" --suite normal "${EVAL_SUBSET[@]}" --out "$OUT/eval/normal_$mode"
done
"${EVAL[@]}" --agent-config "$OUT/agent_one_of.yaml" --suite adversarial "${EVAL_SUBSET[@]}" --video \
  --out "$OUT/eval/adversarial_one_of"

echo "== 6/6 report -> $OUT/eval/*.html"
driving report "$OUT/eval/normal_one_of/results.json" "$OUT/eval/normal_pid_only/results.json" \
  --labels one_of,pid_only --routes test_short --out "$OUT/eval/normal_report.html"
driving report "$OUT/eval/adversarial_one_of/results.json" --routes test_long --out "$OUT/eval/adversarial_report.html"
echo "done: $OUT"
